//! The store's writer: one task that takes what running runs produce (each recorded
//! envelope, a run's end, a session's checkpoint) and writes it in batches, one
//! transaction per batch, in the order it came. The engine and the hub only queue: no
//! thread of theirs waits for the database.
//!
//! The queue is bounded by what feeds it: each active run queues at most its record
//! (`--record-messages`), and the active runs are capped (`--max-backtests`,
//! `--max-sessions`), so it holds no more than the runs' records in memory already do.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use protocol::RunStatus;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::sql::{Statement, Value};
use super::Store;
use crate::hub::{Frame, RecordTap};

/// How a run ended, as the store keeps it.
#[derive(Clone, Debug)]
pub struct Ended {
    pub status: RunStatus,
    /// When (Unix ms); none for a session cut off by a stop, which resumes.
    pub finished_ms: Option<i64>,
    pub final_equity: Option<f64>,
    pub record_cut: bool,
    /// The kind's listing as it ended, as JSON.
    pub info: String,
}

pub(super) enum Write {
    Message {
        kind: &'static str,
        id: Arc<str>,
        seq: u64,
        frame: Frame,
    },
    End {
        kind: &'static str,
        id: String,
        ended: Ended,
    },
    Checkpoint {
        kind: &'static str,
        id: String,
        state: String,
    },
    Flush(oneshot::Sender<()>),
}

/// The most writes one transaction takes.
const BATCH: usize = 1024;
/// Rows per `INSERT` of messages (4 values each).
const ROWS_PER_INSERT: usize = 200;
/// Tries of a batch before its writes are given up (the database stays away).
const TRIES: u32 = 3;

impl Store {
    /// Where a run's recorded frames go: queued for the writer.
    pub fn tap(&self, kind: &'static str, id: &str) -> RecordTap {
        let (writes, id): (_, Arc<str>) = (self.inner.writes.clone(), Arc::from(id));
        Arc::new(move |seq, frame| {
            let _ = writes.send(Write::Message {
                kind,
                id: id.clone(),
                seq,
                frame: frame.clone(),
            });
        })
    }

    /// Keeps how run `id` ended (after every message queued before it).
    pub fn end(&self, kind: &'static str, id: &str, ended: Ended) {
        let id = id.to_owned();
        let _ = self.inner.writes.send(Write::End { kind, id, ended });
    }

    /// Keeps what a session resumes from (after every message queued before it).
    pub fn checkpoint(&self, kind: &'static str, id: &str, state: String) {
        let id = id.to_owned();
        let _ = self
            .inner
            .writes
            .send(Write::Checkpoint { kind, id, state });
    }
}

pub(super) fn spawn(pool: AnyPool) -> mpsc::UnboundedSender<Write> {
    let (writes, mut queue) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(BATCH);
        while queue.recv_many(&mut batch, BATCH).await > 0 {
            let mut flushed = Vec::new();
            let mut work = Vec::with_capacity(batch.len());
            for write in batch.drain(..) {
                match write {
                    Write::Flush(done) => flushed.push(done),
                    other => work.push(other),
                }
            }
            write_batch(&pool, &work).await;
            for done in flushed {
                let _ = done.send(());
            }
        }
    });
    writes
}

/// Writes `work` in one transaction, trying again a little later if the database is
/// away; gives it up (saying so) after [`TRIES`].
async fn write_batch(pool: &AnyPool, work: &[Write]) {
    if work.is_empty() {
        return;
    }
    for attempt in 1..=TRIES {
        match try_batch(pool, work).await {
            Ok(()) => return,
            Err(e) if attempt < TRIES => {
                tracing::warn!(error = %e, attempt, "the store did not take a batch: trying again");
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, writes = work.len(), "the store did not take a batch: given up");
            }
        }
    }
}

async fn try_batch(pool: &AnyPool, work: &[Write]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut messages: Vec<(&'static str, &str, u64, &Frame)> = Vec::new();
    for write in work {
        if let Write::Message {
            kind,
            id,
            seq,
            frame,
        } = write
        {
            messages.push((kind, id, *seq, frame));
            continue;
        }
        insert_messages(&mut tx, &mut messages).await?;
        match write {
            Write::End { kind, id, ended } => {
                let status: &'static str = ended.status.into();
                sqlx::query(
                    "UPDATE runs SET status = $1, finished_ms = $2, final_equity = $3, \
                     record_cut = $4, info = $5 WHERE kind = $6 AND id = $7",
                )
                .bind(status)
                .bind(ended.finished_ms)
                .bind(ended.final_equity)
                .bind(i64::from(ended.record_cut))
                .bind(ended.info.as_str())
                .bind(*kind)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            }
            Write::Checkpoint { kind, id, state } => {
                sqlx::query("UPDATE runs SET checkpoint = $1 WHERE kind = $2 AND id = $3")
                    .bind(state.as_str())
                    .bind(*kind)
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            Write::Message { .. } | Write::Flush(_) => {}
        }
    }
    insert_messages(&mut tx, &mut messages).await?;
    tx.commit().await
}

/// Inserts the queued messages (a few hundred rows a statement) and adds their bytes
/// to their runs; empties `messages`.
async fn insert_messages(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    messages: &mut Vec<(&'static str, &str, u64, &Frame)>,
) -> Result<(), sqlx::Error> {
    let mut bytes: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for chunk in messages.chunks(ROWS_PER_INSERT) {
        let mut s = Statement::new("INSERT INTO run_messages (kind, id, seq, frame) VALUES ");
        for (i, (kind, id, seq, frame)) in chunk.iter().enumerate() {
            if i > 0 {
                s.push(", ");
            }
            s.push("(")
                .bind(Value::Text((*kind).to_owned()))
                .push(", ")
                .bind(Value::Text((*id).to_owned()))
                .push(", ")
                .bind(Value::Int(i64::try_from(*seq).unwrap_or(i64::MAX)))
                .push(", ")
                .bind(Value::Text(frame.as_str().to_owned()))
                .push(")");
            *bytes.entry((kind, id)).or_default() += frame.len() as i64;
        }
        s.push(" ON CONFLICT DO NOTHING");
        s.query().execute(&mut **tx).await?;
    }
    for ((kind, id), added) in bytes {
        sqlx::query("UPDATE runs SET bytes = bytes + $1 WHERE kind = $2 AND id = $3")
            .bind(added)
            .bind(kind)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    messages.clear();
    Ok(())
}
