//! The venues' REST calls, within their rules: `429` waits out `Retry-After` (capped),
//! `5xx` and network failures are retried a few times with backoff, and `451` (the
//! venue refuses this location) is an answer of its own, never retried in a storm.

use std::time::Duration;

use protocol::client::ReconnectPolicy;
use tokio_util::sync::CancellationToken;

/// Attempts of one call before it fails.
const ATTEMPTS: u32 = 4;
/// The longest `Retry-After` waited out; a longer one fails the call.
const LONGEST_WAIT: Duration = Duration::from_secs(60);
/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a REST call gave nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RestError {
    /// HTTP 451: the venue does not serve this location.
    #[error("{0} refuses requests from this location (HTTP 451): use a proxy with --feed-rest-url and --feed-ws-url, or another venue")]
    Restricted(&'static str),
    #[error("{venue} answered {status}: {body}")]
    Refused {
        venue: &'static str,
        status: u16,
        body: String,
    },
    /// It answered, with what does not read as what was asked.
    #[error("{venue}'s answer does not read: {why}")]
    Unreadable { venue: &'static str, why: String },
    #[error("{venue} did not answer ({why}) after {ATTEMPTS} attempts")]
    Unreachable { venue: &'static str, why: String },
    #[error("the server is shutting down")]
    Cancelled,
}

/// A REST client for one venue.
#[derive(Clone)]
pub struct Rest {
    venue: &'static str,
    client: reqwest::Client,
}

impl Rest {
    pub fn new(venue: &'static str) -> Self {
        let client = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .user_agent(concat!("tickwire/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Rest { venue, client }
    }

    /// The body of `GET url`, retried as the venue's rules allow.
    pub async fn get(&self, url: &str, shutdown: &CancellationToken) -> Result<String, RestError> {
        let venue = self.venue;
        let mut why = String::new();
        for attempt in 0..ATTEMPTS {
            let wait = match self.client.get(url).send().await {
                Ok(reply) => {
                    let status = reply.status().as_u16();
                    let retry_after = reply
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    match status {
                        200..=299 => return read_bounded(venue, reply).await,
                        451 => return Err(RestError::Restricted(venue)),
                        429 | 418 => {
                            let wait = retry_after.unwrap_or(Duration::from_secs(1));
                            why = format!(
                                "rate limited (HTTP {status}, Retry-After {}s)",
                                wait.as_secs()
                            );
                            if wait > LONGEST_WAIT {
                                return Err(RestError::Unreachable { venue, why });
                            }
                            wait
                        }
                        500..=599 => {
                            why = format!("HTTP {status}");
                            backoff(attempt)
                        }
                        _ => {
                            let body = reply.text().await.unwrap_or_default();
                            return Err(RestError::Refused {
                                venue,
                                status,
                                body: body.chars().take(200).collect(),
                            });
                        }
                    }
                }
                Err(e) => {
                    why = e.to_string();
                    backoff(attempt)
                }
            };
            tracing::warn!(venue, %url, %why, retry_in_ms = wait.as_millis() as u64, "venue REST call failed");
            tokio::select! {
                _ = shutdown.cancelled() => return Err(RestError::Cancelled),
                _ = tokio::time::sleep(wait) => {}
            }
        }
        Err(RestError::Unreachable { venue, why })
    }
}

/// The largest REST answer read (a page of 1,000 klines is about 150 KiB).
const MAX_BODY_BYTES: usize = 8 << 20;

/// The body of `reply`, refused past [`MAX_BODY_BYTES`].
async fn read_bounded(
    venue: &'static str,
    mut reply: reqwest::Response,
) -> Result<String, RestError> {
    let mut body = Vec::new();
    loop {
        match reply.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() <= MAX_BODY_BYTES => {
                body.extend_from_slice(&chunk);
            }
            Ok(Some(_)) => {
                return Err(RestError::Refused {
                    venue,
                    status: 200,
                    body: format!("an answer over {MAX_BODY_BYTES} bytes"),
                })
            }
            Ok(None) => break,
            Err(e) => {
                return Err(RestError::Unreachable {
                    venue,
                    why: e.to_string(),
                })
            }
        }
    }
    String::from_utf8(body).map_err(|_| RestError::Refused {
        venue,
        status: 200,
        body: "an answer that is not UTF-8".into(),
    })
}

/// Wait before retry `attempt` (0-based): 250 ms doubling, ±50 % (the stream clients'
/// rule, with a REST call's shorter base).
fn backoff(attempt: u32) -> Duration {
    let policy = ReconnectPolicy {
        base_ms: 250.0,
        jitter: 0.5,
        ..ReconnectPolicy::default()
    };
    Duration::from_secs_f64(policy.delay_ms(attempt, rand::random()) / 1000.0)
}
