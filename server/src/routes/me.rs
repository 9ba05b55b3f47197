//! `GET /api/me`: whom the server takes the caller for (the dashboard asks at start-up,
//! and after a sign-in).

use app::protocol::Me;
use axum::Json;

use crate::auth::Caller;

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
