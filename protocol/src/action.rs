//! Frames a client sends on `/api/ws`.

use serde::{Deserialize, Serialize};

use super::envelope::Epoch;
use super::rate::MaxRate;
use super::topic::Topic;

/// A resume point: the last seq the client holds, in the epoch it came from — or seq 0
/// without an epoch: "everything still retained, from the oldest", the first request
/// of a client that knows no epoch yet (docs/SPEC.md section 5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SinceFields")]
pub struct Since {
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<Epoch>,
}

/// `since` above 0 without an epoch names no point in any sequence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`since` {0} needs the `epoch` it came from (only `since` 0 may go without)")]
pub struct SinceWithoutEpoch(pub u64);

impl Since {
    /// From the oldest message still retained, whatever the epoch.
    pub const FROM_OLDEST: Since = Since {
        seq: 0,
        epoch: None,
    };

    /// After `seq` of `epoch`.
    pub fn after(seq: u64, epoch: Epoch) -> Since {
        Since {
            seq,
            epoch: Some(epoch),
        }
    }

    /// The resume point as a poll's or dedicated stream's query: `since=S&epoch=E`.
    pub fn to_query(&self) -> String {
        match &self.epoch {
            Some(epoch) => format!("since={}&epoch={epoch}", self.seq),
            None => format!("since={}", self.seq),
        }
    }

    /// A resume point from its two parts, refusing a seq above 0 without an epoch.
    pub fn new(seq: u64, epoch: Option<Epoch>) -> Result<Since, SinceWithoutEpoch> {
        match epoch {
            None if seq > 0 => Err(SinceWithoutEpoch(seq)),
            epoch => Ok(Since { seq, epoch }),
        }
    }
}

/// The wire form of [`Since`], checked by [`Since::new`].
#[derive(Deserialize)]
struct SinceFields {
    seq: u64,
    #[serde(default)]
    epoch: Option<Epoch>,
}

impl TryFrom<SinceFields> for Since {
    type Error = SinceWithoutEpoch;
    fn try_from(fields: SinceFields) -> Result<Since, SinceWithoutEpoch> {
        Since::new(fields.seq, fields.epoch)
    }
}

/// One client request, tagged by `action`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ClientAction {
    /// Start receiving `topic`; with `since`, resume after that seq.
    Subscribe {
        topic: Topic,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<Since>,
        /// At most this many replaceable messages a second (docs/SPEC.md section 6,
        /// "Rates"); none: every message as it comes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_rate: Option<MaxRate>,
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
    /// Proves who the client is (token mode): the first frame of a socket opened
    /// without a token, or a fresh token before the current one lapses.
    Auth {
        token: BearerToken,
    },
}

/// A token as a client sends it; never shown by `Debug`, so it cannot reach a log.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct BearerToken(pub String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_actions_round_trip_through_serde_and_the_leading_tabs_decoder() {
        let actions = crate::fixtures::every_client_action();
        for a in actions {
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(
                serde_json::from_str::<ClientAction>(&json).unwrap(),
                a,
                "{json}"
            );
            assert_eq!(crate::decode::client_action(&json).unwrap(), a, "{json}");
        }
    }

    #[test]
    fn the_leading_tabs_decoder_names_what_is_wrong() {
        use crate::decode::client_action;
        let err = |text| client_action(text).unwrap_err().to_string();
        assert!(err(r#"{"action":"dance"}"#).contains("unknown action `dance`"));
        assert!(err(r#"{"action":"subscribe"}"#).contains("missing field `topic`"));
        assert!(err(r#"{"action":"ping","id":1}"#).contains("missing field `t`"));
        assert!(err(r#"{"action":"subscribe","topic":"nope"}"#).contains("nope"));
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
                since: Some(Since::after(5, Epoch("01J".into()))),
                max_rate: None,
            }
        );
    }

    #[test]
    fn the_spec_auth_frame_parses() {
        let a: ClientAction = serde_json::from_str(r#"{"action":"auth","token":"T"}"#).unwrap();
        assert_eq!(
            a,
            ClientAction::Auth {
                token: BearerToken("T".into())
            }
        );
    }

    #[test]
    fn since_zero_needs_no_epoch_but_any_later_seq_does() {
        let a: ClientAction =
            serde_json::from_str(r#"{"action":"subscribe","topic":"market:X","since":{"seq":0}}"#)
                .unwrap();
        assert_eq!(
            a,
            ClientAction::Subscribe {
                topic: "market:X".parse().unwrap(),
                since: Some(Since::FROM_OLDEST),
                max_rate: None,
            }
        );
        let err = serde_json::from_str::<ClientAction>(
            r#"{"action":"subscribe","topic":"market:X","since":{"seq":7}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`since` 7 needs the `epoch`"), "{err}");
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
