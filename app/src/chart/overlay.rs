//! The price chart's panes in pixels, and the SVG drawn over its canvas: indicator
//! lines, the RSI pane with its thresholds, and the trade markers with the links from
//! each exit to its entry. Elements, not pixels, so they are labelled for screen
//! readers, show their P&L on hover and are found by tests (`trade-marker`,
//! `indicator-line`). Only what is in view is drawn.

use std::fmt::Write as _;

use protocol::api::Bar;
use protocol::TradeAction;

use super::marks::{Formula, Indicator, TradeMark};
use super::viewport::Viewport;
use super::PriceScale;
use crate::components::format::time_at;

/// Room on the right for price labels and at the bottom for times.
pub const AXIS_RIGHT: f64 = 72.0;
pub const AXIS_BOTTOM: f64 = 20.0;
/// Share of the price pane the volume bars may fill (at its bottom).
const VOLUME_SHARE: f64 = 0.2;
/// Share of the chart's height an oscillator pane takes.
const OSCILLATOR_SHARE: f64 = 0.25;

/// Markers in view beyond which they are painted on the canvas, not made elements: a
/// few hundred are what a user can point at one by one (and a screen reader list); a
/// whole run's thousands, a pixel apart, rebuilt as elements on every frame of a pan,
/// would cost a browser 200 ms a frame (BENCHMARKS.md, "Dashboard budgets").
pub const MAX_DOM_MARKERS: usize = 400;

/// A marker in view, and where.
#[derive(Clone, Copy, Debug)]
pub struct Placed<'a> {
    pub mark: &'a TradeMark,
    pub x: f64,
    pub y: f64,
}

/// A line from an exit in view to its entry in view.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    /// The round trip's id.
    pub id: u64,
    pub win: bool,
    pub from: (f64, f64),
    pub to: (f64, f64),
}

/// Where each pane is, for one paint.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plot {
    pub width: f64,
    /// Top and height of the candles' pane.
    pub price: (f64, f64),
    /// Top and height of an oscillator's pane, if the chart has one.
    pub oscillator: Option<(f64, f64)>,
    pub view: Viewport,
    /// Bars in the series.
    pub len: usize,
}

impl Plot {
    pub fn new(css_w: f64, css_h: f64, oscillator: bool, view: Viewport, len: usize) -> Self {
        let width = (css_w - AXIS_RIGHT).max(10.0);
        let body = (css_h - AXIS_BOTTOM).max(20.0);
        let (price_h, oscillator) = if oscillator {
            let h = (body * OSCILLATOR_SHARE).floor();
            (body - h - 6.0, Some((body - h, h)))
        } else {
            (body, None)
        };
        Plot {
            width,
            price: (0.0, price_h),
            oscillator,
            view,
            len,
        }
    }

    pub fn x(&self, i: usize) -> f64 {
        self.view.x(i, self.width, self.len)
    }

    pub fn slot(&self) -> f64 {
        self.view.slot(self.width)
    }

    /// The y of `price` in the price pane.
    pub fn y(&self, scale: &PriceScale, price: f64) -> f64 {
        let (top, h) = self.price;
        let span = scale.hi - scale.lo;
        if span <= 0.0 {
            return top + h / 2.0;
        }
        top + (scale.hi - price) / span * h
    }

    /// The top of a volume bar of `volume` when `most` fills the volume band.
    pub fn volume_y(&self, volume: f64, most: f64) -> f64 {
        let (top, h) = self.price;
        let bottom = top + h;
        if most <= 0.0 {
            return bottom;
        }
        bottom - volume / most * h * VOLUME_SHARE
    }

    /// The y of an oscillator value (0 to 100) in its pane.
    fn oscillator_y(&self, value: f64) -> Option<f64> {
        let (top, h) = self.oscillator?;
        Some(top + (100.0 - value.clamp(0.0, 100.0)) / 100.0 * h)
    }
}

/// The price range in view: the bars' and the price-pane lines' values.
pub fn fit_scale(
    bars: &[Bar],
    lines: &[(Indicator, Vec<f64>)],
    first: usize,
    end: usize,
) -> Option<PriceScale> {
    let candles = bars[first..end].iter().map(|b| (b.low, b.high));
    let line_values = lines
        .iter()
        .filter(|(i, _)| !i.is_oscillator())
        .flat_map(|(_, v)| v[first..end].iter().map(|&v| (v, v)));
    PriceScale::fit(candles.chain(line_values))
}

