//! tickwire's server: one axum app that serves the dashboard, the HTTP API and the
//! WebSocket streams on one port.
//!
//! The layers, top down (each imports only from the ones below it; `scripts/check/layers.py`
//! holds it so in the test command):
//!
//! - [`cli`]: the command line (`serve`, the default, and the clients `watch`,
//!   `backtest`, `token`); [`config`]: `serve`'s flags; [`serve`]: wires everything
//!   together and runs until shutdown.
//! - [`routes`]: HTTP and WebSocket endpoints, their state and the `Caller` extractor;
//!   [`contract`]: the JSON Schema of the wire and the OpenAPI document they serve.
//! - [`access`]: who may follow or control a topic, over the run books (one place).
//! - [`backtest`], [`session`]: the run engines and their books; [`runs`]: the book of
//!   runs of one kind (ids, owners, the cap on active ones, retention); [`refusal`]:
//!   why a request to start or reach a run was refused.
//! - [`feed`]: market-data producers publishing into the hub (their indicators, shared
//!   with the engines and the dashboard, are `protocol::indicators`).
//! - [`hub`]: topics, sequence numbers, history, snapshots, fan-out (no HTTP).
//! - [`auth`]: tokens, topic patterns and callers (docs/SPEC.md section 12; no HTTP).

/// The server's allocator, for a binary to install: jemalloc, whose background thread
/// gives pages freed after a burst back to the system within about a second instead of
/// keeping them for later allocations (glibc kept them: BENCHMARKS.md, "Memory after a
/// burst"). The `tickwire` binary and `tickwire-bench` both install it, so a benchmark
/// measures what the product runs.
#[macro_export]
macro_rules! allocator {
    () => {
        #[global_allocator]
        static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

        /// jemalloc's options (read before the first allocation).
        #[allow(
            non_upper_case_globals,
            unsafe_code,
            reason = "jemalloc reads this documented symbol before the first allocation; nothing safe can set it earlier"
        )]
        #[export_name = "_rjem_malloc_conf"]
        pub static malloc_conf: &[u8] =
            b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";
    };
}

pub mod access;
pub mod admission;
pub mod auth;
pub mod backtest;
pub mod cli;
pub mod config;
pub mod contract;
pub mod feed;
pub mod hub;
pub mod notices;
pub mod refusal;
pub mod routes;
pub mod runs;
pub mod serve;
pub mod session;
pub mod store;
pub mod sweep;
