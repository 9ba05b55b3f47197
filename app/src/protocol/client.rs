//! Frames a client sends on `/api/ws`.

use serde::{Deserialize, Serialize};

use super::envelope::Epoch;
use super::topic::Topic;

/// A resume point: the last seq the client holds, in the epoch it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Since {
    pub seq: u64,
    pub epoch: Epoch,
}

/// One client request, tagged by `action`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ClientAction {
    /// Start receiving `topic`; with `since`, resume after that seq.
    Subscribe {
        topic: Topic,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<Since>,
    },
    Unsubscribe {
        topic: Topic,
    },
    /// Asks for a `pong` echoing `id` and `t` (the client's clock, in ms).
    Ping {
        id: u64,
        t: f64,
    },
    /// Control actions routed to the owner of a backtest or session topic.
    Pause {
        topic: Topic,
    },
    Resume {
        topic: Topic,
    },
    Cancel {
        topic: Topic,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_actions_round_trip() {
        let topic: Topic = "backtest:b1".parse().unwrap();
        let actions = [
            ClientAction::Subscribe {
                topic: topic.clone(),
                since: None,
            },
            ClientAction::Subscribe {
                topic: topic.clone(),
                since: Some(Since {
                    seq: 9,
                    epoch: Epoch("E".into()),
                }),
            },
            ClientAction::Unsubscribe {
                topic: topic.clone(),
            },
            ClientAction::Ping { id: 1, t: 99.5 },
            ClientAction::Pause {
                topic: topic.clone(),
            },
            ClientAction::Resume {
                topic: topic.clone(),
            },
            ClientAction::Cancel { topic },
        ];
        for a in actions {
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(
                serde_json::from_str::<ClientAction>(&json).unwrap(),
                a,
                "{json}"
            );
        }
    }

    #[test]
    fn the_spec_subscribe_frame_parses() {
        let a: ClientAction = serde_json::from_str(
            r#"{"action":"subscribe","topic":"market:BTC-USD","since":{"seq":5,"epoch":"01J"}}"#,
        )
        .unwrap();
        assert_eq!(
            a,
            ClientAction::Subscribe {
                topic: "market:BTC-USD".parse().unwrap(),
                since: Some(Since {
                    seq: 5,
                    epoch: Epoch("01J".into())
                })
            }
        );
    }

    #[test]
    fn bad_actions_and_topics_are_named_in_the_error() {
        let err = serde_json::from_str::<ClientAction>(r#"{"action":"dance"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `dance`"), "{err}");
        let err = serde_json::from_str::<ClientAction>(r#"{"action":"subscribe","topic":"nope"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no `kind:name` form"), "{err}");
    }
}
