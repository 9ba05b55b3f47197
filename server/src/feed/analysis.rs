//! Incremental market analysis, updated on every closed candle: SMA 20, EMA 12 and
//! RSI 14, candlestick patterns of the last two candles, the trend structure and a
//! confluence score.
//!
//! Decisions: structure is `uptrend` when the close is above SMA 20 and SMA 20 has risen
//! over the last 5 candles (`downtrend` the mirror, `range` otherwise). Confluence is
//! how one-sided the votes are, `|bullish − bearish| / votes`, over four votes: close vs
//! SMA 20, EMA 12 vs SMA 20, RSI vs 50, and the direction of any pattern found.

use std::collections::{BTreeMap, VecDeque};

use protocol::{Analysis, Candle, Structure, Symbol};

use protocol::indicators::{Ema, Rsi};

const SMA_PERIOD: usize = 20;
const EMA_PERIOD: usize = 12;
const RSI_PERIOD: usize = 14;
/// Candles over which the SMA's slope is judged.
const SLOPE_LOOKBACK: usize = 5;

/// One symbol's running analysis.
pub struct Analyzer {
    symbol: Symbol,
    closes: VecDeque<f64>,
    smas: VecDeque<f64>,
    ema: Ema,
    rsi: Rsi,
    last_rsi: Option<f64>,
    previous: Option<Candle>,
}

impl Analyzer {
    pub fn new(symbol: Symbol) -> Self {
        Analyzer {
            symbol,
            closes: VecDeque::with_capacity(SMA_PERIOD + 1),
            smas: VecDeque::with_capacity(SLOPE_LOOKBACK + 1),
            ema: Ema::new(EMA_PERIOD),
            rsi: Rsi::new(RSI_PERIOD),
            last_rsi: None,
            previous: None,
        }
    }

    /// Folds in a closed candle; returns the analysis once SMA 20 exists.
    pub fn on_closed(&mut self, candle: &Candle) -> Option<Analysis> {
        let close = candle.close;
        self.closes.push_back(close);
        if self.closes.len() > SMA_PERIOD {
            self.closes.pop_front();
        }
        let ema = self.ema.push(close);
        if let Some(r) = self.rsi.push(close) {
            self.last_rsi = Some(r);
        }
        let patterns = patterns(self.previous.as_ref(), candle);
        self.previous = Some(candle.clone());
        if self.closes.len() < SMA_PERIOD {
            return None;
        }
        let sma = self.closes.iter().sum::<f64>() / SMA_PERIOD as f64;
        self.smas.push_back(sma);
        if self.smas.len() > SLOPE_LOOKBACK + 1 {
            self.smas.pop_front();
        }
        let rising = self.smas.len() > SLOPE_LOOKBACK && sma > self.smas[0];
        let falling = self.smas.len() > SLOPE_LOOKBACK && sma < self.smas[0];
        let structure = match () {
            _ if close > sma && rising => Structure::Uptrend,
            _ if close < sma && falling => Structure::Downtrend,
            _ => Structure::Range,
        };

        let mut votes: Vec<f64> = vec![sign(close - sma), sign(ema - sma)];
        if let Some(r) = self.last_rsi {
            votes.push(sign(r - 50.0));
        }
        let pattern_vote: f64 = patterns.iter().map(|p| pattern_direction(p)).sum();
        if pattern_vote != 0.0 {
            votes.push(sign(pattern_vote));
        }
        let confluence = (votes.iter().sum::<f64>().abs() / votes.len() as f64).clamp(0.0, 1.0);

        let mut indicators = BTreeMap::new();
        indicators.insert(format!("sma_{SMA_PERIOD}"), sma);
        indicators.insert(format!("ema_{EMA_PERIOD}"), ema);
        if let Some(r) = self.last_rsi {
            indicators.insert(format!("rsi_{RSI_PERIOD}"), r);
        }
        Some(Analysis {
            symbol: self.symbol.clone(),
            indicators,
            patterns,
            structure,
            confluence,
        })
    }
}

fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

