//! Why a request to start or reach a run was refused, shared by backtests and sessions:
//! one shape for every refusal, which `routes` turns into its HTTP status and body.

use protocol::FieldError;

/// A refused request.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RequestError {
    /// A field breaks a rule (422, naming the field).
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The id is taken (409).
    #[error("{kind} `{id}` already exists")]
    Exists { kind: &'static str, id: String },
    /// Nothing has this id (404).
    #[error("no {kind} `{id}`")]
    NotFound { kind: &'static str, id: String },
    /// As many as the server allows are already running (429).
    #[error(
        "{limit} {kind}s are running, the most this server runs at once: wait for one to finish"
    )]
    TooMany { kind: &'static str, limit: usize },
    /// The caller runs as many as one user may (429).
    #[error("you run {limit} {kind}s, the most one user may at once: wait for one to finish")]
    TooManyOfYours { kind: &'static str, limit: usize },
    /// It belongs to another user (403).
    #[error("{kind} `{id}` belongs to another user")]
    Forbidden { kind: &'static str, id: String },
    /// The hub cannot take the run's topic (Redis away, no room): nothing was started
    /// (503).
    #[error(transparent)]
    Hub(#[from] crate::hub::HubError),
    /// It exists but has finished, so it takes no more commands (409).
    #[error("{kind} `{id}` is no longer running")]
    Finished { kind: &'static str, id: String },
    /// The store (docs/STORE.md) did not answer (503).
    #[error("{0}")]
    Store(String),
    /// It runs, but cannot take this request now, for the reason given (409).
    #[error("{kind} `{id}` {why}")]
    NotNow {
        kind: &'static str,
        id: String,
        why: String,
    },
}

/// Redis away: the same refusal as [`RequestError::Hub`].
impl From<crate::hub::Unavailable> for RequestError {
    fn from(e: crate::hub::Unavailable) -> Self {
        RequestError::Hub(e.into())
    }
}

/// The store did not answer: 503, saying what it said.
impl From<crate::store::StoreError> for RequestError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::warn!(error = %e, "the store did not answer");
        RequestError::Store(e.to_string())
    }
}

/// `problem` with `field`, as a refusal.
pub fn invalid(field: &'static str, problem: impl std::fmt::Display) -> RequestError {
    FieldError::new(field, problem).into()
}
