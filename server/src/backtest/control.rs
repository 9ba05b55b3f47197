//! Pause / resume / cancel for a running backtest: the engine thread checks in at
//! checkpoints and blocks while paused.

use std::sync::{Condvar, Mutex, MutexGuard};

use crate::hub::Command;

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
}

impl Default for RunControl {
    fn default() -> Self {
        RunControl {
            wanted: Mutex::new(Wanted::Running),
            changed: Condvar::new(),
        }
    }
}

impl RunControl {
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
        match *wanted {
            Wanted::Running => return Checkpoint::Continue,
            Wanted::Cancelled => return Checkpoint::Cancelled,
            Wanted::Paused => {}
        }
        drop(wanted);
        on_pause();
        wanted = self.lock();
        while *wanted == Wanted::Paused {
            wanted = self.changed.wait(wanted).unwrap_or_else(|p| p.into_inner());
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

    #[test]
    fn a_paused_run_blocks_until_resumed_and_cancel_is_final() {
        let control = Arc::new(RunControl::default());
        assert_eq!(
            control.checkpoint(|| panic!("not paused")),
            Checkpoint::Continue
        );
        control.apply(Command::Pause);
        let c = control.clone();
        let (reached, paused) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            c.checkpoint(|| reached.send(()).expect("the test is listening"))
        });
        // Resume only once the engine side has seen the pause (a resume before the
        // checkpoint would rightly be a plain `Continue`).
        paused
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the checkpoint reports the pause");
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
}
