//! tickwire's server: one axum app that serves the dashboard, the HTTP API and the
//! WebSocket streams on one port.
//!
//! - [`auth`]: tokens, callers and what they may do (docs/SPEC.md section 12).
//! - [`hub`]: topics, sequence numbers, history, snapshots, fan-out (no HTTP).
//! - [`feed`]: market-data producers publishing into the hub.
//! - [`backtest`]: the backtest engine, its strategies and its streaming.
//! - [`session`]: paper-trading sessions on the live feed.
//! - [`request`]: why a request was refused, one shape for backtests and sessions.
//! - [`runs`]: the book of runs of one kind: ids, the cap on active ones, retention.
//! - [`routes`]: HTTP and WebSocket endpoints over the hub.
//! - [`serve`]: wires them together and runs until shutdown.
//! - [`cli`]: command-line clients (`watch`, `backtest`, `token`).
//! - [`contract`]: the JSON Schema of the wire protocol and the OpenAPI document.

pub mod auth;
pub mod backtest;
pub mod cli;
pub mod config;
pub mod contract;
pub mod feed;
pub mod hub;
pub mod indicators;
pub mod request;
pub mod routes;
pub mod runs;
pub mod serve;
pub mod session;
pub mod state;
