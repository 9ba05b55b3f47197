//! The market page: pick a symbol, watch its live price.

use leptos::prelude::*;

use crate::components::status::StatusDot;
use crate::protocol::{DataSource, Symbol, SymbolInfo};
use crate::stream::use_market_stream;

/// Symbol picker and the live last price of the selected symbol.
#[component]
pub fn MarketPage() -> impl IntoView {
    let symbols = RwSignal::new(Vec::<SymbolInfo>::new());
    let selected = RwSignal::new(None::<Symbol>);
    let load_error = RwSignal::new(None::<String>);

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            match fetch_symbols().await {
                Ok(list) => {
                    if selected.get_untracked().is_none() {
                        selected.set(list.first().map(|s| s.symbol.clone()));
                    }
                    symbols.set(list);
                }
                Err(e) => load_error.set(Some(e)),
            }
        });
    });

    let stream = use_market_stream(selected.into());
    let info = move || {
        let sel = selected.get()?;
        symbols.with(|list| list.iter().find(|s| s.symbol == sel).cloned())
    };
    let decimals = move || info().map_or(2, |i| i.price_decimals as usize);
    let price = move || {
        stream
            .last_tick
            .get()
            .map_or("—".to_owned(), |t| format!("{:.*}", decimals(), t.price))
    };
    let change = move || stream.last_tick.get().map(|t| t.change_pct);
    let on_pick = move |ev: leptos::ev::Event| {
        selected.set(Symbol::parse(&event_target_value(&ev)).ok());
    };

    view! {
        <section class="market">
            <div class="toolbar">
                <label>
                    "Symbol "
                    <select data-testid="symbol-picker" on:change=on_pick prop:value=move || selected.get().map(|s| s.to_string()).unwrap_or_default()>
                        <For each=move || symbols.get() key=|s| s.symbol.clone() let:s>
                            <option value=s.symbol.to_string()>{s.symbol.to_string()}</option>
                        </For>
                    </select>
                </label>
                <StatusDot state=stream.state.into() last_error=stream.last_error.into()/>
            </div>
            {move || load_error.get().map(|e| view! { <p class="error">{e}</p> })}
            <div class="quote">
                <div class="quote-symbol">{move || selected.get().map(|s| s.to_string()).unwrap_or_else(|| "…".into())}</div>
                <div class="quote-price" data-testid="last-price" data-seq=move || stream.last_seq.get()>{price}</div>
                <div class=move || match change() { Some(c) if c < 0.0 => "quote-change down", _ => "quote-change up" }>
                    {move || change().map(|c| format!("{c:+.2}%")).unwrap_or_default()}
                </div>
                {move || info().filter(|i| i.source == DataSource::Synthetic).map(|i| view! {
                    <div class="badge synthetic" title=i.description.clone()>"synthetic data"</div>
                })}
            </div>
            {move || stream.open_candle.get().map(|c| {
                let d = decimals();
                view! {
                    <dl class="candle" data-testid="open-candle">
                        <dt>"Interval"</dt><dd>{c.interval.to_string()}</dd>
                        <dt>"Open"</dt><dd>{format!("{:.*}", d, c.open)}</dd>
                        <dt>"High"</dt><dd>{format!("{:.*}", d, c.high)}</dd>
                        <dt>"Low"</dt><dd>{format!("{:.*}", d, c.low)}</dd>
                        <dt>"Close"</dt><dd>{format!("{:.*}", d, c.close)}</dd>
                        <dt>"Volume"</dt><dd>{format!("{:.2}", c.volume)}</dd>
                    </dl>
                }
            })}
        </section>
    }
}

#[cfg(feature = "hydrate")]
async fn fetch_symbols() -> Result<Vec<SymbolInfo>, String> {
    let response = gloo_net::http::Request::get("/api/market/symbols")
        .send()
        .await
        .map_err(|e| format!("could not load symbols: {e}"))?;
    if !response.ok() {
        return Err(format!(
            "could not load symbols: HTTP {}",
            response.status()
        ));
    }
    response
        .json()
        .await
        .map_err(|e| format!("could not read symbols: {e}"))
}
