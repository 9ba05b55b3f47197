//! `tickwire-bench`: tickwire's benchmark harness, a binary of its own so the product
//! binary carries none of it. BENCHMARKS.md lists the commands and their figures.
//!
//! - `tickwire-bench bench` ([`fanout`]): the hub end to end — subscribers, publishes
//!   and the server's CPU and memory, against a `tickwire` it starts or one already
//!   running.
//! - `tickwire-bench bench-engine` ([`engine`]): the backtest engine in bars/s, with
//!   streaming off and on.

mod engine;
mod fanout;
mod store;

use clap::{Parser, Subcommand};

// The same allocator, with the same options, as the `tickwire` binary.
server::allocator!();

/// tickwire's benchmarks.
#[derive(Parser, Debug)]
#[command(name = "tickwire-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Measure the hub: N subscribers × K published messages, or N idle connections.
    Bench(fanout::BenchArgs),
    /// Measure the backtest engine in bars/s, streaming off and on.
    BenchEngine(engine::BenchEngineArgs),
    /// Measure the store: a page of a large history, and opening one run.
    BenchStore(store::BenchStoreArgs),
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let result = match Cli::parse().command {
        Command::Bench(args) => fanout::run(args).await,
        Command::BenchEngine(args) => engine::run_cli(args),
        Command::BenchStore(args) => store::run(args).await,
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
