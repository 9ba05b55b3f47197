//! Topic patterns of a token's `topics` and `publish` claims: a topic name, or a prefix
//! ending in `*` that matches any suffix (`market:*`, `backtest:nightly-*`, `*`).

use protocol::Topic;

/// A list of patterns; a topic is allowed when any of them matches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicPatterns(Vec<String>);

impl TopicPatterns {
    pub fn new(patterns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        TopicPatterns(patterns.into_iter().map(Into::into).collect())
    }

    /// Whether any pattern matches `topic`.
    pub fn allow(&self, topic: &Topic) -> bool {
        let name = topic.to_string();
        self.0.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => *p == name,
        })
    }

    /// The patterns, for error messages.
    pub fn describe(&self) -> String {
        if self.0.is_empty() {
            "none".to_owned()
        } else {
            self.0.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(s: &str) -> Topic {
        s.parse().unwrap()
    }

    #[test]
    fn a_star_matches_any_suffix_and_a_name_only_itself() {
        let p = TopicPatterns::new(["market:*", "backtest:nightly-*", "session:s1"]);
        assert!(p.allow(&topic("market:BTC-USD")));
        assert!(p.allow(&topic("backtest:nightly-7")));
        assert!(p.allow(&topic("session:s1")));
        assert!(!p.allow(&topic("session:s10")), "a name is not a prefix");
        assert!(!p.allow(&topic("backtest:adhoc")));
        assert!(!p.allow(&topic("trading:BTC-USD")));
        assert!(TopicPatterns::new(["*"]).allow(&topic("trading:X")));
        assert!(!TopicPatterns::default().allow(&topic("market:X")));
    }
}
