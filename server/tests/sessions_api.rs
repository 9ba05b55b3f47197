//! Paper-trading sessions on the live synthetic feed, over the real API.

mod common;

use common::*;
use serde_json::{json, Value};

async fn post(running: &server::serve::Running, body: Value) -> (u16, Value) {
    post_json(running, "/api/sessions", &body).await
}

#[tokio::test]
async fn a_session_reasons_trades_and_shows_the_same_state_to_every_client() {
    // One-second candles from 20 ms ticks: a decision every second.
    let running = server(|a| a.symbols = vec!["BTC-USD".parse().unwrap()]).await;
    let mut trading = connect(&running, "/api/ws/stream/live-trading?symbols=BTC-USD").await;
    next_of_type(&mut trading, "snapshot").await;
    let (status, info) =
        post(&running, json!({"id": "paper-1", "symbol": "BTC-USD", "strategy": "sma_cross", "params": {"fast": 1, "slow": 2}, "cash": 1_000_000.0})).await;
    assert_eq!(status, 201, "{info}");
    assert_eq!(info["topic"], "session:paper-1");
    assert_eq!(info["trading_topic"], "trading:BTC-USD");
    let mut first = connect(&running, "/api/ws/stream/session/paper-1?since=0&epoch=x").await;
    next_of_type(&mut first, "resync").await;

    // Reasoning comes in chunks before each decision; a position opens at the next print.
    let thinking = next_of_type(&mut first, "thinking").await;
    assert!(
        thinking["data"]["chunk"]
            .as_str()
            .unwrap()
            .starts_with("Bar "),
        "{thinking}"
    );
    let decision = next_of_type(&mut first, "decision").await;
    assert!(["buy", "sell", "hold"].contains(&decision["data"]["action"].as_str().unwrap()));
    let opened = next_of_type(&mut first, "position_opened").await;
    assert!(opened["data"]["qty"].as_f64().unwrap() >= 1.0);
    next_of_type(&mut first, "stats_update").await;
    next_of_type(&mut first, "countdown").await;

    // Orders reach trading:BTC-USD, submitted then filled.
    let submitted = next_of_type(&mut trading, "order").await;
    assert_eq!(submitted["data"]["status"], "submitted");
    assert_eq!(submitted["data"]["session_id"], "paper-1");
    let filled = next_of_type(&mut trading, "order").await;
    assert_eq!(
        (
            filled["data"]["id"].clone(),
            filled["data"]["status"].clone()
        ),
        (submitted["data"]["id"].clone(), json!("filled"))
    );
    next_of_type(&mut trading, "position").await;

    // A second client opening the same session gets the same state.
    let mut second = connect(&running, "/api/ws/stream/session/paper-1").await;
    let snapshot = next_of_type(&mut second, "snapshot").await;
    let state = get_json(&running, "/api/sessions/paper-1").await;
    assert_eq!(
        snapshot["data"]["initialized"],
        state["state"]["data"]["initialized"]
    );
    assert!(snapshot["data"]["open_positions"].as_array().unwrap().len() <= 1);
    assert!(!snapshot["data"]["decisions"].as_array().unwrap().is_empty());

    let response = reqwest::Client::new()
        .delete(http(&running, "/api/sessions/paper-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let stopped: Value = response.json().await.unwrap();
    assert_eq!(stopped["running"], false);
    assert_eq!(
        stopped["state"]["data"]["open_positions"],
        json!([]),
        "stopping closes the position"
    );
    assert_eq!(stopped["state"]["data"]["completed"]["reason"], "stopped");
    next_of_type(&mut first, "session_completed").await;
    assert_eq!(
        get_json(&running, "/api/sessions").await[0]["running"],
        false
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn bad_session_requests_are_refused_naming_the_field() {
    let running = server(|a| a.symbols = vec!["BTC-USD".parse().unwrap()]).await;
    let cases = [
        (
            json!({"symbol": "DOGE", "strategy": "buy_and_hold"}),
            "`symbol` no market feed publishes DOGE",
        ),
        (
            json!({"symbol": "btc", "strategy": "buy_and_hold"}),
            "`symbol` invalid symbol `btc`",
        ),
        (
            json!({"symbol": "BTC-USD", "strategy": "yolo"}),
            "`strategy` unknown strategy `yolo`",
        ),
        (
            json!({"symbol": "BTC-USD", "strategy": "buy_and_hold", "cash": 0}),
            "`cash` must be a positive number",
        ),
        (
            json!({"symbol": "BTC-USD", "strategy": "buy_and_hold", "margin": 2}),
            "unknown field `margin`",
        ),
    ];
    assert_unprocessable(&running, "/api/sessions", &cases).await;
    let response = reqwest::Client::new()
        .delete(http(&running, "/api/sessions/none"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    running.shutdown.cancel();
}
