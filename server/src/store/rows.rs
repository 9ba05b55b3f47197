//! The runs table: a row per kept run, listed newest first a page at a time, and the
//! run's messages beside it.

use protocol::api::RunNotes;
use protocol::RunStatus;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{Statement, Value};
use super::{Store, StoreError};

/// A run as the store keeps it.
#[derive(Clone, Debug)]
pub struct StoredRun {
    pub id: String,
    /// The `sub` of who started it (none in anonymous mode).
    pub owner: Option<String>,
    /// The instance that ran it.
    pub instance: String,
    pub status: RunStatus,
    pub created_ms: i64,
    pub finished_ms: Option<i64>,
    pub final_equity: Option<f64>,
    /// The kind's listing, as JSON.
    pub info: serde_json::Value,
    pub notes: RunNotes,
    /// The request that started it, as JSON.
    pub request: String,
    /// What a session resumes from, as JSON.
    pub checkpoint: Option<String>,
    /// Its record reached `--record-messages`: the rest was left out.
    pub record_cut: bool,
}

/// A run about to start.
pub struct NewRun<'a> {
    pub kind: &'static str,
    pub id: &'a str,
    pub owner: Option<&'a str>,
    pub instance: &'a str,
    pub strategy: &'a str,
    pub symbol: &'a str,
    pub created_ms: i64,
    pub info: String,
    pub request: String,
}

/// Which runs a listing wants: `GET /api/backtests?strategy=&symbol=&status=&before=&limit=`.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Only this user's (a token user's own); none: everyone's.
    pub owner: Option<String>,
    pub strategy: Option<String>,
    pub symbol: Option<String>,
    pub status: Option<RunStatus>,
    /// Runs started before this one (the last id of the previous page).
    pub before: Option<String>,
    pub limit: usize,
}

const COLUMNS: &str = "id, owner, instance, status, created_ms, finished_ms, final_equity, \
                       info, request, title, notes, tags, checkpoint, record_cut";

fn read(row: &AnyRow) -> Result<StoredRun, StoreError> {
    let status: String = row.try_get("status")?;
    let tags: String = row.try_get("tags")?;
    let info: String = row.try_get("info")?;
    Ok(StoredRun {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        instance: row.try_get("instance")?,
        status: status.parse().unwrap_or(RunStatus::Failed),
        created_ms: row.try_get("created_ms")?,
        finished_ms: row.try_get("finished_ms")?,
        final_equity: row.try_get("final_equity")?,
        info: serde_json::from_str(&info)?,
        notes: RunNotes {
            title: row.try_get("title")?,
            notes: row.try_get("notes")?,
            tags: serde_json::from_str(&tags)?,
        },
        request: row.try_get("request")?,
        checkpoint: row.try_get("checkpoint")?,
        record_cut: row.try_get::<i64, _>("record_cut")? != 0,
    })
}

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

impl Store {
    /// Keeps a run that is starting (status `running`, or `paused` if it starts so).
    pub async fn insert(&self, run: NewRun<'_>, status: RunStatus) -> Result<(), StoreError> {
        let status: &'static str = status.into();
        let bytes = (run.info.len() + run.request.len()) as i64;
        sqlx::query(
            "INSERT INTO runs (kind, id, owner, instance, status, strategy, symbol, created_ms, \
             info, request, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(run.kind)
        .bind(run.id)
        .bind(run.owner)
        .bind(run.instance)
        .bind(status)
        .bind(run.strategy)
        .bind(run.symbol)
        .bind(run.created_ms)
        .bind(run.info)
        .bind(run.request)
        .bind(bytes)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The kept run `id` of `kind`.
    pub async fn get(&self, kind: &str, id: &str) -> Result<Option<StoredRun>, StoreError> {
        let mut s = Statement::new(&format!("SELECT {COLUMNS} FROM runs WHERE kind = "));
        s.bind(text(kind)).push(" AND id = ").bind(text(id));
        let row = s.query().fetch_optional(self.pool()).await?;
        row.as_ref().map(read).transpose()
    }

    /// A page of kept runs of `kind`, newest first. `Ok(None)`: `before` names no run.
    pub async fn list(
        &self,
        kind: &str,
        filter: &ListFilter,
    ) -> Result<Option<Vec<StoredRun>>, StoreError> {
        let mut s = Statement::new(&format!("SELECT {COLUMNS} FROM runs WHERE kind = "));
        s.bind(text(kind));
        if let Some(owner) = &filter.owner {
            s.push(" AND owner = ").bind(text(owner));
        }
        if let Some(strategy) = &filter.strategy {
            s.push(" AND strategy = ").bind(text(strategy));
        }
        if let Some(symbol) = &filter.symbol {
            s.push(" AND symbol = ").bind(text(symbol));
        }
        if let Some(status) = filter.status {
            let status: &'static str = status.into();
            s.push(" AND status = ").bind(text(status));
        }
        if let Some(before) = &filter.before {
            let Some(last) = self.get(kind, before).await? else {
                return Ok(None);
            };
            // A row value: both databases walk the (kind, created_ms, id) index from it.
            s.push(" AND (created_ms, id) < (")
                .bind(Value::Int(last.created_ms))
                .push(", ")
                .bind(text(before))
                .push(")");
        }
        s.push(" ORDER BY created_ms DESC, id DESC LIMIT ")
            .bind(Value::Int(filter.limit as i64));
        let rows = s.query().fetch_all(self.pool()).await?;
        Ok(Some(rows.iter().map(read).collect::<Result<_, _>>()?))
    }

    /// The kept runs of `kind` that never ended here: cut off by a stop or a crash.
    pub async fn unfinished(&self, kind: &str) -> Result<Vec<StoredRun>, StoreError> {
        let mut s = Statement::new(&format!(
            "SELECT {COLUMNS} FROM runs WHERE finished_ms IS NULL AND kind = "
        ));
        s.bind(text(kind)).push(" ORDER BY created_ms, id");
        let rows = s.query().fetch_all(self.pool()).await?;
        rows.iter().map(read).collect()
    }

    /// The envelopes kept for run `id`, in seq order.
    pub async fn messages(&self, kind: &str, id: &str) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query("SELECT frame FROM run_messages WHERE kind = $1 AND id = $2 ORDER BY seq")
                .bind(kind)
                .bind(id)
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("frame"))
            .collect::<Result<_, _>>()?)
    }

    /// Replaces the notes of run `id`; false if there is no such run.
    pub async fn annotate(
        &self,
        kind: &str,
        id: &str,
        notes: &RunNotes,
    ) -> Result<bool, StoreError> {
        let tags = serde_json::to_string(&notes.tags)?;
        let done = sqlx::query(
            "UPDATE runs SET title = $1, notes = $2, tags = $3 WHERE kind = $4 AND id = $5",
        )
        .bind(notes.title.as_deref())
        .bind(notes.notes.as_deref())
        .bind(tags)
        .bind(kind)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Forgets run `id`, its messages with it; false if there was no such run.
    pub async fn delete(&self, kind: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM run_messages WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM runs WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
