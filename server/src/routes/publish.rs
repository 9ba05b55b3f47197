//! `POST /api/publish`: outside producers push messages into any topic, validated exactly
//! like the server's own. `{topic, type, data}` or `{messages: [...]}`; answers the seqs.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use protocol::{Message, Topic, TopicError};
use serde::de::value::MapDeserializer;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::bearer;
use super::json::{parse, JsonBody};
use super::schemas::topic_schema;
use super::ApiError;
use crate::auth::{Caller, TokenError};
use crate::hub::PublishError;
use crate::routes::state::AppState;
use protocol::api::ErrorBody;

/// Most messages one batch may carry.
pub const MAX_BATCH: usize = 1_000;

/// One message to publish, as parsed and validated.
pub struct Publishable {
    pub topic: Topic,
    pub message: Message,
}

/// One message as posted: `{topic, type, data}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    topic: String,
    #[serde(rename = "type")]
    kind: String,
    /// Absent for messages without a payload (`paused`, `resumed`).
    #[serde(default = "empty_object")]
    data: Value,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Where each published message landed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Published {
    topic: String,
    seq: u64,
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
    data: Option<Value>,
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
        (status = 403, description = "The token may not publish to a topic, or a foreign `Origin` / `Host`", body = ErrorBody),
        (status = 413, description = "The body is larger than `--max-body-bytes` (`details.limit`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "An item does not fit (`messages[i]: ...`), or a value breaks a rule: `details.field` names it (`data.price`)", body = ErrorBody),
        (status = 503, description = "The backend (Redis) is away, or the topic cap `--max-topics` is reached (`details.limit`)", body = ErrorBody),
    )
)]
pub async fn publish(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<PublishResponse>, ApiError> {
    let publisher = authorize(&state, &headers)?;
    let items = publishables(body)?;
    if let Some(refused) = items.iter().find(|i| !publisher.may_publish(&i.topic)) {
        return Err(ApiError::forbidden(format!(
            "your token may not publish to {}: it may publish to {}",
            refused.topic,
            publisher.publish_text()
        )));
    }
    let topics: Vec<String> = items.iter().map(|i| i.topic.to_string()).collect();
    let seqs = state
        .hub
        .publish_all(items.into_iter().map(|i| (i.topic, i.message)).collect())
        .await?;
    let published = topics
        .into_iter()
        .zip(seqs)
        .map(|(topic, seq)| Published { topic, seq })
        .collect();
    Ok(Json(PublishResponse { published }))
}

/// A publish body read as the endpoint reads it — its JSON (as [`JsonBody`] does), then
/// every message in it validated for its topic — for the property tests and the fuzzer.
pub fn parse_body(bytes: &[u8]) -> Result<Vec<Publishable>, ApiError> {
    let body: Value = parse(&mut serde_json::Deserializer::from_slice(bytes))?;
    publishables(body)
}

/// The messages a publish body carries, each parsed and validated for its topic.
fn publishables(body: Value) -> Result<Vec<Publishable>, ApiError> {
    match body {
        Value::Object(mut map) if map.contains_key("messages") => match map.remove("messages") {
            Some(Value::Array(items)) if items.is_empty() => {
                Err(ApiError::unprocessable("`messages` is empty"))
            }
            Some(Value::Array(items)) if items.len() > MAX_BATCH => {
                Err(ApiError::unprocessable(format!(
                    "`messages` has {} items; at most {MAX_BATCH} per request",
                    items.len()
                ))
                .with_details(json!({ "field": "messages", "limit": MAX_BATCH })))
            }
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| parse_item(v, Some(i)))
                .collect(),
            _ => Err(ApiError::unprocessable("`messages` must be an array")),
        },
        single @ Value::Object(_) => Ok(vec![parse_item(single, None)?]),
        _ => Err(ApiError::unprocessable(
            "the body must be an object: {topic, type, data} or {messages: [...]}",
        )),
    }
}

fn parse_item(value: Value, index: Option<usize>) -> Result<Publishable, ApiError> {
    // In a batch, the error says which item (its details still name the field).
    let at = |e: ApiError| match index {
        Some(i) => ApiError {
            error: format!("messages[{i}]: {}", e.error),
            ..e
        },
        None => e,
    };
    let item: Item = parse(value).map_err(at)?;
    let topic: Topic = item.topic.parse().map_err(|e: TopicError| {
        at(ApiError::unprocessable(format!("`topic` {e}"))
            .with_details(json!({ "field": "topic" })))
    })?;
    // The tag first, so the payload is read in place and a bad field is named by its
    // path (`data.price`).
    let fields = [("type", Value::String(item.kind)), ("data", item.data)];
    let message: Message = parse(MapDeserializer::new(fields.into_iter())).map_err(at)?;
    message
        .validate_for(&topic)
        .map_err(|e| at(PublishError::from(e).into()))?;
    Ok(Publishable { topic, message })
}

/// Who may publish: the `--api-key` holder anywhere; in token mode, a token within its
/// `publish` claim; in anonymous mode without an API key, anyone.
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let given = bearer(headers);
    if let (Some(key), Some(g)) = (state.api_key.as_deref(), given) {
        if constant_time_eq(g.as_bytes(), key.as_bytes()) {
            return Ok(Caller::Anonymous);
        }
    }
    match (&state.tokens, state.api_key.is_some(), given) {
        (Some(keys), _, Some(token)) => Ok(Caller::Token(keys.verify(token)?.into())),
        (Some(_), _, None) => Err(TokenError::Missing.into()),
        (None, false, _) => Ok(Caller::Anonymous),
        (None, true, Some(_)) => Err(ApiError::unauthorized(
            "the API key in `Authorization: Bearer` is wrong",
        )),
        (None, true, None) => Err(ApiError::unauthorized(
            "this server needs `Authorization: Bearer <api key>` to publish",
        )),
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
