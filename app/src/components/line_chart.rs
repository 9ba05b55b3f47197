//! Line charts on a canvas (equity, drawdown), repainted when their points change: one
//! line, or several overlaid on one scale (the compare view's runs).

use leptos::html::Canvas;
use leptos::prelude::*;

/// `points` as (x, y) pairs in x order; `format` writes the y-axis labels.
#[component]
pub fn LineChart(
    #[prop(into)] points: Signal<Vec<(f64, f64)>>,
    colour: &'static str,
    label: &'static str,
    testid: &'static str,
    /// Fill the area between the line and zero (drawdowns).
    #[prop(optional)]
    fill: bool,
    /// A line to read the first against (buy and hold), on the same scale, in grey.
    #[prop(optional, into)]
    reference: Signal<Vec<(f64, f64)>>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let (points, reference) = (points.get(), reference.get());
        if let Some(canvas) = canvas.get() {
            paint::paint(
                &canvas,
                &[(&reference, paint::REFERENCE), (&points, colour)],
                fill,
            );
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (colour, fill, reference);
    view! {
        <figure class="line-chart">
            <figcaption>{label}</figcaption>
            <canvas
                node_ref=canvas
                data-testid=testid
                data-points=move || points.with(Vec::len)
            ></canvas>
        </figure>
    }
}

/// Colours of overlaid lines, in order (the legend uses the same).
pub const PALETTE: [&str; 4] = ["#4f9cf9", "#ffb74d", "#66bb6a", "#ce93d8"];

/// `series` overlaid on one scale, each in its [`PALETTE`] colour.
#[component]
pub fn OverlayChart(
    #[prop(into)] series: Signal<Vec<Vec<(f64, f64)>>>,
    label: &'static str,
    testid: &'static str,
    #[prop(optional)] fill: bool,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let series = series.get();
        if let Some(canvas) = canvas.get() {
            let lines: Vec<(&[(f64, f64)], &str)> = series
                .iter()
                .zip(PALETTE.iter().cycle())
                .map(|(points, colour)| (points.as_slice(), *colour))
                .collect();
            paint::paint(&canvas, &lines, fill);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = fill;
    view! {
        <figure class="line-chart">
            <figcaption>{label}</figcaption>
            <canvas
                node_ref=canvas
                data-testid=testid
                data-series=move || series.with(Vec::len)
            ></canvas>
        </figure>
    }
}

#[cfg(feature = "hydrate")]
mod paint {
    use leptos::prelude::window;
    use wasm_bindgen::JsCast;
    use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

    use crate::chart::{PriceScale, GRID, TEXT};

    const AXIS_RIGHT: f64 = 64.0;
    /// Colour of a reference line (buy and hold).
    pub const REFERENCE: &str = "#9e9e9e";

    /// Paints each `(points, colour)` line on one scale fitting them all.
    pub fn paint(canvas: &HtmlCanvasElement, lines: &[(&[(f64, f64)], &str)], fill: bool) {
        let Some(ctx) = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
        else {
            return;
        };
        let dpr = window().device_pixel_ratio().max(1.0);
        let (w, h) = (
            f64::from(canvas.client_width()),
            f64::from(canvas.client_height()),
        );
        canvas.set_width((w * dpr) as u32);
        canvas.set_height((h * dpr) as u32);
        let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
        ctx.clear_rect(0.0, 0.0, w, h);
        let plot_w = (w - AXIS_RIGHT).max(1.0);
        let all = || lines.iter().flat_map(|(points, _)| points.iter());
        let ys = all().map(|p| (p.1, p.1));
        let Some(scale) = PriceScale::fit(ys.chain(fill.then_some((0.0, 0.0)))) else {
            return;
        };
        let x0 = all().map(|p| p.0).fold(f64::INFINITY, f64::min);
        let x1 = all().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
        // No span to draw across (one point, or none: the folds are infinite).
        if x1.partial_cmp(&x0) != Some(std::cmp::Ordering::Greater) {
            return;
        }
        let px = |x: f64| (x - x0) / (x1 - x0) * plot_w;
        let py = |y: f64| (scale.hi - y) / (scale.hi - scale.lo) * h;
        ctx.set_font("11px system-ui, sans-serif");
        for i in 0..=4 {
            let v = scale.lo + (scale.hi - scale.lo) * f64::from(i) / 4.0;
            ctx.set_fill_style_str(GRID);
            ctx.fill_rect(0.0, py(v).round().min(h - 1.0), plot_w, 1.0);
            ctx.set_fill_style_str(TEXT);
            let _ = ctx.fill_text(
                &format!("{v:.2}"),
                plot_w + 6.0,
                (py(v) + 4.0).clamp(10.0, h - 2.0),
            );
        }
        for (points, colour) in lines {
            let (Some(first), Some(last)) = (points.first(), points.last()) else {
                continue;
            };
            ctx.begin_path();
            for (i, (x, y)) in points.iter().enumerate() {
                if i == 0 {
                    ctx.move_to(px(*x), py(*y));
                } else {
                    ctx.line_to(px(*x), py(*y));
                }
            }
            ctx.set_stroke_style_str(colour);
            ctx.set_line_width(1.5);
            ctx.stroke();
            if fill {
                ctx.line_to(px(last.0), py(0.0));
                ctx.line_to(px(first.0), py(0.0));
                ctx.close_path();
                ctx.set_global_alpha(0.25 / lines.len() as f64);
                ctx.set_fill_style_str(colour);
                ctx.fill();
                ctx.set_global_alpha(1.0);
            }
        }
    }
}
