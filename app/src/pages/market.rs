//! The market page: pick a symbol, watch its live price, candles and analysis.

use leptos::prelude::*;

use crate::api;
use crate::chart::bar_of;
use crate::chart::marks::MARKET_LINES;
use crate::components::form::ErrorLine;
use crate::components::format::wire_name;
use crate::components::metrics::MetricsPanel;
use crate::components::price_chart::{ChartFeed, PriceChart};
use crate::components::status::RealtimeToggle;
use crate::components::sync_view::SyncAny;
use crate::stream::{use_topic, Display, TopicEvent};
use protocol::decode::KindReader;
use protocol::{
    Analysis, Candle, DataSource, Message, SnapshotData, Symbol, SymbolInfo, Tick, Topic,
};

#[component]
pub fn MarketPage() -> impl IntoView {
    let symbols = RwSignal::new(Vec::<SymbolInfo>::new());
    // `/?symbol=X` opens on X (a link to any market topic, even one only producers publish).
    let query = leptos_router::hooks::use_query_map();
    let selected = RwSignal::new(
        query.with_untracked(|q| q.get("symbol").and_then(|s| Symbol::parse(&s).ok())),
    );
    let load_error = RwSignal::new(None::<String>);
    let last_tick = RwSignal::new(None::<Tick>);
    let open_candle = RwSignal::new(None::<Candle>);
    let analysis = RwSignal::new(None::<Analysis>);
    let feed = ChartFeed::new();
    let split = RwSignal::new(false);

    api::spawn(async move {
        match api::get::<Vec<SymbolInfo>>("/api/market/symbols").await {
            Ok(list) => {
                if selected.get_untracked().is_none() {
                    selected.set(list.first().map(|s| s.symbol.clone()));
                }
                symbols.set(list);
            }
            Err(e) => load_error.set(Some(format!("could not load symbols: {e}"))),
        }
    });

    let topic = Signal::derive(move || selected.get().map(|s| Topic::market(&s)));
    use_topic(
        topic,
        KindReader::MARKET,
        Display::Focus,
        move |event| match event {
            TopicEvent::Reset(snapshot) => {
                let SnapshotData::Market(m) = &snapshot.data else {
                    return;
                };
                last_tick.set(m.last_tick.clone());
                open_candle.set(m.candles.last().cloned());
                analysis.set(m.analysis.clone());
                let bars: Vec<_> = m.candles.iter().map(bar_of).collect();
                feed.reset(&bars, snapshot.last_seq);
            }
            TopicEvent::Message(envelope) => {
                let candle = match &envelope.message {
                    Message::Tick(t) => {
                        last_tick.set(Some(t.clone()));
                        None
                    }
                    Message::Candle(c) => {
                        open_candle.set(Some(c.clone()));
                        Some(c)
                    }
                    Message::Analysis(a) => {
                        analysis.set(Some(a.clone()));
                        None
                    }
                    _ => None,
                };
                feed.message(envelope, candle.map(bar_of));
            }
        },
    );

    let info = move || {
        let sel = selected.get()?;
        symbols.with(|list| list.iter().find(|s| s.symbol == sel).cloned())
    };
    let decimals = Signal::derive(move || info().map_or(2, |i| i.price_decimals as usize));
    let price = move || {
        last_tick.get().map_or("—".to_owned(), |t| {
            format!("{:.*}", decimals.get(), t.price)
        })
    };
    let change = move || last_tick.get().map(|t| t.change_pct);
    let picker_options = move || {
        let mut names: Vec<String> =
            symbols.with(|l| l.iter().map(|s| s.symbol.to_string()).collect());
        if let Some(sel) = selected.get().map(|s| s.to_string()) {
            if !names.contains(&sel) && !names.is_empty() {
                names.push(sel);
            }
        }
        names
    };
    // Older candles as the view pans left, a page at a time from the server.
    let older = Callback::new(move |before: protocol::Timestamp| {
        let Some(symbol) = selected.get_untracked() else {
            return;
        };
        api::spawn(async move {
            let path = format!("/api/market/{symbol}/candles?limit=500&before={before}");
            match api::get::<Vec<Candle>>(&path).await {
                Ok(page) => {
                    let bars: Vec<_> = page.iter().map(bar_of).collect();
                    feed.prepend(&bars, page.len() < 500);
                }
                Err(_) => feed.older_failed(),
            }
        });
    });
    let chart_label = Signal::derive(move || {
        selected
            .get()
            .map_or_else(|| "Price chart".to_owned(), |s| format!("{s} price chart"))
    });
    let on_pick = move |ev: leptos::ev::Event| {
        selected.set(Symbol::parse(&event_target_value(&ev)).ok());
    };

    view! {
        <section class="market">
            <div class="toolbar">
                <label>
                    "Symbol "
                    <select
                        data-testid="symbol-picker"
                        on:change=on_pick
                        prop:value=move || selected.get().map(|s| s.to_string()).unwrap_or_default()
                    >
                        <For each=picker_options key=|s| s.clone() let:s>
                            <option value=s>{s.clone()}</option>
                        </For>
                    </select>
                </label>
                <label>
                    <input
                        type="checkbox"
                        data-testid="chart-split"
                        prop:checked=split
                        on:change=move |ev| split.set(event_target_checked(&ev))
                    />
                    " Two timeframes"
                </label>
                <RealtimeToggle />
            </div>
            <ErrorLine error=load_error />
            <div class="quote">
                <div class="quote-symbol">
                    {move || selected.get().map(|s| s.to_string()).unwrap_or_else(|| "…".into())}
                </div>
                <div
                    class="quote-price"
                    data-testid="last-price"
                    data-seq=move || feed.last_seq.get()
                >
                    {price}
                </div>
                <div class=move || match change() {
                    Some(c) if c < 0.0 => "quote-change down",
                    _ => "quote-change up",
                }>{move || change().map(|c| format!("{c:+.2}%")).unwrap_or_default()}</div>
                {move || {
                    info()
                        .map(|i| {
                            let (label, class) = match i.source {
                                DataSource::Synthetic => ("synthetic data", "badge synthetic"),
                                DataSource::CsvReplay => ("CSV replay", "badge synthetic"),
                                DataSource::External => ("external feed", "badge"),
                                DataSource::Binance => ("live · Binance", "badge live"),
                                DataSource::Coinbase => ("live · Coinbase", "badge live"),
                                DataSource::Kraken => ("live · Kraken", "badge live"),
                            };
                            let source: &'static str = i.source.into();
                            view! {
                                <div
                                    class=class
                                    title=i.description
                                    data-testid="feed-badge"
                                    data-source=source
                                >
                                    {label}
                                </div>
                            }
                        })
                }}
                {move || {
                    open_candle
                        .get()
                        .map(|c| {
                            let d = decimals.get();
                            view! {
                                <dl class="candle" data-testid="open-candle">
                                    <dt>"Interval"</dt>
                                    <dd>{c.interval.to_string()}</dd>
                                    <dt>"O"</dt>
                                    <dd>{format!("{:.*}", d, c.open)}</dd>
                                    <dt>"H"</dt>
                                    <dd>{format!("{:.*}", d, c.high)}</dd>
                                    <dt>"L"</dt>
                                    <dd>{format!("{:.*}", d, c.low)}</dd>
                                    <dt>"C"</dt>
                                    <dd>{format!("{:.*}", d, c.close)}</dd>
                                    <dt>"Vol"</dt>
                                    <dd>{format!("{:.2}", c.volume)}</dd>
                                </dl>
                            }
                        })
                }}
            </div>
            <div class="chart-box" class:split=split>
                <PriceChart
                    feed
                    decimals
                    lines=vec![MARKET_LINES[0], MARKET_LINES[1]]
                    older=older
                    label=chart_label
                />
                // A second pane on the same candles: another timeframe of this symbol.
                <Show when=move || split.get()>
                    <PriceChart
                        feed
                        decimals
                        lines=vec![MARKET_LINES[0], MARKET_LINES[1]]
                        testid="price-chart-split"
                        label=chart_label
                    />
                </Show>
            </div>
            <div class="market-side">
                <MetricsPanel topic />
                <AnalysisPanel analysis decimals />
            </div>
        </section>
    }
    .into_sync_any()
}

