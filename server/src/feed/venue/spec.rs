//! `--feed`: `synthetic`, `csv`, `off`, or a venue with its symbols
//! (`binance:BTCUSDT,ETHUSDT`, `coinbase:BTC-USD`, `kraken:BTC/USD`), each symbol
//! optionally renamed (`binance:BTCUSDT=BTC`). A symbol's topic is `market:{SYMBOL}` in
//! upper case with `/` as `-`, or `market:{ALIAS}`.

use std::fmt;
use std::str::FromStr;

use protocol::{DataSource, Symbol};

/// A venue tickwire reads public market data from.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "lowercase")]
pub enum Venue {
    Binance,
    Coinbase,
    Kraken,
}

impl Venue {
    /// `binance`, `coinbase` or `kraken`.
    pub fn parse(text: &str) -> Result<Venue, String> {
        Venue::from_str(text.trim())
            .map_err(|_| format!("`{}` is no venue: binance, coinbase or kraken", text.trim()))
    }

    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn source(self) -> DataSource {
        match self {
            Venue::Binance => DataSource::Binance,
            Venue::Coinbase => DataSource::Coinbase,
            Venue::Kraken => DataSource::Kraken,
        }
    }

    /// Whether `symbol` is written as the venue writes its markets.
    fn is_market(self, symbol: &str) -> bool {
        let (base, quote) = match self {
            Venue::Binance => (symbol, ""),
            Venue::Coinbase => symbol.split_once('-').unwrap_or(("", "")),
            Venue::Kraken => symbol.split_once('/').unwrap_or(("", "")),
        };
        let part = |p: &str| {
            (1..=16).contains(&p.len())
                && p.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        };
        match self {
            Venue::Binance => base.len() >= 2 && part(base),
            Venue::Coinbase | Venue::Kraken => part(base) && part(quote),
        }
    }

    /// How the venue writes a market, for errors.
    fn market_form(self) -> &'static str {
        match self {
            Venue::Binance => "BTCUSDT (base and quote together, upper case)",
            Venue::Coinbase => "BTC-USD (a product id)",
            Venue::Kraken => "BTC/USD (WebSocket v2's form)",
        }
    }
}

impl fmt::Display for Venue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One market of a venue feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueMarket {
    /// As the venue names it (`BTCUSDT`, `BTC-USD`, `BTC/USD`).
    pub venue_symbol: String,
    /// The topic's symbol (`market:{symbol}`).
    pub symbol: Symbol,
}

/// A venue and the markets read from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueFeed {
    pub venue: Venue,
    pub markets: Vec<VenueMarket>,
}

/// One `--feed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedSpec {
    /// The seeded GBM model (labelled synthetic), over `--symbols`.
    Synthetic,
    /// Real history replayed from the `--replay` CSV files.
    Csv,
    /// No feed: only what producers publish.
    Off,
    Venue(VenueFeed),
}

impl FromStr for FeedSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        match text {
            "synthetic" => return Ok(FeedSpec::Synthetic),
            "csv" => return Ok(FeedSpec::Csv),
            "off" => return Ok(FeedSpec::Off),
            _ => {}
        }
        let Some((venue, symbols)) = text.split_once(':') else {
            return Err(format!(
                "`{text}` is no feed: synthetic, csv, off, or VENUE:SYMBOL[,SYMBOL…] with VENUE binance, coinbase or kraken"
            ));
        };
        let venue = Venue::parse(venue)?;
        if symbols.trim().is_empty() {
            return Err(format!(
                "--feed {venue}: name its symbols ({venue}:{})",
                venue.market_form()
            ));
        }
        let markets = symbols
            .split(',')
            .map(|entry| market(venue, entry.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FeedSpec::Venue(VenueFeed { venue, markets }))
    }
}

/// `SYMBOL` or `SYMBOL=ALIAS` of `venue`.
fn market(venue: Venue, entry: &str) -> Result<VenueMarket, String> {
    let (venue_symbol, alias) = match entry.split_once('=') {
        Some((symbol, alias)) => (symbol.trim(), Some(alias.trim())),
        None => (entry, None),
    };
    if !venue.is_market(venue_symbol) {
        return Err(format!(
            "`{venue_symbol}` is not a {venue} market: write it like {}",
            venue.market_form()
        ));
    }
    let name = alias.map_or_else(|| venue_symbol.replace('/', "-"), str::to_uppercase);
    let symbol = Symbol::parse(&name).map_err(|e| {
        format!("{venue}:{entry} cannot name a topic ({e}): rename it with {venue}:{venue_symbol}=ALIAS")
    })?;
    Ok(VenueMarket {
        venue_symbol: venue_symbol.to_owned(),
        symbol,
    })
}

