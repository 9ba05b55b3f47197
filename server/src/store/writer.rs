//! The store's writer: one task that keeps what running runs produce — their records,
//! their ends, a session's checkpoints — writing it in batches, one transaction per
//! batch, in order. It *pulls* a followed run's new frames from the hub's record
//! (`Hub::recorded_after`) every [`PULL_EVERY`], and before that run's end or
//! checkpoint is written: the engine and the hub do nothing more per message than they
//! did without a store, and no thread of theirs waits for the database.
//!
//! Its queue holds requests (a follow, an end, a checkpoint, a flush), a few per run;
//! the frames stay in the runs' records, which `--record-messages` bounds.

use std::collections::HashMap;
use std::time::Duration;

use protocol::{RunStatus, Topic};
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::sql::{Statement, Value};
use super::Store;
use crate::hub::{Frame, Hub};

/// How often the writer keeps the new frames of the runs it follows: at most this much
/// of a run is lost to a crash.
pub const PULL_EVERY: Duration = Duration::from_millis(250);

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

type RunKey = (&'static str, String);

pub(super) enum Write {
    /// Keep the frames `topic` records after seq `after`, from here on.
    Follow {
        key: RunKey,
        topic: Topic,
        hub: Hub,
        after: u64,
    },
    /// The run's last frames, then its end; it is followed no more.
    End {
        key: RunKey,
        ended: Ended,
    },
    /// The run's frames so far, then what it resumes from.
    Checkpoint {
        key: RunKey,
        state: String,
    },
    Flush(oneshot::Sender<()>),
}

/// A run the writer keeps the record of.
struct Followed {
    topic: Topic,
    hub: Hub,
    /// The last seq kept.
    after: u64,
}

/// What one transaction writes, in order.
enum Op {
    Messages(RunKey, Vec<(u64, Frame)>),
    End(RunKey, Ended),
    Checkpoint(RunKey, String),
}

/// The most requests one batch takes.
const BATCH: usize = 256;
/// Rows per `INSERT` of messages (4 values each).
const ROWS_PER_INSERT: usize = 200;
/// Tries of a batch before its writes are given up (the database stays away).
const TRIES: u32 = 3;

impl Store {
    /// Keeps the record of run `id` on `topic` (its frames after seq `after`) as it
    /// grows, until its end.
    pub fn follow(&self, kind: &'static str, id: &str, topic: &Topic, hub: &Hub, after: u64) {
        let _ = self.inner.writes.send(Write::Follow {
            key: (kind, id.to_owned()),
            topic: topic.clone(),
            hub: hub.clone(),
            after,
        });
    }

    /// Keeps how run `id` ended, after the rest of its record.
    pub fn end(&self, kind: &'static str, id: &str, ended: Ended) {
        let key = (kind, id.to_owned());
        let _ = self.inner.writes.send(Write::End { key, ended });
    }

    /// Keeps what a session resumes from, after its record so far.
    pub fn checkpoint(&self, kind: &'static str, id: &str, state: String) {
        let key = (kind, id.to_owned());
        let _ = self.inner.writes.send(Write::Checkpoint { key, state });
    }
}

pub(super) fn spawn(pool: AnyPool) -> mpsc::UnboundedSender<Write> {
    let (writes, mut queue) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut followed: HashMap<RunKey, Followed> = HashMap::new();
        let mut pulls = tokio::time::interval(PULL_EVERY);
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let mut ops = Vec::new();
            let mut flushed = Vec::new();
            tokio::select! {
                n = queue.recv_many(&mut batch, BATCH) => {
                    if n == 0 {
                        return;
                    }
                    for write in batch.drain(..) {
                        take(write, &mut followed, &mut ops, &mut flushed);
                    }
                }
                _ = pulls.tick() => {
                    for (key, run) in &mut followed {
                        ops.extend(pull(key, run));
                    }
                }
            }
            write_batch(&pool, &ops).await;
            for done in flushed {
                let _ = done.send(());
            }
        }
    });
    writes
}

/// The new frames of `run`, as an op (none if there are none).
fn pull(key: &RunKey, run: &mut Followed) -> Option<Op> {
    let frames = run.hub.recorded_after(&run.topic, run.after);
    let last = frames.last()?.0;
    run.after = last;
    Some(Op::Messages(key.clone(), frames))
}

/// Turns one request into what the batch writes.
fn take(
    write: Write,
    followed: &mut HashMap<RunKey, Followed>,
    ops: &mut Vec<Op>,
    flushed: &mut Vec<oneshot::Sender<()>>,
) {
    match write {
        Write::Follow {
            key,
            topic,
            hub,
            after,
        } => {
            followed.insert(key, Followed { topic, hub, after });
        }
        Write::End { key, ended } => {
            if let Some(mut run) = followed.remove(&key) {
                ops.extend(pull(&key, &mut run));
            }
            ops.push(Op::End(key, ended));
        }
        Write::Checkpoint { key, state } => {
            if let Some(run) = followed.get_mut(&key) {
                ops.extend(pull(&key, run));
            }
            ops.push(Op::Checkpoint(key, state));
        }
        Write::Flush(done) => {
            for (key, run) in followed.iter_mut() {
                ops.extend(pull(key, run));
            }
            flushed.push(done);
        }
    }
}

/// Writes `ops` in one transaction, trying again a little later if the database is
/// away; gives them up (saying so) after [`TRIES`].
async fn write_batch(pool: &AnyPool, ops: &[Op]) {
    if ops.is_empty() {
        return;
    }
    for attempt in 1..=TRIES {
        match try_batch(pool, ops).await {
            Ok(()) => return,
            Err(e) if attempt < TRIES => {
                tracing::warn!(error = %e, attempt, "the store did not take a batch: trying again");
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, writes = ops.len(), "the store did not take a batch: given up");
            }
        }
    }
}

async fn try_batch(pool: &AnyPool, ops: &[Op]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for op in ops {
        match op {
            Op::Messages((kind, id), frames) => insert_messages(&mut tx, kind, id, frames).await?,
            Op::End((kind, id), ended) => {
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
            Op::Checkpoint((kind, id), state) => {
                sqlx::query("UPDATE runs SET checkpoint = $1 WHERE kind = $2 AND id = $3")
                    .bind(state.as_str())
                    .bind(*kind)
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    tx.commit().await
}

/// Inserts run `id`'s frames (a few hundred rows a statement) and adds their bytes to
/// its row.
async fn insert_messages(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    kind: &str,
    id: &str,
    frames: &[(u64, Frame)],
) -> Result<(), sqlx::Error> {
    for chunk in frames.chunks(ROWS_PER_INSERT) {
        let mut s = Statement::new("INSERT INTO run_messages (kind, id, seq, frame) VALUES ");
        for (i, (seq, frame)) in chunk.iter().enumerate() {
            if i > 0 {
                s.push(", ");
            }
            s.push("(")
                .bind(Value::Text(kind.to_owned()))
                .push(", ")
                .bind(Value::Text(id.to_owned()))
                .push(", ")
                .bind(Value::Int(i64::try_from(*seq).unwrap_or(i64::MAX)))
                .push(", ")
                .bind(Value::Text(frame.as_str().to_owned()))
                .push(")");
        }
        s.push(" ON CONFLICT DO NOTHING");
        s.query().execute(&mut **tx).await?;
    }
    let added: i64 = frames.iter().map(|(_, frame)| frame.len() as i64).sum();
    sqlx::query("UPDATE runs SET bytes = bytes + $1 WHERE kind = $2 AND id = $3")
        .bind(added)
        .bind(kind)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
