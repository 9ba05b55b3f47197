//! Who may follow or control a topic: the one place access is decided
//! (docs/SPEC.md section 12, "Ownership"). A run's topic (`backtest:`, `session:`) is
//! reached only by its owner and admins, whatever a token's `topics` say, and so is a
//! personal channel (`user:{SUB}`: that user's); any other topic follows the token's
//! `topics`. The owner comes from the run books, wherever in
//! the cluster the run is; the rule itself ([`follow`], [`control`]) is pure.

use std::sync::Arc;

use protocol::{Topic, TopicKind};

use crate::auth::Caller;
use crate::backtest::Backtests;
use crate::hub::HubError;
use crate::runs::Owner;
use crate::session::Sessions;
use crate::sweep::Sweeps;

/// Why a caller may not follow or control a topic: 403, or an `error` frame.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    #[error("{0} belongs to another user")]
    NotYours(Topic),
    #[error("your token does not allow {topic}: it allows {allowed}")]
    OutsideTopics { topic: Topic, allowed: String },
    #[error("your token may not publish to {topic}: it may publish to {allowed}")]
    OutsidePublish { topic: Topic, allowed: String },
    #[error("{0} is a run of this server: only its engine publishes there")]
    EngineOnly(Topic),
    #[error("{0} is a personal channel: only the server and admins publish there")]
    Personal(Topic),
    /// No run of the cluster's records is behind it: nothing to control, and on Redis
    /// a run whose record is missing is not controlled on trust.
    #[error("nothing running owns {0}: no backtest, session or sweep can be controlled there")]
    NoRun(Topic),
    /// Whose run it is cannot be known now (Redis away): refused, not guessed.
    #[error(transparent)]
    Unknown(#[from] HubError),
}

/// The run books access is decided over.
#[derive(Clone)]
pub struct Access {
    backtests: Backtests,
    sessions: Sessions,
    sweeps: Sweeps,
}

impl Access {
    pub fn new(backtests: Backtests, sessions: Sessions, sweeps: Sweeps) -> Self {
        Access {
            backtests,
            sessions,
            sweeps,
        }
    }

    /// Whether `caller` may follow `topic` (subscribe, replay, resync, poll, snapshot).
    pub async fn may_follow(&self, caller: &Caller, topic: &Topic) -> Result<(), Denied> {
        follow(caller, topic, &self.owner(topic).await?)
    }

    /// Whether `caller` may pause, resume or cancel what runs behind `topic`.
    pub async fn may_control(&self, caller: &Caller, topic: &Topic) -> Result<(), Denied> {
        if topic.kind() == TopicKind::User {
            return Err(Denied::NoRun(topic.clone()));
        }
        control(caller, topic, &self.owner(topic).await?)
    }

    /// Whether `caller` may publish on `topic` from outside (`POST /api/publish`):
    /// never on the topic of a run the server runs, wherever in the cluster (its engine
    /// alone writes there, so what the topic says is the run's own); any other topic
    /// within the token's `publish` claim.
    pub async fn may_publish(&self, caller: &Caller, topic: &Topic) -> Result<(), Denied> {
        if topic.kind() == TopicKind::User {
            return match caller.may_reach(None) {
                true => Ok(()),
                false => Err(Denied::Personal(topic.clone())),
            };
        }
        if self.owner(topic).await? != Owner::NotARun {
            return Err(Denied::EngineOnly(topic.clone()));
        }
        if !caller.may_publish(topic) {
            return Err(Denied::OutsidePublish {
                topic: topic.clone(),
                allowed: caller.publish_text(),
            });
        }
        Ok(())
    }

    /// Who started the run behind `topic`, wherever in the cluster it runs.
    async fn owner(&self, topic: &Topic) -> Result<Owner, HubError> {
        match topic.kind() {
            TopicKind::Backtest => self.backtests.owner(topic.name()).await,
            TopicKind::Session => self.sessions.owner(topic.name()).await,
            TopicKind::Sweep => self.sweeps.owner(topic.name()).await,
            TopicKind::User => Ok(Owner::User(topic.name().into())),
            TopicKind::Market | TopicKind::Trading => Ok(Owner::NotARun),
        }
    }
}

