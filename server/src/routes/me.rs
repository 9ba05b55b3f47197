//! `GET /api/me`: whom the server takes the caller for (the dashboard asks at start-up,
//! and after a sign-in).

use axum::Json;
use serde::Serialize;

use crate::auth::Caller;

/// The caller, as the dashboard shows it.
#[derive(Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Me {
    /// Anonymous mode: no tokens here.
    Anonymous,
    /// The holder of a valid token.
    Token { sub: String, admin: bool, exp: u64 },
}

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
