//! Where a bar file keeps what: its delimiter, whether it has a header, and which
//! column holds the time and each price (docs/MARKETS.md, "CSV files").
//!
//! - With a header: a time column (unnamed first, or `date`, `time`, `timestamp`,
//!   `datetime`, `open time`, `<DATE>` + `<TIME>` as two), then `Open`, `High`, `Low`,
//!   `Close` and `Volume` (or `Vol`, or MetaTrader's `<TICKVOL>` when `<VOL>` is all
//!   zeros), in any case and with or without `<>`; other columns (`Adj Close`,
//!   `<SPREAD>`, …) are ignored.
//! - Without one: Binance's kline dumps (12 columns, open time first), MetaTrader 4's
//!   history export (7: date, time, OHLCV), or 6 columns of time and OHLCV.

/// A column's name as compared: lower case, without `<>`, spaces, `_` or `-`.
fn normalise(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// What the layouts are, for errors.
pub const ACCEPTED: &str = "a header with a time column (date, time, timestamp, or <DATE> + \
<TIME>) and Open, High, Low, Close, Volume in any case; or no header: Binance klines (12 \
columns), MetaTrader 4 (7: date, time, OHLCV) or 6 (time, OHLCV); delimited by `,`, `;` or tab";

/// Where the time of a row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeColumns {
    One(usize),
    /// A date and a time of day.
    Split {
        date: usize,
        time: usize,
    },
}

/// The columns of a bar file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub delimiter: u8,
    /// The first row is a header, not a bar.
    pub header: bool,
    pub time: TimeColumns,
    /// Open, high, low, close.
    pub prices: [usize; 4],
    pub volume: usize,
    /// MetaTrader's tick volume, used when the real one is all zeros.
    pub tick_volume: Option<usize>,
}

/// The most frequent of `,`, `;` and tab in the first line (`,` when none is there).
pub fn delimiter(first_line: &str) -> u8 {
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| (first_line.bytes().filter(|b| b == d).count(), *d == b','))
        .unwrap_or(b',')
}

/// The layout of a file whose first record is `first` (split by `delimiter`); why
/// none fits otherwise.
pub fn detect(first: &[&str], delimiter: u8) -> Result<Layout, String> {
    let names: Vec<String> = first.iter().map(|f| normalise(f)).collect();
    let is_header = names
        .iter()
        .any(|n| matches!(n.as_str(), "open" | "high" | "low" | "close"));
    if is_header {
        from_header(&names, delimiter)
    } else {
        headerless(first.len(), delimiter)
    }
}

fn from_header(names: &[String], delimiter: u8) -> Result<Layout, String> {
    let find = |wanted: &[&str]| names.iter().position(|n| wanted.contains(&n.as_str()));
    let time = match (find(&["date"]), find(&["time"])) {
        (Some(date), Some(time)) => TimeColumns::Split { date, time },
        (Some(at), None) | (None, Some(at)) => TimeColumns::One(at),
        (None, None) => match find(&[
            "timestamp",
            "datetime",
            "opentime",
            "timeopen",
            "gmttime",
            "localtime",
        ]) {
            Some(at) => TimeColumns::One(at),
            None if names.first().is_some_and(String::is_empty) => TimeColumns::One(0),
            None => return Err(missing("a time column (date, time or timestamp)", names)),
        },
    };
    let column = |label: &str, wanted: &[&str]| {
        find(wanted).ok_or_else(|| missing(&format!("`{label}`"), names))
    };
    let prices = [
        column("Open", &["open"])?,
        column("High", &["high"])?,
        column("Low", &["low"])?,
        column("Close", &["close"])?,
    ];
    let tick_volume = find(&["tickvol", "tickvolume"]);
    let volume = match find(&["volume", "vol", "realvolume"]) {
        Some(at) => at,
        None => tick_volume.ok_or_else(|| missing("`Volume`", names))?,
    };
    Ok(Layout {
        delimiter,
        header: true,
        time,
        prices,
        volume,
        tick_volume: tick_volume.filter(|&t| t != volume),
    })
}

fn headerless(columns: usize, delimiter: u8) -> Result<Layout, String> {
    let (time, first_price) = match columns {
        6 | 12 => (TimeColumns::One(0), 1),
        7 => (TimeColumns::Split { date: 0, time: 1 }, 2),
        n => {
            return Err(format!(
                "no header, and {n} columns fit no headerless layout; accepted: {ACCEPTED}"
            ))
        }
    };
    let p = first_price;
    Ok(Layout {
        delimiter,
        header: false,
        time,
        prices: [p, p + 1, p + 2, p + 3],
        volume: p + 4,
        tick_volume: None,
    })
}

fn missing(what: &str, names: &[String]) -> String {
    format!(
        "missing {what} (columns: {}); accepted: {ACCEPTED}",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Vec<&str> {
        line.split([',', ';', '\t']).collect()
    }

    fn layout(line: &str) -> Result<Layout, String> {
        detect(&split(line), delimiter(line))
    }

    #[test]
    fn headers_are_read_in_any_case_with_the_time_where_it_is() {
        let pandas = layout(",Open,High,Low,Close,Volume").unwrap();
        assert_eq!(
            (pandas.time, pandas.prices, pandas.volume),
            (TimeColumns::One(0), [1, 2, 3, 4], 5)
        );
        let freqtrade = layout("date,open,high,low,close,volume").unwrap();
        assert_eq!(freqtrade.time, TimeColumns::One(0));
        let yahoo = layout("Date,Open,High,Low,Close,Adj Close,Volume").unwrap();
        assert_eq!((yahoo.prices, yahoo.volume), ([1, 2, 3, 4], 6));
        let ms = layout("timestamp;open;high;low;close;volume").unwrap();
        assert_eq!(ms.delimiter, b';');
        let mt5 =
            layout("<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>")
                .unwrap();
        assert_eq!(mt5.delimiter, b'\t');
        assert_eq!(mt5.time, TimeColumns::Split { date: 0, time: 1 });
        assert_eq!((mt5.volume, mt5.tick_volume), (7, Some(6)));
        let byte_order_mark = layout("\u{feff}Time,Open,High,Low,Close,Volume").unwrap();
        assert_eq!(byte_order_mark.time, TimeColumns::One(0));
    }

    #[test]
    fn headerless_files_are_told_by_their_column_count() {
        let binance = layout("1499040000000,0.01634790,0.80000000,0.01575800,0.01577100,148976.11427815,1499644799999,2434.19055334,308,1756.87402397,28.46694368,0").unwrap();
        assert_eq!(
            (binance.header, binance.time, binance.prices, binance.volume),
            (false, TimeColumns::One(0), [1, 2, 3, 4], 5)
        );
        let mt4 = layout("2017.04.19,09:00,1.0716,1.0722,1.07083,1.07219,1413").unwrap();
        assert_eq!(mt4.time, TimeColumns::Split { date: 0, time: 1 });
        let err = layout("2017-04-19,1,2,3").unwrap_err();
        assert!(err.contains("4 columns fit no headerless layout"), "{err}");
    }

    #[test]
    fn a_header_without_a_needed_column_names_it_and_what_is_there() {
        let err = layout("date,open,high,low,volume").unwrap_err();
        assert!(
            err.starts_with("missing `Close` (columns: date, open, high, low, volume)"),
            "{err}"
        );
        let err = layout("when,open,high,low,close,volume").unwrap_err();
        assert!(err.starts_with("missing a time column"), "{err}");
    }
}
