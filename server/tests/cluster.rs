//! Scale-out on Redis (docs/SPEC.md section 8), against a real `redis-server` and several real
//! tickwire instances sharing it: one sequence per topic across the cluster, resume on
//! any instance, equal polls and snapshots, producers once per cluster, and Redis
//! faults that never become a silent hole.

mod common;

use common::redis::{Persistence, Redis};
use common::*;
use protocol::Topic;
use reqwest::Method;
use serde_json::{json, Value};
use server::auth::{now_secs, Claims, TokenKeys};
use server::config::ServeArgs;
use server::serve::Running;

/// An instance on `redis` with no market feed, once its backend is healthy.
async fn instance(redis: &Redis) -> Running {
    instance_with(redis, |a| a.symbols.clear()).await
}

/// An instance on `redis` with the datasets, `tweak`ed, once its backend is healthy.
async fn instance_with(redis: &Redis, tweak: impl FnOnce(&mut ServeArgs)) -> Running {
    let running = server(|a| {
        a.data_dir = Some(data_dir());
        a.redis_url = Some(redis.url());
        a.lease_secs = 2;
        tweak(a);
    })
    .await;
    backend_becomes(&running, true).await;
    running
}

async fn backend_becomes(running: &Running, healthy: bool) {
    eventually(&format!("backend_healthy = {healthy}"), || async move {
        let health = get_json(running, "/api/ws/health").await;
        assert_eq!(health["backend"], "redis");
        (health["backend_healthy"] == healthy).then_some(())
    })
    .await;
}

/// Publishes `log(prefix n)` for each `n` on `topic` through `running`, checking the
/// seqs it acknowledges.
async fn publish(
    running: &Running,
    topic: &Topic,
    prefix: &str,
    n: std::ops::Range<u64>,
) -> Vec<u64> {
    let mut acked = vec![];
    for i in n {
        acked.push(
            running
                .hub
                .publish(topic, log(format!("{prefix} {i}")))
                .await
                .expect("redis takes it"),
        );
    }
    acked
}

/// The texts of the log messages of a polled page.
fn log_texts(page: &Value) -> Vec<&str> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["data"]["message"].as_str().unwrap())
        .collect()
}

/// POSTs one message to `/api/publish`.
async fn post_publish(running: &Running, topic: &str, text: &str) -> (u16, Value) {
    post_json(running, "/api/publish", &log_item(topic, text)).await
}

#[tokio::test]
async fn a_message_published_on_one_instance_reaches_every_instance_in_seq_order() {
    let redis = Redis::start(Persistence::None).await;
    let (a, b, c) = (
        instance(&redis).await,
        instance(&redis).await,
        instance(&redis).await,
    );
    let topic: Topic = "backtest:fanout".parse().unwrap();
    let mut on_b = connect(&b, "/api/ws").await;
    let mut on_c = connect(&c, "/api/ws").await;
    subscribe(&mut on_b, "backtest:fanout", None).await;
    subscribe(&mut on_c, "backtest:fanout", None).await;
    next_of_type(&mut on_b, "snapshot").await;
    next_of_type(&mut on_c, "snapshot").await;

    // Two instances publish at once: Redis orders them into one sequence.
    let (from_a, from_c) = tokio::join!(
        publish(&a, &topic, "a", 0..100),
        publish(&c, &topic, "c", 0..100)
    );
    let mut acked: Vec<u64> = from_a.into_iter().chain(from_c).collect();
    acked.sort_unstable();
    assert_eq!(
        acked,
        (1..=200).collect::<Vec<_>>(),
        "each seq once, none skipped"
    );

    let got_b = next_messages(&mut on_b, 200).await;
    let got_c = next_messages(&mut on_c, 200).await;
    assert_eq!(seqs(&got_b), (1..=200).collect::<Vec<_>>());
    assert_eq!(got_b, got_c, "every instance delivers the same envelopes");
    let per_publisher = |prefix: &str| -> Vec<u64> {
        got_b
            .iter()
            .filter_map(|m| {
                m["data"]["message"]
                    .as_str()?
                    .strip_prefix(prefix)?
                    .parse()
                    .ok()
            })
            .collect()
    };
    assert_eq!(
        per_publisher("a "),
        (0..100).collect::<Vec<_>>(),
        "a's messages in a's order"
    );
    assert_eq!(
        per_publisher("c "),
        (0..100).collect::<Vec<_>>(),
        "c's messages in c's order"
    );
}

#[tokio::test]
async fn a_client_resumes_on_another_instance_with_no_gap_and_no_duplicate() {
    let redis = Redis::start(Persistence::None).await;
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let topic: Topic = "backtest:roam".parse().unwrap();
    publish(&a, &topic, "m", 0..50).await;

    let mut socket = connect(&a, "/api/ws").await;
    // From the oldest retained message (no epoch known yet).
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": "backtest:roam", "since": {"seq": 0}}),
    )
    .await;
    let subscribed = next_of_type(&mut socket, "subscribed").await;
    let epoch = subscribed["epoch"].as_str().unwrap().to_owned();
    let first = next_messages(&mut socket, 30).await;
    assert_eq!(seqs(&first), (1..=30).collect::<Vec<_>>());
    drop(socket);

    // Published while the client is away, on yet another instance's side.
    publish(&b, &topic, "m", 50..80).await;
    let mut socket = connect(&b, "/api/ws").await;
    let resumed = subscribe(&mut socket, "backtest:roam", Some((30, &epoch))).await;
    assert_eq!(resumed["next_seq"], 31);
    assert_eq!(resumed["epoch"], epoch.as_str());
    let publisher = tokio::spawn({
        let topic = topic.clone();
        let hub = a.hub.clone();
        async move {
            for i in 80..100 {
                hub.publish(&topic, log(format!("m {i}"))).await.unwrap();
            }
        }
    });
    let rest = next_messages(&mut socket, 70).await;
    assert_eq!(
        seqs(&rest),
        (31..=100).collect::<Vec<_>>(),
        "replay, then live, seamless"
    );
    publisher.await.unwrap();
}

