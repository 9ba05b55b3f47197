//! `tickwire watch TOPIC`: a terminal client. One formatted line per message, or a
//! progress bar for a backtest; reconnects with backoff and resumes from the last seq,
//! like the dashboard, so nothing is missed or shown twice.

use std::time::Duration;

use anyhow::Context;
use app::protocol::{
    ClientAction, Control, Envelope, Message, ServerFrame, Since, Topic, TopicKind,
};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Flags of `tickwire watch`.
#[derive(Args, Debug, Clone)]
pub struct WatchArgs {
    /// Topic to follow, e.g. `market:BTC-USD` or `backtest:b1`.
    pub topic: Topic,
    /// Server to connect to.
    #[arg(long, env = "TICKWIRE_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
}

/// Backoff between reconnects: 1 s, doubling, at most 30 s.
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_CAP: Duration = Duration::from_secs(30);

pub async fn run(args: WatchArgs) -> anyhow::Result<()> {
    let ws_url = format!(
        "{}/api/ws",
        args.url.trim_end_matches('/').replacen("http", "ws", 1)
    );
    let mut view = View::new(&args.topic);
    let mut resume: Option<Since> = None;
    let mut backoff = BACKOFF_START;
    loop {
        match follow(&ws_url, &args.topic, &mut resume, &mut view).await {
            Ok(Finished) => return Ok(()),
            Err(e) => {
                view.note(&format!(
                    "connection lost ({e:#}); retrying in {} s",
                    backoff.as_secs()
                ));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_CAP);
            }
        }
    }
}

struct Finished;

/// One connection's life: subscribe (resuming if we can), print until it ends.
async fn follow(
    url: &str,
    topic: &Topic,
    resume: &mut Option<Since>,
    view: &mut View,
) -> anyhow::Result<Finished> {
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let subscribe = ClientAction::Subscribe {
        topic: topic.clone(),
        since: resume.clone(),
    };
    socket
        .send(WsMessage::Text(serde_json::to_string(&subscribe)?.into()))
        .await?;
    while let Some(frame) = socket.next().await {
        let text = match frame? {
            WsMessage::Text(text) => text,
            WsMessage::Close(close) => anyhow::bail!("server closed the socket: {close:?}"),
            _ => continue,
        };
        match serde_json::from_str::<ServerFrame>(&text)? {
            ServerFrame::Message(envelope) => {
                if let Some(since) = resume.as_ref().filter(|s| envelope.seq != s.seq + 1) {
                    anyhow::bail!("gap: got seq {} after {}", envelope.seq, since.seq);
                }
                *resume = Some(Since::after(envelope.seq, envelope.epoch.clone()));
                if view.show(&envelope) {
                    return Ok(Finished);
                }
            }
            ServerFrame::Control(Control::Snapshot(snapshot))
            | ServerFrame::Control(Control::Resync { snapshot, .. }) => {
                view.note(&format!(
                    "{} at seq {} (epoch {})",
                    snapshot.topic, snapshot.last_seq, snapshot.epoch
                ));
                *resume = Some(Since::after(snapshot.last_seq, snapshot.epoch));
            }
            ServerFrame::Control(Control::Error { error, details, .. }) => view.note(&format!(
                "error: {error}{}",
                details.map(|d| format!(" ({d})")).unwrap_or_default()
            )),
            ServerFrame::Control(_) => {}
        }
    }
    anyhow::bail!("the socket ended")
}

/// Where lines go: plain stdout, or above a progress bar for backtests.
struct View {
    bar: Option<ProgressBar>,
}

impl View {
    fn new(topic: &Topic) -> Self {
        let bar = (topic.kind() == TopicKind::Backtest).then(|| {
            let bar = ProgressBar::new(100);
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:40.cyan/blue}] {pos:>3}% {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(topic.to_string());
            bar
        });
        View { bar }
    }

    fn note(&self, line: &str) {
        match &self.bar {
            // A hidden bar (output is not a terminal) would swallow the line.
            Some(bar) if !bar.is_hidden() => bar.println(line),
            _ => println!("{line}"),
        }
    }

    /// Shows one message; true when the stream has reached its end (a finished backtest).
    fn show(&self, envelope: &Envelope) -> bool {
        if let (Some(bar), Message::Progress(p)) = (&self.bar, &envelope.message) {
            bar.set_position(p.pct.round() as u64);
            bar.set_message(format!(
                "{} / {} bars, {} trades, equity {:.2}",
                p.bars_processed, p.total_bars, p.trades, p.equity
            ));
            return false;
        }
        self.note(&format_line(envelope));
        let finished = matches!(
            envelope.message,
            Message::Complete(_) | Message::Cancelled(_) | Message::Error(_)
        );
        if finished && self.bar.is_some() {
            if let Some(bar) = &self.bar {
                bar.finish();
            }
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
    use app::protocol::{DataSource, Epoch, Symbol, Tick, Timestamp};

    #[test]
    fn a_tick_is_one_readable_line() {
        let e = Envelope {
            message: Message::Tick(Tick {
                symbol: Symbol::parse("EURUSD").unwrap(),
                price: 1.08123,
                change_pct: 0.25,
                volume: 10.0,
                source: DataSource::Synthetic,
            }),
            topic: "market:EURUSD".parse().unwrap(),
            seq: 7,
            epoch: Epoch("E".into()),
            timestamp: Timestamp::from_unix_ms(0),
        };
        assert_eq!(
            format_line(&e),
            "1970-01-01T00:00:00.000Z #7 tick EURUSD 1.08123 (+0.25%) vol 10"
        );
    }
}
