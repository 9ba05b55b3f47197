//! `tickwire watch TOPIC`: a terminal client. One formatted line per message, or a
//! progress bar for a backtest; reconnects with the dashboard's policy (1 s doubling to
//! 30 s with ±20 % jitter, the count reset after every successful connection) and its
//! cursor rules (duplicates dropped, a gap resumes from the last seq), so nothing is
//! missed or shown twice. Following a backtest, it exits once the run has finished,
//! also when it had finished before watch started.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use protocol::client::ReconnectPolicy;
use protocol::client::{Cursor, Verdict};
use protocol::{
    decode, BearerToken, ClientAction, Connected, Control, Envelope, ErrorFrame, Message, Resync,
    ServerFrame, Snapshot, SnapshotData, Topic, TopicKind,
};
use rand::{Rng, SeedableRng};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Flags of `tickwire watch`.
#[derive(Args, Debug, Clone)]
pub struct WatchArgs {
    /// Topic to follow, e.g. `market:BTC-USD` or `backtest:b1`.
    pub topic: Topic,
    /// Server to connect to.
    #[arg(long, env = "TICKWIRE_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// Token for a server in token mode (`tickwire token`).
    #[arg(long, env = "TICKWIRE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Where watch writes its lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Stdout,
    /// Keeps stdout for a result printed afterwards (`tickwire backtest --url --json`).
    Stderr,
}

/// Follows the topic, writing to stdout, until a followed backtest finishes (forever
/// for other topics).
pub async fn run(args: WatchArgs) -> anyhow::Result<()> {
    run_to(args, Output::Stdout).await
}

