//! Parameter sweeps: every combination of a grid of a strategy's parameters run on the
//! same bars, on every core, each result streamed to `sweep:{ID}` as it lands
//! (docs/SPEC.md section 10, "Sweeps").
//!
//! - [`grid`]: the grid checked and counted before it is expanded.
//! - [`evaluate`]: the combinations run on worker threads, one silent engine each, the
//!   results landed in batches.
//! - [`live`]: a sweep as it streams: its stretches, pause / resume / cancel, its end.
//! - [`spread`]: on Redis, a sweep's combinations shared by every instance of the
//!   cluster, and each instance's loop that runs its share.
//! - [`request`]: a request checked into a plan. [`registry`]: the sweeps of one
//!   server, by id, kept with the run history.

pub mod evaluate;
pub mod grid;
pub mod live;
pub mod registry;
pub mod request;
pub mod spread;

pub use registry::Sweeps;
pub use request::SweepLimits;
