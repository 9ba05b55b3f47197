//! Connections cannot be hoarded (docs/SPEC.md section 12): every TCP connection takes a
//! place, slow ones are timed out, and while places are scarce the one that has waited
//! longest gives way, so health, the dashboard and open sockets keep working.

mod common;

use common::process::*;
use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A connection that sent one byte of a request and nothing more.
async fn one_byte(addr: &str) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream.write_all(b"G").await.ok()?;
    Some(stream)
}

/// Waits until the server closes `stream` (EOF or a reset), failing after the frame
/// timeout; whatever it said first is returned.
async fn closed_by_server(stream: &mut TcpStream) -> String {
    let mut said = Vec::new();
    let read = tokio::time::timeout(FRAME_TIMEOUT, stream.read_to_end(&mut said)).await;
    assert!(
        read.is_ok(),
        "the server keeps a connection it should close"
    );
    String::from_utf8_lossy(&said).into_owned()
}

#[tokio::test]
async fn twice_the_cap_in_one_byte_connections_leave_health_the_dashboard_and_sockets_working() {
    // 256 open files: 128 kept for the server itself, so 128 connections at most.
    let (_child, addr, _log) = tickwire_process_with(Some(256), &[]).await;
    let mut socket = connect_async(format!("ws://{addr}/api/ws"))
        .await
        .unwrap()
        .0;
    assert_eq!(next_json(&mut socket).await["type"], "connected");
    let mut slow = Vec::new();
    for _ in 0..256 {
        slow.push(
            one_byte(&addr)
                .await
                .expect("the kernel takes the connection"),
        );
    }
    // The socket opened before the flood was never the one to give way.
    send_json(
        &mut socket,
        serde_json::json!({"action": "ping", "id": 1, "t": 1.0}),
    )
    .await;
    assert_eq!(next_of_type(&mut socket, "pong").await["id"], 1);
    let client = reqwest::Client::builder()
        .timeout(FRAME_TIMEOUT)
        .build()
        .unwrap();
    let health: Value = client
        .get(format!("http://{addr}/api/ws/health"))
        .send()
        .await
        .expect("health answers while slow connections are held")
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let page = client.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(page.status(), 200, "the dashboard");
    let (mut newcomer, _) =
        tokio::time::timeout(FRAME_TIMEOUT, connect_async(format!("ws://{addr}/api/ws")))
            .await
            .expect("a new socket opens while slow connections are held")
            .unwrap();
    assert_eq!(next_json(&mut newcomer).await["type"], "connected");
    drop(slow);
}

#[tokio::test]
async fn a_connection_slow_with_its_headers_or_idle_after_an_answer_is_closed() {
    let running = server(|a| {
        a.symbols.clear();
        a.header_timeout_secs = 1;
        a.keepalive_secs = 1;
    })
    .await;
    let addr = running.addr.to_string();
    let mut slow = one_byte(&addr).await.unwrap();
    assert_eq!(closed_by_server(&mut slow).await, "");
    // Answered once, then silent: closed after the keep-alive.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    let request = format!("GET /api/ws/health HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    idle.write_all(request.as_bytes()).await.unwrap();
    let said = closed_by_server(&mut idle).await;
    assert!(said.starts_with("HTTP/1.1 200"), "{said}");
    running.shutdown.cancel();
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_a_408() {
    let running = server(|a| {
        a.symbols.clear();
        a.body_timeout_secs = 1;
    })
    .await;
    let mut stream = TcpStream::connect(running.addr).await.unwrap();
    let head = format!(
        "POST /api/publish HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{",
        running.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let said = closed_by_server(&mut stream).await;
    assert!(said.starts_with("HTTP/1.1 408"), "{said}");
    assert!(said.contains("did not arrive within 1 s"), "{said}");
    running.shutdown.cancel();
}

#[tokio::test]
async fn plain_http_connections_count_against_the_per_address_cap() {
    let running = server(|a| {
        a.symbols.clear();
        a.max_connections_per_ip = 3;
    })
    .await;
    let addr = running.addr.to_string();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(one_byte(&addr).await.unwrap());
    }
    let mut fourth = TcpStream::connect(&addr).await.unwrap();
    let said = closed_by_server(&mut fourth).await;
    assert!(said.starts_with("HTTP/1.1 503"), "{said}");
    assert!(said.contains("3 connections from your address"), "{said}");
    drop(held);
    eventually("places given back when connections close", || async {
        let health = reqwest::get(format!("http://{addr}/api/ws/health"))
            .await
            .ok()?;
        (health.status() == 200).then_some(())
    })
    .await;
    running.shutdown.cancel();
}

#[tokio::test]
async fn sockets_awaiting_a_token_have_a_pool_of_their_own() {
    let running = server(|a| {
        a.symbols.clear();
        a.jwt_secret = Some("a-secret-of-at-least-thirty-two-bytes!!".into());
        a.max_sockets_awaiting_auth = 2;
    })
    .await;
    let mut first = connect(&running, "/api/ws").await;
    let _second = connect(&running, "/api/ws").await;
    let _third = connect(&running, "/api/ws").await;
    let close = next_close(&mut first).await;
    assert_eq!(close.code, CloseCode::Policy);
    assert!(close.reason.contains("newer sockets"), "{}", close.reason);
    running.shutdown.cancel();
}

#[tokio::test]
async fn connections_past_the_cap_with_none_idle_are_told_503() {
    let running = server(|a| {
        a.symbols.clear();
        a.max_connections = 2;
    })
    .await;
    // Two open sockets are busy: neither gives way.
    let _a = connect(&running, "/api/ws").await;
    let _b = connect(&running, "/api/ws").await;
    let mut third = TcpStream::connect(running.addr).await.unwrap();
    let said = closed_by_server(&mut third).await;
    assert!(said.starts_with("HTTP/1.1 503"), "{said}");
    assert!(said.contains("\"limit\":2"), "{said}");
    running.shutdown.cancel();
}
