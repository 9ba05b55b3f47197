//! The store (docs/STORE.md): runs and sessions kept in SQLite or PostgreSQL, found
//! after a restart — SIGKILL or SIGTERM — exactly as they were; a run cut off mid-way
//! `interrupted`; a paper session trading on from where it stood; and the history API
//! (list, filter, pages, notes, delete, CSV) on both stores.

mod common;

use std::time::Duration;

use common::postgres::Postgres;
use common::process::{serve_process, terminate};
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::any::AnyPoolOptions;
use sqlx::Row;

/// A store file in a folder of its own, removed with it.
struct TempStore {
    dir: std::path::PathBuf,
}

impl TempStore {
    fn new(name: &str) -> TempStore {
        let dir =
            std::env::temp_dir().join(format!("tickwire-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempStore { dir }
    }

    fn url(&self) -> String {
        format!("sqlite://{}/tickwire.db", self.dir.display())
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `tickwire serve` process on the store at `url`, with a fast BTC-USD feed.
async fn serve(url: &str) -> (tokio::process::Child, String) {
    let (child, addr, mut log) = serve_process(
        None,
        &[
            "--database-url",
            url,
            "--tick-ms",
            "20",
            "--interval",
            "1s",
            "--symbols",
            "BTC-USD",
        ],
    )
    .await;
    // Drain the log so the process never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    (child, addr)
}

/// `method path` on the process at `addr`: the status and the body (JSON, or the text
/// as a JSON string).
async fn send(addr: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("http://{addr}{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get(addr: &str, path: &str) -> Value {
    let (status, body) = send(addr, Method::GET, path, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// The text and the `x-tickwire-record` header of a run's record.
async fn record(addr: &str, topic: &str) -> (String, String) {
    let response = reqwest::get(format!("http://{addr}/api/streams/{topic}/record"))
        .await
        .expect("the record");
    let completeness = response.headers()["x-tickwire-record"]
        .to_str()
        .unwrap()
        .to_owned();
    (response.text().await.unwrap(), completeness)
}

/// Waits until the store itself holds what `sql` (one row, one text or number column
/// `v`) says satisfies `ok`: what a SIGKILL cannot take back.
async fn stored(url: &str, sql: &str, ok: impl Fn(&str) -> bool) {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("the test reads the store");
    let (pool, ok) = (&pool, &ok);
    eventually(&format!("the store holds `{sql}`"), || async move {
        let row = sqlx::query(sql).fetch_optional(pool).await.ok()??;
        let value = row
            .try_get::<String, _>("v")
            .or_else(|_| row.try_get::<i64, _>("v").map(|n| n.to_string()))
            .ok()?;
        ok(&value).then_some(())
    })
    .await;
    pool.close().await;
}

/// Posts a decision to session `id` until one is taken (a bar it may decide on).
async fn decide(addr: &str, id: &str, action: &str) {
    let path = format!("/api/sessions/{id}/decision");
    let body = json!({"action": action, "reasoning": format!("test: {action}")});
    let (path, body) = (&path, &body);
    eventually(&format!("a `{action}` is taken"), || async move {
        let (status, _) = send(addr, Method::POST, path, Some(body.clone())).await;
        (status == 202).then_some(())
    })
    .await;
}

/// What a run or session shows before a crash, to compare with after.
struct Before {
    done: Value,
    done_record: (String, String),
    done_trades: Value,
    position_id: Value,
    cash: Value,
}

/// Starts a finished backtest, a long one and an agent's session holding a position,
/// and waits until the store holds them.
async fn run_and_trade(addr: &str, url: &str) -> Before {
    let start = json!({"id": "done", "dataset": "GOOG", "strategy": "sma_cross",
                       "params": {"fast": 10, "slow": 30}});
    assert_eq!(
        send(addr, Method::POST, "/api/backtests", Some(start))
            .await
            .0,
        201
    );
    let long = json!({"id": "cut", "dataset": "EURUSD", "strategy": "sma_cross",
                      "params": {"fast": 10, "slow": 30}, "pace": 100});
    assert_eq!(
        send(addr, Method::POST, "/api/backtests", Some(long))
            .await
            .0,
        201
    );
    let session = json!({"id": "agent", "symbol": "BTC-USD", "strategy": "external",
                         "cash": 1_000_000.0});
    assert_eq!(
        send(addr, Method::POST, "/api/sessions", Some(session))
            .await
            .0,
        201
    );
    decide(addr, "agent", "buy").await;
    let held = eventually("the session holds a position", || async {
        let s = get(addr, "/api/sessions/agent").await;
        let open = s["state"]["data"]["open_positions"]
            .as_array()?
            .first()?
            .clone();
        (s["state"]["data"]["stats"]["cash"].is_number()).then_some((s, open))
    })
    .await;
    stored(url, "SELECT status AS v FROM runs WHERE id = 'done'", |v| {
        v == "complete"
    })
    .await;
    stored(
        url,
        "SELECT COUNT(*) AS v FROM run_messages WHERE id = 'cut'",
        |v| v.parse::<u64>().unwrap_or(0) > 3,
    )
    .await;
    stored(
        url,
        "SELECT checkpoint AS v FROM runs WHERE id = 'agent'",
        |v| v.contains("\"position\":{"),
    )
    .await;
    let (session, open) = held;
    Before {
        done: get(addr, "/api/backtests/done").await,
        done_record: record(addr, "backtest:done").await,
        done_trades: get(addr, "/api/backtests/done/trades.csv").await,
        position_id: open["opened"]["position_id"].clone(),
        cash: session["state"]["data"]["stats"]["cash"].clone(),
    }
}

/// After a restart: the finished run as it was, the cut one `interrupted`, and the
/// session holding its position and trading on.
async fn found_again(addr: &str, before: &Before) {
    assert_eq!(
        get(addr, "/api/backtests/done").await,
        before.done,
        "the finished run opens as it was"
    );
    assert_eq!(
        record(addr, "backtest:done").await,
        before.done_record,
        "its record replays as it was"
    );
    assert_eq!(
        get(addr, "/api/backtests/done/trades.csv").await,
        before.done_trades
    );

    let listed = get(addr, "/api/backtests").await;
    let status = |id: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["backtest_id"] == id)
            .map(|r| r["status"].clone())
    };
    assert_eq!(status("done"), Some(json!("complete")), "{listed}");
    assert_eq!(status("cut"), Some(json!("interrupted")), "{listed}");
    let cut = get(addr, "/api/backtests/cut").await;
    assert_eq!(cut["state"]["data"]["status"], "interrupted", "{cut}");
    let (cut_record, _) = record(addr, "backtest:cut").await;
    let last = cut_record.lines().last().expect("a record");
    assert!(last.contains("\"type\":\"interrupted\""), "{last}");
    assert!(cut_record
        .lines()
        .next()
        .unwrap()
        .contains("\"type\":\"started\""));

    let session = get(addr, "/api/sessions/agent").await;
    assert_eq!(session["running"], true, "the session resumed: {session}");
    let data = &session["state"]["data"];
    assert_eq!(
        data["open_positions"][0]["opened"]["position_id"], before.position_id,
        "{data}"
    );
    assert_eq!(data["stats"]["cash"], before.cash, "its cash is as it was");
    decide(addr, "agent", "sell").await;
    eventually("the resumed session closes its position", || async {
        let s = get(addr, "/api/sessions/agent").await;
        let closed = s["state"]["data"]["closed_positions"]
            .as_array()?
            .first()?
            .clone();
        (closed["position_id"] == before.position_id).then_some(())
    })
    .await;
}

async fn killed_and_found(url: &str) {
    let (mut first, addr) = serve(url).await;
    let before = run_and_trade(&addr, url).await;
    first.kill().await.expect("SIGKILL");
    let (_second, addr) = serve(url).await;
    found_again(&addr, &before).await;
}

#[tokio::test]
async fn runs_and_a_session_killed_with_sigkill_are_found_after_a_restart_on_sqlite() {
    let store = TempStore::new("sigkill");
    killed_and_found(&store.url()).await;
}

#[tokio::test]
async fn runs_and_a_session_killed_with_sigkill_are_found_after_a_restart_on_postgres() {
    let postgres = Postgres::start().await;
    let url = postgres.database("sigkill").await;
    killed_and_found(&url).await;
}

#[tokio::test]
async fn a_sigterm_ends_a_backtest_interrupted_and_the_session_resumes() {
    let store = TempStore::new("sigterm");
    let url = store.url();
    let (first, addr) = serve(&url).await;
    let before = run_and_trade(&addr, &url).await;
    terminate(&first).await;
    let mut first = first;
    let exited = tokio::time::timeout(Duration::from_secs(10), first.wait()).await;
    assert!(exited.is_ok(), "the server exits on SIGTERM");
    let (_second, addr) = serve(&url).await;
    let cut = get(&addr, "/api/backtests/cut").await;
    assert_eq!(cut["status"], "interrupted", "{cut}");
    assert!(cut["finished"].is_string(), "{cut}");
    found_again(&addr, &before).await;
}

/// Starts backtest `id` on GOOG as `caller` (a token, or none) and waits for its end.
async fn finished(running: &server::serve::Running, id: &str, strategy: &str, token: Option<&str>) {
    let body = json!({"id": id, "dataset": "GOOG", "strategy": strategy,
                      "params": if strategy == "sma_cross" { json!({"fast": 5, "slow": 20}) } else { json!({}) }});
    let (status, reply) = call(running, Method::POST, "/api/backtests", token, Some(body)).await;
    assert_eq!(status, 201, "{reply}");
    let path = format!("/api/backtests/{id}");
    let path = &path;
    eventually(&format!("{id} completes"), || async move {
        let state = call(running, Method::GET, path, token, None).await.1;
        (state["status"] == "complete").then_some(())
    })
    .await;
}

fn ids(listed: &Value) -> Vec<&str> {
    listed
        .as_array()
        .unwrap_or_else(|| panic!("a list: {listed}"))
        .iter()
        .map(|r| r["backtest_id"].as_str().unwrap())
        .collect()
}

async fn history_api(url: String) {
    let running = server(|a| {
        a.data_dir = Some(data_dir());
        a.database_url = url;
        a.symbols.clear();
    })
    .await;
    for (id, strategy) in [
        ("a", "sma_cross"),
        ("b", "buy_and_hold"),
        ("c", "sma_cross"),
    ] {
        finished(&running, id, strategy, None).await;
    }
    let list = |query: &str| {
        let path = format!("/api/backtests{query}");
        let running = &running;
        async move { call(running, Method::GET, &path, None, None).await }
    };
    assert_eq!(ids(&list("").await.1), ["c", "b", "a"], "newest first");
    assert_eq!(ids(&list("?strategy=sma_cross").await.1), ["c", "a"]);
    assert_eq!(
        ids(&list("?status=complete&symbol=GOOG").await.1),
        ["c", "b", "a"]
    );
    assert_eq!(
        ids(&list("?status=interrupted").await.1),
        Vec::<&str>::new()
    );
    assert_eq!(ids(&list("?limit=2").await.1), ["c", "b"], "a page");
    assert_eq!(
        ids(&list("?limit=2&before=b").await.1),
        ["a"],
        "the next page"
    );
    let (status, reply) = list("?status=lost").await;
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["error"].as_str().unwrap().contains("`status`"),
        "{reply}"
    );
    assert_eq!(list("?limit=0").await.0, 422);
    let (status, reply) = list("?before=nobody").await;
    assert_eq!(
        (status, reply["details"]["field"].clone()),
        (422, json!("before")),
        "{reply}"
    );

    let patch =
        json!({"title": "Fast cross", "notes": "Try slow 30 next.", "tags": ["sma", "goog"]});
    let (status, annotated) = call(
        &running,
        Method::PATCH,
        "/api/backtests/a",
        None,
        Some(patch),
    )
    .await;
    assert_eq!(status, 200, "{annotated}");
    assert_eq!(annotated["title"], "Fast cross");
    let listed = list("").await.1;
    let a = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["backtest_id"] == "a")
        .unwrap();
    assert_eq!(a["notes"], "Try slow 30 next.");
    assert_eq!(a["tags"], json!(["sma", "goog"]));
    let (status, kept) = call(
        &running,
        Method::PATCH,
        "/api/backtests/a",
        None,
        Some(json!({"tags": []})),
    )
    .await;
    assert_eq!(
        (status, kept["title"].clone(), kept["tags"].clone()),
        (200, json!("Fast cross"), json!([])),
        "{kept}"
    );
    let long = json!({"title": "x".repeat(201)});
    let (status, reply) = call(
        &running,
        Method::PATCH,
        "/api/backtests/a",
        None,
        Some(long),
    )
    .await;
    assert_eq!(
        (status, reply["details"]["field"].clone()),
        (422, json!("title")),
        "{reply}"
    );
    let (status, _) = call(
        &running,
        Method::PATCH,
        "/api/backtests/zz",
        None,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 404);

    let trades = reqwest::get(http(&running, "/api/backtests/a/trades.csv"))
        .await
        .unwrap();
    assert_eq!(trades.headers()["content-type"], "text/csv; charset=utf-8");
    let trades = trades.text().await.unwrap();
    let header = trades.lines().next().unwrap();
    assert_eq!(
        header,
        "id,time,side,action,price,size,pnl,return_pct,reason"
    );
    let state = get_json(&running, "/api/backtests/a").await;
    let entries = trades
        .lines()
        .skip(1)
        .filter(|l| l.contains(",entry,"))
        .count();
    assert!(entries > 0, "{trades}");
    assert_eq!(
        trades.lines().count() - 1,
        state["state"]["data"]["trades"].as_array().unwrap().len(),
        "every trade, one row each"
    );
    let equity = reqwest::get(http(&running, "/api/backtests/a/equity.csv"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(equity.lines().next(), Some("time,equity,drawdown_pct"));
    assert!(equity.lines().count() > 100, "the whole curve");
    assert_eq!(
        call(
            &running,
            Method::GET,
            "/api/backtests/a/pnl.csv",
            None,
            None
        )
        .await
        .0,
        405
    );

    let (status, gone) = call(&running, Method::DELETE, "/api/backtests/b", None, None).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["backtest_id"], "b");
    assert_eq!(
        call(&running, Method::GET, "/api/backtests/b", None, None)
            .await
            .0,
        404
    );
    assert_eq!(ids(&list("").await.1), ["c", "a"]);
    assert_eq!(
        call(&running, Method::DELETE, "/api/backtests/b", None, None)
            .await
            .0,
        404
    );
    let paused =
        json!({"id": "live", "dataset": "GOOG", "strategy": "buy_and_hold", "paused": true});
    assert_eq!(post_json(&running, "/api/backtests", &paused).await.0, 201);
    let (status, reply) = call(&running, Method::DELETE, "/api/backtests/live", None, None).await;
    assert_eq!(status, 409, "a running run is not deleted: {reply}");
    assert_eq!(ids(&list("?status=paused").await.1), ["live"]);
}

#[tokio::test]
async fn the_history_lists_filters_pages_annotates_exports_and_deletes_on_sqlite() {
    let store = TempStore::new("history");
    history_api(store.url()).await;
}

#[tokio::test]
async fn the_history_lists_filters_pages_annotates_exports_and_deletes_on_postgres() {
    let postgres = Postgres::start().await;
    history_api(postgres.database("history").await).await;
}

#[tokio::test]
async fn without_a_store_the_listing_pages_what_memory_holds() {
    let running = server(|a| {
        a.data_dir = Some(data_dir());
        a.symbols.clear();
    })
    .await;
    for id in ["m1", "m2"] {
        finished(&running, id, "buy_and_hold", None).await;
    }
    let listed = get_json(&running, "/api/backtests?limit=1").await;
    assert_eq!(ids(&listed), ["m2"]);
    assert_eq!(
        ids(&get_json(&running, "/api/backtests?before=m2").await),
        ["m1"]
    );
    let (status, _) = call(&running, Method::DELETE, "/api/backtests/m1", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        call(&running, Method::GET, "/api/backtests/m1", None, None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn a_users_history_is_theirs_alone() {
    const SECRET: &str = "store-secret-of-at-least-thirty-two-bytes";
    let store = TempStore::new("owners");
    let running = server(|a| {
        a.data_dir = Some(data_dir());
        a.database_url = store.url();
        a.jwt_secret = Some(SECRET.into());
        a.symbols.clear();
    })
    .await;
    let keys = server::auth::TokenKeys::hs256(SECRET).unwrap();
    let token = |sub: &str, admin: bool| {
        keys.issue(&server::auth::Claims {
            sub: sub.into(),
            exp: server::auth::now_secs() + 3600,
            topics: None,
            publish: Vec::new(),
            admin,
        })
        .unwrap()
    };
    let (alice, bob, admin) = (
        token("alice", false),
        token("bob", false),
        token("root", true),
    );
    finished(&running, "alices", "buy_and_hold", Some(&alice)).await;
    finished(&running, "bobs", "buy_and_hold", Some(&bob)).await;
    let listed = |token: String| {
        let running = &running;
        async move {
            call(running, Method::GET, "/api/backtests", Some(&token), None)
                .await
                .1
        }
    };
    assert_eq!(ids(&listed(alice.clone()).await), ["alices"]);
    assert_eq!(ids(&listed(bob.clone()).await), ["bobs"]);
    assert_eq!(ids(&listed(admin.clone()).await), ["bobs", "alices"]);
    let patch = Some(json!({"title": "mine now"}));
    for (method, path, body) in [
        (Method::PATCH, "/api/backtests/alices", patch),
        (Method::DELETE, "/api/backtests/alices", None),
        (Method::GET, "/api/backtests/alices/trades.csv", None),
    ] {
        let (status, reply) = call(&running, method.clone(), path, Some(&bob), body).await;
        assert_eq!(status, 403, "{method} {path}: {reply}");
    }
    assert_eq!(
        call(
            &running,
            Method::DELETE,
            "/api/backtests/alices",
            Some(&admin),
            None
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn a_cluster_on_sqlite_is_refused_at_start() {
    let store = TempStore::new("cluster-sqlite");
    let mut args = server::config::ServeArgs::defaults();
    args.addr = "127.0.0.1:0".parse().unwrap();
    args.symbols.clear();
    args.database_url = store.url();
    args.redis_url = Some("redis://127.0.0.1:1".into());
    let error = server::serve::start(args)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        error.contains("--redis-url with an SQLite store"),
        "{error}"
    );
    let mut args = server::config::ServeArgs::defaults();
    args.database_url = "mysql://nowhere".into();
    args.symbols.clear();
    let error = format!(
        "{:#}",
        server::serve::start(args).await.err().expect("refused")
    );
    assert!(error.contains("--database-url"), "{error}");
}

#[tokio::test]
async fn the_store_forgets_the_oldest_finished_runs_past_its_bounds() {
    use server::store::{Keep, NewRun, Store};
    let store_dir = TempStore::new("prune");
    let store = Store::open(&store_dir.url())
        .await
        .unwrap()
        .expect("a store");
    let day_ms = 24 * 3_600_000_i64;
    for (i, id) in ["old", "mid", "new", "running"].into_iter().enumerate() {
        let run = NewRun {
            kind: "backtest",
            id,
            owner: None,
            instance: "",
            strategy: "buy_and_hold",
            symbol: "GOOG",
            created_ms: i as i64 * day_ms,
            info: "{}".into(),
            request: "x".repeat(1_000),
        };
        store
            .insert(run, protocol::RunStatus::Running)
            .await
            .unwrap();
        if id != "running" {
            let ended = server::store::Ended {
                status: protocol::RunStatus::Complete,
                finished_ms: Some(i as i64 * day_ms),
                final_equity: None,
                record_cut: false,
                info: "{}".into(),
            };
            store.end("backtest", id, ended);
        }
    }
    store.flush().await;
    let kept = |store: Store| async move {
        let mut ids: Vec<String> = Vec::new();
        for id in ["old", "mid", "new", "running"] {
            if store.get("backtest", id).await.unwrap().is_some() {
                ids.push(id.to_owned());
            }
        }
        ids
    };
    // Day 3: runs that finished more than two days ago go.
    let pruned = store
        .prune(
            Keep {
                days: 2,
                bytes: u64::MAX,
            },
            3 * day_ms,
        )
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert_eq!(kept(store.clone()).await, ["mid", "new", "running"]);
    // Room for two runs: the oldest finished goes, the running one never does.
    let pruned = store
        .prune(
            Keep {
                days: 365,
                bytes: 2_100,
            },
            3 * day_ms,
        )
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert_eq!(kept(store.clone()).await, ["new", "running"]);
    let pruned = store
        .prune(
            Keep {
                days: 365,
                bytes: 1,
            },
            3 * day_ms,
        )
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert_eq!(kept(store).await, ["running"]);
}

#[tokio::test]
async fn two_instances_on_redis_and_postgres_list_open_replay_and_annotate_one_history() {
    use common::redis::{Persistence, Redis};
    let redis = Redis::start(Persistence::None).await;
    let postgres = Postgres::start().await;
    let url = postgres.database("cluster").await;
    let instance = |retain: Duration| {
        let (redis_url, url) = (redis.url(), url.clone());
        server(move |a| {
            a.data_dir = Some(data_dir());
            a.redis_url = Some(redis_url);
            a.database_url = url;
            a.lease_secs = 2;
            a.symbols.clear();
            a.retain_runs = retain;
        })
    };
    // On `a` a finished run leaves memory and Redis at once: any instance then serves
    // it from the store (`b` brings its topic back into Redis, and keeps it an hour).
    let (a, b) = (
        instance(Duration::ZERO).await,
        instance(Duration::from_secs(3600)).await,
    );
    finished(&a, "on-a", "sma_cross", None).await;
    finished(&b, "on-b", "buy_and_hold", None).await;
    for running in [&a, &b] {
        let listed = get_json(running, "/api/backtests").await;
        assert_eq!(
            ids(&listed),
            ["on-b", "on-a"],
            "one history on every instance"
        );
    }
    let elsewhere = get_json(&b, "/api/backtests/on-a").await;
    assert_eq!(elsewhere["status"], "complete", "{elsewhere}");
    assert_eq!(
        elsewhere["state"]["data"]["status"], "complete",
        "{elsewhere}"
    );
    let record = reqwest::get(http(&b, "/api/streams/backtest:on-a/record"))
        .await
        .unwrap();
    assert_eq!(record.headers()["x-tickwire-record"], "complete");
    let record = record.text().await.unwrap();
    let first = record.lines().next().unwrap();
    assert!(first.contains("\"type\":\"started\""), "{record}");
    assert!(record
        .lines()
        .last()
        .unwrap()
        .contains("\"type\":\"complete\""));
    let mut socket = connect(&b, "/api/ws").await;
    subscribe(&mut socket, "backtest:on-a", None).await;
    let snapshot = next_of_type(&mut socket, "snapshot").await;
    assert_eq!(snapshot["data"]["status"], "complete", "{snapshot}");
    assert!(snapshot["last_seq"].as_u64().unwrap_or(0) > 3, "{snapshot}");
    let patch = Some(json!({"title": "ran on a", "tags": ["cluster"]}));
    let (status, reply) = call(&b, Method::PATCH, "/api/backtests/on-a", None, patch).await;
    assert_eq!(status, 200, "{reply}");
    let listed = get_json(&a, "/api/backtests?strategy=sma_cross").await;
    assert_eq!(listed[0]["title"], "ran on a", "{listed}");
    assert_eq!(listed[0]["tags"], json!(["cluster"]));
}

#[tokio::test]
async fn a_finished_sweep_and_its_results_are_found_after_a_restart() {
    let store = TempStore::new("sweep");
    let url = store.url();
    let (first, addr) = serve(&url).await;
    let body = json!({"id": "kept-sweep", "dataset": "GOOG", "strategy": "sma_cross",
                      "grid": {"fast": [5, 10, 30], "slow": [20, 30]}, "top_n": 2});
    let (status, created) = send(&addr, Method::POST, "/api/sweeps", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let sql = "SELECT status AS v FROM runs WHERE kind = 'sweep' AND id = 'kept-sweep'";
    stored(&url, sql, |status| status == "complete").await;
    let before = get(&addr, "/api/sweeps/kept-sweep/results").await;
    assert_eq!(
        before["results"].as_array().map(Vec::len),
        Some(6),
        "{before}"
    );
    let top = get(&addr, "/api/sweeps/kept-sweep").await["state"]["data"]["top"].clone();
    terminate(&first).await;
    let mut first = first;
    let exited = tokio::time::timeout(Duration::from_secs(10), first.wait()).await;
    assert!(exited.is_ok(), "the server exits on SIGTERM");

    // Another process on the same store: the sweep, its best and every result, read
    // back from what the store kept.
    let (_second, addr) = serve(&url).await;
    let sweep = get(&addr, "/api/sweeps/kept-sweep").await;
    assert_eq!(sweep["status"], "complete", "{sweep}");
    assert_eq!(sweep["state"]["data"]["top"], top);
    let after = get(&addr, "/api/sweeps/kept-sweep/results").await;
    assert_eq!(after["results"], before["results"]);
    let listed = get(&addr, "/api/sweeps").await;
    assert_eq!(listed[0]["sweep_id"], "kept-sweep", "{listed}");
}

#[tokio::test]
async fn a_users_webhooks_are_kept_in_the_store_across_a_restart() {
    let store = TempStore::new("webhooks");
    let on_store = |a: &mut server::config::ServeArgs| {
        a.database_url = store.url();
        a.symbols.clear();
        a.webhooks_allow_private = true;
    };
    let first = server(on_store).await;
    let hook = json!({"url": "http://127.0.0.1:9/hook", "events": ["run_failed", "fill"],
                      "secret": "a-receivers-secret-of-some-length", "format": "discord"});
    let (status, added) = post_json(&first, "/api/webhooks", &hook).await;
    assert_eq!(status, 201, "{added}");
    first.shutdown.cancel();

    let second = server(on_store).await;
    let listed = get_json(&second, "/api/webhooks").await;
    assert_eq!(
        listed["webhooks"],
        json!([added]),
        "the same webhook after a restart"
    );
    let id = added["id"].as_str().unwrap();
    let (status, _) = call(
        &second,
        Method::DELETE,
        &format!("/api/webhooks/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        get_json(&second, "/api/webhooks").await["webhooks"],
        json!([])
    );
    second.shutdown.cancel();
}
