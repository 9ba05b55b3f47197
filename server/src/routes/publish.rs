//! `POST /api/publish`: outside producers push messages into any topic, validated exactly
//! like the server's own. `{topic, type, data}` or `{messages: [...]}`; answers the seqs.
//!
//! The caller is authorised from the headers before a byte of the body is read
//! ([`Publisher`] runs before [`JsonBody`]), and the body is parsed straight into its
//! own type with a bounded batch ([`Body`]): no `serde_json::Value` of an unknown
//! caller's 16 MiB is ever built (docs/SECURITY.md).

use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use protocol::{Message, Topic, TopicError};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use serde_json::value::RawValue;

use super::bearer;
use super::json::{parse, parse_checked, JsonBody};
use super::schemas::topic_schema;
use super::ApiError;
use crate::auth::{Caller, TokenError};
use crate::hub::{Outgoing, PublishError};
use crate::routes::state::AppState;
use protocol::api::ErrorBody;

/// Most messages one batch may carry.
pub const MAX_BATCH: usize = 1_000;

/// One message to publish, as parsed and validated.
pub struct Publishable {
    pub topic: Topic,
    pub message: Message,
    /// Makes a retry land once: a repeat within the window answers the first seq.
    pub key: Option<String>,
}

/// The longest idempotency key, in bytes.
pub const MAX_KEY_BYTES: usize = 128;

/// `POST /api/publish`'s body as read: the fields of one message, or `messages`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    topic: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    data: Option<Box<RawValue>>,
    idempotency_key: Option<String>,
    #[serde(default, deserialize_with = "at_most_a_batch")]
    messages: Option<Vec<Item>>,
}

/// One message as posted: `{topic, type, data}`, its payload kept as the raw JSON it
/// came in until the type is known.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    topic: String,
    #[serde(rename = "type")]
    kind: String,
    /// Absent for messages without a payload (`paused`, `resumed`).
    data: Option<Box<RawValue>>,
    idempotency_key: Option<String>,
}

/// A `T` that must come as a JSON object (a derived struct would also take an array of
/// its fields in order).
pub struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for Fields<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object: {topic, type, data} or {messages: [...]}")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        d.deserialize_map(Fields(PhantomData)).map(Object)
    }
}

/// Reads `messages`, refusing the item past [`MAX_BATCH`] as soon as it is met.
fn at_most_a_batch<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Item>>, D::Error> {
    struct Batch;

    impl<'de> Visitor<'de> for Batch {
        type Value = Vec<Item>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "an array of at most {MAX_BATCH} messages")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Item>, A::Error> {
            let mut items = Vec::new();
            while let Some(Object(item)) = seq.next_element()? {
                if items.len() == MAX_BATCH {
                    return Err(de::Error::custom(format_args!(
                        "has more than {MAX_BATCH} items, the most one request may carry"
                    )));
                }
                items.push(item);
            }
            Ok(items)
        }
    }

    d.deserialize_seq(Batch).map(Some)
}

/// Where each published message landed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Published {
    topic: String,
    seq: u64,
    /// Present (true) when the item's `idempotency_key` was published on its topic
    /// within the window: `seq` is that first publish's, and nothing was published now.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(required = false)]
    duplicate: bool,
}

/// What `POST /api/publish` answers: one entry per message, in the body's order.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PublishResponse {
    published: Vec<Published>,
}

/// One message to publish, as the OpenAPI document describes `POST /api/publish`'s body
/// (the endpoint reads it from a JSON value itself, see [`parse_body`]).
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code, reason = "only its schema is used: `Item` reads the body")]
pub struct PublishItem {
    /// The topic to publish on (`#/components/schemas/Topic`).
    #[schema(schema_with = topic_schema)]
    topic: String,
    /// The message type: a `type` of `#/components/schemas/Message`.
    #[serde(rename = "type")]
    kind: String,
    /// The payload for `type` (`#/components/schemas/Message`); may be left out for
    /// `paused` and `resumed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    data: Option<serde_json::Value>,
    /// 1 to 128 visible ASCII characters the producer picks per message (a UUID): a
    /// repeat on the same topic within `--idempotency-window-secs` is not published
    /// again, and answers the first publish's seq with `duplicate: true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<String>,
}

