//! `POST /api/sweeps` (docs/SPEC.md section 10, "Sweeps"): a grid streamed to `sweep:{ID}`
//! to completion, each result equal to the single backtest of its parameters on the
//! three shipped datasets; the limits; pause, resume and cancel; and in token mode,
//! another user's sweep refused.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{json, Value};
use server::auth::{now_secs, Claims, TokenKeys};

async fn sweep_server(
    tweak: impl FnOnce(&mut server::config::ServeArgs),
) -> server::serve::Running {
    server(|a| {
        a.symbols.clear();
        a.data_dir = Some(data_dir());
        tweak(a);
    })
    .await
}

async fn control(running: &server::serve::Running, id: &str, action: &str) -> u16 {
    let path = format!("/api/sweeps/{id}/{action}");
    call(running, reqwest::Method::POST, &path, None, None)
        .await
        .0
}

/// The single backtest of `params` on `dataset`, run to its end: its metrics.
async fn single(running: &server::serve::Running, dataset: &str, params: &Value) -> Value {
    let (status, created) = post_json(
        running,
        "/api/backtests",
        &json!({"dataset": dataset, "strategy": "sma_cross", "params": params}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["backtest_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    eventually("the single backtest completes", || {
        let id = id.clone();
        async move {
            let state = get_json(running, &format!("/api/backtests/{id}")).await;
            let complete = &state["state"]["data"]["complete"];
            (!complete.is_null()).then(|| complete["metrics"].clone())
        }
    })
    .await
}

#[tokio::test]
async fn a_grid_streams_every_result_to_completion_each_equal_to_its_single_backtest() {
    let running = sweep_server(|_| {}).await;
    for dataset in ["GOOG", "BTCUSD", "EURUSD"] {
        let id = format!("grid-{}", dataset.to_lowercase());
        let mut socket = connect(&running, &format!("/api/ws/stream/sweep/{id}")).await;
        next_of_type(&mut socket, "snapshot").await;
        let (status, created) = post_json(
            &running,
            "/api/sweeps",
            &json!({"id": id, "dataset": dataset, "strategy": "sma_cross", "paused": true,
                    "grid": {"fast": [5, 10, 30], "slow": {"from": 20, "to": 40, "step": 10}},
                    "objective": "sharpe", "top_n": 3}),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["combos"], 9);
        assert_eq!(created["topic"], format!("sweep:{id}"));
        let before = messages_until(&mut socket, "paused").await;
        assert_eq!(before[0]["type"], "sweep_started");
        let started = &before[0]["data"];
        assert_eq!(started["axes"][0]["param"], "fast");
        assert_eq!(started["axes"][1]["values"], json!([20.0, 30.0, 40.0]));
        assert_eq!(control(&running, &id, "resume").await, 202);

        let streamed = messages_until(&mut socket, "sweep_complete").await;
        assert_contiguous(&seqs(&streamed));
        let mut indices = BTreeSet::new();
        for message in streamed.iter().filter(|m| m["type"] == "sweep_result") {
            for entry in message["data"]["results"].as_array().into_iter().flatten() {
                assert!(
                    indices.insert(entry["index"].as_u64()),
                    "each once: {entry}"
                );
            }
        }
        assert_eq!(indices.len(), 9, "every combination landed");
        let complete = &streamed
            .last()
            .map(|m| m["data"].clone())
            .unwrap_or_default();
        assert_eq!(complete["done"], 9);
        // fast 30 is not below slow 20 or 30: the strategy refuses those two.
        assert_eq!(complete["skipped"], 2);
        let top = complete["top"].as_array().cloned().unwrap_or_default();
        assert_eq!(top.len(), 3);
        let values: Vec<f64> = top.iter().filter_map(|e| e["value"].as_f64()).collect();
        assert!(
            values.windows(2).all(|w| w[0] >= w[1]),
            "best first: {values:?}"
        );
        let progress = streamed
            .iter()
            .rev()
            .find(|m| m["type"] == "sweep_progress");
        assert_eq!(
            progress.map(|p| p["data"]["pct"].clone()),
            Some(json!(100.0))
        );

        // The late joiner's snapshot holds the whole heatmap and the same best.
        let state = get_json(&running, &format!("/api/sweeps/{id}")).await;
        assert_eq!(state["state"]["data"]["status"], "complete", "{state}");
        assert_eq!(
            state["state"]["data"]["values"].as_array().map(Vec::len),
            Some(9)
        );
        assert_eq!(state["state"]["data"]["top"], json!(top));

        let page = get_json(&running, &format!("/api/sweeps/{id}/results")).await;
        let results = page["results"].as_array().cloned().unwrap_or_default();
        assert_eq!(results.len(), 9);
        for entry in &results {
            if !entry["skipped"].is_null() {
                assert!(entry["skipped"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("less than `slow`"));
                continue;
            }
            let metrics = single(&running, dataset, &entry["params"]).await;
            assert_eq!(entry["metrics"], metrics, "{dataset} {}", entry["params"]);
        }
    }
    running.shutdown.cancel();
}

#[tokio::test]
async fn bad_grids_and_full_servers_are_refused_naming_the_limit() {
    let running = sweep_server(|a| {
        a.max_sweep_combos = 20;
        a.max_sweeps = 1;
    })
    .await;
    let with = |grid: Value, extra: Value| {
        let mut body = json!({"dataset": "GOOG", "strategy": "sma_cross", "grid": grid});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    };
    let fast = json!({"fast": [5, 10]});
    assert_unprocessable(
        &running,
        "/api/sweeps",
        &[
            (
                with(json!({"fast": {"from": 1, "to": 21, "step": 1}}), json!({})),
                "--max-sweep-combos allows 20",
            ),
            (
                with(json!({"period": [5]}), json!({})),
                "no parameter `period`",
            ),
            (
                with(json!({"fast": []}), json!({})),
                "grid.fast: lists no value",
            ),
            (
                with(json!({"fast": {"from": 1, "to": 5, "step": 0}}), json!({})),
                "`step` must be above 0",
            ),
            (with(json!({}), json!({})), "names no parameter"),
            (
                with(fast.clone(), json!({"strategy": "nope"})),
                "unknown strategy `nope`",
            ),
            (with(fast.clone(), json!({"top_n": 0})), "top_n"),
            (with(fast.clone(), json!({"top_n": 101})), "top_n"),
            (with(fast.clone(), json!({"objective": "luck"})), "luck"),
            (
                with(fast.clone(), json!({"dataset": "NOPE"})),
                "no dataset `NOPE`",
            ),
        ],
    )
    .await;
    let (status, _) = post_json(
        &running,
        "/api/sweeps",
        &with(fast.clone(), json!({"paused": true})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, refused) = post_json(&running, "/api/sweeps", &with(fast, json!({}))).await;
    assert_eq!(status, 429, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or_default()
            .contains("1 sweeps are running"),
        "{refused}"
    );
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_sweep_pauses_resumes_and_is_cancelled_where_it_stood() {
    let running = sweep_server(|_| {}).await;
    let id = "ctl-sweep";
    let mut socket = connect(&running, &format!("/api/ws/stream/sweep/{id}")).await;
    next_of_type(&mut socket, "snapshot").await;
    // Enough combinations that a cancel lands before the last.
    let (status, created) = post_json(
        &running,
        "/api/sweeps",
        &json!({"id": id, "dataset": "EURUSD", "strategy": "rsi_reversion", "paused": true,
                "grid": {"period": {"from": 2, "to": 60, "step": 1},
                         "lower": {"from": 10, "to": 40, "step": 1},
                         "upper": {"from": 60, "to": 90, "step": 1}}}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let combos = created["combos"].as_u64().unwrap_or_default();
    assert_eq!(combos, 59 * 31 * 31);
    messages_until(&mut socket, "paused").await;
    assert_eq!(control(&running, id, "resume").await, 202);
    messages_until(&mut socket, "sweep_result").await;
    assert_eq!(control(&running, id, "cancel").await, 202);
    let end = messages_until(&mut socket, "cancelled").await;
    let reason = end
        .last()
        .map(|m| m["data"]["reason"].clone())
        .unwrap_or_default();
    assert!(
        reason
            .as_str()
            .unwrap_or_default()
            .starts_with("cancelled after"),
        "{reason}"
    );
    assert_eq!(
        control(&running, id, "resume").await,
        409,
        "a finished sweep"
    );
    let state = get_json(&running, &format!("/api/sweeps/{id}")).await;
    assert_eq!(state["state"]["data"]["status"], "cancelled");
    let done = state["state"]["data"]["done"].as_u64().unwrap_or_default();
    assert!(
        done > 0 && done < combos,
        "stopped where it stood: {done} of {combos}"
    );
    let page = get_json(&running, &format!("/api/sweeps/{id}/results?limit=100000")).await;
    assert_eq!(
        page["done"].as_u64(),
        Some(done),
        "every landed result is kept"
    );
    assert_eq!(control(&running, id, "rewind").await, 404);
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_sweep_is_listed_annotated_and_forgotten_once_it_has_ended() {
    let running = sweep_server(|_| {}).await;
    let path = "/api/sweeps/kept-sweep";
    let (status, _) = post_json(
        &running,
        "/api/sweeps",
        &json!({"id": "kept-sweep", "dataset": "GOOG", "strategy": "sma_cross", "paused": true,
                "grid": {"fast": [5, 10], "slow": [20, 40]}}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        call(&running, reqwest::Method::DELETE, path, None, None)
            .await
            .0,
        409,
        "a paused sweep is not forgotten"
    );
    assert_eq!(control(&running, "kept-sweep", "resume").await, 202);
    eventually("the sweep completes", || async {
        let state = get_json(&running, path).await;
        (state["state"]["data"]["status"] == "complete").then_some(())
    })
    .await;

    let listed = get_json(&running, "/api/sweeps").await;
    assert_eq!(listed[0]["sweep_id"], "kept-sweep");
    assert_eq!(
        listed[0]["dataset"], "GOOG",
        "what a cell's backtest runs on"
    );
    let patch = json!({"title": "fast vs slow", "tags": ["goog"]});
    let (status, annotated) = call(&running, reqwest::Method::PATCH, path, None, Some(patch)).await;
    assert_eq!(status, 200, "{annotated}");
    assert_eq!(annotated["title"], "fast vs slow");
    assert_eq!(get_json(&running, path).await["tags"], json!(["goog"]));

    let (status, was) = call(&running, reqwest::Method::DELETE, path, None, None).await;
    assert_eq!(status, 200, "{was}");
    assert_eq!(was["state"]["data"]["done"], 4);
    assert_eq!(
        call(&running, reqwest::Method::GET, path, None, None)
            .await
            .0,
        404
    );
    assert_eq!(get_json(&running, "/api/sweeps").await, json!([]));
    running.shutdown.cancel();
}

#[tokio::test]
async fn another_users_sweep_is_refused_over_rest_and_the_socket() {
    const SECRET: &str = "test-secret-of-at-least-thirty-two-bytes";
    let running = sweep_server(|a| a.jwt_secret = Some(SECRET.into())).await;
    let token = |sub: &str| {
        let claims = Claims {
            sub: sub.into(),
            exp: now_secs() + 3600,
            topics: None,
            publish: Vec::new(),
            admin: false,
        };
        let keys = TokenKeys::hs256(SECRET).expect("a long enough secret");
        keys.issue(&claims).expect("a token")
    };
    let (alice, bob) = (token("alice"), token("bob"));
    let body = json!({"id": "alices", "dataset": "GOOG", "strategy": "sma_cross",
                      "grid": {"fast": [5, 10]}, "paused": true});
    let (status, _) = call(
        &running,
        reqwest::Method::POST,
        "/api/sweeps",
        Some(&alice),
        Some(body),
    )
    .await;
    assert_eq!(status, 201);
    let get = reqwest::Method::GET;
    let path = "/api/sweeps/alices";
    assert_eq!(
        call(&running, get.clone(), path, Some(&alice), None)
            .await
            .0,
        200
    );
    assert_eq!(call(&running, get, path, Some(&bob), None).await.0, 403);
    let results = call(
        &running,
        reqwest::Method::GET,
        "/api/sweeps/alices/results",
        Some(&bob),
        None,
    )
    .await;
    assert_eq!(results.0, 403);
    let cancel = call(
        &running,
        reqwest::Method::POST,
        "/api/sweeps/alices/cancel",
        Some(&bob),
        None,
    )
    .await;
    assert_eq!(cancel.0, 403);
    let listed = call(
        &running,
        reqwest::Method::GET,
        "/api/sweeps",
        Some(&bob),
        None,
    )
    .await;
    assert_eq!(listed.1, json!([]), "bob lists none of alice's");

    let mut socket = connect(&running, "/api/ws").await;
    send_json(&mut socket, json!({"action": "auth", "token": bob})).await;
    send_json(
        &mut socket,
        json!({"action": "subscribe", "topic": "sweep:alices"}),
    )
    .await;
    let refused = next_of_type(&mut socket, "error").await;
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or_default()
            .contains("another user"),
        "{refused}"
    );
    running.shutdown.cancel();
}
