//! Topic names: `market:{SYMBOL}`, `backtest:{ID}`, `session:{ID}`, `trading:{SYMBOL}`,
//! `sweep:{ID}`, `user:{SUB}`.
//!
//! A [`Topic`] can only be built through validation, so every topic the hub or the
//! dashboard holds is well formed. On the wire it is its plain string form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The six kinds of stream a topic can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TopicKind {
    /// Candles, ticks and analysis of one symbol, published by the market feed.
    Market,
    /// One backtest run, published by the backtest engine.
    Backtest,
    /// One forward-test (paper-trading) session.
    Session,
    /// Orders, positions, P&L and risk of every session trading one symbol.
    Trading,
    /// One parameter sweep: every combination's result as it lands.
    Sweep,
    /// One user's personal channel: the notices the server sends them.
    User,
}

impl TopicKind {
    /// The prefix before the colon in a topic name.
    pub fn prefix(self) -> &'static str {
        match self {
            TopicKind::Market => "market",
            TopicKind::Backtest => "backtest",
            TopicKind::Session => "session",
            TopicKind::Trading => "trading",
            TopicKind::Sweep => "sweep",
            TopicKind::User => "user",
        }
    }

    /// Whether this kind is keyed by a SYMBOL (else by an ID).
    pub fn keyed_by_symbol(self) -> bool {
        matches!(self, TopicKind::Market | TopicKind::Trading)
    }
}

/// Why a topic, symbol or id was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("topic `{0}` has no `kind:name` form (expected e.g. `market:BTC-USD`)")]
    MissingColon(String),
    #[error(
        "unknown topic kind `{0}` (expected market, backtest, session, trading, sweep or user)"
    )]
    UnknownKind(String),
    #[error("invalid symbol `{0}`: must match [A-Z0-9][A-Z0-9._-]{{0,31}}")]
    InvalidSymbol(String),
    #[error("invalid id `{0}`: must match [A-Za-z0-9_-]{{1,64}}")]
    InvalidId(String),
    #[error("invalid user `{0}`: must match [A-Za-z0-9_.@-]{{1,64}}")]
    InvalidUser(String),
}

/// A validated market symbol, e.g. `BTC-USD`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(String);

impl Symbol {
    /// Validates `s` against `[A-Z0-9][A-Z0-9._-]{0,31}`.
    pub fn parse(s: &str) -> Result<Self, TopicError> {
        let bytes = s.as_bytes();
        let first_ok = bytes
            .first()
            .is_some_and(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        let rest_ok = bytes.iter().skip(1).all(|b| {
            b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
        if first_ok && rest_ok && bytes.len() <= 32 {
            Ok(Symbol(s.to_owned()))
        } else {
            Err(TopicError::InvalidSymbol(s.to_owned()))
        }
    }

    /// The symbol as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Symbol {
    type Err = TopicError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Symbol::parse(s)
    }
}

impl TryFrom<String> for Symbol {
    type Error = TopicError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Symbol::parse(&s)
    }
}

impl From<Symbol> for String {
    fn from(s: Symbol) -> String {
        s.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Validates an ID against `[A-Za-z0-9_-]{1,64}`.
pub fn validate_id(s: &str) -> Result<(), TopicError> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(TopicError::InvalidId(s.to_owned()))
    }
}

/// Validates a user (a token's `sub`, the key of `user:{SUB}`) against
/// `[A-Za-z0-9_.@-]{1,64}`.
pub fn validate_user(s: &str) -> Result<(), TopicError> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(TopicError::InvalidUser(s.to_owned()))
    }
}

/// A validated topic name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Topic {
    kind: TopicKind,
    name: String,
}

impl Topic {
    /// `market:{symbol}`.
    pub fn market(symbol: &Symbol) -> Self {
        Topic {
            kind: TopicKind::Market,
            name: symbol.0.clone(),
        }
    }

