//! Rates per subscription (docs/SPEC.md section 6, "Rates"), over real sockets against
//! the real server: a paced subscriber gets the latest values at its rate and every
//! message that is always delivered; a throttled reader of replaceable values is
//! conflated, not closed; cursors stay exact across conflation and resume.

mod common;

use std::time::Duration;

use common::*;
use protocol::fixtures::every_message;
use protocol::{Message, Symbol, Tick, Topic};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A trade from the protocol's samples.
fn trade() -> Message {
    every_message()
        .into_iter()
        .map(|(message, _)| message)
        .find(|m| matches!(m, Message::Trade(_)))
        .expect("a sample trade")
}

/// A tick of `symbol` at `price`.
fn tick(symbol: &str, price: f64) -> Message {
    Message::Tick(Tick {
        symbol: Symbol::parse(symbol).unwrap(),
        price,
        ..protocol::fixtures::tick()
    })
}

/// Subscribes to `topic` at `max_rate` and reads up to its snapshot; returns the
/// snapshot's last seq and epoch.
async fn subscribe_paced(socket: &mut Socket, topic: &str, max_rate: f64) -> (u64, String) {
    send_json(
        socket,
        json!({"action": "subscribe", "topic": topic, "max_rate": max_rate}),
    )
    .await;
    next_of_type(socket, "subscribed").await;
    let snapshot = next_of_type(socket, "snapshot").await;
    let epoch = snapshot["epoch"].as_str().unwrap().to_owned();
    (snapshot["last_seq"].as_u64().unwrap(), epoch)
}

/// Checks each message's place against the last seq held (`seq - conflated` must be
/// the next one) and moves it on.
fn follow(last: &mut u64, message: &Value) {
    let seq = message["seq"].as_u64().unwrap();
    let conflated = message["conflated"].as_u64().unwrap_or(0);
    assert_eq!(
        seq - conflated,
        *last + 1,
        "after {last}: {message} is not the next one"
    );
    *last = seq;
}

#[tokio::test]
async fn at_max_rate_2_a_100_per_second_topic_arrives_at_about_2_a_second_the_latest_and_every_trade(
) {
    let running = server(|a| a.symbols.clear()).await;
    let topic: Topic = "backtest:paced".parse().unwrap();
    running.hub.publish(&topic, progress(0)).await.unwrap();
    let mut socket = connect(&running, "/api/ws").await;
    let (mut last, _) = subscribe_paced(&mut socket, "backtest:paced", 2.0).await;

    // 300 messages at 100 a second: progress, with a trade every 100th.
    let hub = running.hub.clone();
    let publishing = topic.clone();
    let publisher = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(10));
        for i in 1..=300u64 {
            every.tick().await;
            let message = if i % 100 == 50 { trade() } else { progress(i) };
            hub.publish(&publishing, message).await.unwrap();
        }
    });
    let mut got = vec![];
    let started = tokio::time::Instant::now();
    // The last message published is progress 300: the latest value always arrives.
    while got
        .last()
        .map(|m: &Value| m["data"]["bars_processed"].as_u64())
        != Some(Some(300))
    {
        let message = next_messages(&mut socket, 1).await.remove(0);
        follow(&mut last, &message);
        got.push(message);
    }
    let elapsed = started.elapsed().as_secs_f64();
    publisher.await.unwrap();

    let trades = got.iter().filter(|m| m["type"] == "trade").count();
    assert_eq!(trades, 3, "every trade");
    let values = got.len() - trades;
    // At most 2 a second, plus one each trade takes along (the value held before it
    // goes just ahead of it, in seq order), plus the first, due at once.
    let most = (elapsed * 2.0).ceil() as usize + trades + 1;
    assert!(
        values <= most,
        "{values} progress messages in {elapsed:.1} s, at most {most}"
    );
    assert!(values >= 3, "{values} progress messages in {elapsed:.1} s");
    assert!(
        got.iter().any(|m| m["conflated"].as_u64() > Some(10)),
        "values stand for the ones they replaced"
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_throttled_reader_of_a_market_topic_is_conflated_not_closed_while_one_without_a_rate_is()
{
    let running = server(|a| {
        a.symbols.clear();
        a.outbox_bytes = 1 << 20;
    })
    .await;
    let topic: Topic = "market:FLOOD".parse().unwrap();
    running
        .hub
        .publish(&topic, tick("FLOOD", 1.0))
        .await
        .unwrap();
    let mut paced = connect(&running, "/api/ws/stream/market-data/FLOOD?max_rate=5").await;
    let mut unpaced = connect(&running, "/api/ws/stream/market-data/FLOOD").await;
    let snapshot = next_of_type(&mut paced, "snapshot").await;
    let mut last = snapshot["last_seq"].as_u64().unwrap();
    next_of_type(&mut unpaced, "snapshot").await;

    // Neither is read while 100,000 ticks (about 25 MB) go out: more than the
    // sockets' kernel buffers and the outbox's 1 MiB take.
    const TICKS: u64 = 100_000;
    let ticks = (1..=TICKS).map(|i| tick("FLOOD", 1.0 + i as f64 / 1_000.0));
    publish_each(&running, &topic, ticks).await;
    let close = next_close(&mut unpaced).await;
    assert_eq!(close.code, CloseCode::Again);
    assert_eq!(close.reason.as_str(), "slow consumer");

    // The paced one was never closed: it holds the latest price, and few frames.
    let mut frames = 0;
    let newest = 1.0 + TICKS as f64 / 1_000.0;
    loop {
        let message = next_messages(&mut paced, 1).await.remove(0);
        follow(&mut last, &message);
        frames += 1;
        if message["data"]["price"].as_f64() == Some(newest) {
            break;
        }
    }
    assert_eq!(last, TICKS + 1);
    assert!(frames < 1_000, "{frames} frames for {TICKS} ticks");
    let health = get_json(&running, "/api/ws/health").await;
    assert_eq!(health["slow_consumer_disconnects"], 1, "{health}");
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_throttled_paced_reader_of_a_backtests_trades_is_closed_with_1013_and_resumes_without_a_gap(
) {
    let running = server(|a| {
        a.symbols.clear();
        a.history = 200_000;
        a.outbox_bytes = 1 << 20;
    })
    .await;
    let topic: Topic = "backtest:trades".parse().unwrap();
    running.hub.publish(&topic, progress(0)).await.unwrap();
    let mut socket = connect(&running, "/api/ws").await;
    let (snapshot_seq, epoch) = subscribe_paced(&mut socket, "backtest:trades", 2.0).await;

    // Trades are always delivered: a reader that takes none of 100,000 overflows.
    const TRADES: u64 = 100_000;
    publish_each(&running, &topic, (0..TRADES).map(|_| trade())).await;
    let close = next_close(&mut socket).await;
    assert_eq!(close.code, CloseCode::Again);
    assert_eq!(close.reason.as_str(), "slow consumer");

    // It resumes from what it held: every trade, once, in order.
    let mut socket = connect(&running, "/api/ws").await;
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": "backtest:trades", "max_rate": 2,
               "since": {"seq": snapshot_seq, "epoch": epoch}}),
    )
    .await;
    next_of_type(&mut socket, "subscribed").await;
    let replayed = next_messages(&mut socket, TRADES as usize).await;
    let seqs = seqs(&replayed);
    assert_eq!(seqs.first(), Some(&(snapshot_seq + 1)));
    assert_contiguous(&seqs);
    assert!(replayed
        .iter()
        .all(|m| m["type"] == "trade" && m.get("conflated").is_none()));
    running.shutdown.cancel();
}

