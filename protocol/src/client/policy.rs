//! When the reconnecting stream retries, gives up on the socket, pings and polls, and
//! how many messages a second it asks of each topic.

use crate::rate::MaxRate;

/// How closely a page shows a topic, which sets the rate it asks the server for
/// (docs/SPEC.md section 7, "Rates"). A tab's topic is shown as closely as its closest
/// listener shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Display {
    /// One card among many (the sessions overview): a glance.
    Glance,
    /// The page's subject: its chart, progress and stats.
    Focus,
}

/// The stream's timing rules (docs/SPEC.md section 7). Every field can be overridden from the
/// page's query string (see [`ReconnectPolicy::with_overrides`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReconnectPolicy {
    /// Delay before the first retry after a loss.
    pub base_ms: f64,
    /// Each further failed attempt multiplies the delay by this.
    pub factor: f64,
    /// Longest delay between two attempts.
    pub cap_ms: f64,
    /// Relative jitter: a delay `d` becomes uniform in `d × (1 ± jitter)`.
    pub jitter: f64,
    /// Consecutive failed attempts after which the stream falls back to polling.
    pub failures_before_polling: u32,
    /// Application-level ping interval (latency, liveness).
    pub ping_ms: f64,
    /// A socket with no pong for this long is treated as lost.
    pub pong_timeout_ms: f64,
    /// Poll interval while in polling mode.
    pub poll_ms: f64,
    /// Messages a hidden page holds per topic for its return; a topic past it starts
    /// over from a snapshot when the page is shown again.
    pub hidden_backlog: usize,
    /// Messages a second asked of a topic the page focuses on (a chart's ticks).
    pub focus_rate: f64,
    /// Messages a second asked of a topic the page shows among many.
    pub glance_rate: f64,
    /// Messages a second asked of any topic while the page is hidden: the server
    /// conflates what no one sees, instead of the page only skipping its paints.
    pub hidden_rate: f64,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            base_ms: 1_000.0,
            factor: 2.0,
            cap_ms: 30_000.0,
            jitter: 0.2,
            failures_before_polling: 3,
            ping_ms: 5_000.0,
            pong_timeout_ms: 15_000.0,
            poll_ms: 1_000.0,
            hidden_backlog: 1_000,
            focus_rate: 10.0,
            glance_rate: 2.0,
            hidden_rate: 1.0,
        }
    }
}

impl ReconnectPolicy {
    /// Wait before the next attempt after `failures` consecutive failed attempts (0 for
    /// the first retry after a loss); `unit_random` is uniform in `[0, 1)`.
    pub fn delay_ms(&self, failures: u32, unit_random: f64) -> f64 {
        let exponent = failures.min(64) as i32;
        let nominal = (self.base_ms * self.factor.powi(exponent)).min(self.cap_ms);
        let spread = 1.0 + self.jitter * (2.0 * unit_random.clamp(0.0, 1.0) - 1.0);
        (nominal * spread).min(self.cap_ms).max(0.0)
    }

    /// Whether `failures` consecutive failed attempts mean falling back to polling.
    pub fn should_poll(&self, failures: u32) -> bool {
        failures >= self.failures_before_polling
    }

    /// The rate to ask of a topic shown as `display`, on a page `hidden` or not: the
    /// display's rate, and no more than the hidden rate while hidden.
    pub fn rate(&self, display: Display, hidden: bool) -> MaxRate {
        let shown = match display {
            Display::Focus => self.focus_rate,
            Display::Glance => self.glance_rate,
        };
        let per_second = if hidden {
            shown.min(self.hidden_rate)
        } else {
            shown
        };
        MaxRate::clamped(per_second)
    }

