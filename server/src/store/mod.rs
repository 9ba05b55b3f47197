//! The store (docs/STORE.md): every backtest and session kept in a database, SQLite by
//! default (`--database-url sqlite://state/tickwire.db`, created on first start) or
//! PostgreSQL for a cluster, through one code path (sqlx's Any driver) and one schema
//! (`server/migrations`, applied at start). A run's row says what it was, whose it is
//! and how it ended; its messages are the envelopes of its topic from its start, byte
//! for byte, so a kept run opens, replays and exports as it did live.
//!
//! Writes that follow a run (its messages, its end, a session's checkpoint) go through
//! one writer task in batches, off the engine's thread and in order; the rest (a new
//! row, notes, a delete, the listings) are direct.

mod retention;
mod rows;
mod sql;
mod webhooks;
mod writer;

pub use retention::Keep;
pub use rows::{ListFilter, NewRun, StoredRun};
pub use webhooks::StoredWebhook;
pub use writer::Ended;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use tokio::sync::mpsc;

use writer::Write;

/// The database behind the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why the store could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("--database-url `{0}` is not `none`, `sqlite://PATH` or `postgres://…`")]
    Scheme(String),
    #[error("cannot create the store's directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("the store: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the store's schema cannot be brought up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a kept value is unreadable: {0}")]
    Json(#[from] serde_json::Error),
}

/// The store, shared by every part of the server that keeps runs.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AnyPool,
    backend: Backend,
    writes: mpsc::UnboundedSender<Write>,
}

/// How long a query waits for a connection before the store counts as away.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Store {
    /// Opens the store at `url` and brings its schema up to date; `none` is no store
    /// (runs live in memory only, as before the store existed).
    pub async fn open(url: &str) -> Result<Option<Store>, StoreError> {
        if url == "none" {
            return Ok(None);
        }
        let (backend, url) = locate(url)?;
        sqlx::any::install_default_drivers();
        let connections = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 8,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(&url)
            .await?;
        if backend == Backend::Sqlite {
            // Readers never wait for the writer, and a commit survives a crash (the
            // mode stays with the file; `synchronous` is FULL by default).
            sqlx::query("PRAGMA journal_mode=WAL")
                .fetch_optional(&pool)
                .await?;
        }
        sqlx::migrate!("./migrations").run(&pool).await?;
        let writes = writer::spawn(pool.clone());
        tracing::info!(?backend, "the store is open");
        Ok(Some(Store {
            inner: Arc::new(Inner {
                pool,
                backend,
                writes,
            }),
        }))
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    /// Waits until every write queued so far is in the database.
    pub async fn flush(&self) {
        let (done, written) = tokio::sync::oneshot::channel();
        if self.inner.writes.send(Write::Flush(done)).is_ok() {
            let _ = written.await;
        }
    }
}

/// The backend of `url`, and the URL to connect with: an SQLite file is created (and
/// its directory) if it is missing.
fn locate(url: &str) -> Result<(Backend, String), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Err(StoreError::Scheme(url.to_owned()));
    };
    let file = path.split('?').next().unwrap_or_default();
    if file.is_empty() {
        return Err(StoreError::Scheme(url.to_owned()));
    }
    if file != ":memory:" {
        if let Some(dir) = std::path::Path::new(file).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
        }
    }
    let url = if path.contains('?') {
        url.to_owned()
    } else {
        format!("sqlite://{path}?mode=rwc")
    };
    Ok((Backend::Sqlite, url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend_or_are_refused() {
        assert!(matches!(locate("mysql://x"), Err(StoreError::Scheme(_))));
        assert!(matches!(locate("sqlite://"), Err(StoreError::Scheme(_))));
        let (backend, url) = locate("postgres://u@127.0.0.1:5/db").expect("postgres");
        assert_eq!(backend, Backend::Postgres);
        assert_eq!(url, "postgres://u@127.0.0.1:5/db");
        let dir = std::env::temp_dir().join(format!("tickwire-locate-{}", std::process::id()));
        let file = dir.join("t.db");
        let (backend, url) = locate(&format!("sqlite://{}", file.display())).expect("sqlite");
        assert_eq!(backend, Backend::Sqlite);
        assert!(url.ends_with("t.db?mode=rwc"), "{url}");
        assert!(dir.is_dir(), "the directory is created");
        let _ = std::fs::remove_dir_all(dir);
    }
}
