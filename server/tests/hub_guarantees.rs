//! The delivery guarantees of docs/SPEC.md section 6, over real sockets against the real server.

mod common;

use std::time::Duration;

use common::*;
use protocol::{Message, Topic};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn replay_then_live_has_no_gap_or_duplicate_at_the_seam_while_publishing_continues() {
    let running = server(|a| {
        a.symbols.clear();
        a.history = 1_000_000;
    })
    .await;
    let topic: Topic = "backtest:seam".parse().unwrap();
    let hub = running.hub.clone();
    let publisher_topic = topic.clone();
    let stop = tokio_util::sync::CancellationToken::new();
    let publishing = stop.clone();
    let publisher = tokio::spawn(async move {
        let mut n = 0u64;
        while !publishing.is_cancelled() {
            for _ in 0..20 {
                n += 1;
                hub.publish(&publisher_topic, log(format!("line {n}")))
                    .await
                    .unwrap();
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
    });
    eventually("the publisher is running", || async {
        (running.hub.snapshot(&topic).await.unwrap().last_seq > 0).then_some(())
    })
    .await;

    let mut socket = connect(&running, "/api/ws").await;
    let epoch = subscribe(&mut socket, "backtest:seam", None).await["epoch"]
        .as_str()
        .unwrap()
        .to_owned();
    let snapshot = next_of_type(&mut socket, "snapshot").await;
    assert!(
        snapshot["last_seq"].as_u64().unwrap() > 0,
        "the publisher is running"
    );
    for iteration in 0..40u64 {
        // Resume a little behind the live edge, sometimes exactly at it, while the
        // publisher keeps going: the replay/live seam is hit at a random moment.
        let live_edge = running.hub.snapshot(&topic).await.unwrap().last_seq;
        let since = live_edge.saturating_sub(iteration % 7 * 13);
        send_json(
            &mut socket,
            json!({"action": "unsubscribe", "topic": "backtest:seam"}),
        )
        .await;
        next_of_type(&mut socket, "unsubscribed").await;
        let subscribed = subscribe(&mut socket, "backtest:seam", Some((since, &epoch))).await;
        assert_eq!(subscribed["next_seq"].as_u64(), Some(since + 1));
        let got = seqs(&next_messages(&mut socket, 60).await);
        assert_eq!(
            got[0],
            since + 1,
            "iteration {iteration}: replay starts right after since"
        );
        assert_contiguous(&got);
    }
    stop.cancel();
    publisher.await.unwrap();
    running.shutdown.cancel();
}

#[tokio::test]
async fn resync_replaces_a_resume_from_an_evicted_seq_or_a_foreign_epoch() {
    let running = server(|a| {
        a.symbols.clear();
        a.history = 16;
    })
    .await;
    let topic: Topic = "backtest:evict".parse().unwrap();
    for i in 0..100 {
        running
            .hub
            .publish(&topic, log(format!("line {i}")))
            .await
            .unwrap();
    }
    let mut socket = connect(&running, "/api/ws").await;
    let epoch = running.hub.snapshot(&topic).await.unwrap().epoch.0;

    subscribe(&mut socket, "backtest:evict", Some((5, &epoch))).await;
    let resync = next_of_type(&mut socket, "resync").await;
    assert_eq!(resync["reason"], "outside_history");
    assert_eq!(resync["snapshot"]["last_seq"], 100);
    assert_eq!(resync["snapshot"]["data"]["kind"], "backtest");

    subscribe(&mut socket, "backtest:evict", Some((90, "01NOTTHISEPOCH"))).await;
    assert_eq!(
        next_of_type(&mut socket, "resync").await["reason"],
        "epoch_changed"
    );

    subscribe(&mut socket, "backtest:evict", Some((500, &epoch))).await;
    assert_eq!(
        next_of_type(&mut socket, "resync").await["reason"],
        "ahead_of_topic"
    );

    // The oldest retained message is 85: resuming from 84 replays 85..=100 exactly.
    subscribe(&mut socket, "backtest:evict", Some((84, &epoch))).await;
    let replayed = seqs(&next_messages(&mut socket, 16).await);
    assert_eq!(replayed, (85..=100).collect::<Vec<_>>());
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_slow_consumer_is_closed_with_1013_while_a_fast_one_gets_everything() {
    let running = server(|a| {
        a.symbols.clear();
        a.history = 64;
        a.outbox = 1024;
    })
    .await;
    let topic: Topic = "backtest:flood".parse().unwrap();
    let mut slow = connect(&running, "/api/ws/stream/backtest/flood").await;
    let mut fast = connect(&running, "/api/ws/stream/backtest/flood").await;
    next_of_type(&mut fast, "snapshot").await;

    // The publisher never runs more than WINDOW messages ahead of the fast reader, far
    // inside its queue (history 64 + outbox 1024): the fast reader keeps up by
    // construction, whatever the machine's speed, while the never-read slow one fills up.
    const TOTAL: u64 = 30_000;
    const WINDOW: u64 = 500;
    let (seen_tx, mut seen_rx) = tokio::sync::watch::channel(0u64);
    let hub = running.hub.clone();
    let payload = "x".repeat(1000);
    let publisher = tokio::spawn(async move {
        for i in 1..=TOTAL {
            hub.publish(&topic, log(format!("{i} {payload}")))
                .await
                .unwrap();
            if i % WINDOW == 0 {
                tokio::time::timeout(TYPE_TIMEOUT, seen_rx.wait_for(|&seen| seen >= i))
                    .await
                    .expect("the fast reader keeps up")
                    .expect("the reader is alive");
            }
        }
    });
    let mut received = Vec::with_capacity(TOTAL as usize);
    while received.len() < TOTAL as usize {
        let seq = seqs(&next_messages(&mut fast, 1).await)[0];
        received.push(seq);
        seen_tx.send_replace(seq);
    }
    assert_eq!(received.first(), Some(&1));
    assert_contiguous(&received);
    publisher.await.unwrap();

    // The slow one was never read: the server gave up on it without stalling the fast one.
    let close = next_close(&mut slow).await;
    assert_eq!(close.code, CloseCode::Again);
    assert_eq!(close.reason.as_str(), "slow consumer");
    let health = get_json(&running, "/api/ws/health").await;
    assert_eq!(health["slow_consumer_disconnects"], 1, "{health}");
    assert!(health["dropped"].as_u64().unwrap() >= 1, "{health}");
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_write_delay_never_holds_back_a_backlog_nor_reorders_a_stream() {
    // A delay far longer than a backlog may take: 3,000 frames are twelve writes of 256,
    // and waiting out the delay between them would take 12 s.
    let running = server(|a| {
        a.symbols.clear();
        a.write_delay_ms = 1_000;
        a.outbox = 8192;
    })
    .await;
    let topic: Topic = "backtest:delayed".parse().unwrap();
    let mut socket = connect(&running, "/api/ws/stream/backtest/delayed").await;
    next_of_type(&mut socket, "snapshot").await;
    const TOTAL: usize = 3_000;
    for i in 1..=TOTAL {
        running
            .hub
            .publish(&topic, log(format!("line {i}")))
            .await
            .unwrap();
    }
    let received = tokio::time::timeout(Duration::from_secs(5), next_messages(&mut socket, TOTAL))
        .await
        .expect("a backlog is written as fast as the socket takes it, not one write per delay");
    let seqs = seqs(&received);
    assert_eq!(seqs.first(), Some(&1));
    assert_contiguous(&seqs);
    for (i, message) in received.iter().enumerate() {
        assert_eq!(message["data"]["message"], format!("line {}", i + 1));
    }
    running.shutdown.cancel();
}

#[tokio::test]
async fn polling_returns_the_same_envelopes_as_the_socket() {
    let running = server(|a| a.symbols.clear()).await;
    let topic: Topic = "backtest:poll".parse().unwrap();
    for i in 0..50 {
        running
            .hub
            .publish(&topic, log(format!("line {i}")))
            .await
            .unwrap();
    }
    let first = get_json(&running, "/api/streams/backtest:poll?limit=20").await;
    let epoch = first["epoch"].as_str().unwrap().to_owned();
    assert_eq!(first["next_seq"], 21);
    let mut polled: Vec<Value> = first["messages"].as_array().unwrap().clone();
    let mut next = 21;
    while next <= 50 {
        let url = http(
            &running,
            &format!(
                "/api/streams/backtest:poll?since={}&epoch={epoch}&limit=7",
                next - 1
            ),
        );
        let page: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        assert!(page.get("resync").is_none());
        polled.extend(page["messages"].as_array().unwrap().iter().cloned());
        next = page["next_seq"].as_u64().unwrap();
    }
    assert_eq!(seqs(&polled), (1..=50).collect::<Vec<_>>());

    let mut socket = connect(
        &running,
        &format!("/api/ws/stream/backtest/poll?since=0&epoch={epoch}"),
    )
    .await;
    let streamed = next_messages(&mut socket, 50).await;
    assert_eq!(
        streamed, polled,
        "socket and polling carry identical envelopes"
    );

    let snapshot = get_json(&running, "/api/streams/backtest:poll/snapshot").await;
    assert_eq!(snapshot["last_seq"], 50);
    assert_eq!(snapshot["data"]["logs"].as_array().unwrap().len(), 50);

    let stale = get_json(&running, "/api/streams/backtest:poll?since=3&epoch=OTHER").await;
    assert_eq!(stale["resync"]["reason"], "epoch_changed");
    assert_eq!(stale["next_seq"], 51);
    running.shutdown.cancel();
}

#[tokio::test]
async fn dedicated_paths_subscribe_on_connect() {
    use protocol::{Order, OrderSide, OrderStatus, Symbol};
    let running = server(|a| a.symbols.clear()).await;
    let mut trading = connect(&running, "/api/ws/stream/live-trading?symbols=AAA,BBB").await;
    let mut topics = vec![];
    for _ in 0..2 {
        topics.push(
            next_of_type(&mut trading, "subscribed").await["topic"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    topics.sort();
    assert_eq!(topics, ["trading:AAA", "trading:BBB"]);
    let mut session = connect(&running, "/api/ws/stream/session/s-1").await;
    assert_eq!(
        next_of_type(&mut session, "snapshot").await["data"]["kind"],
        "session"
    );

    let order = Order {
        session_id: None,
        id: "o1".into(),
        symbol: Symbol::parse("BBB").unwrap(),
        side: OrderSide::Buy,
        qty: 2.0,
        status: OrderStatus::Filled,
        price: 10.0,
    };
    running
        .hub
        .publish(&"trading:BBB".parse().unwrap(), Message::Order(order))
        .await
        .unwrap();
    let got = next_messages(&mut trading, 1).await;
    assert_eq!(got[0]["topic"], "trading:BBB");
    assert_eq!(got[0]["data"]["status"], "filled");
    running.shutdown.cancel();
}

#[tokio::test]
async fn since_zero_without_an_epoch_starts_from_the_oldest_retained_message() {
    let running = server(|a| {
        a.symbols.clear();
        a.history = 8;
    })
    .await;
    let whole: Topic = "backtest:whole".parse().unwrap();
    let trimmed: Topic = "backtest:trimmed".parse().unwrap();
    for i in 0..5 {
        running
            .hub
            .publish(&whole, log(format!("w{i}")))
            .await
            .unwrap();
    }
    for i in 0..20 {
        running
            .hub
            .publish(&trimmed, log(format!("t{i}")))
            .await
            .unwrap();
    }

    // Seq 1 still retained: everything, from seq 1, on the poll and on both sockets.
    let page = get_json(&running, "/api/streams/backtest:whole?since=0").await;
    assert!(page.get("resync").is_none(), "{page}");
    let polled = page["messages"].as_array().unwrap().clone();
    assert_eq!(seqs(&polled), [1, 2, 3, 4, 5]);
    let mut dedicated = connect(&running, "/api/ws/stream/backtest/whole?since=0").await;
    assert_eq!(
        next_of_type(&mut dedicated, "subscribed").await["next_seq"],
        1
    );
    assert_eq!(next_messages(&mut dedicated, 5).await, polled);
    let mut socket = connect(&running, "/api/ws").await;
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": "backtest:whole", "since": {"seq": 0}}),
    )
    .await;
    assert_eq!(next_of_type(&mut socket, "subscribed").await["next_seq"], 1);
    assert_eq!(next_messages(&mut socket, 5).await, polled);

    // Seq 1 trimmed away: a resync with the snapshot first, on the poll and the socket.
    let page = get_json(&running, "/api/streams/backtest:trimmed?since=0").await;
    assert_eq!(page["resync"]["reason"], "outside_history", "{page}");
    assert_eq!(page["resync"]["snapshot"]["last_seq"], 20);
    assert_eq!(page["next_seq"], 21);
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": "backtest:trimmed", "since": {"seq": 0}}),
    )
    .await;
    let resync = next_of_type(&mut socket, "resync").await;
    assert_eq!(resync["reason"], "outside_history");
    assert_eq!(resync["snapshot"]["last_seq"], 20);

    // Any later seq without its epoch is refused, and the socket stays open.
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": "backtest:whole", "since": {"seq": 3}}),
    )
    .await;
    let error = next_of_type(&mut socket, "error").await;
    assert!(
        error["details"]
            .as_str()
            .is_some_and(|d| d.contains("`since` 3 needs the `epoch`")),
        "{error}"
    );
    send_json(&mut socket, json!({"action": "ping", "id": 1, "t": 0})).await;
    next_of_type(&mut socket, "pong").await;
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_repeated_subscribe_without_since_is_answered_subscribed_alone() {
    let running = server(|a| a.symbols.clear()).await;
    let topic: Topic = "backtest:repeat".parse().unwrap();
    for i in 0..50 {
        running
            .hub
            .publish(&topic, log(format!("line {i} {}", "x".repeat(200))))
            .await
            .unwrap();
    }
    let mut socket = connect(&running, "/api/ws").await;
    let first = subscribe(&mut socket, "backtest:repeat", None).await;
    let snapshot = next_of_type(&mut socket, "snapshot").await;
    assert_eq!(snapshot["last_seq"], 50);
    // Again and again without `since`: each is `subscribed` alone, no snapshot, so a
    // few small frames cannot ask for the state over and over. A ping after them is
    // answered next: nothing else was queued between.
    for _ in 0..40 {
        send_json(
            &mut socket,
            json!({"action": "subscribe", "topic": "backtest:repeat"}),
        )
        .await;
    }
    send_json(&mut socket, json!({"action": "ping", "id": 7, "t": 0})).await;
    for _ in 0..40 {
        let again = next_json(&mut socket).await;
        assert_eq!(again["type"], "subscribed", "{again}");
        assert_eq!(again["epoch"], first["epoch"]);
        assert_eq!(again["next_seq"], 51);
    }
    assert_eq!(next_json(&mut socket).await["type"], "pong");
    // Still followed, once: the next message arrives a single time.
    running
        .hub
        .publish(&topic, log("live".into()))
        .await
        .unwrap();
    assert_eq!(seqs(&next_messages(&mut socket, 1).await), [51]);
    // With `since` it resumes as ever: the missed messages are replayed.
    let epoch = first["epoch"].as_str().unwrap();
    subscribe(&mut socket, "backtest:repeat", Some((48, epoch))).await;
    assert_eq!(seqs(&next_messages(&mut socket, 3).await), [49, 50, 51]);
    // Unsubscribed first, a subscribe without `since` gets the state again.
    send_json(
        &mut socket,
        json!({"action": "unsubscribe", "topic": "backtest:repeat"}),
    )
    .await;
    next_of_type(&mut socket, "unsubscribed").await;
    subscribe(&mut socket, "backtest:repeat", None).await;
    assert_eq!(next_of_type(&mut socket, "snapshot").await["last_seq"], 51);
    running.shutdown.cancel();
}
