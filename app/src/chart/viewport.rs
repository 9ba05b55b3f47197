//! Which bars a chart shows: how many across (`span`, the zoom) and how far behind the
//! newest its right edge is (`back`, the pan; 0 follows the live edge). Bars are indexed
//! oldest first; positions are fractional so a drag moves the chart by pixels.

/// The fewest bars a chart zooms in to.
pub const MIN_SPAN: f64 = 10.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewport {
    pub span: f64,
    pub back: f64,
}

impl Viewport {
    pub fn new(span: f64) -> Self {
        Viewport {
            span: span.max(MIN_SPAN),
            back: 0.0,
        }
    }

    /// Following the newest bar (new bars scroll in).
    pub fn is_live(&self) -> bool {
        self.back <= 0.0
    }

    /// The fractional index at the right edge of a series of `len` bars.
    pub fn right(&self, len: usize) -> f64 {
        len as f64 - self.back
    }

    /// The bars in view, `first..end`, of a series of `len`.
    pub fn range(&self, len: usize) -> (usize, usize) {
        let right = self.right(len);
        let end = right.ceil().clamp(0.0, len as f64) as usize;
        let first = (right - self.span).floor().clamp(0.0, len as f64) as usize;
        (first.min(end), end)
    }

    /// The bar under `x` of a plot `width` wide (None off the data).
    pub fn index_at(&self, x: f64, width: f64, len: usize) -> Option<usize> {
        let i = (self.right(len) - (width - x) / self.slot(width)).floor();
        (i >= 0.0 && i < len as f64).then_some(i as usize)
    }

    /// The width of one bar's slot in a plot `width` wide.
    pub fn slot(&self, width: f64) -> f64 {
        width / self.span
    }

    /// The x of the centre of bar `i`.
    pub fn x(&self, i: usize, width: f64, len: usize) -> f64 {
        width - (self.right(len) - i as f64 - 0.5) * self.slot(width)
    }

    /// Zooms by `factor` (below 1 zooms in) keeping the bar at `anchor` (0 = left edge,
    /// 1 = right edge) where it is; a live view keeps the newest bar at its right edge.
    pub fn zoom(&mut self, factor: f64, anchor: f64, len: usize) {
        let anchor = if self.is_live() {
            1.0
        } else {
            anchor.clamp(0.0, 1.0)
        };
        let right = self.right(len);
        let pinned = right - (1.0 - anchor) * self.span;
        let most = (len as f64).max(MIN_SPAN);
        self.span = (self.span * factor).clamp(MIN_SPAN, most);
        let right = pinned + (1.0 - anchor) * self.span;
        self.back = len as f64 - right;
        self.clamp(len);
    }

    /// Moves the view `bars` into the past (negative: towards live).
    pub fn pan(&mut self, bars: f64, len: usize) {
        self.back += bars;
        self.clamp(len);
    }

    /// New bars arrived: the live view shows them, a view in the past stays where it is.
    pub fn appended(&mut self, added: usize) {
        if !self.is_live() {
            self.back += added as f64;
        }
    }

    /// Back to the newest bar.
    pub fn live(&mut self) {
        self.back = 0.0;
    }

    /// Everything in view.
    pub fn fit(&mut self, len: usize) {
        self.span = (len as f64).max(MIN_SPAN);
        self.back = 0.0;
    }

    /// Keeps at least a few bars on screen: never past live, never past the oldest.
    fn clamp(&mut self, len: usize) {
        let most = (len as f64 - MIN_SPAN.min(len as f64) / 2.0).max(0.0);
        self.back = self.back.clamp(0.0, most);
    }

    /// Whether the view reaches within a screen's tenth of the oldest bar held (time to
    /// ask for older ones).
    pub fn near_oldest(&self, len: usize) -> bool {
        self.right(len) - self.span < self.span * 0.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_view_shows_the_newest_bars_right_aligned() {
        let v = Viewport::new(10.0);
        assert!(v.is_live());
        assert_eq!(v.range(100), (90, 100));
        assert_eq!(v.range(4), (0, 4));
        assert_eq!(v.slot(200.0), 20.0);
        assert_eq!(v.x(99, 200.0, 100), 190.0);
        assert_eq!(v.index_at(195.0, 200.0, 100), Some(99));
        assert_eq!(v.index_at(5.0, 200.0, 100), Some(90));
        assert_eq!(v.index_at(5.0, 200.0, 4), None, "left of the oldest bar");
    }

    #[test]
    fn zoom_keeps_the_bar_under_the_pointer_and_stays_in_bounds() {
        let mut v = Viewport::new(40.0);
        v.zoom(0.5, 0.5, 100);
        assert_eq!(v.range(100), (80, 100), "a live view stays live");
        v.pan(20.0, 100);
        v.zoom(2.0, 0.5, 100);
        assert_eq!(v.span, 40.0);
        assert_eq!(
            v.range(100),
            (50, 90),
            "the middle bar (70) stays in the middle"
        );
        v.zoom(0.01, 0.5, 100);
        assert_eq!(v.span, MIN_SPAN);
        v.zoom(100.0, 1.0, 100);
        assert_eq!(v.span, 100.0, "at most every bar");
        assert!(v.back >= 0.0);
    }

    #[test]
    fn panning_moves_into_the_past_holds_still_as_bars_arrive_and_returns_to_live() {
        let mut v = Viewport::new(10.0);
        v.pan(30.0, 100);
        assert_eq!(v.range(100), (60, 70));
        assert!(!v.is_live());
        v.appended(5);
        assert_eq!(
            v.range(105),
            (60, 70),
            "the same bars while new ones arrive"
        );
        v.pan(1_000.0, 105);
        assert!(v.near_oldest(105));
        assert_eq!(v.range(105).0, 0);
        v.pan(-1_000.0, 105);
        assert!(v.is_live());
        v.pan(3.0, 105);
        v.live();
        assert_eq!(v.range(105), (95, 105));
        v.fit(105);
        assert_eq!(v.range(105), (0, 105));
    }
}
