//! The contract documents as endpoints — `GET /api/schema.json` (the wire protocol's JSON
//! Schema) and `GET /api/openapi.json` (this API's OpenAPI document) — and the `utoipa`
//! declaration that gathers every handler's `#[utoipa::path]` into the latter. Neither
//! endpoint needs a token: they describe the public contract, like `/api/ws/health`.
//!
//! Protocol types (`protocol`) have no `utoipa::ToSchema`: handlers refer to them as
//! `#/components/schemas/NAME` (`schemas`), which [`contract::openapi`] fills with the
//! schemars definitions of `docs/schema.json`.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;

use axum::extract::State;

use super::state::AppState;
use crate::contract;

/// Adds the `bearer` scheme every `security(("bearer" = []))` names.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Token mode (`--jwt-secret`): an HS256 JWT with `sub`, `exp`, `topics`, \
                         `publish` and `admin` (docs/SECURITY.md). `POST /api/publish` also takes \
                         the `--api-key` as the Bearer value. In anonymous mode no token is needed.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every HTTP endpoint of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tickwire HTTP API",
        description = "Streams, backtests, paper-trading sessions and market data over HTTP. \
                       Errors are `{\"error\": string, \"details\": any}` (`ErrorBody`). Bodies of \
                       protocol types refer to the schemas of /api/schema.json, embedded under \
                       components/schemas. The WebSocket endpoints are listed as GET requests \
                       answered with 101; their frames are `ClientAction` and `ServerFrame`.",
        license(name = "MIT")
    ),
    paths(
        super::publish::publish,
        super::notices::read,
        super::notices::notify,
        super::webhooks::add,
        super::webhooks::list,
        super::webhooks::delete,
        super::webhooks::deliveries,
        super::streams::poll,
        super::streams::snapshot,
        super::streams::record,
        super::backtests::datasets,
        super::backtests::start,
        super::backtests::list,
        super::backtests::get,
        super::backtests::control,
        super::backtests::annotate,
        super::backtests::delete,
        super::backtests::bars,
        super::backtests::trades_csv,
        super::backtests::equity_csv,
        super::sweeps::start,
        super::sweeps::list,
        super::sweeps::get,
        super::sweeps::annotate,
        super::sweeps::delete,
        super::sweeps::results,
        super::sweeps::control,
        super::sessions::start,
        super::sessions::list,
        super::sessions::get,
        super::sessions::stop,
        super::sessions::delete,
        super::sessions::annotate,
        super::sessions::trades_csv,
        super::sessions::equity_csv,
        super::sessions::thinking,
        super::sessions::decision,
        super::sessions::manual,
        super::health::health,
        super::me::me,
        super::market::symbols,
        super::market::candles,
        super::ws::multiplexed,
        super::ws::dedicated,
        super::ws::live_trading,
        schema_json,
        openapi_json,
    ),
    components(schemas(protocol::api::ErrorBody)),
    modifiers(&BearerAuth),
    // Optional as published: the server's mode decides (anonymous: none needed; token
    // mode: required, as the server's own /api/openapi.json then says).
    security((), ("bearer" = [])),
    tags(
        (name = "streams", description = "Publishing and polling topics"),
        (name = "backtests", description = "Backtest runs"),
        (name = "sessions", description = "Paper-trading sessions and outside agents"),
        (name = "sweeps", description = "Parameter sweeps"),
        (name = "market", description = "The market feed"),
        (name = "notices", description = "Personal channels, notices and webhooks"),
        (name = "sockets", description = "WebSocket upgrades (101)"),
        (name = "server", description = "Health, identity and the contract documents"),
    )
)]
struct ApiDoc;

/// The OpenAPI document of this API, with the protocol's schemas embedded
/// (docs/openapi.json).
pub fn openapi_document() -> serde_json::Value {
    contract::openapi(ApiDoc::openapi())
}

static SCHEMA_JSON: LazyLock<String> = LazyLock::new(|| contract::pretty(&contract::json_schema()));
static OPENAPI_JSON: LazyLock<String> = LazyLock::new(|| contract::pretty(&openapi_document()));
static OPENAPI_TOKEN_MODE_JSON: LazyLock<String> =
    LazyLock::new(|| contract::pretty(&in_token_mode(openapi_document())));

/// The document as a token-mode server serves it: a bearer token is required wherever
/// an operation does not say otherwise.
fn in_token_mode(mut document: serde_json::Value) -> serde_json::Value {
    document["security"] = serde_json::json!([{ "bearer": [] }]);
    document
}

/// `GET /api/schema.json`: the JSON Schema of the wire protocol (docs/schema.json).
#[utoipa::path(
    get,
    path = "/api/schema.json",
    operation_id = "json_schema",
    tag = "server",
    security(()),
    responses((
        status = 200,
        description = "The JSON Schema (draft 2020-12) of the wire protocol: the root validates one envelope, `$defs` every wire type",
        content_type = "application/schema+json",
        body = Object
    ))
)]
pub async fn schema_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/schema+json")],
        SCHEMA_JSON.as_str(),
    )
}

/// `GET /api/openapi.json`: this document (docs/openapi.json), its security as this
/// server's mode makes it.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    tag = "server",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of the HTTP API; in token mode, its top-level `security` requires the bearer token", body = Object))
)]
pub async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    let document = match state.tokens {
        Some(_) => &OPENAPI_TOKEN_MODE_JSON,
        None => &OPENAPI_JSON,
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        document.as_str(),
    )
}