/// [`run`], writing to `output`.
pub async fn run_to(args: WatchArgs, output: Output) -> anyhow::Result<()> {
    let ws_url = format!(
        "{}/api/ws",
        args.url.trim_end_matches('/').replacen("http", "ws", 1)
    );
    let mut backoff = Backoff::new(ReconnectPolicy::default(), clock_seed());
    let mut view = View::new(&args.topic, output);
    let mut cursor = Cursor::default();
    loop {
        let mut greeted = false;
        let link = Link {
            url: &ws_url,
            token: args.token.as_deref(),
        };
        match follow(link, &args.topic, &mut cursor, &mut view, &mut greeted).await {
            Ok(Finished) => return Ok(()),
            // Trying again would be refused again.
            Err(e) if e.is::<Refused>() => return Err(e),
            Err(e) => {
                let delay = backoff.after_loss(greeted);
                view.note(&format!(
                    "connection lost ({e:#}); retrying in {:.1} s",
                    delay.as_secs_f64()
                ));
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// The dashboard's reconnect policy, counted for one terminal client.
struct Backoff {
    policy: ReconnectPolicy,
    /// Consecutive attempts that ended without the server's greeting.
    failures: u32,
    jitter: rand_chacha::ChaCha8Rng,
}

impl Backoff {
    fn new(policy: ReconnectPolicy, seed: u64) -> Self {
        Backoff {
            policy,
            failures: 0,
            jitter: rand_chacha::ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The wait before the next attempt once a connection has ended; `greeted`: the
    /// server had greeted it, a success, so the count starts again.
    fn after_loss(&mut self, greeted: bool) -> Duration {
        if greeted {
            self.failures = 0;
        }
        let ms = self
            .policy
            .delay_ms(self.failures, self.jitter.random::<f64>());
        self.failures = self.failures.saturating_add(1);
        Duration::from_secs_f64(ms / 1_000.0)
    }
}

/// A seed for the backoff's jitter: different for every run of the command.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id())
}

struct Finished;

/// The server refused this client (its token, or the topic): no point retrying.
#[derive(Debug, thiserror::Error)]
#[error("the server refused: {0}")]
struct Refused(String);

/// Where to connect, and the token to prove who we are.
#[derive(Clone, Copy)]
struct Link<'a> {
    url: &'a str,
    token: Option<&'a str>,
}

/// One connection's life: prove who we are, subscribe (resuming from the cursor if it
/// has a point), print until it ends. `greeted` is set once the server's `connected`
/// frame has arrived.
async fn follow(
    link: Link<'_>,
    topic: &Topic,
    cursor: &mut Cursor,
    view: &mut View,
    greeted: &mut bool,
) -> anyhow::Result<Finished> {
    let url = link.url;
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    if let Some(token) = link.token {
        let auth = ClientAction::Auth {
            token: BearerToken(token.to_owned()),
        };
        socket
            .send(WsMessage::Text(serde_json::to_string(&auth)?.into()))
            .await?;
    }
    let subscribe = ClientAction::Subscribe {
        topic: topic.clone(),
        since: cursor.since(),
        max_rate: None,
    };
    socket
        .send(WsMessage::Text(serde_json::to_string(&subscribe)?.into()))
        .await?;
    while let Some(frame) = socket.next().await {
        let text = match frame? {
            WsMessage::Text(text) => text,
            WsMessage::Close(Some(close)) if u16::from(close.code) == 1008 => {
                return Err(Refused(close.reason.to_string()).into())
            }
            WsMessage::Close(close) => anyhow::bail!("server closed the socket: {close:?}"),
            _ => continue,
        };
        // Every kind is read, so every frame that reads is one.
        let Some(frame) = decode::server_frame(&text, &decode::EveryKind)? else {
            continue;
        };
        match frame {
            ServerFrame::Message(envelope) => match cursor.check(&envelope) {
                Verdict::Apply => {
                    if view.show(&envelope) {
                        return Ok(Finished);
                    }
                }
                Verdict::Duplicate => {}
                Verdict::Gap { expected, got } => {
                    anyhow::bail!("gap: expected seq {expected}, got {got}")
                }
            },
            ServerFrame::Control(Control::Connected(Connected { .. })) => *greeted = true,
            ServerFrame::Control(Control::Snapshot(snapshot))
            | ServerFrame::Control(Control::Resync(Resync { snapshot, .. })) => {
                cursor.reset(&snapshot);
                if view.snapshot(&snapshot) {
                    return Ok(Finished);
                }
            }
            // Refused our topic (another user's run, outside the token's topics).
            ServerFrame::Control(Control::Error(ErrorFrame {
                topic: Some(refused),
                error,
                ..
            })) if refused == topic.to_string() => return Err(Refused(error).into()),
            ServerFrame::Control(Control::Error(ErrorFrame { error, details, .. })) => {
                view.note(&format!(
                    "error: {error}{}",
                    details.map(|d| format!(" ({d})")).unwrap_or_default()
                ));
            }
            ServerFrame::Control(_) => {}
        }
    }
    anyhow::bail!("the socket ended")
}

/// Where lines go: plain lines, or above a progress bar for backtests.
struct View {
    bar: Option<ProgressBar>,
    output: Output,
}

impl View {
    fn new(topic: &Topic, output: Output) -> Self {
        let bar = (topic.kind() == TopicKind::Backtest).then(|| {
            let bar = ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:40.cyan/blue}] {pos:>3}% {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(topic.to_string());
            bar
        });
        View { bar, output }
    }

    fn note(&self, line: &str) {
        match (&self.bar, self.output) {
            // A hidden bar (output is not a terminal) would swallow the line.
            (Some(bar), _) if !bar.is_hidden() => bar.println(line),
            (_, Output::Stdout) => println!("{line}"),
            (_, Output::Stderr) => eprintln!("{line}"),
        }
    }

    /// Shows a snapshot; true when it is a backtest that has already finished.
    fn snapshot(&self, snapshot: &Snapshot) -> bool {
        self.note(&format!(
            "{} at seq {} (epoch {})",
            snapshot.topic, snapshot.last_seq, snapshot.epoch
        ));
        let SnapshotData::Backtest(run) = &snapshot.data else {
            return false;
        };
        if let Some(progress) = &run.progress {
            self.progress(progress);
        }
        let finished = run.status.is_over();
        if finished {
            self.note(&format!("the run has already finished: {:?}", run.status).to_lowercase());
            self.finish();
        }
        finished
    }

    fn progress(&self, p: &protocol::Progress) {
        if let Some(bar) = &self.bar {
            bar.set_position(p.pct.round() as u64);
            bar.set_message(format!(
                "{} / {} bars, {} trades, equity {:.2}",
                p.bars_processed, p.total_bars, p.trades, p.equity
            ));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }

    /// Shows one message; true when the stream has reached its end (a finished backtest).
    fn show(&self, envelope: &Envelope) -> bool {
        if let (Some(_), Message::Progress(p)) = (&self.bar, &envelope.message) {
            self.progress(p);
            return false;
        }
        self.note(&format_line(envelope));
        let finished = matches!(
            envelope.message,
            Message::Complete(_) | Message::Cancelled(_) | Message::Error(_)
        );
        if finished && self.bar.is_some() {
            self.finish();
            return true;
        }
        false
    }
}

/// One message as a line: `time #seq type details`.
pub fn format_line(e: &Envelope) -> String {
    let details = match &e.message {
        Message::Tick(t) => format!(
            "{} {} ({:+.2}%) vol {}",
            t.symbol, t.price, t.change_pct, t.volume
        ),
        Message::Candle(c) => format!(
            "{} {} {} O {} H {} L {} C {} V {:.3}{}",
            c.symbol,
            c.interval,
            c.open_time,
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume,
            if c.closed { " closed" } else { "" }
        ),
        Message::Log(l) => format!("{:?} {}: {}", l.level, l.target, l.message),
        other => serde_json::to_value(other)
            .map(|v| v["data"].to_string())
            .unwrap_or_default(),
    };
    format!(
        "{} #{} {} {details}",
        e.timestamp,
        e.seq,
        e.message.type_name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{DataSource, Epoch, Symbol, Tick, Timestamp};

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[test]
    fn backoff_doubles_with_jitter_and_restarts_after_a_greeted_connection() {
        let mut b = Backoff::new(ReconnectPolicy::default(), 7);
        let failed: Vec<f64> = (0..7).map(|_| secs(b.after_loss(false))).collect();
        for (delay, nominal) in failed.iter().zip([1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]) {
            assert!(
                (nominal * 0.8..=nominal * 1.2).contains(delay) && *delay <= 30.0,
                "{delay} s for a nominal {nominal} s: {failed:?}"
            );
        }
        // A connection the server greeted was a success: back to about 1 s.
        let after_success = secs(b.after_loss(true));
        assert!((0.8..=1.2).contains(&after_success), "{after_success}");
        assert!((1.6..=2.4).contains(&secs(b.after_loss(false))));
    }

    #[test]
    fn two_clients_do_not_retry_in_lockstep() {
        let (mut a, mut b) = (
            Backoff::new(ReconnectPolicy::default(), 1),
            Backoff::new(ReconnectPolicy::default(), 2),
        );
        let first: Vec<Duration> = (0..4).map(|_| a.after_loss(false)).collect();
        let second: Vec<Duration> = (0..4).map(|_| b.after_loss(false)).collect();
        assert_ne!(first, second, "jitter spreads reconnects");
    }

    #[test]
    fn a_tick_is_one_readable_line() {
        let e = Envelope {
            message: Message::Tick(Tick {
                symbol: Symbol::parse("EURUSD").unwrap(),
                price: 1.08123,
                change_pct: 0.25,
                volume: 10.0,
                source: DataSource::Synthetic,
                time: None,
            }),
            topic: "market:EURUSD".parse().unwrap(),
            seq: 7,
            epoch: Epoch("E".into()),
            timestamp: Timestamp::from_unix_ms(0),
            conflated: 0,
        };
        assert_eq!(
            format_line(&e),
            "1970-01-01T00:00:00.000Z #7 tick EURUSD 1.08123 (+0.25%) vol 10"
        );
    }
}