#[tokio::test]
async fn a_rate_conflates_the_same_on_an_instance_that_only_replicates_the_topic() {
    let redis = Redis::start(Persistence::None).await;
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let topic: Topic = "backtest:rated".parse().unwrap();
    publish(&a, &topic, "m", 0..1).await;
    let mut socket = connect(&b, "/api/ws").await;
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": "backtest:rated", "max_rate": 0.01}),
    )
    .await;
    next_of_type(&mut socket, "snapshot").await;

    // Published on A: the first value goes at once, the next 49 wait (one per 100 s) and
    // go as the latest, just ahead of the log line that is always delivered.
    a.hub.publish(&topic, progress(1)).await.unwrap();
    let first = next_messages(&mut socket, 1).await.remove(0);
    assert_eq!(
        (first["seq"].as_u64(), first.get("conflated")),
        (Some(2), None)
    );
    publish_each(&a, &topic, (2..=50).map(progress)).await;
    a.hub.publish(&topic, log("after".into())).await.unwrap();
    let [held, line] = <[Value; 2]>::try_from(next_messages(&mut socket, 2).await).unwrap();
    assert_eq!(held["data"]["bars_processed"], 50, "the latest value");
    assert_eq!(
        (held["seq"].as_u64(), held["conflated"].as_u64()),
        (Some(51), Some(48))
    );
    assert_eq!(
        (line["type"].as_str(), line["seq"].as_u64()),
        (Some("log"), Some(52))
    );

    // A poll of B at a rate: the same shape.
    let page = get_json(&b, "/api/streams/backtest:rated?since=0&max_rate=1").await;
    assert_eq!(conflation(&page), [(1, 0), (51, 49), (52, 0)]);
}

#[tokio::test]
async fn polls_and_snapshots_answer_the_same_on_every_instance() {
    let redis = Redis::start(Persistence::None).await;
    let (a, b, c) = (
        instance(&redis).await,
        instance(&redis).await,
        instance(&redis).await,
    );
    let topic: Topic = "backtest:same".parse().unwrap();
    // Asked before its first message, the topic does not exist anywhere: b's answer is
    // empty, and creates nothing.
    get_json(&b, "/api/streams/backtest:same?since=0").await;
    publish(&a, &topic, "s", 0..120).await;

    let mut pages = vec![];
    let mut snapshots = vec![];
    for running in [&a, &b, &c] {
        let polled = eventually("the instance has every message", || async move {
            let page = get_json(running, "/api/streams/backtest:same?since=0&limit=2048").await;
            (page["next_seq"] == 121).then_some(page)
        })
        .await;
        pages.push(polled);
        snapshots.push(get_json(running, "/api/streams/backtest:same/snapshot").await);
    }
    assert_eq!(pages[0]["messages"].as_array().unwrap().len(), 120);
    assert_eq!(pages[0], pages[1]);
    assert_eq!(pages[0], pages[2]);
    assert_eq!(snapshots[0]["last_seq"], 120);
    assert_eq!(snapshots[0], snapshots[1]);
    assert_eq!(snapshots[0], snapshots[2]);
    assert_eq!(snapshots[0]["data"]["logs"].as_array().unwrap().len(), 120);
}

/// What a subscriber saw: no message may follow another but at seq + 1 of the same
/// epoch, unless a `resync` (or `snapshot`) reset the cursor in between.
#[derive(Default)]
struct Cursor {
    epoch: String,
    last_seq: u64,
    resyncs: usize,
    messages: usize,
}

impl Cursor {
    fn read(&mut self, frame: &Value) {
        match frame["type"].as_str() {
            Some("snapshot") => self.reset(frame),
            Some("resync") => {
                self.resyncs += 1;
                self.reset(&frame["snapshot"]);
            }
            _ if frame.get("seq").is_some() => {
                assert_eq!(
                    frame["epoch"],
                    self.epoch.as_str(),
                    "a message of another epoch without a resync: {frame}"
                );
                assert_eq!(
                    frame["seq"].as_u64(),
                    Some(self.last_seq + 1),
                    "a silent hole or duplicate: {frame}"
                );
                self.last_seq += 1;
                self.messages += 1;
            }
            _ => {}
        }
    }

    fn reset(&mut self, snapshot: &Value) {
        self.epoch = snapshot["epoch"].as_str().unwrap().to_owned();
        self.last_seq = snapshot["last_seq"].as_u64().unwrap();
    }
}

