//! Users' webhooks (docs/SPEC.md section 5, "Webhooks"): each user's notices are also
//! posted, signed, to the URLs they registered for those events, retried with backoff
//! for a bounded time, and each delivery's fate is kept for them to read.
//!
//! The webhooks live in the store when there is one (a restart, or another instance of
//! a cluster on the same PostgreSQL, posts to them alike), else in memory. Deliveries
//! are this instance's, in memory: the last [`KEPT_DELIVERIES`] per webhook.

mod address;
mod shape;

pub use address::Refused;
pub use shape::Format;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::Utc;
use protocol::{Notice, NoticeEvent, Timestamp};
use reqwest::{StatusCode, Url};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::store::{Store, StoreError, StoredWebhook};

/// Deliveries kept per webhook, newest first.
pub const KEPT_DELIVERIES: usize = 50;
/// Deliveries under way at once; more wait for a place.
const IN_FLIGHT: usize = 32;
/// Deliveries under way or waiting, at most: past it a delivery fails at once.
const WAITING: usize = 1_024;
/// The first retry's delay; each next one doubles, up to [`LONGEST_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(500);
const LONGEST_DELAY: Duration = Duration::from_secs(60);
/// A secret's length, in bytes.
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 16..=256;
/// The longest URL, in bytes.
const MAX_URL_BYTES: usize = 2_048;

/// How webhooks behave (`--max-webhooks-per-user`, `--webhook-timeout-secs`,
/// `--webhook-retry-secs`, `--webhooks-allow-private`).
#[derive(Clone, Copy, Debug)]
pub struct WebhookRules {
    pub per_user: usize,
    pub timeout: Duration,
    pub retry_for: Duration,
    pub allow_private: bool,
}

/// A registered webhook.
#[derive(Clone, Debug, PartialEq)]
pub struct Webhook {
    pub id: String,
    pub owner: String,
    pub url: String,
    pub events: Vec<NoticeEvent>,
    pub secret: String,
    pub format: Format,
    pub created: Timestamp,
}

/// What a user asks to register.
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<NoticeEvent>,
    pub secret: String,
    pub format: Format,
}

/// How one delivery went.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Sent as `X-Tickwire-Delivery`: the same on every attempt, so a receiver drops a
    /// repeat.
    pub id: String,
    /// The notice's `event`.
    #[schema(value_type = String)]
    pub event: NoticeEvent,
    pub title: String,
    /// `pending` (attempts go on), `delivered` or `failed`.
    pub state: DeliveryState,
    pub attempts: u32,
    /// The receiver's last status code, if it answered.
    pub status: Option<u16>,
    /// Why the last attempt failed, if it did.
    pub error: Option<String>,
    #[schema(value_type = String)]
    pub first_attempt: Timestamp,
    #[schema(value_type = String)]
    pub last_attempt: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

/// Why a webhook request was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("`{field}` {problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
    #[error("you have {0} webhooks, the most one user may: delete one first")]
    TooMany(usize),
    #[error("no webhook {0} of yours")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl WebhookError {
    fn invalid(field: &'static str, problem: impl ToString) -> Self {
        WebhookError::Invalid {
            field,
            problem: problem.to_string(),
        }
    }
}

/// Where webhooks are kept.
enum Book {
    Memory(Mutex<BTreeMap<String, Vec<Webhook>>>),
    Store(Store),
}

/// Users' webhooks: registering them, and posting notices to them.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    book: Book,
    rules: WebhookRules,
    client: reqwest::Client,
    deliveries: Mutex<HashMap<String, VecDeque<Delivery>>>,
    in_flight: Semaphore,
    waiting: AtomicUsize,
}

impl Webhooks {
    /// Webhooks kept in `store` (or in memory without one), following `rules`.
    pub fn new(store: Option<Store>, rules: WebhookRules) -> Result<Self, reqwest::Error> {
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(rules.timeout)
            .user_agent(concat!("tickwire/", env!("CARGO_PKG_VERSION")));
        let client = match rules.allow_private {
            true => builder.build()?,
            false => builder
                .dns_resolver(Arc::new(address::PublicOnly))
                .build()?,
        };
        let book = match store {
            Some(store) => Book::Store(store),
            None => Book::Memory(Mutex::default()),
        };
        Ok(Webhooks {
            inner: Arc::new(Inner {
                book,
                rules,
                client,
                deliveries: Mutex::default(),
                in_flight: Semaphore::new(IN_FLIGHT),
                waiting: AtomicUsize::new(0),
            }),
        })
    }

