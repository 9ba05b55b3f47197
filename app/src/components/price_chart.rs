//! The price chart of every page: candles and volume on a canvas, and over them an SVG
//! of indicator lines, an RSI pane and trade markers (`chart::overlay`). A viewer zooms
//! with the wheel, a pinch or `+`/`-`, pans by dragging or with the arrow keys, reads a
//! bar under the pointer (`crosshair-readout`), picks a timeframe built from the base
//! candles (`timeframe-select`) and goes back to the newest bar (`chart-live`). Older
//! bars are asked for as the view nears the oldest held.
//!
//! The page feeds it through a [`ChartFeed`], which also keeps the figures tests read
//! from `data-*` attributes: the last seq and the gaps seen (a seq that is not the
//! previous one plus one; the stream guarantees 0). Several charts may share a feed (two
//! timeframes of one symbol). The canvas repaints only the open candle's slot when it
//! ticks, everything when a bar is added or the view moves: at most one paint per
//! animation frame, however many messages arrive.

use leptos::html::{Canvas, Div};
use leptos::prelude::*;

use crate::chart::marks::{Indicator, TradeMark};
use crate::chart::overlay::label as line_label;
use crate::chart::timeframe::{base_label, Timeframe};
use crate::components::format::time_at;
use protocol::api::Bar;
use protocol::{Envelope, Timestamp};

/// Bars a feed holds at most (older pages stop there).
pub const CHART_BARS: usize = 20_000;
/// Bars a live chart shows across until the viewer zooms.
#[cfg(feature = "hydrate")]
const DEFAULT_SPAN: f64 = 120.0;

/// The page's handle on its chart's bars. `Copy`.
#[derive(Clone, Copy)]
pub struct ChartFeed {
    pub last_seq: RwSignal<u64>,
    pub gaps: RwSignal<u32>,
    /// Bars held (at the base timeframe).
    pub count: RwSignal<usize>,
    /// Seconds between base bars, once two are known.
    base_secs: RwSignal<Option<i64>>,
    /// No older bars exist (or the feed is full).
    exhausted: RwSignal<bool>,
    /// Older bars were asked for and have not arrived.
    loading: RwSignal<bool>,
    #[cfg(feature = "hydrate")]
    shared: StoredValue<std::rc::Rc<std::cell::RefCell<paint::Shared>>, LocalStorage>,
}

impl ChartFeed {
    pub fn new() -> Self {
        ChartFeed {
            last_seq: RwSignal::new(0),
            gaps: RwSignal::new(0),
            count: RwSignal::new(0),
            base_secs: RwSignal::new(None),
            exhausted: RwSignal::new(false),
            loading: RwSignal::new(false),
            #[cfg(feature = "hydrate")]
            shared: StoredValue::new_local(paint::Shared::new()),
        }
    }

    /// Replaces the bars (a snapshot consistent with `last_seq`, or a page of a run's).
    pub fn reset(&self, bars: &[Bar], last_seq: u64) {
        self.last_seq.set(last_seq);
        self.exhausted.set(false);
        self.loading.set(false);
        #[cfg(feature = "hydrate")]
        self.update(|series| {
            series.reset(bars.iter().copied());
            crate::chart::Change::Rewritten
        });
        #[cfg(not(feature = "hydrate"))]
        self.count.set(bars.len().min(CHART_BARS));
    }

    /// Notes `envelope`, a message of the topic, and applies its bar, if it carries
    /// one. A message that stands for conflated ones follows the last seq from its
    /// first (docs/SPEC.md section 6, "Rates"): that is no gap.
    pub fn message(&self, envelope: &Envelope, bar: Option<Bar>) {
        let expected = self.last_seq.get_untracked() + 1;
        if envelope.first_seq() != expected {
            self.gaps.update(|g| *g += 1);
        }
        self.last_seq.set(envelope.seq);
        if let Some(bar) = bar {
            self.upsert(bar);
        }
    }

    /// Adds a bar or updates the one with its open time.
    pub fn upsert(&self, bar: Bar) {
        #[cfg(feature = "hydrate")]
        self.update(|series| series.upsert(bar));
        #[cfg(not(feature = "hydrate"))]
        let _ = bar;
    }

