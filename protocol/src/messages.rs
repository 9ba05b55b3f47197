//! The one table of message types (docs/SPEC.md section 4): each type's wire name, its
//! `Message` variant, its payload and the topic kinds it may be published on. Everything
//! that depends on that list follows from the table: the [`Message`] enum with its serde
//! and display names, [`Message::TYPES`], [`Message::allowed_on`], and the per-kind
//! readers that [`crate::decode`] uses (each reads only its own kind's types, so the
//! dashboard's lazy chunk for a page brings only that kind's reading code).
//!
//! Adding a message type is one line here plus its payload struct (and its field rules
//! in `Message::validate_fields`, its fold, a fixture in [`crate::fixtures`]).

use serde::{Deserialize, Serialize};
use serde_json::Error;

use super::backtest::{
    Complete, EquityBatch, ErrorInfo, Lifecycle, LogLine, Metrics, Progress, Started, Trade,
};
use super::market::{Analysis, Candle, Tick};
use super::notice::{Notice, NoticesRead};
use super::session::{
    Countdown, Decision, PositionClosed, PositionOpened, PositionUpdated, SessionCompleted,
    SessionInitialized, SessionStats, Thinking,
};
use super::sweep::{SweepComplete, SweepProgress, SweepResults, SweepStarted};
use super::topic::TopicKind;
use super::trading::{Order, Pnl, Position, Risk};

/// Declares the table: `"wire_name" => Variant(Payload) on [Kind, ...];`.
macro_rules! message_table {
    (@types $($name:literal => $variant:ident($payload:ty) on [$($kind:ident),+];)*) => {
        /// A message published on a topic: `type` + `data` on the wire (docs/SPEC.md section 4).
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(tag = "type", content = "data")]
        pub enum Message {
            $(
                #[serde(rename = $name)]
                #[strum(serialize = $name)]
                $variant($payload),
            )*
        }

        impl Message {
            /// Every message type's wire name, in the table's order.
            pub const TYPES: &'static [&'static str] = &[$($name),*];

            /// Whether this message belongs on a topic of `kind`.
            pub fn allowed_on(&self, kind: TopicKind) -> bool {
                match self {
                    $(Message::$variant(_) => matches!(kind, $(TopicKind::$kind)|+),)*
                }
            }

            /// The topic kinds a message of type `name` may be published on (none: no
            /// such type).
            pub fn kinds_of(name: &str) -> &'static [TopicKind] {
                match name {
                    $($name => &[$(TopicKind::$kind),+],)*
                    _ => &[],
                }
            }
        }
    };
    (@reader $reader:ident $want:ident $($name:literal => $variant:ident($payload:ty) on [$($kind:ident),+];)*) => {
        /// Reads the `data` of a message of type `name` on a topic of this kind; a type
        /// that does not belong there is an error.
        pub fn $reader(name: &str, data: &str) -> Result<Message, Error> {
            $(read_if_on!($want [$($kind)+] name data $name $variant);)*
            Err(foreign(name, TopicKind::$want))
        }
    };
    ($($entry:tt)*) => {
        message_table!(@types $($entry)*);

        /// One reader per topic kind, each with the code of its own kind's types only.
        pub(crate) mod read {
            use super::*;

            message_table!(@reader market Market $($entry)*);
            message_table!(@reader backtest Backtest $($entry)*);
            message_table!(@reader session Session $($entry)*);
            message_table!(@reader trading Trading $($entry)*);
            message_table!(@reader sweep Sweep $($entry)*);
            message_table!(@reader user User $($entry)*);
        }
    };
}

/// In a kind's reader: returns the message when `name` is this entry's type, if the
/// entry lists that kind; expands to nothing otherwise (so the reader holds no code for
/// types of other kinds).
macro_rules! read_if_on {
    ($want:ident [$($kind:ident)+] $name:ident $data:ident $wire:literal $variant:ident) => {
        $(read_if_same!($want $kind $name $data $wire $variant);)+
    };
}

macro_rules! read_if_same {
    (Market Market $($rest:tt)+) => { read_arm!($($rest)+); };
    (Backtest Backtest $($rest:tt)+) => { read_arm!($($rest)+); };
    (Session Session $($rest:tt)+) => { read_arm!($($rest)+); };
    (Trading Trading $($rest:tt)+) => { read_arm!($($rest)+); };
    (Sweep Sweep $($rest:tt)+) => { read_arm!($($rest)+); };
    (User User $($rest:tt)+) => { read_arm!($($rest)+); };
    ($want:ident $other:ident $($rest:tt)+) => {};
}

