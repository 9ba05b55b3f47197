//! Pause / resume / cancel for a running backtest (or sweep). The engine looks at the control
//! between bars and never waits on it: a paused run hands its state back and its
//! thread goes; an async task waits (holding no thread) until it is resumed,
//! cancelled, or the server shuts down (which cancels it).

use std::sync::Arc;
use std::time::Duration;

use protocol::Topic;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::hub::Command;
use crate::runs::RunContext;

/// A run's control with its topic owned: the hub hands it every command for the topic,
/// wherever in the cluster it was given, until this is dropped.
pub struct Commanded {
    pub control: Arc<RunControl>,
    forward: JoinHandle<()>,
}

impl Drop for Commanded {
    fn drop(&mut self) {
        self.forward.abort();
    }
}

/// Where a run has been told to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    Running,
    Paused,
    Cancelled,
}

/// Shared between the command task, the engine and the task that waits out a pause.
pub struct RunControl {
    wanted: watch::Sender<Wanted>,
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
            wanted: watch::Sender::new(Wanted::Running),
            shutdown,
        }
    }

    /// The control of the run on `topic`, paused at first if `paused`, with the topic
    /// owned and its commands forwarded to it.
    pub fn commanded(context: &RunContext, topic: &Topic, paused: bool) -> Commanded {
        let control = Arc::new(RunControl::stopped_by(context.shutdown.clone()));
        if paused {
            control.apply(Command::Pause);
        }
        let mut ownership = context.hub.own(topic);
        let commands = control.clone();
        let forward = context.tasks.spawn(async move {
            while let Some(command) = ownership.commands.recv().await {
                commands.apply(command);
            }
        });
        Commanded { control, forward }
    }

    /// Applies a client's command. Cancelling is final.
    pub fn apply(&self, command: Command) {
        self.wanted.send_modify(|wanted| {
            *wanted = match (*wanted, &command) {
                (Wanted::Cancelled, _) | (_, Command::Cancel | Command::Stop) => Wanted::Cancelled,
                (_, Command::Pause) => Wanted::Paused,
                (_, Command::Resume) => Wanted::Running,
                // An outside agent drives sessions, not backtests.
                (wanted, Command::Think(_) | Command::Decide(_) | Command::Manual { .. }) => wanted,
            };
        });
    }

    /// Whether the server's stop ended the run, rather than a client's cancel: it is
    /// then `interrupted`, not `cancelled` (docs/STORE.md).
    pub fn stopped_by_server(&self) -> bool {
        self.shutdown.is_cancelled() && *self.wanted.borrow() != Wanted::Cancelled
    }

    /// Where the run should be now (the engine asks between bars; never waits).
    pub fn wanted(&self) -> Wanted {
        if self.shutdown.is_cancelled() {
            return Wanted::Cancelled;
        }
        *self.wanted.borrow()
    }

    /// Waits, holding no thread, until the run is no longer paused: `Running` again or
    /// `Cancelled` (shutdown cancels it).
    pub async fn unpaused(&self) -> Wanted {
        let mut changes = self.wanted.subscribe();
        tokio::select! {
            _ = self.shutdown.cancelled() => Wanted::Cancelled,
            wanted = changes.wait_for(|w| *w != Wanted::Paused) => {
                wanted.map_or(Wanted::Cancelled, |w| *w)
            }
        }
    }

    /// [`RunControl::unpaused`] for at most `max_pause` (`--max-pause`): past it the
    /// run on `topic` is cancelled (a paused run holds its place and its memory).
    pub async fn unpaused_within(&self, max_pause: Duration, topic: &Topic) -> Wanted {
        match tokio::time::timeout(max_pause, self.unpaused()).await {
            Ok(wanted) => wanted,
            Err(_) => {
                tracing::info!(%topic, ?max_pause, "paused past --max-pause: cancelled");
                self.apply(Command::Cancel);
                Wanted::Cancelled
            }
        }
    }

    /// [`RunControl::unpaused`] for a caller on a thread of its own (tests, benches).
    pub fn unpaused_blocking(&self) -> Wanted {
        match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(runtime) => runtime.block_on(self.unpaused()),
            Err(_) => Wanted::Cancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_pause_is_waited_out_until_resumed_and_cancel_is_final() {
        let control = RunControl::default();
        assert_eq!(control.wanted(), Wanted::Running);
        control.apply(Command::Pause);
        assert_eq!(control.wanted(), Wanted::Paused);
        let waiting = tokio::time::timeout(Duration::from_millis(50), control.unpaused()).await;
        assert!(waiting.is_err(), "a paused run stays paused until told");
        control.apply(Command::Resume);
        assert_eq!(control.unpaused().await, Wanted::Running);
        control.apply(Command::Cancel);
        control.apply(Command::Resume);
        assert_eq!(control.wanted(), Wanted::Cancelled);
    }

    #[tokio::test]
    async fn shutdown_cancels_a_paused_run_without_anyone_telling_it() {
        let shutdown = CancellationToken::new();
        let control = Arc::new(RunControl::stopped_by(shutdown.clone()));
        control.apply(Command::Pause);
        let c = control.clone();
        let waiter = tokio::spawn(async move { c.unpaused().await });
        shutdown.cancel();
        assert_eq!(waiter.await.unwrap(), Wanted::Cancelled);
        assert_eq!(control.wanted(), Wanted::Cancelled);
    }
}
