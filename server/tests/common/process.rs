//! tickwire as a process of its own, for what only a process shows: signals, limits.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use super::data_dir;

/// `tickwire serve --addr 127.0.0.1:0 --feed off --data-dir data` as a process of its
/// own: the process, the address it listens on, and the rest of its log.
pub async fn tickwire_process() -> (Child, String, Lines<BufReader<ChildStdout>>) {
    tickwire_process_with(None, &[]).await
}

/// [`tickwire_process`] with more flags, under an open-file limit (soft and hard) when
/// `open_files` is given.
pub async fn tickwire_process_with(
    open_files: Option<u32>,
    flags: &[&str],
) -> (Child, String, Lines<BufReader<ChildStdout>>) {
    let mut all = vec!["--feed", "off"];
    all.extend_from_slice(flags);
    serve_process(open_files, &all).await
}

/// `tickwire serve --addr 127.0.0.1:0 --data-dir data FLAGS` (no store unless `FLAGS`
/// give `--database-url`): the process, its address and the rest of its log.
pub async fn serve_process(
    open_files: Option<u32>,
    flags: &[&str],
) -> (Child, String, Lines<BufReader<ChildStdout>>) {
    let bin = env!("CARGO_BIN_EXE_tickwire");
    let mut command = match open_files {
        Some(n) => {
            let mut sh = tokio::process::Command::new("sh");
            sh.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\""), bin]);
            sh
        }
        None => tokio::process::Command::new(bin),
    };
    let mut child = command
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir())
        .args(flags)
        // Tests about the store give `--database-url`.
        .env("TICKWIRE_DATABASE_URL", "none")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("tickwire starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some((_, rest)) = line.split_once("listening on http://") {
                return rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect::<String>();
            }
        }
        panic!("the server ended before listening");
    })
    .await
    .expect("the server says where it listens");
    (child, addr, lines)
}

/// Sends SIGTERM to `child`.
pub async fn terminate(child: &Child) {
    let pid = child.id().expect("running").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
}