fn pattern_direction(name: &str) -> f64 {
    match name {
        "bullish_engulfing" | "hammer" => 1.0,
        "bearish_engulfing" | "shooting_star" => -1.0,
        _ => 0.0,
    }
}

/// Candlestick patterns on `current` (with `previous` for two-candle ones).
pub fn patterns(previous: Option<&Candle>, current: &Candle) -> Vec<String> {
    let mut found = Vec::new();
    let range = current.high - current.low;
    let body = (current.close - current.open).abs();
    let upper = current.high - current.open.max(current.close);
    let lower = current.open.min(current.close) - current.low;
    if range > 0.0 && body <= 0.1 * range {
        found.push("doji".to_owned());
    } else if body > 0.0 {
        if lower >= 2.0 * body && upper <= body {
            found.push("hammer".to_owned());
        }
        if upper >= 2.0 * body && lower <= body {
            found.push("shooting_star".to_owned());
        }
    }
    if let Some(p) = previous {
        let (p_lo, p_hi) = (p.open.min(p.close), p.open.max(p.close));
        let (c_lo, c_hi) = (
            current.open.min(current.close),
            current.open.max(current.close),
        );
        let engulfs = c_lo <= p_lo && c_hi >= p_hi && (c_hi - c_lo) > (p_hi - p_lo);
        if engulfs && p.close < p.open && current.close > current.open {
            found.push("bullish_engulfing".to_owned());
        }
        if engulfs && p.close > p.open && current.close < current.open {
            found.push("bearish_engulfing".to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{DataSource, Timestamp};

    fn candle(i: i64, open: f64, high: f64, low: f64, close: f64) -> Candle {
        Candle {
            symbol: Symbol::parse("X").unwrap(),
            interval: "1m".parse().unwrap(),
            open_time: Timestamp::from_unix_ms(i * 60_000),
            open,
            high,
            low,
            close,
            volume: 1.0,
            closed: true,
            source: DataSource::Synthetic,
        }
    }

    #[test]
    fn patterns_are_recognised() {
        assert_eq!(patterns(None, &candle(0, 10.0, 11.0, 9.0, 10.05)), ["doji"]);
        assert_eq!(
            patterns(None, &candle(0, 10.0, 10.6, 7.0, 10.5)),
            ["hammer"]
        );
        assert_eq!(
            patterns(None, &candle(0, 10.0, 13.0, 9.4, 9.5)),
            ["shooting_star"]
        );
        assert!(patterns(None, &candle(0, 10.0, 12.0, 9.0, 11.5)).is_empty());
        let down = candle(0, 10.0, 10.2, 8.8, 9.0);
        let up = candle(1, 8.9, 10.5, 8.8, 10.4);
        assert!(patterns(Some(&down), &up).contains(&"bullish_engulfing".to_owned()));
        assert!(patterns(Some(&up), &candle(2, 10.5, 10.6, 8.5, 8.6))
            .contains(&"bearish_engulfing".to_owned()));
    }

    #[test]
    fn a_steady_rise_reads_as_a_confluent_uptrend() {
        let mut a = Analyzer::new(Symbol::parse("X").unwrap());
        let mut last = None;
        for i in 0..40 {
            let p = 100.0 + i as f64;
            last = a
                .on_closed(&candle(i, p, p + 1.2, p - 0.2, p + 1.0))
                .or(last);
        }
        let analysis = last.expect("analysis once SMA 20 exists");
        assert_eq!(analysis.structure, Structure::Uptrend);
        assert_eq!(analysis.confluence, 1.0);
        assert_eq!(analysis.indicators["rsi_14"], 100.0);
        assert!((analysis.indicators["sma_20"] - (121.0 + 140.0) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn nothing_is_published_before_twenty_closes() {
        let mut a = Analyzer::new(Symbol::parse("X").unwrap());
        for i in 0..19 {
            assert!(a.on_closed(&candle(i, 10.0, 11.0, 9.0, 10.5)).is_none());
        }
        assert!(a.on_closed(&candle(19, 10.0, 11.0, 9.0, 10.5)).is_some());
    }
}
