//! `tickwire download`: a venue's history as a CSV file the backtests read
//! (docs/MARKETS.md, "History to backtest on"). Pages through the venue's public REST
//! candles within its limits (each call the most candles it allows, paced, `429`
//! waited out), shows a progress bar, and resumes an interrupted download from the
//! last whole line of its file.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use protocol::Interval;
use tokio_util::sync::CancellationToken;

use crate::backtest::Bars;
use crate::feed::venue::api::{self, CandleRange};
use crate::feed::venue::history;
use crate::feed::venue::rest::Rest;
use crate::feed::venue::Venue;

/// The header of a downloaded file (freqtrade's layout, one of those the reader takes).
const HEADER: &str = "date,open,high,low,close,volume";

/// Flags of `tickwire download`.
#[derive(Args, Debug, Clone)]
pub struct DownloadArgs {
    /// `binance` or `coinbase` (Kraken's REST serves only its last 720 candles).
    #[arg(long, value_parser = Venue::parse)]
    pub venue: Venue,
    /// The market, as the venue names it (`BTCUSDT`, `BTC-USD`).
    #[arg(long)]
    pub symbol: String,
    /// Candle length: one the venue serves (`1m`, `5m`, `1h`, `1d`, …).
    #[arg(long)]
    pub interval: Interval,
    /// First day (`2024-01-01`) or time (RFC 3339) wanted.
    #[arg(long, value_parser = instant)]
    pub from: DateTime<Utc>,
    /// Up to this day or time, excluded (default: now; only closed candles are written).
    #[arg(long, value_parser = instant)]
    pub to: Option<DateTime<Utc>>,
    /// The CSV file to write; if it exists (an earlier download), it is carried on.
    #[arg(long)]
    pub out: PathBuf,
    /// The venue's REST base instead of its own (a proxy, a test).
    #[arg(long)]
    pub rest_url: Option<String>,
}

/// `2024-01-01` (midnight UTC) or an RFC 3339 time.
fn instant(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("`{text}` is neither a date like 2024-01-01 nor an RFC 3339 time"))
}

/// Runs the download, drawing its progress on stderr; the number of candles written.
pub async fn run(args: DownloadArgs) -> anyhow::Result<u64> {
    let api = api::of(args.venue);
    let profile = api.profile();
    if args.venue == Venue::Kraken {
        anyhow::bail!(
            "Kraken's REST API serves only its last 720 candles: download from binance or coinbase"
        );
    }
    let granularity = args.interval.secs();
    if !profile.granularities.contains(&granularity) {
        let served: Vec<String> = profile
            .granularities
            .iter()
            .filter_map(|&g| Interval::from_secs(g).ok().map(|i| i.to_string()))
            .collect();
        anyhow::bail!(
            "{} serves no {} candles: use one of {}",
            args.venue,
            args.interval,
            served.join(", ")
        );
    }
    let step = args.interval.millis();
    let now = Utc::now().timestamp_millis();
    // Closed candles only: the last one ends by now.
    let end = args
        .to
        .map_or(now, |t| t.timestamp_millis())
        .min(now - now.rem_euclid(step));
    let mut start = args.from.timestamp_millis();
    start -= start.rem_euclid(step);
    let mut file = open(&args.out)?;
    if let Some(last) = file.last_time {
        start = start.max(last + step);
    }
    if start >= end {
        eprintln!("{} is up to date", args.out.display());
        return Ok(0);
    }
    let bar = progress(((end - start) / step) as u64);
    let rest = Rest::new(profile.venue.name());
    let base = args.rest_url.unwrap_or_else(|| profile.rest.to_owned());
    let shutdown = CancellationToken::new();
    let mut written = 0;
    for (start_ms, end_ms) in history::calls(profile, granularity, start, end) {
        let range = CandleRange {
            base: &base,
            market: &args.symbol,
            granularity,
            start_ms,
            end_ms,
        };
        let candles = history::call(api.as_ref(), &rest, &range, &shutdown).await?;
        let mut lines = String::new();
        for c in &candles {
            let time = DateTime::from_timestamp_millis(c.open_ms).unwrap_or_default();
            lines.push_str(&format!(
                "{},{},{},{},{},{}\n",
                time.format("%Y-%m-%dT%H:%M:%S+00:00"),
                c.open,
                c.high,
                c.low,
                c.close,
                c.volume
            ));
            written += 1;
        }
        // One write per page, then flushed: an interruption leaves whole pages.
        file.append(&lines)?;
        bar.set_position(((end_ms - start) / step) as u64);
        tokio::time::sleep(profile.rest_pace).await;
    }
    bar.finish_and_clear();
    eprintln!(
        "{written} candles of {} {} written to {}",
        args.symbol,
        args.interval,
        args.out.display()
    );
    Ok(written)
}

fn progress(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} candles · {eta} left") {
        bar.set_style(style);
    }
    bar
}

/// The file being written, and the open time of its last candle, if it had any.
struct Out {
    file: std::fs::File,
    last_time: Option<i64>,
}

impl Out {
    fn append(&mut self, lines: &str) -> anyhow::Result<()> {
        self.file.write_all(lines.as_bytes())?;
        self.file.flush()?;
        Ok(())
    }
}

/// Opens `path` to append to: a new file gets the header; an existing one must be a
/// download (its header ours), loses a last line cut short, and says where it ends.
fn open(path: &Path) -> anyhow::Result<Out> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if text.is_empty() {
        file.write_all(format!("{HEADER}\n").as_bytes())?;
        return Ok(Out {
            file,
            last_time: None,
        });
    }
    if !text.starts_with(HEADER) {
        anyhow::bail!(
            "{} exists and is not a download (its first line is not `{HEADER}`): choose another --out",
            path.display()
        );
    }
    // A line cut short by an interruption goes.
    let whole = text.rfind('\n').map_or(0, |i| i + 1);
    if whole < text.len() {
        file.set_len(whole as u64)?;
        file.seek(SeekFrom::End(0))?;
        text.truncate(whole);
    }
    let last_time = if text.lines().count() > 1 {
        let bars = Bars::parse(&text, &path.display().to_string())?;
        bars.time.last().copied()
    } else {
        None
    };
    Ok(Out { file, last_time })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_and_to_take_a_date_or_a_time() {
        assert_eq!(instant("2024-01-01").unwrap().timestamp(), 1_704_067_200);
        assert_eq!(
            instant("2024-01-01T01:00:00Z").unwrap().timestamp(),
            1_704_070_800
        );
        assert!(instant("yesterday").unwrap_err().contains("neither a date"));
    }
}
