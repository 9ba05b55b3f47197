//! `tickwire download` (docs/MARKETS.md, "History to backtest on") against a fake
//! venue: it pages through the venue's candles within its per-call limit, writes a
//! file the backtests read, and carries an interrupted download on without a repeat.

mod common;

use clap::Parser;
use common::venue::{binance_klines, query, Answer, FakeVenue};
use server::backtest::Bars;
use server::cli::download::{run, DownloadArgs};
use server::cli::{Cli, Command};
use server::feed::venue::Venue;

/// The command line `tickwire download --venue binance --symbol BTCUSDT --interval 1h
/// --from FROM --to TO --out OUT --rest-url (the fake venue)`, as the binary parses it.
fn args(venue: &FakeVenue, out: &std::path::Path, from: &str, to: &str) -> DownloadArgs {
    let rest = venue.rest_url();
    let out = out.display().to_string();
    let line = [
        "tickwire",
        "download",
        "--venue",
        "binance",
        "--symbol",
        "BTCUSDT",
        "--interval",
        "1h",
        "--from",
        from,
        "--to",
        to,
        "--out",
        &out,
        "--rest-url",
        &rest,
    ];
    match Cli::try_parse_from(line)
        .expect("the command line parses")
        .command
    {
        Some(Command::Download(args)) => args,
        other => panic!("not the download command: {other:?}"),
    }
}

#[tokio::test]
async fn a_download_pages_within_the_limit_and_resumes_where_it_stopped() {
    let venue = FakeVenue::start().await;
    venue.candles(|call| binance_klines(call, 3_600_000));
    let dir = std::env::temp_dir().join(format!("tickwire-download-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("BTCUSDT-1h.csv");
    let _ = std::fs::remove_file(&out);

    // 2,000 hours: two pages of Binance's 1,000, and a 429 waited out on the way.
    venue.answer([Answer {
        status: 429,
        retry_after: Some(1),
        body: r#"{"code":-1003,"msg":"Too many requests"}"#.into(),
    }]);
    let written = run(args(
        &venue,
        &out,
        "2024-01-01T00:00:00Z",
        "2024-03-24T08:00:00Z",
    ))
    .await
    .unwrap();
    assert_eq!(written, 2_000);
    let calls: Vec<String> = venue
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("/api/v3/klines"))
        .collect();
    assert_eq!(calls.len(), 3, "a refused call and two pages: {calls:?}");
    assert!(
        calls.iter().all(|c| query(c, "limit") == Some("1000")),
        "{calls:?}"
    );
    let bars = Bars::load(&out).unwrap();
    assert_eq!(bars.len(), 2_000);
    assert_eq!(bars.time[0], 1_704_067_200_000);
    assert_eq!(
        bars.close[1],
        100.0 + ((1_704_067_200_000_i64 / 3_600_000 + 1) % 10) as f64
    );

    // Interrupted mid-line: the cut line goes, and a later --to carries on after the
    // last whole candle with no repeat.
    let text = std::fs::read_to_string(&out).unwrap();
    let cut = text.len() - 20;
    std::fs::write(&out, &text[..cut]).unwrap();
    let written = run(args(
        &venue,
        &out,
        "2024-01-01T00:00:00Z",
        "2024-03-25T00:00:00Z",
    ))
    .await
    .unwrap();
    assert_eq!(written, 17, "the cut hour and the 16 after the first --to");
    let bars = Bars::load(&out).unwrap();
    assert_eq!(bars.len(), 2_016);
    assert!(
        bars.time.windows(2).all(|w| w[1] - w[0] == 3_600_000),
        "one candle an hour, none twice"
    );
    // Up to date: nothing is asked.
    let asked = venue.calls().len();
    assert_eq!(
        run(args(
            &venue,
            &out,
            "2024-01-01T00:00:00Z",
            "2024-03-25T00:00:00Z"
        ))
        .await
        .unwrap(),
        0
    );
    assert_eq!(venue.calls().len(), asked);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_download_the_venue_cannot_serve_is_refused_with_the_reason() {
    let venue = FakeVenue::start().await;
    let out = std::env::temp_dir().join(format!("tickwire-refused-{}.csv", std::process::id()));
    let mut kraken = args(&venue, &out, "2024-01-01", "2024-01-02");
    kraken.venue = Venue::Kraken;
    let err = run(kraken).await.unwrap_err().to_string();
    assert!(err.contains("only its last 720 candles"), "{err}");
    let mut odd = args(&venue, &out, "2024-01-01", "2024-01-02");
    odd.interval = "7m".parse().unwrap();
    let err = run(odd).await.unwrap_err().to_string();
    assert!(
        err.contains("binance serves no 7m candles: use one of"),
        "{err}"
    );
    // A file that is not a download is not written into.
    std::fs::write(&out, "Date,Open,High,Low,Close,Volume\n").unwrap();
    let err = run(args(&venue, &out, "2024-01-01", "2024-01-02"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a download"), "{err}");
    std::fs::remove_file(&out).unwrap();
}
