//! Attacks from outside (docs/SPEC.md section 12): each is refused before anything happens, and
//! nothing changes for anyone else.

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use common::process::*;
use common::*;
use futures_util::SinkExt;
use serde_json::{json, Value};
use server::serve::Running;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test]
async fn a_cross_site_page_can_neither_post_nor_open_a_socket() {
    let running = server(|a| {
        a.symbols.clear();
        a.allowed_origins = vec!["https://desk.example.com".into()];
    })
    .await;
    let client = reqwest::Client::new();
    let start = |origin: &str| {
        client
            .post(http(&running, "/api/backtests"))
            .header("origin", origin.to_owned())
            .json(&json!({"csv": "x", "strategy": "buy_and_hold"}))
            .send()
    };
    let refused = start("https://evil.example").await.unwrap();
    assert_eq!(refused.status(), 403);
    let reply: Value = refused.json().await.unwrap();
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("origin `https://evil.example`"),
        "{reply}"
    );
    // The server's own page and a listed one reach the handler (which judges the body).
    let own = format!("http://{}", running.addr);
    assert_eq!(start(&own).await.unwrap().status(), 422);
    assert_eq!(
        start("https://desk.example.com").await.unwrap().status(),
        422
    );
    assert_eq!(
        get_json(&running, "/api/backtests").await,
        json!([]),
        "nothing started"
    );

    let upgrade = |origin: &str| {
        let mut request = format!("ws://{}/api/ws", running.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        request
    };
    let (status, body) = refused_upgrade(upgrade("https://evil.example")).await;
    assert_eq!(status, 403, "a cross-site upgrade: {body}");
    assert!(
        connect_async(upgrade(&own)).await.is_ok(),
        "the dashboard's own socket"
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_rebound_host_name_is_refused() {
    let running = server(|a| a.symbols.clear()).await;
    let response = reqwest::Client::new()
        .get(http(&running, "/api/backtests"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let reply: Value = response.json().await.unwrap();
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("host `evil.example`"),
        "{reply}"
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn bound_to_every_interface_a_foreign_host_name_is_refused_and_a_missing_host_is_a_400() {
    let running = server(|a| {
        a.symbols.clear();
        a.addr = "0.0.0.0:0".parse().unwrap();
        a.allow_anonymous = true;
        a.allowed_hosts = vec!["desk.example.com".into()];
    })
    .await;
    let url = format!("http://127.0.0.1:{}/api/backtests", running.addr.port());
    let client = reqwest::Client::new();
    for (host, status) in [
        ("evil.example", 403),
        ("desk.example.com", 200),
        ("192.168.1.5:3000", 200),
        ("localhost", 200),
    ] {
        let response = client.get(&url).header("host", host).send().await.unwrap();
        assert_eq!(response.status(), status, "Host: {host}");
    }
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", running.addr.port()))
        .await
        .unwrap();
    stream
        .write_all(b"GET /api/backtests HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let line = status_line(stream).await;
    assert!(line.starts_with("HTTP/1.1 400"), "{line}");
    running.shutdown.cancel();
}

/// A paused backtest on GOOG, which waits for a client before its first bar.
fn paused_goog(id: &str) -> Value {
    json!({"id": id, "dataset": "GOOG", "strategy": "buy_and_hold", "paused": true})
}

#[tokio::test]
async fn backtests_past_the_cap_are_refused_until_one_ends() {
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
        a.max_backtests = 1;
    })
    .await;
    let (status, _) = post_json(&running, "/api/backtests", &paused_goog("cap-a")).await;
    assert_eq!(status, 201);
    let (status, reply) = post_json(&running, "/api/backtests", &paused_goog("cap-b")).await;
    assert_eq!(status, 429, "{reply}");
    assert_eq!(reply["details"]["limit"], 1);
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("1 backtests are running"),
        "{reply}"
    );
    let cancel = reqwest::Client::new()
        .post(http(&running, "/api/backtests/cap-a/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 202);
    eventually("a slot frees once the cancelled run has ended", || async {
        let (status, _) = post_json(&running, "/api/backtests", &paused_goog("cap-c")).await;
        (status == 201).then_some(())
    })
    .await;
    let ids: Vec<Value> = get_json(&running, "/api/backtests")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["backtest_id"].clone())
        .collect();
    assert_eq!(
        ids,
        [json!("cap-c"), json!("cap-a")],
        "the refused run never started (newest first)"
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_run_paused_past_the_max_pause_is_cancelled_and_gives_its_place_back() {
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
        a.max_backtests = 1;
        a.max_pause = Duration::from_secs(1);
    })
    .await;
    let (status, _) = post_json(&running, "/api/backtests", &paused_goog("idle")).await;
    assert_eq!(status, 201);
    let ended = eventually("the paused run cancelled after --max-pause", || async {
        let snapshot = get_json(&running, "/api/streams/backtest:idle/snapshot").await;
        let status = snapshot["data"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (status == "cancelled").then_some(status)
    })
    .await;
    assert_eq!(ended, "cancelled");
    eventually("its place back", || async {
        let (status, _) = post_json(&running, "/api/backtests", &paused_goog("next")).await;
        (status == 201).then_some(())
    })
    .await;
    running.shutdown.cancel();
}

#[tokio::test]
async fn finished_runs_past_the_retained_bytes_are_forgotten_oldest_first() {
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
        // Less than any run holds: only the run that ended last stays.
        a.retain_runs_bytes = 1;
    })
    .await;
    let run = |id: &str| json!({"id": id, "dataset": "GOOG", "strategy": "buy_and_hold"});
    let complete = |id: &'static str| {
        let running = &running;
        async move {
            eventually(&format!("{id} complete"), || async move {
                let snapshot =
                    get_json(running, &format!("/api/streams/backtest:{id}/snapshot")).await;
                (snapshot["data"]["status"] == "complete").then_some(())
            })
            .await;
        }
    };
    assert_eq!(
        post_json(&running, "/api/backtests", &run("first")).await.0,
        201
    );
    complete("first").await;
    assert_eq!(
        post_json(&running, "/api/backtests", &run("second"))
            .await
            .0,
        201
    );
    complete("second").await;
    // Its end is published before the book marks it finished: wait for the book.
    eventually("only the run that ended last is kept", || async {
        let listed = get_json(&running, "/api/backtests").await;
        (listed.as_array().map(Vec::len) == Some(1) && listed[0]["backtest_id"] == "second")
            .then_some(())
    })
    .await;
    let (status, _) = call(
        &running,
        reqwest::Method::GET,
        "/api/backtests/first",
        None,
        None,
    )
    .await;
    assert_eq!(status, 404, "the first run is forgotten, its topic with it");
    let record = get_json(&running, "/api/streams/backtest:first/snapshot").await;
    assert_eq!(record["last_seq"], 0);
    running.shutdown.cancel();
}

#[tokio::test]
async fn sessions_past_the_cap_are_refused() {
    let running = server(|a| a.max_sessions = 1).await;
    let session = |id: &str| json!({"id": id, "symbol": "BTC-USD", "strategy": "buy_and_hold"});
    assert_eq!(
        post_json(&running, "/api/sessions", &session("s-1"))
            .await
            .0,
        201
    );
    let (status, reply) = post_json(&running, "/api/sessions", &session("s-2")).await;
    assert_eq!(status, 429, "{reply}");
    assert_eq!(reply["details"]["limit"], 1);
    let listed = get_json(&running, "/api/sessions").await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    running.shutdown.cancel();
}

#[tokio::test]
async fn finished_runs_are_forgotten_after_their_retention() {
    let running = server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
        a.retain_runs = Duration::ZERO;
    })
    .await;
    let run = json!({"id": "brief", "dataset": "GOOG", "strategy": "buy_and_hold"});
    assert_eq!(post_json(&running, "/api/backtests", &run).await.0, 201);
    eventually("the finished run is forgotten", || async {
        let response = reqwest::get(http(&running, "/api/backtests/brief"))
            .await
            .unwrap();
        (response.status() == 404).then_some(())
    })
    .await;
    assert_eq!(get_json(&running, "/api/backtests").await, json!([]));
    // Its topic went with it: the id is free again.
    assert_eq!(post_json(&running, "/api/backtests", &run).await.0, 201);
    running.shutdown.cancel();
}