/// A batch: at most [`MAX_BATCH`] messages, published all or none.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(
    dead_code,
    reason = "only its schema is used: `publishables` reads the body"
)]
pub struct PublishBatch {
    messages: Vec<PublishItem>,
}

/// `POST /api/publish`'s body: one message or a batch.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(
    dead_code,
    reason = "only its schema is used: `publishables` reads the body"
)]
pub enum PublishBody {
    One(PublishItem),
    Batch(PublishBatch),
}

/// Publishes one message or a batch; nothing is published unless every item is valid.
#[utoipa::path(
    post,
    path = "/api/publish",
    operation_id = "publish",
    tag = "streams",
    description = "Publishes `{topic, type, data}` or `{messages: [...]}` (at most 1,000), validated exactly like the server's own messages; nothing is published unless every item is valid. With `--api-key`, `Authorization: Bearer <key>` is required; in token mode, a token whose `publish` claim covers every topic.",
    request_body(content = PublishBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Published: the seq each message got", body = PublishResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No API key or token, a wrong API key, or a bad or expired token", body = ErrorBody),
        (status = 403, description = "The token may not publish to a topic, a topic is a run this server runs (only its engine publishes there), a `backtest:` or `session:` topic is another producer's (its first publisher's), or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 413, description = "The body is larger than `--max-body-bytes` (`details.limit`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "An item does not fit (`messages[i]: ...`), or a value breaks a rule: `details.field` names it (`data.price`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn publish(
    State(state): State<AppState>,
    Publisher(publisher): Publisher,
    JsonBody(Object(body)): JsonBody<Object<Body>>,
) -> Result<Json<PublishResponse>, ApiError> {
    let items = publishables(body)?;
    let topics: BTreeSet<&Topic> = items.iter().map(|i| &i.topic).collect();
    for topic in topics {
        state.access.may_publish(&publisher, topic).await?;
        state
            .topic_quota
            .charge(&publisher, topic, &state.hub)
            .map_err(|e| {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, &e)
                    .with_details(json!({ "limit": e.0 }))
            })?;
    }
    let topics: Vec<String> = items.iter().map(|i| i.topic.to_string()).collect();
    let outgoing = items
        .into_iter()
        .map(|i| Outgoing {
            topic: i.topic,
            message: i.message,
            key: i.key,
        })
        .collect();
    let sent = state
        .hub
        .publish_all_as(publisher.producer(), outgoing)
        .await?;
    let published = topics
        .into_iter()
        .zip(sent)
        .map(|(topic, sent)| Published {
            topic,
            seq: sent.seq,
            duplicate: sent.duplicate,
        })
        .collect();
    Ok(Json(PublishResponse { published }))
}

/// A publish body read as the endpoint reads it — its JSON (as [`JsonBody`] does), then
/// every message in it validated for its topic — for the property tests and the fuzzer.
pub fn parse_body(bytes: &[u8]) -> Result<Vec<Publishable>, ApiError> {
    let Object(body) = parse(&mut serde_json::Deserializer::from_slice(bytes))?;
    publishables(body)
}

/// The messages a publish body carries, each parsed and validated for its topic.
fn publishables(body: Body) -> Result<Vec<Publishable>, ApiError> {
    match body {
        Body {
            messages: Some(items),
            topic: None,
            kind: None,
            data: None,
            idempotency_key: None,
        } => {
            if items.is_empty() {
                return Err(ApiError::unprocessable("`messages` is empty")
                    .with_details(json!({ "field": "messages" })));
            }
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| parse_item(item, Some(i)))
                .collect()
        }
        Body {
            messages: Some(_), ..
        } => Err(ApiError::unprocessable(
            "a body is one message {topic, type, data} or a batch {messages: [...]}, not both",
        )),
        Body {
            topic,
            kind,
            data,
            idempotency_key,
            ..
        } => {
            let missing = |field: &str| {
                ApiError::unprocessable(format!("missing field `{field}`"))
                    .with_details(json!({ "field": field }))
            };
            let item = Item {
                topic: topic.ok_or_else(|| missing("topic"))?,
                kind: kind.ok_or_else(|| missing("type"))?,
                data,
                idempotency_key,
            };
            Ok(vec![parse_item(item, None)?])
        }
    }
}

