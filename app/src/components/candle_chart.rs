//! The live candlestick chart: a canvas that redraws only the open candle's slot when it
//! ticks, and everything only when a candle is added or the price leaves the scale. At
//! most one paint per animation frame, however many messages arrive.
//!
//! The page feeds it through a [`CandleFeed`], which also keeps the figures tests read
//! from `data-*` attributes: the last seq, the candle count and the gaps seen (a seq
//! that is not the previous one plus one; the stream guarantees 0).

use leptos::html::Canvas;
use leptos::prelude::*;

use protocol::Candle;

/// Candles a chart keeps (the canvas shows the most recent that fit).
pub const CHART_CANDLES: usize = 1_000;

/// The page's handle on its chart. `Copy`.
#[derive(Clone, Copy)]
pub struct CandleFeed {
    pub last_seq: RwSignal<u64>,
    pub count: RwSignal<usize>,
    pub gaps: RwSignal<u32>,
    canvas: NodeRef<Canvas>,
    #[cfg(feature = "hydrate")]
    painter: StoredValue<std::rc::Rc<std::cell::RefCell<paint::Painter>>, LocalStorage>,
}

impl CandleFeed {
    pub fn new() -> Self {
        let canvas = NodeRef::new();
        CandleFeed {
            last_seq: RwSignal::new(0),
            count: RwSignal::new(0),
            gaps: RwSignal::new(0),
            canvas,
            #[cfg(feature = "hydrate")]
            painter: StoredValue::new_local(paint::shared(canvas)),
        }
    }

    /// Replaces the chart's candles (a snapshot consistent with `last_seq`).
    pub fn reset(&self, candles: &[Candle], last_seq: u64) {
        self.last_seq.set(last_seq);
        #[cfg(feature = "hydrate")]
        if let Some(p) = self.painter.try_get_value() {
            let mut p = p.borrow_mut();
            p.reset(candles);
            self.count.set(p.len());
        }
        #[cfg(not(feature = "hydrate"))]
        self.count.set(candles.len().min(CHART_CANDLES));
    }

    /// Notes message `seq` of the topic and applies its candle, if it carries one.
    pub fn message(&self, seq: u64, candle: Option<&Candle>) {
        let expected = self.last_seq.get_untracked() + 1;
        if seq != expected {
            self.gaps.update(|g| *g += 1);
        }
        self.last_seq.set(seq);
        #[cfg(feature = "hydrate")]
        if let (Some(candle), Some(p)) = (candle, self.painter.try_get_value()) {
            let mut p = p.borrow_mut();
            p.upsert(candle.clone());
            self.count.set(p.len());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = candle;
    }
}

impl Default for CandleFeed {
    fn default() -> Self {
        Self::new()
    }
}

/// The chart's canvas, with the test hooks as attributes.
#[component]
pub fn CandleChart(feed: CandleFeed, #[prop(into)] decimals: Signal<usize>) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            let d = decimals.get();
            if let Some(p) = feed.painter.try_get_value() {
                p.borrow_mut().set_decimals(d);
            }
        });
        let resize = window_event_listener(leptos::ev::resize, move |_| {
            if let Some(p) = feed.painter.try_get_value() {
                p.borrow_mut().invalidate();
            }
        });
        on_cleanup(move || resize.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = decimals;
    view! {
        <canvas
            class="price-chart"
            node_ref=feed.canvas
            data-testid="price-chart"
            data-last-seq=move || feed.last_seq.get()
            data-candle-count=move || feed.count.get()
            data-gaps=move || feed.gaps.get()
        ></canvas>
    }
}

#[cfg(feature = "hydrate")]
mod paint {
    use std::cell::RefCell;
    use std::rc::Rc;

    use leptos::html::Canvas;
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::CanvasRenderingContext2d;

    use super::CHART_CANDLES;
    use crate::chart::{CandleSeries, Change, Layout, PriceScale, GRID, TEXT};
    use protocol::Candle;

    /// Room on the right for price labels and at the bottom for times.
    const AXIS_RIGHT: f64 = 72.0;
    const AXIS_BOTTOM: f64 = 20.0;
    const SLOT: f64 = 9.0;
    const GRID_LINES: usize = 5;
    const UP: &str = "#26a69a";
    const DOWN: &str = "#ef5350";

    /// What the next frame must paint.
    #[derive(Default)]
    struct Dirty {
        full: bool,
        last: bool,
        scheduled: bool,
    }

    /// What the last full paint laid out, so the open candle can be painted alone.
    struct Painted {
        layout: Layout,
        scale: PriceScale,
        shown: usize,
        dpr: f64,
    }

    pub struct Painter {
        canvas: NodeRef<Canvas>,
        series: CandleSeries,
        decimals: usize,
        dirty: Dirty,
        painted: Option<Painted>,
        this: Option<std::rc::Weak<RefCell<Painter>>>,
    }

    impl Painter {
        fn new(canvas: NodeRef<Canvas>) -> Self {
            Painter {
                canvas,
                series: CandleSeries::new(CHART_CANDLES),
                decimals: 2,
                dirty: Dirty::default(),
                painted: None,
                this: None,
            }
        }

        pub fn len(&self) -> usize {
            self.series.len()
        }

        pub fn set_decimals(&mut self, d: usize) {
            self.decimals = d;
            self.invalidate();
        }

        pub fn reset(&mut self, candles: &[Candle]) {
            self.series.reset(candles.iter().cloned());
            self.invalidate();
        }