/// Decimals a market's prices are shown with: 2 when quoted in a fiat currency or a
/// dollar stablecoin, else 8 (a price in BTC or ETH).
pub fn price_decimals(venue_symbol: &str) -> u8 {
    const FIAT: [&str; 12] = [
        "USD", "USDT", "USDC", "FDUSD", "DAI", "EUR", "GBP", "JPY", "TRY", "BRL", "AUD", "CAD",
    ];
    let market = venue_symbol.to_ascii_uppercase();
    let in_money = match market.rsplit_once(['-', '/']) {
        // `BTC-USD`, `BTC/EUR`: the quote is after the separator.
        Some((_, quote)) => FIAT.contains(&quote),
        // `BTCUSDT`: base and quote together, the quote last.
        None => FIAT
            .iter()
            .any(|fiat| market.len() > fiat.len() && market.ends_with(fiat)),
    };
    if in_money {
        2
    } else {
        8
    }
}

/// Refuses two feeds that name the same topic, saying how to rename one. `feeds` are
/// each feed's name and the symbols it publishes.
pub fn check_distinct<'a>(
    feeds: impl IntoIterator<Item = (String, &'a [Symbol])>,
) -> Result<(), String> {
    let mut seen: std::collections::BTreeMap<&Symbol, String> = std::collections::BTreeMap::new();
    for (feed, symbols) in feeds {
        for symbol in symbols {
            if let Some(first) = seen.get(symbol) {
                return Err(format!(
                    "market:{symbol} is named by both {first} and {feed}: give one another name with VENUE:SYMBOL=ALIAS (for example {feed}={symbol}2), or drop it from --symbols"
                ));
            }
            seen.insert(symbol, feed.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn venue(text: &str) -> VenueFeed {
        match text.parse::<FeedSpec>() {
            Ok(FeedSpec::Venue(feed)) => feed,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn each_venue_names_its_markets_and_their_topics() {
        let binance = venue("binance:BTCUSDT,ETHUSDT");
        assert_eq!(binance.venue, Venue::Binance);
        let topics: Vec<&str> = binance.markets.iter().map(|m| m.symbol.as_str()).collect();
        assert_eq!(topics, ["BTCUSDT", "ETHUSDT"]);
        assert_eq!(
            venue("coinbase:BTC-USD").markets[0].symbol.as_str(),
            "BTC-USD"
        );
        let kraken = venue("kraken:BTC/USD");
        assert_eq!(
            (
                kraken.markets[0].venue_symbol.as_str(),
                kraken.markets[0].symbol.as_str()
            ),
            ("BTC/USD", "BTC-USD")
        );
        let renamed = venue("coinbase:BTC-USD=cb-btc");
        assert_eq!(
            (
                renamed.markets[0].venue_symbol.as_str(),
                renamed.markets[0].symbol.as_str()
            ),
            ("BTC-USD", "CB-BTC")
        );
        assert_eq!("synthetic".parse::<FeedSpec>(), Ok(FeedSpec::Synthetic));
    }

    #[test]
    fn a_bad_feed_says_what_is_wrong() {
        for (text, expected) in [
            ("bitstamp:BTCUSD", "`bitstamp` is no venue"),
            ("binance:", "name its symbols"),
            (
                "binance:btcusdt",
                "`btcusdt` is not a binance market: write it like BTCUSDT",
            ),
            (
                "kraken:BTC-USD",
                "`BTC-USD` is not a kraken market: write it like BTC/USD",
            ),
            ("coinbase:BTCUSD", "`BTCUSD` is not a coinbase market"),
            ("yahoo", "`yahoo` is no feed"),
        ] {
            let err = text.parse::<FeedSpec>().unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn prices_quoted_in_money_get_cents_and_others_eight_decimals() {
        for (market, decimals) in [
            ("BTCUSDT", 2),
            ("BTC-USD", 2),
            ("BTC/EUR", 2),
            ("ETHBTC", 8),
            ("ETH-BTC", 8),
        ] {
            assert_eq!(price_decimals(market), decimals, "{market}");
        }
    }

    #[test]
    fn two_feeds_on_one_topic_are_refused_with_the_way_out() {
        let btc = [Symbol::parse("BTC-USD").unwrap()];
        let err = check_distinct([
            ("the synthetic feed".to_owned(), &btc[..]),
            ("coinbase:BTC-USD".to_owned(), &btc[..]),
        ])
        .unwrap_err();
        assert!(
            err.starts_with(
                "market:BTC-USD is named by both the synthetic feed and coinbase:BTC-USD"
            ),
            "{err}"
        );
        assert!(err.contains("VENUE:SYMBOL=ALIAS"), "{err}");
    }
}
