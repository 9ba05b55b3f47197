//! Form fields the backtest and session forms share. Inputs hold text; the form parses
//! it when sent, so a bad value is reported naming its field.

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::api;

/// A request's error, announced as an alert; nothing while there is none.
#[component]
pub fn ErrorLine(
    error: RwSignal<Option<String>>,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! {
                <p class="error" role="alert" data-testid=testid>
                    {e}
                </p>
            }
        })
    }
}

/// Lists the server's datasets into `datasets`, and picks one into `dataset` if none is
/// (GOOG when there is one); a failure is the form's `error`.
pub async fn load_datasets(
    datasets: RwSignal<Vec<String>>,
    dataset: RwSignal<String>,
    error: RwSignal<Option<String>>,
) {
    match api::get::<Vec<String>>("/api/datasets").await {
        Ok(list) => {
            if dataset.get_untracked().is_empty() {
                let pick = list.iter().find(|d| *d == "GOOG").or(list.first());
                dataset.set(pick.cloned().unwrap_or_default());
            }
            datasets.set(list);
        }
        Err(e) => error.set(Some(format!("could not list datasets: {e}"))),
    }
}

/// A labelled number input.
#[component]
pub fn NumberField(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <input
                type="number"
                step="any"
                name=name
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        </label>
    }
}

/// A labelled select over `options` (values shown as they are).
#[component]
pub fn Choice(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(into)] options: Signal<Vec<String>>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <select
                name=name
                prop:value=move || value.get()
                on:change=move |ev| value.set(event_target_value(&ev))
            >
                <For each=move || options.get() key=|o| o.clone() let:o>
                    <option value=o>{o.clone()}</option>
                </For>
            </select>
        </label>
    }
}

/// A strategy parameter's name and its default, as the form shows it.
type Param = (&'static str, &'static str);

/// The strategies the server runs (name, label) and their parameters.
const STRATEGIES: &[(&str, &str, &[Param])] = &[
    ("sma_cross", "SMA cross", &[("fast", "10"), ("slow", "20")]),
    (
        "rsi_reversion",
        "RSI reversion",
        &[("period", "14"), ("lower", "30"), ("upper", "70")],
    ),
    ("buy_and_hold", "Buy and hold", &[]),
];

/// The choice sessions add: an outside agent posts the decisions (docs/SPEC.md section 5).
const EXTERNAL: (&str, &str, &[Param]) =
    ("external", "Outside agent (decides through the API)", &[]);

/// The names of the strategies a run may use (and `external` for a session's outside
/// agent, with `external`), as requests and listings write them.
pub fn strategy_names(external: bool) -> Vec<&'static str> {
    STRATEGIES
        .iter()
        .chain(external.then_some(&EXTERNAL))
        .map(|(name, _, _)| *name)
        .collect()
}

/// A strategy and its parameters as a form edits them, for backtests and sessions
/// alike. `Copy`.
#[derive(Clone, Copy)]
pub struct StrategyInput {
    pub strategy: RwSignal<String>,
    /// (strategy, parameter, text) for every parameter of every strategy.
    params: StoredValue<Vec<(&'static str, &'static str, RwSignal<String>)>>,
    /// Whether an outside agent may be chosen (sessions).
    external: bool,
}

impl StrategyInput {
    /// Starts on `strategy`; `defaults` replaces built-in defaults by parameter name.
    pub fn new(strategy: &str, defaults: &[(&str, &str)]) -> Self {
        let params = STRATEGIES
            .iter()
            .flat_map(|(s, _, params)| params.iter().map(move |p| (*s, p)))
            .map(|(s, (name, default))| {
                let value = defaults
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or(*default, |(_, v)| v);
                (s, *name, RwSignal::new(value.to_owned()))
            })
            .collect();
        StrategyInput {
            strategy: RwSignal::new(strategy.to_owned()),
            params: StoredValue::new(params),
            external: false,
        }
    }

    /// Offers an outside agent too (for sessions).
    pub fn with_external(self) -> Self {
        StrategyInput {
            external: true,
            ..self
        }
    }

    /// The chosen strategy's parameters, or an error naming the first that is not a number.
    pub fn params(&self) -> Result<BTreeMap<String, f64>, String> {
        let strategy = self.strategy.get_untracked();
        self.params.with_value(|params| {
            params
                .iter()
                .filter(|(s, _, _)| *s == strategy)
                .map(|(_, name, text)| {
                    Ok((
                        (*name).to_owned(),
                        parse_number(name, &text.get_untracked())?,
                    ))
                })
                .collect()
        })
    }
}

/// The strategy picker, then the chosen strategy's parameter fields.
#[component]
pub fn StrategyFields(input: StrategyInput) -> impl IntoView {
    let value = input.strategy;
    let fields = move || {
        let strategy = value.get();
        input.params.with_value(|params| {
            params
                .iter()
                .filter(|(s, _, _)| *s == strategy)
                .map(|(_, name, text)| view! { <NumberField label=*name name=*name value=*text /> })
                .collect_view()
        })
    };
    view! {
        <label>
            "Strategy"
            <select
                name="strategy"
                prop:value=move || value.get()
                on:change=move |ev| value.set(event_target_value(&ev))
            >
                {STRATEGIES
                    .iter()
                    .chain(input.external.then_some(&EXTERNAL))
                    .map(|(id, label, _)| view! { <option value=*id>{*label}</option> })
                    .collect_view()}
            </select>
        </label>
        {fields}
    }
}

/// "sma_cross fast=10 slow=20 on GOOG (2148 bars)": what a run or session trades.
pub fn strategy_title(
    strategy: &str,
    params: &BTreeMap<String, f64>,
    symbol: &str,
    detail: impl std::fmt::Display,
) -> String {
    let params: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{strategy} {} on {symbol} ({detail})", params.join(" "))
}

/// The number in `text`, or an error naming `field`.
pub fn parse_number(field: &str, text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{field}` must be a number, got `{text}`"))
}
