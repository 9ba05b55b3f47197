//! `tickwire-bench bench`: measures the hub end to end. Starts a real `tickwire` as a child
//! process, connects N subscribers to one topic over WebSockets, pushes K messages
//! through `POST /api/publish`, and prints delivered msg/s, publish-to-receive latency
//! percentiles and the server's memory per connection. With `--idle`, measures the
//! memory of that many idle (subscribed, silent) connections. With `--random-topics N`,
//! plays a stranger's flood: N polls and snapshots of random topic names, then N
//! subscribes (each followed by its unsubscribe), and reports the server's memory and
//! topic count after each and once the idle topics have been dropped.
//!
//! With `--redis-url`, the servers run on that Redis (docs/SPEC.md section 8), and with
//! `--instances N` there are N of them sharing the topic: the subscribers are spread
//! evenly over the instances, the publisher posts to the first, and the report adds a
//! line per instance.
//!
//! With `--target URL --target-pid PID`, it drives a server that is already running on
//! this machine (tickwire, or one of the peers of `scripts/bench/peers/`, which speak the
//! same subset of the protocol) instead of starting one, and reads that process's
//! `/proc` entries for its memory and CPU.
//!
//! A burst's server CPU per delivery is the server's user + system time (`/proc/PID/stat`,
//! in clock ticks of `getconf CLK_TCK`) from just before the first publish to the last
//! delivery — the subscribers hold their sockets open until it is read, so their closes
//! are not counted — divided by the deliveries. With `--rate`, that window is the paced
//! publishing itself plus whatever tail the server needs to catch up. `--json` prints the
//! figures as one line of JSON instead of the report.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use futures_util::StreamExt;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::Barrier;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use server::routes::MAX_PUBLISH_BATCH;

/// Flags of `tickwire-bench bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Subscribers on the one topic (spread evenly over the instances).
    #[arg(long, default_value_t = 1_000)]
    pub subscribers: usize,
    /// Messages published.
    #[arg(long, default_value_t = 1_000)]
    pub messages: usize,
    /// Messages per `POST /api/publish` batch.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Publisher pace in messages per second; 0 publishes the whole burst at once.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Seconds the servers are left idle after the last delivery, the subscribers still
    /// connected, before their memory is read again (what a burst leaves behind).
    #[arg(long, default_value_t = 5)]
    pub settle_secs: u64,
    /// Instead of the burst: hold this many idle connections and report memory.
    #[arg(long)]
    pub idle: Option<usize>,
    /// Instead of the burst: this many requests on random topic names, each kind.
    #[arg(long)]
    pub random_topics: Option<usize>,
    /// Run the servers on this Redis (`redis://HOST:PORT[/DB]`) instead of each
    /// holding its topics in memory.
    #[arg(long)]
    pub redis_url: Option<String>,
    /// Servers to start; more than one needs `--redis-url`, through which they share
    /// the topic.
    #[arg(long, default_value_t = 1)]
    pub instances: usize,
    /// Drive this already running server (`http://HOST:PORT`) instead of starting one;
    /// needs `--target-pid`.
    #[arg(long)]
    pub target: Option<String>,
    /// The `--target` server's process id, whose `/proc` entries give its CPU and RSS
    /// (so the target runs on this machine).
    #[arg(long, requires = "target")]
    pub target_pid: Option<u32>,
    /// Each subscriber asks for at most this many messages a second (`?max_rate=N`),
    /// and the messages published are `progress`, whose later value replaces the
    /// earlier: a server with rates sends each subscriber the latest at that rate
    /// (docs/SPEC.md section 6, "Rates"); one without sends them all.
    #[arg(long)]
    pub max_rate: Option<f64>,
    /// Print a burst's figures as one line of JSON instead of the report.
    #[arg(long)]
    pub json: bool,
    /// The `tickwire` binary to start (without `--target`); by default the one beside
    /// this benchmark, built by the same `cargo build`.
    #[arg(long)]
    pub server_bin: Option<std::path::PathBuf>,
}

