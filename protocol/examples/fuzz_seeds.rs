//! Writes the fixtures' messages (`protocol::fixtures::every_message`) as seed inputs of
//! the fuzz targets, so each run starts from one valid input of every message type:
//!
//!   cargo run -p protocol --example fuzz_seeds -- fuzz/corpus
//!
//! `server_frame/`: each message in its envelope; `publish_body/`: each as a
//! `POST /api/publish` body; `snapshot_fold/`: every message, one per line;
//! `client_frame/`: every client action (`protocol::fixtures::every_client_action`).
//! scripts/fuzz.sh runs it before fuzzing.

use std::fs;
use std::path::{Path, PathBuf};

use protocol::fixtures::{at, every_client_action, every_message, EPOCH};
use protocol::{Envelope, Epoch};
use serde_json::json;

fn write(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(name);
    fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn seeds(corpus: &Path) -> Result<usize, String> {
    let messages = every_message();
    let mut lines = Vec::new();
    for (i, (message, topic)) in messages.iter().enumerate() {
        let name = format!("fixture-{i:02}-{}", message.type_name());
        let envelope = Envelope {
            message: message.clone(),
            topic: topic.clone(),
            seq: u64::try_from(i).unwrap_or(u64::MAX).saturating_add(1),
            epoch: Epoch(EPOCH.into()),
            timestamp: at(0),
            conflated: 0,
        };
        let frame = serde_json::to_string(&envelope).map_err(|e| e.to_string())?;
        write(&corpus.join("server_frame"), &name, &frame)?;
        let mut body = serde_json::to_value(message).map_err(|e| e.to_string())?;
        body["topic"] = json!(topic.to_string());
        write(&corpus.join("publish_body"), &name, &body.to_string())?;
        lines.push(serde_json::to_string(message).map_err(|e| e.to_string())?);
    }
    write(
        &corpus.join("snapshot_fold"),
        "fixture-every-message",
        &lines.join("\n"),
    )?;
    for (i, action) in every_client_action().iter().enumerate() {
        let frame = serde_json::to_string(action).map_err(|e| e.to_string())?;
        write(
            &corpus.join("client_frame"),
            &format!("fixture-{i:02}"),
            &frame,
        )?;
    }
    Ok(messages.len())
}

fn main() {
    let corpus = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("fuzz/corpus"), PathBuf::from);
    match seeds(&corpus) {
        Ok(n) => println!(
            "fuzz seeds: {n} messages written under {}",
            corpus.display()
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
