//! The notification centre in the header of every page (docs/DASHBOARD.md,
//! "Notifications"): it follows the user's own channel `user:{SUB}` (`user:anonymous` on
//! an anonymous server), shows how many notices are unread, lists them newest first
//! with a link to what each is about, marks them read for every tab and device
//! (`POST /api/notices/read`), and offers the browser's own notifications for the
//! notices that come while the page is hidden.

use leptos::prelude::*;
use protocol::{Notice, ReadNotices, SeqNotice, Topic, TopicKind, UserSnapshot};

use super::sync_view::SyncAny;
use crate::alerts;
use crate::api;
use crate::auth::{Auth, Identity};
use crate::stream::{use_topic_state, Display};

/// The signed-in user's channel, once the page knows who that is.
fn channel(identity: &Identity) -> Option<Topic> {
    let user = match identity {
        Identity::Anonymous => "anonymous",
        Identity::SignedIn { sub, .. } => sub.as_str(),
        Identity::Unknown | Identity::Needed { .. } => return None,
    };
    Topic::new(TopicKind::User, user).ok()
}

/// Where a notice's `ref` opens: a session's page, or the page of its kind.
fn link(reference: &str) -> Option<String> {
    let topic: Topic = reference.parse().ok()?;
    Some(match topic.kind() {
        TopicKind::Session => format!("/sessions/{}", topic.name()),
        TopicKind::Backtest => "/backtests".to_owned(),
        TopicKind::Sweep => "/sweeps".to_owned(),
        TopicKind::Market => format!("/?symbol={}", topic.name()),
        TopicKind::Trading | TopicKind::User => return None,
    })
}

#[component]
pub fn NotificationCentre() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let identity = auth.identity();
    let topic = Signal::derive(move || identity.with(channel));
    let state = use_topic_state::<UserSnapshot>(topic, Display::Glance);
    let open = RwSignal::new(false);
    let unread = move || state.with(UserSnapshot::unread);
    let failed = RwSignal::new(None::<String>);
    let mark_read = move |_| {
        let Some(up_to_seq) = state.with_untracked(|s| s.notices.last().map(|n| n.seq)) else {
            return;
        };
        api::spawn(async move {
            let read =
                api::post::<serde_json::Value>("/api/notices/read", &ReadNotices { up_to_seq })
                    .await;
            failed.set(read.err());
        });
    };
    view! {
        <div class="notifications" data-testid="notifications">
            <button
                type="button"
                class="bell"
                data-testid="notifications-toggle"
                aria-expanded=move || open.get().to_string()
                title=move || format!("Notifications: {} unread", unread())
                on:click=move |_| open.update(|o| *o = !*o)
            >
                "Notifications"
                <span
                    class="unread-count"
                    data-testid="unread-count"
                    class:none=move || unread() == 0
                >
                    {unread}
                </span>
            </button>
            <Show when=move || open.get()>
                <section class="notification-panel panel" data-testid="notification-panel">
                    <header>
                        <h2>"Notifications"</h2>
                        <button
                            type="button"
                            data-testid="mark-read"
                            disabled=move || unread() == 0
                            on:click=mark_read
                        >
                            "Mark all read"
                        </button>
                        <DesktopAlerts />
                    </header>
                    {move || {
                        failed
                            .get()
                            .map(|e| {
                                view! {
                                    <p class="error" role="alert">
                                        {e}
                                    </p>
                                }
                            })
                    }}
                    <NoticeList state=state />
                </section>
            </Show>
        </div>
    }
}

/// The kept notices, newest first; the unread ones marked.
#[component]
fn NoticeList(state: Signal<UserSnapshot>) -> impl IntoView {
    let rows = move || {
        state.with(|s| {
            s.notices
                .iter()
                .rev()
                .map(|n| (n.clone(), n.seq > s.read_up_to))
                .collect::<Vec<(SeqNotice, bool)>>()
        })
    };
    view! {
        <Show
            when=move || state.with(|s| !s.notices.is_empty())
            fallback=|| {
                view! {
                    <p class="muted">
                        "Nothing yet. Your runs' ends, your sessions' fills and stops, and your feeds' outages show here."
                    </p>
                }
            }
        >
            <ul class="notice-list">
                <For each=rows key=|(n, unread)| (n.seq, *unread) let:row>
                    <NoticeRow notice=row.0.notice unread=row.1 />
                </For>
            </ul>
        </Show>
    }
}

#[component]
fn NoticeRow(notice: Notice, unread: bool) -> impl IntoView {
    let href = notice.reference.as_deref().and_then(link);
    view! {
        <li class="notice" class:unread=unread data-testid="notice" data-event=notice.event.name()>
            <strong class="notice-title">{notice.title}</strong>
            <p class="notice-body">{notice.body}</p>
            {href.map(|href| view! { <a href=href>"Open"</a> })}
        </li>
    }
}

/// A switch for the browser's own notifications while the page is hidden: shown until
/// the user has answered, then what they answered.
#[component]
fn DesktopAlerts() -> impl IntoView {
    let allowed = RwSignal::new(alerts::permission());
    let ask = move |_| alerts::ask(move |answer| allowed.set(answer));
    move || match allowed.get() {
        "default" => Some(
            view! {
                <button type="button" data-testid="desktop-alerts" on:click=ask>
                    "Alert me when the page is hidden"
                </button>
            }
            .into_sync_any(),
        ),
        "granted" => Some(
            view! { <span class="muted">"Alerts on while the page is hidden"</span> }
                .into_sync_any(),
        ),
        _ => None,
    }
}
