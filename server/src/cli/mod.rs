//! The `tickwire` command line: `serve` (the default, its flags in `config`) and the
//! command-line clients of a tickwire server.
//!
//! - [`watch`]: follows a topic in the terminal, resuming across reconnects.
//! - [`backtest`]: runs a backtest in-process, or on a server, and prints its result.
//! - [`token`]: signs a token for a server in token mode.
//! - [`download`]: a venue's history as a CSV file the backtests read.

pub mod backtest;
pub mod download;
pub mod token;
pub mod watch;

use clap::{Parser, Subcommand};

use crate::config::ServeArgs;

/// tickwire: streams market data, backtests and paper-trading sessions to the browser.
#[derive(Parser, Debug)]
#[command(name = "tickwire", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once at start-up and consumed at once"
)]
pub enum Command {
    /// Serve the dashboard, the API and the sockets on one port (the default).
    Serve(ServeArgs),
    /// Follow a topic in the terminal (a progress bar for backtests); resumes across reconnects.
    Watch(watch::WatchArgs),
    /// Run a backtest in-process (or on a server with --url) and print its result.
    Backtest(backtest::BacktestArgs),
    /// Sign a token for a server in token mode (same --jwt-secret).
    Token(token::TokenArgs),
    /// Download a venue's candles into a CSV file the backtests read (resumes).
    Download(download::DownloadArgs),
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn no_subcommand_means_serve_with_the_spec_defaults() {
        let cli = Cli::try_parse_from(["tickwire"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(cli.serve.history, 2048);
        assert_eq!(cli.serve.heartbeat_secs, 30);
        assert_eq!(cli.serve.max_message_bytes, 65_536);
        assert_eq!(cli.serve.max_backtests, 16);
        assert_eq!(cli.serve.max_sessions, 64);
        assert_eq!(cli.serve.retain_runs, Duration::from_secs(3600));
        assert_eq!(cli.serve.max_body_bytes, 16 << 20);
        assert_eq!(cli.serve.max_topics, 100_000);
        assert_eq!(cli.serve.topic_idle_secs, 600);
        assert!(cli.serve.jwt_secret.is_none() && !cli.serve.allow_anonymous);
        assert_eq!(
            cli.serve.max_ttl,
            crate::auth::MAX_TTL,
            "the flag's default is the rule's"
        );
        let token = Cli::try_parse_from(["tickwire", "token", "--sub", "a", "--jwt-secret", "s"]);
        match token.unwrap().command {
            Some(Command::Token(args)) => assert_eq!(args.max_ttl, crate::auth::MAX_TTL),
            other => panic!("not the token command: {other:?}"),
        }
    }

    #[test]
    fn bad_flag_values_are_refused_with_the_reason() {
        let err = Cli::try_parse_from(["tickwire", "serve", "--symbols", "BTC-USD,bad sym"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid symbol `bad sym`"), "{err}");
        let err = Cli::try_parse_from(["tickwire", "--interval", "5x"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid interval `5x`"), "{err}");
        assert!(Cli::try_parse_from(["tickwire", "--history", "0"]).is_err());
    }
}
