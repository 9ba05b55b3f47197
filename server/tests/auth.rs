//! Token mode (docs/SPEC.md section 12), attacked: tokenless, forged, expired and
//! wrong-algorithm tokens; another user's run over REST and the socket; subscriptions
//! and publishes outside a token's claims; a token lapsing on a live socket. Each
//! refusal leaves everything as it was for everyone else.

mod common;

use common::*;
use serde_json::{json, Value};
use server::auth::{now_secs, Claims, TokenKeys};
use server::serve::Running;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const SECRET: &str = "test-secret-of-at-least-thirty-two-bytes";

/// A server in token mode with the repository's datasets.
async fn token_server() -> Running {
    server(|a| {
        a.jwt_secret = Some(SECRET.into());
        a.data_dir = Some(data_dir());
    })
    .await
}

fn claims(sub: &str) -> Claims {
    Claims {
        sub: sub.into(),
        exp: now_secs() + 3600,
        topics: None,
        publish: Vec::new(),
        admin: false,
    }
}

fn sign(claims: &Claims) -> String {
    TokenKeys::hs256(SECRET).unwrap().issue(claims).unwrap()
}

fn token(sub: &str) -> String {
    sign(&claims(sub))
}

async fn get_as(running: &Running, path: &str, token: &str) -> (u16, Value) {
    call(running, reqwest::Method::GET, path, Some(token), None).await
}

async fn post_as(running: &Running, path: &str, token: &str, body: Value) -> (u16, Value) {
    call(
        running,
        reqwest::Method::POST,
        path,
        Some(token),
        Some(body),
    )
    .await
}

/// A socket on `/api/ws` that has proved itself with `token` in its first frame.
async fn socket_as(running: &Running, token: &str) -> Socket {
    let mut socket = connect(running, "/api/ws").await;
    assert_eq!(next_json(&mut socket).await["type"], "connected");
    send_json(&mut socket, json!({"action": "auth", "token": token})).await;
    socket
}

/// The socket is open and subscribes to `market:BTC-USD`, which any token allows.
async fn follows_the_market(socket: &mut Socket) {
    send_json(
        socket,
        json!({"action": "subscribe", "topic": "market:BTC-USD"}),
    )
    .await;
    assert_eq!(
        next_of_type(socket, "tick").await["topic"],
        "market:BTC-USD"
    );
}

/// Reads frames until an `error` about `topic`, returning its text.
async fn error_about(socket: &mut Socket, topic: &str) -> String {
    loop {
        let frame = next_of_type(socket, "error").await;
        if frame["topic"] == topic {
            return frame["error"].as_str().unwrap().to_owned();
        }
    }
}

