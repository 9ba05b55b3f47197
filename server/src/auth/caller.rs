//! The caller of one request or socket, and what it may do.

use std::sync::Arc;

use protocol::Topic;

use super::Claims;

/// Who is calling.
#[derive(Clone, Debug)]
pub enum Caller {
    /// Anonymous mode (no JWT key): trusted with everything.
    Anonymous,
    /// The holder of a verified token.
    Token(Arc<Claims>),
}

impl Caller {
    /// The `sub` that owns what this caller starts (none when anonymous).
    pub fn owner(&self) -> Option<Arc<str>> {
        match self {
            Caller::Anonymous => None,
            Caller::Token(claims) => Some(Arc::from(claims.sub.as_str())),
        }
    }

    /// Who, for messages and `GET /api/me`.
    pub fn sub(&self) -> Option<&str> {
        match self {
            Caller::Anonymous => None,
            Caller::Token(claims) => Some(&claims.sub),
        }
    }

    /// Whose an outside producer's run topics become when this caller publishes on them
    /// first: the token's `sub`; none for an admin (who publishes anywhere) and in
    /// anonymous mode (where every caller is trusted).
    pub fn producer(&self) -> Option<&str> {
        match self {
            Caller::Token(claims) if !claims.admin => Some(&claims.sub),
            _ => None,
        }
    }

    /// Whether this caller may see and control a run started by `owner`: its owner,
    /// an admin, or anyone in anonymous mode.
    pub fn may_reach(&self, owner: Option<&str>) -> bool {
        match self {
            Caller::Anonymous => true,
            Caller::Token(claims) => claims.admin || owner == Some(claims.sub.as_str()),
        }
    }

    /// Whether the token's `topics` allow following `topic` (a topic that is not a run).
    pub fn may_follow(&self, topic: &Topic) -> bool {
        match self {
            Caller::Anonymous => true,
            Caller::Token(claims) => claims.admin || claims.topics().allow(topic),
        }
    }

    /// Whether the token's `publish` allows publishing to `topic`.
    pub fn may_publish(&self, topic: &Topic) -> bool {
        match self {
            Caller::Anonymous => true,
            Caller::Token(claims) => claims.publish().allow(topic),
        }
    }

    /// The patterns behind [`Caller::may_follow`], for a refusal's message.
    pub fn topics_text(&self) -> String {
        match self {
            Caller::Anonymous => "*".to_owned(),
            Caller::Token(claims) => claims.topics().describe(),
        }
    }

    /// The patterns behind [`Caller::may_publish`], for a refusal's message.
    pub fn publish_text(&self) -> String {
        match self {
            Caller::Anonymous => "*".to_owned(),
            Caller::Token(claims) => claims.publish().describe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(sub: &str, admin: bool) -> Caller {
        Caller::Token(Arc::new(Claims {
            sub: sub.into(),
            exp: 0,
            topics: Some(vec!["market:*".into(), "backtest:*".into()]),
            publish: vec!["market:X".into()],
            admin,
        }))
    }

    #[test]
    fn runs_are_their_owners_and_admins_only() {
        assert!(token("alice", false).may_reach(Some("alice")));
        assert!(!token("bob", false).may_reach(Some("alice")));
        assert!(
            !token("bob", false).may_reach(None),
            "an anonymous run is no one's"
        );
        assert!(token("root", true).may_reach(Some("alice")));
        assert!(Caller::Anonymous.may_reach(Some("alice")));
    }

    #[test]
    fn other_topics_follow_the_claims() {
        let bob = token("bob", false);
        assert!(bob.may_follow(&"market:GOOG".parse().unwrap()));
        assert!(!bob.may_follow(&"trading:GOOG".parse().unwrap()));
        assert!(bob.may_publish(&"market:X".parse().unwrap()));
        assert!(!bob.may_publish(&"market:Y".parse().unwrap()));
        assert!(token("root", true).may_follow(&"trading:GOOG".parse().unwrap()));
    }
}
