//! Forward-test (paper-trading) sessions: a strategy on the live market feed. Each
//! session is a hub client of `market:{SYMBOL}` (it warms up from the snapshot's
//! candles) and publishes its reasoning, decisions, positions, stats and countdown to
//! `session:{ID}`, and its orders, position, P&L and risk to `trading:{SYMBOL}`.
//!
//! - [`request`]: a request checked into a plan. [`registry`]: the sessions, by id.
//! - `run`: one session's loop. [`paper`]: its trading logic, free of I/O.
//! - [`brain`]: who decides, a built-in strategy or an outside agent.
//! - `market`: the session's subscription to the market feed, resumed on gaps.

pub mod brain;
mod market;
pub mod paper;
pub mod registry;
pub mod request;
mod run;

pub use registry::Sessions;
pub use request::SessionPlan;
pub use run::COUNTDOWN_EVERY;
