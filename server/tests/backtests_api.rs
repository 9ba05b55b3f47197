//! Backtests over the real API: started by REST, streamed over a socket to completion,
//! validated field by field, controlled while running.

mod common;

use common::*;
use protocol::api::BacktestRequest;
use serde_json::{json, Value};
use server::backtest::live::control::RunControl;
use server::backtest::{plan, run_streaming};
use server::backtest::{run, Account, Silent, Strategy};
use server::hub::Command;

async fn post(running: &server::serve::Running, body: Value) -> (u16, Value) {
    post_json(running, "/api/backtests", &body).await
}

#[tokio::test]
async fn a_goog_backtest_streams_from_started_to_complete_with_the_engines_results() {
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
    })
    .await;
    // Subscribe first so the whole run is seen live, in order.
    let mut socket = connect(&running, "/api/ws/stream/backtest/goog-1").await;
    next_of_type(&mut socket, "snapshot").await;
    let (status, started) = post(
        &running,
        json!({"id": "goog-1", "dataset": "GOOG", "strategy": "sma_cross", "params": {"fast": 10, "slow": 20},
               "commission": 0.002, "progress_every_bars": 100}),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    assert_eq!(started["topic"], "backtest:goog-1");
    assert_eq!(started["stream_url"], "/api/ws/stream/backtest/goog-1");

    let messages = messages_until(&mut socket, "complete").await;
    assert_eq!(seqs(&messages)[0], 1);
    assert_contiguous(&seqs(&messages));
    assert_eq!(messages[0]["type"], "started");
    assert_eq!(messages[0]["data"]["total_bars"], 2148);
    let progress: Vec<f64> = messages
        .iter()
        .filter(|m| m["type"] == "progress")
        .map(|m| m["data"]["pct"].as_f64().unwrap())
        .collect();
    assert!(
        progress.len() >= 21,
        "progress at least every 100 bars: {}",
        progress.len()
    );
    assert!(progress.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(*progress.last().unwrap(), 100.0);
    assert!(
        messages.iter().any(|m| m["type"] == "log"),
        "the engine's own log lines are streamed"
    );
    assert!(messages.iter().any(|m| m["type"] == "equity"));

    // The streamed result is the engine's result.
    let bars = server::backtest::Bars::load(&data_dir().join("GOOG.csv")).unwrap();
    let strategy = Strategy::from_params(
        "sma_cross",
        &[("fast".into(), 10.0), ("slow".into(), 20.0)]
            .into_iter()
            .collect(),
    )
    .unwrap();
    let expected = run(
        &bars,
        &strategy,
        Account {
            cash: 10_000.0,
            commission: 0.002,
        },
        &mut Silent,
    );
    let complete = &messages.last().unwrap()["data"];
    assert!((complete["final_equity"].as_f64().unwrap() - expected.final_equity).abs() < 1e-6);
    assert_eq!(complete["metrics"]["trades"], expected.trades.len() as u64);
    // The last progress agrees with the result, the position closed at the end included.
    let last_progress = &messages
        .iter()
        .rev()
        .find(|m| m["type"] == "progress")
        .expect("a progress message")["data"];
    assert_eq!(last_progress["trades"], complete["metrics"]["trades"]);
    assert_eq!(last_progress["equity"], complete["final_equity"]);
    let exits = messages
        .iter()
        .filter(|m| m["type"] == "trade" && m["data"]["action"] == "exit")
        .count();
    assert_eq!(exits, expected.trades.len());

    // Late joiners and pollers get the same state.
    let state = get_json(&running, "/api/backtests/goog-1").await;
    assert_eq!(state["state"]["data"]["status"], "complete");
    assert_eq!(
        state["state"]["data"]["trades"].as_array().unwrap().len(),
        expected.trades.len() * 2
    );
    assert_eq!(state["strategy"], "sma_cross");
    let list = get_json(&running, "/api/backtests").await;
    assert_eq!(list[0]["backtest_id"], "goog-1");
    // A finished run can no longer be controlled; the id is taken.
    let response = reqwest::Client::new()
        .post(http(&running, "/api/backtests/goog-1/pause"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let (status, reply) = post(
        &running,
        json!({"id": "goog-1", "dataset": "GOOG", "strategy": "buy_and_hold"}),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(reply["error"], "backtest `goog-1` already exists");
    assert_eq!(
        reply["details"]["id"], "goog-1",
        "the taken id, for programs"
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_paced_run_keeps_its_pace_and_says_how_fast_it_goes_and_how_long_it_has_left() {
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
    })
    .await;
    let mut socket = connect(&running, "/api/ws/stream/backtest/paced").await;
    next_of_type(&mut socket, "snapshot").await;
    // 5,000 bars at 10,000 bars/s: half a second, progress every 250 bars.
    let (status, started) = post(
        &running,
        json!({"id": "paced", "dataset": "EURUSD", "strategy": "buy_and_hold", "pace": 10000,
               "progress_every_bars": 250}),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let messages = messages_until(&mut socket, "complete").await;
    let progress: Vec<&Value> = messages
        .iter()
        .filter(|m| m["type"] == "progress")
        .map(|m| &m["data"])
        .collect();
    assert!(progress.len() >= 10, "{}", progress.len());
    // A pace is a ceiling: sleeping can only make the run slower.
    for p in &progress[1..] {
        let speed = p["bars_per_sec"].as_f64().expect("the speed is reported");
        assert!(speed <= 10_000.0 * 1.01, "{speed} bars/s beats the pace");
    }
    let etas: Vec<u64> = progress[1..]
        .iter()
        .map(|p| p["eta_ms"].as_u64().expect("the time left is reported"))
        .collect();
    assert!(
        etas.first() > etas.last(),
        "the time left shrinks as the run goes: {etas:?}"
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn bad_backtest_requests_are_refused_naming_the_field() {
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
    })
    .await;
    let tiny = ",Open,High,Low,Close,Volume\n2020-01-01,1,1,1,1,1\n2020-01-02,1,1,1,1,1\n";
    let cases = [
        (
            json!({"dataset": "GOOG", "strategy": "macd"}),
            "`strategy` unknown strategy `macd`",
        ),
        (
            json!({"dataset": "GOOG", "strategy": "buy_and_hold", "pace": 0}),
            "`pace` must be between 1 and 100000000",
        ),
        (
            json!({"dataset": "GOOG", "strategy": "sma_cross", "params": {"fast": 30, "slow": 20}}),
            "`fast` (30) must be less than `slow` (20)",
        ),
        (
            json!({"dataset": "NOPE", "strategy": "buy_and_hold"}),
            "`dataset` no dataset `NOPE`",
        ),
        (
            json!({"dataset": "../etc/passwd", "strategy": "buy_and_hold"}),
            "`dataset` `../etc/passwd` is not a dataset name",
        ),
        (
            json!({"path": "../SPEC.md", "strategy": "buy_and_hold"}),
            "`path` `../SPEC.md` is outside the data directory",
        ),
        (json!({"strategy": "buy_and_hold"}), "`dataset` is missing"),
        (
            json!({"dataset": "GOOG", "csv": tiny, "strategy": "buy_and_hold"}),
            "give only one of",
        ),
        (
            json!({"csv": tiny, "strategy": "sma_cross"}),
            "`params` sma_cross needs at least 22 bars, the data has 2",
        ),
        (
            json!({"csv": "x,y\n1,2\n", "strategy": "buy_and_hold"}),
            "`csv` uploaded csv: no header, and 2 columns fit no headerless layout; accepted: a header with a time column",
        ),
        (
            json!({"dataset": "GOOG", "strategy": "buy_and_hold", "cash": -5}),
            "`cash` must be a positive number",
        ),
        (
            json!({"dataset": "GOOG", "strategy": "buy_and_hold", "cash": "lots"}),
            "`cash` invalid type: string \"lots\", expected f64",
        ),
        (
            json!({"dataset": "GOOG", "strategy": "sma_cross", "params": {"fast": "ten"}}),
            "`params.fast` invalid type: string \"ten\", expected f64",
        ),
        (
            json!({"dataset": "GOOG", "strategy": "buy_and_hold", "cash": 1e300}),
            "`cash` must be between 0 and 1000000000000, got 1e300",
        ),
        (
            json!({"dataset": "GOOG", "strategy": "buy_and_hold", "commission": 0.7}),
            "`commission` must be between 0 and 0.5, got 0.7",
        ),
        (
            json!({"dataset": "GOOG", "strategy": "buy_and_hold", "id": "a b"}),
            "`id` invalid id `a b`",
        ),
        (
            json!({"dataset": "GOOG", "strategy": "buy_and_hold", "leverage": 3}),
            "unknown field `leverage`",
        ),
        (
            json!({"dataset": "GOOG", "strategy": "buy_and_hold", "progress_every_bars": 0}),
            "`progress_every_bars` must be at least 1",
        ),
    ];
    assert_unprocessable(&running, "/api/backtests", &cases).await;
    // A refusal names what the client gave, never where the server keeps its files.
    let (_, missing) = post_json(
        &running,
        "/api/backtests",
        &json!({"dataset": "NOPE", "strategy": "buy_and_hold"}),
    )
    .await;
    let said = missing.to_string();
    for dir in [data_dir(), data_dir().canonicalize().unwrap()] {
        assert!(!said.contains(&*dir.to_string_lossy()), "{said}");
    }
    assert!(!said.contains("NOPE.csv"), "{said}");
    assert_eq!(
        get_json(&running, "/api/backtests").await,
        json!([]),
        "nothing was started"
    );
    let response = reqwest::get(http(&running, "/api/backtests/nope"))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    running.shutdown.cancel();
}

#[tokio::test]
async fn several_backtests_run_at_once_and_all_complete() {
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
    })
    .await;
    let mut ids = vec![];
    for (i, (dataset, strategy)) in [
        ("GOOG", "sma_cross"),
        ("EURUSD", "rsi_reversion"),
        ("BTCUSD", "buy_and_hold"),
        ("EURUSD", "sma_cross"),
    ]
    .iter()
    .enumerate()
    {
        let id = format!("multi-{i}");
        let (status, _) = post(
            &running,
            json!({"id": id, "dataset": dataset, "strategy": strategy}),
        )
        .await;
        assert_eq!(status, 201);
        ids.push(id);
    }
    for id in ids {
        let mut socket = connect(&running, &format!("/api/ws/stream/backtest/{id}")).await;
        let snapshot = next_of_type(&mut socket, "snapshot").await;
        if snapshot["data"]["status"] != "complete" {
            next_of_type(&mut socket, "complete").await;
        }
    }
    running.shutdown.cancel();
}

/// The types of every message retained on `topic`, in seq order.
fn types_on(hub: &server::hub::Hub, topic: &protocol::Topic) -> Vec<String> {
    // The in-memory hub answers at once.
    futures_util::FutureExt::now_or_never(hub.page(topic, None, 2048, None))
        .expect("an in-memory hub answers at once")
        .unwrap()
        .messages
        .iter()
        .map(|f| {
            serde_json::from_str::<Value>(f.as_str()).expect("frames are JSON")["type"]
                .as_str()
                .expect("a type")
                .to_owned()
        })
        .collect()
}

/// Waits, with a deadline, until `topic` carries a message of type `ty`; returns the types.
fn wait_for_type(hub: &server::hub::Hub, topic: &protocol::Topic, ty: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + TYPE_TIMEOUT;
    loop {
        let types = types_on(hub, topic);
        if types.iter().any(|t| t == ty) {
            return types;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no `{ty}` within {TYPE_TIMEOUT:?}: {types:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[tokio::test]
async fn a_paused_run_publishes_nothing_and_a_cancel_ends_it_where_it_stood() {
    let hub = server::hub::Hub::new(Default::default());
    let request = BacktestRequest {
        dataset: Some("EURUSD".into()),
        strategy: "sma_cross".into(),
        id: Some("ctl".into()),
        progress_every_bars: Some(50),
        ..Default::default()
    };
    let plan = plan(request, Some(&data_dir())).unwrap();
    let topic = plan.topic.clone();
    let control = std::sync::Arc::new(RunControl::default());
    control.apply(Command::Pause);
    let (h, c) = (hub.clone(), control.clone());
    let runner = std::thread::spawn(move || run_streaming(&h, std::sync::Arc::new(plan), c));
    let paused = wait_for_type(&hub, &topic, "paused").len();
    // While paused the run stands at the bar where it paused: what follows `paused` is
    // only what the cancel itself publishes.
    control.apply(Command::Cancel);
    let outcome = runner.join().unwrap();
    assert!(outcome.stopped);
    assert_eq!(outcome.bars, 1, "stopped at the bar where it paused");
    let after: Vec<String> = types_on(&hub, &topic).split_off(paused);
    assert!(
        after
            .iter()
            .all(|t| ["equity", "progress", "log", "metrics", "cancelled"].contains(&t.as_str())),
        "{after:?}"
    );
    assert_eq!(after.last().map(String::as_str), Some("cancelled"));
    let snapshot = futures_util::FutureExt::now_or_never(hub.snapshot(&topic))
        .expect("an in-memory hub answers at once")
        .unwrap();
    let protocol::SnapshotData::Backtest(b) = snapshot.data else {
        panic!("not a backtest")
    };
    assert_eq!(b.status, protocol::RunStatus::Cancelled);
    assert!(b.metrics.is_some(), "partial metrics are published");
}

#[tokio::test]
async fn a_run_that_blows_the_account_completes_at_zero_with_a_warning() {
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
    })
    .await;
    let mut socket = connect(&running, "/api/ws/stream/backtest/blown").await;
    next_of_type(&mut socket, "snapshot").await;
    // Shorting BTCUSD's 2013 rally with all the cash: equity falls below zero.
    let (status, reply) = post(
        &running,
        json!({"id": "blown", "dataset": "BTCUSD", "strategy": "rsi_reversion"}),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let messages = messages_until(&mut socket, "complete").await;
    let warning = messages
        .iter()
        .find(|m| m["type"] == "log" && m["data"]["level"] == "warn")
        .expect("a warning");
    assert!(
        warning["data"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("account blown")),
        "{warning}"
    );
    let exit = messages
        .iter()
        .rev()
        .find(|m| m["type"] == "trade")
        .expect("the closing trade");
    assert_eq!(exit["data"]["reason"], "account blown");
    let complete = &messages.last().unwrap()["data"];
    assert_eq!(complete["final_equity"], 0.0);
    assert_eq!(complete["metrics"]["return_pct"], -100.0);
    let state = get_json(&running, "/api/backtests/blown").await;
    assert_eq!(state["state"]["data"]["status"], "complete");
    running.shutdown.cancel();
}

/// POSTs a control action to a backtest; its status.
async fn control(running: &server::serve::Running, id: &str, action: &str) -> u16 {
    reqwest::Client::new()
        .post(http(running, &format!("/api/backtests/{id}/{action}")))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

fn types(messages: &[Value]) -> Vec<&str> {
    messages.iter().filter_map(|m| m["type"].as_str()).collect()
}

#[tokio::test]
async fn runs_are_paused_resumed_and_cancelled_through_rest_and_the_socket() {
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
    })
    .await;
    let start = |id: &str| {
        json!({"id": id, "dataset": "EURUSD", "strategy": "sma_cross", "paused": true,
               "progress_every_bars": 100})
    };

    // Over REST: a run started paused waits at its first bar; resume lets it finish.
    let mut a = connect(&running, "/api/ws/stream/backtest/ctl-a").await;
    next_of_type(&mut a, "snapshot").await;
    assert_eq!(post(&running, start("ctl-a")).await.0, 201);
    let before = messages_until(&mut a, "paused").await;
    assert_eq!(types(&before)[0], "started");
    assert!(
        !types(&before).contains(&"progress"),
        "{:?}",
        types(&before)
    );
    let state = get_json(&running, "/api/backtests/ctl-a").await;
    assert_eq!(state["state"]["data"]["status"], "paused");
    assert_eq!(
        control(&running, "ctl-a", "pause").await,
        202,
        "pausing again is harmless"
    );
    assert_eq!(control(&running, "ctl-a", "resume").await, 202);
    let after = messages_until(&mut a, "complete").await;
    assert_eq!(
        types(&after)[0],
        "resumed",
        "nothing between paused and resumed"
    );
    assert!(types(&after).contains(&"progress"));
    assert_eq!(
        control(&running, "ctl-a", "cancel").await,
        409,
        "a finished run"
    );

    // Over the socket: resume and cancel are control actions on the topic.
    let mut socket = connect(&running, "/api/ws").await;
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": "backtest:ctl-b"}),
    )
    .await;
    next_of_type(&mut socket, "snapshot").await;
    assert_eq!(post(&running, start("ctl-b")).await.0, 201);
    messages_until(&mut socket, "paused").await;
    send_json(
        &mut socket,
        json!({"action": "cancel", "topic": "backtest:ctl-b"}),
    )
    .await;
    let end = messages_until(&mut socket, "cancelled").await;
    assert!(!types(&end).contains(&"trade"), "{:?}", types(&end));
    let last_progress = end.iter().rev().find(|m| m["type"] == "progress").unwrap();
    assert_eq!(
        last_progress["data"]["bars_processed"], 1,
        "cancelled where it stood, at its first bar"
    );
    let state = get_json(&running, "/api/backtests/ctl-b").await;
    assert_eq!(state["state"]["data"]["status"], "cancelled");
    running.shutdown.cancel();
}

/// GETs a topic's record: its completeness header and its envelopes.
async fn record(running: &server::serve::Running, topic: &str) -> (String, Vec<Value>) {
    let response = reqwest::get(http(running, &format!("/api/streams/{topic}/record")))
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/x-ndjson",
        "NDJSON"
    );
    let completeness = response.headers()["x-tickwire-record"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    let body = response.text().await.expect("a body");
    let envelopes = body
        .lines()
        .map(|line| serde_json::from_str(line).expect("one envelope per line"))
        .collect();
    (completeness, envelopes)
}

#[tokio::test]
async fn a_finished_run_keeps_its_whole_stream_for_replays_beyond_the_resume_history() {
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
        // A resume history far shorter than the run, and a record limit for the second run.
        a.history = 16;
        a.record_messages = 2_000;
    })
    .await;
    let mut socket = connect(&running, "/api/ws/stream/backtest/whole").await;
    next_of_type(&mut socket, "snapshot").await;
    let (status, _) = post(
        &running,
        json!({"id": "whole", "dataset": "GOOG", "strategy": "sma_cross", "params": {"fast": 10, "slow": 20},
               "progress_every_bars": 100}),
    )
    .await;
    assert_eq!(status, 201);
    let live = messages_until(&mut socket, "complete").await;
    assert!(
        live.len() > 16 && live.len() < 2_000,
        "{} messages",
        live.len()
    );

    let (completeness, recorded) = record(&running, "backtest:whole").await;
    assert_eq!(completeness, "complete");
    assert_eq!(
        recorded, live,
        "the record is the live stream, message for message"
    );

    // A run longer than the record limit (progress at every one of its 2,148 bars): its
    // first 2,000 messages, said to be partial.
    let (status, _) = post(
        &running,
        json!({"id": "long", "dataset": "GOOG", "strategy": "sma_cross", "params": {"fast": 2, "slow": 3},
               "progress_every_bars": 1}),
    )
    .await;
    assert_eq!(status, 201);
    let (completeness, recorded) = eventually("the long run ends", || async {
        let (completeness, recorded) = record(&running, "backtest:long").await;
        (completeness == "partial").then_some((completeness, recorded))
    })
    .await;
    assert_eq!(completeness, "partial");
    assert_eq!(seqs(&recorded), (1..=2_000).collect::<Vec<u64>>());

    // A topic that is not a run's answers with its retained history.
    let (completeness, recorded) = record(&running, "market:NOPE").await;
    assert_eq!((completeness.as_str(), recorded.len()), ("complete", 0));
}

#[tokio::test]
async fn a_run_asked_for_progress_at_every_bar_reports_at_most_a_thousand_times() {
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
    })
    .await;
    let (status, _) = post(
        &running,
        json!({"id": "chatty", "dataset": "GOOG", "strategy": "buy_and_hold", "progress_every_bars": 1}),
    )
    .await;
    assert_eq!(status, 201);
    let recorded = eventually("the chatty run complete", || async {
        let (completeness, recorded) = record(&running, "backtest:chatty").await;
        let done = recorded.iter().any(|m| m["type"] == "complete");
        (done && completeness == "complete").then_some(recorded)
    })
    .await;
    let progress = recorded.iter().filter(|m| m["type"] == "progress").count();
    // 2,148 bars: one report every 3 bars (716), and the few the clock adds.
    assert!(
        (700..=1_000).contains(&progress),
        "{progress} progress reports"
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn the_csv_files_traders_have_upload_as_they_are() {
    let running = server(|a| a.symbols.clear()).await;
    // 30 hourly bars in freqtrade's layout (RFC 3339 with a zone), refused before as
    // "is not a date"; the same bars as a MetaTrader 5 export (tab-separated, <DATE> +
    // <TIME>) and as a headerless Binance kline dump (epoch milliseconds).
    let bar = |i: i64| {
        let close = 100.0 + (i % 7) as f64;
        (1_492_592_400 + i * 3600, close)
    };
    let freqtrade: String = std::iter::once("date,open,high,low,close,volume".to_owned())
        .chain((0..30).map(|i| {
            let (t, c) = bar(i);
            let time = chrono::DateTime::from_timestamp(t, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S+00:00");
            format!("{time},{c},{},{},{c},10", c + 1.0, c - 1.0)
        }))
        .collect::<Vec<_>>()
        .join("\n");
    let metatrader: String = std::iter::once(
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>".to_owned(),
    )
    .chain((0..30).map(|i| {
        let (t, c) = bar(i);
        let time = chrono::DateTime::from_timestamp(t, 0).unwrap();
        format!(
            "{}\t{}\t{c}\t{}\t{}\t{c}\t10\t0\t2",
            time.format("%Y.%m.%d"),
            time.format("%H:%M:%S"),
            c + 1.0,
            c - 1.0
        )
    }))
    .collect::<Vec<_>>()
    .join("\n");
    let binance: String = (0..30)
        .map(|i| {
            let (t, c) = bar(i);
            format!(
                "{},{c},{},{},{c},10,{},1000,5,5,500,0",
                t * 1000,
                c + 1.0,
                c - 1.0,
                t * 1000 + 3_599_999
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut finals = Vec::new();
    for csv in [freqtrade, metatrader, binance] {
        let (status, body) = post_json(
            &running,
            "/api/backtests",
            &json!({"csv": csv, "strategy": "buy_and_hold"}),
        )
        .await;
        assert_eq!(status, 201, "{body}\n{csv}");
        let id = body["backtest_id"].as_str().unwrap().to_owned();
        let result = eventually("the run completes", || {
            let path = format!("/api/backtests/{id}");
            let running = &running;
            async move {
                let run = get_json(running, &path).await;
                (run["state"]["data"]["status"] == "complete").then_some(run)
            }
        })
        .await;
        finals.push(result["state"]["data"]["complete"]["final_equity"].clone());
    }
    assert!(finals[0].is_number(), "{finals:?}");
    assert!(
        finals.iter().all(|f| *f == finals[0]),
        "the same bars, the same result: {finals:?}"
    );
    running.shutdown.cancel();
}

/// Waits until run `id` has completed; its state.
async fn completed(running: &server::serve::Running, id: &str) -> Value {
    eventually("the run completes", || {
        let path = format!("/api/backtests/{id}");
        async move {
            let run = get_json(running, &path).await;
            (run["state"]["data"]["status"] == "complete").then_some(run)
        }
    })
    .await
}

#[tokio::test]
async fn a_runs_bars_come_back_in_pages_with_its_trades_on_them() {
    let dir = std::env::temp_dir().join(format!("tickwire-bars-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(data_dir().join("GOOG.csv"), dir.join("GOOG.csv")).unwrap();
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(dir.clone());
    })
    .await;
    let (status, body) = post(
        &running,
        json!({"id": "bars-1", "dataset": "GOOG", "strategy": "sma_cross"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let run = completed(&running, "bars-1").await;

    // All of them (2,148 ≤ a page), oldest first; every fill at a bar's time, within its range.
    let page = get_json(&running, "/api/backtests/bars-1/bars").await;
    assert_eq!(
        (page["total"].as_u64(), page["first"].as_u64()),
        (Some(2148), Some(0))
    );
    let bars = page["bars"].as_array().unwrap();
    assert_eq!(bars.len(), 2148);
    let trades = run["state"]["data"]["trades"].as_array().unwrap();
    assert!(!trades.is_empty());
    for trade in trades {
        let bar = bars
            .iter()
            .find(|b| b["time"] == trade["time"])
            .unwrap_or_else(|| panic!("a bar at {}", trade["time"]));
        let price = trade["price"].as_f64().unwrap();
        let (low, high) = (bar["low"].as_f64().unwrap(), bar["high"].as_f64().unwrap());
        assert!((low..=high).contains(&price), "{trade} outside {bar}");
    }

    // The newest 100, then the 100 before them.
    let last = get_json(&running, "/api/backtests/bars-1/bars?limit=100").await;
    assert_eq!(last["first"], 2048);
    assert_eq!(last["bars"][99], bars[2147]);
    let before = last["bars"][0]["time"].as_str().unwrap();
    let older = get_json(
        &running,
        &format!("/api/backtests/bars-1/bars?limit=100&before={before}"),
    )
    .await;
    assert_eq!(older["first"], 1948);
    assert_eq!(older["bars"][99], bars[2047]);
    assert_eq!(
        older["opening"], bars[0],
        "every page says where the run began"
    );

    // Bad paging is named; another run's id is not found.
    for (query, named) in [("limit=0", "`limit`"), ("before=monday", "`before`")] {
        let response = reqwest::get(http(
            &running,
            &format!("/api/backtests/bars-1/bars?{query}"),
        ))
        .await
        .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        assert!(response.text().await.unwrap().contains(named), "{query}");
    }
    let response = reqwest::get(http(&running, "/api/backtests/nope/bars"))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // A dataset rewritten since the run no longer has its bars: said so, not drawn wrong.
    let text = std::fs::read_to_string(dir.join("GOOG.csv")).unwrap();
    let shorter: Vec<&str> = text.lines().take(1000).collect();
    std::fs::write(dir.join("GOOG.csv"), shorter.join("\n")).unwrap();
    let response = reqwest::get(http(&running, "/api/backtests/bars-1/bars"))
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("ran on 2148 bars; its data has 999 now"),
        "{body}"
    );
    running.shutdown.cancel();
    let _ = std::fs::remove_dir_all(&dir);
}
