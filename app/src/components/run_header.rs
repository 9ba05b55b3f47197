//! A backtest run's header: what it runs, where it stands, and the buttons that pause,
//! resume or cancel it on the server.

use leptos::prelude::*;

use super::asked::{ask, Asked, AskedLine};
use super::form::strategy_title;
use super::format::wire_name;
use protocol::{BacktestSnapshot, RunStatus};

/// What a run's buttons ask the server; the wire name is the URL's last segment
/// (`POST /api/backtests/{id}/pause`) and names the button's `data-testid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
enum Control {
    Pause,
    Resume,
    Cancel,
}

impl Control {
    /// The buttons, in the order they are shown.
    const ALL: [Control; 3] = [Control::Pause, Control::Resume, Control::Cancel];

    /// The button's text.
    fn label(self) -> &'static str {
        match self {
            Control::Pause => "Pause",
            Control::Resume => "Resume",
            Control::Cancel => "Cancel",
        }
    }

    /// Whether a run in `status` offers this control.
    fn offered(self, status: RunStatus) -> bool {
        let live = matches!(status, RunStatus::Pending | RunStatus::Running);
        match self {
            Control::Pause => live,
            Control::Resume => status == RunStatus::Paused,
            Control::Cancel => live || status == RunStatus::Paused,
        }
    }
}

/// The run's title (strategy, parameters, symbol, bars), its status and its controls.
#[component]
pub fn RunHeader(id: String, #[prop(into)] state: Signal<BacktestSnapshot>) -> impl IntoView {
    let status = move || state.with(|s| s.status);
    let title = move || {
        state.with(|s| {
            s.started.as_ref().map_or("starting…".to_owned(), |st| {
                strategy_title(
                    &st.strategy,
                    &st.params,
                    &st.symbol,
                    format_args!("{} bars", st.total_bars),
                )
            })
        })
    };
    let id = StoredValue::new(id);
    // The run's topic shows the outcome (its status); the line under the buttons says
    // what became of the request itself.
    let asked = RwSignal::new(Asked::Idle);
    let send = move |control: Control| {
        let url = format!("/api/backtests/{}/{}", id.get_value(), wire_name(control));
        ask(url, control.label(), asked);
    };
    let buttons = Control::ALL
        .into_iter()
        .map(|control| {
            move || {
                control.offered(status()).then(|| {
                    view! {
                        <button
                            data-testid=format!("backtest-{}", wire_name(control))
                            aria-label=format!("{} this run", control.label())
                            disabled=move || asked.with(Asked::is_pending)
                            on:click=move |_| send(control)
                        >
                            {control.label()}
                        </button>
                    }
                })
            }
        })
        .collect_view();
    view! {
        <header>
            <h3>{title}</h3>
            <span class="run-status">{move || wire_name(status())}</span>
            <span class="controls">{buttons}</span>
            <AskedLine asked />
        </header>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(status: RunStatus) -> Vec<Control> {
        Control::ALL
            .into_iter()
            .filter(|c| c.offered(status))
            .collect()
    }

    #[test]
    fn a_live_run_can_be_paused_or_cancelled_and_a_paused_one_resumed_or_cancelled() {
        use Control::*;
        assert_eq!(offered(RunStatus::Pending), [Pause, Cancel]);
        assert_eq!(offered(RunStatus::Running), [Pause, Cancel]);
        assert_eq!(offered(RunStatus::Paused), [Resume, Cancel]);
        for done in [RunStatus::Complete, RunStatus::Cancelled, RunStatus::Failed] {
            assert!(offered(done).is_empty(), "{done:?}");
        }
    }

    #[test]
    fn controls_are_named_as_their_endpoints() {
        let names: Vec<&str> = Control::ALL.into_iter().map(wire_name).collect();
        assert_eq!(names, ["pause", "resume", "cancel"]);
    }
}