/// The rule for following: a run by whoever may reach its owner's runs, anything else
/// by the token's `topics`.
pub fn follow(caller: &Caller, topic: &Topic, owner: &Owner) -> Result<(), Denied> {
    match owner {
        Owner::NotARun if caller.may_follow(topic) => Ok(()),
        Owner::NotARun => Err(Denied::OutsideTopics {
            topic: topic.clone(),
            allowed: caller.topics_text(),
        }),
        run => control(caller, topic, run),
    }
}

/// The rule for control: a run only by whoever may reach its owner's runs; a topic
/// that is not a run of the records has nothing to control (on Redis, a run whose
/// record is missing is refused, not reached on trust).
pub fn control(caller: &Caller, topic: &Topic, owner: &Owner) -> Result<(), Denied> {
    let sub = match owner {
        Owner::NotARun => return Err(Denied::NoRun(topic.clone())),
        Owner::Anonymous => None,
        Owner::User(sub) => Some(Arc::as_ref(sub)),
    };
    if caller.may_reach(sub) {
        Ok(())
    } else {
        Err(Denied::NotYours(topic.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Claims;

    fn token(sub: &str, topics: &[&str], admin: bool) -> Caller {
        Caller::Token(Arc::new(Claims {
            sub: sub.into(),
            exp: 0,
            topics: Some(topics.iter().map(|t| (*t).to_owned()).collect()),
            publish: Vec::new(),
            admin,
        }))
    }

    fn topic(text: &str) -> Topic {
        text.parse().expect("a topic")
    }

    #[test]
    fn a_run_is_followed_and_controlled_only_by_its_owner_and_admins() {
        let run = topic("backtest:b1");
        let alice = Owner::User(Arc::from("alice"));
        let bob = token("bob", &["backtest:*"], false);
        assert!(follow(&token("alice", &[], false), &run, &alice).is_ok());
        assert!(control(&token("alice", &[], false), &run, &alice).is_ok());
        // Bob's topics allow every backtest, but this one is Alice's.
        assert!(matches!(
            follow(&bob, &run, &alice),
            Err(Denied::NotYours(_))
        ));
        assert!(matches!(
            control(&bob, &run, &alice),
            Err(Denied::NotYours(_))
        ));
        assert!(follow(&token("root", &[], true), &run, &alice).is_ok());
        assert!(control(&token("root", &[], true), &run, &alice).is_ok());
    }

    #[test]
    fn an_anonymous_run_is_reached_only_by_admins_in_token_mode_and_by_anyone_without() {
        let run = topic("session:s1");
        let bob = token("bob", &["session:*"], false);
        assert!(matches!(
            follow(&bob, &run, &Owner::Anonymous),
            Err(Denied::NotYours(_))
        ));
        assert!(follow(&token("root", &[], true), &run, &Owner::Anonymous).is_ok());
        assert!(follow(&Caller::Anonymous, &run, &Owner::Anonymous).is_ok());
        assert!(control(&Caller::Anonymous, &run, &Owner::Anonymous).is_ok());
    }

    #[test]
    fn a_personal_channel_is_followed_only_by_its_user_and_admins() {
        let alices = topic("user:alice");
        let owner = Owner::User(Arc::from("alice"));
        assert!(follow(&token("alice", &[], false), &alices, &owner).is_ok());
        // Bob's topics allow every user channel, but this one is Alice's.
        assert!(matches!(
            follow(&token("bob", &["user:*"], false), &alices, &owner),
            Err(Denied::NotYours(_))
        ));
        assert!(follow(&token("root", &[], true), &alices, &owner).is_ok());
    }

    #[test]
    fn a_topic_that_is_not_a_run_follows_the_tokens_topics() {
        let bob = token("bob", &["market:*"], false);
        assert!(follow(&bob, &topic("market:GOOG"), &Owner::NotARun).is_ok());
        let refused = follow(&bob, &topic("trading:GOOG"), &Owner::NotARun);
        assert!(
            matches!(&refused, Err(Denied::OutsideTopics { allowed, .. }) if allowed.contains("market:*")),
            "{refused:?}"
        );
        // Nothing of the records runs behind it: there is nothing to control.
        assert!(matches!(
            control(&bob, &topic("trading:GOOG"), &Owner::NotARun),
            Err(Denied::NoRun(_))
        ));
    }
}
