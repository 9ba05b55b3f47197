//! Who decides a session's trades: one of the built-in strategies, run on each closed
//! candle, or an outside agent (an LLM, any program) that posts its reasoning and
//! decision through `POST /api/sessions/{id}/thinking|decision` (docs/SPEC.md section 5).

use std::collections::BTreeMap;

use crate::backtest::{Strategy, StrategyError};

/// The name a request gives an outside agent's session.
pub const EXTERNAL: &str = "external";

/// A session's decision maker.
#[derive(Clone, Debug, PartialEq)]
pub enum Brain {
    /// A built-in strategy decides at each close.
    Rules(Strategy),
    /// An outside agent decides; a bar it lets pass is a hold.
    External,
}

impl Brain {
    /// `external` (which takes no parameters) or a built-in strategy with its parameters.
    pub fn from_request(name: &str, params: &BTreeMap<String, f64>) -> Result<Self, String> {
        if name != EXTERNAL {
            return Strategy::from_params(name, params)
                .map(Brain::Rules)
                .map_err(|e| match e {
                    StrategyError::Unknown(_) => format!("{e}, or {EXTERNAL} for an outside agent"),
                    e => e.to_string(),
                });
        }
        match params.keys().next() {
            Some(param) => Err(format!(
                "`{EXTERNAL}` has no parameter `{param}`: the agent keeps its own"
            )),
            None => Ok(Brain::External),
        }
    }

    /// The name requests use.
    pub fn name(&self) -> &'static str {
        match self {
            Brain::Rules(strategy) => strategy.name(),
            Brain::External => EXTERNAL,
        }
    }

    /// The parameters in effect.
    pub fn params(&self) -> BTreeMap<String, f64> {
        match self {
            Brain::Rules(strategy) => strategy.params(),
            Brain::External => BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_takes_no_parameters_and_unknown_names_mention_it() {
        assert_eq!(
            Brain::from_request("external", &BTreeMap::new()),
            Ok(Brain::External)
        );
        let params = BTreeMap::from([("fast".to_owned(), 3.0)]);
        let err = Brain::from_request("external", &params).unwrap_err();
        assert!(err.contains("no parameter `fast`"), "{err}");
        let err = Brain::from_request("oracle", &BTreeMap::new()).unwrap_err();
        assert!(err.contains("external"), "{err}");
        assert_eq!(
            Brain::from_request("sma_cross", &BTreeMap::new()).map(|b| b.name()),
            Ok("sma_cross")
        );
    }
}
