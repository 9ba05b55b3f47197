//! Who the dashboard acts as (docs/SPEC.md section 12). A server started with a JWT secret
//! wants a token on every request: the user pastes one (minted with `tickwire token`),
//! the browser keeps it in localStorage (`tickwire.token`) and sends it as
//! `Authorization: Bearer` on REST calls and polls (`api`) and as the socket's first
//! frame (`stream`). A server without one is anonymous: no token anywhere.
//!
//! [`Auth`] is the page's context: the current [`Identity`] as a signal, the token
//! requests carry, and signing in and out. Once the page has hydrated it asks
//! `GET /api/me` who the server takes the stored token for; any refusal later (a 401
//! answer, a poll, a socket closed for its token) turns the identity to
//! [`Identity::Needed`], and the sign-in panel asks for a token.

use leptos::prelude::*;

use crate::api;
use protocol::{decode, Me, TokenRefusal};

/// Who the server takes this browser for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Not known yet: what the server renders, until `/api/me` answers in the browser.
    Unknown,
    /// The server runs without tokens and trusts every caller.
    Anonymous,
    /// The stored token is valid: it names `sub` and expires at `exp` (Unix seconds).
    SignedIn { sub: String, admin: bool, exp: u64 },
    /// The server wants a (new) token; `reason` tells the user why.
    Needed { reason: String },
}

impl Identity {
    /// The identity of an answer of `GET /api/me`.
    pub fn of(me: Me) -> Identity {
        match me {
            Me::Anonymous => Identity::Anonymous,
            Me::Token { sub, admin, exp } => Identity::SignedIn { sub, admin, exp },
        }
    }

    /// A token is needed because the server refused one with `text` (a 401's `error`,
    /// a close reason): the sentence the user reads.
    pub fn needed(text: &str) -> Identity {
        let reason = match TokenRefusal::of_error(text) {
            Some(TokenRefusal::Required) => {
                "This server needs a token — paste one to sign in.".to_owned()
            }
            Some(TokenRefusal::Invalid) => {
                format!("The server refused this token ({text}) — paste a valid one.")
            }
            Some(TokenRefusal::Expired) => "Your token expired — paste a new one.".to_owned(),
            None => format!("The server asks for a token ({text}) — paste one to sign in."),
        };
        Identity::Needed { reason }
    }
}

/// The page's sign-in state, provided as context by the app. `Copy`.
#[derive(Clone, Copy)]
pub struct Auth {
    identity: RwSignal<Identity>,
    /// What requests carry: the stored token, replaced only by an accepted sign-in.
    token: RwSignal<Option<String>>,
    /// Sign-ins from the panel so far: the pages rebuild on each.
    sign_ins: RwSignal<u64>,
}

impl Auth {
    /// Creates the page's sign-in state with the stored token, provides it as context
    /// and, once the page has hydrated, asks the server who that token is.
    pub fn provide() -> Auth {
        let auth = Auth {
            identity: RwSignal::new(Identity::Unknown),
            token: RwSignal::new(store::load()),
            sign_ins: RwSignal::new(0),
        };
        provide_context(auth);
        // An effect never runs on the server: the page hydrates with `Unknown`, and only
        // then is the server asked (crate::hydration).
        Effect::new(move |_| {
            if !crate::hydration::done() {
                return;
            }
            api::spawn(async move {
                let token = auth.token.get_untracked();
                // Unreachable server: the stream says so; the identity stays unknown.
                if let Ok(identity) = who(token.as_deref()).await {
                    auth.identity.set(identity);
                }
            });
        });
        auth
    }

    /// Who the server takes this browser for (tracked).
    pub fn identity(&self) -> ReadSignal<Identity> {
        self.identity.read_only()
    }

    /// The token requests carry now (tracked: the stream follows it).
    pub fn token(&self) -> Option<String> {
        self.token.get()
    }

    /// The token requests carry now, without tracking.
    pub fn token_untracked(&self) -> Option<String> {
        self.token.get_untracked()
    }

    /// Subscribes the caller to sign-ins from the panel (the pages rebuild on each, to
    /// reload what a missing token kept from them).
    pub fn track_sign_ins(&self) {
        self.sign_ins.track();
    }

    /// The server refused the token with `text` (a 401's `error`, a close reason):
    /// the sign-in panel asks for one.
    pub fn refused(&self, text: &str) {
        self.identity.set(Identity::needed(text));
    }