/// Kills the server child when the bench ends, however it ends.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A process's resident memory (`VmRSS` of `/proc/PID/status`), in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status"))
        .with_context(|| format!("reading /proc/{pid}/status (Linux only)"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// The CPU a process has used so far, in clock ticks.
#[derive(Clone, Copy, Default)]
struct Cpu {
    /// User + system.
    total: u64,
    /// System alone: the kernel's work for the process (on loopback, a `send` includes
    /// the receiver's side of TCP).
    system: u64,
}

impl Cpu {
    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            total: self.total.saturating_sub(before.total),
            system: self.system.saturating_sub(before.system),
        }
    }
}

/// Several processes' CPU together.
impl std::iter::Sum for Cpu {
    fn sum<I: Iterator<Item = Cpu>>(all: I) -> Cpu {
        all.fold(Cpu::default(), |sum, cpu| Cpu {
            total: sum.total + cpu.total,
            system: sum.system + cpu.system,
        })
    }
}

/// The CPU a process has used so far (`utime` and `stime` of `/proc/PID/stat`; they
/// include its threads that have ended).
fn cpu(pid: u32) -> anyhow::Result<Cpu> {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat"))
        .with_context(|| format!("reading /proc/{pid}/stat (Linux only)"))?;
    // The name (field 2) is in parentheses and may hold spaces: count from after it.
    // Then state is field 3, utime field 14 and stime field 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    field(14)
        .zip(field(15))
        .map(|(utime, stime)| Cpu {
            total: utime + stime,
            system: stime,
        })
        .with_context(|| format!("no utime/stime in /proc/{pid}/stat"))
}

/// Clock ticks per second of `/proc/PID/stat`'s times (`getconf CLK_TCK`, read once);
/// 100, Linux's value nearly everywhere, if `getconf` does not answer.
fn clock_ticks_per_second() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        let asked = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t: &u64| t > 0);
        asked.unwrap_or_else(|| {
            eprintln!("bench: `getconf CLK_TCK` did not answer; assuming 100 ticks/s");
            100
        })
    })
}

/// One server the bench measures: the `HOST:PORT` it listens on, its process id, and,
/// when the bench started it, the child to stop at the end.
struct Instance {
    base: String,
    pid: u32,
    child: Option<ServerProcess>,
}

/// What `/proc` says about one server at one moment.
#[derive(Clone, Copy)]
struct Usage {
    rss_kib: u64,
    cpu: Cpu,
}

/// Each instance's [`Usage`] now, in instance order.
fn usage(instances: &[Instance]) -> anyhow::Result<Vec<Usage>> {
    instances
        .iter()
        .map(|i| {
            Ok(Usage {
                rss_kib: rss_kib(i.pid)?,
                cpu: cpu(i.pid)?,
            })
        })
        .collect()
}

/// Where a bench message carries its publish stamp (µs): a log line's text, or a
/// progress message's `bars_processed` (`--max-rate`).
fn stamp_key(args: &BenchArgs) -> &'static str {
    if args.max_rate.is_some() {
        "\"bars_processed\":"
    } else {
        "\"message\":\""
    }
}

