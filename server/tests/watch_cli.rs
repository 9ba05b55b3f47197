//! `tickwire watch` against a real server: one line per message, and it exits when the
//! backtest it follows is complete.

mod common;

use std::process::Stdio;

use common::*;
use protocol::{Complete, LogLevel, LogLine, Message, Metrics, Topic};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Publishes a backtest's `complete` on `topic`.
async fn publish_complete(running: &server::serve::Running, topic: &Topic) {
    let metrics = Metrics {
        return_pct: 1.0,
        sharpe: 0.5,
        sortino: 0.7,
        max_drawdown_pct: 2.0,
        win_rate: 50.0,
        profit_factor: Some(1.2),
        trades: 2,
        exposure_pct: 40.0,
    };
    let complete = Complete {
        final_equity: 10_100.0,
        duration_ms: 5,
        metrics,
    };
    running
        .hub
        .publish(topic, Message::Complete(complete))
        .await
        .expect("a valid message");
}

#[tokio::test]
async fn watch_prints_each_message_and_exits_when_the_backtest_completes() {
    let running = server(|a| a.symbols.clear()).await;
    let topic: Topic = "backtest:w1".parse().unwrap();
    running
        .hub
        .publish(
            &topic,
            Message::Log(LogLine {
                level: LogLevel::Info,
                message: "before".into(),
                target: "t".into(),
                bar: None,
            }),
        )
        .await
        .unwrap();

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args([
            "watch",
            "backtest:w1",
            "--url",
            &format!("http://{}", running.addr),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("watch starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(FRAME_TIMEOUT, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        first.starts_with("backtest:w1 at seq 1"),
        "the snapshot is announced: {first}"
    );

    for i in 0..3 {
        let log = LogLine {
            level: LogLevel::Warn,
            message: format!("line {i}"),
            target: "engine".into(),
            bar: Some(i),
        };
        running
            .hub
            .publish(&topic, Message::Log(log))
            .await
            .unwrap();
    }
    publish_complete(&running, &topic).await;

    let mut rest = vec![];
    while let Ok(Some(line)) = tokio::time::timeout(FRAME_TIMEOUT, lines.next_line())
        .await
        .unwrap()
    {
        rest.push(line);
    }
    assert_eq!(rest.len(), 4, "{rest:?}");
    for (i, line) in rest.iter().take(3).enumerate() {
        assert!(
            line.contains(&format!("#{} log Warn engine: line {i}", i + 2)),
            "{line}"
        );
    }
    assert!(
        rest[3].contains("#5 complete {") && rest[3].contains("\"final_equity\":10100.0"),
        "{}",
        rest[3]
    );
    let status = tokio::time::timeout(FRAME_TIMEOUT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    running.shutdown.cancel();
}

#[tokio::test]
async fn watch_exits_at_once_on_a_backtest_that_had_already_finished() {
    let running = server(|a| a.symbols.clear()).await;
    publish_complete(&running, &"backtest:done".parse().unwrap()).await;

    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .args([
            "watch",
            "backtest:done",
            "--url",
            &format!("http://{}", running.addr),
        ])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(TYPE_TIMEOUT, child)
        .await
        .expect("watch ends instead of waiting forever for a finished run")
        .expect("watch runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("the run has already finished: complete"),
        "{stdout}"
    );
    running.shutdown.cancel();
}

/// `tickwire token ARGS` with the secret in the environment, run to its end.
async fn run_token(secret: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_tickwire"))
        .arg("token")
        .args(args)
        .env("TICKWIRE_JWT_SECRET", secret)
        .env_remove("TICKWIRE_MAX_TTL")
        .output()
        .await
        .expect("token runs")
}

/// `tickwire token ARGS` with the secret in the environment: the printed token.
async fn cli_token(secret: &str, args: &[&str]) -> String {
    let out = run_token(secret, args).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `tickwire watch TOPIC` on `running` with `token`, to its end: success and output.
async fn watch_with(
    running: &server::serve::Running,
    topic: &str,
    token: Option<&str>,
) -> (bool, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tickwire"));
    command.args(["watch", topic, "--url", &format!("http://{}", running.addr)]);
    if let Some(token) = token {
        command.args(["--token", token]);
    }
    let out = tokio::time::timeout(TYPE_TIMEOUT, command.output())
        .await
        .expect("watch ends")
        .expect("watch runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[tokio::test]
async fn watch_proves_itself_with_a_token_from_tickwire_token_and_stops_when_refused() {
    let running = server(|a| {
        a.symbols.clear();
        a.jwt_secret = Some("cli-secret-of-at-least-thirty-two-bytes".into());
    })
    .await;
    publish_complete(&running, &"backtest:done".parse().unwrap()).await;
    let allowed = cli_token(
        "cli-secret-of-at-least-thirty-two-bytes",
        &["--sub", "alice", "--topics", "backtest:*", "--ttl", "10m"],
    )
    .await;
    let (ok, out) = watch_with(&running, "backtest:done", Some(&allowed)).await;
    assert!(ok && out.contains("backtest:done at seq 1"), "{out}");

    // Refusals end watch with the server's reason instead of retrying for ever.
    let (ok, out) = watch_with(&running, "backtest:done", None).await;
    assert!(!ok && out.contains("refused: token required"), "{out}");
    let market_only = cli_token("cli-secret-of-at-least-thirty-two-bytes", &["--sub", "bob"]).await;
    let (ok, out) = watch_with(&running, "backtest:done", Some(&market_only)).await;
    assert!(!ok && out.contains("does not allow backtest:done"), "{out}");
    let forged = cli_token(
        "another-secret-of-thirty-two-bytes-too",
        &["--sub", "alice", "--topics", "*"],
    )
    .await;
    let (ok, out) = watch_with(&running, "backtest:done", Some(&forged)).await;
    assert!(!ok && out.contains("refused: invalid token"), "{out}");
    running.shutdown.cancel();
}

#[tokio::test]
async fn tickwire_token_refuses_a_short_secret_and_a_lifetime_the_server_would_refuse() {
    for (secret, args, expected) in [
        (
            "change-me",
            &["--sub", "alice"][..],
            "--jwt-secret must be at least 32 bytes",
        ),
        (
            "cli-secret-of-at-least-thirty-two-bytes",
            &["--sub", "alice", "--ttl", "90d"][..],
            "is longer than --max-ttl",
        ),
        (
            "cli-secret-of-at-least-thirty-two-bytes",
            &["--sub", "alice smith"][..],
            "--sub invalid user `alice smith`: must match [A-Za-z0-9_.@-]{1,64}",
        ),
    ] {
        let out = run_token(secret, args).await;
        assert!(!out.status.success());
        assert!(out.stdout.is_empty(), "no token printed");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{stderr}");
    }
}