    /// Signs in with a pasted token: asks `GET /api/me` with it. Accepted: the token is
    /// stored, the identity turns `SignedIn`, requests carry the token, the pages rebuild
    /// and the stream restarts. Refused: nothing is kept and the identity stays
    /// `Needed`, with the server's reason. `done` runs when the answer is in.
    pub fn sign_in(&self, pasted: &str, done: impl FnOnce() + 'static) {
        let pasted = pasted.trim();
        let token = pasted
            .strip_prefix("Bearer ")
            .unwrap_or(pasted)
            .trim()
            .to_owned();
        if token.is_empty() {
            self.identity.set(Identity::Needed {
                reason: "Paste a token first.".to_owned(),
            });
            return done();
        }
        let auth = *self;
        api::spawn(async move {
            let identity = who(Some(&token))
                .await
                .unwrap_or_else(|e| Identity::Needed {
                    reason: format!("Could not check the token: {e}"),
                });
            let accepted = matches!(identity, Identity::SignedIn { .. } | Identity::Anonymous);
            auth.identity.set(identity);
            if accepted {
                store::save(&token);
                auth.token.set(Some(token));
                auth.sign_ins.update(|n| *n += 1);
            }
            done();
        });
    }

    /// Forgets the token: requests go without one and the stream stops until the user
    /// signs in again.
    pub fn sign_out(&self) {
        store::clear();
        self.token.set(None);
        self.identity.set(Identity::Needed {
            reason: "You signed out — paste a token to sign in again.".to_owned(),
        });
    }
}

/// Asks `GET /api/me` who the server takes `token` (or no token) for; an error if the
/// server could not be asked or its answer not read.
async fn who(token: Option<&str>) -> Result<Identity, String> {
    let answer = api::send(api::Method::Get, "/api/me", None, token).await?;
    if answer.status == 401 {
        return Ok(Identity::needed(&answer.error()));
    }
    answer.read(decode::me).map(Identity::of)
}

/// In the browser: the token in localStorage.
#[cfg(feature = "hydrate")]
mod store {
    /// The localStorage key of the token.
    const KEY: &str = "tickwire.token";

    fn storage() -> Option<web_sys::Storage> {
        leptos::prelude::window().local_storage().ok().flatten()
    }

    /// The stored token, if any.
    pub fn load() -> Option<String> {
        let token = storage()?.get_item(KEY).ok().flatten()?;
        (!token.is_empty()).then_some(token)
    }

    /// Stores `token` (a browser that refuses storage keeps it for this page only).
    pub fn save(token: &str) {
        if let Some(s) = storage() {
            let _ = s.set_item(KEY, token);
        }
    }

    /// Forgets the stored token.
    pub fn clear() {
        if let Some(s) = storage() {
            let _ = s.remove_item(KEY);
        }
    }
}

/// On the server: no storage; the page renders without a token.
#[cfg(not(feature = "hydrate"))]
mod store {
    /// No token while rendering.
    pub fn load() -> Option<String> {
        None
    }

    /// Nothing to store into.
    pub fn save(_token: &str) {}

    /// Nothing to forget.
    pub fn clear() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answers_of_api_me_are_identities() {
        assert_eq!(Identity::of(Me::Anonymous), Identity::Anonymous);
        let me = Me::Token {
            sub: "alice".into(),
            admin: true,
            exp: 7,
        };
        assert_eq!(
            Identity::of(me),
            Identity::SignedIn {
                sub: "alice".into(),
                admin: true,
                exp: 7
            }
        );
    }

    fn reason(identity: Identity) -> String {
        match identity {
            Identity::Needed { reason } => reason,
            other => panic!("not needed: {other:?}"),
        }
    }

    #[test]
    fn every_refusal_tells_the_user_what_to_do() {
        assert_eq!(
            reason(Identity::needed("token expired")),
            "Your token expired — paste a new one."
        );
        assert!(reason(Identity::needed("token required")).contains("needs a token"));
        assert!(reason(Identity::needed("invalid token")).contains("invalid token"));
        assert_eq!(
            reason(Identity::needed("the token has expired: get a new one")),
            "Your token expired — paste a new one."
        );
        assert!(reason(Identity::needed("invalid token: InvalidSignature"))
            .contains("(invalid token: InvalidSignature)"));
        // An unknown text is shown as the server wrote it.
        assert!(reason(Identity::needed("bearer missing")).contains("(bearer missing)"));
    }
}
