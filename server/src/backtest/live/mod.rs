//! A backtest as it runs live: the plan on a blocking thread in stretches, what it
//! says published on its topic as it goes, and its pause, resume and cancel. The engine
//! itself (`engine`, `strategy`, `data`) knows nothing of this.
//!
//! - [`run`]: a plan on a blocking thread, publishing `started`, the stream and the
//!   result; paused, it holds no thread.
//! - [`observer`]: the engine's observer that turns the run into messages with
//!   frequency control (progress every N bars or T ms, equity batched, trades at once).
//! - [`publisher`]: the run's queue, and its messages serialised and published beside
//!   the engine, in order.
//! - [`logs`]: the engine's `tracing` events as the run's `log` messages.
//! - [`control`]: pause / resume / cancel. [`clock`]: running time, speed and pace.

pub mod clock;
pub mod control;
pub mod logs;
pub mod observer;
pub mod publisher;
pub mod run;
