//! A run's running time, pauses excluded: its speed in bars per second, the time left
//! at that speed, and the wait that holds a paced run (`pace` bars per second, to watch
//! it unfold) to its pace.

use std::time::{Duration, Instant};

/// Below this much running time a speed is noise, and not reported.
const SHORTEST: Duration = Duration::from_millis(1);

/// Running time, stopped while the run is paused.
#[derive(Debug)]
pub struct RunClock {
    /// Running time before the current stretch.
    before: Duration,
    /// Start of the current stretch; `None` while paused.
    since: Option<Instant>,
    /// Bars per second the run may not exceed.
    pace: Option<f64>,
}

impl RunClock {
    /// A clock that starts now.
    pub fn start(pace: Option<f64>) -> Self {
        RunClock {
            before: Duration::ZERO,
            since: Some(Instant::now()),
            pace,
        }
    }

    pub fn pause(&mut self) {
        if let Some(since) = self.since.take() {
            self.before += since.elapsed();
        }
    }

    pub fn resume(&mut self) {
        self.since.get_or_insert_with(Instant::now);
    }

    /// Running time so far.
    pub fn running(&self) -> Duration {
        self.before + self.since.map_or(Duration::ZERO, |s| s.elapsed())
    }

    /// Whether the run is held to a pace (then it checks in at every bar).
    pub fn is_paced(&self) -> bool {
        self.pace.is_some()
    }

    /// Bars per second after `done` bars, and the time left for the `left` others.
    pub fn estimate(&self, done: u64, left: u64) -> (Option<f64>, Option<Duration>) {
        speed_and_time_left(done, left, self.running())
    }

    /// Sleeps until `done` bars are no ahead of the pace (at most `most` at once, so
    /// the run still checks in with its control often).
    pub fn keep_pace(&self, done: u64, most: Duration) {
        let Some(pace) = self.pace else {
            return;
        };
        let due = Duration::from_secs_f64(done as f64 / pace);
        if let Some(ahead) = due.checked_sub(self.running()) {
            std::thread::sleep(ahead.min(most));
        }
    }
}

/// Bars per second of `done` bars in `running`, and the time `left` bars take at it.
fn speed_and_time_left(done: u64, left: u64, running: Duration) -> (Option<f64>, Option<Duration>) {
    if running < SHORTEST || done == 0 {
        return (None, None);
    }
    let speed = done as f64 / running.as_secs_f64();
    (
        Some(speed),
        Some(Duration::from_secs_f64(left as f64 / speed)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_is_bars_over_running_time_and_time_left_follows_from_it() {
        let (speed, left) = speed_and_time_left(1_000, 3_000, Duration::from_millis(500));
        assert_eq!(speed, Some(2_000.0));
        assert_eq!(left, Some(Duration::from_millis(1_500)));
        assert_eq!(
            speed_and_time_left(1_000, 0, Duration::from_secs(1)).1,
            Some(Duration::ZERO)
        );
        assert_eq!(
            speed_and_time_left(5, 10, Duration::from_micros(10)),
            (None, None),
            "too soon to say"
        );
    }

    #[test]
    fn a_paused_clock_does_not_run() {
        let mut clock = RunClock::start(None);
        clock.pause();
        let stopped = clock.running();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.running(), stopped);
        clock.resume();
        std::thread::sleep(Duration::from_millis(2));
        assert!(clock.running() > stopped);
    }

    #[test]
    fn a_paced_run_is_held_to_its_pace() {
        let clock = RunClock::start(Some(1_000.0));
        clock.keep_pace(20, Duration::from_secs(1));
        assert!(
            clock.running() >= Duration::from_millis(20),
            "20 bars at 1,000 bars/s take 20 ms"
        );
    }
}
