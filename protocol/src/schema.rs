//! Hand-written JSON Schemas (`schemars`, feature `schema`) of the wire types whose serde
//! is hand-written too: each describes exactly the JSON its `Serialize` writes and its
//! `Deserialize` accepts. Every other wire type derives its schema from its serde
//! attributes. The server assembles them into `docs/schema.json`.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

use super::action::Since;
use super::envelope::Epoch;
use super::market::Interval;
use super::rate::{MaxRate, MAX_RATE, MIN_RATE};
use super::time::Timestamp;
use super::topic::{Symbol, Topic};

/// A run's or session's id: `[A-Za-z0-9_-]{1,64}` ([`super::validate_id`]).
pub const ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

/// A symbol: `[A-Z0-9][A-Z0-9._-]{0,31}` ([`Symbol::parse`]).
pub const SYMBOL_PATTERN: &str = "^[A-Z0-9][A-Z0-9._-]{0,31}$";

/// A topic: `market:` or `trading:` and a symbol, `backtest:`, `session:` or `sweep:` and an id
/// (`[A-Za-z0-9_-]{1,64}`, [`super::validate_id`]), or `user:` and a user
/// (`[A-Za-z0-9_.@-]{1,64}`, [`super::validate_user`]).
pub const TOPIC_PATTERN: &str = "^((market|trading):[A-Z0-9][A-Z0-9._-]{0,31}|(backtest|session|sweep):[A-Za-z0-9_-]{1,64}|user:[A-Za-z0-9_.@-]{1,64})$";

/// What `Timestamp`'s parser takes: RFC 3339 with any offset (the server writes UTC
/// with milliseconds, `2026-11-22T14:03:11.123Z`).
pub const TIMESTAMP_PATTERN: &str =
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$";

/// What `Interval`'s parser takes: a positive whole number (`u64`) and a unit.
pub const INTERVAL_PATTERN: &str = "^\\+?0*[1-9][0-9]*[smhd]$";

impl JsonSchema for Timestamp {
    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Timestamp").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "RFC 3339. The server always writes UTC with milliseconds (`2026-11-22T14:03:11.123Z`); it reads any offset and normalises it to UTC.",
            "type": "string",
            "format": "date-time",
            "pattern": TIMESTAMP_PATTERN,
            "examples": ["2026-11-22T14:03:11.123Z"]
        })
    }
}

impl JsonSchema for Symbol {
    fn schema_name() -> Cow<'static, str> {
        "Symbol".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Symbol").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A market symbol: upper-case letters, digits, `.`, `_` and `-`, at most 32.",
            "type": "string",
            "pattern": SYMBOL_PATTERN,
            "examples": ["BTC-USD"]
        })
    }
}

impl JsonSchema for MaxRate {
    fn schema_name() -> Cow<'static, str> {
        "MaxRate".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::MaxRate").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Messages per second a subscriber wants of a topic's replaceable messages (docs/SPEC.md section 6, \"Rates\").",
            "type": "number",
            "minimum": MIN_RATE,
            "maximum": MAX_RATE,
            "examples": [2, 0.5]
        })
    }
}

impl JsonSchema for Topic {
    fn schema_name() -> Cow<'static, str> {
        "Topic".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Topic").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "`market:{SYMBOL}`, `trading:{SYMBOL}`, `backtest:{ID}`, `session:{ID}`, `sweep:{ID}` (ID: `[A-Za-z0-9_-]{1,64}`) or `user:{SUB}` (SUB: `[A-Za-z0-9_.@-]{1,64}`).",
            "type": "string",
            "pattern": TOPIC_PATTERN,
            "examples": ["market:BTC-USD", "backtest:run-1"]
        })
    }
}

impl JsonSchema for Interval {
    fn schema_name() -> Cow<'static, str> {
        "Interval".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Interval").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A candle's length: a positive whole number and `s`, `m`, `h` or `d`. The server writes the largest exact unit (`60s` is written `1m`).",
            "type": "string",
            "pattern": INTERVAL_PATTERN,
            "examples": ["5s", "1m", "1h", "1d"]
        })
    }
}

impl JsonSchema for Epoch {
    fn schema_name() -> Cow<'static, str> {
        "Epoch".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Epoch").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "One lifetime of a topic's sequence, compared as an opaque string. The server mints ULIDs (26 characters of Crockford base32); `00000000000000000000000000` names a topic that does not exist yet.",
            "type": "string",
            "examples": ["01KAP3ZK7Q8V6W2X4Y5Z6A7B8C"]
        })
    }
}

impl JsonSchema for Since {
    fn schema_name() -> Cow<'static, str> {
        "Since".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Since").into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let epoch = generator.subschema_for::<Epoch>();
        json_schema!({
            "description": "A resume point: the last seq the client holds and the epoch it came from. `{\"seq\": 0}` without an epoch asks for everything still retained; any other seq needs its epoch.",
            "type": "object",
            "properties": {
                "seq": {"type": "integer", "format": "uint64", "minimum": 0},
                "epoch": {"anyOf": [epoch, {"type": "null"}]}
            },
            "required": ["seq"],
            "if": {"properties": {"seq": {"exclusiveMinimum": 0}}},
            "then": {"required": ["epoch"], "properties": {"epoch": epoch}}
        })
    }
}
