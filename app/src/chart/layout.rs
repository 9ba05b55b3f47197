//! Pixels: where each candle slot is and how prices map to heights.

/// The price range a chart shows, with headroom so small moves do not rescale it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PriceScale {
    pub lo: f64,
    pub hi: f64,
}

impl PriceScale {
    /// Fits `lows`/`highs` with 10 % headroom above and below (a flat series gets a band
    /// of ±0.5 % around its price). `None` for no data.
    pub fn fit(ranges: impl IntoIterator<Item = (f64, f64)>) -> Option<Self> {
        let (lo, hi) = ranges
            .into_iter()
            .filter(|(l, h)| l.is_finite() && h.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (l, h)| {
                (lo.min(l), hi.max(h))
            });
        if !(lo.is_finite() && hi.is_finite()) {
            return None;
        }
        let pad = if hi > lo {
            (hi - lo) * 0.1
        } else {
            (hi.abs() * 0.005).max(1e-9)
        };
        Some(PriceScale {
            lo: lo - pad,
            hi: hi + pad,
        })
    }

    /// Whether `low..=high` is inside the range (so the scale need not change).
    pub fn contains(&self, low: f64, high: f64) -> bool {
        low >= self.lo && high <= self.hi
    }
}

/// A plot area of `width` × `height` CSS pixels with candles in fixed-width slots,
/// the newest at the right edge.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub slot: f64,
}

impl Layout {
    /// How many slots fit.
    pub fn capacity(&self) -> usize {
        (self.width / self.slot).floor().max(1.0) as usize
    }

    /// Left edge of slot `i` of `shown` (0 = oldest shown), right-aligned.
    pub fn slot_x(&self, i: usize, shown: usize) -> f64 {
        self.width - (shown - i) as f64 * self.slot
    }

    /// The y pixel of `price` (top = `scale.hi`).
    pub fn y(&self, scale: &PriceScale, price: f64) -> f64 {
        let span = scale.hi - scale.lo;
        if span <= 0.0 {
            return self.height / 2.0;
        }
        (scale.hi - price) / span * self.height
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_has_headroom_and_ignores_non_numbers() {
        let s = PriceScale::fit([(10.0, 20.0), (12.0, f64::NAN), (15.0, 18.0)]).unwrap();
        assert_eq!((s.lo, s.hi), (9.0, 21.0));
        assert!(s.contains(9.5, 20.5));
        assert!(!s.contains(8.0, 20.0));
        assert_eq!(PriceScale::fit([]), None);
        let flat = PriceScale::fit([(100.0, 100.0)]).unwrap();
        assert_eq!((flat.lo, flat.hi), (99.5, 100.5));
    }

    #[test]
    fn slots_are_right_aligned_and_prices_map_top_down() {
        let l = Layout {
            width: 100.0,
            height: 50.0,
            slot: 10.0,
        };
        assert_eq!(l.capacity(), 10);
        assert_eq!(l.slot_x(2, 3), 90.0);
        assert_eq!(l.slot_x(0, 3), 70.0);
        let s = PriceScale { lo: 0.0, hi: 10.0 };
        assert_eq!(
            (l.y(&s, 10.0), l.y(&s, 0.0), l.y(&s, 5.0)),
            (0.0, 50.0, 25.0)
        );
    }
}
