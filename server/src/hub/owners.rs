//! Topic owners: the engine running behind a backtest or session topic registers here
//! to receive the `pause` / `resume` / `cancel` requests clients send for that topic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use protocol::{AgentDecision, AgentThinking, DecisionAction, Topic};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// A request for whatever runs behind a topic (JSON in notices between instances).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    Pause,
    Resume,
    Cancel,
    /// End it as its owner asked (a session's `DELETE`): a backtest takes it as cancel.
    Stop,
    /// An outside agent's reasoning, for a session it drives (others ignore it).
    Think(AgentThinking),
    /// An outside agent's decision, for a session it drives (others ignore it).
    Decide(AgentDecision),
    /// A session's user buys, sells or closes by hand (others ignore it), `by` their
    /// token's `sub`.
    Manual {
        action: DecisionAction,
        by: Option<String>,
    },
}

/// Why a command could not be delivered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("nothing running owns {0}: no backtest, session or sweep can be controlled there")]
pub struct NoOwner(pub Topic);

type Inboxes = Arc<Mutex<HashMap<Topic, mpsc::UnboundedSender<Command>>>>;

/// Who owns which topic.
#[derive(Clone, Default)]
pub(super) struct Owners {
    inboxes: Inboxes,
}

/// Keeps a topic owned while it lives; dropping it gives the topic up.
pub struct Ownership {
    topic: Topic,
    inboxes: Inboxes,
    /// Commands sent for the topic, in order.
    pub commands: mpsc::UnboundedReceiver<Command>,
}

impl Drop for Ownership {
    fn drop(&mut self) {
        if let Ok(mut inboxes) = self.inboxes.lock() {
            inboxes.remove(&self.topic);
        }
    }
}

impl Owners {
    /// Takes ownership of `topic`, replacing any previous owner.
    pub(super) fn own(&self, topic: &Topic) -> Ownership {
        let (tx, commands) = mpsc::unbounded_channel();
        if let Ok(mut inboxes) = self.inboxes.lock() {
            inboxes.insert(topic.clone(), tx);
        }
        Ownership {
            topic: topic.clone(),
            inboxes: self.inboxes.clone(),
            commands,
        }
    }

    /// Hands `command` to the owner of `topic`.
    pub(super) fn send(&self, topic: &Topic, command: Command) -> Result<(), NoOwner> {
        let inboxes = self.inboxes.lock().map_err(|_| NoOwner(topic.clone()))?;
        match inboxes.get(topic) {
            Some(tx) if tx.send(command).is_ok() => Ok(()),
            _ => Err(NoOwner(topic.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_reach_the_owner_until_it_gives_the_topic_up() {
        let owners = Owners::default();
        let topic: Topic = "backtest:b1".parse().unwrap();
        assert_eq!(
            owners.send(&topic, Command::Pause),
            Err(NoOwner(topic.clone()))
        );
        let mut ownership = owners.own(&topic);
        owners.send(&topic, Command::Pause).unwrap();
        owners.send(&topic, Command::Cancel).unwrap();
        assert_eq!(ownership.commands.try_recv(), Ok(Command::Pause));
        assert_eq!(ownership.commands.try_recv(), Ok(Command::Cancel));
        drop(ownership);
        assert!(owners.send(&topic, Command::Resume).is_err());
    }
}
