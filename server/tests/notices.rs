//! Personal channels (docs/SPEC.md section 4, "Notices"): each user hears of their own
//! runs, sessions, fills, missed bars and feeds on `user:{SUB}`, and nobody else may
//! follow that channel; notices are marked read for every tab; an admin's
//! `POST /api/notify` reaches exactly the connections it names.

mod common;

use std::sync::{Arc, Mutex};

use common::venue::{binance_klines, FakeVenue, Push};
use common::*;
use serde_json::{json, Value};
use server::auth::{now_secs, Claims, TokenKeys};
use server::config::VenueUrl;
use server::feed::venue::{FeedSpec, Venue};
use server::serve::Running;

const SECRET: &str = "test-secret-of-at-least-thirty-two-bytes";

fn token(sub: &str, admin: bool) -> String {
    let claims = Claims {
        sub: sub.into(),
        exp: now_secs() + 3600,
        topics: Some(vec!["*".into()]),
        publish: Vec::new(),
        admin,
    };
    TokenKeys::hs256(SECRET).unwrap().issue(&claims).unwrap()
}

async fn as_user(
    running: &Running,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call(running, method, path, Some(token), body).await
}

/// A socket that proved itself with `token`; returns it and its `connection_id`.
async fn socket_as(running: &Running, token: &str) -> (Socket, String) {
    let mut socket = connect(running, "/api/ws").await;
    let connected = next_json(&mut socket).await;
    assert_eq!(connected["type"], "connected");
    let id = connected["connection_id"].as_str().unwrap().to_owned();
    send_json(&mut socket, json!({"action": "auth", "token": token})).await;
    (socket, id)
}

/// Reads the channel until a notice of `event`; returns it (its envelope).
async fn notice(socket: &mut Socket, event: &str) -> Value {
    loop {
        let frame = next_of_type(socket, "notice").await;
        if frame["data"]["event"] == event {
            return frame;
        }
    }
}

