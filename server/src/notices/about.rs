//! What each notice says: its event, one line of title, the figures behind it, and the
//! topic it is about. Pure: built from what the runs, sessions and feeds published.

use std::collections::BTreeMap;

use protocol::sweep::SweepEntry;
use protocol::{Decision, Notice, NoticeEvent, Order, OrderSide, RunStatus, SnapshotData, Topic};

/// A session's end reason when its account is blown (equity at or below zero).
pub const ACCOUNT_BLOWN: &str = "account blown: equity fell to zero or below";

/// The notice of a run that ended as `state` says, on `topic`; none for an end the user
/// caused or that is not over (a cancel, a session interrupted by a restart it resumes
/// from).
pub fn run_ended(topic: &Topic, state: &SnapshotData) -> Option<Notice> {
    let id = topic.name();
    let notice = |event, title: String, body: String| Notice {
        event,
        title,
        body,
        reference: Some(topic.to_string()),
    };
    // A run (backtest or sweep): its noun, where it stands, what ran, why it failed, and
    // the figures of its completion.
    let (noun, status, what, error, figures) = match state {
        SnapshotData::Backtest(s) => (
            "Backtest",
            s.status,
            s.started.as_ref().map(|b| (&b.symbol, &b.strategy)),
            &s.error,
            s.complete.as_ref().map(|c| {
                format!(
                    ": {:+.2} %, {} trades, final equity {:.2}",
                    c.metrics.return_pct, c.metrics.trades, c.final_equity
                )
            }),
        ),
        SnapshotData::Sweep(s) => (
            "Sweep",
            s.status,
            s.started.as_ref().map(|w| (&w.symbol, &w.strategy)),
            &s.error,
            Some(format!(": {} combinations{}", s.done, best(s.top.first()))),
        ),
        SnapshotData::Session(s) => {
            let completed = s.completed.as_ref()?;
            let what = what_ran(s.initialized.as_ref().map(|i| (&i.symbol, &i.strategy)));
            let body = format!(
                "{what}: {}; final equity {:.2}",
                completed.reason, completed.final_equity
            );
            return Some(match completed.reason == ACCOUNT_BLOWN {
                true => notice(
                    NoticeEvent::AccountBlown,
                    format!("Session {id}: account blown"),
                    body,
                ),
                false => notice(
                    NoticeEvent::SessionStopped,
                    format!("Session {id} stopped"),
                    body,
                ),
            });
        }
        SnapshotData::Market(_) | SnapshotData::Trading(_) | SnapshotData::User(_) => return None,
    };
    let what = what_ran(what);
    match status {
        RunStatus::Complete => Some(notice(
            NoticeEvent::RunFinished,
            format!("{noun} {id} completed"),
            format!("{what}{}", figures.unwrap_or_default()),
        )),
        RunStatus::Failed | RunStatus::Interrupted => Some(notice(
            NoticeEvent::RunFailed,
            format!("{noun} {id} {}", failed_word(status)),
            reason(&what, error.as_ref().map(|e| e.error.as_str())),
        )),
        _ => None,
    }
}

/// `SYMBOL STRATEGY` of what a run ran, if it started.
fn what_ran(started: Option<(&String, &String)>) -> String {
    started.map_or_else(String::new, |(symbol, strategy)| {
        format!("{symbol} {strategy}")
    })
}

/// `; best VALUE with PARAMS` of a sweep's best combination.
fn best(top: Option<&SweepEntry>) -> String {
    top.map_or_else(String::new, |best| {
        format!(
            "; best {} with {}",
            best.value.map_or("—".to_owned(), |v| format!("{v:.2}")),
            params(&best.params)
        )
    })
}

/// The notice of `order` filling in the session on `topic`.
pub fn fill(topic: &Topic, order: &Order) -> Notice {
    let side = match order.side {
        OrderSide::Buy => "Bought",
        OrderSide::Sell => "Sold",
    };
    Notice {
        event: NoticeEvent::Fill,
        title: format!("{side} {} {} at {}", order.qty, order.symbol, order.price),
        body: format!("Order {} of session {} filled", order.id, topic.name()),
        reference: Some(topic.to_string()),
    }
}

