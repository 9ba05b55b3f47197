//! Pause / resume / cancel for a running backtest: the engine thread checks in at
//! checkpoints and blocks while paused. Server shutdown cancels it too, seen by the
//! engine thread itself (a paused one looks every [`SHUTDOWN_POLL`]), so a run ends on
//! shutdown even when no async task is left to tell it.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::hub::Command;

/// How often a paused run looks at the shutdown signal.
pub const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

/// Where a run has been told to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    Running,
    Paused,
    Cancelled,
}

/// What a checkpoint found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checkpoint {
    Continue,
    /// It was paused and has been resumed.
    Resumed,
    Cancelled,
}

/// Shared between the command task and the engine thread.
pub struct RunControl {
    wanted: Mutex<Wanted>,
    changed: Condvar,
    shutdown: CancellationToken,
}

impl Default for RunControl {
    fn default() -> Self {
        RunControl::stopped_by(CancellationToken::new())
    }
}

impl RunControl {
    /// A running run that `shutdown` cancels.
    pub fn stopped_by(shutdown: CancellationToken) -> Self {
        RunControl {
            wanted: Mutex::new(Wanted::Running),
            changed: Condvar::new(),
            shutdown,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Wanted> {
        self.wanted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a client's command. Cancelling is final.
    pub fn apply(&self, command: Command) {
        let mut wanted = self.lock();
        *wanted = match (*wanted, command) {
            (Wanted::Cancelled, _) | (_, Command::Cancel) => Wanted::Cancelled,
            (_, Command::Pause) => Wanted::Paused,
            (_, Command::Resume) => Wanted::Running,
        };
        self.changed.notify_all();
    }

    /// Called by the engine thread between bars: returns at once while running; while
    /// paused, calls `on_pause` once and blocks until resumed or cancelled.
    pub fn checkpoint(&self, on_pause: impl FnOnce()) -> Checkpoint {
        let mut wanted = self.lock();
        if self.shutdown.is_cancelled() {
            *wanted = Wanted::Cancelled;
        }
        match *wanted {
            Wanted::Running => return Checkpoint::Continue,
            Wanted::Cancelled => return Checkpoint::Cancelled,
            Wanted::Paused => {}
        }
        drop(wanted);
        on_pause();
        wanted = self.lock();
        while *wanted == Wanted::Paused {
            if self.shutdown.is_cancelled() {
                *wanted = Wanted::Cancelled;
                break;
            }
            wanted = match self.changed.wait_timeout(wanted, SHUTDOWN_POLL) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        if *wanted == Wanted::Cancelled {
            Checkpoint::Cancelled
        } else {
            Checkpoint::Resumed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread::JoinHandle;

    /// Pauses `control` and parks an engine thread at its checkpoint; returns once the
    /// thread has seen the pause (a resume before it would rightly be a `Continue`).
    fn parked(control: &Arc<RunControl>) -> JoinHandle<Checkpoint> {
        control.apply(Command::Pause);
        let c = control.clone();
        let (reached, paused) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            c.checkpoint(|| reached.send(()).expect("the test is listening"))
        });
        paused
            .recv_timeout(Duration::from_secs(10))
            .expect("the checkpoint reports the pause");
        waiter
    }

    #[test]
    fn a_paused_run_blocks_until_resumed_and_cancel_is_final() {
        let control = Arc::new(RunControl::default());
        assert_eq!(
            control.checkpoint(|| panic!("not paused")),
            Checkpoint::Continue
        );
        let waiter = parked(&control);
        assert!(
            !waiter.is_finished(),
            "a paused checkpoint cannot return unresumed"
        );
        control.apply(Command::Resume);
        assert_eq!(waiter.join().unwrap(), Checkpoint::Resumed);
        control.apply(Command::Cancel);
        control.apply(Command::Resume);
        assert_eq!(control.checkpoint(|| {}), Checkpoint::Cancelled);
    }

    #[test]
    fn shutdown_cancels_a_paused_run_without_anyone_telling_it() {
        let shutdown = CancellationToken::new();
        let control = Arc::new(RunControl::stopped_by(shutdown.clone()));
        let waiter = parked(&control);
        shutdown.cancel();
        assert_eq!(waiter.join().unwrap(), Checkpoint::Cancelled);
    }
}
