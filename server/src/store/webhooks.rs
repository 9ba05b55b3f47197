//! Users' webhooks, kept in the store: a server restarted, or another instance of a
//! cluster sharing its PostgreSQL, posts to them as the one they were made on.

use sqlx::Row;

use super::{Store, StoreError};

/// A webhook as the store keeps it (`events`: a JSON array).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredWebhook {
    pub id: String,
    pub owner: String,
    pub url: String,
    pub events: String,
    pub secret: String,
    pub format: String,
    pub created_ms: i64,
}

impl Store {
    pub async fn add_webhook(&self, hook: &StoredWebhook) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhooks (id, owner, url, events, secret, format, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&hook.id)
        .bind(&hook.owner)
        .bind(&hook.url)
        .bind(&hook.events)
        .bind(&hook.secret)
        .bind(&hook.format)
        .bind(hook.created_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// `owner`'s webhooks, oldest first.
    pub async fn webhooks_of(&self, owner: &str) -> Result<Vec<StoredWebhook>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, owner, url, events, secret, format, created_ms FROM webhooks \
             WHERE owner = $1 ORDER BY created_ms, id",
        )
        .bind(owner)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredWebhook {
                    id: row.try_get("id")?,
                    owner: row.try_get("owner")?,
                    url: row.try_get("url")?,
                    events: row.try_get("events")?,
                    secret: row.try_get("secret")?,
                    format: row.try_get("format")?,
                    created_ms: row.try_get("created_ms")?,
                })
            })
            .collect()
    }

    /// Deletes `owner`'s webhook `id`; false if they have none by that id.
    pub async fn delete_webhook(&self, owner: &str, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM webhooks WHERE owner = $1 AND id = $2")
            .bind(owner)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
