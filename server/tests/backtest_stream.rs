//! What a backtest streams, message by message: every message of a run arrives on its
//! topic in order with contiguous seqs, ending with `complete`, and is the same as the
//! recorded stream of the same run (`tests/golden/`), timings aside. Rewrite the
//! recordings with `UPDATE_GOLDEN=1` only when a change to the stream is intended.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::data_dir;
use protocol::api::BacktestRequest;
use protocol::{Since, Topic};
use serde_json::Value;
use server::backtest::live::control::RunControl;
use server::backtest::{plan, run_streaming, Plan};
use server::hub::{Hub, HubConfig};

/// A plan on a data file with progress by bar count only (the run's timing does not
/// decide what it sends).
fn plan_for(id: &str, dataset: &str, strategy: &str) -> Plan {
    let request = BacktestRequest {
        dataset: Some(dataset.into()),
        strategy: strategy.into(),
        id: Some(id.into()),
        commission: Some(0.001),
        progress_every_bars: Some(500),
        progress_every_ms: Some(3_600_000),
        ..Default::default()
    };
    plan(request, Some(&data_dir())).expect("a valid plan")
}

/// Every message the hub retains on `topic`, oldest first.
fn retained(hub: &Hub, topic: &Topic) -> Vec<Value> {
    let page = futures_util::FutureExt::now_or_never(hub.page(
        topic,
        Some(&Since {
            seq: 0,
            epoch: None,
        }),
        usize::MAX,
        None,
    ))
    .expect("an in-memory hub answers at once")
    .expect("memory is available");
    page.messages
        .iter()
        .map(|f| serde_json::from_str(f.as_str()).expect("frames are JSON"))
        .collect()
}

/// A message without what changes from run to run: when it was published, the topic's
/// epoch, and the run's speed and duration.
fn without_timings(mut message: Value) -> Value {
    if let Some(envelope) = message.as_object_mut() {
        envelope.remove("timestamp");
        envelope.remove("epoch");
    }
    if let Some(data) = message.get_mut("data").and_then(Value::as_object_mut) {
        for timing in ["bars_per_sec", "eta_ms", "duration_ms"] {
            data.remove(timing);
        }
    }
    message
}

/// Runs `plan` to its end and checks its stream against the recording `name`.
fn streams_as_recorded(name: &str, plan: Plan) {
    let hub = Hub::new(HubConfig {
        history: 100_000,
        ..HubConfig::default()
    });
    let topic = plan.topic.clone();
    let outcome = run_streaming(&hub, Arc::new(plan), Arc::new(RunControl::default()));
    let messages = retained(&hub, &topic);
    let seqs: Vec<u64> = messages.iter().filter_map(|m| m["seq"].as_u64()).collect();
    assert_eq!(seqs, (1..=messages.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        messages.first().map(|m| &m["type"]),
        Some(&"started".into())
    );
    assert_eq!(
        messages.last().map(|m| &m["type"]),
        Some(&"complete".into())
    );
    let trades = messages.iter().filter(|m| m["type"] == "trade").count();
    let entries = outcome.trades.len() * 2;
    assert_eq!(trades, entries, "every entry and exit is its own message");

    let stream: String = messages
        .into_iter()
        .map(|m| without_timings(m).to_string() + "\n")
        .collect();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.jsonl"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &stream).expect("the recording is written");
    }
    let recorded = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no recording at {}: {e}", path.display()));
    for (i, (now, then)) in stream.lines().zip(recorded.lines()).enumerate() {
        assert_eq!(now, then, "message {} differs from the recording", i + 1);
    }
    assert_eq!(stream.lines().count(), recorded.lines().count());
}

#[test]
fn a_run_with_many_trades_streams_every_message_in_order_as_recorded() {
    streams_as_recorded(
        "eurusd_sma_cross",
        plan_for("eurusd", "EURUSD", "sma_cross"),
    );
}

#[test]
fn a_blown_run_streams_its_warning_and_last_trade_as_recorded() {
    streams_as_recorded(
        "btcusd_rsi_reversion",
        plan_for("btcusd", "BTCUSD", "rsi_reversion"),
    );
}