/// Reads frames into `cursor` until `done` says so.
async fn follow(socket: &mut Socket, cursor: &mut Cursor, done: impl Fn(&Value, &Cursor) -> bool) {
    let read = async {
        loop {
            let frame = next_json(socket).await;
            cursor.read(&frame);
            if done(&frame, cursor) {
                return;
            }
        }
    };
    tokio::time::timeout(TYPE_TIMEOUT, read)
        .await
        .unwrap_or_else(|_| panic!("the subscriber did not get there within {TYPE_TIMEOUT:?}"));
}

#[tokio::test]
async fn while_redis_is_away_publishes_fail_fast_sockets_stay_and_recovery_leaves_no_silent_hole() {
    let mut redis = Redis::start(Persistence::None).await;
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let mut socket = connect(&b, "/api/ws").await;
    subscribe(&mut socket, "backtest:outage", None).await;
    let mut cursor = Cursor::default();
    for i in 0..20 {
        assert_eq!(
            post_publish(&a, "backtest:outage", &format!("before {i}"))
                .await
                .0,
            200
        );
    }
    follow(&mut socket, &mut cursor, |_, c| c.last_seq == 20).await;

    redis.kill();
    let (status, body) = post_publish(&a, "backtest:outage", "during").await;
    assert_eq!((status, body), (503, json!({"error": "redis unavailable"})));
    backend_becomes(&a, false).await;
    backend_becomes(&b, false).await;
    let health = get_json(&b, "/api/ws/health").await;
    assert_eq!(health["status"], "degraded");
    // The socket is still open and served.
    send_json(&mut socket, json!({"action": "ping", "id": 1, "t": 1.0})).await;
    next_of_type(&mut socket, "pong").await;
    let started = reqwest::Client::new()
        .post(http(&a, "/api/backtests"))
        .json(&json!({"dataset": "GOOG", "strategy": "buy_and_hold"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        started.status().as_u16(),
        503,
        "no run starts while redis is away"
    );

    // Redis comes back empty (no persistence): the topic starts over in a new epoch, and
    // the subscriber is told so with a resync before any message of it.
    redis.restart().await;
    backend_becomes(&a, true).await;
    backend_becomes(&b, true).await;
    eventually("publishing works again", || async {
        (post_publish(&a, "backtest:outage", "after 0").await.0 == 200).then_some(())
    })
    .await;
    for i in 1..10 {
        assert_eq!(
            post_publish(&a, "backtest:outage", &format!("after {i}"))
                .await
                .0,
            200
        );
    }
    follow(&mut socket, &mut cursor, |frame, _| {
        frame["data"]["message"] == "after 9"
    })
    .await;
    assert!(
        cursor.resyncs >= 1,
        "the lost history was announced with a resync"
    );
}

#[tokio::test]
async fn with_aof_and_fsync_always_nothing_acknowledged_is_lost_across_a_redis_crash() {
    let mut redis = Redis::start(Persistence::AofAlways).await;
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let topic: Topic = "backtest:durable".parse().unwrap();
    let mut socket = connect(&b, "/api/ws").await;
    subscribe(&mut socket, "backtest:durable", None).await;
    let mut cursor = Cursor::default();
    let acked = publish(&a, &topic, "d", 0..200).await;
    assert_eq!(acked, (1..=200).collect::<Vec<_>>());
    let epoch = a.hub.snapshot(&topic).await.unwrap().epoch;

    redis.kill();
    redis.restart().await;
    backend_becomes(&a, true).await;
    let more = eventually("publishing works again", || async {
        a.hub.publish(&topic, log("d 200".into())).await.ok()
    })
    .await;
    assert_eq!(
        more, 201,
        "the sequence carries on after every acknowledged seq"
    );
    publish(&a, &topic, "d", 201..220).await;

    follow(&mut socket, &mut cursor, |_, c| c.last_seq == 220).await;
    assert_eq!(cursor.resyncs, 0, "nothing was lost, so nothing to resync");
    assert_eq!(cursor.epoch, epoch.0);
    // A late joiner elsewhere reads every acknowledged message back.
    let page = get_json(
        &b,
        &format!(
            "/api/streams/backtest:durable?since=0&epoch={}&limit=2048",
            epoch.0
        ),
    )
    .await;
    let texts = log_texts(&page);
    let expected: Vec<String> = (0..220).map(|i| format!("d {i}")).collect();
    assert_eq!(texts, expected);
}

/// A real `tickwire serve` process on `redis`, with a fast synthetic feed.
fn spawn_process(redis: &Redis, port: u16) -> tokio::process::Child {
    let data = data_dir();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args([
            "serve",
            "--data-dir",
            &data.to_string_lossy(),
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--redis-url",
            &redis.url(),
            "--lease-secs",
            "2",
            "--tick-ms",
            "20",
            "--interval",
            "1s",
            "--symbols",
            "BTC-USD",
        ])
        .env("TICKWIRE_DATABASE_URL", "none")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("tickwire runs")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[tokio::test]
async fn the_market_feed_runs_once_and_moves_when_its_instance_dies() {
    let redis = Redis::start(Persistence::None).await;
    let (port_a, port_b) = (free_port(), free_port());
    let mut first = spawn_process(&redis, port_a);
    let client = reqwest::Client::new();
    let snapshot = |port: u16| {
        let client = client.clone();
        async move {
            let url = format!("http://127.0.0.1:{port}/api/streams/market:BTC-USD/snapshot");
            let reply = client.get(url).send().await.ok()?;
            reply.json::<Value>().await.ok()
        }
    };
    // The first instance leads the feed.
    eventually("the first instance publishes the feed", || async {
        snapshot(port_a)
            .await
            .filter(|s| s["last_seq"].as_u64() > Some(10))
    })
    .await;
    let _second = spawn_process(&redis, port_b);
    let (mut socket, _) = eventually("the second instance serves", || async {
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port_b}/api/ws"))
            .await
            .ok()
    })
    .await;
    subscribe(&mut socket, "market:BTC-USD", None).await;
    let mut cursor = Cursor::default();
    let last_price = std::cell::Cell::new(0.0);
    let is_tick = |frame: &Value| frame["type"] == "tick";
    follow(&mut socket, &mut cursor, |frame, c| {
        if is_tick(frame) {
            last_price.set(frame["data"]["price"].as_f64().unwrap());
        }
        c.messages >= 20 && is_tick(frame)
    })
    .await;

    first.kill().await.expect("the leader dies");
    let (at_death, price_at_death) = (cursor.last_seq, last_price.get());
    // The second takes the lease over within a period and carries the same sequence on,
    // and the same price path: its first tick is one step from the last one.
    follow(&mut socket, &mut cursor, |frame, c| {
        if is_tick(frame) && last_price.get() == price_at_death && c.last_seq > at_death {
            let price = frame["data"]["price"].as_f64().unwrap();
            assert!(
                (price / price_at_death - 1.0).abs() < 0.01,
                "the price carries on: {price_at_death} then {price}"
            );
            last_price.set(price);
        }
        c.last_seq >= at_death + 100
    })
    .await;
    assert_eq!(cursor.resyncs, 0, "the feed moved without a hole");
    assert_ne!(
        last_price.get(),
        price_at_death,
        "the new leader published ticks"
    );
}

#[tokio::test]
async fn a_session_started_on_one_instance_is_listed_everywhere_and_stopped_through_another() {
    let redis = Redis::start(Persistence::None).await;
    let btc = |a: &mut ServeArgs| a.symbols = vec!["BTC-USD".parse().unwrap()];
    let (a, b) = (
        instance_with(&redis, btc).await,
        instance_with(&redis, btc).await,
    );
    let body = json!({"id": "roaming", "symbol": "BTC-USD", "strategy": "buy_and_hold"});
    let (status, started) = post_json(&a, "/api/sessions", &body).await;
    assert_eq!(status, 201, "{started}");
    // The id is the cluster's: another instance cannot start it again.
    let (status, _) = post_json(&b, "/api/sessions", &body).await;
    assert_eq!(status, 409);

    let listed = get_json(&b, "/api/sessions").await;
    assert_eq!(listed[0]["session_id"], "roaming");
    assert_eq!(listed[0]["running"], true);
    let (status, stopped) = call(&b, Method::POST, "/api/sessions/roaming/stop", None, None).await;
    assert_eq!(status, 200, "{stopped}");
    assert_eq!(stopped["running"], false);
    assert_eq!(stopped["state"]["data"]["completed"]["reason"], "stopped");
    eventually("the instance that ran it lists it stopped", || async {
        (get_json(&a, "/api/sessions").await[0]["running"] == false).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_agent_drives_a_session_through_an_instance_that_does_not_run_it() {
    let redis = Redis::start(Persistence::None).await;
    let btc = |a: &mut ServeArgs| a.symbols = vec!["BTC-USD".parse().unwrap()];
    let (a, b) = (
        instance_with(&redis, btc).await,
        instance_with(&redis, btc).await,
    );
    let body =
        json!({"id": "agent", "symbol": "BTC-USD", "strategy": "external", "cash": 1_000_000.0});
    let (status, started) = post_json(&a, "/api/sessions", &body).await;
    assert_eq!(status, 201, "{started}");
    eventually("a closed bar reaches the other instance", || async {
        let state = get_json(&b, "/api/sessions/agent").await;
        (state["state"]["data"]["candles"].as_array()?.iter()).find(|c| c["closed"] == true)?;
        Some(())
    })
    .await;
    let decision = json!({"action": "buy", "reasoning": "from afar"});
    let (status, taken) = post_json(&b, "/api/sessions/agent/decision", &decision).await;
    assert_eq!(status, 202, "{taken}");
    eventually("the instance running it fills the decision", || async {
        let state = get_json(&a, "/api/sessions/agent").await;
        let data = &state["state"]["data"];
        let decided = data["decisions"]
            .as_array()?
            .iter()
            .any(|d| d["reasoning"] == "from afar");
        (decided && data["open_positions"].as_array()?.len() == 1).then_some(())
    })
    .await;
}

const SECRET: &str = "cluster-secret-of-thirty-two-bytes-or-more";

fn token(sub: &str) -> String {
    token_with(sub, &["backtest:*"], &[])
}

/// A token for `sub` with these `topics` and `publish` claims.
fn token_with(sub: &str, topics: &[&str], publish: &[&str]) -> String {
    let claims = Claims {
        sub: sub.into(),
        exp: now_secs() + 3600,
        topics: Some(topics.iter().map(|t| (*t).to_owned()).collect()),
        publish: publish.iter().map(|t| (*t).to_owned()).collect(),
        admin: false,
    };
    TokenKeys::hs256(SECRET).unwrap().issue(&claims).unwrap()
}

/// Two token-mode instances on `redis`, with no market feed.
async fn token_instances(redis: &Redis) -> (Running, Running) {
    let tokens = |a: &mut ServeArgs| {
        a.symbols.clear();
        a.jwt_secret = Some(SECRET.into());
    };
    (
        instance_with(redis, tokens).await,
        instance_with(redis, tokens).await,
    )
}

#[tokio::test]
async fn a_run_belongs_to_its_owner_on_every_instance() {
    let redis = Redis::start(Persistence::None).await;
    let (a, b) = token_instances(&redis).await;
    let (alice, bob) = (token("alice"), token("bob"));
    let body =
        json!({"id": "alices", "dataset": "GOOG", "strategy": "buy_and_hold", "paused": true});
    let (status, _) = call(&a, Method::POST, "/api/backtests", Some(&alice), Some(body)).await;
    assert_eq!(status, 201);

    let path = "/api/backtests/alices";
    assert_eq!(call(&b, Method::GET, path, Some(&alice), None).await.0, 200);
    assert_eq!(call(&b, Method::GET, path, Some(&bob), None).await.0, 403);
    let poll = "/api/streams/backtest:alices?since=0";
    assert_eq!(call(&b, Method::GET, poll, Some(&bob), None).await.0, 403);
    let bobs_list = call(&b, Method::GET, "/api/backtests", Some(&bob), None)
        .await
        .1;
    assert_eq!(bobs_list, json!([]));
    let control = "/api/backtests/alices/cancel";
    assert_eq!(
        call(&b, Method::POST, control, Some(&bob), None).await.0,
        403
    );

    // Its owner controls it from the other instance: resumed there, it runs to its end.
    let resume = "/api/backtests/alices/resume";
    assert_eq!(
        call(&b, Method::POST, resume, Some(&alice), None).await.0,
        202
    );
    eventually("the run completes", || async {
        let state = call(&b, Method::GET, path, Some(&alice), None).await.1;
        (state["state"]["data"]["status"] == "complete").then_some(())
    })
    .await;
    assert_eq!(
        call(&b, Method::POST, control, Some(&alice), None).await.0,
        409
    );
}

#[tokio::test]
async fn a_run_whose_instance_dies_is_marked_interrupted_by_another() {
    let redis = Redis::start(Persistence::None).await;
    let port = free_port();
    let mut doomed = spawn_process(&redis, port);
    let survivor = instance(&redis).await;
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let client = reqwest::Client::new();
    let body =
        json!({"id": "orphan", "dataset": "GOOG", "strategy": "buy_and_hold", "paused": true});
    let (client, body) = (&client, &body);
    eventually("the doomed instance starts a run", || async move {
        let reply = client
            .post(url("/api/backtests"))
            .json(body)
            .send()
            .await
            .ok()?;
        (reply.status().as_u16() == 201).then_some(())
    })
    .await;
    let listed = get_json(&survivor, "/api/backtests").await;
    assert_eq!(listed[0]["backtest_id"], "orphan");

    doomed.kill().await.expect("the instance dies");
    eventually("another instance marks the run interrupted", || async {
        let state = get_json(&survivor, "/api/backtests/orphan").await;
        (state["state"]["data"]["status"] == "interrupted").then_some(())
    })
    .await;
    // Its owner (anonymous here) hears of it from the instance that noticed.
    let failed = eventually("the owner is told the run failed", || async {
        let channel = get_json(&survivor, "/api/streams/user:anonymous/snapshot").await;
        channel["data"]["notices"]
            .as_array()?
            .iter()
            .find(|n| n["notice"]["event"] == "run_failed")
            .cloned()
    })
    .await;
    assert_eq!(failed["notice"]["title"], "Backtest orphan was interrupted");
    assert_eq!(failed["notice"]["ref"], "backtest:orphan");
}

#[tokio::test]
async fn a_subscription_to_redis_that_silently_stops_is_caught_by_the_probe_and_rebuilt() {
    let redis = Redis::start(Persistence::None).await;
    let proxy = proxy::Proxy::start(([127, 0, 0, 1], redis.port).into()).await;
    let a = instance(&redis).await;
    let b = instance_with(&redis, |args| {
        args.symbols.clear();
        args.redis_url = Some(format!("redis://{}", proxy.addr));
    })
    .await;
    let topic: Topic = "backtest:quiet".parse().unwrap();
    let mut socket = connect(&b, "/api/ws").await;
    subscribe(&mut socket, "backtest:quiet", None).await;
    let mut cursor = Cursor::default();
    publish(&a, &topic, "q", 0..10).await;
    follow(&mut socket, &mut cursor, |_, c| c.last_seq == 10).await;

    // b's connections to Redis stay open but carry nothing more: no error, no close.
    proxy.silence();
    publish(&a, &topic, "q", 10..40).await;
    follow(&mut socket, &mut cursor, |_, c| c.last_seq == 40).await;
    assert_eq!(cursor.resyncs, 0, "caught up from the stream: nothing lost");
}

#[tokio::test]
async fn a_batch_is_published_in_order_on_each_of_its_topics_and_read_back_elsewhere() {
    let redis = Redis::start(Persistence::None).await;
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let item = |topic: &str, text: &str| json!({"topic": topic, "type": "log", "data": {"level": "info", "message": text, "target": "test"}});
    let batch = json!({"messages": [
        item("backtest:left", "l1"),
        item("backtest:right", "r1"),
        item("backtest:left", "l2"),
    ]});
    let (status, reply) = post_json(&a, "/api/publish", &batch).await;
    assert_eq!(status, 200, "{reply}");
    let seqs: Vec<(String, u64)> = reply["published"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["topic"].as_str().unwrap().to_owned(),
                p["seq"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seqs,
        [
            ("backtest:left".into(), 1),
            ("backtest:right".into(), 1),
            ("backtest:left".into(), 2)
        ]
    );
    // One invalid item: nothing of the batch is published.
    let bad = json!({"messages": [
        item("backtest:left", "l3"),
        {"topic": "backtest:left", "type": "log", "data": {}},
    ]});
    assert_eq!(post_json(&a, "/api/publish", &bad).await.0, 422);
    let page = get_json(&b, "/api/streams/backtest:left?since=0").await;
    let texts = log_texts(&page);
    assert_eq!(texts, ["l1", "l2"]);
}

#[tokio::test]
async fn a_batch_whose_answer_was_cut_is_retried_on_another_instance_and_published_once() {
    let redis = Redis::start(Persistence::None).await;
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    a_cut_batch_retried_lands_once(&a, &b).await;
}

#[tokio::test]
async fn a_notice_sent_through_one_instance_reaches_the_connection_it_names_on_another() {
    let redis = Redis::start(Persistence::None).await;
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let mut named = connect(&a, "/api/ws").await;
    let connected = next_json(&mut named).await;
    let id = connected["connection_id"].as_str().unwrap().to_owned();
    assert!(
        id.starts_with(&format!("{}.", a.hub.instance())),
        "unique in the cluster: {id}"
    );
    let mut other = connect(&a, "/api/ws").await;
    next_json(&mut other).await;

    let (status, reply) = post_json(
        &b,
        "/api/notify",
        &json!({"connection_id": id, "title": "only you"}),
    )
    .await;
    assert_eq!(status, 202, "{reply}");
    let (status, _) = post_json(
        &b,
        "/api/notify",
        &json!({"everyone": true, "title": "all of you"}),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(
        next_of_type(&mut named, "direct_notice").await["title"],
        "only you"
    );
    assert_eq!(
        next_of_type(&mut named, "direct_notice").await["title"],
        "all of you"
    );
    // The other connection's first notice is the one for everyone.
    assert_eq!(
        next_of_type(&mut other, "direct_notice").await["title"],
        "all of you"
    );
}

#[tokio::test]
async fn an_instance_is_declared_dead_only_after_three_missed_lease_periods() {
    let redis = Redis::start(Persistence::None).await;
    let a = instance(&redis).await;
    let client = ::redis::Client::open(redis.url()).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("tickwire:instance:{}", a.hub.instance());
    let ttl_ms: i64 = eventually("the instance's liveness key", || {
        let (key, mut conn) = (key.clone(), conn.clone());
        async move {
            let ttl: i64 = ::redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .ok()?;
            (ttl > 0).then_some(ttl)
        }
    })
    .await;
    // Renewed every third of the 2 s period, it lives 3 periods: more than two are
    // always left, where one missed renewal used to leave under one.
    assert!(ttl_ms > 2 * 2_000, "{ttl_ms} ms left");
    a.shutdown.cancel();
}

fn log_item(topic: &str, text: &str) -> Value {
    json!({"topic": topic, "type": "log", "data": {"level": "info", "message": text, "target": "test"}})
}

#[tokio::test]
async fn an_outside_producers_run_topic_is_its_own_on_every_instance() {
    let redis = Redis::start(Persistence::None).await;
    let (a, b) = token_instances(&redis).await;
    let carol = token_with("carol", &["backtest:*"], &["backtest:*"]);
    let mallory = token_with("mallory", &["backtest:*"], &["backtest:*"]);
    let publish = async |on: &Running, token: &str, body: Value| {
        call(on, Method::POST, "/api/publish", Some(token), Some(body)).await
    };
    let (status, body) = publish(&a, &carol, log_item("backtest:carols", "1")).await;
    assert_eq!(status, 200, "{body}");
    // Through the other instance, another producer writes nothing there, not even in
    // a batch whose other topic is free: nothing of the batch goes out.
    let batch = json!({"messages": [log_item("backtest:free", "x"), log_item("backtest:carols", "forged")]});
    let (status, body) = publish(&b, &mallory, batch).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"],
        "backtest:carols is written by another producer: only it and admins publish there"
    );
    let (_, page) = call(
        &a,
        Method::GET,
        "/api/streams/backtest:free?since=0",
        Some(&mallory),
        None,
    )
    .await;
    assert_eq!(page["messages"], json!([]));
    let (status, body) = publish(&b, &carol, log_item("backtest:carols", "2")).await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = call(
        &b,
        Method::GET,
        "/api/streams/backtest:carols?since=0",
        Some(&carol),
        None,
    )
    .await;
    assert_eq!(log_texts(&page), ["1", "2"]);
}

#[tokio::test]
async fn a_replica_whose_topic_starts_over_authorises_its_sockets_again() {
    let redis = Redis::start(Persistence::None).await;
    let (a, b) = token_instances(&redis).await;
    // Alice follows her own run from the instance that does not run it; her token's
    // `topics` do not cover other backtests.
    let alice = token_with("alice", &["market:*"], &[]);
    let body =
        json!({"id": "alices", "dataset": "GOOG", "strategy": "buy_and_hold", "paused": true});
    let (status, reply) = call(&a, Method::POST, "/api/backtests", Some(&alice), Some(body)).await;
    assert_eq!(status, 201, "{reply}");
    let mut socket = connect(&b, "/api/ws").await;
    send_json(&mut socket, json!({"action": "auth", "token": alice})).await;
    subscribe(&mut socket, "backtest:alices", None).await;
    next_of_type(&mut socket, "snapshot").await;

    // The run's record and topic vanish from Redis (expired, or a Redis restarted
    // without persistence), and someone else's producer writes on the name: a new
    // epoch that is not Alice's run.
    let client = ::redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = ::redis::cmd("HDEL")
        .arg("tickwire:runs:backtest")
        .arg("alices")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = ::redis::cmd("DEL")
        .arg("tickwire:{backtest:alices}:meta")
        .arg("tickwire:{backtest:alices}:log")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mallory = token_with("mallory", &["backtest:*"], &["backtest:*"]);
    let (status, reply) = call(
        &b,
        Method::POST,
        "/api/publish",
        Some(&mallory),
        Some(log_item("backtest:alices", "not alice's")),
    )
    .await;
    assert_eq!(status, 200, "{reply}");

    // Alice's socket is told it may not follow what the name is now, and gets none of it.
    let error = next_of_type(&mut socket, "error").await;
    assert_eq!(error["topic"], "backtest:alices");
    assert_eq!(
        error["error"],
        "your token does not allow backtest:alices: it allows market:*"
    );
    send_json(&mut socket, json!({"action": "ping", "id": 1, "t": 0})).await;
    loop {
        let frame = next_json(&mut socket).await;
        assert!(
            !frame.to_string().contains("not alice's"),
            "the new epoch reached a socket that may not follow it: {frame}"
        );
        if frame["type"] == "pong" {
            break;
        }
    }
}

#[tokio::test]
async fn one_instance_holds_the_venue_socket_and_another_carries_its_topic_on() {
    let redis = Redis::start(Persistence::None).await;
    let venue = venue::FakeVenue::start().await;
    venue.candles(|_| "[]".into());
    let trade = |id: u64| {
        let now = chrono::Utc::now().timestamp_millis();
        json!({"stream": "btcusdt@trade", "data": {"e": "trade", "E": now, "s": "BTCUSDT", "t": id, "p": format!("{}.5", 64_000 + id), "q": "0.1", "T": now, "m": false, "M": true}}).to_string()
    };
    let binance = |a: &mut ServeArgs| {
        a.feed = vec!["binance:BTCUSDT".parse().unwrap()];
        a.feed_ws_url = vec![format!("binance={}", venue.ws_url()).parse().unwrap()];
        a.feed_rest_url = vec![format!("binance={}", venue.rest_url()).parse().unwrap()];
        a.interval = "1m".parse().unwrap();
    };
    let leader = instance_with(&redis, binance).await;
    eventually("the leader connects to the venue", || async {
        (venue.connections() == 1).then_some(())
    })
    .await;
    let other = instance_with(&redis, binance).await;
    let mut socket = connect(&other, "/api/ws").await;
    subscribe(&mut socket, "market:BTCUSDT", None).await;
    let mut cursor = Cursor::default();
    venue.text(trade(1));
    follow(&mut socket, &mut cursor, |frame, _| frame["type"] == "tick").await;
    assert_eq!(venue.connections(), 1, "one venue socket for the cluster");

    // The leader goes: the other instance takes the lease, opens the only socket, and
    // the topic goes on in its sequence.
    leader.shutdown.cancel();
    eventually("the other instance connects to the venue", || async {
        (venue.connections() == 2).then_some(())
    })
    .await;
    let at_move = cursor.last_seq;
    let pushing = {
        let venue = venue.clone();
        tokio::spawn(async move {
            for id in 2.. {
                venue.text(trade(id));
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        })
    };
    follow(&mut socket, &mut cursor, |frame, c| {
        frame["type"] == "tick" && c.last_seq > at_move
    })
    .await;
    pushing.abort();
    assert_eq!(cursor.resyncs, 0, "no resync: the topic went on");
}

/// Two instances on `redis` for a shared sweep: the one that takes it runs none of its
/// combinations (`--sweep-threads 0`), the other all of them; and a connection to look
/// into Redis.
async fn sweep_instances(redis: &Redis) -> (Running, Running, ::redis::aio::MultiplexedConnection) {
    let owner = instance_with(redis, |a| {
        a.symbols.clear();
        a.sweep_threads = Some(0);
    })
    .await;
    let worker = instance(redis).await;
    let conn = ::redis::Client::open(redis.url())
        .expect("a redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis answers");
    (owner, worker, conn)
}

/// The keys of the cluster's shared work in Redis.
async fn work_keys(conn: &::redis::aio::MultiplexedConnection) -> Option<Vec<String>> {
    ::redis::cmd("KEYS")
        .arg("tickwire:work:*")
        .query_async::<Vec<String>>(&mut conn.clone())
        .await
        .ok()
}

/// A sweep run to its end on `running`: its kept state and every result.
async fn swept(running: &Running, id: &str) -> (Value, Value) {
    let state = eventually("the sweep completes", || async {
        let state = get_json(running, &format!("/api/sweeps/{id}")).await;
        (state["state"]["data"]["status"] == "complete").then_some(state)
    })
    .await;
    let results = get_json(running, &format!("/api/sweeps/{id}/results")).await;
    (state["state"]["data"].clone(), results)
}

#[tokio::test]
async fn a_sweep_is_run_by_the_other_instances_and_a_dead_ones_task_is_claimed_again() {
    let redis = Redis::start(Persistence::None).await;
    let (owner, worker, mut conn) = sweep_instances(&redis).await;
    let sweep = |id: &str, paused: bool| {
        json!({"id": id, "dataset": "GOOG", "strategy": "sma_cross", "paused": paused,
               "grid": {"fast": [5, 10, 15, 20], "slow": {"from": 30, "to": 60, "step": 10}},
               "objective": "sharpe", "top_n": 5})
    };
    let (status, created) = post_json(&owner, "/api/sweeps", &sweep("spread", true)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["combos"], 16);

    // An instance that has since died (it has no liveness key) claimed a task.
    // The sweep's work is posted once it has started (after the 201): jobs, spec,
    // tasks, results.
    let posted = eventually("the sweep's work is posted", || async {
        work_keys(&conn).await.filter(|keys| keys.len() == 4)
    })
    .await;
    let todo = posted.iter().find(|key| key.ends_with(":todo"));
    let todo = todo.expect("a stream of tasks");
    assert!(todo.starts_with("tickwire:work:{sweep:spread:"), "{todo}");
    let claimed: ::redis::streams::StreamReadReply = ::redis::cmd("XREADGROUP")
        .arg(&["GROUP", "workers", "ghost", "COUNT", "1", "STREAMS"])
        .arg(&[todo.as_str(), ">"])
        .query_async(&mut conn)
        .await
        .expect("the sweep's tasks are in redis");
    assert_eq!(claimed.keys.first().map(|k| k.ids.len()), Some(1));

    // Resumed through the other instance, every task runs there, the ghost's too.
    let resume = "/api/sweeps/spread/resume";
    assert_eq!(call(&worker, Method::POST, resume, None, None).await.0, 202);
    let (state, results) = swept(&owner, "spread").await;
    assert_eq!(results["done"], 16);

    // The same sweep on one instance alone lands the same results and the same best.
    let alone = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
    })
    .await;
    let (status, _) = post_json(&alone, "/api/sweeps", &sweep("alone", false)).await;
    assert_eq!(status, 201);
    let (alone_state, alone_results) = swept(&alone, "alone").await;
    assert_eq!(results["results"], alone_results["results"]);
    assert_eq!(state["top"], alone_state["top"]);
    assert_eq!(state["values"], alone_state["values"]);
    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg("tickwire:work:*spread*")
        .query_async(&mut conn)
        .await
        .expect("redis answers");
    assert!(
        keys.is_empty(),
        "a finished sweep leaves no work behind: {keys:?}"
    );

    // A cancelled one neither.
    let (status, _) = post_json(&owner, "/api/sweeps", &sweep("dropped", true)).await;
    assert_eq!(status, 201);
    eventually("the paused sweep's work is posted", || async {
        work_keys(&conn).await.filter(|keys| keys.len() == 4)
    })
    .await;
    let cancel = "/api/sweeps/dropped/cancel";
    assert_eq!(call(&worker, Method::POST, cancel, None, None).await.0, 202);
    eventually("the cancelled sweep's work is gone", || async {
        work_keys(&conn).await.filter(Vec::is_empty)
    })
    .await;
}

#[tokio::test]
async fn a_shared_sweep_that_redis_loses_is_posted_again_and_completes() {
    let redis = Redis::start(Persistence::None).await;
    let (owner, worker, mut conn) = sweep_instances(&redis).await;
    let body = json!({"id": "lost", "dataset": "BTCUSD", "strategy": "sma_cross", "paused": true,
                      "grid": {"fast": [5, 10, 15], "slow": [20, 30, 40]}});
    let (status, _) = post_json(&owner, "/api/sweeps", &body).await;
    assert_eq!(status, 201);
    let posted = eventually("the sweep's work is posted", || async {
        work_keys(&conn).await.filter(|keys| keys.len() == 4)
    })
    .await;
    // Redis loses it, as one restarted without persistence would.
    let _: () = ::redis::cmd("DEL")
        .arg(&posted)
        .query_async(&mut conn)
        .await
        .expect("redis answers");

    let resume = "/api/sweeps/lost/resume";
    assert_eq!(call(&worker, Method::POST, resume, None, None).await.0, 202);
    let (state, results) = swept(&owner, "lost").await;
    assert_eq!(results["done"], 9);
    assert_eq!(state["done"], 9);
}
