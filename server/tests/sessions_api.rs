//! Paper-trading sessions on the live synthetic feed, over the real API.

mod common;

use common::*;
use protocol::{
    Candle, Control, DataSource, Message, Resync, ServerFrame, Snapshot, SnapshotData, Tick,
    Timestamp,
};
use serde_json::{json, Value};

/// `POST /api/sessions/{id}/stop`.
async fn stop(running: &server::serve::Running, id: &str) -> (u16, Value) {
    let path = format!("/api/sessions/{id}/stop");
    call(running, reqwest::Method::POST, &path, None, None).await
}

async fn post(running: &server::serve::Running, body: Value) -> (u16, Value) {
    post_json(running, "/api/sessions", &body).await
}

/// A client that folds a session topic into its own state, as the dashboard does.
struct Follower {
    socket: Socket,
    state: SnapshotData,
    seq: u64,
}

impl Follower {
    /// From the first frame that carries a snapshot (`snapshot`, or `resync` after a
    /// resume from a foreign epoch).
    async fn new(mut socket: Socket) -> Self {
        let snapshot = loop {
            let frame: ServerFrame =
                serde_json::from_value(next_json(&mut socket).await).expect("a frame");
            match frame {
                ServerFrame::Control(Control::Snapshot(s))
                | ServerFrame::Control(Control::Resync(Resync { snapshot: s, .. })) => break s,
                _ => continue,
            }
        };
        Follower {
            socket,
            seq: snapshot.last_seq,
            state: snapshot.data,
        }
    }

    /// Folds the next message and returns it.
    async fn next(&mut self) -> Value {
        loop {
            let value = next_json(&mut self.socket).await;
            let frame: ServerFrame = serde_json::from_value(value.clone()).expect("a frame");
            if let ServerFrame::Message(e) = frame {
                assert_eq!(e.seq, self.seq + 1, "no gap, no duplicate");
                self.state.apply(&e.message);
                self.seq = e.seq;
                return value;
            }
        }
    }

    /// Folds messages up to and including the next one of type `ty`, and returns it.
    async fn until(&mut self, ty: &str) -> Value {
        let search = async {
            loop {
                let m = self.next().await;
                if m["type"] == ty {
                    return m;
                }
            }
        };
        tokio::time::timeout(TYPE_TIMEOUT, search)
            .await
            .unwrap_or_else(|_| panic!("no `{ty}` within {TYPE_TIMEOUT:?}"))
    }

    /// Folds messages until the state is at seq `target`.
    async fn fold_to(&mut self, target: u64) {
        while self.seq < target {
            self.next().await;
        }
    }

    fn session(&self) -> &protocol::SessionSnapshot {
        match &self.state {
            SnapshotData::Session(s) => s,
            other => panic!("not a session: {other:?}"),
        }
    }
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
    let mut first =
        Follower::new(connect(&running, "/api/ws/stream/session/paper-1?since=0&epoch=x").await)
            .await;

    // Reasoning comes in chunks before each decision; a position opens at the next print.
    let thinking = first.until("thinking").await;
    assert!(
        thinking["data"]["chunk"]
            .as_str()
            .unwrap()
            .starts_with("Bar "),
        "{thinking}"
    );
    let decision = first.until("decision").await;
    assert!(["buy", "sell", "hold"].contains(&decision["data"]["action"].as_str().unwrap()));
    let opened = first.until("position_opened").await;
    assert!(opened["data"]["qty"].as_f64().unwrap() >= 1.0);
    first.until("stats_update").await;
    first.until("countdown").await;

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

    // A second client opening the same session gets the same state: what the first
    // folded from its own snapshot and every message since, at the same seq — and the
    // two stay equal as the session goes on; polling agrees too.
    let mut second = Follower::new(connect(&running, "/api/ws/stream/session/paper-1").await).await;
    first.fold_to(second.seq).await;
    assert_eq!(
        first.state, second.state,
        "same state at seq {}",
        second.seq
    );
    assert!(!second.session().decisions.is_empty());
    let later = second.seq + 20;
    first.fold_to(later).await;
    second.fold_to(later).await;
    assert_eq!(first.state, second.state, "still the same at seq {later}");
    let state = get_json(&running, "/api/sessions/paper-1").await;
    let polled: Snapshot = serde_json::from_value(state["state"].clone()).unwrap();
    first.fold_to(polled.last_seq).await;
    assert_eq!(first.state, polled.data, "GET /api/sessions/{{id}} agrees");

