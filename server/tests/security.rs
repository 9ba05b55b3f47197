//! Attacks from outside (SPEC section 12): each is refused before anything happens, and
//! nothing changes for anyone else.

mod common;

use common::*;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{connect_async, tungstenite};

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
        connect_async(request)
    };
    match upgrade("https://evil.example").await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!(
            "a cross-site upgrade must be refused, got {:?}",
            other.map(|_| ())
        ),
    }
    assert!(upgrade(&own).await.is_ok(), "the dashboard's own socket");
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
