//! Builds the app from [`ServeArgs`], starts the feed, and serves until shutdown.

mod feeds;
mod listener;

pub use listener::Timeouts;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use leptos::config::LeptosOptions;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::access::Access;
use crate::admission::Admission;
use crate::auth::TokenKeys;
use crate::backtest::Backtests;
use crate::config::ServeArgs;
use protocol::SymbolInfo;

use crate::hub::{Hub, HubConfig, KeyRule};
use crate::notices::webhooks::{WebhookRules, Webhooks};
use crate::notices::Notices;
use crate::routes::state::{AppState, ConnectionLimits, Services, StaleAfter};
use crate::routes::{self, BodyBudget, Origins, TopicQuota, TrustedProxies};
use crate::runs::{RunContext, RunLimits};
use crate::session::Sessions;
use crate::store::{Backend, Keep, Store};
use crate::sweep::{SweepLimits, Sweeps};

/// A started server.
pub struct Running {
    /// Where it listens (the real port when started on port 0).
    pub addr: SocketAddr,
    /// Cancel to stop the server, its feed and its sockets.
    pub shutdown: CancellationToken,
    pub task: JoinHandle<std::io::Result<()>>,
    pub hub: Hub,
    /// Every backtest and session task: shutdown waits for them to publish their ends.
    pub tasks: TaskTracker,
    /// Where runs are kept (none with `--database-url none`): flushed before exit.
    pub store: Option<Store>,
}

/// How long shutdown waits for runs and sessions to end (docs/SPEC.md section 12: exit within 5 s).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

/// How long after the signal the process goes, whatever clients do (a request half
/// sent, a connection that never closes): the rest of docs/SPEC.md section 12's 5 s.
const EXIT_WITHIN: Duration = Duration::from_millis(4_500);