#[tokio::test]
async fn sigterm_exits_though_a_request_is_half_sent() {
    let (mut child, addr, _log) = tickwire_process().await;
    // A request that promises 100 bytes of body and sends one, then nothing.
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/publish HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{"
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    // The server is serving (and has the half request on its hands).
    let health = reqwest::get(format!("http://{addr}/api/ws/health"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    terminate(&child).await;
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the server exits whatever a client leaves half sent (its budget is 5 s)")
        .unwrap();
    assert!(status.success(), "{status:?}");
    drop(stalled);
}

#[tokio::test]
async fn sigterm_with_a_paused_run_and_open_sockets_exits_telling_every_socket() {
    let (mut child, addr, mut lines) = tickwire_process().await;
    let started = reqwest::Client::new()
        .post(format!("http://{addr}/api/backtests"))
        .json(&paused_goog("held"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 201);
    let (mut socket, _) = connect_async(format!("ws://{addr}/api/ws/stream/backtest/held"))
        .await
        .expect("socket opens");
    terminate(&child).await;
    let close = next_close(&mut socket).await;
    assert_eq!(close.code, CloseCode::Away, "{close:?}");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the server exits (its own budget is 5 s; see BENCHMARKS.md)")
        .unwrap();
    assert!(status.success(), "{status:?}");
    // The paused run was cancelled and ended, not abandoned at the grace period.
    let mut rest = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push_str(&line);
        rest.push('\n');
    }
    assert!(rest.contains("every run and session has ended"), "{rest}");
}

#[tokio::test]
async fn a_frame_flood_is_told_then_closed_and_nobody_else_notices() {
    let running = server(|a| {
        a.symbols.clear();
        a.client_rate = NonZeroU32::new(5).unwrap();
        a.client_burst = NonZeroU32::new(10).unwrap();
    })
    .await;
    // Application pings, and the protocol's own ping frames (each costs the server a
    // pong): both count against the rate.
    let floods: [fn(usize) -> WsMessage; 2] = [
        |id| {
            WsMessage::Text(
                json!({"action": "ping", "id": id, "t": 0})
                    .to_string()
                    .into(),
            )
        },
        |id| WsMessage::Ping(id.to_be_bytes().to_vec().into()),
    ];
    for flood in floods {
        let mut flooder = connect(&running, "/api/ws").await;
        let mut bystander = connect(&running, "/api/ws").await;
        for id in 0..200 {
            // The server may close the socket before the last of them: that is the point.
            if flooder.send(flood(id)).await.is_err() {
                break;
            }
        }
        let error = next_of_type(&mut flooder, "error").await;
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .contains("too many frames: at most 5 per second"),
            "{error}"
        );
        let close = next_close(&mut flooder).await;
        assert_eq!(close.code, CloseCode::Policy, "{close:?}");
        send_json(&mut bystander, json!({"action": "ping", "id": 7, "t": 1.0})).await;
        assert_eq!(next_of_type(&mut bystander, "pong").await["id"], 7);
    }
    running.shutdown.cancel();
}

#[tokio::test]
async fn sockets_past_the_per_address_cap_are_refused_before_the_upgrade() {
    let running = server(|a| {
        a.symbols.clear();
        a.max_connections_per_ip = 2;
    })
    .await;
    let first = connect(&running, "/api/ws").await;
    let _second = connect(&running, "/api/ws").await;
    let (status, body) = refused_upgrade(format!("ws://{}/api/ws", running.addr)).await;
    assert_eq!(status, 503, "a third socket: {body}");
    assert!(body.contains("connections from your address"), "{body}");
    drop(first);
    eventually("a closed socket gives its slot back", || async {
        connect_async(format!("ws://{}/api/ws", running.addr))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    running.shutdown.cancel();
}

#[tokio::test]
async fn random_topic_names_past_the_cap_are_refused_and_idle_ones_make_room() {
    let running = server(|a| {
        a.symbols = vec!["BTC-USD".parse().unwrap()];
        a.max_topics = 4;
        a.topic_idle_secs = 1;
    })
    .await;
    let topics = || async { get_json(&running, "/api/ws/health").await["topics"].clone() };
    eventually("the feed's topic exists", || async {
        (topics().await == 1).then_some(())
    })
    .await;
    // Reading topics that do not exist creates none.
    for i in 0..50 {
        for path in [
            format!("/api/streams/market:R{i}"),
            format!("/api/streams/market:R{i}/snapshot"),
        ] {
            let status = reqwest::get(http(&running, &path)).await.unwrap().status();
            assert_eq!(status, 200, "{path}");
        }
    }
    assert_eq!(topics().await, 1, "reads created topics");

    // Subscribing creates them, up to the cap; the next one is refused.
    let mut stranger = connect(&running, "/api/ws").await;
    for i in 0..3 {
        let topic = format!("market:R{i}");
        send_json(
            &mut stranger,
            json!({"action": "subscribe", "topic": topic}),
        )
        .await;
        assert_eq!(
            next_of_type(&mut stranger, "subscribed").await["topic"],
            topic
        );
    }
    send_json(
        &mut stranger,
        json!({"action": "subscribe", "topic": "market:R3"}),
    )
    .await;
    let error = next_of_type(&mut stranger, "error").await;
    assert_eq!(error["topic"], "market:R3");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("the server holds 4 topics"),
        "{error}"
    );
    let tick = json!({"topic": "market:NEW", "type": "tick",
        "data": {"symbol": "NEW", "price": 1.0, "change_pct": 0, "volume": 1}});
    let (status, body) = post_json(&running, "/api/publish", &tick).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["details"]["limit"], 4);
    // Nothing changed for the feed's subscribers.
    let mut bystander = connect(&running, "/api/ws/stream/market-data/BTC-USD").await;
    next_of_type(&mut bystander, "tick").await;

    // Once nobody follows them, the stranger's topics go idle and make room.
    drop(stranger);
    eventually("idle topics are dropped", || async {
        let (status, _) = post_json(&running, "/api/publish", &tick).await;
        (status == 200).then_some(())
    })
    .await;
    next_of_type(&mut bystander, "tick").await;
    running.shutdown.cancel();
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_what_the_cap_counts() {
    let running = server(|a| {
        a.symbols.clear();
        a.max_connections_per_ip = 1;
        a.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let through_proxy = |client: &str| {
        let mut request = format!("ws://{}/api/ws", running.addr)
            .into_client_request()
            .unwrap();
        let forwarded = format!("10.9.9.9, {client}").parse().unwrap();
        request.headers_mut().insert("x-forwarded-for", forwarded);
        request
    };
    // Two clients behind the one proxy address each get their own slot…
    let (_alice, _) = connect_async(through_proxy("203.0.113.1")).await.unwrap();
    let (_bob, _) = connect_async(through_proxy("203.0.113.2")).await.unwrap();
    // … and one of them cannot take a second, whatever it puts further left.
    let (status, body) = refused_upgrade(through_proxy("203.0.113.1")).await;
    assert_eq!(status, 503, "{body}");
    running.shutdown.cancel();
}

/// Paused backtests hold no thread: on a runtime with only two blocking threads, five
/// paused runs still leave room for another run to go from start to finish (a paused
/// run that waited on its thread would hold both, and the sixth would never start).
#[test]
fn paused_backtests_hold_no_thread() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // A regression would queue requests behind held threads: fail, do not hang.
    let scenario = async {
        let running = server(|a| {
            a.symbols.clear();
            a.data_dir = Some(data_dir());
        })
        .await;
        for i in 0..5 {
            let id = format!("held-{i}");
            let (status, reply) = post_json(&running, "/api/backtests", &paused_goog(&id)).await;
            assert_eq!(status, 201, "{reply}");
            eventually("the run has paused at its first bar", || async {
                let state = get_json(&running, &format!("/api/backtests/{id}")).await;
                (state["state"]["data"]["status"] == "paused").then_some(())
            })
            .await;
        }
        let run = json!({"id": "free", "dataset": "GOOG", "strategy": "buy_and_hold"});
        assert_eq!(post_json(&running, "/api/backtests", &run).await.0, 201);
        eventually("a sixth run completes beside five paused ones", || async {
            let state = get_json(&running, "/api/backtests/free").await;
            (state["state"]["data"]["status"] == "complete").then_some(())
        })
        .await;
        running.shutdown.cancel();
    };
    runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), scenario)
            .await
            .expect("five paused runs block nothing");
    });
}

