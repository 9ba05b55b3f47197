//! `POST /api/sessions`: the request, and its validation into a [`SessionPlan`] against
//! the symbols the market feed publishes, or a [`RequestError`] naming the field.

use protocol::api::SessionRequest;
use protocol::{Interval, Symbol, SymbolInfo, Topic, TopicKind};

use super::brain::Brain;
use super::paper::RETAINED_CLOSES;
use crate::backtest::{Account, StrategyError};
use crate::refusal::{invalid, RequestError};

/// A validated session request, ready to run.
pub struct SessionPlan {
    pub id: String,
    pub topic: Topic,
    pub symbol: Symbol,
    /// The market feed's candle interval for the symbol.
    pub interval: Interval,
    pub brain: Brain,
    pub account: Account,
}

/// Checks every field of `request` against the symbols `feed` publishes.
pub fn plan(request: SessionRequest, feed: &[SymbolInfo]) -> Result<SessionPlan, RequestError> {
    let symbol = Symbol::parse(&request.symbol).map_err(|e| invalid("symbol", e))?;
    let interval = feed
        .iter()
        .find(|s| s.symbol == symbol)
        .ok_or_else(|| {
            invalid(
                "symbol",
                format!("no market feed publishes {symbol} (see GET /api/market/symbols)"),
            )
        })?
        .interval;
    let brain = Brain::from_request(&request.strategy, &request.params)
        .map_err(|e| invalid("strategy", e))?;
    if let Brain::Rules(strategy) = &brain {
        if let Err(StrategyError::DataTooShort { needed, .. }) =
            strategy.check_data(RETAINED_CLOSES)
        {
            return Err(invalid(
            "params",
            format!(
                "need {needed} bars of history, more than the {RETAINED_CLOSES} closes a session keeps"
            ),
            ));
        }
    }
    let account = Account::from_request(request.cash, request.commission)?;
    let id = request
        .id
        .unwrap_or_else(|| format!("s-{}", ulid::Ulid::new().to_string().to_lowercase()));
    let topic = Topic::new(TopicKind::Session, &id).map_err(|e| invalid("id", e))?;
    Ok(SessionPlan {
        id,
        topic,
        symbol,
        interval,
        brain,
        account,
    })
}