/// A bench message's seq, how many messages it stands for besides itself
/// (`conflated`, 0 when absent) and its publish stamp (µs, after `stamp_key`), found
/// without a full JSON parse so the measuring clients take as little of the machine as
/// possible.
fn seq_and_stamp(frame: &str, stamp_key: &str) -> Option<(u64, u64, u64)> {
    fn number_after(text: &str, key: &str) -> Option<u64> {
        let rest = &text[text.find(key)? + key.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    }
    Some((
        number_after(frame, "\"seq\":")?,
        number_after(frame, "\"conflated\":").unwrap_or(0),
        number_after(frame, stamp_key)?,
    ))
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    check(&args)?;
    // Every connection is a file descriptor on both sides.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let http = reqwest::Client::new();
    let instances = match (&args.target, args.target_pid) {
        (Some(url), Some(pid)) => vec![target(&http, url, pid).await?],
        _ => {
            start_instances(
                &http,
                &server_bin(&args)?,
                args.instances,
                args.redis_url.as_deref(),
            )
            .await?
        }
    };
    let fresh = usage(&instances)?;
    let first = &instances[0];
    match (args.idle, args.random_topics) {
        (Some(n), _) => idle(first.pid, &first.base, n, fresh[0].rss_kib).await,
        (None, Some(n)) => random_topics(first.pid, &first.base, &http, n, fresh[0].rss_kib).await,
        (None, None) => burst(&instances, &args, &fresh).await,
    }
}

/// Refuses flag combinations the bench cannot run, saying why.
fn check(args: &BenchArgs) -> anyhow::Result<()> {
    let n = args.instances;
    if n == 0 {
        bail!("--instances must be at least 1");
    }
    if n > 1 && args.redis_url.is_none() {
        bail!("--instances {n} needs --redis-url: instances share a topic only through Redis");
    }
    if n > 1 && (args.idle.is_some() || args.random_topics.is_some()) {
        bail!("--idle and --random-topics measure one server: leave out --instances");
    }
    if args.target.is_some() {
        if args.target_pid.is_none() {
            bail!("--target needs --target-pid: the server's CPU and memory come from its /proc entries");
        }
        if n > 1 || args.redis_url.is_some() {
            bail!("--target drives one running server: leave out --instances and --redis-url");
        }
    }
    if args.json && (args.idle.is_some() || args.random_topics.is_some()) {
        bail!("--json reports a burst: leave out --idle and --random-topics");
    }
    if args.idle.is_none() && args.random_topics.is_none() {
        if args.subscribers < n {
            bail!(
                "--subscribers {} leaves an instance without any: give at least --instances ({n})",
                args.subscribers
            );
        }
        if args.messages == 0 {
            bail!("--messages must be at least 1");
        }
        if !(1..=MAX_PUBLISH_BATCH).contains(&args.batch) {
            bail!("--batch must be between 1 and {MAX_PUBLISH_BATCH} (the server's largest batch)");
        }
    }
    Ok(())
}

/// Starts `n` servers on free ports (on `redis_url` if given) and waits until each
/// says its backend is healthy.
async fn start_instances(
    http: &reqwest::Client,
    exe: &Path,
    n: usize,
    redis_url: Option<&str>,
) -> anyhow::Result<Vec<Instance>> {
    let mut instances = Vec::with_capacity(n);
    for _ in 0..n {
        instances.push(start_server(exe, redis_url)?);
    }
    for instance in &mut instances {
        wait_healthy(http, instance).await?;
    }
    Ok(instances)
}

/// The running server at `url` (`http://HOST:PORT`), process `pid`, once it answers
/// `GET /api/ws/health`.
async fn target(http: &reqwest::Client, url: &str, pid: u32) -> anyhow::Result<Instance> {
    let base = url
        .strip_prefix("http://")
        .unwrap_or(url)
        .trim_end_matches('/');
    if base.contains("://") || base.contains('/') {
        bail!("--target {url}: give http://HOST:PORT");
    }
    let health = format!("http://{base}/api/ws/health");
    let response = http
        .get(&health)
        .send()
        .await
        .with_context(|| format!("--target: nothing answers {health}"))?;
    if !response.status().is_success() {
        bail!("--target: {health} answered {}", response.status());
    }
    rss_kib(pid).with_context(|| format!("--target-pid {pid}: no such process here"))?;
    Ok(Instance {
        base: base.to_owned(),
        pid,
        child: None,
    })
}

/// The `tickwire` binary to start: `--server-bin`, else the one beside this benchmark.
fn server_bin(args: &BenchArgs) -> anyhow::Result<std::path::PathBuf> {
    if let Some(bin) = &args.server_bin {
        return Ok(bin.clone());
    }
    let me = std::env::current_exe().context("locating tickwire-bench")?;
    let beside = me.with_file_name("tickwire");
    if !beside.is_file() {
        bail!(
            "no tickwire binary at {}: build it (cargo build --release -p server) or pass --server-bin",
            beside.display()
        );
    }
    Ok(beside)
}

/// Starts `tickwire serve --feed off` on a free loopback port, with the caps raised.
fn start_server(exe: &Path, redis_url: Option<&str>) -> anyhow::Result<Instance> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let base = format!("127.0.0.1:{port}");
    let mut command = Command::new(exe);
    command
        .args([
            "serve",
            "--addr",
            &base,
            "--feed",
            "off",
            // A load test of the hub: nothing is kept (docs/STORE.md).
            "--database-url",
            "none",
            "--outbox",
            "65536",
            // A load test raises docs/SPEC.md section 12's caps rather than measure them.
            "--max-connections",
            "1000000",
            "--max-connections-per-ip",
            "1000000",
            "--client-rate",
            "1000000",
            "--client-burst",
            "1000000",
            // The flood's topics are dropped soon after it (docs/SPEC.md default: 600 s).
            "--topic-idle-secs",
            "2",
        ])
        // The backend is the bench's flag, never one left in the environment.
        .env_remove("TICKWIRE_REDIS_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null());
    if let Some(url) = redis_url {
        command.args(["--redis-url", url]);
    }
    let child = command.spawn().context("starting the server")?;
    Ok(Instance {
        pid: child.id(),
        child: Some(ServerProcess(child)),
        base,
    })
}

/// Waits (10 s at most) until `GET /api/ws/health` says `backend_healthy: true`.
async fn wait_healthy(http: &reqwest::Client, instance: &mut Instance) -> anyhow::Result<()> {
    let base = &instance.base;
    let url = format!("http://{base}/api/ws/health");
    let mut answered = None;
    for _ in 0..200 {
        if let Some(child) = &mut instance.child {
            if let Some(status) = child.0.try_wait()? {
                bail!("the server on {base} exited ({status}) before it became healthy");
            }
        }
        if let Ok(response) = http.get(&url).send().await {
            let health: Option<serde_json::Value> = response.json().await.ok();
            if health
                .as_ref()
                .is_some_and(|h| h["backend_healthy"] == true)
            {
                return Ok(());
            }
            answered = health;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    match answered {
        Some(health) => bail!(
            "the server on {base} answers, but its {} backend was not healthy within 10 s",
            health["backend"].as_str().unwrap_or("unknown")
        ),
        None => bail!("the server on {base} did not answer its health check within 10 s"),
    }
}

async fn idle(pid: u32, base: &str, n: usize, before_kib: u64) -> anyhow::Result<()> {
    let mut sockets = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        let url = format!("ws://{base}/api/ws/stream/backtest/idle");
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .with_context(|| format!("connection {i}"))?;
        sockets.push(socket);
    }
    // Let the server settle (read the connect frames on every socket).
    for socket in &mut sockets {
        for _ in 0..3 {
            socket.next().await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_kib = rss_kib(pid)?;
    let per_conn = (after_kib.saturating_sub(before_kib) as f64 * 1024.0) / n as f64;
    println!(
        "idle connections:        {n} (connected in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    println!("server RSS before/after: {before_kib} KiB / {after_kib} KiB");
    println!(
        "server memory per idle connection: {:.1} KiB",
        per_conn / 1024.0
    );
    Ok(())
}

/// A subscriber's WebSocket.
type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What one subscriber received: the latency of each message, and when it had all.
struct Received {
    /// The instance it was connected to.
    instance: usize,
    /// The seq of the last message it read.
    last_seq: u64,
    latencies_us: Vec<u64>,
    done: Duration,
    /// Held open until the servers' CPU has been read, so that closing it is not counted.
    _socket: Socket,
}

/// The subscribers' reads, each checking its seqs are contiguous.
type Subscribers = Vec<JoinHandle<anyhow::Result<Received>>>;

async fn burst(instances: &[Instance], args: &BenchArgs, fresh: &[Usage]) -> anyhow::Result<()> {
    // A name of its own, so a reused Redis never resumes an earlier run's topic.
    let id = format!("bench-{}", ulid::Ulid::new());
    let clock = Instant::now();
    let ready = Arc::new(Barrier::new(args.subscribers + 1));
    let subscribers = subscribe(instances, &id, args, clock, ready.clone()).await?;
    ready.wait().await;
    let connected = usage(instances)?;
    let bench_before = cpu(std::process::id())?;

    let start = clock.elapsed();
    let topic = format!("backtest:{id}");
    publish_apart(&instances[0].base, &topic, args, clock).await?;
    let publishing = clock.elapsed() - start;
    let received = collect(subscribers, args.messages).await?;
    let after = usage(instances)?;
    let bench_ticks = cpu(std::process::id())?.since(bench_before).total;
    // Memory taken in the burst should be given back once the server is idle again.
    tokio::time::sleep(Duration::from_secs(args.settle_secs)).await;
    let measured = Measured {
        start,
        publishing,
        fresh: fresh.to_vec(),
        connected,
        after,
        settled: usage(instances)?,
        bench_ticks,
        received,
    };
    if args.json {
        println!("{}", measured.json(args));
    } else {
        report(instances, args, &measured);
    }
    Ok(())
}

/// Waits until every subscriber has read up to the `k`th message (all `k` of them,
/// or at `--max-rate` the latest values standing for them).
async fn collect(subscribers: Subscribers, k: usize) -> anyhow::Result<Vec<Received>> {
    let mut received = Vec::with_capacity(subscribers.len());
    for subscriber in subscribers {
        let got = subscriber.await??;
        if got.last_seq != k as u64 {
            bail!(
                "a subscriber read up to seq {} of {k} ({} messages)",
                got.last_seq,
                got.latencies_us.len()
            );
        }
        received.push(got);
    }
    Ok(received)
}

/// Connects the subscribers to topic `backtest:{id}`, subscriber `i` to instance
/// `i mod n`; each reads its first frames, waits at `ready`, then reads `--messages`.
async fn subscribe(
    instances: &[Instance],
    id: &str,
    args: &BenchArgs,
    clock: Instant,
    ready: Arc<Barrier>,
) -> anyhow::Result<Subscribers> {
    let k = args.messages as u64;
    let stamp_key = stamp_key(args);
    let query = args
        .max_rate
        .map_or_else(String::new, |rate| format!("?max_rate={rate}"));
    let mut tasks = Vec::with_capacity(args.subscribers);
    for i in 0..args.subscribers {
        let instance = i % instances.len();
        let url = format!(
            "ws://{}/api/ws/stream/backtest/{id}{query}",
            instances[instance].base
        );
        let ready = ready.clone();
        let (mut socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .with_context(|| format!("subscriber {i} on instance {instance}"))?;
        tasks.push(tokio::spawn(async move {
            // connected, subscribed, snapshot
            for _ in 0..3 {
                socket.next().await;
            }
            ready.wait().await;
            let mut latencies_us = Vec::with_capacity(k as usize);
            let mut last_seq = 0;
            while last_seq < k {
                let text = match socket.next().await {
                    Some(Ok(WsMessage::Text(text))) => text,
                    // Pings (tungstenite answers them) and pongs.
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                    _ => break,
                };
                let Some((seq, conflated, sent_us)) = seq_and_stamp(&text, stamp_key) else {
                    continue;
                };
                if seq.saturating_sub(conflated) != last_seq + 1 {
                    bail!("gap on instance {instance}: seq {seq} (conflated {conflated}) after {last_seq}");
                }
                last_seq = seq;
                latencies_us.push((clock.elapsed().as_micros() as u64).saturating_sub(sent_us));
            }
            Ok(Received {
                instance,
                last_seq,
                latencies_us,
                done: clock.elapsed(),
                _socket: socket,
            })
        }));
    }
    Ok(tasks)
}

/// [`publish`] on a thread and runtime of its own, so that the subscribers' reads never
/// hold back a batch: the pace is the publisher's alone, even when the subscribers keep
/// every other thread of the bench busy.
async fn publish_apart(
    base: &str,
    topic: &str,
    args: &BenchArgs,
    clock: Instant,
) -> anyhow::Result<()> {
    let (base, topic, args) = (base.to_owned(), topic.to_owned(), args.clone());
    let (done, finished) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench-publisher".into())
        .spawn(move || {
            let published = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|runtime| {
                    runtime.block_on(publish(
                        &reqwest::Client::new(),
                        &base,
                        &topic,
                        &args,
                        clock,
                    ))
                });
            let _ = done.send(published);
        })
        .context("starting the publisher's thread")?;
    finished
        .await
        .context("the publisher's thread ended without an answer")?
}

/// Posts `--messages` to `topic` through `base`'s `POST /api/publish`, in batches of
/// `--batch`, at `--rate` if given; each message carries its send time on `clock`.
async fn publish(
    http: &reqwest::Client,
    base: &str,
    topic: &str,
    args: &BenchArgs,
    clock: Instant,
) -> anyhow::Result<()> {
    let k = args.messages;
    let start = clock.elapsed();
    let mut published = 0;
    while published < k {
        let batch = args.batch.min(k - published);
        if args.rate > 0 {
            // Publish batch i no earlier than i·batch/rate seconds after the start.
            let due = start + Duration::from_secs_f64(published as f64 / args.rate as f64);
            tokio::time::sleep(due.saturating_sub(clock.elapsed())).await;
        }
        let now_us = clock.elapsed().as_micros() as u64;
        let message = if args.max_rate.is_some() {
            json!({"topic": topic, "type": "progress", "data": {"pct": 0.0, "bars_processed": now_us,
                "total_bars": 1_000_000_000_000u64, "current_time": "1970-01-01T00:00:00.000Z",
                "trades": 0, "equity": 0.0, "pnl": 0.0}})
        } else {
            json!({"topic": topic, "type": "log", "data": {"level": "info", "message": now_us.to_string(), "target": "bench"}})
        };
        let messages = vec![message; batch];
        let response = http
            .post(format!("http://{base}/api/publish"))
            .json(&json!({ "messages": messages }))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!(
                "publish failed: {} {}",
                response.status(),
                response.text().await.unwrap_or_default()
            );
        }
        published += batch;
    }
    Ok(())
}

/// Deliveries per second and latency percentiles of some subscribers' messages.
struct Figures {
    deliveries: usize,
    /// From the first publish to the last delivery.
    window: Duration,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Figures {
    /// Of the messages `received` after `start` (at least one of them has some).
    fn of<'a>(received: impl Iterator<Item = &'a Received>, start: Duration) -> Self {
        let mut all = Vec::new();
        let mut last = start;
        for r in received {
            all.extend_from_slice(&r.latencies_us);
            last = last.max(r.done);
        }
        all.sort_unstable();
        let pct = |p: f64| {
            let i = ((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1));
            all.get(i).map_or(0.0, |&us| us as f64 / 1000.0)
        };
        Figures {
            deliveries: all.len(),
            window: last - start,
            per_second: all.len() as f64 / (last - start).as_secs_f64(),
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: pct(1.0),
        }
    }

    fn latency(&self) -> String {
        format!(
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.p50_ms, self.p99_ms, self.max_ms
        )
    }
}

/// What a burst measured.
struct Measured {
    /// When publishing started, on the bench's clock.
    start: Duration,
    /// How long publishing took (the last batch's answer included).
    publishing: Duration,
    received: Vec<Received>,
    /// Each instance's `/proc` figures before the subscribers connected, once they
    /// had (right before the first publish), and after the last delivery.
    fresh: Vec<Usage>,
    connected: Vec<Usage>,
    after: Vec<Usage>,
    /// `--settle-secs` after the last delivery.
    settled: Vec<Usage>,
    /// The bench's own CPU from the first publish to the last delivery, in ticks.
    bench_ticks: u64,
}

/// Clock ticks in µs.
fn ticks_us(ticks: u64) -> f64 {
    ticks as f64 * 1e6 / clock_ticks_per_second() as f64
}

/// RSS of all the instances together, in KiB.
fn total_rss_kib(usage: &[Usage]) -> u64 {
    usage.iter().map(|u| u.rss_kib).sum()
}

impl Measured {
    /// The servers' CPU (all instances) from the first publish to the last delivery:
    /// user + system and system alone, µs.
    fn server_cpu_us(&self) -> (f64, f64) {
        let sum = |usage: &[Usage]| usage.iter().map(|u| u.cpu).sum::<Cpu>();
        let used = sum(&self.after).since(sum(&self.connected));
        (ticks_us(used.total), ticks_us(used.system))
    }

    /// One line of JSON: the figures `scripts/bench/peers.sh` tabulates.
    fn json(&self, args: &BenchArgs) -> serde_json::Value {
        let all = Figures::of(self.received.iter(), self.start);
        let deliveries = all.deliveries.max(1) as f64;
        let (server_cpu_us, server_system_us) = self.server_cpu_us();
        json!({
            "target": args.target,
            "subscribers": args.subscribers,
            "messages": args.messages,
            "batch": args.batch,
            "rate": args.rate,
            "max_rate": args.max_rate,
            "deliveries": all.deliveries,
            "publishing_s": self.publishing.as_secs_f64(),
            "window_s": all.window.as_secs_f64(),
            "deliveries_per_s": all.per_second,
            "p50_ms": all.p50_ms,
            "p99_ms": all.p99_ms,
            "max_ms": all.max_ms,
            "server_cpu_ms": server_cpu_us / 1000.0,
            "server_cpu_us_per_delivery": server_cpu_us / deliveries,
            "server_cpu_us_per_viewer_s": server_cpu_us
                / (args.subscribers.max(1) as f64 * all.window.as_secs_f64().max(1e-9)),
            "server_system_us_per_delivery": server_system_us / deliveries,
            "bench_cpu_us_per_delivery": ticks_us(self.bench_ticks) / deliveries,
            "clk_tck": clock_ticks_per_second(),
            "rss_fresh_kib": total_rss_kib(&self.fresh),
            "rss_connected_kib": total_rss_kib(&self.connected),
            "rss_after_kib": total_rss_kib(&self.after),
            "rss_settled_kib": total_rss_kib(&self.settled),
            "settle_s": args.settle_secs,
        })
    }
}

/// Prints the run's figures; on Redis, how long publishing took and a line per
/// instance too.
fn report(instances: &[Instance], args: &BenchArgs, measured: &Measured) {
    let Measured {
        start,
        publishing,
        received,
        fresh,
        connected,
        after,
        settled,
        bench_ticks,
    } = measured;
    let (start, n, k) = (*start, args.subscribers, args.messages);
    let all = Figures::of(received.iter(), start);
    let pace = if args.rate > 0 {
        format!("{} msg/s in batches of {}", args.rate, args.batch)
    } else {
        format!("one burst, batches of {}", args.batch)
    };
    if args.redis_url.is_some() {
        println!(
            "backend:                 redis, {} instance(s); published through instance 0 in {:.3} s",
            instances.len(),
            publishing.as_secs_f64()
        );
    }
    println!(
        "subscribers × messages:  {n} × {k} = {} deliveries ({pace})",
        all.deliveries
    );
    println!(
        "delivered:               {:.0} msg/s over {:.3} s",
        all.per_second,
        all.window.as_secs_f64()
    );
    println!("publish→receive latency: {}", all.latency());
    let deliveries = all.deliveries.max(1) as f64;
    let (server_cpu_us, server_system_us) = measured.server_cpu_us();
    println!(
        "server CPU:              {:.0} ms over those {:.3} s, {:.2} µs per delivery, {:.2} of it system (the bench's own: {:.2} µs; {} ticks/s)",
        server_cpu_us / 1000.0,
        all.window.as_secs_f64(),
        server_cpu_us / deliveries,
        server_system_us / deliveries,
        ticks_us(*bench_ticks) / deliveries,
        clock_ticks_per_second()
    );
    let (idle, with_subscribers, then, later) = (
        total_rss_kib(fresh),
        total_rss_kib(connected),
        total_rss_kib(after),
        total_rss_kib(settled),
    );
    let servers = match instances.len() {
        1 => "server RSS:".to_owned(),
        m => format!("server RSS ({m} instances together):"),
    };
    println!(
        "{servers} {idle} KiB idle, {with_subscribers} KiB with {n} subscribers ({:.1} KiB per connection), {then} KiB after the messages, {later} KiB {} s later",
        with_subscribers.saturating_sub(idle) as f64 / n as f64,
        args.settle_secs
    );
    if args.redis_url.is_some() {
        for (i, instance) in instances.iter().enumerate() {
            let mine = Figures::of(received.iter().filter(|r| r.instance == i), start);
            println!(
                "instance {i} ({}): {} subscribers, {:.0} msg/s, {}, RSS {} → {} KiB",
                instance.base,
                received.iter().filter(|r| r.instance == i).count(),
                mine.per_second,
                mine.latency(),
                fresh[i].rss_kib,
                connected[i].rss_kib
            );
        }
    }
}

/// Sockets the random-topic subscribes are spread over.
const FLOOD_SOCKETS: usize = 100;

/// The server's topic count (`GET /api/ws/health`).
async fn topic_count(http: &reqwest::Client, base: &str) -> anyhow::Result<u64> {
    let health: serde_json::Value = http
        .get(format!("http://{base}/api/ws/health"))
        .send()
        .await?
        .json()
        .await?;
    health["topics"]
        .as_u64()
        .context("no topic count in health")
}

async fn random_topics(
    pid: u32,
    base: &str,
    http: &reqwest::Client,
    n: usize,
    before_kib: u64,
) -> anyhow::Result<()> {
    let salt: u64 = rand::random();
    let name = move |i: usize| format!("market:R{salt:X}-{i}");
    let report = |phase: &str, kib: u64, topics: u64| {
        println!(
            "{phase:<44} RSS {kib:>7} KiB ({:+} KiB), {topics} topics",
            kib as i64 - before_kib as i64
        );
    };
    report("before", before_kib, topic_count(http, base).await?);

    // Reads: polls and snapshots of topics that do not exist.
    let started = Instant::now();
    let reads = futures_util::stream::iter(0..n)
        .map(|i| {
            let url = match i % 2 {
                0 => format!("http://{base}/api/streams/{}", name(i)),
                _ => format!("http://{base}/api/streams/{}/snapshot", name(i)),
            };
            let http = http.clone();
            async move { http.get(url).send().await.map(|r| r.status().is_success()) }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    let ok = reads.iter().filter(|r| matches!(r, Ok(true))).count();
    let took = started.elapsed().as_secs_f64();
    report(
        &format!("after {n} random polls/snapshots ({ok} OK, {took:.1} s)"),
        rss_kib(pid)?,
        topic_count(http, base).await?,
    );

    // Subscribes: each creates its topic (up to --max-topics), then unsubscribes. Twice:
    // the second flood lands on memory the first one's dropped topics gave back.
    for round in 1..=2 {
        let offset = round * n;
        let started = Instant::now();
        let (subscribed, refused) = subscribe_flood(base, n, move |i| name(offset + i)).await?;
        let took = started.elapsed().as_secs_f64();
        report(
            &format!("flood {round}: {n} random subscribes ({subscribed} OK, {refused} refused, {took:.1} s)"),
            rss_kib(pid)?,
            topic_count(http, base).await?,
        );
        // Idle topics go (this bench sets --topic-idle-secs 2).
        let deadline = Instant::now() + Duration::from_secs(60);
        while topic_count(http, base).await? > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        report(
            &format!("flood {round}: once its idle topics are dropped"),
            rss_kib(pid)?,
            topic_count(http, base).await?,
        );
    }
    Ok(())
}

/// Subscribes to `n` topics named by `name`, each then unsubscribed, over
/// [`FLOOD_SOCKETS`] sockets; how many were subscribed and how many refused.
async fn subscribe_flood(
    base: &str,
    n: usize,
    name: impl Fn(usize) -> String + Copy + Send + 'static,
) -> anyhow::Result<(usize, usize)> {
    use futures_util::SinkExt;
    let mut tasks = Vec::with_capacity(FLOOD_SOCKETS);
    for s in 0..FLOOD_SOCKETS {
        let (mut socket, _) =
            tokio_tungstenite::connect_async(format!("ws://{base}/api/ws")).await?;
        tasks.push(tokio::spawn(async move {
            let (mut subscribed, mut refused) = (0usize, 0usize);
            for i in (s..n).step_by(FLOOD_SOCKETS) {
                let topic = name(i);
                let subscribe = json!({"action": "subscribe", "topic": topic}).to_string();
                socket.send(WsMessage::Text(subscribe.into())).await?;
                // Until the answer: `subscribed` to this topic, or an `error`.
                let quoted = format!("\"{topic}\"");
                while let Some(frame) = socket.next().await {
                    let WsMessage::Text(text) = frame? else {
                        continue;
                    };
                    if text.contains("\"type\":\"error\"") {
                        refused += 1;
                        break;
                    }
                    if text.contains("\"type\":\"subscribed\"") && text.contains(&quoted) {
                        subscribed += 1;
                        let unsubscribe =
                            json!({"action": "unsubscribe", "topic": topic}).to_string();
                        socket.send(WsMessage::Text(unsubscribe.into())).await?;
                        break;
                    }
                }
            }
            anyhow::Ok((subscribed, refused))
        }));
    }
    let (mut subscribed, mut refused) = (0, 0);
    for task in tasks {
        let (s, r) = task.await??;
        subscribed += s;
        refused += r;
    }
    Ok((subscribed, refused))
}
