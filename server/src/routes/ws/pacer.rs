//! When a socket's task writes and pings, and when it gives up on a silent peer: the
//! pacing of `--write-delay-ms` and the heartbeat of `--heartbeat-secs` as a pure state
//! machine over instants. `connection.rs` follows what it says; the tests here drive it.
//!
//! - **Pacing.** While frames come faster than the delay, they are written on the
//!   delay's ticks (multiples of it since the server started, so every connection
//!   shares them): under steady load one wake-up and one write carry all that arrived
//!   meanwhile. A frame that comes more than the delay after the last write is written
//!   at once: a sparse stream waits for nothing. A backlog left after a paced write
//!   goes on at once: the delay paces a steady stream, it never caps throughput. A
//!   delay of zero writes every frame as it comes.
//! - **Heartbeat.** Every heartbeat the peer is pinged, after an application
//!   `heartbeat` frame when nothing else was written since the last one (so a browser,
//!   which cannot see pings, sees the connection live); a peer heard from by no frame
//!   for twice the heartbeat is closed.

use std::time::Duration;

use tokio::time::Instant;

/// One socket's write pacing and heartbeat.
#[derive(Debug)]
pub struct WritePacer {
    delay: Duration,
    heartbeat: Duration,
    /// Where the shared ticks count from.
    epoch: Instant,
    last_write: Instant,
    /// Frames are waiting for the next tick.
    waiting: bool,
    last_heard: Instant,
    wrote_since_beat: bool,
}

/// What to do with frames that became ready while the pacer was not waiting.
#[derive(Debug, PartialEq, Eq)]
pub enum Ready {
    WriteNow,
    /// Let more gather: look again at this tick ([`WritePacer::wait_over`]).
    WaitUntil(Instant),
}

/// What to do at a heartbeat.
#[derive(Debug, PartialEq, Eq)]
pub enum Beat {
    /// Nothing heard for twice the heartbeat: close (`heartbeat timeout`).
    TimedOut,
    /// Ping the peer, after queueing a `heartbeat` frame when `heartbeat_frame`.
    Ping { heartbeat_frame: bool },
}

impl WritePacer {
    /// A pacer for a connection opened `now`; ticks count from `epoch`.
    pub fn new(delay: Duration, heartbeat: Duration, epoch: Instant, now: Instant) -> Self {
        WritePacer {
            delay,
            heartbeat,
            epoch,
            last_write: now,
            waiting: false,
            last_heard: now,
            wrote_since_beat: false,
        }
    }

    /// Whether frames are waiting for a tick (then new frames need no look: the tick
    /// takes them too).
    pub fn waiting(&self) -> bool {
        self.waiting
    }

    /// Frames became ready at `now`: write them, or wait for the next tick.
    pub fn frames_ready(&mut self, now: Instant) -> Ready {
        if now < self.last_write + self.delay {
            self.waiting = true;
            return Ready::WaitUntil(self.next_tick());
        }
        self.wrote_at(now);
        Ready::WriteNow
    }

    /// The tick came at `now`: with frames `queued`, write them (`true`); with none (they
    /// went with a close, say), stop waiting, and the next frame goes at once.
    pub fn wait_over(&mut self, now: Instant, queued: bool) -> bool {
        if !queued {
            self.waiting = false;
            return false;
        }
        self.wrote_at(now);
        true
    }

    /// After a write the tick asked for: when to look again — at once if more came
    /// meanwhile (`backlog`), else at the next tick.
    pub fn next_look(&self, backlog: bool) -> Instant {
        if backlog {
            self.last_write
        } else {
            self.next_tick()
        }
    }