#[tokio::test]
async fn tokenless_forged_expired_and_other_algorithm_tokens_are_refused() {
    let running = token_server().await;
    let keys = TokenKeys::hs256(SECRET).unwrap();
    let forged = TokenKeys::hs256("a guess that is thirty-two bytes long")
        .unwrap()
        .issue(&claims("mallory"))
        .unwrap();
    let expired = keys
        .issue(&Claims {
            exp: now_secs() - 60,
            ..claims("alice")
        })
        .unwrap();
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims("alice"),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    // `alg: none`, unsigned: the classic forgery.
    let b64 = |v: Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let unsigned = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(serde_json::to_value(claims("alice")).unwrap())
    );
    let cases: [(Option<&str>, &str); 5] = [
        (None, "a token is required"),
        (Some(&forged), "bad signature"),
        (Some(&expired), "expired"),
        (Some(&hs512), "wrong algorithm"),
        (Some(&unsigned), "invalid token"),
    ];
    let endpoints = [
        (reqwest::Method::GET, "/api/me"),
        (reqwest::Method::GET, "/api/backtests"),
        (reqwest::Method::GET, "/api/sessions"),
        (reqwest::Method::GET, "/api/datasets"),
        (reqwest::Method::GET, "/api/market/symbols"),
        (reqwest::Method::GET, "/api/market/BTC-USD/candles"),
        (reqwest::Method::GET, "/api/streams/market:BTC-USD"),
        (reqwest::Method::GET, "/api/streams/market:BTC-USD/snapshot"),
        (reqwest::Method::GET, "/api/backtests/x"),
        (reqwest::Method::GET, "/api/sessions/x"),
        (reqwest::Method::DELETE, "/api/sessions/x"),
        (reqwest::Method::POST, "/api/sessions/x/stop"),
        (reqwest::Method::POST, "/api/backtests/x/cancel"),
        (reqwest::Method::POST, "/api/sessions/x/decision"),
    ];
    for (token, expected) in cases {
        for (method, path) in &endpoints {
            let (status, body) = call(&running, method.clone(), path, token, None).await;
            assert_eq!(status, 401, "{method} {path} with {expected}: {body}");
            let error = body["error"].as_str().unwrap();
            assert!(error.contains(expected), "{method} {path}: {error}");
            assert!(!error.contains(SECRET));
        }
        for (path, body) in [
            (
                "/api/backtests",
                json!({"dataset": "GOOG", "strategy": "buy_and_hold"}),
            ),
            (
                "/api/sessions",
                json!({"symbol": "BTC-USD", "strategy": "buy_and_hold"}),
            ),
        ] {
            let (status, reply) =
                call(&running, reqwest::Method::POST, path, token, Some(body)).await;
            assert_eq!(status, 401, "POST {path}: {reply}");
        }
    }
    // Nothing was started by any of them.
    let (_, listed) = get_as(&running, "/api/backtests", &token("root-check")).await;
    assert_eq!(listed, json!([]));
    // Liveness, metrics and the dashboard's pages need no token.
    for path in ["/api/ws/health", "/metrics"] {
        let status = reqwest::get(http(&running, path)).await.unwrap().status();
        assert_eq!(status, 200, "{path}");
    }

    // Sockets: a refused token on the upgrade closes with 1008 and the reason.
    for (token, reason) in [
        (&forged, "invalid token"),
        (&expired, "token expired"),
        (&hs512, "invalid token"),
        (&unsigned, "invalid token"),
    ] {
        let mut socket = connect(&running, &format!("/api/ws?token={token}")).await;
        let close = next_close(&mut socket).await;
        assert_eq!(close.code, CloseCode::Policy);
        assert_eq!(close.reason, reason);
    }
    // Without one, anything but `auth` first closes it.
    let mut socket = connect(&running, "/api/ws").await;
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": "market:BTC-USD"}),
    )
    .await;
    let close = next_close(&mut socket).await;
    assert_eq!(close.code, CloseCode::Policy);
    assert_eq!(close.reason, "token required");
    // A dedicated stream without a token waits for one, and closes on a bad one.
    let mut socket = connect(&running, "/api/ws/stream/market-data/BTC-USD").await;
    send_json(&mut socket, json!({"action": "auth", "token": forged})).await;
    assert_eq!(next_close(&mut socket).await.reason, "invalid token");
    // The good token, on the URL or as the first frame, streams.
    let good = token("alice");
    let mut socket = connect(
        &running,
        &format!("/api/ws/stream/market-data/BTC-USD?token={good}"),
    )
    .await;
    next_of_type(&mut socket, "tick").await;
    let mut socket = connect(&running, "/api/ws/stream/market-data/BTC-USD").await;
    send_json(&mut socket, json!({"action": "auth", "token": good})).await;
    next_of_type(&mut socket, "tick").await;
    running.shutdown.cancel();
}

