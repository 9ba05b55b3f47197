//! The indicators of the backtest strategies, the market analysis and the dashboard's
//! chart lines: one implementation, so a line on a chart is the value a strategy
//! traded on. [`Rsi`] and [`Ema`] fold one close at a time; [`sma`], [`rsi`] and [`ema`]
//! give a whole series (NaN where there is no value yet).

/// Wilder's RSI: gains and losses averaged over the first `period` changes, then
/// smoothed by `(prev·(period−1) + x) / period`. 100 when there has been no loss.
#[derive(Clone, Debug)]
pub struct Rsi {
    period: usize,
    prev: Option<f64>,
    changes: usize,
    avg_gain: f64,
    avg_loss: f64,
}

impl Rsi {
    pub fn new(period: usize) -> Self {
        Rsi {
            period: period.max(1),
            prev: None,
            changes: 0,
            avg_gain: 0.0,
            avg_loss: 0.0,
        }
    }

    /// Folds in a close; returns the RSI once `period` changes have been seen.
    pub fn push(&mut self, close: f64) -> Option<f64> {
        let prev = self.prev.replace(close)?;
        let d = close - prev;
        let (gain, loss) = (d.max(0.0), (-d).max(0.0));
        let p = self.period as f64;
        self.changes += 1;
        if self.changes <= self.period {
            // Seed: the plain mean of the first `period` changes.
            self.avg_gain += gain / p;
            self.avg_loss += loss / p;
            if self.changes < self.period {
                return None;
            }
        } else {
            self.avg_gain = (self.avg_gain * (p - 1.0) + gain) / p;
            self.avg_loss = (self.avg_loss * (p - 1.0) + loss) / p;
        }
        Some(if self.avg_loss == 0.0 {
            100.0
        } else {
            100.0 - 100.0 / (1.0 + self.avg_gain / self.avg_loss)
        })
    }
}

/// Exponential moving average with `α = 2 / (period + 1)`, seeded with the first close.
#[derive(Clone, Debug)]
pub struct Ema {
    alpha: f64,
    value: Option<f64>,
}

impl Ema {
    pub fn new(period: usize) -> Self {
        Ema {
            alpha: 2.0 / (period.max(1) as f64 + 1.0),
            value: None,
        }
    }

    pub fn push(&mut self, close: f64) -> f64 {
        let v = match self.value {
            Some(prev) => prev + self.alpha * (close - prev),
            None => close,
        };
        self.value = Some(v);
        v
    }
}

/// Simple moving average: the plain mean of the last `n` closes; NaN before that.
pub fn sma(close: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; close.len()];
    // Summed exactly per window start so the mean is the plain mean, not a drifting one.
    let mut sum = 0.0;
    for i in 0..close.len() {
        sum += close[i];
        if i >= n {
            sum -= close[i - n];
        }
        if i + 1 >= n {
            // Re-sum every n bars to stop floating-point drift from accumulating.
            if (i + 1) % n == 0 {
                sum = close[i + 1 - n..=i].iter().sum();
            }
            out[i] = sum / n as f64;
        }
    }
    out
}

/// Wilder's RSI of every close (NaN until `period` changes have been seen).
pub fn rsi(close: &[f64], period: usize) -> Vec<f64> {
    let mut rsi = Rsi::new(period);
    close
        .iter()
        .map(|&c| rsi.push(c).unwrap_or(f64::NAN))
        .collect()
}

/// The EMA of every close (seeded with the first, so defined from the first close).
pub fn ema(close: &[f64], period: usize) -> Vec<f64> {
    let mut ema = Ema::new(period);
    close.iter().map(|&c| ema.push(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sma_is_the_plain_mean_of_the_last_n_closes() {
        let s = sma(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 3);
        assert!(s[0].is_nan() && s[1].is_nan());
        assert_eq!(&s[2..], &[2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn rsi_matches_a_hand_computed_case() {
        // Changes +1, −1, +2 with period 2: seed gain (1+0)/2, loss (0+1)/2 → RSI 50;
        // then gain (0.5·1 + 2)/2 = 1.25, loss (0.5·1 + 0)/2 = 0.25 → 100 − 100/6.
        let mut rsi = Rsi::new(2);
        assert_eq!(rsi.push(10.0), None);
        assert_eq!(rsi.push(11.0), None);
        assert_eq!(rsi.push(10.0), Some(50.0));
        let v = rsi.push(12.0).unwrap();
        assert!((v - (100.0 - 100.0 / 6.0)).abs() < 1e-12, "{v}");
    }

    #[test]
    fn ema_moves_a_fraction_towards_each_close() {
        let mut ema = Ema::new(3); // α = 0.5
        assert_eq!(ema.push(10.0), 10.0);
        assert_eq!(ema.push(20.0), 15.0);
        assert_eq!(ema.push(15.0), 15.0);
    }
}