    /// Older bars asked for by the chart arrived (`exhausted`: there are no more).
    pub fn prepend(&self, older: &[Bar], exhausted: bool) {
        self.loading.set(false);
        #[cfg(feature = "hydrate")]
        {
            let mut added = 0;
            self.update(|series| {
                added = series.prepend(older);
                crate::chart::Change::Rewritten
            });
            self.exhausted.set(exhausted || added == 0);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (older, exhausted);
    }

    /// Older bars could not be had now; the chart may ask again.
    pub fn older_failed(&self) {
        self.loading.set(false);
        self.exhausted.set(true);
    }

    #[cfg(feature = "hydrate")]
    fn update(&self, f: impl FnOnce(&mut crate::chart::CandleSeries) -> crate::chart::Change) {
        let Some(shared) = self.shared.try_get_value() else {
            return;
        };
        let (change, len, base, painters) = {
            let mut s = shared.borrow_mut();
            let change = f(&mut s.series);
            // The spacing changes only with the set of bars, not as the open one ticks.
            let base = (change != crate::chart::Change::LastUpdated)
                .then(|| crate::chart::timeframe::base_secs(s.series.bars()));
            (change, s.series.len(), base, s.painters())
        };
        self.count.set(len);
        if let Some(base) = base.filter(|b| *b != self.base_secs.get_untracked()) {
            self.base_secs.set(base);
        }
        for painter in painters {
            painter.borrow_mut().changed(change);
        }
    }
}

impl Default for ChartFeed {
    fn default() -> Self {
        Self::new()
    }
}

/// A bar under the pointer, and where.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Hover {
    bar: Bar,
    x: f64,
    y: f64,
}

