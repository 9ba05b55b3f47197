//! The `tickwire` binary: parse the command line, then hand off.

use clap::Parser;
use server::cli::{Cli, Command};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options: a background thread gives pages freed after a burst back to the
/// system within about a second, instead of keeping them for later allocations.
#[allow(
    non_upper_case_globals,
    unsafe_code,
    reason = "jemalloc reads this documented symbol before the first allocation; nothing safe can set it earlier"
)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Serve(args)) => server::serve::run(args).await,
        Some(Command::Watch(args)) => server::cli::watch::run(args).await,
        Some(Command::Backtest(args)) => server::cli::backtest::run_cli(args).await,
        Some(Command::Token(args)) => server::cli::token::run(&args),
        None => server::serve::run(cli.serve).await,
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
