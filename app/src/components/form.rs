//! Form fields the backtest and session forms share. Inputs hold text; the form parses
//! it when sent, so a bad value is reported naming its field.

use leptos::prelude::*;

/// A labelled number input.
#[component]
pub fn NumberField(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <label>{label}
            <input type="number" step="any" name=name prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
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
        <label>{label}
            <select name=name prop:value=move || value.get() on:change=move |ev| value.set(event_target_value(&ev))>
                <For each=move || options.get() key=|o| o.clone() let:o>
                    <option value=o.clone()>{o.clone()}</option>
                </For>
            </select>
        </label>
    }
}

/// The strategies the server runs, for backtests and sessions alike.
#[component]
pub fn StrategySelect(value: RwSignal<String>) -> impl IntoView {
    view! {
        <label>"Strategy"
            <select name="strategy" prop:value=move || value.get() on:change=move |ev| value.set(event_target_value(&ev))>
                <option value="sma_cross">"SMA cross"</option>
                <option value="rsi_reversion">"RSI reversion"</option>
                <option value="buy_and_hold">"Buy and hold"</option>
            </select>
        </label>
    }
}

/// The number in `text`, or an error naming `field`.
pub fn parse_number(field: &str, text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{field}` must be a number, got `{text}`"))
}
