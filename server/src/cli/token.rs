//! `tickwire token`: signs a token for a server started with the same `--jwt-secret`
//! (docs/SPEC.md sections 11 and 12), printed alone on stdout.

use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::auth::{Claims, TokenKeys};
use crate::config::duration;

/// Flags of `tickwire token`.
#[derive(Args, Debug, Clone)]
pub struct TokenArgs {
    /// Who the token is for: the owner of the backtests and sessions it starts, and of
    /// the personal channel `user:{SUB}` (`[A-Za-z0-9_.@-]{1,64}`).
    #[arg(long)]
    pub sub: String,
    /// Topic patterns it may follow, comma separated; a trailing `*` matches any
    /// suffix (default: `market:*`).
    #[arg(long, value_delimiter = ',')]
    pub topics: Option<Vec<String>>,
    /// Topic patterns it may publish to through `/api/publish`, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub publish: Vec<String>,
    /// An admin sees and controls every run.
    #[arg(long)]
    pub admin: bool,
    /// How long it is valid: `90s`, `30m`, `1h`, …
    #[arg(long, default_value = "1h", value_parser = duration)]
    pub ttl: Duration,
    /// The server's secret (at least 32 bytes).
    #[arg(long, env = "TICKWIRE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: String,
    /// The server's `--max-ttl`: a longer `--ttl` is refused here, as the server would
    /// refuse the token.
    #[arg(long, env = "TICKWIRE_MAX_TTL", default_value = "30d", value_parser = duration)]
    pub max_ttl: Duration,
}

/// The signed token for `args`.
pub fn issue(args: &TokenArgs) -> anyhow::Result<String> {
    if let Err(e) = protocol::validate_user(&args.sub) {
        anyhow::bail!("--sub {e}: it names the personal channel user:{{SUB}}");
    }
    if args.ttl.is_zero() {
        anyhow::bail!("--ttl must be longer than 0");
    }
    if args.ttl > args.max_ttl {
        anyhow::bail!(
            "--ttl {}s is longer than --max-ttl {}s: the server would refuse the token",
            args.ttl.as_secs(),
            args.max_ttl.as_secs()
        );
    }
    let claims = Claims {
        sub: args.sub.clone(),
        exp: crate::auth::now_secs().saturating_add(args.ttl.as_secs()),
        topics: args.topics.clone(),
        publish: args.publish.clone(),
        admin: args.admin,
    };
    TokenKeys::hs256(&args.jwt_secret)?
        .issue(&claims)
        .context("signing the token")
}

pub fn run(args: &TokenArgs) -> anyhow::Result<()> {
    println!("{}", issue(args)?);
    Ok(())
}