        pub fn upsert(&mut self, candle: Candle) {
            match self.series.upsert(candle) {
                Change::LastUpdated => self.dirty.last = true,
                Change::Appended | Change::Rewritten => self.dirty.full = true,
            }
            self.schedule();
        }

        /// Everything must be repainted (new data set, resize).
        pub fn invalidate(&mut self) {
            self.dirty.full = true;
            self.schedule();
        }

        fn schedule(&mut self) {
            if self.dirty.scheduled {
                return;
            }
            let Some(this) = self.this.clone() else {
                return;
            };
            self.dirty.scheduled = true;
            request_animation_frame(move || {
                if let Some(p) = this.upgrade() {
                    p.borrow_mut().paint();
                }
            });
        }

        fn paint(&mut self) {
            let dirty = std::mem::take(&mut self.dirty);
            let Some(canvas) = self.canvas.get_untracked() else {
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
            let last_fits = match (&self.painted, self.series.last()) {
                (Some(p), Some(last)) => p.dpr == dpr && p.scale.contains(last.low, last.high),
                _ => false,
            };
            if dirty.full || resized || !last_fits {
                self.paint_all(&ctx, css_w, css_h, dpr);
            } else if dirty.last {
                self.paint_last(&ctx);
            }
        }

        fn paint_all(&mut self, ctx: &CanvasRenderingContext2d, css_w: f64, css_h: f64, dpr: f64) {
            ctx.clear_rect(0.0, 0.0, css_w, css_h);
            let layout = Layout {
                width: (css_w - AXIS_RIGHT).max(SLOT),
                height: (css_h - AXIS_BOTTOM).max(10.0),
                slot: SLOT,
            };
            let shown: Vec<&Candle> = self.series.tail(layout.capacity()).collect();
            let Some(scale) = PriceScale::fit(shown.iter().map(|c| (c.low, c.high))) else {
                self.painted = None;
                return;
            };
            grid(ctx, &layout, &scale, 0.0, layout.width);
            ctx.set_fill_style_str(TEXT);
            ctx.set_font("11px system-ui, sans-serif");
            ctx.set_text_align("left");
            for i in 0..=GRID_LINES {
                let price = scale.lo + (scale.hi - scale.lo) * i as f64 / GRID_LINES as f64;
                let y = layout.y(&scale, price);
                let _ = ctx.fill_text(
                    &format!("{:.*}", self.decimals, price),
                    layout.width + 6.0,
                    (y + 4.0).clamp(10.0, layout.height),
                );
            }
            ctx.set_text_align("center");
            let every = (shown.len() / 6).max(1);
            for (i, c) in shown.iter().enumerate() {
                candle(ctx, &layout, &scale, layout.slot_x(i, shown.len()), c);
                if i % every == 0 {
                    let label = c.open_time.clock();
                    let x = layout.slot_x(i, shown.len()) + SLOT / 2.0;
                    if x > 24.0 && x < layout.width - 24.0 {
                        ctx.set_fill_style_str(TEXT);
                        let _ = ctx.fill_text(&label, x, css_h - 5.0);
                    }
                }
            }
            self.painted = Some(Painted {
                layout,
                scale,
                shown: shown.len(),
                dpr,
            });
        }

        /// Repaints only the open candle's slot (its grid segments, then the candle).
        fn paint_last(&self, ctx: &CanvasRenderingContext2d) {
            let (Some(p), Some(last)) = (&self.painted, self.series.last()) else {
                return;
            };
            let x = p.layout.slot_x(p.shown - 1, p.shown);
            ctx.clear_rect(x, 0.0, SLOT, p.layout.height);
            grid(ctx, &p.layout, &p.scale, x, SLOT);
            candle(ctx, &p.layout, &p.scale, x, last);
        }
    }

    /// Creates the painter with the back-reference its animation-frame callback needs.
    pub fn shared(canvas: NodeRef<Canvas>) -> Rc<RefCell<Painter>> {
        let painter = Rc::new(RefCell::new(Painter::new(canvas)));
        painter.borrow_mut().this = Some(Rc::downgrade(&painter));
        painter
    }

    fn context(canvas: &web_sys::HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
        canvas
            .get_context("2d")
            .ok()
            .flatten()?
            .dyn_into::<CanvasRenderingContext2d>()
            .ok()
    }

    fn grid(ctx: &CanvasRenderingContext2d, layout: &Layout, scale: &PriceScale, x: f64, w: f64) {
        ctx.set_fill_style_str(GRID);
        for i in 0..=GRID_LINES {
            let price = scale.lo + (scale.hi - scale.lo) * i as f64 / GRID_LINES as f64;
            let y = layout.y(scale, price).round();
            ctx.fill_rect(x, y.min(layout.height - 1.0), w, 1.0);
        }
    }

    fn candle(
        ctx: &CanvasRenderingContext2d,
        layout: &Layout,
        scale: &PriceScale,
        x: f64,
        c: &Candle,
    ) {
        ctx.set_fill_style_str(if c.close >= c.open { UP } else { DOWN });
        let centre = (x + SLOT / 2.0).floor();
        let (high, low) = (layout.y(scale, c.high), layout.y(scale, c.low));
        ctx.fill_rect(centre, high, 1.0, (low - high).max(1.0));
        let (top, bottom) = (
            layout.y(scale, c.open.max(c.close)),
            layout.y(scale, c.open.min(c.close)),
        );
        ctx.fill_rect(x + 1.5, top, SLOT - 3.0, (bottom - top).max(1.0));
    }
}
