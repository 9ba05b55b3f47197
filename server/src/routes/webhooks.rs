//! A user's webhooks: `POST /api/webhooks` registers one, `GET` lists them, `DELETE
//! /api/webhooks/{id}` removes one, `GET /api/webhooks/{id}/deliveries` says how the
//! last deliveries went. Each user reaches only their own (an admin too).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use protocol::api::ErrorBody;
use protocol::{NoticeEvent, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::json::JsonBody;
use super::ApiError;
use crate::auth::Caller;
use crate::notices::webhooks::{Delivery, Format, NewWebhook, Webhook, WebhookError};
use crate::notices::ANONYMOUS;
use crate::routes::state::AppState;

/// `POST /api/webhooks`'s body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where to post: `http://` or `https://`, resolving to public addresses only
    /// (unless `--webhooks-allow-private`).
    url: String,
    /// The notice events to post (`run_finished`, `fill`, …): at least one.
    events: Vec<String>,
    /// 16 to 256 bytes: the key of `X-Tickwire-Signature`. Never shown again.
    secret: String,
    /// `json` (the default), `slack` or `discord`.
    #[serde(default)]
    format: Format,
}

/// A webhook as its user sees it (never its secret).
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookInfo {
    id: String,
    url: String,
    events: Vec<String>,
    format: Format,
    #[schema(value_type = String)]
    created: Timestamp,
}

impl From<Webhook> for WebhookInfo {
    fn from(hook: Webhook) -> Self {
        WebhookInfo {
            id: hook.id,
            url: hook.url,
            events: hook.events.iter().map(|e| e.name().to_owned()).collect(),
            format: hook.format,
            created: hook.created,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    webhooks: Vec<WebhookInfo>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    deliveries: Vec<Delivery>,
}

/// The caller's user: their token's `sub`, or `anonymous`.
fn user(caller: &Caller) -> &str {
    caller.sub().unwrap_or(ANONYMOUS)
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match &e {
            WebhookError::Invalid { field, .. } => {
                let field = *field;
                ApiError::unprocessable(e).with_details(json!({ "field": field }))
            }
            WebhookError::TooMany(limit) => {
                let limit = *limit;
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, e)
                    .with_details(json!({ "limit": limit }))
            }
            WebhookError::NotFound(_) => ApiError::not_found(e),
            WebhookError::Store(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e),
        }
    }
}

/// Registers a webhook for the caller's notices.
#[utoipa::path(
    post,
    path = "/api/webhooks",
    operation_id = "add_webhook",
    tag = "notices",
    description = "Registers a webhook: the caller's notices of `events` are posted to `url` as JSON (or shaped for a Slack or Discord incoming webhook), signed `X-Tickwire-Signature: t=UNIX_SECONDS,v1=hex(HMAC-SHA256(secret, \"t.body\"))`, retried with backoff for `--webhook-retry-secs`. A URL whose host resolves to a loopback, private, link-local or other non-public address is refused (unless `--webhooks-allow-private`); redirects are never followed.",
    request_body(content = WebhookRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered (its secret is not shown)", body = WebhookInfo),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "A foreign `Origin` / `Host`", body = ErrorBody),
        (status = 413, description = "The body is larger than `--max-body-bytes` (`details.limit`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "A field breaks a rule (`details.field`): a URL that is not http(s) or reaches a non-public address, no or unknown events, a short secret", body = ErrorBody),
        (status = 429, description = "The caller has `--max-webhooks-per-user` already (`details.limit`)", body = ErrorBody),
        (status = 503, description = "The store is away", body = ErrorBody),
    )
)]
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<WebhookRequest>,
) -> Result<(StatusCode, Json<WebhookInfo>), ApiError> {
    let events = request
        .events
        .iter()
        .map(|name| {
            NoticeEvent::ALL
                .into_iter()
                .find(|e| e.name() == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = NoticeEvent::ALL.iter().map(|e| e.name()).collect();
                    ApiError::unprocessable(format!(
                        "`events` has `{name}`, which is not one of {}",
                        known.join(", ")
                    ))
                    .with_details(json!({ "field": "events" }))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let new = NewWebhook {
        url: request.url,
        events,
        secret: request.secret,
        format: request.format,
    };
    let hook = state.notices.webhooks().add(user(&caller), new).await?;
    Ok((StatusCode::CREATED, Json(hook.into())))
}

/// The caller's webhooks.
#[utoipa::path(
    get,
    path = "/api/webhooks",
    operation_id = "list_webhooks",
    tag = "notices",
    responses(
        (status = 200, description = "The caller's webhooks, oldest first", body = WebhookList),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "A foreign `Host`", body = ErrorBody),
        (status = 503, description = "The store is away", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WebhookList>, ApiError> {
    let hooks = state.notices.webhooks().of(user(&caller)).await?;
    Ok(Json(WebhookList {
        webhooks: hooks.into_iter().map(WebhookInfo::from).collect(),
    }))
}

/// Deletes one of the caller's webhooks.
#[utoipa::path(
    delete,
    path = "/api/webhooks/{id}",
    operation_id = "delete_webhook",
    tag = "notices",
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 204, description = "Deleted: nothing more is posted to it"),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "A foreign `Origin` / `Host`", body = ErrorBody),
        (status = 404, description = "The caller has no webhook by that id", body = ErrorBody),
        (status = 503, description = "The store is away", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.notices.webhooks().delete(user(&caller), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How the last deliveries of one of the caller's webhooks went.
#[utoipa::path(
    get,
    path = "/api/webhooks/{id}/deliveries",
    operation_id = "webhook_deliveries",
    tag = "notices",
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "Its last 50 deliveries on this instance, newest first: state, attempts, the receiver's last status", body = DeliveryList),
        (status = 401, description = "Token mode: no token, or a malformed, badly signed or expired one", body = ErrorBody),
        (status = 403, description = "A foreign `Host`", body = ErrorBody),
        (status = 404, description = "The caller has no webhook by that id", body = ErrorBody),
        (status = 503, description = "The store is away", body = ErrorBody),
    )
)]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryList>, ApiError> {
    let deliveries = state
        .notices
        .webhooks()
        .deliveries(user(&caller), &id)
        .await?;
    Ok(Json(DeliveryList { deliveries }))
}