/// Binds the listener, starts the feed and serves in the background.
pub async fn start(args: ServeArgs) -> anyhow::Result<Running> {
    if args.jwt_secret.is_none() && !args.addr.ip().is_loopback() && !args.allow_anonymous {
        anyhow::bail!(
            "refusing to serve anonymously on {}: anyone who can reach it could drive it. \
             Set --jwt-secret (token mode), listen on 127.0.0.1, or pass --allow-anonymous",
            args.addr
        );
    }
    let tokens = match args.jwt_secret.as_deref() {
        Some(secret) => {
            let keys = TokenKeys::hs256(secret)?.with_max_ttl(args.max_ttl);
            Some(match args.jwt_secret_previous.as_deref() {
                Some(previous) => keys.with_previous(previous)?,
                None => keys,
            })
        }
        None => None,
    };
    let history = args.history as usize;
    // Room for a full replay plus the live backlog allowance.
    let config = HubConfig {
        history,
        outbox_capacity: history + args.outbox as usize,
        outbox_bytes: usize::try_from(args.outbox_bytes).unwrap_or(usize::MAX),
        max_topics: args.max_topics as usize,
        topic_idle: Duration::from_secs(args.topic_idle_secs),
        record: args.record_messages as usize,
        idempotency: KeyRule {
            window: Duration::from_secs(args.idempotency_window_secs),
            cap: args.max_idempotency_keys as usize,
        },
    };
    let store = Store::open(&args.database_url)
        .await
        .with_context(|| "--database-url: the store cannot be opened".to_owned())?;
    if args.redis_url.is_some()
        && store
            .as_ref()
            .is_some_and(|s| s.backend() == Backend::Sqlite)
    {
        anyhow::bail!(
            "--redis-url with an SQLite store: the instances of a cluster share one history, so \
             give them one PostgreSQL (--database-url postgres://…), or --database-url none"
        );
    }
    if args.sweep_threads == Some(0) && args.redis_url.is_none() {
        anyhow::bail!(
            "--sweep-threads 0 without --redis-url: no instance would run a sweep's combinations"
        );
    }
    let shutdown = CancellationToken::new();
    if let Some(store) = &store {
        let keep = Keep {
            days: args.keep_days,
            bytes: args.keep_bytes,
        };
        store.spawn_pruner(keep, shutdown.clone());
    }
    let hub = match args.redis_url.as_deref() {
        None => Hub::new(config),
        Some(url) => Hub::redis(
            config,
            url,
            Duration::from_secs(args.lease_secs),
            shutdown.clone(),
        )
        .map_err(|e| anyhow::anyhow!("--redis-url is not a Redis URL ({e})"))?,
    };
    let topic_quota = TopicQuota::new(args.max_new_topics_per_minute);
    spawn_idle_sweeper(hub.clone(), topic_quota.clone(), shutdown.clone());

    let feeds = feeds::start(&args, &hub, &shutdown)?;
    let market_period = feeds.market_period;
    let symbols: Arc<[SymbolInfo]> = Arc::from(feeds.symbols);
    let connections = connection_capacity(args.max_connections);
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    let leptos = LeptosOptions::builder()
        .output_name("tickwire")
        .site_root(args.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .hash_files(routes::hashed_site("hash.txt"))
        .build();
    let origins = Origins::new(
        addr,
        args.public_url.as_deref(),
        &args.allowed_hosts,
        &args.allowed_origins,
    )?;
    let tasks = TaskTracker::new();
    let webhooks = Webhooks::new(
        store.clone(),
        WebhookRules {
            per_user: args.max_webhooks_per_user as usize,
            timeout: Duration::from_secs(args.webhook_timeout_secs),
            retry_for: Duration::from_secs(args.webhook_retry_secs),
            allow_private: args.webhooks_allow_private,
        },
    )
    .context("the webhooks' HTTP client cannot be built")?;
    let context = RunContext {
        hub: hub.clone(),
        notices: Notices::start(hub.clone(), webhooks),
        store: store.clone(),
        shutdown: shutdown.clone(),
        tasks: tasks.clone(),
    };
    let run_limits = |max_active: u64, max_per_user: u64| RunLimits {
        max_active: max_active as usize,
        max_per_user: max_per_user as usize,
        retain: args.retain_runs,
        retain_bytes: usize::try_from(args.retain_runs_bytes).unwrap_or(usize::MAX),
    };
    let sessions = Sessions::new(
        context.clone(),
        symbols.clone(),
        run_limits(args.max_sessions, args.max_sessions_per_user),
    );
    sessions.tell_of_feeds(feeds.statuses.changes());
    let sweeps = Sweeps::new(
        context.clone(),
        args.data_dir.clone(),
        run_limits(args.max_sweeps, args.max_sweeps_per_user),
        SweepLimits {
            max_combos: args.max_sweep_combos,
            workers: match args.sweep_threads {
                Some(threads) => threads as usize,
                None => std::thread::available_parallelism().map_or(1, usize::from),
            },
        },
        args.max_pause,
    );
    let notices = context.notices.clone();
    let backtests = Backtests::new(
        context,
        args.data_dir.clone(),
        run_limits(args.max_backtests, args.max_backtests_per_user),
        args.max_pause,
    );
    // What the last stop cut off: backtests end `interrupted`, sessions trade on.
    backtests.recover().await;
    sessions.recover().await;
    sweeps.recover().await;
    let state = AppState::new(Services {
        origins,
        sockets: Admission::new(connections, args.max_connections_per_ip as usize),
        awaiting_auth: Admission::new(
            args.max_sockets_awaiting_auth as usize,
            args.max_sockets_awaiting_auth as usize,
        ),
        trusted_proxies: TrustedProxies::new(&args.trusted_proxies),
        hub: hub.clone(),
        access: Access::new(backtests.clone(), sessions.clone(), sweeps.clone()),
        sessions,
        sweeps,
        notices,
        symbols,
        feeds: feeds.statuses,
        backtests,
        limits: ConnectionLimits {
            heartbeat: args.heartbeat(),
            write_delay: args.write_delay(),
            max_message_bytes: args.max_message_bytes as usize,
            max_subscriptions: args.max_subscriptions as usize,
            max_body_bytes: args.max_body_bytes as usize,
            body_timeout: Duration::from_secs(args.body_timeout_secs),
            client_rate: args.client_rate,
            client_burst: args.client_burst,
            stale_after: StaleAfter { market_period },
        },
        bodies: BodyBudget::new(args.max_body_bytes_in_flight),
        topic_quota,
        api_key: args.api_key.as_deref().map(Arc::from),
        tokens,
        leptos,
        started: Instant::now(),
        shutdown: shutdown.clone(),
    });
    let app = routes::router(state);
    let task = tokio::spawn(listener::serve(
        listener,
        app,
        Admission::new(connections, args.max_connections_per_ip as usize),
        TrustedProxies::new(&args.trusted_proxies),
        Timeouts {
            header: Duration::from_secs(args.header_timeout_secs),
            keepalive: Duration::from_secs(args.keepalive_secs),
        },
        shutdown.clone(),
    ));
    let mode = if args.jwt_secret.is_some() {
        "token"
    } else {
        "anonymous"
    };
    tracing::info!(%addr, mode, "tickwire listening on http://{addr}");
    Ok(Running {
        addr,
        shutdown,
        task,
        hub,
        tasks,
        store,
    })
}

/// File descriptors kept for what is not a connection: data files, Redis, the runtime.
const FILES_KEPT: u64 = 128;

/// `--max-connections`, under the process's open-file limit (raised to its hard limit
/// first), so that accepting a connection never fails for want of a descriptor.
fn connection_capacity(asked: u64) -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            tracing::info!(limit, "open-file limit raised to its hard limit");
            limit
        }
        Err(e) => {
            let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((1024, 1024));
            tracing::warn!(error = %e, soft, "could not raise the open-file limit");
            soft
        }
    };
    let room = limit.saturating_sub(FILES_KEPT).max(1);
    if asked > room {
        tracing::warn!(
            asked,
            room,
            "--max-connections lowered to fit the open-file limit ({limit} files, {FILES_KEPT} kept for the rest)"
        );
    }
    usize::try_from(asked.min(room)).unwrap_or(usize::MAX)
}

