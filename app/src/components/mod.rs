//! Reusable pieces of the dashboard.
//!
//! - Everywhere: [`header`], [`status`] (connection dot, real-time toggle), [`sign_in`]
//!   (the token panel, whose token the header shows), [`notifications`] (the user's
//!   notices), [`toast`],
//!   [`metrics`] (stream metrics; grids of figures), [`table`], [`form`] fields and
//!   [`format`] (how values are written), [`download`] (text saved as a file).
//! - Every page with a price: [`price_chart`] (over `crate::chart`).
//! - Backtests: [`csv_upload`] (a CSV from the user's disk), [`replay`] (a finished
//!   run's record played back into the run's components, or an NDJSON file of one),
//!   [`run_history`] (past runs and sessions, kept by the store) and [`compare_view`]
//!   (two to four runs side by side).
//! - Controls: [`asked`] (what became of a pause, resume, cancel or stop).
//! - A backtest run: [`run_header`] (title, status, pause/resume/cancel), then
//!   [`run_body`]: [`run_progress`], [`run_chart`] (its bars, fills and strategy lines),
//!   [`equity_charts`] (over [`line_chart`], against buy and hold),
//!   `metrics::RunMetrics`, [`period_breakdown`], [`trades_table`], [`log_list`].
//! - Sessions: [`sessions_overview`] (every running one, live).
//! - A session: [`session_header`] (countdown, orders by hand, stop), then [`session_body`]:
//!   `metrics::SessionStats`, [`session_chart`] beside [`reasoning`] (thinking and
//!   decisions), [`positions_table`].
//!
//! Run and session components take the topic's state signal (from
//! `stream::use_topic_state`) and read only what they show.

pub mod asked;
pub mod compare_view;
pub mod csv_upload;
pub mod download;
pub mod equity_charts;
pub mod form;
pub mod format;
pub mod header;
pub mod line_chart;
pub mod log_list;
pub mod metrics;
pub mod notifications;
pub mod period_breakdown;
pub mod positions_table;
pub mod price_chart;
pub mod reasoning;
pub mod replay;
pub mod run_body;
pub mod run_chart;
pub mod run_header;
pub mod run_history;
pub mod run_progress;
pub mod session_body;
pub mod session_chart;
pub mod session_header;
pub mod sessions_overview;
pub mod sign_in;
pub mod status;
pub mod sweep_view;
pub mod sync_view;
pub mod table;
pub mod toast;
pub mod trades_table;