/// Indicators, patterns, structure and confluence of the last closed candle.
#[component]
fn AnalysisPanel(analysis: RwSignal<Option<Analysis>>, decimals: Signal<usize>) -> impl IntoView {
    view! {
        <section class="analysis panel" data-testid="analysis">
            <h3>"Analysis"</h3>
            {move || match analysis.get() {
                None => {
                    view! { <p class="muted">"Waiting for the first closed candle."</p> }
                        .into_sync_any()
                }
                Some(a) => {
                    view! {
                        <dl data-testid="analysis-values">
                            {a
                                .indicators
                                .iter()
                                .map(|(name, v)| {
                                    let d = if name.starts_with("rsi") {
                                        1
                                    } else {
                                        decimals.get()
                                    };
                                    view! {
                                        <dt>{name.to_ascii_uppercase()}</dt>
                                        <dd data-indicator=name.clone()>{format!("{v:.d$}")}</dd>
                                    }
                                })
                                .collect_view()} <dt>"Structure"</dt>
                            <dd>{wire_name(a.structure)}</dd> <dt>"Patterns"</dt>
                            <dd>
                                {if a.patterns.is_empty() {
                                    "none".to_owned()
                                } else {
                                    a.patterns.join(", ")
                                }}
                            </dd> <dt>"Confluence"</dt><dd>{format!("{:.2}", a.confluence)}</dd>
                        </dl>
                    }
                        .into_sync_any()
                }
            }}
        </section>
    }
    .into_sync_any()
}