#[tokio::test]
async fn another_users_run_is_refused_over_rest_and_the_socket_and_nothing_changes() {
    let running = token_server().await;
    let alice = token("alice");
    // Bob's token allows every backtest topic: ownership still wins.
    let bob = sign(&Claims {
        topics: Some(vec!["*".into()]),
        ..claims("bob")
    });
    let root = sign(&Claims {
        admin: true,
        ..claims("root")
    });
    let run =
        json!({"id": "alices", "dataset": "GOOG", "strategy": "buy_and_hold", "paused": true});
    let (status, started) = post_as(&running, "/api/backtests", &alice, run).await;
    assert_eq!(status, 201, "{started}");
    let topic = "backtest:alices";

    // REST: not listed, not readable, not controllable, not pollable.
    assert_eq!(get_as(&running, "/api/backtests", &bob).await.1, json!([]));
    for path in [
        "/api/backtests/alices".to_owned(),
        format!("/api/streams/{topic}"),
        format!("/api/streams/{topic}/snapshot"),
        format!("/api/streams/{topic}?since=0"),
    ] {
        let (status, body) = get_as(&running, &path, &bob).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("another user"),
            "{body}"
        );
    }
    for action in ["resume", "cancel", "pause"] {
        let path = format!("/api/backtests/alices/{action}");
        let (status, body) = call(&running, reqwest::Method::POST, &path, Some(&bob), None).await;
        assert_eq!(status, 403, "{action}: {body}");
    }
    // The socket: subscribe, resume from a seq, and control actions are all refused.
    let mut socket = socket_as(&running, &bob).await;
    send_json(&mut socket, json!({"action": "subscribe", "topic": topic})).await;
    assert!(error_about(&mut socket, topic)
        .await
        .contains("another user"));
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": topic, "since": {"seq": 0}}),
    )
    .await;
    assert!(error_about(&mut socket, topic)
        .await
        .contains("another user"));
    send_json(&mut socket, json!({"action": "cancel", "topic": topic})).await;
    assert!(error_about(&mut socket, topic)
        .await
        .contains("another user"));
    // ... and the socket stays open for what Bob may follow.
    follows_the_market(&mut socket).await;

    // Nothing changed: the run is still paused, at its first bar, for Alice.
    let (status, state) = get_as(&running, "/api/backtests/alices", &alice).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["state"]["data"]["status"], "paused", "{state}");
    let (_, listed) = get_as(&running, "/api/backtests", &alice).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // An admin sees and controls it.
    let (_, listed) = get_as(&running, "/api/backtests", &root).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (status, _) = call(
        &running,
        reqwest::Method::POST,
        "/api/backtests/alices/cancel",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, 202);

    // Sessions too: Bob can neither see nor stop Alice's, nor decide for her agent.
    let session = json!({"id": "alices-s", "symbol": "BTC-USD", "strategy": "external"});
    assert_eq!(
        post_as(&running, "/api/sessions", &alice, session).await.0,
        201
    );
    assert_eq!(get_as(&running, "/api/sessions", &bob).await.1, json!([]));
    let (status, _) = call(
        &running,
        reqwest::Method::DELETE,
        "/api/sessions/alices-s",
        Some(&bob),
        None,
    )
    .await;
    assert_eq!(status, 403);
    for (path, body) in [
        (
            "/api/sessions/alices-s/thinking",
            json!({"chunk": "mine now"}),
        ),
        (
            "/api/sessions/alices-s/decision",
            json!({"action": "sell", "reasoning": "mine now"}),
        ),
    ] {
        let (status, reply) = call(
            &running,
            reqwest::Method::POST,
            path,
            Some(&bob),
            Some(body),
        )
        .await;
        assert_eq!(status, 403, "{path}: {reply}");
    }
    let (_, state) = get_as(&running, "/api/sessions/alices-s", &alice).await;
    assert_eq!(state["running"], true, "{state}");
    running.shutdown.cancel();
}