#[tokio::test]
async fn no_other_site_may_frame_the_pages_or_sniff_an_answer() {
    let running = server(|a| a.symbols.clear()).await;
    let client = reqwest::Client::new();
    let foreign = client
        .post(http(&running, "/api/backtests"))
        .header("Origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    for response in [
        reqwest::get(http(&running, "/")).await.unwrap(),
        reqwest::get(http(&running, "/backtests")).await.unwrap(),
        reqwest::get(http(&running, "/api/ws/health"))
            .await
            .unwrap(),
        reqwest::get(http(&running, "/api/nope")).await.unwrap(),
        foreign,
    ] {
        let url = response.url().clone();
        let headers = response.headers();
        let value = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(
            value("content-security-policy").as_deref(),
            Some("frame-ancestors 'self'"),
            "{url}"
        );
        assert_eq!(
            value("x-frame-options").as_deref(),
            Some("SAMEORIGIN"),
            "{url}"
        );
        assert_eq!(
            value("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{url}"
        );
        assert_eq!(
            value("referrer-policy").as_deref(),
            Some("same-origin"),
            "{url}"
        );
    }
    running.shutdown.cancel();
}

/// Sends a request head promising `length` bytes of body and sends none of them.
async fn promise_a_body(running: &Running, path: &str, length: usize) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n",
        running.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// The status line of the answer on `stream`, failing the test if none comes in time.
async fn status_line(stream: tokio::net::TcpStream) -> String {
    let mut lines = BufReader::new(stream).lines();
    tokio::time::timeout(FRAME_TIMEOUT, lines.next_line())
        .await
        .expect("an answer before the body is sent")
        .unwrap()
        .expect("a status line")
}

#[tokio::test]
async fn a_publish_without_a_token_is_refused_before_its_body_is_read() {
    let running = server(|a| {
        a.symbols.clear();
        a.jwt_secret = Some("a-secret-of-at-least-thirty-two-bytes!!".into());
    })
    .await;
    // 16 MB promised, none sent: the answer comes from the headers alone.
    let stream = promise_a_body(&running, "/api/publish", 16_000_000).await;
    let line = status_line(stream).await;
    assert!(line.starts_with("HTTP/1.1 401"), "{line}");
    running.shutdown.cancel();
}

#[tokio::test]
async fn bodies_being_read_share_one_budget() {
    let running = server(|a| {
        a.symbols.clear();
        a.max_body_bytes = 64 * 1024;
        a.max_body_bytes_in_flight = 128 * 1024;
    })
    .await;
    let tick = json!({"topic": "market:ACME", "type": "tick", "data": {"symbol": "ACME", "price": 1, "change_pct": 0, "volume": 1}});
    // Two bodies of the largest size, sent slowly, hold the whole budget…
    let first = promise_a_body(&running, "/api/publish", 64 * 1024).await;
    let second = promise_a_body(&running, "/api/publish", 64 * 1024).await;
    let refusal = eventually("a small body refused while the budget is held", || async {
        let (status, body) = post_json(&running, "/api/publish", &tick).await;
        (status == 503).then_some(body)
    })
    .await;
    assert!(
        refusal["error"].as_str().unwrap().contains("131072 bytes"),
        "{refusal}"
    );
    assert_eq!(refusal["details"]["limit"], 128 * 1024);
    // … and give it back when they go.
    drop((first, second));
    eventually("the budget back once the slow bodies are gone", || async {
        let (status, _) = post_json(&running, "/api/publish", &tick).await;
        (status == 200).then_some(())
    })
    .await;
    running.shutdown.cancel();
}
