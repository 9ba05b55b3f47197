//! Who is calling, and what they may do (docs/SPEC.md section 12).
//!
//! Without a JWT key the server is anonymous: every caller is [`Caller::Anonymous`] and
//! may do anything. With `--jwt-secret` every caller proves a token ([`TokenKeys`]):
//! its claims say which topics it may follow and publish to, and whether it is an
//! admin; the runs it starts are its own ([`Caller::may_reach`]).
//!
//! - [`token`]: the claims, issuing and verifying (HS256, 5 s of leeway).
//! - [`pattern`]: topic patterns (`market:*`).
//! - [`caller`]: the caller of one request or socket, and what it may do.
//!
//! Nothing here knows HTTP: the routes read a request's caller (`routes::caller`).

mod caller;
mod pattern;
mod token;

pub use caller::Caller;
pub use pattern::TopicPatterns;
pub use token::{now_secs, Claims, SecretError, TokenError, TokenKeys, LEEWAY, MAX_TTL};