    /// A frame came from the peer at `now`.
    pub fn heard(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// The heartbeat came at `now`.
    pub fn beat(&mut self, now: Instant) -> Beat {
        if now.saturating_duration_since(self.last_heard) > self.heartbeat * 2 {
            return Beat::TimedOut;
        }
        let heartbeat_frame = !self.wrote_since_beat;
        self.wrote_since_beat = false;
        Beat::Ping { heartbeat_frame }
    }

    fn wrote_at(&mut self, now: Instant) {
        self.last_write = now;
        self.wrote_since_beat = true;
    }

    /// The first tick after the last write.
    fn next_tick(&self) -> Instant {
        let period = self.delay.as_nanos().max(1);
        let ticks = self
            .last_write
            .saturating_duration_since(self.epoch)
            .as_nanos()
            / period
            + 1;
        let offset = u64::try_from(ticks * period).unwrap_or(u64::MAX / 2);
        self.epoch + Duration::from_nanos(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELAY: Duration = Duration::from_millis(50);
    const HEARTBEAT: Duration = Duration::from_secs(30);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A pacer whose ticks count from `epoch`, for a connection opened 1 s later.
    fn pacer(delay: Duration) -> (WritePacer, Instant) {
        let epoch = Instant::now();
        let opened = epoch + Duration::from_secs(1);
        (WritePacer::new(delay, HEARTBEAT, epoch, opened), opened)
    }

    #[test]
    fn a_frame_after_a_quiet_spell_is_written_at_once() {
        let (mut pacer, opened) = pacer(DELAY);
        assert_eq!(pacer.frames_ready(opened + ms(50)), Ready::WriteNow);
        assert_eq!(pacer.frames_ready(opened + ms(500)), Ready::WriteNow);
        assert!(!pacer.waiting());
    }

    #[test]
    fn frames_faster_than_the_delay_wait_for_the_next_shared_tick() {
        let (mut pacer, opened) = pacer(DELAY);
        let first = opened + ms(60);
        assert_eq!(pacer.frames_ready(first), Ready::WriteNow);
        // 10 ms later: the tick after the last write, a multiple of 50 ms since the
        // epoch (1,060 ms → 1,100 ms), which every connection shares.
        let tick = opened + ms(100);
        assert_eq!(pacer.frames_ready(first + ms(10)), Ready::WaitUntil(tick));
        assert!(pacer.waiting());
        assert!(
            pacer.wait_over(tick, true),
            "what gathered is written at the tick"
        );
        assert!(pacer.waiting(), "and the pacer looks again at the next one");
        assert_eq!(pacer.next_look(false), opened + ms(150));
    }

    #[test]
    fn a_backlog_after_a_paced_write_goes_on_at_once() {
        let (mut pacer, opened) = pacer(DELAY);
        pacer.frames_ready(opened + ms(60));
        let Ready::WaitUntil(tick) = pacer.frames_ready(opened + ms(70)) else {
            panic!("a frame within the delay waits");
        };
        assert!(pacer.wait_over(tick, true));
        assert_eq!(
            pacer.next_look(true),
            tick,
            "more came while writing: no wait"
        );
    }

    #[test]
    fn a_tick_with_nothing_queued_ends_the_wait_and_the_next_frame_goes_at_once() {
        let (mut pacer, opened) = pacer(DELAY);
        pacer.frames_ready(opened + ms(60));
        let Ready::WaitUntil(tick) = pacer.frames_ready(opened + ms(70)) else {
            panic!("a frame within the delay waits");
        };
        assert!(pacer.wait_over(tick, true));
        assert!(!pacer.wait_over(pacer.next_look(false), false));
        assert!(!pacer.waiting());
        assert_eq!(pacer.frames_ready(opened + ms(400)), Ready::WriteNow);
    }

    #[test]
    fn no_delay_writes_every_frame_as_it_comes() {
        let (mut pacer, opened) = pacer(Duration::ZERO);
        for n in 0..100 {
            assert_eq!(
                pacer.frames_ready(opened + Duration::from_micros(n)),
                Ready::WriteNow
            );
        }
    }

    #[test]
    fn a_peer_silent_for_twice_the_heartbeat_is_timed_out() {
        let (mut pacer, opened) = pacer(DELAY);
        assert!(matches!(pacer.beat(opened + HEARTBEAT), Beat::Ping { .. }));
        assert!(matches!(
            pacer.beat(opened + HEARTBEAT * 2),
            Beat::Ping { .. }
        ));
        assert_eq!(pacer.beat(opened + HEARTBEAT * 2 + ms(1)), Beat::TimedOut);
        pacer.heard(opened + HEARTBEAT * 2 + ms(2));
        assert!(matches!(
            pacer.beat(opened + HEARTBEAT * 3),
            Beat::Ping { .. }
        ));
    }

    #[test]
    fn a_heartbeat_frame_goes_only_when_nothing_was_written_since_the_last_beat() {
        let (mut pacer, opened) = pacer(DELAY);
        assert_eq!(
            pacer.beat(opened + HEARTBEAT),
            Beat::Ping {
                heartbeat_frame: true
            }
        );
        pacer.frames_ready(opened + HEARTBEAT + ms(100));
        assert_eq!(
            pacer.beat(opened + HEARTBEAT * 2),
            Beat::Ping {
                heartbeat_frame: false
            },
            "a written frame showed the connection live"
        );
        pacer.heard(opened + HEARTBEAT * 2 + ms(500));
        assert_eq!(
            pacer.beat(opened + HEARTBEAT * 3),
            Beat::Ping {
                heartbeat_frame: true
            },
            "nothing written since: the heartbeat frame again"
        );
    }
}