    let (status, stopped) = stop(&running, "paper-1").await;
    assert_eq!(status, 200, "{stopped}");
    assert_eq!(stopped["running"], false);
    assert_eq!(
        stopped["state"]["data"]["open_positions"],
        json!([]),
        "stopping closes the position"
    );
    assert_eq!(stopped["state"]["data"]["completed"]["reason"], "stopped");
    first.until("session_completed").await;
    assert_eq!(
        get_json(&running, "/api/sessions").await[0]["running"],
        false
    );
    // Stopped, it is still there; deleted, it is gone.
    let (status, again) = stop(&running, "paper-1").await;
    assert_eq!((status, &again["running"]), (200, &json!(false)));
    let (status, deleted) = call(
        &running,
        reqwest::Method::DELETE,
        "/api/sessions/paper-1",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["state"]["data"]["completed"]["reason"], "stopped");
    let (status, gone) = call(
        &running,
        reqwest::Method::GET,
        "/api/sessions/paper-1",
        None,
        None,
    )
    .await;
    assert_eq!(status, 404, "{gone}");
    assert_eq!(get_json(&running, "/api/sessions").await, json!([]));
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_paused_session_decides_and_fills_nothing_until_resumed_and_cancel_ends_it() {
    let running = server(|a| a.symbols = vec!["BTC-USD".parse().unwrap()]).await;
    let (status, info) = post(
        &running,
        json!({"id": "paper-p", "symbol": "BTC-USD", "strategy": "sma_cross", "params": {"fast": 1, "slow": 2}}),
    )
    .await;
    assert_eq!(status, 201, "{info}");
    let mut session =
        Follower::new(connect(&running, "/api/ws/stream/session/paper-p?since=0&epoch=x").await)
            .await;
    session.until("decision").await;
    let mut control = connect(&running, "/api/ws").await;
    send_json(
        &mut control,
        json!({"action": "pause", "topic": "session:paper-p"}),
    )
    .await;
    session.until("paused").await;
    assert!(session.session().paused);
    // Two bars close while paused: each would have brought reasoning and a decision.
    let mut while_paused = vec![];
    let mut closed_bars = 0;
    while closed_bars < 2 {
        let m = session.next().await;
        closed_bars += usize::from(m["type"] == "candle");
        while_paused.push(m["type"].as_str().unwrap_or_default().to_owned());
    }
    assert!(
        while_paused
            .iter()
            .all(|t| t == "candle" || t == "countdown"),
        "only market candles and the countdown while paused: {while_paused:?}"
    );
    send_json(
        &mut control,
        json!({"action": "resume", "topic": "session:paper-p"}),
    )
    .await;
    session.until("resumed").await;
    assert!(!session.session().paused);
    session.until("decision").await;
    send_json(
        &mut control,
        json!({"action": "cancel", "topic": "session:paper-p"}),
    )
    .await;
    let completed = session.until("session_completed").await;
    assert_eq!(completed["data"]["reason"], "cancelled");
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_session_that_falls_behind_the_market_feed_resumes_instead_of_going_silent() {
    // A quiet feed and the smallest queues: the test's burst overflows the session's
    // queue, as a stalled session would on a busy feed.
    let running = server(|a| {
        a.symbols = vec!["BTC-USD".parse().unwrap()];
        a.tick_ms = 3_600_000;
        a.history = 4;
        a.outbox = 4;
    })
    .await;
    let (status, info) = post(
        &running,
        json!({"id": "paper-s", "symbol": "BTC-USD", "strategy": "buy_and_hold"}),
    )
    .await;
    assert_eq!(status, 201, "{info}");
    let session_topic = "session:paper-s".parse().unwrap();
    eventually("the session is initialized", || async {
        (running.hub.snapshot(&session_topic).await.unwrap().last_seq > 0).then_some(())
    })
    .await;

    let market = "market:BTC-USD".parse().unwrap();
    let symbol = protocol::Symbol::parse("BTC-USD").unwrap();
    // A burst the session cannot read in between (the test holds the runtime).
    for i in 0..50 {
        let tick = Tick {
            symbol: symbol.clone(),
            price: 60_000.0 + f64::from(i),
            change_pct: 0.0,
            volume: 1.0,
            source: DataSource::Synthetic,
            time: None,
        };
        running
            .hub
            .publish(&market, Message::Tick(tick))
            .await
            .unwrap();
    }
    // Then a print and a closed candle at a time, as a live feed sends them (a close with
    // no print since the last is the feed's past, which a session only remembers), until
    // the session forwards one: it must not have gone silent.
    let mut minute = 10_000_000i64;
    eventually("the session forwards closed candles again", || {
        minute += 1;
        let candle = Candle {
            symbol: symbol.clone(),
            interval: "1m".parse().unwrap(),
            open_time: Timestamp::from_unix_ms(minute * 60_000),
            open: 61_000.0,
            high: 61_500.0,
            low: 60_500.0,
            close: 61_234.0,
            volume: 3.0,
            closed: true,
            source: DataSource::Synthetic,
        };
        let (hub, market, session_topic) = (&running.hub, &market, &session_topic);
        let print = Tick {
            symbol: symbol.clone(),
            price: 61_234.0,
            change_pct: 0.0,
            volume: 1.0,
            source: DataSource::Synthetic,
            time: None,
        };
        async move {
            hub.publish(market, Message::Tick(print)).await.unwrap();
            hub.publish(market, Message::Candle(candle)).await.unwrap();
            let forwarded = match hub.snapshot(session_topic).await.unwrap().data {
                SnapshotData::Session(s) => s.candles.iter().any(|c| c.close == 61_234.0),
                _ => false,
            };
            forwarded.then_some(())
        }
    })
    .await;
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
            json!({"symbol": "BTC-USD", "strategy": "buy_and_hold", "commission": [1]}),
            "`commission` invalid type: sequence, expected f64",
        ),
        (
            json!({"symbol": "BTC-USD", "strategy": "buy_and_hold", "margin": 2}),
            "unknown field `margin`",
        ),
        (
            json!({"symbol": "BTC-USD", "strategy": "sma_cross", "params": {"fast": 10, "slow": 5000}}),
            "`params` need 5002 bars of history, more than the 1800 closes a session keeps",
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

/// A buy decision for session `id` is refused with 409 for the reason `expected`.
async fn assert_refused_now(running: &server::serve::Running, id: &str, expected: &str) {
    let path = format!("/api/sessions/{id}/decision");
    let (status, reply) = post_json(running, &path, &json!({"action": "buy"})).await;
    assert_eq!(status, 409, "{reply}");
    let error = reply["error"].as_str().unwrap();
    assert!(error.contains(expected), "{reply}");
}

#[tokio::test]
async fn an_outside_agent_thinks_and_decides_and_the_server_fills_its_decision() {
    let running = server(|a| a.symbols = vec!["BTC-USD".parse().unwrap()]).await;
    let (status, info) = post(
        &running,
        json!({"id": "agent-1", "symbol": "BTC-USD", "strategy": "external", "cash": 1_000_000.0}),
    )
    .await;
    assert_eq!(status, 201, "{info}");
    assert_eq!(info["strategy"], "external");
    let mut follower =
        Follower::new(connect(&running, "/api/ws/stream/session/agent-1?since=0&epoch=x").await)
            .await;
    let bar = follower.until("candle").await;
    assert_eq!(
        bar["data"]["closed"], true,
        "the agent is shown each closed bar"
    );

    let (status, taken) = post_json(
        &running,
        "/api/sessions/agent-1/thinking",
        &json!({"chunk": "Momentum is up."}),
    )
    .await;
    assert_eq!(status, 202, "{taken}");
    let (status, taken) = post_json(
        &running,
        "/api/sessions/agent-1/decision",
        &json!({"action": "buy", "reasoning": "Momentum is up: buy.", "confidence": 0.9}),
    )
    .await;
    assert_eq!(status, 202, "{taken}");
    let decided_bar = taken["bar_time"].clone();
    let thinking = follower.until("thinking").await;
    assert_eq!(thinking["data"]["chunk"], "Momentum is up.");
    // A bar the agent let pass before its decision arrived is a hold: find the buy.
    let decision = loop {
        let decision = follower.until("decision").await;
        if decision["data"]["action"] != "hold" {
            break decision;
        }
        assert_eq!(
            decision["data"]["reasoning"],
            server::session::paper::NO_DECISION
        );
    };
    assert_eq!(decision["data"]["action"], "buy", "{decision}");
    assert_eq!(decision["data"]["confidence"], 0.9);
    assert_eq!(decision["data"]["reasoning"], "Momentum is up: buy.");
    let opened = follower.until("position_opened").await;
    assert_eq!(opened["data"]["side"], "long");
    follower.until("stats_update").await;
    assert_eq!(follower.session().stats.as_ref().unwrap().trades, 0);
    assert_eq!(follower.session().open_positions.len(), 1);

    // One decision per bar: again on the same bar is refused; once the next bar has
    // closed, a decision is due again.
    let (status, reply) = post_json(
        &running,
        "/api/sessions/agent-1/decision",
        &json!({"action": "sell"}),
    )
    .await;
    if status == 409 {
        assert!(
            reply["error"]
                .as_str()
                .unwrap()
                .contains("decided on its last bar"),
            "{reply}"
        );
    } else {
        assert_eq!(status, 202, "{reply}");
        assert_ne!(reply["bar_time"], decided_bar, "only on a later bar");
    }

    // Bad bodies name the field; a built-in strategy's session takes no agent.
    assert_unprocessable(
        &running,
        "/api/sessions/agent-1/decision",
        &[
            (json!({"action": "panic"}), "unknown variant `panic`"),
            (
                json!({"action": "close"}),
                "`action` must be buy, sell or hold",
            ),
            (
                json!({"action": "buy", "confidence": 1.5}),
                "`confidence` must be between 0 and 1",
            ),
        ],
    )
    .await;
    assert_unprocessable(
        &running,
        "/api/sessions/agent-1/thinking",
        &[(json!({"chunk": " "}), "`chunk` must not be empty")],
    )
    .await;
    post(
        &running,
        json!({"id": "rules-1", "symbol": "BTC-USD", "strategy": "buy_and_hold"}),
    )
    .await;
    assert_refused_now(&running, "rules-1", "not by an outside agent").await;
    running.shutdown.cancel();
}

#[tokio::test]
async fn an_agent_cannot_decide_before_a_bar_has_closed() {
    let running = server(|a| {
        a.symbols = vec!["BTC-USD".parse().unwrap()];
        a.interval = "1h".parse().unwrap();
    })
    .await;
    let (status, _) = post(
        &running,
        json!({"id": "early", "symbol": "BTC-USD", "strategy": "external"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_refused_now(&running, "early", "no closed bar yet").await;
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_user_buys_and_closes_by_hand_and_the_stream_and_stats_show_it() {
    let running = server(|a| a.symbols = vec!["BTC-USD".parse().unwrap()]).await;
    let (status, info) = post(
        &running,
        json!({"id": "hand-1", "symbol": "BTC-USD", "strategy": "external", "cash": 1_000_000.0}),
    )
    .await;
    assert_eq!(status, 201, "{info}");
    let mut follower =
        Follower::new(connect(&running, "/api/ws/stream/session/hand-1?since=0&epoch=x").await)
            .await;
    let manual = |action: &'static str| {
        let running = &running;
        async move {
            post_json(
                running,
                "/api/sessions/hand-1/manual",
                &json!({ "action": action }),
            )
            .await
        }
    };
    let (status, reply) = manual("close").await;
    assert_eq!(status, 409, "{reply}");
    assert!(reply["error"]
        .as_str()
        .unwrap()
        .contains("has no open position to close"));

    // A buy by hand: a decision from `manual`, filled at the next print.
    let (status, placed) = manual("buy").await;
    assert_eq!(status, 202, "{placed}");
    assert_eq!(placed["action"], "buy");
    let decision = loop {
        let decision = follower.until("decision").await;
        if decision["data"]["source"] == "manual" {
            break decision;
        }
    };
    assert_eq!(decision["data"]["action"], "buy");
    assert!(decision["data"]["reasoning"]
        .as_str()
        .unwrap()
        .contains("by hand"));
    let opened = follower.until("position_opened").await;
    assert_eq!(opened["data"]["side"], "long");
    let (status, reply) = manual("buy").await;
    assert_eq!(status, 409, "{reply}");
    assert!(
        reply["error"].as_str().unwrap().contains("is long already"),
        "{reply}"
    );

    // Closed by hand: the exit says what it closed, and the stats count the trade.
    let (status, placed) = manual("close").await;
    assert_eq!(status, 202, "{placed}");
    let closed = follower.until("position_closed").await;
    assert_eq!(closed["data"]["reason"], "closed by hand");
    assert_eq!(closed["data"]["side"], "long");
    assert_eq!(closed["data"]["entry_price"], opened["data"]["entry_price"]);
    assert_eq!(closed["data"]["entry_time"], opened["data"]["time"]);
    follower.until("stats_update").await;
    assert_eq!(follower.session().stats.as_ref().unwrap().trades, 1);
    assert!(follower.session().open_positions.is_empty());
    let manual_decisions = follower
        .session()
        .decisions
        .iter()
        .filter(|d| d.source == Some(protocol::DecisionSource::Manual))
        .count();
    assert_eq!(manual_decisions, 2);

    assert_unprocessable(
        &running,
        "/api/sessions/hand-1/manual",
        &[
            (
                json!({"action": "hold"}),
                "`action` must be buy, sell or close",
            ),
            (json!({"action": "buy", "qty": 3}), "unknown field `qty`"),
        ],
    )
    .await;
    let (status, _) = post_json(
        &running,
        "/api/sessions/nope/manual",
        &json!({"action": "buy"}),
    )
    .await;
    assert_eq!(status, 404);
    running.shutdown.cancel();
}