macro_rules! read_arm {
    ($name:ident $data:ident $wire:literal $variant:ident) => {
        if $name == $wire {
            return Ok(Message::$variant(crate::decode::read($data)?));
        }
    };
}

message_table! {
    // market
    "candle" => Candle(Candle) on [Market, Session];
    "tick" => Tick(Tick) on [Market];
    "analysis" => Analysis(Analysis) on [Market];
    // backtest
    "started" => Started(Started) on [Backtest];
    "progress" => Progress(Progress) on [Backtest];
    "trade" => Trade(Trade) on [Backtest];
    "equity" => Equity(EquityBatch) on [Backtest];
    "metrics" => Metrics(Metrics) on [Backtest];
    "log" => Log(LogLine) on [Backtest];
    "paused" => Paused(Lifecycle) on [Backtest, Session, Sweep];
    "resumed" => Resumed(Lifecycle) on [Backtest, Session, Sweep];
    "cancelled" => Cancelled(Lifecycle) on [Backtest, Sweep];
    "interrupted" => Interrupted(Lifecycle) on [Backtest, Session, Sweep];
    "complete" => Complete(Complete) on [Backtest];
    "error" => Error(ErrorInfo) on [Backtest, Session, Sweep];
    // session
    "session_initialized" => SessionInitialized(SessionInitialized) on [Session];
    "thinking" => Thinking(Thinking) on [Session];
    "decision" => Decision(Decision) on [Session];
    "position_opened" => PositionOpened(PositionOpened) on [Session];
    "position_updated" => PositionUpdated(PositionUpdated) on [Session];
    "position_closed" => PositionClosed(PositionClosed) on [Session];
    "stats_update" => StatsUpdate(SessionStats) on [Session];
    "countdown" => Countdown(Countdown) on [Session];
    "session_completed" => SessionCompleted(SessionCompleted) on [Session];
    // trading
    "order" => Order(Order) on [Trading];
    "position" => Position(Position) on [Trading];
    "pnl" => Pnl(Pnl) on [Trading];
    "risk" => Risk(Risk) on [Trading];
    // sweep
    "sweep_started" => SweepStarted(SweepStarted) on [Sweep];
    "sweep_result" => SweepResult(SweepResults) on [Sweep];
    "sweep_progress" => SweepProgress(SweepProgress) on [Sweep];
    "sweep_complete" => SweepComplete(SweepComplete) on [Sweep];
    // user
    "notice" => Notice(Notice) on [User];
    "notices_read" => NoticesRead(NoticesRead) on [User];
}

/// A message type that does not belong on a topic of `kind`.
fn foreign(name: &str, kind: TopicKind) -> Error {
    serde::de::Error::custom(format!(
        "unknown message type `{name}` on a {} topic",
        kind.prefix()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_exactly_the_types_the_table_puts_on_it() {
        let kinds = [
            (TopicKind::Market, read::market as fn(&str, &str) -> _),
            (TopicKind::Backtest, read::backtest),
            (TopicKind::Session, read::session),
            (TopicKind::Trading, read::trading),
            (TopicKind::Sweep, read::sweep),
            (TopicKind::User, read::user),
        ];
        for (kind, reader) in kinds {
            for name in Message::TYPES {
                // A type the kind reads is read (`{}` may lack its fields); one it does
                // not read is refused by name.
                let refused = matches!(
                    reader(name, "{}"),
                    Err(e) if e.to_string().contains("unknown message type")
                );
                assert_eq!(
                    refused,
                    !Message::kinds_of(name).contains(&kind),
                    "{name} on {kind:?}"
                );
            }
        }
    }

    #[test]
    fn every_type_has_one_name_and_at_least_one_kind() {
        let mut names = Message::TYPES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Message::TYPES.len(), "a wire name used twice");
        assert!(Message::TYPES
            .iter()
            .all(|name| !Message::kinds_of(name).is_empty()));
        assert_eq!(
            Message::kinds_of("candle"),
            &[TopicKind::Market, TopicKind::Session]
        );
        assert!(Message::kinds_of("nonsense").is_empty());
    }
}
