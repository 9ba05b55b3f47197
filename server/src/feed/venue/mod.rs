//! Real markets: public trade feeds of Binance, Coinbase Exchange and Kraken
//! (docs/MARKETS.md). Each `--feed VENUE:SYMBOL[=ALIAS],…` runs one connection to its
//! venue for all its symbols; every trade print becomes a `tick` on `market:{SYMBOL}`,
//! candles are built from the prints at `--interval`, and a fresh topic starts with the
//! venue's own last candles from its REST API.
//!
//! - [`spec`]: the `--feed` grammar and the topic each symbol gets;
//! - [`api`]: what differs between venues (URLs, frames, candles), one module each;
//! - [`rest`]: the REST calls, within the venue's rate limits; [`history`]: candles
//!   over a span, paged by the venue's per-call limit;
//! - [`market`]: one symbol's prints, candles and analysis;
//! - [`connection`]: the socket's life (connect, read, reconnect with backoff);
//! - [`status`]: what `/api/ws/health` says of each feed.

pub mod api;
mod connection;
pub mod history;
mod market;
pub mod rest;
pub mod spec;
pub mod status;

pub use connection::{spawn, Endpoints, Timing};
pub use spec::{FeedSpec, Venue, VenueFeed, VenueMarket};
pub use status::{FeedChange, FeedState, FeedStatus, FeedStatuses};