    /// Registers `new` for `owner`, once its fields follow the rules and its URL
    /// resolves to public addresses.
    pub async fn add(&self, owner: &str, new: NewWebhook) -> Result<Webhook, WebhookError> {
        if new.url.len() > MAX_URL_BYTES {
            return Err(WebhookError::invalid(
                "url",
                format!("must be at most {MAX_URL_BYTES} bytes"),
            ));
        }
        let url = Url::parse(&new.url).map_err(|e| WebhookError::invalid("url", e))?;
        if new.events.is_empty() {
            return Err(WebhookError::invalid(
                "events",
                "must name at least one event",
            ));
        }
        if !SECRET_BYTES.contains(&new.secret.len()) {
            return Err(WebhookError::invalid(
                "secret",
                format!(
                    "must be {} to {} bytes, got {}",
                    SECRET_BYTES.start(),
                    SECRET_BYTES.end(),
                    new.secret.len()
                ),
            ));
        }
        // Resolved last: the fields that need no lookup are told first.
        address::check(&url, self.inner.rules.allow_private)
            .await
            .map_err(|e| WebhookError::invalid("url", e))?;
        let held = self.of(owner).await?;
        if held.len() >= self.inner.rules.per_user {
            return Err(WebhookError::TooMany(self.inner.rules.per_user));
        }
        let mut events = new.events;
        events.dedup();
        let hook = Webhook {
            id: ulid::Ulid::new().to_string(),
            owner: owner.to_owned(),
            url: url.to_string(),
            events,
            secret: new.secret,
            format: new.format,
            created: Timestamp::from_datetime(Utc::now()),
        };
        match &self.inner.book {
            Book::Memory(map) => lock(map)
                .entry(owner.to_owned())
                .or_default()
                .push(hook.clone()),
            Book::Store(store) => store.add_webhook(&stored(&hook)?).await?,
        }
        Ok(hook)
    }

    /// `owner`'s webhooks, oldest first.
    pub async fn of(&self, owner: &str) -> Result<Vec<Webhook>, WebhookError> {
        match &self.inner.book {
            Book::Memory(map) => Ok(lock(map).get(owner).cloned().unwrap_or_default()),
            Book::Store(store) => store
                .webhooks_of(owner)
                .await?
                .into_iter()
                .map(from_stored)
                .collect(),
        }
    }

    /// Deletes `owner`'s webhook `id`, and what was kept of its deliveries.
    pub async fn delete(&self, owner: &str, id: &str) -> Result<(), WebhookError> {
        let deleted = match &self.inner.book {
            Book::Memory(map) => {
                let mut map = lock(map);
                let hooks = map.entry(owner.to_owned()).or_default();
                let before = hooks.len();
                hooks.retain(|h| h.id != id);
                before != hooks.len()
            }
            Book::Store(store) => store.delete_webhook(owner, id).await?,
        };
        if !deleted {
            return Err(WebhookError::NotFound(id.to_owned()));
        }
        lock(&self.inner.deliveries).remove(id);
        Ok(())
    }

    /// The last deliveries of `owner`'s webhook `id`, newest first.
    pub async fn deliveries(&self, owner: &str, id: &str) -> Result<Vec<Delivery>, WebhookError> {
        if !self.of(owner).await?.iter().any(|h| h.id == id) {
            return Err(WebhookError::NotFound(id.to_owned()));
        }
        let kept = lock(&self.inner.deliveries);
        Ok(kept
            .get(id)
            .map(|d| d.iter().cloned().collect())
            .unwrap_or_default())
    }

    /// Posts `notice` to each of `user`'s webhooks that asked for its event, in the
    /// background.
    pub async fn post(&self, user: &str, notice: &Notice) {
        let hooks = match self.of(user).await {
            Ok(hooks) => hooks,
            Err(e) => {
                tracing::warn!(user, error = %e, "webhooks could not be read: a notice is not posted");
                return;
            }
        };
        for hook in hooks
            .into_iter()
            .filter(|h| h.events.contains(&notice.event))
        {
            let webhooks = self.clone();
            let (user, notice) = (user.to_owned(), notice.clone());
            tokio::spawn(async move { webhooks.deliver(&hook, &user, &notice).await });
        }
    }