/// What the chart's controls and attributes show, set by its painter.
#[derive(Clone, Copy)]
struct ChartView {
    /// Bars in the chosen timeframe.
    shown: RwSignal<usize>,
    /// Bars in view.
    visible: RwSignal<usize>,
    /// Markers in view, and where they are drawn (`svg` elements, or the `canvas`).
    markers: RwSignal<(usize, &'static str)>,
    live: RwSignal<bool>,
    overlay: RwSignal<String>,
    hover: RwSignal<Option<Hover>>,
    last: RwSignal<Option<Bar>>,
    frame: RwSignal<Option<Timeframe>>,
    dates_only: RwSignal<bool>,
}

/// The chart over `feed`: `lines` drawn over (or, for an RSI, under) the candles,
/// `marks` on them; `fit` shows every bar at first (a run's), else the newest. `older`
/// is called with the oldest bar's time when the view nears it.
#[component]
pub fn PriceChart(
    feed: ChartFeed,
    #[prop(into)] decimals: Signal<usize>,
    #[prop(optional, into)] lines: Signal<Vec<Indicator>>,
    #[prop(optional, into)] marks: Signal<Vec<TradeMark>>,
    #[prop(optional)] fit: bool,
    #[prop(optional, into)] older: Option<Callback<Timestamp>>,
    /// `price-chart` unless a page has two.
    #[prop(default = "price-chart")]
    testid: &'static str,
    /// What the chart is of, for screen readers.
    #[prop(into)]
    label: Signal<String>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let area = NodeRef::<Div>::new();
    let chart = ChartView {
        shown: RwSignal::new(feed.count.get_untracked()),
        visible: RwSignal::new(0),
        markers: RwSignal::new((0, "svg")),
        live: RwSignal::new(true),
        overlay: RwSignal::new(String::new()),
        hover: RwSignal::new(None),
        last: RwSignal::new(None),
        frame: RwSignal::new(None),
        dates_only: RwSignal::new(false),
    };
    #[cfg(feature = "hydrate")]
    let painter = paint::mount(feed, chart, canvas, area, fit, older);
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            let (d, l, m) = (decimals.get(), lines.get(), marks.get());
            if let Some(p) = painter.try_get_value() {
                p.borrow_mut().set_content(d, l, m);
            }
        });
        let resize = window_event_listener(leptos::ev::resize, move |_| {
            if let Some(p) = painter.try_get_value() {
                p.borrow_mut().invalidate();
            }
        });
        on_cleanup(move || resize.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (fit, older, marks, canvas, area);

    // The viewer's gestures, in the painter's terms.
    #[cfg(feature = "hydrate")]
    use paint::Gesture;
    #[cfg(feature = "hydrate")]
    let act = move |gesture: Gesture| {
        if let Some(p) = painter.try_get_value() {
            p.borrow_mut().gesture(gesture);
        }
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        act(Gesture::Wheel {
            x: f64::from(ev.offset_x()),
            delta: ev.delta_y(),
        });
    };
    let on_down = move |ev: leptos::ev::PointerEvent| {
        #[cfg(feature = "hydrate")]
        act(Gesture::Down {
            id: ev.pointer_id(),
            x: f64::from(ev.offset_x()),
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let on_move = move |ev: leptos::ev::PointerEvent| {
        #[cfg(feature = "hydrate")]
        act(Gesture::Move {
            id: ev.pointer_id(),
            x: f64::from(ev.offset_x()),
            y: f64::from(ev.offset_y()),
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let on_up = move |ev: leptos::ev::PointerEvent| {
        #[cfg(feature = "hydrate")]
        act(Gesture::Up {
            id: ev.pointer_id(),
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let on_leave = move |ev: leptos::ev::PointerEvent| {
        chart.hover.set(None);
        #[cfg(feature = "hydrate")]
        act(Gesture::Up {
            id: ev.pointer_id(),
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        #[cfg(feature = "hydrate")]
        if let Some(key) = paint::Key::of(&ev.key()) {
            ev.prevent_default();
            act(Gesture::Key(key));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let back_to_live = move |_| {
        #[cfg(feature = "hydrate")]
        act(Gesture::Key(paint::Key::Live));
    };
    let on_frame = move |ev: leptos::ev::Event| {
        let frame = Timeframe::parse(&event_target_value(&ev));
        chart.frame.set(frame);
        #[cfg(feature = "hydrate")]
        act(Gesture::Frame(frame));
    };
    let frames = move || {
        feed.base_secs
            .get()
            .map_or_else(Vec::new, Timeframe::offered)
    };
    let legend = move || {
        lines
            .get()
            .into_iter()
            .map(|i| view! { <span class=format!("legend {}", i.name)>{line_label(&i)}</span> })
            .collect_view()
    };

    view! {
        <figure
            class="price-chart"
            data-testid=testid
            data-last-seq=move || feed.last_seq.get()
            data-candle-count=move || chart.shown.get()
            data-visible=move || chart.visible.get()
            data-markers=move || chart.markers.get().0
            data-marker-layer=move || chart.markers.get().1
            data-gaps=move || feed.gaps.get()
            data-live=move || chart.live.get().to_string()
            tabindex="0"
            role="group"
            aria-label=move || {
                format!(
                    "{}: arrow keys pan, + and - zoom, End returns to the newest bar",
                    label.get(),
                )
            }
            on:keydown=on_key
        >
            <div class="chart-toolbar">
                <label>
                    "Timeframe "
                    <select
                        data-testid="timeframe-select"
                        aria-label="Timeframe"
                        on:change=on_frame
                        prop:value=move || {
                            chart.frame.get().map(Timeframe::label).unwrap_or_default()
                        }
                    >
                        <option value="">
                            {move || feed.base_secs.get().map_or_else(String::new, base_label)}
                        </option>
                        <For each=frames key=|t| *t let:t>
                            <option value=t.label()>{t.label()}</option>
                        </For>
                    </select>
                </label>
                {legend}
                <button
                    class="chart-live"
                    data-testid="chart-live"
                    hidden=move || chart.live.get()
                    on:click=back_to_live
                >
                    "Back to live ⇥"
                </button>
            </div>
            <div
                class="chart-area"
                node_ref=area
                on:wheel=on_wheel
                on:pointerdown=on_down
                on:pointermove=on_move
                on:pointerup=on_up
                on:pointerleave=on_leave
            >
                <canvas node_ref=canvas></canvas>
                <svg class="chart-overlay" inner_html=move || chart.overlay.get()></svg>
                <Crosshair hover=chart.hover />
            </div>
            <Readout chart decimals />
        </figure>
    }
}

/// The lines through the bar under the pointer.
#[component]
fn Crosshair(hover: RwSignal<Option<Hover>>) -> impl IntoView {
    move || {
        hover.get().map(|h| {
            view! {
                <svg class="chart-crosshair" aria-hidden="true">
                    <line x1=h.x x2=h.x y1="0" y2="100%"></line>
                    <line x1="0" x2="100%" y1=h.y y2=h.y></line>
                </svg>
            }
        })
    }
}

/// The open, high, low, close and volume of the bar under the pointer (the newest when
/// the pointer is away).
#[component]
fn Readout(chart: ChartView, decimals: Signal<usize>) -> impl IntoView {
    let bar = move || {
        chart
            .hover
            .get()
            .map(|h| h.bar)
            .or_else(|| chart.last.get())
    };
    let text = move || {
        bar().map_or_else(String::new, |b| {
            let d = decimals.get();
            format!(
                "{}  O {:.d$}  H {:.d$}  L {:.d$}  C {:.d$}  V {:.2}",
                time_at(b.time, chart.dates_only.get()),
                b.open,
                b.high,
                b.low,
                b.close,
                b.volume
            )
        })
    };
    view! {
        <div
            class="crosshair-readout"
            data-testid="crosshair-readout"
            aria-live="off"
            data-time=move || bar().map(|b| b.time.to_string()).unwrap_or_default()
            data-close=move || bar().map(|b| b.close.to_string()).unwrap_or_default()
            data-hovering=move || chart.hover.with(Option::is_some).to_string()
        >
            {text}
        </div>
    }
}

#[cfg(feature = "hydrate")]
mod paint {
    use std::cell::RefCell;
    use std::rc::{Rc, Weak};

    use leptos::html::{Canvas, Div};
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::CanvasRenderingContext2d;

    use super::{ChartFeed, ChartView, Hover, CHART_BARS, DEFAULT_SPAN};
    use crate::chart::marks::{Indicator, TradeMark};
    use crate::chart::overlay::{fit_scale, Overlay, Placed, Plot, AXIS_BOTTOM, MAX_DOM_MARKERS};
    use crate::chart::timeframe::Timeframe;
    use crate::chart::viewport::Viewport;
    use crate::chart::{CandleSeries, Change, PriceScale, GRID, TEXT};
    use crate::components::format::{all_midnights, time_at};
    use protocol::api::Bar;
    use protocol::Timestamp;

    const GRID_LINES: usize = 5;
    const UP: &str = "#26a69a";
    const DOWN: &str = "#ef5350";
    const UP_VOLUME: &str = "rgba(38, 166, 154, 0.35)";
    const DOWN_VOLUME: &str = "rgba(239, 83, 80, 0.35)";

    /// The bars of a feed and the charts drawing them.
    pub struct Shared {
        pub series: CandleSeries,
        painters: Vec<Weak<RefCell<Painter>>>,
    }

    impl Shared {
        pub fn new() -> Rc<RefCell<Shared>> {
            Rc::new(RefCell::new(Shared {
                series: CandleSeries::new(CHART_BARS),
                painters: Vec::new(),
            }))
        }

        /// The live painters (the dropped ones forgotten).
        pub fn painters(&mut self) -> Vec<Rc<RefCell<Painter>>> {
            self.painters.retain(|p| p.strong_count() > 0);
            self.painters.iter().filter_map(Weak::upgrade).collect()
        }
    }

    /// A viewer's gesture on the chart.
    pub enum Gesture {
        Wheel { x: f64, delta: f64 },
        Down { id: i32, x: f64 },
        Move { id: i32, x: f64, y: f64 },
        Up { id: i32 },
        Key(Key),
        Frame(Option<Timeframe>),
    }

    /// The keys the chart answers.
    #[derive(Clone, Copy)]
    pub enum Key {
        PanBack,
        PanForward,
        ZoomIn,
        ZoomOut,
        Oldest,
        Live,
    }

    impl Key {
        pub fn of(key: &str) -> Option<Key> {
            Some(match key {
                "ArrowLeft" => Key::PanBack,
                "ArrowRight" => Key::PanForward,
                "+" | "=" => Key::ZoomIn,
                "-" | "_" => Key::ZoomOut,
                "Home" => Key::Oldest,
                "End" => Key::Live,
                _ => return None,
            })
        }
    }

    /// What the next frame must paint.
    #[derive(Default)]
    struct Dirty {
        full: bool,
        last: bool,
        scheduled: bool,
    }

    /// What the last full paint laid out, so the open candle can be painted alone.
    struct Painted {
        plot: Plot,
        scale: PriceScale,
        most_volume: f64,
        dpr: f64,
        /// Markers were painted on the canvas (a slot repaint would wipe some).
        dense: bool,
    }

    pub struct Painter {
        shared: Rc<RefCell<Shared>>,
        feed: ChartFeed,
        chart: ChartView,
        canvas: NodeRef<Canvas>,
        area: NodeRef<Div>,
        older: Option<Callback<Timestamp>>,
        fit: bool,
        /// Bars of the chosen timeframe when it is not the base one.
        frame: Option<(Timeframe, Vec<Bar>)>,
        view: Viewport,
        /// Shown at least once (a fitted chart fits its first data).
        seen: bool,
        /// Bars of its timeframe at the last change (how many a change added).
        known: usize,
        lines: Vec<Indicator>,
        marks: Vec<TradeMark>,
        decimals: usize,
        /// Pointers down: (id, x) — one drags, two pinch.
        pointers: Vec<(i32, f64)>,
        dirty: Dirty,
        painted: Option<Painted>,
        this: Weak<RefCell<Painter>>,
    }

    /// Creates the chart's painter, registered with its feed; dropped with the chart.
    pub fn mount(
        feed: ChartFeed,
        chart: ChartView,
        canvas: NodeRef<Canvas>,
        area: NodeRef<Div>,
        fit: bool,
        older: Option<Callback<Timestamp>>,
    ) -> StoredValue<Rc<RefCell<Painter>>, LocalStorage> {
        let shared = feed.shared.try_get_value().unwrap_or_else(Shared::new);
        let painter = Rc::new_cyclic(|this| {
            RefCell::new(Painter {
                shared: shared.clone(),
                feed,
                chart,
                canvas,
                area,
                older,
                fit,
                frame: None,
                view: Viewport::new(DEFAULT_SPAN),
                seen: false,
                known: 0,
                lines: Vec::new(),
                marks: Vec::new(),
                decimals: 2,
                pointers: Vec::new(),
                dirty: Dirty::default(),
                painted: None,
                this: this.clone(),
            })
        });
        shared.borrow_mut().painters.push(Rc::downgrade(&painter));
        painter.borrow_mut().changed(Change::Rewritten);
        StoredValue::new_local(painter)
    }

    impl Painter {
        pub fn set_content(
            &mut self,
            decimals: usize,
            lines: Vec<Indicator>,
            marks: Vec<TradeMark>,
        ) {
            self.decimals = decimals;
            self.lines = lines;
            self.marks = marks;
            self.invalidate();
        }

        /// The feed's bars changed by `change`.
        pub fn changed(&mut self, change: Change) {
            if let Some((frame, _)) = self.frame {
                self.build_frame(frame, change);
            }
            let len = self.len();
            let grown = len.saturating_sub(self.known);
            self.known = len;
            // A new base bar may only update the last bar of a longer timeframe.
            let appended = match self.frame {
                Some(_) => grown > 0,
                None => change == Change::Appended,
            };
            match change {
                Change::Rewritten => {
                    // Older bars put in front keep the view where it was (it counts
                    // from the newest); fresh data fits a fitted chart.
                    if !self.seen && len > 0 {
                        self.seen = true;
                        if self.fit {
                            self.view.fit(len);
                        }
                    }
                    self.dirty.full = true;
                }
                _ if appended => {
                    self.view.appended(grown.max(1));
                    self.dirty.full = true;
                }
                _ => self.dirty.last = true,
            }
            self.schedule();
        }

        /// Rebuilds the chosen timeframe's bars: all of them, or the last few after a
        /// new or updated base bar.
        fn build_frame(&mut self, frame: Timeframe, change: Change) {
            let shared = self.shared.borrow();
            let base = shared.series.bars();
            let Some((_, bars)) = &mut self.frame else {
                return;
            };
            let span = frame.secs() * 1_000;
            match (change, bars.last()) {
                (Change::LastUpdated | Change::Appended, Some(last)) => {
                    let from = last.time;
                    let start = base.partition_point(|b| b.time < from);
                    bars.pop();
                    bars.extend(Bar::aggregate(base[start..].iter().copied(), span));
                }
                _ => *bars = Bar::aggregate(base.iter().copied(), span),
            }
        }

        fn len(&self) -> usize {
            match &self.frame {
                Some((_, bars)) => bars.len(),
                None => self.shared.borrow().series.len(),
            }
        }

        pub fn gesture(&mut self, gesture: Gesture) {
            let len = self.len();
            let width = self.painted.as_ref().map_or(1.0, |p| p.plot.width);
            let slot = self.view.slot(width).max(1e-6);
            match gesture {
                Gesture::Wheel { x, delta } => {
                    let factor = if delta > 0.0 { 1.15 } else { 1.0 / 1.15 };
                    self.view.zoom(factor, x / width, len);
                }
                Gesture::Down { id, x } => {
                    self.pointers.retain(|(p, _)| *p != id);
                    self.pointers.push((id, x));
                    return;
                }
                Gesture::Move { id, x, y } => {
                    let Some(i) = self.pointers.iter().position(|(p, _)| *p == id) else {
                        self.hover(x, y, width, len);
                        return;
                    };
                    if self.pointers.len() >= 2 {
                        // A pinch: zoom by how far apart the two pointers moved.
                        let other = self.pointers[1 - i.min(1)].1;
                        let (was, now) = ((self.pointers[i].1 - other).abs(), (x - other).abs());
                        if was > 4.0 && now > 4.0 {
                            self.view.zoom(was / now, (x + other) / 2.0 / width, len);
                        }
                    } else {
                        self.view.pan((x - self.pointers[i].1) / slot, len);
                    }
                    self.pointers[i].1 = x;
                    self.hover(x, y, width, len);
                }
                Gesture::Up { id } => {
                    self.pointers.retain(|(p, _)| *p != id);
                    return;
                }
                Gesture::Key(key) => {
                    let step = (self.view.span / 10.0).max(1.0);
                    match key {
                        Key::PanBack => self.view.pan(step, len),
                        Key::PanForward => self.view.pan(-step, len),
                        Key::ZoomIn => self.view.zoom(0.8, 1.0, len),
                        Key::ZoomOut => self.view.zoom(1.25, 1.0, len),
                        Key::Oldest => self.view.pan(len as f64, len),
                        Key::Live => self.view.live(),
                    }
                }
                Gesture::Frame(frame) => {
                    self.frame = frame.map(|f| (f, Vec::new()));
                    if let Some(f) = frame {
                        self.build_frame(f, Change::Rewritten);
                    }
                    let len = self.len();
                    self.known = len;
                    if self.fit {
                        self.view.fit(len);
                    } else {
                        self.view = Viewport::new(self.view.span);
                    }
                }
            }
            self.invalidate();
        }

        /// The crosshair at (`x`, `y`) of the plot.
        fn hover(&self, x: f64, y: f64, width: f64, len: usize) {
            let shared = self.shared.borrow();
            let bars = self.bars(&shared);
            let hover = (x <= width)
                .then(|| self.view.index_at(x, width, len))
                .flatten()
                .and_then(|i| bars.get(i))
                .map(|bar| Hover { bar: *bar, x, y });
            self.chart.hover.set(hover);
        }

        fn bars<'a>(&'a self, shared: &'a Shared) -> &'a [Bar] {
            match &self.frame {
                Some((_, bars)) => bars,
                None => shared.series.bars(),
            }
        }

        /// Everything must be repainted (new content, resize, a gesture).
        pub fn invalidate(&mut self) {
            self.dirty.full = true;
            self.schedule();
        }

        fn schedule(&mut self) {
            if self.dirty.scheduled {
                return;
            }
            let this = self.this.clone();
            self.dirty.scheduled = true;
            request_animation_frame(move || {
                if let Some(p) = this.upgrade() {
                    p.borrow_mut().paint();
                }
            });
        }

        fn paint(&mut self) {
            let dirty = std::mem::take(&mut self.dirty);
            let (Some(canvas), Some(_)) = (self.canvas.get_untracked(), self.area.get_untracked())
            else {
                return;
            };
            let Some(ctx) = context(&canvas) else {
                return;
            };
            let dpr = window().device_pixel_ratio().max(1.0);
            let css_w = f64::from(canvas.client_width());
            let css_h = f64::from(canvas.client_height());
            let (px_w, px_h) = ((css_w * dpr) as u32, (css_h * dpr) as u32);
            let resized = canvas.width() != px_w || canvas.height() != px_h;
            if resized {
                canvas.set_width(px_w);
                canvas.set_height(px_h);
            }
            let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
            let shared = Rc::clone(&self.shared);
            let shared = shared.borrow();
            let bars = self.bars(&shared);
            self.chart.last.set(bars.last().copied());
            let last_fits = match (&self.painted, bars.last()) {
                (Some(p), Some(last)) => {
                    p.dpr == dpr
                        && !p.dense
                        && p.scale.contains(last.low, last.high)
                        && last.volume <= p.most_volume
                }
                _ => false,
            };
            if dirty.full || resized || !last_fits {
                let painted = self.paint_all(&ctx, bars, css_w, css_h, dpr);
                self.chart.shown.set(bars.len());
                let (first, end) = self.view.range(bars.len());
                self.chart.visible.set(end - first);
                self.chart.live.set(self.view.is_live());
                self.ask_for_older(bars);
                drop(shared);
                self.painted = painted;
            } else if dirty.last {
                self.paint_last(&ctx, bars);
            }
        }

        /// Asks the page for the bars before the oldest held when the view nears it.
        fn ask_for_older(&self, bars: &[Bar]) {
            let (Some(older), Some(first)) = (self.older, bars.first()) else {
                return;
            };
            let feed = self.feed;
            if self.view.near_oldest(bars.len())
                && !feed.exhausted.get_untracked()
                && !feed.loading.get_untracked()
            {
                feed.loading.set(true);
                let oldest = self
                    .shared
                    .borrow()
                    .series
                    .bars()
                    .first()
                    .map_or(first.time, |b| b.time);
                older.run(oldest);
            }
        }

        fn paint_all(
            &self,
            ctx: &CanvasRenderingContext2d,
            bars: &[Bar],
            css_w: f64,
            css_h: f64,
            dpr: f64,
        ) -> Option<Painted> {
            ctx.clear_rect(0.0, 0.0, css_w, css_h);
            let oscillator = self.lines.iter().any(Indicator::is_oscillator);
            let plot = Plot::new(css_w, css_h, oscillator, self.view, bars.len());
            let (first, end) = self.view.range(bars.len());
            let close: Vec<f64> = bars.iter().map(|b| b.close).collect();
            let lines: Vec<(Indicator, Vec<f64>)> =
                self.lines.iter().map(|i| (*i, i.values(&close))).collect();
            let Some(scale) = fit_scale(bars, &lines, first, end) else {
                self.chart.overlay.set(String::new());
                return None;
            };
            let dates_only = self
                .frame
                .as_ref()
                .is_some_and(|(f, _)| *f == Timeframe::D1)
                || all_midnights(bars[first..end].iter().map(|b| b.time));
            self.chart.dates_only.set(dates_only);
            let most_volume = bars[first..end]
                .iter()
                .map(|b| b.volume)
                .fold(0.0, f64::max)
                * 1.2;
            grid(ctx, &plot, &scale, 0.0, plot.width);
            ctx.set_fill_style_str(TEXT);
            ctx.set_font("11px system-ui, sans-serif");
            ctx.set_text_align("left");
            let (top, h) = plot.price;
            for i in 0..=GRID_LINES {
                let price = scale.lo + (scale.hi - scale.lo) * i as f64 / GRID_LINES as f64;
                let y = plot.y(&scale, price);
                let _ = ctx.fill_text(
                    &format!("{:.*}", self.decimals, price),
                    plot.width + 6.0,
                    (y + 4.0).clamp(top + 10.0, top + h),
                );
            }
            ctx.set_text_align("center");
            let labels = ((end - first) / 6).max(1);
            // Narrower than a pixel, the bars of one pixel column are drawn as one.
            let mut column: Option<(f64, Bar)> = None;
            for (i, bar) in bars.iter().enumerate().take(end).skip(first) {
                let x = plot.x(i);
                if plot.slot() >= 1.0 {
                    candle(ctx, &plot, &scale, x, bar, most_volume);
                } else {
                    column = match column {
                        Some((cx, mut merged)) if cx == x.floor() => {
                            merged.high = merged.high.max(bar.high);
                            merged.low = merged.low.min(bar.low);
                            merged.close = bar.close;
                            merged.volume = merged.volume.max(bar.volume);
                            Some((cx, merged))
                        }
                        previous => {
                            if let Some((cx, merged)) = previous {
                                candle(ctx, &plot, &scale, cx, &merged, most_volume);
                            }
                            Some((x.floor(), *bar))
                        }
                    };
                }
                if (i - first) % labels == 0 {
                    let x = plot.x(i);
                    if x > 30.0 && x < plot.width - 30.0 {
                        let text = if dates_only {
                            time_at(bar.time, true)
                        } else {
                            bar.time.clock().get(..5).unwrap_or_default().to_owned()
                        };
                        ctx.set_fill_style_str(TEXT);
                        let _ = ctx.fill_text(&text, x, css_h - AXIS_BOTTOM / 2.0 + 4.0);
                    }
                }
            }
            if let Some((cx, merged)) = column {
                candle(ctx, &plot, &scale, cx, &merged, most_volume);
            }
            let overlay = Overlay {
                plot: &plot,
                scale: &scale,
                bars,
                lines: &lines,
                marks: &self.marks,
                dates_only,
                decimals: self.decimals,
            };
            let (placed, links) = overlay.placed();
            self.chart.overlay.set(overlay.svg(&placed, &links));
            let dense = placed.len() > MAX_DOM_MARKERS;
            if dense {
                markers(ctx, &placed);
            }
            self.chart
                .markers
                .set((placed.len(), if dense { "canvas" } else { "svg" }));
            Some(Painted {
                plot,
                scale,
                most_volume,
                dpr,
                dense,
            })
        }

        /// Repaints only the open candle's slot (its grid segments, then the candle).
        fn paint_last(&self, ctx: &CanvasRenderingContext2d, bars: &[Bar]) {
            let (Some(p), Some(last)) = (&self.painted, bars.last()) else {
                return;
            };
            let i = bars.len() - 1;
            let (first, end) = p.plot.view.range(bars.len());
            if !(first..end).contains(&i) {
                return;
            }
            let slot = p.plot.slot();
            let left = p.plot.x(i) - slot / 2.0;
            let (top, h) = p.plot.price;
            ctx.clear_rect(left, top, slot, h);
            grid(ctx, &p.plot, &p.scale, left, slot);
            candle(ctx, &p.plot, &p.scale, p.plot.x(i), last, p.most_volume);
        }
    }

    fn context(canvas: &web_sys::HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
        canvas
            .get_context("2d")
            .ok()
            .flatten()?
            .dyn_into::<CanvasRenderingContext2d>()
            .ok()
    }

    fn grid(ctx: &CanvasRenderingContext2d, plot: &Plot, scale: &PriceScale, x: f64, w: f64) {
        ctx.set_fill_style_str(GRID);
        let (top, h) = plot.price;
        for i in 0..=GRID_LINES {
            let price = scale.lo + (scale.hi - scale.lo) * i as f64 / GRID_LINES as f64;
            let y = plot.y(scale, price).round();
            ctx.fill_rect(x, y.min(top + h - 1.0), w, 1.0);
        }
    }

    /// Markers too many to be elements, painted (a buy points up), one per 2 px square
    /// and kind: at that density more would paint the same pixels. Their links are
    /// left out: a line between two markers a pixel apart says nothing.
    fn markers(ctx: &CanvasRenderingContext2d, placed: &[Placed<'_>]) {
        let mut drawn = std::collections::HashSet::new();
        for (buy, colour) in [(true, UP), (false, DOWN)] {
            ctx.begin_path();
            for p in placed.iter().filter(|p| p.mark.is_buy() == buy) {
                if !drawn.insert(((p.x / 2.0) as i32, (p.y / 2.0) as i32, buy)) {
                    continue;
                }
                let tip = if buy { 6.0 } else { -6.0 };
                ctx.move_to(p.x, p.y);
                ctx.line_to(p.x - 3.5, p.y + tip);
                ctx.line_to(p.x + 3.5, p.y + tip);
                ctx.close_path();
            }
            ctx.set_fill_style_str(colour);
            ctx.fill();
        }
    }

    /// A bar's volume, wick and body centred on `centre` (a wick alone when slots are
    /// narrower than 3 px).
    fn candle(
        ctx: &CanvasRenderingContext2d,
        plot: &Plot,
        scale: &PriceScale,
        centre: f64,
        bar: &Bar,
        most_volume: f64,
    ) {
        let up = bar.close >= bar.open;
        let slot = plot.slot();
        let body = (slot * 0.7).max(1.0);
        let (_, h) = plot.price;
        let volume_top = plot.volume_y(bar.volume, most_volume);
        ctx.set_fill_style_str(if up { UP_VOLUME } else { DOWN_VOLUME });
        ctx.fill_rect(
            centre - body / 2.0,
            volume_top,
            body,
            (h - volume_top).max(0.0),
        );
        ctx.set_fill_style_str(if up { UP } else { DOWN });
        let (high, low) = (plot.y(scale, bar.high), plot.y(scale, bar.low));
        ctx.fill_rect(centre.floor(), high, 1.0, (low - high).max(1.0));
        if slot >= 3.0 {
            let (top, bottom) = (
                plot.y(scale, bar.open.max(bar.close)),
                plot.y(scale, bar.open.min(bar.close)),
            );
            ctx.fill_rect(centre - body / 2.0, top, body, (bottom - top).max(1.0));
        }
    }
}