    /// Applies `name=value` pairs (a URL query string without `?`): `reconnect_base_ms`,
    /// `reconnect_factor`, `reconnect_cap_ms`, `reconnect_jitter`,
    /// `reconnect_failures`, `ping_ms`, `pong_timeout_ms`, `poll_ms`, `hidden_backlog`
    /// (at most 100,000), `focus_rate`, `glance_rate`, `hidden_rate` (messages a second,
    /// 0.01 to 1,000). Unknown names and values out of range are ignored.
    pub fn with_overrides(mut self, query: &str) -> Self {
        for pair in query.split('&') {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            if !(value.is_finite() && value >= 0.0) {
                continue;
            }
            match name {
                "reconnect_base_ms" => self.base_ms = value,
                "reconnect_factor" if value >= 1.0 => self.factor = value,
                "reconnect_cap_ms" => self.cap_ms = value,
                "reconnect_jitter" if value <= 1.0 => self.jitter = value,
                "reconnect_failures" if value >= 1.0 => self.failures_before_polling = value as u32,
                "ping_ms" if value > 0.0 => self.ping_ms = value,
                "pong_timeout_ms" if value > 0.0 => self.pong_timeout_ms = value,
                "poll_ms" if value > 0.0 => self.poll_ms = value,
                "hidden_backlog" if value <= 100_000.0 => self.hidden_backlog = value as usize,
                "focus_rate" if MaxRate::new(value).is_ok() => self.focus_rate = value,
                "glance_rate" if MaxRate::new(value).is_ok() => self.glance_rate = value,
                "hidden_rate" if MaxRate::new(value).is_ok() => self.hidden_rate = value,
                _ => {}
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_one_second_up_to_the_cap() {
        let p = ReconnectPolicy {
            jitter: 0.0,
            ..Default::default()
        };
        let delays: Vec<f64> = (0..7).map(|n| p.delay_ms(n, 0.5)).collect();
        assert_eq!(
            delays,
            [1_000.0, 2_000.0, 4_000.0, 8_000.0, 16_000.0, 30_000.0, 30_000.0]
        );
        assert_eq!(p.delay_ms(u32::MAX, 0.0), 30_000.0);
    }

    #[test]
    fn jitter_spreads_delays_within_its_band_and_never_past_the_cap() {
        let p = ReconnectPolicy::default();
        assert_eq!(p.delay_ms(1, 0.0), 1_600.0);
        assert_eq!(p.delay_ms(1, 1.0), 2_400.0);
        assert_eq!(p.delay_ms(10, 1.0), 30_000.0);
    }

    #[test]
    fn three_consecutive_failures_mean_polling() {
        let p = ReconnectPolicy::default();
        assert!(!p.should_poll(2));
        assert!(p.should_poll(3));
    }

    #[test]
    fn query_overrides_apply_and_nonsense_is_ignored() {
        let p = ReconnectPolicy::default().with_overrides(
            "symbol=GOOG&reconnect_base_ms=200&reconnect_failures=2&poll_ms=-5&ping_ms=abc&reconnect_factor=0.5",
        );
        assert_eq!(p.base_ms, 200.0);
        assert_eq!(p.failures_before_polling, 2);
        assert_eq!(p.poll_ms, 1_000.0);
        assert_eq!(p.ping_ms, 5_000.0);
        assert_eq!(p.factor, 2.0);
    }

    #[test]
    fn a_page_asks_ten_a_second_of_its_subject_two_of_a_glance_and_one_when_hidden() {
        let p = ReconnectPolicy::default();
        let rate = |display, hidden| p.rate(display, hidden).per_second();
        assert_eq!(rate(Display::Focus, false), 10.0);
        assert_eq!(rate(Display::Glance, false), 2.0);
        assert_eq!(rate(Display::Focus, true), 1.0);
        assert_eq!(rate(Display::Glance, true), 1.0);
        let slow = p.with_overrides("hidden_rate=0.5&glance_rate=5000&focus_rate=0");
        assert_eq!(slow.rate(Display::Glance, true).per_second(), 0.5);
        assert_eq!(slow.glance_rate, 2.0, "past 1,000 a second is ignored");
        assert_eq!(slow.focus_rate, 10.0, "no rate at all is ignored");
    }
}