/// What the overlay shows, as SVG markup for the overlay's `<svg>`.
pub struct Overlay<'a> {
    pub plot: &'a Plot,
    pub scale: &'a PriceScale,
    pub bars: &'a [Bar],
    pub lines: &'a [(Indicator, Vec<f64>)],
    pub marks: &'a [TradeMark],
    pub dates_only: bool,
    pub decimals: usize,
}

impl Overlay<'_> {
    /// The overlay's markup: the lines, and the markers with their links unless there
    /// are more than [`MAX_DOM_MARKERS`] in view (`placed` comes from [`Self::placed`]; the
    /// chart paints dense ones on its canvas instead).
    pub fn svg(&self, placed: &[Placed<'_>], links: &[Link]) -> String {
        let mut out = String::new();
        let (first, end) = self.plot.view.range(self.bars.len());
        for (indicator, values) in self.lines {
            self.line(&mut out, indicator, values, first, end);
        }
        if placed.len() <= MAX_DOM_MARKERS {
            self.markers(&mut out, placed, links);
        }
        out
    }

    fn line(
        &self,
        out: &mut String,
        indicator: &Indicator,
        values: &[f64],
        first: usize,
        end: usize,
    ) {
        let mut points = String::new();
        // At most a point per half pixel: thousands of bars across a chart draw the same
        // line with a fraction of the markup.
        let mut drawn_x = f64::NEG_INFINITY;
        for (i, v) in values.iter().enumerate().take(end).skip(first) {
            let x = self.plot.x(i);
            if !v.is_finite() || (x - drawn_x < 0.5 && i + 1 < end) {
                continue;
            }
            let y = match indicator.formula {
                Formula::Rsi { .. } => self.plot.oscillator_y(*v),
                _ => Some(self.plot.y(self.scale, *v)),
            };
            if let Some(y) = y {
                let _ = write!(points, "{x:.1},{y:.1} ");
                drawn_x = x;
            }
        }
        let name = indicator.name;
        let last = values[..end].iter().rev().find(|v| v.is_finite());
        let _ = write!(
            out,
            r#"<polyline class="indicator {name}" data-testid="indicator-line" data-name="{name}" data-last="{}" points="{}"><title>{}</title></polyline>"#,
            last.map_or(String::new(), |v| format!("{v:.4}")),
            points.trim_end(),
            label(indicator),
        );
        if let (
            Formula::Rsi {
                period,
                lower,
                upper,
            },
            Some((top, _)),
        ) = (indicator.formula, self.plot.oscillator)
        {
            for level in [lower, upper] {
                let y = self.plot.oscillator_y(level).unwrap_or(top);
                let _ = write!(
                    out,
                    r#"<line class="threshold" data-testid="rsi-threshold" data-value="{level}" x1="0" x2="{w:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{tx:.1}" y="{ty:.1}">{level}</text>"#,
                    w = self.plot.width,
                    tx = self.plot.width + 6.0,
                    ty = y + 4.0,
                );
            }
            let _ = write!(
                out,
                r#"<text class="axis" x="4" y="{:.1}">RSI {period}</text>"#,
                top + 12.0,
            );
        }
    }

    /// The bar a fill at `mark.time` belongs to (the last opening at or before it).
    fn bar_of(&self, mark: &TradeMark) -> Option<usize> {
        self.bars
            .partition_point(|b| b.time <= mark.time)
            .checked_sub(1)
    }

    /// The markers in view and where, and the links from each exit in view to its entry
    /// in view.
    pub fn placed(&self) -> (Vec<Placed<'_>>, Vec<Link>) {
        let (first, end) = self.plot.view.range(self.bars.len());
        let at = |m: &TradeMark| {
            let i = self.bar_of(m).filter(|i| (first..end).contains(i))?;
            Some((self.plot.x(i), self.plot.y(self.scale, m.price)))
        };
        let placed: Vec<Placed<'_>> = self
            .marks
            .iter()
            .filter_map(|mark| at(mark).map(|(x, y)| Placed { mark, x, y }))
            .collect();
        let entries: std::collections::HashMap<u64, (f64, f64)> = placed
            .iter()
            .filter(|p| p.mark.action == TradeAction::Entry)
            .map(|p| (p.mark.id, (p.x, p.y)))
            .collect();
        let links = placed
            .iter()
            .filter(|p| p.mark.action == TradeAction::Exit)
            .filter_map(|p| {
                entries.get(&p.mark.id).map(|&from| Link {
                    id: p.mark.id,
                    win: p.mark.pnl.unwrap_or(0.0) >= 0.0,
                    from,
                    to: (p.x, p.y),
                })
            })
            .collect();
        (placed, links)
    }

    fn markers(&self, out: &mut String, placed: &[Placed<'_>], links: &[Link]) {
        // Links first, so markers sit on top of them.
        for link in links {
            let outcome = if link.win { "win" } else { "loss" };
            let ((x1, y1), (x2, y2)) = (link.from, link.to);
            let _ = write!(
                out,
                r#"<line class="trade-link {outcome}" data-trade="{}" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}"/>"#,
                link.id,
            );
        }
        let d = self.decimals;
        for &Placed { mark: m, x, y } in placed {
            let side: &'static str = m.side.into();
            let action: &'static str = m.action.into();
            let (class, shape) = if m.is_buy() {
                ("buy", format!("M{x:.1},{y:.1}l-5,9h10z"))
            } else {
                ("sell", format!("M{x:.1},{y:.1}l-5,-9h10z"))
            };
            let when = time_at(m.time, self.dates_only);
            let mut title = format!(
                "{} {side} {action} at {:.d$}, {when}",
                if m.is_buy() { "Buy:" } else { "Sell:" },
                m.price
            );
            if let Some(pnl) = m.pnl {
                let _ = write!(title, " · P&amp;L {pnl:+.2}");
                if let Some(r) = m.return_pct {
                    let _ = write!(title, " ({r:+.2}%)");
                }
            }
            let _ = write!(
                out,
                r#"<g class="trade-marker {class}" data-testid="trade-marker" data-trade="{id}" data-side="{side}" data-action="{action}" data-price="{price}" data-time="{time}" role="img" aria-label="{title}"><title>{title}</title><path d="{shape}"/></g>"#,
                id = m.id,
                price = m.price,
                time = m.time,
            );
        }
    }
}

/// How a line is named on hover and in the legend.
pub fn label(indicator: &Indicator) -> String {
    match indicator.formula {
        Formula::Sma(n) => format!("SMA {n}"),
        Formula::Ema(n) => format!("EMA {n}"),
        Formula::Rsi { period, .. } => format!("RSI {period}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::marks::{of_trades, MARKET_LINES};
    use protocol::{Side, Timestamp, Trade};

    fn bars(n: i64) -> Vec<Bar> {
        (0..n)
            .map(|d| Bar {
                time: Timestamp::from_unix_ms(d * 86_400_000),
                open: 100.0 + d as f64,
                high: 102.0 + d as f64,
                low: 99.0 + d as f64,
                close: 101.0 + d as f64,
                volume: 10.0,
            })
            .collect()
    }

    fn trade(id: u64, action: TradeAction, day: i64, pnl: Option<f64>) -> Trade {
        Trade {
            id,
            side: Side::Long,
            action,
            time: Timestamp::from_unix_ms(day * 86_400_000),
            price: 100.0 + day as f64,
            size: 1.0,
            pnl,
            return_pct: pnl,
            reason: "signal".into(),
        }
    }

    fn markup(overlay: &Overlay<'_>) -> String {
        let (placed, links) = overlay.placed();
        overlay.svg(&placed, &links)
    }

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    #[test]
    fn markers_in_view_are_drawn_at_their_bars_with_the_exit_linked_to_its_entry() {
        let bars = bars(40);
        let marks = of_trades(&[
            trade(1, TradeAction::Entry, 2, None),
            trade(1, TradeAction::Exit, 30, Some(-3.5)),
            trade(2, TradeAction::Entry, 35, None),
        ]);
        let close: Vec<f64> = bars.iter().map(|b| b.close).collect();
        let lines: Vec<(Indicator, Vec<f64>)> = MARKET_LINES
            .iter()
            .map(|i| (*i, i.values(&close)))
            .collect();
        let mut view = Viewport::new(40.0);
        let plot = Plot::new(472.0, 320.0, false, view, bars.len());
        let scale = fit_scale(&bars, &lines, 0, 40).unwrap();
        let overlay = Overlay {
            plot: &plot,
            scale: &scale,
            bars: &bars,
            lines: &lines,
            marks: &marks,
            dates_only: true,
            decimals: 2,
        };
        let svg = markup(&overlay);
        assert_eq!(count(&svg, r#"data-testid="trade-marker""#), 3);
        assert_eq!(count(&svg, r#"data-testid="indicator-line""#), 2);
        assert!(svg.contains(r#"data-name="sma_20""#) && svg.contains(r#"data-name="ema_12""#));
        assert!(svg.contains(r#"class="trade-link loss" data-trade="1""#));
        assert!(svg.contains(r#"data-trade="1" data-side="long" data-action="exit" data-price="130" data-time="1970-01-31T00:00:00.000Z""#));
        assert!(svg.contains("P&amp;L -3.50 (-3.50%)"), "{svg}");
        assert!(
            svg.contains("at 102.00, 1970-01-03"),
            "dates for a daily series"
        );

        // Zoomed to the last 10 bars: the exit on day 30 and the entry on day 35 are in
        // view, the exit's entry (day 2) is not, so there is no link to draw.
        view.zoom(0.25, 1.0, bars.len());
        let plot = Plot { view, ..plot };
        let svg = markup(&Overlay {
            plot: &plot,
            ..overlay
        });
        assert_eq!(count(&svg, r#"data-testid="trade-marker""#), 2);
        assert_eq!(count(&svg, "trade-link"), 0);
    }

    #[test]
    fn past_a_few_hundred_in_view_markers_are_left_to_the_canvas() {
        let bars = bars(1_000);
        let trades: Vec<Trade> = (0..1_000)
            .map(|d| {
                let action = if d % 2 == 0 {
                    TradeAction::Entry
                } else {
                    TradeAction::Exit
                };
                trade(d as u64 / 2, action, d, (d % 2 == 1).then_some(1.0))
            })
            .collect();
        let marks = of_trades(&trades);
        let mut view = Viewport::new(1_000.0);
        let plot = Plot::new(1_072.0, 320.0, false, view, bars.len());
        let scale = fit_scale(&bars, &[], 0, 1_000).unwrap();
        let overlay = Overlay {
            plot: &plot,
            scale: &scale,
            bars: &bars,
            lines: &[],
            marks: &marks,
            dates_only: true,
            decimals: 2,
        };
        let (placed, links) = overlay.placed();
        assert_eq!((placed.len(), links.len()), (1_000, 500));
        assert_eq!(count(&overlay.svg(&placed, &links), "trade-marker"), 0);
        // Zoomed in to 100 bars, they are elements again.
        view.zoom(0.1, 1.0, bars.len());
        let plot = Plot { view, ..plot };
        assert_eq!(
            count(
                &markup(&Overlay {
                    plot: &plot,
                    ..overlay
                }),
                r#"data-testid="trade-marker""#
            ),
            100
        );
    }

    #[test]
    fn an_rsi_has_a_pane_of_its_own_with_its_thresholds() {
        let bars = bars(30);
        let rsi = crate::chart::marks::strategy_lines("rsi_reversion", &Default::default());
        let close: Vec<f64> = bars.iter().map(|b| b.close).collect();
        let lines: Vec<(Indicator, Vec<f64>)> =
            rsi.iter().map(|i| (*i, i.values(&close))).collect();
        let plot = Plot::new(472.0, 400.0, true, Viewport::new(30.0), bars.len());
        let (top, _) = plot.oscillator.unwrap();
        assert!(top > plot.price.1, "below the candles");
        let scale = fit_scale(&bars, &lines, 0, 30).unwrap();
        assert_eq!(
            (scale.lo, scale.hi),
            fit_scale(&bars, &[], 0, 30).map(|s| (s.lo, s.hi)).unwrap(),
            "RSI does not stretch the price scale"
        );
        let svg = markup(&Overlay {
            plot: &plot,
            scale: &scale,
            bars: &bars,
            lines: &lines,
            marks: &[],
            dates_only: true,
            decimals: 2,
        });
        assert!(
            svg.contains(r#"data-name="rsi" data-last="100.0000""#),
            "only rises: {svg}"
        );
        assert_eq!(count(&svg, r#"data-testid="rsi-threshold""#), 2);
    }
}