    /// `trading:{symbol}`.
    pub fn trading(symbol: &Symbol) -> Self {
        Topic {
            kind: TopicKind::Trading,
            name: symbol.0.clone(),
        }
    }

    /// Builds `{kind}:{name}`, validating `name` as the kind requires.
    pub fn new(kind: TopicKind, name: &str) -> Result<Self, TopicError> {
        if kind.keyed_by_symbol() {
            Symbol::parse(name)?;
        } else if kind == TopicKind::User {
            validate_user(name)?;
        } else {
            validate_id(name)?;
        }
        Ok(Topic {
            kind,
            name: name.to_owned(),
        })
    }

    /// Which kind of stream this is.
    pub fn kind(&self) -> TopicKind {
        self.kind
    }

    /// The symbol or id after the colon.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for Topic {
    type Err = TopicError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (prefix, name) = s
            .split_once(':')
            .ok_or_else(|| TopicError::MissingColon(s.to_owned()))?;
        let kind = match prefix {
            "market" => TopicKind::Market,
            "backtest" => TopicKind::Backtest,
            "session" => TopicKind::Session,
            "trading" => TopicKind::Trading,
            "sweep" => TopicKind::Sweep,
            "user" => TopicKind::User,
            other => return Err(TopicError::UnknownKind(other.to_owned())),
        };
        Topic::new(kind, name)
    }
}

impl TryFrom<String> for Topic {
    type Error = TopicError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl Serialize for Topic {
    /// As its text, put together on the stack (every envelope carries it: going
    /// through `Display` costs twice as much, and a `String` an allocation).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (prefix, name) = (self.kind.prefix().as_bytes(), self.name.as_bytes());
        let mut buf = [0u8; 96];
        let Some(text) = buf.get_mut(..prefix.len() + 1 + name.len()) else {
            return s.collect_str(self);
        };
        let (head, tail) = text.split_at_mut(prefix.len());
        head.copy_from_slice(prefix);
        tail[0] = b':';
        tail[1..].copy_from_slice(name);
        match std::str::from_utf8(text) {
            Ok(text) => s.serialize_str(text),
            Err(_) => s.collect_str(self),
        }
    }
}

impl From<Topic> for String {
    fn from(t: Topic) -> String {
        t.to_string()
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.prefix(), self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_topics_round_trip_through_their_string_form() {
        for s in [
            "market:BTC-USD",
            "trading:EURUSD",
            "backtest:bt_01-a",
            "session:S1",
            "market:A",
            "market:BRK.B",
            "user:alice@example.com",
            "user:anonymous",
        ] {
            let t: Topic = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<Topic>(&json).unwrap(), t);
        }
    }

    #[test]
    fn invalid_topics_are_rejected_with_the_reason() {
        let cases = [
            ("marketBTC", "no `kind:name` form"),
            ("stocks:AAPL", "unknown topic kind `stocks`"),
            ("market:btc", "invalid symbol `btc`"),
            ("market:", "invalid symbol ``"),
            ("market:-BTC", "invalid symbol `-BTC`"),
            (
                "trading:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456",
                "invalid symbol",
            ),
            ("backtest:", "invalid id ``"),
            ("session:a b", "invalid id `a b`"),
            ("backtest:a/b", "invalid id"),
            ("user:a b", "invalid user `a b`"),
            ("user:", "invalid user ``"),
        ];
        for (input, expected) in cases {
            let err = input.parse::<Topic>().unwrap_err().to_string();
            assert!(err.contains(expected), "{input}: {err}");
        }
        let long_id = format!("backtest:{}", "x".repeat(65));
        assert!(long_id.parse::<Topic>().is_err());
        let max_id = format!("backtest:{}", "x".repeat(64));
        assert!(max_id.parse::<Topic>().is_ok());
    }

    #[test]
    fn deserializing_an_invalid_topic_names_the_problem() {
        let err = serde_json::from_str::<Topic>("\"market:bad sym\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid symbol `bad sym`"), "{err}");
    }
}
