//! `GET /api/me`: whom the server takes the caller for (the dashboard asks at start-up,
//! and after a sign-in).

use axum::Json;
use protocol::Me;

use crate::auth::Caller;

/// `GET /api/me`: `{"mode":"anonymous"}`, or the token's `sub`, `admin` and `exp`.
#[utoipa::path(
    get,
    path = "/api/me",
    operation_id = "me",
    tag = "server",
    responses(
        (status = 200, description = "Whom the server takes the caller for", body = ref("#/components/schemas/Me")),
        (status = 401, description = "Token mode without a valid token", body = protocol::api::ErrorBody),
        (status = 403, description = "A `Host` that is not this server's", body = protocol::api::ErrorBody),
    )
)]
pub async fn me(caller: Caller) -> Json<Me> {
    Json(match caller {
        Caller::Anonymous => Me::Anonymous,
        Caller::Token(claims) => Me::Token {
            sub: claims.sub.clone(),
            admin: claims.admin,
            exp: claims.exp,
        },
    })
}
