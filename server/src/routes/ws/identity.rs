//! Who is on a socket (docs/SPEC.md section 12). Anonymous mode: everyone, for good. Token
//! mode: the token on the upgrade (`?token=` or `Authorization: Bearer`), or a first
//! `auth` frame within [`AUTH_WINDOW`]; the socket is closed with 1008 when the token
//! lapses, unless a fresh one (same `sub`) came in an `auth` frame before.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::Deserialize;
use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::admission::{Admission, Full, Place};
use crate::auth::{Caller, TokenError, TokenKeys};
use crate::routes::bearer;

/// How long a socket opened without a token may wait before sending one.
pub const AUTH_WINDOW: Duration = Duration::from_secs(10);

/// The token a client offered with its upgrade, if any.
pub struct UpgradeToken(Option<String>);

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for UpgradeToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let query = Query::<TokenQuery>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|Query(q)| q.token);
        Ok(UpgradeToken(
            query.or_else(|| bearer(&parts.headers).map(str::to_owned)),
        ))
    }
}

/// Who the socket's peer is, as far as the server knows.
pub enum Identity {
    /// The caller, and when its token lapses (anonymous: never).
    Known {
        caller: Caller,
        lapses: Option<Instant>,
    },
    /// Token mode, no token yet: an `auth` frame must come by `deadline`; until then
    /// the socket holds a `place` among those awaiting one (it may be taken back).
    Awaiting {
        deadline: Instant,
        place: Arc<Place>,
    },
    /// The upgrade's token was refused: the socket is closed at once.
    Refused(TokenError),
}

/// What an `auth` frame does.
pub enum Authenticated {
    /// The socket's identity is now this.
    Now(Identity),
    /// Refused for a socket that has no identity yet: close it.
    Close(TokenError),
    /// Refused for a socket that keeps its current token: tell the client.
    Keep(String),
    /// Anonymous mode: there is nothing to prove.
    Unneeded,
}

impl Identity {
    /// The identity a socket starts with; one without a token takes a place in
    /// `awaiting` (the longest waiting there gives way when it is full).
    pub fn at_upgrade(
        tokens: Option<&TokenKeys>,
        token: UpgradeToken,
        awaiting: &Admission,
    ) -> Result<Self, Full> {
        Ok(match (tokens, token.0) {
            (None, _) => Identity::Known {
                caller: Caller::Anonymous,
                lapses: None,
            },
            (Some(keys), Some(token)) => match keys.verify(&token) {
                Ok(claims) => Identity::known(claims),
                Err(e) => Identity::Refused(e),
            },
            (Some(_), None) => Identity::Awaiting {
                deadline: Instant::now() + AUTH_WINDOW,
                place: awaiting.admit(None, true)?,
            },
        })
    }

    /// Cancelled if the socket's place among those awaiting a token is taken back.
    pub fn displaced(&self) -> Option<CancellationToken> {
        match self {
            Identity::Awaiting { place, .. } => Some(place.evicted().clone()),
            _ => None,
        }
    }

    fn known(claims: crate::auth::Claims) -> Self {
        let left = claims
            .lapses_at()
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        Identity::Known {
            caller: Caller::Token(Arc::new(claims)),
            lapses: Some(Instant::now() + left),
        }
    }

    /// The caller, once known.
    pub fn caller(&self) -> Option<&Caller> {
        match self {
            Identity::Known { caller, .. } => Some(caller),
            _ => None,
        }
    }

    /// When the socket must be closed for want of a (fresh) token, and why.
    pub fn deadline(&self) -> Option<(Instant, TokenError)> {
        match self {
            Identity::Known { lapses, .. } => lapses.map(|at| (at, TokenError::Expired)),
            Identity::Awaiting { deadline, .. } => Some((*deadline, TokenError::Missing)),
            Identity::Refused(e) => Some((Instant::now(), e.clone())),
        }
    }

    /// An `auth` frame carrying `token`.
    pub fn authenticate(&self, tokens: Option<&TokenKeys>, token: &str) -> Authenticated {
        let Some(keys) = tokens else {
            return Authenticated::Unneeded;
        };
        let verified = keys.verify(token);
        match (self, verified) {
            (Identity::Known { caller, .. }, Ok(claims)) => match caller.sub() {
                Some(sub) if sub != claims.sub => Authenticated::Keep(format!(
                    "a refresh must be for the same user (`{sub}`); open a new socket for `{}`",
                    claims.sub
                )),
                _ => Authenticated::Now(Identity::known(claims)),
            },
            (Identity::Known { .. }, Err(e)) => {
                Authenticated::Keep(format!("{}; the current one still holds", e.explain()))
            }
            (_, Ok(claims)) => Authenticated::Now(Identity::known(claims)),
            (_, Err(e)) => Authenticated::Close(e),
        }
    }
}