/// The notice of an outside agent that let the bar of `decision` pass (the session
/// held) in the session on `topic`.
pub fn missed_bar(topic: &Topic, decision: &Decision) -> Notice {
    Notice {
        event: NoticeEvent::AgentMissedBar,
        title: format!("Session {}: the agent let a bar pass", topic.name()),
        body: format!(
            "No decision came for the bar opened at {}: the session held.",
            decision.bar_time
        ),
        reference: Some(topic.to_string()),
    }
}

/// The notice of the venue feed of `symbol` (`topic`, read from `venue`) going down
/// (`up` false, with why) or coming back.
pub fn feed_changed(
    venue: &str,
    symbol: &str,
    topic: &str,
    up: bool,
    reason: Option<&str>,
) -> Notice {
    let (event, title) = match up {
        true => (NoticeEvent::FeedUp, format!("{venue} {symbol} is back")),
        false => (NoticeEvent::FeedDown, format!("{venue} {symbol} is down")),
    };
    let body = match (up, reason) {
        (true, _) => "Prints flow again; your sessions on it trade on.".to_owned(),
        (false, Some(why)) => {
            format!("{why}. Your sessions on it see no new prices until it is back.")
        }
        (false, None) => "Your sessions on it see no new prices until it is back.".to_owned(),
    };
    Notice {
        event,
        title,
        body,
        reference: Some(topic.to_owned()),
    }
}

fn failed_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Interrupted => "was interrupted",
        _ => "failed",
    }
}

fn reason(what: &str, error: Option<&str>) -> String {
    match (what.is_empty(), error) {
        (_, None) => what.to_owned(),
        (true, Some(error)) => error.to_owned(),
        (false, Some(error)) => format!("{what}: {error}"),
    }
}

fn params(params: &BTreeMap<String, f64>) -> String {
    params
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{BacktestSnapshot, ErrorInfo, Lifecycle, SessionCompleted, SessionSnapshot};

    fn topic(text: &str) -> Topic {
        text.parse().expect("a topic")
    }

    #[test]
    fn a_run_that_failed_or_died_is_a_failure_and_a_cancel_says_nothing() {
        let failed = SnapshotData::Backtest(BacktestSnapshot {
            status: RunStatus::Failed,
            error: Some(ErrorInfo {
                error: "the data ended early".into(),
                details: None,
            }),
            ..BacktestSnapshot::default()
        });
        let notice = run_ended(&topic("backtest:b1"), &failed).expect("a notice");
        assert_eq!(notice.event, NoticeEvent::RunFailed);
        assert_eq!(notice.title, "Backtest b1 failed");
        assert_eq!(notice.body, "the data ended early");
        let interrupted = SnapshotData::Backtest(BacktestSnapshot {
            status: RunStatus::Interrupted,
            ..BacktestSnapshot::default()
        });
        let notice = run_ended(&topic("backtest:b1"), &interrupted).expect("a notice");
        assert_eq!(notice.title, "Backtest b1 was interrupted");
        let cancelled = SnapshotData::Backtest(BacktestSnapshot {
            status: RunStatus::Cancelled,
            ..BacktestSnapshot::default()
        });
        assert_eq!(run_ended(&topic("backtest:b1"), &cancelled), None);
    }

    #[test]
    fn a_session_ends_stopped_or_blown_and_a_restart_it_resumes_from_says_nothing() {
        let ended = |reason: &str| {
            SnapshotData::Session(SessionSnapshot {
                completed: Some(SessionCompleted {
                    reason: reason.into(),
                    final_equity: -12.5,
                }),
                ..SessionSnapshot::default()
            })
        };
        let s1 = topic("session:s1");
        let blown = run_ended(&s1, &ended(ACCOUNT_BLOWN)).expect("a notice");
        assert_eq!(blown.event, NoticeEvent::AccountBlown);
        assert_eq!(blown.reference.as_deref(), Some("session:s1"));
        assert!(blown.body.contains("final equity -12.50"), "{}", blown.body);
        let stopped = run_ended(&s1, &ended("stopped")).expect("a notice");
        assert_eq!(stopped.event, NoticeEvent::SessionStopped);
        let interrupted = SnapshotData::Session(SessionSnapshot {
            interrupted: Some(Lifecycle::default()),
            ..SessionSnapshot::default()
        });
        assert_eq!(run_ended(&s1, &interrupted), None);
    }
}
