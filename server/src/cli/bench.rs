//! `tickwire bench`: measures the hub end to end. Starts a real server as a child
//! process, connects N subscribers to one topic over WebSockets, pushes K messages
//! through `POST /api/publish`, and prints delivered msg/s, publish-to-receive latency
//! percentiles and the server's memory per connection. With `--idle`, measures the
//! memory of that many idle (subscribed, silent) connections. With `--random-topics N`,
//! plays a stranger's flood: N polls and snapshots of random topic names, then N
//! subscribes (each followed by its unsubscribe), and reports the server's memory and
//! topic count after each and once the idle topics have been dropped.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::Barrier;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Flags of `tickwire bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Subscribers on the one topic.
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
    /// Instead of the burst: hold this many idle connections and report memory.
    #[arg(long)]
    pub idle: Option<usize>,
    /// Instead of the burst: this many requests on random topic names, each kind.
    #[arg(long)]
    pub random_topics: Option<usize>,
}

/// Kills the server child when the bench ends, however it ends.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl ServerProcess {
    fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(
            Path::new("/proc")
                .join(self.0.id().to_string())
                .join("status"),
        )
        .context("reading the server's /proc status (Linux only)")?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in /proc status")
    }
}

/// The seq and the publish stamp (µs) of a bench message, found without a full JSON
/// parse so the measuring clients take as little of the machine as possible.
fn seq_and_stamp(frame: &str) -> Option<(u64, u64)> {
    fn number_after(text: &str, key: &str) -> Option<u64> {
        let rest = &text[text.find(key)? + key.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    }
    Some((
        number_after(frame, "\"seq\":")?,
        number_after(frame, "\"message\":\"")?,
    ))
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    // Every connection is a file descriptor on both sides.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let (server, base) = start_server().await?;
    let http = reqwest::Client::new();
    let idle_rss = server.rss_kib()?;
    match (args.idle, args.random_topics) {
        (Some(n), _) => idle(&server, &base, n, idle_rss).await,
        (None, Some(n)) => random_topics(&server, &base, &http, n, idle_rss).await,
        (None, None) => burst(&server, &base, &http, &args, idle_rss).await,
    }
}

async fn start_server() -> anyhow::Result<(ServerProcess, String)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let exe = std::env::current_exe()?;
    let child = Command::new(exe)
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--feed",
            "off",
            "--outbox",
            "65536",
            // A load test raises SPEC section 12's caps rather than measure them.
            "--max-connections",
            "1000000",
            "--max-connections-per-ip",
            "1000000",
            "--client-rate",
            "1000000",
            "--client-burst",
            "1000000",
            // The flood's topics are dropped soon after it (SPEC default: 600 s).
            "--topic-idle-secs",
            "2",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting the server")?;
    let server = ServerProcess(child);
    let base = format!("127.0.0.1:{port}");
    let health = format!("http://{base}/api/ws/health");
    for _ in 0..100 {
        if reqwest::get(&health)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok((server, base));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server did not become healthy on {base}")
}

async fn idle(server: &ServerProcess, base: &str, n: usize, before_kib: u64) -> anyhow::Result<()> {
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
    let after_kib = server.rss_kib()?;
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

async fn burst(
    server: &ServerProcess,
    base: &str,
    http: &reqwest::Client,
    args: &BenchArgs,
    before_kib: u64,
) -> anyhow::Result<()> {
    let n = args.subscribers;
    let k = args.messages;
    let clock = Instant::now();
    let ready = Arc::new(Barrier::new(n + 1));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let url = format!("ws://{base}/api/ws/stream/backtest/bench");
        let ready = ready.clone();
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
        tasks.push(tokio::spawn(async move {
            // connected, subscribed, snapshot
            for _ in 0..3 {
                socket.next().await;
            }
            ready.wait().await;
            let mut latencies_us = Vec::with_capacity(k);
            let mut last_seq = 0;
            while latencies_us.len() < k {
                let Some(Ok(WsMessage::Text(text))) = socket.next().await else {
                    break;
                };
                let Some((seq, sent_us)) = seq_and_stamp(&text) else {
                    continue;
                };
                if seq != last_seq + 1 {
                    return Err(anyhow::anyhow!("gap: seq {seq} after {last_seq}"));
                }
                last_seq = seq;
                latencies_us.push((clock.elapsed().as_micros() as u64).saturating_sub(sent_us));
            }
            Ok((latencies_us, clock.elapsed()))
        }));
    }
    ready.wait().await;
    let connected_kib = server.rss_kib()?;

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
        let messages: Vec<_> = (0..batch)
            .map(|_| json!({"topic": "backtest:bench", "type": "log", "data": {"level": "info", "message": now_us.to_string(), "target": "bench"}}))
            .collect();
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
    let mut all = Vec::with_capacity(n * k);
    let mut last_receive = start;
    for task in tasks {
        let (latencies, done) = task.await??;
        if latencies.len() != k {
            bail!("a subscriber received {} of {k} messages", latencies.len());
        }
        all.extend(latencies);
        last_receive = last_receive.max(done);
    }
    let seconds = (last_receive - start).as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)] as f64 / 1000.0;
    let pace = if args.rate > 0 {
        format!("{} msg/s in batches of {}", args.rate, args.batch)
    } else {
        format!("one burst, batches of {}", args.batch)
    };
    println!(
        "subscribers × messages:  {n} × {k} = {} deliveries ({pace})",
        n * k
    );
    println!(
        "delivered:               {:.0} msg/s over {seconds:.3} s",
        (n * k) as f64 / seconds
    );
    println!(
        "publish→receive latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "server RSS: {before_kib} KiB idle, {connected_kib} KiB with {n} subscribers ({:.1} KiB per connection)",
        connected_kib.saturating_sub(before_kib) as f64 / n as f64
    );
    Ok(())
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
    server: &ServerProcess,
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
        server.rss_kib()?,
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
            server.rss_kib()?,
            topic_count(http, base).await?,
        );
        // Idle topics go (this bench sets --topic-idle-secs 2).
        let deadline = Instant::now() + Duration::from_secs(60);
        while topic_count(http, base).await? > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        report(
            &format!("flood {round}: once its idle topics are dropped"),
            server.rss_kib()?,
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
