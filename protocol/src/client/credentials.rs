//! The token a client streams with, and what a new one means for a running stream. A
//! token goes as the first frame of every greeted socket; a refused token stops the
//! stream (no socket, no polls, no retries) until the user enters one.

use crate::BearerToken;

/// The stream's token, and whether the stream is stopped for want of one.
#[derive(Debug, Default)]
pub(super) struct Credentials {
    token: Option<BearerToken>,
    /// The token was refused, or the user signed out.
    signed_out: bool,
}

/// What a new token (or none) means for the stream.
#[derive(Debug, PartialEq)]
pub(super) enum TokenChange {
    /// No token any more: stop the stream.
    SignOut,
    /// A token for a stream that was stopped for want of one, or that began without
    /// one: start it again (a socket's first frame must be the token).
    Restart,
    /// A token replacing another on a live socket: authenticate it in place (its
    /// subscriptions carry on).
    Reauthenticate(BearerToken),
    /// Nothing to do now (the stream has not begun, or its socket is not up: the next
    /// greeting sends the token).
    Keep,
}

impl Credentials {
    pub fn new(token: Option<BearerToken>) -> Self {
        Credentials {
            token,
            signed_out: false,
        }
    }

    /// The token to send first on a greeted socket.
    pub fn token(&self) -> Option<&BearerToken> {
        self.token.as_ref()
    }

    /// Whether the stream is stopped until a token is entered.
    pub fn signed_out(&self) -> bool {
        self.signed_out
    }

    /// The token was refused (or the user signed out): the stream stops.
    pub fn refused(&mut self) {
        self.signed_out = true;
    }

    /// The user gave `token` (none: signed out) while the stream had `started` and its
    /// socket was `greeted` or not.
    pub fn replace(
        &mut self,
        token: Option<BearerToken>,
        started: bool,
        greeted: bool,
    ) -> TokenChange {
        let had_token = self.token.is_some();
        self.token = token;
        let Some(token) = &self.token else {
            return if started {
                TokenChange::SignOut
            } else {
                TokenChange::Keep
            };
        };
        if !started {
            TokenChange::Keep
        } else if self.signed_out || !had_token {
            self.signed_out = false;
            TokenChange::Restart
        } else if greeted {
            TokenChange::Reauthenticate(token.clone())
        } else {
            TokenChange::Keep
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> Option<BearerToken> {
        Some(BearerToken(text.into()))
    }

    #[test]
    fn a_new_token_on_a_live_socket_authenticates_it_in_place() {
        let mut credentials = Credentials::new(token("a"));
        assert_eq!(
            credentials.replace(token("b"), true, true),
            TokenChange::Reauthenticate(BearerToken("b".into()))
        );
        assert_eq!(credentials.token(), token("b").as_ref());
        assert_eq!(
            credentials.replace(token("c"), true, false),
            TokenChange::Keep,
            "no socket up: the next greeting sends it"
        );
    }

    #[test]
    fn a_token_restarts_a_stream_that_was_refused_or_began_without_one() {
        let mut credentials = Credentials::new(token("a"));
        credentials.refused();
        assert!(credentials.signed_out());
        assert_eq!(
            credentials.replace(token("b"), true, false),
            TokenChange::Restart
        );
        assert!(!credentials.signed_out());
        let mut anonymous = Credentials::new(None);
        assert_eq!(
            anonymous.replace(token("a"), true, true),
            TokenChange::Restart
        );
    }

    #[test]
    fn signing_out_stops_a_started_stream_and_nothing_happens_before_it_starts() {
        let mut credentials = Credentials::new(token("a"));
        assert_eq!(credentials.replace(None, true, true), TokenChange::SignOut);
        assert_eq!(credentials.token(), None);
        let mut early = Credentials::new(None);
        assert_eq!(early.replace(token("a"), false, false), TokenChange::Keep);
        assert_eq!(early.replace(None, false, false), TokenChange::Keep);
    }
}