fn parse_item(item: Item, index: Option<usize>) -> Result<Publishable, ApiError> {
    // In a batch, the error says which item (its details still name the field).
    let at = |e: ApiError| match index {
        Some(i) => ApiError {
            error: format!("messages[{i}]: {}", e.error),
            ..e
        },
        None => e,
    };
    let topic: Topic = item.topic.parse().map_err(|e: TopicError| {
        at(ApiError::unprocessable(format!("`topic` {e}"))
            .with_details(json!({ "field": "topic" })))
    })?;
    // The tag first, so the payload is read in place and a bad field is named by its
    // path (`data.price`).
    let kind = serde_json::to_string(&item.kind).map_err(ApiError::internal)?;
    let data = item.data.as_deref().map_or("{}", RawValue::get);
    let tagged = format!(r#"{{"type":{kind},"data":{data}}}"#);
    let message: Message =
        parse_checked(&mut serde_json::Deserializer::from_str(&tagged)).map_err(at)?;
    message
        .validate_for(&topic)
        .map_err(|e| at(PublishError::from(e).into()))?;
    let key = item
        .idempotency_key
        .map(checked_key)
        .transpose()
        .map_err(at)?;
    Ok(Publishable {
        topic,
        message,
        key,
    })
}

/// `key` if it is 1 to [`MAX_KEY_BYTES`] visible ASCII characters.
fn checked_key(key: String) -> Result<String, ApiError> {
    if (1..=MAX_KEY_BYTES).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
        return Ok(key);
    }
    Err(ApiError::unprocessable(format!(
        "`idempotency_key` must be 1 to {MAX_KEY_BYTES} visible ASCII characters"
    ))
    .with_details(json!({ "field": "idempotency_key" })))
}

/// Who may publish, decided from the headers alone: the `--api-key` holder anywhere; in
/// token mode, a token (within its `publish` claim, checked per topic); in anonymous
/// mode without an API key, anyone.
pub struct Publisher(pub Caller);

impl FromRequestParts<AppState> for Publisher {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let given = bearer(&parts.headers);
        if let (Some(key), Some(g)) = (state.api_key.as_deref(), given) {
            if constant_time_eq(g.as_bytes(), key.as_bytes()) {
                return Ok(Publisher(Caller::Anonymous));
            }
        }
        match (&state.tokens, state.api_key.is_some(), given) {
            (Some(keys), _, Some(token)) => {
                Ok(Publisher(Caller::Token(keys.verify(token)?.into())))
            }
            (Some(_), _, None) => Err(TokenError::Missing.into()),
            (None, false, _) => Ok(Publisher(Caller::Anonymous)),
            (None, true, Some(_)) => Err(ApiError::unauthorized(
                "the API key in `Authorization: Bearer` is wrong",
            )),
            (None, true, None) => Err(ApiError::unauthorized(
                "this server needs `Authorization: Bearer <api key>` to publish",
            )),
        }
    }
}

/// Compares without an early exit, so timing does not reveal how much of a key matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
    // Failures print their minimal input; nothing is written into the source tree.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn any_bytes_give_messages_or_a_clean_error(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            if let Err(e) = parse_body(&bytes) {
                prop_assert!(e.status.is_client_error());
                prop_assert!(!e.error.is_empty());
            }
        }

        #[test]
        fn publish_shaped_bodies_give_messages_or_an_error_naming_the_problem(
            topic in "(market|backtest|session|trading|nope):[A-Za-z0-9._-]{0,40}",
            kind in "(tick|candle|log|progress|thinking|order|warp)",
            field in "(symbol|price|volume|level|message|target|pct|chunk|qty)",
            value in prop_oneof![
                Just(serde_json::json!(null)), Just(serde_json::json!(-1)), Just(serde_json::json!(1e308)),
                Just(serde_json::json!("x")), Just(serde_json::json!([1])), Just(serde_json::json!({})),
                any::<f64>().prop_map(|f| serde_json::json!(f)),
            ],
        ) {
            let body = serde_json::json!({"topic": topic, "type": kind, "data": {field: value}});
            match parse_body(body.to_string().as_bytes()) {
                Ok(items) => prop_assert_eq!(items.len(), 1),
                Err(e) => {
                    prop_assert_eq!(e.status.as_u16(), 422);
                    prop_assert!(!e.error.is_empty());
                }
            }
        }
    }
}
