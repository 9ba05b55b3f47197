//! The `tickwire` binary: parse the command line, then hand off.

use clap::Parser;
use server::cli::{Cli, Command};

server::allocator!();

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
        Some(Command::Download(args)) => server::cli::download::run(args).await.map(drop),
        None => server::serve::run(cli.serve).await,
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
