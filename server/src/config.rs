//! `tickwire serve`'s flags, each with a `TICKWIRE_*` twin, and what they mean for
//! the server (the command line itself is `cli`'s).

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use protocol::{Interval, Symbol};

use crate::feed::csv_feed::CsvStart;
use crate::feed::venue::{FeedSpec, Venue};

/// `--feed-ws-url` / `--feed-rest-url`: `VENUE=URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueUrl {
    pub venue: Venue,
    pub url: String,
}

impl std::str::FromStr for VenueUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (venue, url) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not VENUE=URL (binance=wss://…)"))?;
        let venue = Venue::parse(venue)?;
        let url = url.trim();
        let scheme_ok = ["ws://", "wss://", "http://", "https://"]
            .iter()
            .any(|s| url.starts_with(s));
        if !scheme_ok || url.len() > 2048 {
            return Err(format!("`{url}` is not a ws(s):// or http(s):// URL"));
        }
        Ok(VenueUrl {
            venue,
            url: url.to_owned(),
        })
    }
}

/// Flags of `tickwire serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TICKWIRE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Folder holding the built dashboard (`cargo leptos build` writes it).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Folder of CSV datasets backtests can name by file stem (`GOOG` for `GOOG.csv`).
    #[arg(long, env = "TICKWIRE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Share every topic with the other instances through this Redis
    /// (`redis://HOST:PORT[/DB]`, docs/SPEC.md section 8); without it, topics live in this
    /// process.
    #[arg(long, env = "TICKWIRE_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Seconds the lease of a cluster-wide producer (the market feed) lasts unrenewed:
    /// when its instance dies, another takes the feed over within this.
    #[arg(long, env = "TICKWIRE_LEASE_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub lease_secs: u64,
    /// Messages a backtest's or session's topic records from its start, kept with the
    /// run for `--retain-runs` and replayed from `GET /api/streams/{topic}/record`; a
    /// longer run's record stops there (and says so).
    #[arg(long, env = "TICKWIRE_RECORD_MESSAGES", default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub record_messages: u64,
    /// Seconds a topic remembers a publish item's `idempotency_key`: a repeat within
    /// them answers the first seq with `duplicate: true` and is not published again.
    #[arg(long, env = "TICKWIRE_IDEMPOTENCY_WINDOW_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idempotency_window_secs: u64,
    /// Idempotency keys one topic remembers at most; past it, the oldest are forgotten
    /// first (0: none are kept).
    #[arg(long, env = "TICKWIRE_MAX_IDEMPOTENCY_KEYS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub max_idempotency_keys: u64,
    /// Webhooks one user may register.
    #[arg(long, env = "TICKWIRE_MAX_WEBHOOKS_PER_USER", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub max_webhooks_per_user: u64,
    /// Seconds one webhook delivery attempt may take, connecting included.
    #[arg(long, env = "TICKWIRE_WEBHOOK_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub webhook_timeout_secs: u64,
    /// Seconds a failing webhook delivery is retried for (backoff from 0.5 s, doubling,
    /// at most 60 s apart); 0 tries once.
    #[arg(long, env = "TICKWIRE_WEBHOOK_RETRY_SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub webhook_retry_secs: u64,
    /// Let webhooks reach loopback, private, link-local and other non-public addresses
    /// (a receiver on this host or network). Off, such a URL is refused after its name
    /// is resolved, at registration and at each delivery.
    #[arg(long, env = "TICKWIRE_WEBHOOKS_ALLOW_PRIVATE")]
    pub webhooks_allow_private: bool,
    /// Messages retained per topic for resuming clients.
    #[arg(long, env = "TICKWIRE_HISTORY", default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub history: u64,
    /// Seconds between pings of an idle connection; silent for twice this, it is closed.
    #[arg(long, env = "TICKWIRE_HEARTBEAT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub heartbeat_secs: u64,
    /// Least milliseconds between two writes to one socket while frames come faster
    /// than that: what arrives meanwhile shares the next write (one wake-up and one
    /// syscall for several frames under steady load, at up to this much added latency).
    /// A frame that comes later than this after the last write, and a backlog, are
    /// written at once. 0 writes every frame as it comes (BENCHMARKS.md, "Paced
    /// fan-out").
    #[arg(long, env = "TICKWIRE_WRITE_DELAY_MS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=1_000))]
    pub write_delay_ms: u64,
    /// Largest client frame accepted; a larger one closes that socket with 1009.
    #[arg(long, env = "TICKWIRE_MAX_MESSAGE_BYTES", default_value_t = 65_536, value_parser = clap::value_parser!(u64).range(256..=16_777_216))]
    pub max_message_bytes: u64,
    /// Largest HTTP request body; a larger one is refused with 413.
    #[arg(long, env = "TICKWIRE_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..=1_073_741_824))]
    pub max_body_bytes: u64,
    /// The bytes all request bodies being read may hold together; a body that would
    /// go past it is refused with 503 before it is read.
    #[arg(long, env = "TICKWIRE_MAX_BODY_BYTES_IN_FLIGHT", default_value_t = 64 * 1024 * 1024, value_parser = clap::value_parser!(u32).range(1024..))]
    pub max_body_bytes_in_flight: u32,
    /// How long a connection may take to send a request's headers, from when it is
    /// accepted (or answered); slower → closed.
    #[arg(long, env = "TICKWIRE_HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_secs: u64,
    /// How long a connection may idle between an answer and its next request.
    #[arg(long, env = "TICKWIRE_KEEPALIVE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub keepalive_secs: u64,
    /// How long a request body may take to arrive in full; slower → 408.
    #[arg(long, env = "TICKWIRE_BODY_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_secs: u64,
    /// Token mode: sockets opened without a token that may wait for their `auth` frame
    /// at once; a newcomer past it closes the one that has waited longest.
    #[arg(long, env = "TICKWIRE_MAX_SOCKETS_AWAITING_AUTH", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_sockets_awaiting_auth: u64,
    /// Frames queued per connection beyond the history before it is closed as a slow consumer.
    #[arg(long, env = "TICKWIRE_OUTBOX", default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub outbox: u64,
    /// Bytes of frames queued per connection before it is closed as a slow consumer
    /// (a paced topic's replaceable values never fill it: only what is always
    /// delivered does).
    #[arg(long, env = "TICKWIRE_OUTBOX_BYTES", default_value_t = 4 << 20, value_parser = clap::value_parser!(u64).range(65_536..=1 << 30))]
    pub outbox_bytes: u64,
    /// Topics one connection may subscribe to at once.
    #[arg(long, env = "TICKWIRE_MAX_SUBSCRIPTIONS", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_subscriptions: u64,
    /// Origins of web pages, besides the server's own, that may open sockets and send
    /// state-changing requests (`https://desk.example.com`), comma separated.
    #[arg(long, env = "TICKWIRE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// The URL users reach the server by when it is not `--addr` (behind a proxy):
    /// its origin is the server's own, and its host name is accepted in `Host`.
    #[arg(long, env = "TICKWIRE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// More host names this server is reached by (comma separated, e.g.
    /// `desk.example.com`): a request naming any other host name is refused (IP
    /// literals and `localhost` are always accepted).
    #[arg(long, env = "TICKWIRE_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Sockets the server holds at once; an upgrade beyond it is refused with 503.
    #[arg(long, env = "TICKWIRE_MAX_CONNECTIONS", default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_connections: u64,
    /// Addresses of reverse proxies whose `X-Forwarded-For` names the client (for the
    /// per-address cap), comma separated; from anyone else the header is ignored.
    #[arg(long, env = "TICKWIRE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Sockets one address may hold at once; beyond it, 503.
    #[arg(long, env = "TICKWIRE_MAX_CONNECTIONS_PER_IP", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_connections_per_ip: u64,
    /// Client frames a connection may send per second; beyond it (and its burst) they
    /// are dropped with an `error`, and a client that goes on is closed with 1008.
    #[arg(long, env = "TICKWIRE_CLIENT_RATE", default_value_t = NonZeroU32::new(50).expect("50 > 0"))]
    pub client_rate: NonZeroU32,
    /// Client frames a connection may send at once above `--client-rate`.
    #[arg(long, env = "TICKWIRE_CLIENT_BURST", default_value_t = NonZeroU32::new(100).expect("100 > 0"))]
    pub client_burst: NonZeroU32,
    /// Backtests running or paused at once; more are refused with 429.
    #[arg(long, env = "TICKWIRE_MAX_BACKTESTS", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_backtests: u64,
    /// Parameter sweeps running or paused at once; more are refused with 429.
    #[arg(long, env = "TICKWIRE_MAX_SWEEPS", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_sweeps: u64,
    /// Token mode: sweeps one user may have running or paused at once (their share of
    /// `--max-sweeps`).
    #[arg(long, env = "TICKWIRE_MAX_SWEEPS_PER_USER", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_sweeps_per_user: u64,
    /// Combinations one sweep's grid may make; a larger grid is refused with 422 before
    /// anything runs.
    #[arg(long, env = "TICKWIRE_MAX_SWEEP_COMBOS", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_sweep_combos: u64,
    /// Threads this instance runs sweep combinations on, at the lowest priority
    /// (default: one per core). With `--redis-url` every instance runs a share of every
    /// sweep, and 0 leaves them all to the other instances.
    #[arg(long, env = "TICKWIRE_SWEEP_THREADS", value_parser = clap::value_parser!(u64).range(0..=1_024))]
    pub sweep_threads: Option<u64>,
    /// Paper-trading sessions running at once; more are refused with 429.
    #[arg(long, env = "TICKWIRE_MAX_SESSIONS", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_sessions: u64,
    /// Token mode: backtests one user may have running or paused at once (their share
    /// of `--max-backtests`).
    #[arg(long, env = "TICKWIRE_MAX_BACKTESTS_PER_USER", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_backtests_per_user: u64,
    /// How long a backtest may stay paused before it is cancelled (`90s`, `30m`, `1h`…).
    #[arg(long, env = "TICKWIRE_MAX_PAUSE", default_value = "1h", value_parser = duration)]
    pub max_pause: Duration,
    /// Token mode: sessions one user may have running at once (their share of
    /// `--max-sessions`).
    #[arg(long, env = "TICKWIRE_MAX_SESSIONS_PER_USER", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_sessions_per_user: u64,
    /// Where runs and sessions are kept (docs/STORE.md): `sqlite://PATH` (created on
    /// first start), `postgres://USER@HOST:PORT/DB` (a cluster's, shared), or `none`
    /// to keep them in memory only, forgotten after `--retain-runs` and at a restart.
    #[arg(
        long,
        env = "TICKWIRE_DATABASE_URL",
        default_value = "sqlite://state/tickwire.db",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Days a finished run stays in the store; older ones are forgotten.
    #[arg(long, env = "TICKWIRE_KEEP_DAYS", default_value_t = 365, value_parser = clap::value_parser!(u64).range(1..=36_500))]
    pub keep_days: u64,
    /// The most bytes the store's runs may hold (their records, requests and
    /// listings); past it, the oldest finished runs are forgotten first.
    #[arg(long, env = "TICKWIRE_KEEP_BYTES", default_value_t = 2 * 1024 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub keep_bytes: u64,
    /// How long a finished backtest or session stays in memory (its topic, its
    /// record) before it is served from the store again when asked for (with
    /// `--database-url none`: forgotten): `90s`, `30m`, `1h`, `0` = not at all.
    #[arg(long, env = "TICKWIRE_RETAIN_RUNS", default_value = "1h", value_parser = duration)]
    pub retain_runs: Duration,
    /// The most bytes of records and history finished runs of each kind may hold; past
    /// it, the one that finished longest ago is forgotten early.
    #[arg(long, env = "TICKWIRE_RETAIN_RUNS_BYTES", default_value_t = 256 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub retain_runs_bytes: u64,
    /// Key outside producers must present as `Authorization: Bearer <key>` to publish.
    #[arg(long, env = "TICKWIRE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Secret of the HS256 tokens callers must present (token mode); without it the
    /// server is anonymous and trusts every caller.
    /// At least 32 bytes (`head -c 32 /dev/urandom | base64`).
    #[arg(long, env = "TICKWIRE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// The secret being rotated out: tokens it signed are still accepted until they
    /// lapse, none is signed with it (at least 32 bytes).
    #[arg(
        long,
        env = "TICKWIRE_JWT_SECRET_PREVIOUS",
        hide_env_values = true,
        requires = "jwt_secret"
    )]
    pub jwt_secret_previous: Option<String>,
    /// The longest a token may live: a token whose `exp` is further away is refused
    /// (`30d`, `12h`).
    #[arg(long, env = "TICKWIRE_MAX_TTL", default_value = "30d", value_parser = duration)]
    pub max_ttl: Duration,
    /// Serve anonymously on an address other than loopback (refused without it).
    #[arg(long, env = "TICKWIRE_ALLOW_ANONYMOUS")]
    pub allow_anonymous: bool,
    /// Topics held in memory at once; a request that would create one more gets 503.
    #[arg(long, env = "TICKWIRE_MAX_TOPICS", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_topics: u64,
    /// Token mode: topics one user may create a minute by subscribing or publishing
    /// (their share of `--max-topics`).
    #[arg(long, env = "TICKWIRE_MAX_NEW_TOPICS_PER_MINUTE", default_value_t = NonZeroU32::new(600).expect("600 > 0"))]
    pub max_new_topics_per_minute: NonZeroU32,
    /// Seconds a topic with no subscriber and no publish is kept before it is dropped.
    #[arg(long, env = "TICKWIRE_TOPIC_IDLE_SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub topic_idle_secs: u64,
    /// Market feeds to run, repeatable: `synthetic`, `csv`, `off`, or a venue with its
    /// symbols (`binance:BTCUSDT,ETHUSDT`, `coinbase:BTC-USD`, `kraken:BTC/USD`; a
    /// symbol renamed with `=ALIAS`). `TICKWIRE_FEED` separates feeds with `;`.
    #[arg(
        long,
        env = "TICKWIRE_FEED",
        value_delimiter = ';',
        default_value = "synthetic"
    )]
    pub feed: Vec<FeedSpec>,
    /// A venue's WebSocket base, `VENUE=URL` (repeatable): a proxy, a testnet, a test.
    #[arg(long, env = "TICKWIRE_FEED_WS_URL", value_delimiter = ';')]
    pub feed_ws_url: Vec<VenueUrl>,
    /// A venue's REST base, `VENUE=URL` (repeatable).
    #[arg(long, env = "TICKWIRE_FEED_REST_URL", value_delimiter = ';')]
    pub feed_rest_url: Vec<VenueUrl>,
    /// Seconds a venue connection may bring no frame (not even a ping or heartbeat)
    /// before it is closed and opened again.
    #[arg(long, env = "TICKWIRE_FEED_SILENCE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub feed_silence_secs: u64,
    /// Seconds a venue connection is used before it is replaced by a new one (a proxy
    /// that cuts long connections); 0: the venue's own limit less ten minutes (Binance's
    /// 24 h), or none.
    #[arg(long, env = "TICKWIRE_FEED_MAX_CONNECTION_SECS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=604_800))]
    pub feed_max_connection_secs: u64,
    /// Symbols of the synthetic market feed, comma separated.
    #[arg(
        long,
        env = "TICKWIRE_SYMBOLS",
        value_delimiter = ',',
        default_value = "BTC-USD,ETH-USD,EURUSD,GOOG"
    )]
    pub symbols: Vec<Symbol>,
    /// CSV files the `csv` feed replays (symbol = file stem), comma separated.
    #[arg(long, env = "TICKWIRE_REPLAY", value_delimiter = ',')]
    pub replay: Vec<PathBuf>,
    /// Where the `csv` feed starts in each file: a bar number (0 = the first) or a
    /// date (`2010-01-04`, or RFC 3339), meaning the first bar at or after it; the bars
    /// before it are published as the chart's history (`--history-candles`).
    #[arg(long, env = "TICKWIRE_REPLAY_FROM", default_value = "0", value_parser = CsvStart::parse)]
    pub replay_from: CsvStart,
    /// Closed candles a fresh market topic starts with, so the chart is full and the
    /// analysis has a value from the first second: the synthetic model's own past
    /// (same seed, same candles) or the replayed file's bars before `--replay-from`.
    #[arg(long, env = "TICKWIRE_HISTORY_CANDLES", default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=500))]
    pub history_candles: u64,
    /// Bars per second the `csv` feed replays.
    #[arg(long, env = "TICKWIRE_REPLAY_SPEED", default_value_t = 2.0)]
    pub replay_speed: f64,
    /// Candle interval of the market feed (`30s`, `1m`, `1h`, …).
    #[arg(long, env = "TICKWIRE_INTERVAL", default_value = "1m")]
    pub interval: Interval,
    /// Milliseconds between two ticks of one symbol.
    #[arg(long, env = "TICKWIRE_TICK_MS", default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub tick_ms: u64,
    /// Seed of the synthetic feed's price model.
    #[arg(long, env = "TICKWIRE_SEED", default_value_t = 42)]
    pub seed: u64,
}

impl ServeArgs {
    /// The flags as they would be with nothing given (tests start from here).
    pub fn defaults() -> Self {
        /// `serve`'s flags alone, as a command line of their own.
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            serve: ServeArgs,
        }
        <Flags as clap::Parser>::parse_from(["tickwire"]).serve
    }

    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_secs)
    }

    pub fn write_delay(&self) -> Duration {
        Duration::from_millis(self.write_delay_ms)
    }

    pub fn tick(&self) -> Duration {
        Duration::from_millis(self.tick_ms)
    }
}

/// `90s`, `30m`, `1h`, `30d` or a plain number of seconds.
pub fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90s, 30m or 1h"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(format!("`{text}` has an unknown unit: use s, m, h or d")),
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit_or_mean_seconds() {
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        assert_eq!(duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert!(duration("1w").unwrap_err().contains("unknown unit"));
        assert!(duration("soon").is_err());
    }
}
