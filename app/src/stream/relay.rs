//! One socket for all tabs: the leading tab's bookkeeping, sans IO. Every tab of an
//! origin runs its own [`Machine`](protocol::client::Machine) (its own cursors, gaps and
//! resumes); only the leader holds the WebSocket, and the others' machines talk to it
//! through the leader (`leader.rs` in the browser). The socket is shared, so:
//!
//! - every frame the socket brings goes to every tab; a tab keeps what concerns its
//!   topics, and its cursor drops what it already has (another tab's resume replays
//!   messages it saw);
//! - the server's `connected` greeting goes to each tab once, when its link opens
//!   (at once if the socket is greeted, else as soon as it is);
//! - a tab's `unsubscribe` reaches the server only when no other tab follows the
//!   topic, and a tab that leaves gives up its topics the same way.

use std::collections::{BTreeMap, BTreeSet};

use protocol::{ClientAction, Topic};

/// A tab, named at random when its page starts.
pub type TabId = u64;

/// The leader's view of the shared socket and of who follows what on it.
#[derive(Debug, Default)]
pub struct Relay {
    /// The socket's `connected` frame, once it came.
    greeting: Option<String>,
    /// Tabs whose link is open, waiting for the greeting.
    waiting: BTreeSet<TabId>,
    /// Tabs with an open link (the leader itself is not one).
    linked: BTreeSet<TabId>,
    /// Which tabs follow each topic on the socket.
    interest: BTreeMap<Topic, BTreeSet<TabId>>,
}

impl Relay {
    /// `tab` opened its link: the greeting to send it now, if the socket has one.
    pub fn hello(&mut self, tab: TabId) -> Option<String> {
        self.linked.insert(tab);
        match &self.greeting {
            Some(greeting) => Some(greeting.clone()),
            None => {
                self.waiting.insert(tab);
                None
            }
        }
    }

    /// The socket was greeted with `greeting`: the tabs waiting for it.
    pub fn greeted(&mut self, greeting: String) -> Vec<TabId> {
        self.greeting = Some(greeting);
        std::mem::take(&mut self.waiting).into_iter().collect()
    }

    /// What `tab` asks of the socket: what to send on it, in order (nothing, the
    /// action, or for a tab that wants the state of a topic the socket already follows,
    /// `unsubscribe` then the subscribe: the server answers a repeated subscribe
    /// without `since` with `subscribed` alone, and every tab takes the new snapshot).
    pub fn action(&mut self, tab: TabId, action: ClientAction) -> Vec<ClientAction> {
        match &action {
            ClientAction::Subscribe { topic, since, .. } => {
                let tabs = self.interest.entry(topic.clone()).or_default();
                let followed = !tabs.is_empty();
                tabs.insert(tab);
                if followed && since.is_none() {
                    let topic = topic.clone();
                    return vec![ClientAction::Unsubscribe { topic }, action];
                }
            }
            ClientAction::Unsubscribe { topic } if !self.drop_interest(tab, topic) => {
                return Vec::new();
            }
            _ => {}
        }
        vec![action]
    }

    /// `tab` closed its link or went away: the unsubscribes of the topics nobody
    /// follows any more.
    pub fn bye(&mut self, tab: TabId) -> Vec<ClientAction> {
        self.linked.remove(&tab);
        self.waiting.remove(&tab);
        let topics: Vec<Topic> = self
            .interest
            .iter()
            .filter(|(_, tabs)| tabs.contains(&tab))
            .map(|(topic, _)| topic.clone())
            .collect();
        topics
            .into_iter()
            .filter(|topic| self.drop_interest(tab, topic))
            .map(|topic| ClientAction::Unsubscribe { topic })
            .collect()
    }

    /// The socket closed: a new one starts with no greeting and no subscriptions
    /// (every tab resubscribes when it is greeted again).
    pub fn socket_closed(&mut self) {
        self.greeting = None;
        self.interest.clear();
    }

    /// How many other tabs share the socket.
    pub fn followers(&self) -> usize {
        self.linked.len()
    }

    /// Removes `tab`'s interest in `topic`; true if nobody follows it any more.
    fn drop_interest(&mut self, tab: TabId, topic: &Topic) -> bool {
        let Some(tabs) = self.interest.get_mut(topic) else {
            return false;
        };
        tabs.remove(&tab);
        if tabs.is_empty() {
            self.interest.remove(topic);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::fixtures::topic;

    const LEADER: TabId = 1;
    const A: TabId = 2;
    const B: TabId = 3;
    const C: TabId = 4;

    fn subscribe() -> ClientAction {
        ClientAction::Subscribe {
            topic: topic(),
            since: None,
            max_rate: None,
        }
    }

    fn unsubscribe() -> ClientAction {
        ClientAction::Unsubscribe { topic: topic() }
    }

    #[test]
    fn each_tab_is_greeted_once_its_link_opens_and_the_socket_is_greeted() {
        let mut relay = Relay::default();
        assert_eq!(relay.hello(A), None);
        assert_eq!(relay.hello(B), None);
        assert_eq!(relay.greeted("hi".into()), [A, B]);
        assert_eq!(relay.hello(C), Some("hi".into()));
        relay.socket_closed();
        assert_eq!(relay.hello(A), None, "a new socket greets anew");
        assert_eq!(relay.followers(), 3);
    }

    #[test]
    fn a_topic_is_unsubscribed_only_when_no_tab_follows_it() {
        let mut relay = Relay::default();
        assert_eq!(relay.action(LEADER, subscribe()), [subscribe()]);
        // A joins a topic the socket follows: the server sends its state again only
        // to a subscribe that is not a repeat.
        assert_eq!(relay.action(A, subscribe()), [unsubscribe(), subscribe()]);
        assert!(
            relay.action(LEADER, unsubscribe()).is_empty(),
            "A still follows"
        );
        assert_eq!(relay.action(A, unsubscribe()), [unsubscribe()]);
        // Unsubscribing what nobody follows sends nothing.
        assert!(relay.action(B, unsubscribe()).is_empty());
        let ping = ClientAction::Ping { id: 1, t: 2.0 };
        assert_eq!(relay.action(B, ping.clone()), [ping]);
    }

    #[test]
    fn a_tab_resuming_a_followed_topic_resumes_without_an_unsubscribe() {
        let mut relay = Relay::default();
        relay.action(LEADER, subscribe());
        let resume = ClientAction::Subscribe {
            topic: topic(),
            since: Some(protocol::Since::FROM_OLDEST),
            max_rate: None,
        };
        assert_eq!(relay.action(A, resume.clone()), [resume]);
    }

    #[test]
    fn a_tab_that_leaves_gives_up_the_topics_only_it_followed() {
        let mut relay = Relay::default();
        relay.hello(A);
        relay.action(A, subscribe());
        relay.action(B, subscribe());
        assert!(relay.bye(A).is_empty(), "B still follows");
        assert_eq!(relay.bye(B), [unsubscribe()]);
        assert_eq!(relay.followers(), 0);
    }
}