    /// Posts `notice` to `hook` until it is taken, refused for good, or the retry time
    /// is over, keeping how it went.
    async fn deliver(&self, hook: &Webhook, user: &str, notice: &Notice) {
        let now = Timestamp::from_datetime(Utc::now());
        let mut delivery = Delivery {
            id: ulid::Ulid::new().to_string(),
            event: notice.event,
            title: notice.title.clone(),
            state: DeliveryState::Pending,
            attempts: 0,
            status: None,
            error: None,
            first_attempt: now,
            last_attempt: now,
        };
        let inner = &self.inner;
        if inner.waiting.fetch_add(1, Ordering::AcqRel) >= WAITING {
            inner.waiting.fetch_sub(1, Ordering::AcqRel);
            delivery.state = DeliveryState::Failed;
            delivery.error = Some(format!("{WAITING} deliveries were waiting already"));
            self.keep(&hook.id, delivery);
            return;
        }
        let body = shape::body(hook.format, user, notice, &now.to_string());
        let started = Instant::now();
        let mut delay = FIRST_DELAY;
        loop {
            let outcome = match inner.in_flight.acquire().await {
                Ok(_place) => self.attempt(hook, &delivery.id, notice, &body).await,
                Err(_) => Err((None, "the server is stopping".to_owned())),
            };
            delivery.attempts += 1;
            delivery.last_attempt = Timestamp::from_datetime(Utc::now());
            match outcome {
                Ok(status) => {
                    delivery.state = DeliveryState::Delivered;
                    delivery.status = Some(status);
                    delivery.error = None;
                }
                Err((status, error)) => {
                    delivery.status = status;
                    delivery.error = Some(error);
                    let final_refusal = status.is_some_and(|s| {
                        let s = StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_REQUEST);
                        s.is_client_error()
                            && s != StatusCode::REQUEST_TIMEOUT
                            && s != StatusCode::TOO_MANY_REQUESTS
                    });
                    let out_of_time = started.elapsed() + delay > inner.rules.retry_for;
                    if final_refusal || out_of_time {
                        delivery.state = DeliveryState::Failed;
                    }
                }
            }
            self.keep(&hook.id, delivery.clone());
            if delivery.state != DeliveryState::Pending {
                break;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(LONGEST_DELAY);
        }
        inner.waiting.fetch_sub(1, Ordering::AcqRel);
    }

    /// One POST: the receiver's 2xx status, or its status and why it failed.
    async fn attempt(
        &self,
        hook: &Webhook,
        delivery: &str,
        notice: &Notice,
        body: &str,
    ) -> Result<u16, (Option<u16>, String)> {
        let url = Url::parse(&hook.url).map_err(|e| (None, e.to_string()))?;
        // The name may resolve elsewhere now than when it was registered; an address
        // in the URL itself never reaches the resolver.
        address::check(&url, self.inner.rules.allow_private)
            .await
            .map_err(|e| (None, e.to_string()))?;
        let sent_at = Utc::now().timestamp();
        let answer = self
            .inner
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                "X-Tickwire-Signature",
                shape::signature(&hook.secret, sent_at, body),
            )
            .header("X-Tickwire-Event", notice.event.name())
            .header("X-Tickwire-Delivery", delivery)
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| (None, describe(&e)))?;
        let status = answer.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else if status.is_redirection() {
            Err((
                Some(status.as_u16()),
                "redirects are not followed".to_owned(),
            ))
        } else {
            Err((
                Some(status.as_u16()),
                format!("the receiver answered {status}"),
            ))
        }
    }

    fn keep(&self, hook: &str, delivery: Delivery) {
        let mut kept = lock(&self.inner.deliveries);
        let list = kept.entry(hook.to_owned()).or_default();
        match list.iter_mut().find(|d| d.id == delivery.id) {
            Some(held) => *held = delivery,
            None => {
                list.push_front(delivery);
                list.truncate(KEPT_DELIVERIES);
            }
        }
    }
}

/// A transport error with its cause (reqwest's own text says only "error sending
/// request").
fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn stored(hook: &Webhook) -> Result<StoredWebhook, WebhookError> {
    Ok(StoredWebhook {
        id: hook.id.clone(),
        owner: hook.owner.clone(),
        url: hook.url.clone(),
        events: serde_json::to_string(&hook.events).map_err(StoreError::from)?,
        secret: hook.secret.clone(),
        format: hook.format.name().to_owned(),
        created_ms: hook.created.unix_ms(),
    })
}

fn from_stored(row: StoredWebhook) -> Result<Webhook, WebhookError> {
    Ok(Webhook {
        events: serde_json::from_str(&row.events).map_err(StoreError::from)?,
        format: Format::parse(&row.format).unwrap_or_default(),
        created: Timestamp::from_unix_ms(row.created_ms),
        id: row.id,
        owner: row.owner,
        url: row.url,
        secret: row.secret,
    })
}
