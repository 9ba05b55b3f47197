//! The engine's side of one socket for all tabs: the leader relays its socket to the
//! other tabs ([`Relay`](super::Relay) keeps the books), a follower's machine reaches
//! the server through the leader, and a tab that takes over the lead makes its machine
//! reconnect on a socket of its own. Every tab keeps its own machine, so its cursors,
//! gap checks and resumes are its own: no gap, no duplicate, whoever leads.

use std::time::Duration;

use leptos::prelude::*;

use super::{frame_input, run, Armed, Engine, Link, Listening};
use crate::stream::leader::{TabMessage, Tabs};
use crate::stream::status::TabRole;
use protocol::client::machine::Input;
use protocol::{decode, ClientAction, Connected, Control, ServerFrame};

/// How long a follower waits for the leader to greet its link before the attempt
/// counts as failed (the machine then retries, and falls back to polling like any
/// failing socket).
const LEADER_ANSWER: Duration = Duration::from_secs(5);

impl Engine {
    /// Joins the origin's tabs; false when this browser cannot share a socket (the tab
    /// is then alone).
    pub(super) fn join_tabs(&mut self) -> bool {
        let (on_message, on_role) = (self.weak.clone(), self.weak.clone());
        self.tabs = Tabs::join(
            move |message| {
                if let Some(shared) = on_message.upgrade() {
                    let input = shared.borrow_mut().tab_message(message);
                    if let Some(input) = input {
                        run(&shared, input);
                    }
                }
            },
            move |role| {
                if let Some(shared) = on_role.upgrade() {
                    let input = shared.borrow_mut().set_role(role);
                    if let Some(input) = input {
                        run(&shared, input);
                    }
                }
            },
        );
        if self.tabs.is_none() {
            return false;
        }
        // A follower that goes gives its topics up; a leader that goes says nothing:
        // the next tab takes the lock and announces itself, and every link moves at
        // once (a "closed" from the leader first would make them wait for a retry).
        let weak = self.weak.clone();
        self.page_hide = Some(Listening::new(window().into(), "pagehide", move || {
            if let Some(shared) = weak.upgrade() {
                let mut engine = shared.borrow_mut();
                if engine.relayed().is_some() {
                    engine.close_link();
                }
            }
        }));
        true
    }

    fn post(&self, message: &TabMessage) {
        if let Some(tabs) = &self.tabs {
            tabs.post(message);
        }
    }

    fn tab_id(&self) -> u64 {
        self.tabs.as_ref().map_or(0, |t| t.id)
    }

    /// This tab's role is known, or it takes over the lead: begin, or move the
    /// machine from the leader's link to a socket of its own.
    fn set_role(&mut self, role: TabRole) -> Option<Input> {
        self.role = role;
        self.status.tab_role.set(role);
        if !self.begun {
            self.start();
            return None;
        }
        if role != TabRole::Leader {
            return None;
        }
        self.relay = Default::default();
        self.status.tab_followers.set(0);
        self.post(&TabMessage::Leader { tab: self.tab_id() });
        let Link::Relayed { generation, .. } = self.link else {
            return None;
        };
        Some(Input::Moved {
            generation,
            reason: "this tab leads the stream now".to_owned(),
        })
    }

    /// What another tab said, as the leader or as a follower.
    fn tab_message(&mut self, message: TabMessage) -> Option<Input> {
        match (self.role, message) {
            (TabRole::Leader, TabMessage::Hello { from }) => {
                if let Some(greeting) = self.relay.hello(from) {
                    self.post(&TabMessage::Frame {
                        to: Some(from),
                        text: greeting,
                    });
                }
                self.status.tab_followers.set(self.relay.followers());
                None
            }
            (TabRole::Leader, TabMessage::Send { from, text }) => {
                let action = decode::client_action(&text).ok()?;
                for action in self.relay.action(from, action) {
                    self.send_on_socket(&action);
                }
                None
            }
            (TabRole::Leader, TabMessage::Bye { from }) => {
                for action in self.relay.bye(from) {
                    self.send_on_socket(&action);
                }
                self.status.tab_followers.set(self.relay.followers());
                None
            }
            (TabRole::Follower, TabMessage::Frame { to, text }) => {
                let id = self.tab_id();
                let Link::Relayed {
                    generation,
                    greeted,
                    ..
                } = &mut self.link
                else {
                    return None;
                };
                match to {
                    Some(tab) if tab != id => return None,
                    // The greeting, for this tab's link.
                    Some(_) => *greeted = true,
                    // Frames before this link's greeting belong to the leader's past.
                    None if !*greeted => return None,
                    None => {}
                }
                frame_input(*generation, &text, &self.readers)
            }
            (TabRole::Follower, TabMessage::Closed { code, reason }) => {
                let generation = self.relayed()?;
                Some(Input::Closed {
                    generation,
                    code,
                    reason,
                })
            }
            (TabRole::Follower, TabMessage::Leader { .. }) => {
                let generation = self.relayed()?;
                Some(Input::Moved {
                    generation,
                    reason: "another tab leads the stream now".to_owned(),
                })
            }
            _ => None,
        }
    }

