//! The price range a chart shows.

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
}
