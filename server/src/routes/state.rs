//! What every request handler can reach.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use protocol::{SymbolInfo, TopicKind};
use tokio_util::sync::CancellationToken;

use super::{BodyBudget, Origins, TopicQuota, TrustedProxies};
use crate::access::Access;
use crate::admission::Admission;
use crate::auth::TokenKeys;
use crate::backtest::live::observer::REPORTS_AT_LEAST_EVERY;
use crate::backtest::Backtests;
use crate::hub::Hub;
use crate::session::{Sessions, COUNTDOWN_EVERY};

/// Per-connection and per-request limits (docs/SPEC.md section 12).
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub heartbeat: Duration,
    /// How long a connection's first queued frame waits for others to share its write
    /// (`--write-delay-ms`); zero writes at once.
    pub write_delay: Duration,
    pub max_message_bytes: usize,
    pub max_subscriptions: usize,
    /// Largest HTTP request body (413 beyond).
    pub max_body_bytes: usize,
    /// How long a request body may take to arrive (408 beyond).
    pub body_timeout: Duration,
    /// Client frames per second per connection, and the burst allowed above it.
    pub client_rate: NonZeroU32,
    pub client_burst: NonZeroU32,
    /// Told to every socket in its `connected` frame.
    pub stale_after: StaleAfter,
}

/// How long a live stream of each kind may stay silent before a page calls it stale
/// (docs/SPEC.md section 7): [`StaleAfter::PERIODS`] of its producer's longest quiet, and never
/// under [`StaleAfter::FLOOR`] (a page looks once a second). Market topics have a
/// threshold only when this server runs a feed: an outside producer's pace is unknown.
#[derive(Clone, Copy, Debug)]
pub struct StaleAfter {
    /// How often the market feed publishes each symbol, if it runs.
    pub market_period: Option<Duration>,
}

impl StaleAfter {
    pub const PERIODS: u32 = 4;
    pub const FLOOR: Duration = Duration::from_secs(3);

    /// Milliseconds per topic kind, as the `connected` frame carries them.
    pub fn by_kind(&self) -> BTreeMap<TopicKind, u64> {
        let periods = [
            (TopicKind::Market, self.market_period),
            (TopicKind::Backtest, Some(REPORTS_AT_LEAST_EVERY)),
            (TopicKind::Session, Some(COUNTDOWN_EVERY)),
            (TopicKind::Sweep, Some(crate::sweep::evaluate::LAND_EVERY)),
        ];
        periods
            .into_iter()
            .filter_map(|(kind, period)| {
                let after = (period? * Self::PERIODS).max(Self::FLOOR);
                Some((kind, u64::try_from(after.as_millis()).unwrap_or(u64::MAX)))
            })
            .collect()
    }
}

/// Shared application state: one pointer to [`Services`], so that every request and
/// every socket's task holds 8 bytes rather than a copy of every handle (a socket's task
/// is most of what an idle connection costs).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> Self {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What every request handler can reach, through [`AppState`].
pub struct Services {
    pub hub: Hub,
    pub symbols: Arc<[SymbolInfo]>,
    /// The venue feeds' connections, as health shows them.
    pub feeds: crate::feed::venue::FeedStatuses,
    pub backtests: Backtests,
    pub sessions: Sessions,
    pub sweeps: crate::sweep::Sweeps,
    /// Users' personal channels.
    pub notices: crate::notices::Notices,
    /// Who may follow and control each topic, over the run books above.
    pub access: Access,
    pub limits: ConnectionLimits,
    /// What the request bodies being read may hold together.
    pub bodies: BodyBudget,
    /// The new topics each user may create a minute (token mode).
    pub topic_quota: TopicQuota,
    /// Which pages may drive the server, and which host names it answers to.
    pub origins: Origins,
    /// Sockets held, in all and per client address (the forwarded one behind
    /// `--trusted-proxies`); a socket's place is taken before the upgrade, so one past
    /// either cap is a 503 and never opened.
    pub sockets: Admission,
    /// Token mode: sockets opened without a token, until their `auth` frame
    /// (`--max-sockets-awaiting-auth`; the longest waiting gives way to a newcomer).
    pub awaiting_auth: Admission,
    /// Proxies whose forwarded client address counts for the per-address cap.
    pub trusted_proxies: TrustedProxies,
    /// When set, `POST /api/publish` needs `Authorization: Bearer <key>` (or a token
    /// allowed to publish there).
    pub api_key: Option<Arc<str>>,
    /// Token mode (`--jwt-secret`); `None`: anonymous mode.
    pub tokens: Option<TokenKeys>,
    pub leptos: LeptosOptions,
    pub started: Instant,
    /// Cancelled when the server shuts down; every long task watches it.
    pub shutdown: CancellationToken,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_stale_after_four_of_its_periods_and_never_under_three_seconds() {
        let fast = StaleAfter {
            market_period: Some(Duration::from_millis(250)),
        };
        let slow = StaleAfter {
            market_period: Some(Duration::from_secs(3)),
        };
        assert_eq!(fast.by_kind()[&TopicKind::Market], 3_000);
        assert_eq!(slow.by_kind()[&TopicKind::Market], 12_000);
        assert_eq!(slow.by_kind()[&TopicKind::Backtest], 4_000);
        assert_eq!(slow.by_kind()[&TopicKind::Session], 4_000);
        // No feed here: an outside producer's market topic has no threshold, and
        // trading topics never have one.
        let no_feed = StaleAfter {
            market_period: None,
        }
        .by_kind();
        assert!(!no_feed.contains_key(&TopicKind::Market));
        assert!(!no_feed.contains_key(&TopicKind::Trading));
    }
}