    /// The generation of the link through the leader, if that is how this tab streams.
    fn relayed(&self) -> Option<u64> {
        match self.link {
            Link::Relayed { generation, .. } => Some(generation),
            _ => None,
        }
    }

    /// Opens the link of `generation` through the leader; a leader that does not
    /// answer in [`LEADER_ANSWER`] fails the attempt.
    pub(super) fn open_relayed(&mut self, generation: u64) {
        let weak = self.weak.clone();
        let give_up = set_timeout_with_handle(
            move || {
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                let unanswered = matches!(
                    shared.borrow().link,
                    Link::Relayed { generation: g, greeted: false, .. } if g == generation
                );
                if unanswered {
                    let reason = "no answer from the leading tab".to_owned();
                    run(
                        &shared,
                        Input::Closed {
                            generation,
                            code: 1006,
                            reason,
                        },
                    );
                }
            },
            LEADER_ANSWER,
        );
        self.link = Link::Relayed {
            generation,
            greeted: false,
            _give_up: give_up.ok().map(Armed::Once),
        };
        self.status
            .endpoint
            .set("/api/ws (through the leading tab)".to_owned());
        self.post(&TabMessage::Hello {
            from: self.tab_id(),
        });
    }

    /// Closes the link: a socket of its own (the followers hear it closed), or the
    /// link through the leader (which gives up this tab's topics).
    pub(super) fn close_link(&mut self) {
        match std::mem::replace(&mut self.link, Link::None) {
            Link::Socket(_) => self.share_close(1000, "the leading tab closed its socket"),
            Link::Relayed { .. } => self.post(&TabMessage::Bye {
                from: self.tab_id(),
            }),
            Link::None => {}
        }
    }

    /// Sends the machine's `action`: on the socket (through the leader's books when
    /// it leads), or to the leader.
    pub(super) fn send(&mut self, action: ClientAction) {
        match &self.link {
            Link::Socket(_) if self.role == TabRole::Leader => {
                let id = self.tab_id();
                for action in self.relay.action(id, action) {
                    self.send_on_socket(&action);
                }
            }
            Link::Socket(_) => self.send_on_socket(&action),
            Link::Relayed { .. } => {
                if let Ok(text) = serde_json::to_string(&action) {
                    self.post(&TabMessage::Send {
                        from: self.tab_id(),
                        text,
                    });
                }
            }
            Link::None => {}
        }
    }

    fn send_on_socket(&self, action: &ClientAction) {
        if let (Link::Socket(socket), Ok(text)) = (&self.link, serde_json::to_string(action)) {
            let _ = socket.ws.send_with_str(&text);
        }
    }

    /// The leader hands each frame of its socket to the other tabs: the greeting to
    /// the tabs waiting for it, everything else to all.
    pub(super) fn share_frame(&mut self, text: String, input: Option<&Input>) {
        if self.role != TabRole::Leader {
            return;
        }
        let greeting = matches!(
            input,
            Some(Input::Frame {
                frame: ServerFrame::Control(Control::Connected(Connected { .. })),
                ..
            })
        );
        if !greeting {
            return self.post(&TabMessage::Frame { to: None, text });
        }
        for tab in self.relay.greeted(text.clone()) {
            self.post(&TabMessage::Frame {
                to: Some(tab),
                text: text.clone(),
            });
        }
    }

    /// The leader's socket closed: so do the other tabs' links.
    pub(super) fn share_close(&mut self, code: u16, reason: &str) {
        if self.role != TabRole::Leader {
            return;
        }
        self.relay.socket_closed();
        self.post(&TabMessage::Closed {
            code,
            reason: reason.to_owned(),
        });
    }
}