#[tokio::test]
async fn resuming_after_a_conflated_message_is_exact() {
    let running = server(|a| a.symbols.clear()).await;
    let topic: Topic = "market:RESUME".parse().unwrap();
    let ticks = (1..=50).map(|i| tick("RESUME", f64::from(i)));
    publish_each(&running, &topic, ticks).await;
    let mut socket = connect(&running, "/api/ws").await;
    let (mut last, epoch) = subscribe_paced(&mut socket, "market:RESUME", 0.01).await;
    assert_eq!(last, 50);
    // 0.01 a second: the first value goes at once, then one every 100 s; a closed
    // candle (always delivered) takes the value held before it along.
    let ticks = (51..=60).map(|i| tick("RESUME", f64::from(i)));
    publish_each(&running, &topic, ticks).await;
    let first = next_messages(&mut socket, 1).await.remove(0);
    follow(&mut last, &first);
    let ticks = (61..=70).map(|i| tick("RESUME", f64::from(i)));
    publish_each(&running, &topic, ticks).await;
    let mut closed = protocol::fixtures::candle();
    closed.symbol = Symbol::parse("RESUME").unwrap();
    running
        .hub
        .publish(&topic, Message::Candle(closed))
        .await
        .unwrap();
    let [held, candle] = <[Value; 2]>::try_from(next_messages(&mut socket, 2).await).unwrap();
    follow(&mut last, &held);
    follow(&mut last, &candle);
    assert_eq!(
        held["data"]["price"].as_f64(),
        Some(70.0),
        "the latest tick"
    );
    assert!(held["conflated"].as_u64() >= Some(1), "{held}");
    assert_eq!(candle["type"], "candle");
    let resume_at = held["seq"].as_u64().unwrap();
    drop(socket);

    // Resuming from the conflated tick replays exactly what followed it.
    let ticks = (71..=80).map(|i| tick("RESUME", f64::from(i)));
    publish_each(&running, &topic, ticks).await;
    let mut socket = connect(&running, "/api/ws").await;
    let subscribed = subscribe(&mut socket, "market:RESUME", Some((resume_at, &epoch))).await;
    assert_eq!(subscribed["next_seq"].as_u64(), Some(resume_at + 1));
    let replayed = seqs(&next_messages(&mut socket, 11).await);
    assert_eq!(
        replayed,
        ((resume_at + 1)..=(resume_at + 11)).collect::<Vec<_>>()
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_poll_at_a_rate_is_conflated_the_same_way_and_a_bad_rate_is_named() {
    let running = server(|a| a.symbols.clear()).await;
    let topic: Topic = "backtest:polled".parse().unwrap();
    let values = |bars: std::ops::RangeInclusive<u64>| bars.map(progress);
    let messages = values(1..=10).chain([trade()]).chain(values(11..=20));
    publish_each(&running, &topic, messages).await;
    let page = get_json(&running, "/api/streams/backtest:polled?since=0&max_rate=1").await;
    assert_eq!(conflation(&page), [(10, 9), (11, 0), (21, 9)]);
    assert_eq!(page["messages"][2]["data"]["bars_processed"], 20);
    assert_eq!(page["next_seq"], 22);
    let all = get_json(&running, "/api/streams/backtest:polled?since=0").await;
    assert_eq!(
        all["messages"].as_array().unwrap().len(),
        21,
        "no rate: every message"
    );

    let path = "/api/streams/backtest:polled?max_rate=0";
    let (status, body) = call(&running, reqwest::Method::GET, path, None, None).await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("invalid max_rate"),
        "{body}"
    );
    let mut socket = connect(&running, "/api/ws").await;
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": "backtest:polled", "max_rate": -1}),
    )
    .await;
    let error = next_of_type(&mut socket, "error").await;
    assert!(
        error["details"]
            .as_str()
            .unwrap()
            .contains("invalid max_rate -1"),
        "{error}"
    );
    running.shutdown.cancel();
}