#[tokio::test]
async fn a_users_runs_and_sessions_raise_notices_on_their_own_channel_only() {
    let running = server(|a| {
        a.jwt_secret = Some(SECRET.into());
        a.data_dir = Some(data_dir());
        a.symbols = vec!["BTC-USD".parse().unwrap()];
    })
    .await;
    let (alice, bob) = (token("alice", false), token("bob", false));
    let (mut mine, _) = socket_as(&running, &alice).await;
    assert_eq!(
        subscribe(&mut mine, "user:alice", None).await["topic"],
        "user:alice"
    );

    // Bob's token allows every topic, but Alice's channel is hers.
    let (mut other, _) = socket_as(&running, &bob).await;
    send_json(
        &mut other,
        json!({"action": "subscribe", "topic": "user:alice"}),
    )
    .await;
    let refused = next_of_type(&mut other, "error").await;
    assert_eq!(refused["topic"], "user:alice");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("belongs to another user"),
        "{refused}"
    );
    let (status, _) = as_user(
        &running,
        reqwest::Method::GET,
        "/api/streams/user:alice?since=0",
        &bob,
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, reply) = as_user(
        &running,
        reqwest::Method::POST,
        "/api/publish",
        &bob,
        Some(json!({"topic": "user:bob", "type": "notice", "data": {"event": "fill", "title": "x", "body": "y"}})),
    )
    .await;
    assert_eq!(status, 403, "{reply}");

    // A backtest that completes.
    let (status, started) = as_user(
        &running,
        reqwest::Method::POST,
        "/api/backtests",
        &alice,
        Some(json!({"id": "goog-done", "dataset": "GOOG", "strategy": "buy_and_hold"})),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let finished = notice(&mut mine, "run_finished").await;
    assert_eq!(finished["data"]["ref"], "backtest:goog-done");
    assert_eq!(finished["data"]["title"], "Backtest goog-done completed");
    assert!(
        finished["data"]["body"]
            .as_str()
            .unwrap()
            .contains("GOOG buy_and_hold"),
        "{finished}"
    );

    // An outside agent's session: a bar it lets pass, then a decision that fills.
    let (status, session) = as_user(
        &running,
        reqwest::Method::POST,
        "/api/sessions",
        &alice,
        Some(json!({"id": "agent-n", "symbol": "BTC-USD", "strategy": "external", "cash": 1_000_000.0})),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let missed = notice(&mut mine, "agent_missed_bar").await;
    assert_eq!(missed["data"]["ref"], "session:agent-n");
    let (status, taken) = as_user(
        &running,
        reqwest::Method::POST,
        "/api/sessions/agent-n/decision",
        &alice,
        Some(json!({"action": "buy", "reasoning": "up"})),
    )
    .await;
    assert_eq!(status, 202, "{taken}");
    let fill = notice(&mut mine, "fill").await;
    assert!(
        fill["data"]["title"]
            .as_str()
            .unwrap()
            .starts_with("Bought "),
        "{fill}"
    );
    assert_eq!(fill["data"]["ref"], "session:agent-n");
    let (status, _) = as_user(
        &running,
        reqwest::Method::POST,
        "/api/sessions/agent-n/stop",
        &alice,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let stopped = notice(&mut mine, "session_stopped").await;
    assert_eq!(stopped["data"]["title"], "Session agent-n stopped");

    // Read up to the stop: every tab's snapshot agrees, and a later notice is unread.
    let up_to = stopped["seq"].as_u64().unwrap();
    let (status, read) = as_user(
        &running,
        reqwest::Method::POST,
        "/api/notices/read",
        &alice,
        Some(json!({"up_to_seq": up_to})),
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["topic"], "user:alice");
    let (_, snapshot) = as_user(
        &running,
        reqwest::Method::GET,
        "/api/streams/user:alice/snapshot",
        &alice,
        None,
    )
    .await;
    assert_eq!(snapshot["data"]["read_up_to"], up_to);
    let notices = snapshot["data"]["notices"].as_array().unwrap();
    assert!(
        notices.iter().all(|n| n["seq"].as_u64() <= Some(up_to)),
        "{snapshot}"
    );
    // Bob's channel heard none of it.
    let (_, his) = as_user(
        &running,
        reqwest::Method::GET,
        "/api/streams/user:bob/snapshot",
        &bob,
        None,
    )
    .await;
    assert_eq!(his["data"]["notices"], json!([]), "{his}");
    running.shutdown.cancel();
}

/// The titles of the next `n` direct notices on `socket`.
async fn titles(socket: &mut Socket, n: usize) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..n {
        let frame = next_of_type(socket, "direct_notice").await;
        assert_eq!(frame["event"], "announcement");
        seen.push(frame["title"].as_str().unwrap().to_owned());
    }
    seen
}

#[tokio::test]
async fn an_admin_notifies_one_connection_one_user_or_everyone() {
    let running = server(|a| {
        a.jwt_secret = Some(SECRET.into());
        a.symbols.clear();
    })
    .await;
    let admin = token("root", true);
    let (mut first, first_id) = socket_as(&running, &token("alice", false)).await;
    let (mut second, _) = socket_as(&running, &token("alice", false)).await;
    let (mut bobs, _) = socket_as(&running, &token("bob", false)).await;
    // Each socket has its token in before the first notice goes out.
    for socket in [&mut first, &mut second, &mut bobs] {
        send_json(socket, json!({"action": "ping", "id": 1, "t": 1.0})).await;
        next_of_type(socket, "pong").await;
    }
    let notify = |body: Value, token: String| {
        let running = &running;
        async move {
            as_user(
                running,
                reqwest::Method::POST,
                "/api/notify",
                &token,
                Some(body),
            )
            .await
        }
    };

    let (status, reply) = notify(
        json!({"connection_id": first_id, "title": "to one"}),
        admin.clone(),
    )
    .await;
    assert_eq!(
        (status, reply["to"].as_str()),
        (202, Some(format!("connection {first_id}").as_str()))
    );
    let (status, _) = notify(json!({"user": "alice", "title": "to alice"}), admin.clone()).await;
    assert_eq!(status, 202);
    let (status, _) = notify(
        json!({"everyone": true, "title": "to all", "body": "maintenance"}),
        admin.clone(),
    )
    .await;
    assert_eq!(status, 202);

    assert_eq!(
        titles(&mut first, 3).await,
        ["to one", "to alice", "to all"]
    );
    // The others never got the notice for one connection: their next is the next one.
    assert_eq!(titles(&mut second, 2).await, ["to alice", "to all"]);
    assert_eq!(titles(&mut bobs, 1).await, ["to all"]);

    let (status, refused) = notify(
        json!({"everyone": true, "title": "x"}),
        token("alice", false),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    for (body, expected) in [
        (
            json!({"title": "nobody"}),
            "give exactly one of `connection_id`, `user` or `everyone: true`",
        ),
        (
            json!({"user": "alice", "everyone": true, "title": "two"}),
            "give exactly one",
        ),
        (
            json!({"user": "a b", "title": "x"}),
            "`user` invalid user `a b`",
        ),
        (
            json!({"everyone": true, "title": " "}),
            "`title` must not be empty",
        ),
        (
            json!({"everyone": true, "title": "x".repeat(201)}),
            "`title` must be at most 200 characters",
        ),
    ] {
        let (status, reply) = notify(body.clone(), admin.clone()).await;
        assert_eq!(status, 422, "{body}: {reply}");
        assert!(
            reply["error"].as_str().unwrap().contains(expected),
            "{body}: {reply}"
        );
    }
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_sessions_owner_hears_when_its_venue_feed_goes_down_and_comes_back() {
    let venue = FakeVenue::start().await;
    venue.candles(|call| binance_klines(call, 60_000));
    let running = server(|a| {
        a.feed = vec!["binance:BTCUSDT".parse::<FeedSpec>().unwrap()];
        a.interval = "1m".parse().unwrap();
        a.history_candles = 30;
        a.feed_ws_url = vec![VenueUrl {
            venue: Venue::Binance,
            url: venue.ws_url(),
        }];
        a.feed_rest_url = vec![VenueUrl {
            venue: Venue::Binance,
            url: venue.rest_url(),
        }];
    })
    .await;
    eventually("the feed connects", || async {
        let health = get_json(&running, "/api/ws/health").await;
        (health["feeds"][0]["state"] == "connected").then_some(())
    })
    .await;
    let (status, session) = post_json(
        &running,
        "/api/sessions",
        &json!({"id": "on-venue", "symbol": "BTCUSDT", "strategy": "buy_and_hold"}),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let mut mine = connect(&running, "/api/ws").await;
    subscribe(&mut mine, "user:anonymous", None).await;

    venue.push(Push::Close);
    let down = notice(&mut mine, "feed_down").await;
    assert_eq!(down["data"]["ref"], "market:BTCUSDT");
    assert_eq!(down["data"]["title"], "binance BTCUSDT is down");
    let up = notice(&mut mine, "feed_up").await;
    assert_eq!(up["data"]["title"], "binance BTCUSDT is back");
    running.shutdown.cancel();
}

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    signature: String,
    delivery: String,
    event: String,
    body: String,
}

/// A local webhook receiver: `/flaky` answers 503 to its first two requests then 200,
/// `/moved` redirects to `/elsewhere`, anything else 200; every request is kept.
async fn receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    use axum::http::{HeaderMap, StatusCode, Uri};
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let kept = got.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: String| {
        let kept = kept.clone();
        async move {
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            let path = uri.path().to_owned();
            let mut all = kept.lock().unwrap();
            all.push(Received {
                path: path.clone(),
                signature: header("x-tickwire-signature"),
                delivery: header("x-tickwire-delivery"),
                event: header("x-tickwire-event"),
                body,
            });
            let seen = all.iter().filter(|r| r.path == path).count();
            match path.as_str() {
                "/flaky" if seen <= 2 => (StatusCode::SERVICE_UNAVAILABLE, HeaderMap::new()),
                "/moved" => {
                    let mut to = HeaderMap::new();
                    to.insert("location", "/elsewhere".parse().unwrap());
                    (StatusCode::FOUND, to)
                }
                _ => (StatusCode::OK, HeaderMap::new()),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, got)
}

/// Checks `X-Tickwire-Signature` as a receiver would: HMAC-SHA256 of `t.body` under the
/// secret, sent within five minutes of now.
fn verify(secret: &str, signature: &str, body: &str) -> bool {
    use hmac::{Hmac, Mac};
    let Some((t, v1)) = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let Ok(sent) = t.parse::<i64>() else {
        return false;
    };
    let fresh = (chrono::Utc::now().timestamp() - sent).abs() <= 300;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    fresh && expected == v1
}

const HOOK_SECRET: &str = "a-receivers-secret-of-some-length";

#[tokio::test]
async fn a_webhook_receiver_verifies_every_signature_through_failures_and_retries() {
    let (base, got) = receiver().await;
    let running = server(|a| {
        a.data_dir = Some(data_dir());
        a.symbols.clear();
        a.webhooks_allow_private = true;
        a.webhook_retry_secs = 3;
    })
    .await;
    let add = |path: &str, format: &str| {
        let body = json!({"url": format!("{base}{path}"), "events": ["run_finished"], "secret": HOOK_SECRET, "format": format});
        let running = &running;
        async move { post_json(running, "/api/webhooks", &body).await }
    };
    let (status, flaky) = add("/flaky", "json").await;
    assert_eq!(status, 201, "{flaky}");
    assert!(
        flaky.get("secret").is_none(),
        "the secret is never shown: {flaky}"
    );
    let (status, slack) = add("/slack", "slack").await;
    assert_eq!(status, 201, "{slack}");
    let (status, moved) = add("/moved", "json").await;
    assert_eq!(status, 201, "{moved}");
    let listed = get_json(&running, "/api/webhooks").await;
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 3);

    let (status, started) = post_json(
        &running,
        "/api/backtests",
        &json!({"id": "hooked", "dataset": "GOOG", "strategy": "buy_and_hold"}),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let flaky_id = flaky["id"].as_str().unwrap();
    let delivered = eventually("the flaky receiver takes the third attempt", || async {
        let page = get_json(&running, &format!("/api/webhooks/{flaky_id}/deliveries")).await;
        let last = page["deliveries"][0].clone();
        (last["state"] == "delivered").then_some(last)
    })
    .await;
    assert_eq!(delivered["attempts"], 3, "{delivered}");
    assert_eq!(delivered["status"], 200);
    assert_eq!(delivered["event"], "run_finished");

    let requests = got.lock().unwrap().clone();
    let to_flaky: Vec<&Received> = requests.iter().filter(|r| r.path == "/flaky").collect();
    assert_eq!(
        to_flaky.len(),
        3,
        "two failures, then the retry that was taken"
    );
    assert!(
        to_flaky
            .iter()
            .all(|r| verify(HOOK_SECRET, &r.signature, &r.body)),
        "{to_flaky:?}"
    );
    assert!(!verify(
        "another-secret-entirely",
        &to_flaky[0].signature,
        &to_flaky[0].body
    ));
    assert!(
        to_flaky
            .iter()
            .all(|r| r.delivery == to_flaky[0].delivery && r.event == "run_finished"),
        "every attempt names the same delivery, so a receiver drops repeats"
    );
    let notice: Value = serde_json::from_str(&to_flaky[0].body).unwrap();
    assert_eq!(notice["event"], "run_finished");
    assert_eq!(notice["ref"], "backtest:hooked");
    assert_eq!(notice["user"], "anonymous");
    let to_slack = requests
        .iter()
        .find(|r| r.path == "/slack")
        .expect("slack posted to");
    let text: Value = serde_json::from_str(&to_slack.body).unwrap();
    assert!(
        text["text"]
            .as_str()
            .unwrap()
            .starts_with("*Backtest hooked completed*\n"),
        "{text}"
    );

    // A redirect is never followed: the delivery fails once the retry time is over.
    let moved_id = moved["id"].as_str().unwrap();
    let failed = eventually("the redirected delivery gives up", || async {
        let page = get_json(&running, &format!("/api/webhooks/{moved_id}/deliveries")).await;
        let last = page["deliveries"][0].clone();
        (last["state"] == "failed").then_some(last)
    })
    .await;
    assert_eq!(failed["status"], 302);
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("redirects are not followed"),
        "{failed}"
    );
    assert!(!got.lock().unwrap().iter().any(|r| r.path == "/elsewhere"));

    let (status, _) = call(
        &running,
        reqwest::Method::DELETE,
        &format!("/api/webhooks/{moved_id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &running,
        reqwest::Method::GET,
        &format!("/api/webhooks/{moved_id}/deliveries"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 404);
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_webhook_to_a_private_address_is_refused_after_its_name_is_resolved() {
    let running = server(|a| a.symbols.clear()).await;
    let hook = |url: &str| json!({"url": url, "events": ["fill"], "secret": HOOK_SECRET});
    assert_unprocessable(
        &running,
        "/api/webhooks",
        &[
            (
                hook("http://localhost:9/hook"),
                "`url` `localhost` resolves to",
            ),
            (hook("http://127.0.0.1:9/hook"), "a loopback address"),
            (hook("http://10.0.0.8/hook"), "a private address"),
            (
                hook("http://169.254.169.254/latest/meta-data"),
                "a link-local address",
            ),
            (hook("http://[::1]:9/hook"), "a loopback address"),
            (
                hook("ftp://example.com/x"),
                "must be an http:// or https:// URL",
            ),
            (
                json!({"url": "https://example.com/x", "events": ["nope"], "secret": HOOK_SECRET}),
                "`events` has `nope`",
            ),
            (
                json!({"url": "https://example.com/x", "events": [], "secret": HOOK_SECRET}),
                "`events` must name at least one event",
            ),
            (
                json!({"url": "https://example.com/x", "events": ["fill"], "secret": "short"}),
                "`secret` must be 16 to 256 bytes",
            ),
        ],
    )
    .await;
    assert_eq!(
        get_json(&running, "/api/webhooks").await["webhooks"],
        json!([])
    );
    running.shutdown.cancel();
}