#[tokio::test]
async fn subscriptions_and_publishes_outside_a_tokens_claims_are_refused() {
    let running = server(|a| {
        a.jwt_secret = Some(SECRET.into());
        a.api_key = Some("producer-key".into());
    })
    .await;
    let desk = sign(&Claims {
        publish: vec!["market:EXT-*".into()],
        ..claims("desk")
    });
    let mut socket = socket_as(&running, &desk).await;
    // The default `topics` are the market's: a trading topic is outside them.
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": "trading:BTC-USD"}),
    )
    .await;
    let error = error_about(&mut socket, "trading:BTC-USD").await;
    assert!(error.contains("does not allow trading:BTC-USD"), "{error}");
    assert!(error.contains("market:*"), "{error}");
    // The socket stays open and follows what it may.
    follows_the_market(&mut socket).await;
    let (status, _) = get_as(&running, "/api/streams/trading:BTC-USD", &desk).await;
    assert_eq!(status, 403);

    let tick = |topic: &str| {
        let symbol = topic.trim_start_matches("market:");
        json!({"topic": topic, "type": "tick", "data": {"symbol": symbol, "price": 1.0, "change_pct": 0, "volume": 1}})
    };
    let (status, body) = post_as(&running, "/api/publish", &desk, tick("market:EXT-A")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post_as(&running, "/api/publish", &desk, tick("market:BTC-USD")).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("may not publish to market:BTC-USD"));
    // A batch with one refused item publishes nothing.
    let batch = json!({"messages": [tick("market:EXT-A"), tick("market:ETH-USD")]});
    assert_eq!(post_as(&running, "/api/publish", &desk, batch).await.0, 403);
    let (_, page) = get_as(&running, "/api/streams/market:EXT-A", &desk).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1, "{page}");
    // The producers' API key still publishes anywhere.
    let (status, _) = post_as(
        &running,
        "/api/publish",
        "producer-key",
        tick("market:EXT-B"),
    )
    .await;
    assert_eq!(status, 200);
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_lapsing_token_closes_its_socket_unless_refreshed() {
    let running = token_server().await;
    // Expires now: lapses once the 5 s leeway is over.
    let brief = |sub: &str| {
        sign(&Claims {
            exp: now_secs(),
            ..claims(sub)
        })
    };
    let mut lapsing = socket_as(&running, &brief("alice")).await;
    let mut refreshed = socket_as(&running, &brief("alice")).await;
    for socket in [&mut lapsing, &mut refreshed] {
        send_json(
            socket,
            json!({"action": "subscribe", "topic": "market:BTC-USD"}),
        )
        .await;
        next_of_type(socket, "tick").await;
    }
    // A refresh for someone else is refused, and the current token holds.
    send_json(
        &mut refreshed,
        json!({"action": "auth", "token": token("mallory")}),
    )
    .await;
    let error = next_of_type(&mut refreshed, "error").await;
    assert!(
        error["error"].as_str().unwrap().contains("same user"),
        "{error}"
    );
    send_json(
        &mut refreshed,
        json!({"action": "auth", "token": token("alice")}),
    )
    .await;

    let close = next_close(&mut lapsing).await;
    assert_eq!(close.code, CloseCode::Policy);
    assert_eq!(close.reason, "token expired");
    // The refreshed socket outlives it and keeps streaming.
    assert_eq!(
        next_of_type(&mut refreshed, "tick").await["topic"],
        "market:BTC-USD"
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn me_says_who_the_server_takes_the_caller_for() {
    let running = token_server().await;
    let root = sign(&Claims {
        admin: true,
        ..claims("root")
    });
    let (status, me) = get_as(&running, "/api/me", &root).await;
    assert_eq!(status, 200);
    assert_eq!(me["mode"], "token");
    assert_eq!(me["sub"], "root");
    assert_eq!(me["admin"], true);
    running.shutdown.cancel();
    let anonymous = server(|_| {}).await;
    assert_eq!(
        get_json(&anonymous, "/api/me").await,
        json!({"mode": "anonymous"})
    );
    anonymous.shutdown.cancel();
}

#[tokio::test]
async fn anonymous_mode_refuses_to_listen_beyond_loopback() {
    let mut args = server::config::ServeArgs::defaults();
    args.database_url = "none".to_owned();
    args.addr = "0.0.0.0:0".parse().unwrap();
    args.symbols.clear();
    let refused = server::serve::start(args.clone()).await.err().unwrap();
    assert!(
        refused
            .to_string()
            .contains("refusing to serve anonymously"),
        "{refused}"
    );
    for tweak in [
        |a: &mut server::config::ServeArgs| a.allow_anonymous = true,
        |a: &mut server::config::ServeArgs| a.jwt_secret = Some(SECRET.into()),
    ] {
        let mut args = args.clone();
        tweak(&mut args);
        let running = server::serve::start(args).await.unwrap();
        running.shutdown.cancel();
    }
}

#[tokio::test]
async fn a_secret_anyone_could_guess_is_refused_at_start() {
    let mut args = server::config::ServeArgs::defaults();
    args.database_url = "none".to_owned();
    args.symbols.clear();
    for (secret, previous, flag) in [
        (
            "change-me",
            None,
            "--jwt-secret must be at least 32 bytes (it has 9)",
        ),
        (
            "x",
            None,
            "--jwt-secret must be at least 32 bytes (it has 1)",
        ),
        (
            SECRET,
            Some("old"),
            "--jwt-secret-previous must be at least 32 bytes",
        ),
    ] {
        let mut args = args.clone();
        args.jwt_secret = Some(secret.into());
        args.jwt_secret_previous = previous.map(Into::into);
        let refused = server::serve::start(args).await.err().unwrap().to_string();
        assert!(refused.contains(flag), "{refused}");
    }
}

#[tokio::test]
async fn a_token_for_ever_is_refused_and_the_server_stays_up() {
    let running = token_server().await;
    let forever = sign(&Claims {
        exp: u64::MAX - 1,
        ..claims("mallory")
    });
    let months = sign(&Claims {
        exp: now_secs() + 90 * 86_400,
        ..claims("mallory")
    });
    for token in [&forever, &months] {
        let (status, body) = get_as(&running, "/api/me", token).await;
        assert_eq!(status, 401, "{body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("--max-ttl"), "{error}");
        // On the upgrade and as a first frame: refused, and no panic in the handler.
        let mut socket = connect(&running, &format!("/api/ws?token={token}")).await;
        assert_eq!(next_close(&mut socket).await.reason, "invalid token");
        let mut socket = connect(&running, "/api/ws").await;
        send_json(&mut socket, json!({"action": "auth", "token": token})).await;
        assert_eq!(next_close(&mut socket).await.reason, "invalid token");
    }
    let (status, _) = get_as(&running, "/api/me", &token("alice")).await;
    assert_eq!(status, 200, "the server still serves");
    running.shutdown.cancel();
}

#[tokio::test]
async fn during_a_rotation_tokens_of_the_previous_secret_still_work() {
    const NEW: &str = "the-new-secret-of-at-least-thirty-two-bytes";
    let running = server(|a| {
        a.jwt_secret = Some(NEW.into());
        a.jwt_secret_previous = Some(SECRET.into());
    })
    .await;
    let old = token("alice");
    let new = TokenKeys::hs256(NEW)
        .unwrap()
        .issue(&claims("bob"))
        .unwrap();
    let stranger = TokenKeys::hs256("a third secret, thirty-two bytes long")
        .unwrap()
        .issue(&claims("mallory"))
        .unwrap();
    assert_eq!(get_as(&running, "/api/me", &old).await.1["sub"], "alice");
    assert_eq!(get_as(&running, "/api/me", &new).await.1["sub"], "bob");
    assert_eq!(get_as(&running, "/api/me", &stranger).await.0, 401);
    running.shutdown.cancel();
}

#[tokio::test]
async fn one_user_cannot_take_every_backtest_place() {
    let running = server(|a| {
        a.jwt_secret = Some(SECRET.into());
        a.data_dir = Some(data_dir());
        a.max_backtests_per_user = 2;
    })
    .await;
    let paused =
        |id: &str| json!({"id": id, "dataset": "GOOG", "strategy": "buy_and_hold", "paused": true});
    let (alice, bob) = (token("alice"), token("bob"));
    for id in ["a1", "a2"] {
        let (status, body) = post_as(&running, "/api/backtests", &alice, paused(id)).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = post_as(&running, "/api/backtests", &alice, paused("a3")).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(
        body["error"],
        "you run 2 backtests, the most one user may at once: wait for one to finish"
    );
    assert_eq!(body["details"]["limit"], 2);
    // Another user still has room.
    let (status, body) = post_as(&running, "/api/backtests", &bob, paused("b1")).await;
    assert_eq!(status, 201, "{body}");
    running.shutdown.cancel();
}

#[tokio::test]
async fn nobody_writes_into_a_run_the_server_runs_whatever_their_publish_claim() {
    let running = token_server().await;
    let alice = token("alice");
    let paused =
        json!({"id": "alices", "dataset": "GOOG", "strategy": "buy_and_hold", "paused": true});
    let (status, body) = post_as(&running, "/api/backtests", &alice, paused).await;
    assert_eq!(status, 201, "{body}");
    // The grant the Python producer's docs recommend, held by another user, and by
    // the run's own owner: neither writes into the run.
    let mut producer = claims("bob");
    producer.publish = vec!["backtest:*".into()];
    let mut owner = claims("alice");
    owner.publish = vec!["backtest:*".into()];
    for holder in [sign(&producer), sign(&owner)] {
        for forged in [
            json!({"topic": "backtest:alices", "type": "cancelled", "data": {"reason": "forged"}}),
            json!({"topic": "backtest:alices", "type": "log", "data": {"level": "info", "message": "forged", "target": "x"}}),
        ] {
            let (status, body) = post_as(&running, "/api/publish", &holder, forged).await;
            assert_eq!(status, 403, "{body}");
            assert_eq!(
                body["error"],
                "backtest:alices is a run of this server: only its engine publishes there"
            );
        }
    }
    // The run's state is its own: resume and cancel reach it.
    let (status, body) = post_as(&running, "/api/backtests/alices/resume", &alice, json!({})).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = post_as(&running, "/api/backtests/alices/cancel", &alice, json!({})).await;
    assert!(status == 202 || status == 409, "{status} {body}");
    // An outside producer's own run topic still takes its messages.
    let (status, body) = post_as(
        &running,
        "/api/publish",
        &sign(&producer),
        json!({"topic": "backtest:bobs-own", "type": "log", "data": {"level": "info", "message": "hi", "target": "x"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    running.shutdown.cancel();
}

#[tokio::test]
async fn an_outside_producers_run_topic_is_its_first_publishers_and_admins_alone() {
    let running = token_server().await;
    let producer = |sub: &str, admin: bool| {
        let mut claims = claims(sub);
        claims.publish = vec!["backtest:*".into(), "market:*".into()];
        claims.admin = admin;
        sign(&claims)
    };
    let (carol, mallory, root) = (
        producer("carol", false),
        producer("mallory", false),
        producer("root", true),
    );
    let publish =
        async |token: &str, body: Value| post_as(&running, "/api/publish", token, body).await;
    let log = |topic: &str, text: &str| json!({"topic": topic, "type": "log", "data": {"level": "info", "message": text, "target": "x"}});
    let tick = |symbol: &str| json!({"topic": format!("market:{symbol}"), "type": "tick", "data": {"symbol": symbol, "price": 1, "change_pct": 0, "volume": 1}});
    let (status, body) = publish(&carol, log("backtest:carols", "1")).await;
    assert_eq!(status, 200, "{body}");
    // Another holder of the same grant writes neither a forged end nor a log into it,
    // not even inside a batch whose other items are fine: nothing of the batch goes out.
    let forged_end =
        json!({"topic": "backtest:carols", "type": "cancelled", "data": {"reason": "forged"}});
    let batch = json!({"messages": [tick("MINE"), forged_end.clone()]});
    for forged in [forged_end, batch] {
        let (status, body) = publish(&mallory, forged).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(
            body["error"],
            "backtest:carols is written by another producer: only it and admins publish there"
        );
    }
    let (_, page) = get_as(&running, "/api/streams/market:MINE?since=0", &root).await;
    assert_eq!(
        page["messages"],
        json!([]),
        "nothing of the refused batch went out"
    );
    // Its producer and an admin carry on; the topic still reads as carol wrote it.
    let (status, body) = publish(&carol, log("backtest:carols", "2")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = publish(&root, log("backtest:carols", "3")).await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = get_as(&running, "/api/streams/backtest:carols?since=0", &root).await;
    let texts: Vec<&str> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["data"]["message"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(texts, ["1", "2", "3"]);
    // Market topics are not anyone's: both producers write there.
    for holder in [&carol, &mallory] {
        let (status, body) = publish(holder, tick("SHARED")).await;
        assert_eq!(status, 200, "{body}");
    }
    running.shutdown.cancel();
}

#[tokio::test]
async fn one_user_cannot_create_topics_without_end() {
    let running = server(|a| {
        a.symbols.clear();
        a.jwt_secret = Some(SECRET.into());
        a.max_new_topics_per_minute = std::num::NonZeroU32::new(3).unwrap();
    })
    .await;
    let mut producer = claims("bob");
    producer.publish = vec!["backtest:*".into()];
    producer.topics = Some(vec!["backtest:*".into()]);
    let bob = sign(&producer);
    let log = |topic: &str| json!({"topic": topic, "type": "log", "data": {"level": "info", "message": "hi", "target": "x"}});
    for n in 0..3 {
        let (status, body) = post_as(
            &running,
            "/api/publish",
            &bob,
            log(&format!("backtest:new-{n}")),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = post_as(&running, "/api/publish", &bob, log("backtest:new-3")).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("you created 3 topics in the last minute"),
        "{body}"
    );
    // Topics that exist cost nothing; a subscribe that would create one is refused too.
    let (status, body) = post_as(&running, "/api/publish", &bob, log("backtest:new-0")).await;
    assert_eq!(status, 200, "{body}");
    let mut socket = socket_as(&running, &bob).await;
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": "backtest:new-4"}),
    )
    .await;
    let error = next_of_type(&mut socket, "error").await;
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("you created 3 topics"),
        "{error}"
    );
    // Another user has a quota of their own.
    let mut other = claims("carol");
    other.publish = vec!["backtest:*".into()];
    let (status, body) = post_as(
        &running,
        "/api/publish",
        &sign(&other),
        log("backtest:carols"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    running.shutdown.cancel();
}
