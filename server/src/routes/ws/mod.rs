//! WebSocket endpoints: the multiplexed `/api/ws` and the dedicated stream paths, which
//! subscribe on connect and resume from `?since=S&epoch=E`.

mod connection;

use app::protocol::{Epoch, Since, Symbol, Topic};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::ApiError;
use crate::state::AppState;

/// `?since=S&epoch=E` on a dedicated stream path.
#[derive(Debug, Default, Deserialize)]
pub struct ResumeQuery {
    since: Option<String>,
    epoch: Option<String>,
}

impl ResumeQuery {
    /// Both or neither; `since` a whole number.
    pub fn into_since(self) -> Result<Option<Since>, ApiError> {
        match (self.since, self.epoch) {
            (None, None) => Ok(None),
            (Some(seq), Some(epoch)) => {
                let seq = seq
                    .parse()
                    .map_err(|_| ApiError::bad_request(format!("`since` must be a whole number, got `{seq}`")))?;
                Ok(Some(Since { seq, epoch: Epoch(epoch) }))
            }
            (Some(_), None) => Err(ApiError::bad_request("`since` needs `epoch` too")),
            (None, Some(_)) => Err(ApiError::bad_request("`epoch` needs `since` too")),
        }
    }
}

/// `/api/ws`: subscriptions are made by the client's `subscribe` actions.
pub async fn multiplexed(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    upgrade(ws, state, Vec::new())
}

/// `/api/ws/stream/market-data/{symbol}`: `market:{symbol}`, subscribed on connect.
pub async fn market_data(
    ws: WebSocketUpgrade,
    Path(symbol): Path<String>,
    Query(resume): Query<ResumeQuery>,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let symbol = Symbol::parse(&symbol).map_err(ApiError::bad_request)?;
    let since = resume.into_since()?;
    Ok(upgrade(ws, state, vec![(Topic::market(&symbol), since)]))
}

fn upgrade(ws: WebSocketUpgrade, state: AppState, initial: Vec<(Topic, Option<Since>)>) -> Response {
    let max = state.limits.max_message_bytes;
    ws.max_message_size(max).max_frame_size(max).on_upgrade(move |socket| connection::run(socket, state, initial))
}
