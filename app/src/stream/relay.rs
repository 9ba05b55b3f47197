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
//!   topic, and a tab that leaves gives up its topics the same way;
//! - the socket asks each topic's highest rate any tab wants (no rate: every message),
//!   so a hidden tab lowers it only when every tab that follows the topic is hidden.
//!   A subscribe without `since` from a tab that already follows the topic changes
//!   its rate (the machine sends nothing else so: it unsubscribes first to start
//!   over), and reaches the server only when the socket's rate changes.

use std::collections::{BTreeMap, BTreeSet};

use protocol::rate::MaxRate;
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
    /// Which tabs follow each topic on the socket, and the rate each asks.
    interest: BTreeMap<Topic, Interest>,
}

/// The tabs that follow one topic, with the rate each asks (`None`: every message).
type Interest = BTreeMap<TabId, Option<MaxRate>>;

/// The rate the socket asks for the tabs: the highest, and none if any wants all.
fn socket_rate(tabs: &Interest) -> Option<MaxRate> {
    let mut highest = None;
    for rate in tabs.values() {
        // A tab that wants every message: so does the socket.
        let rate = (*rate)?;
        highest = match highest {
            Some(h) if h >= rate => Some(h),
            _ => Some(rate),
        };
    }
    highest
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

    /// What `tab` asks of the socket: what to send on it, in order. Nothing; the
    /// action; a subscribe at the socket's rate for the topic; a rate change; or for a
    /// tab that wants the state of a topic the socket already follows, `unsubscribe`
    /// then the subscribe (the server answers a repeated subscribe without `since`
    /// with `subscribed` alone, and every tab takes the new snapshot).
    pub fn action(&mut self, tab: TabId, action: ClientAction) -> Vec<ClientAction> {
        match action {
            ClientAction::Subscribe {
                topic,
                since,
                max_rate,
            } => {
                let tabs = self.interest.entry(topic.clone()).or_default();
                let was = socket_rate(tabs);
                let followed = !tabs.is_empty();
                let following = tabs.insert(tab, max_rate).is_some();
                let max_rate = socket_rate(tabs);
                let subscribe = |since| ClientAction::Subscribe {
                    topic: topic.clone(),
                    since,
                    max_rate,
                };
                match since {
                    None if following && max_rate == was => Vec::new(),
                    None if following => vec![subscribe(None)],
                    None if followed => vec![
                        ClientAction::Unsubscribe {
                            topic: topic.clone(),
                        },
                        subscribe(None),
                    ],
                    since => vec![subscribe(since)],
                }
            }
            ClientAction::Unsubscribe { topic } => self.drop_interest(tab, topic),
            action => vec![action],
        }
    }

    /// `tab` closed its link or went away: the unsubscribes of the topics nobody
    /// follows any more.
    pub fn bye(&mut self, tab: TabId) -> Vec<ClientAction> {
        self.linked.remove(&tab);
        self.waiting.remove(&tab);
        let topics: Vec<Topic> = self
            .interest
            .iter()
            .filter(|(_, tabs)| tabs.contains_key(&tab))
            .map(|(topic, _)| topic.clone())
            .collect();
        topics
            .into_iter()
            .flat_map(|topic| self.drop_interest(tab, topic))
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

    /// Removes `tab`'s interest in `topic`: the unsubscribe if nobody follows it any
    /// more, the rate change if the socket's rate for it falls, else nothing.
    fn drop_interest(&mut self, tab: TabId, topic: Topic) -> Vec<ClientAction> {
        let Some(tabs) = self.interest.get_mut(&topic) else {
            return Vec::new();
        };
        let was = socket_rate(tabs);
        if tabs.remove(&tab).is_none() {
            return Vec::new();
        }
        if tabs.is_empty() {
            self.interest.remove(&topic);
            return vec![ClientAction::Unsubscribe { topic }];
        }
        let max_rate = socket_rate(tabs);
        if max_rate == was {
            return Vec::new();
        }
        vec![ClientAction::Subscribe {
            topic,
            since: None,
            max_rate,
        }]
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
        at(None)
    }

    /// A subscribe without `since` at `per_second` (none: every message).
    fn at(per_second: Option<f64>) -> ClientAction {
        ClientAction::Subscribe {
            topic: topic(),
            since: None,
            max_rate: per_second.and_then(|r| MaxRate::new(r).ok()),
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

    #[test]
    fn the_socket_asks_the_highest_rate_any_tab_wants_and_lowers_it_when_all_do() {
        let mut relay = Relay::default();
        assert_eq!(relay.action(LEADER, at(Some(10.0))), [at(Some(10.0))]);
        // A joins at a glance: the socket's rate stays, A gets the snapshot.
        assert_eq!(
            relay.action(A, at(Some(2.0))),
            [unsubscribe(), at(Some(10.0))]
        );
        // The leader is hidden: A's 2 a second is now the highest.
        assert_eq!(relay.action(LEADER, at(Some(1.0))), [at(Some(2.0))]);
        // A is hidden too: both ask 1.
        assert_eq!(relay.action(A, at(Some(1.0))), [at(Some(1.0))]);
        // A asks the same again: nothing changes on the server.
        assert!(relay.action(A, at(Some(1.0))).is_empty());
        // B wants every message: so does the socket, until B leaves.
        relay.hello(B);
        assert_eq!(relay.action(B, at(None)), [unsubscribe(), at(None)]);
        assert_eq!(relay.bye(B), [at(Some(1.0))]);
        // The leader is shown again; A leaves: the leader's rate.
        assert_eq!(relay.action(LEADER, at(Some(10.0))), [at(Some(10.0))]);
        assert!(relay.action(A, unsubscribe()).is_empty(), "10 still");
        assert_eq!(relay.action(LEADER, unsubscribe()), [unsubscribe()]);
    }
}