/// Drops idle topics (docs/SPEC.md section 12) every quarter of the idle time, at most a minute
/// apart, until shutdown, and with them the users whose topic quota is whole again.
fn spawn_idle_sweeper(hub: Hub, quota: TopicQuota, shutdown: CancellationToken) {
    let every = (hub.topic_idle() / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {
                    let dropped = hub.sweep().await;
                    quota.forget_idle_users();
                    if dropped > 0 {
                        tracing::debug!(dropped, "idle topics dropped");
                    }
                }
            }
        }
    });
}

/// Serves until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let running = start(args).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    // Sockets are told 1001, runs are cancelled and sessions stopped: each publishes its
    // end before the process goes.
    let exit_by = tokio::time::Instant::now() + EXIT_WITHIN;
    running.shutdown.cancel();
    running.tasks.close();
    match tokio::time::timeout(SHUTDOWN_GRACE, running.tasks.wait()).await {
        Ok(()) => tracing::info!("every run and session has ended"),
        Err(_) => tracing::warn!("runs still ending after {SHUTDOWN_GRACE:?}: exiting anyway"),
    }
    // What the runs published as they ended is in the store before the process goes.
    if let Some(store) = &running.store {
        if tokio::time::timeout_at(exit_by, store.flush())
            .await
            .is_err()
        {
            tracing::warn!("the store's last writes did not finish in time");
        }
    }
    // Graceful shutdown waits for every connection to finish its request; a client
    // that never does (one byte of a 100-byte body) cannot hold the process.
    match tokio::time::timeout_at(exit_by, running.task).await {
        Ok(served) => served
            .context("server task failed")?
            .context("server failed")?,
        Err(_) => tracing::warn!(
            "connections still open {EXIT_WITHIN:?} after the signal: exiting anyway"
        ),
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
