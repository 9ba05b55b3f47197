//! OHLCV bars from the CSV files traders have (docs/MARKETS.md, "CSV files"): the
//! shared data's shape (an unnamed date column, then Open, High, Low, Close, Volume),
//! freqtrade's, Yahoo's (with `Adj Close`), MetaTrader's exports, Binance's kline
//! dumps; delimited by `,`, `;` or tab. [`layout`] finds the columns, [`time`] reads
//! the times (without a zone, UTC). One reader for uploads, `--data-dir` and
//! `--replay`.

mod layout;
mod time;

use std::path::Path;

use layout::{Layout, TimeColumns};

/// Bars as parallel columns (fast to scan), oldest first. As JSON (a sweep's spec
/// shared through Redis), every value survives exactly: serde_json round-trips floats.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bars {
    /// Bar open times, milliseconds since the Unix epoch.
    pub time: Vec<i64>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    pub volume: Vec<f64>,
}

/// Why a dataset could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// No layout fits the file's first line.
    #[error("{path}: {problem}")]
    Layout { path: String, problem: String },
    #[error("{path}, line {line}: {problem}")]
    Row {
        path: String,
        line: u64,
        problem: String,
    },
    #[error("{path}: no bars")]
    Empty { path: String },
}

impl Bars {
    pub fn len(&self) -> usize {
        self.close.len()
    }

    pub fn is_empty(&self) -> bool {
        self.close.is_empty()
    }

    /// Loads a CSV file the server names itself (a flag, the command line): errors
    /// name its path.
    pub fn load(path: &Path) -> Result<Bars, DataError> {
        Bars::load_as(path, &path.display().to_string())
    }

    /// Loads a CSV file a client named: errors name it as `label` (what the client
    /// gave), never by the server's path.
    pub fn load_as(path: &Path, label: &str) -> Result<Bars, DataError> {
        let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
            path: label.to_owned(),
            source,
        })?;
        Bars::parse(&text, label)
    }

    /// Parses CSV text in any layout [`layout`] knows; `name` labels errors.
    pub fn parse(text: &str, name: &str) -> Result<Bars, DataError> {
        let text = text.trim_start_matches('\u{feff}');
        let first_line = text.lines().next().unwrap_or_default();
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(layout::delimiter(first_line))
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let row_error = |line: u64, problem: String| DataError::Row {
            path: name.to_owned(),
            line,
            problem,
        };
        let mut records = reader.records();
        let Some(first) = records.next() else {
            return Err(DataError::Empty {
                path: name.to_owned(),
            });
        };
        let first = first.map_err(|e| row_error(1, e.to_string()))?;
        let fields: Vec<&str> = first.iter().collect();
        let layout = layout::detect(&fields, layout::delimiter(first_line)).map_err(|problem| {
            DataError::Layout {
                path: name.to_owned(),
                problem,
            }
        })?;
        let mut reading = Reading::new(layout);
        if !reading.layout.header {
            reading.row(&first).map_err(|p| row_error(1, p))?;
        }
        for record in records {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                row_error(line, e.to_string())
            })?;
            let line = record.position().map_or(0, |p| p.line());
            reading.row(&record).map_err(|p| row_error(line, p))?;
        }
        if reading.bars.is_empty() {
            return Err(DataError::Empty {
                path: name.to_owned(),
            });
        }
        Ok(reading.finish())
    }
}

/// Bars being read in a known layout.
struct Reading {
    layout: Layout,
    bars: Bars,
    /// MetaTrader's tick volume, kept in case the real volume is all zeros.
    tick_volume: Vec<f64>,
}

impl Reading {
    fn new(layout: Layout) -> Self {
        Reading {
            layout,
            bars: Bars::default(),
            tick_volume: Vec::new(),
        }
    }

    /// Adds the bar of one row; why it is none.
    fn row(&mut self, record: &csv::StringRecord) -> Result<(), String> {
        let layout = &self.layout;
        let text = |idx: usize| record.get(idx).unwrap_or_default();
        let number = |idx: usize, label: &str| -> Result<f64, String> {
            let raw = text(idx);
            raw.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{label} `{raw}` is not a number"))
        };
        let (time, raw_time) = match layout.time {
            TimeColumns::One(at) => (time::parse(text(at)), text(at).to_owned()),
            TimeColumns::Split { date, time } => (
                time::join(text(date), text(time)),
                format!("{} {}", text(date), text(time)),
            ),
        };
        let time = time
            .ok_or_else(|| format!("`{raw_time}` is not a time; accepted: {}", time::ACCEPTED))?;
        if self.bars.time.last().is_some_and(|&last| time <= last) {
            return Err("bars must be in increasing time order".into());
        }
        let [open, high, low, close] = layout.prices;
        let (o, h, l, c) = (
            number(open, "Open")?,
            number(high, "High")?,
            number(low, "Low")?,
            number(close, "Close")?,
        );
        if o <= 0.0 || c <= 0.0 || h < o.max(c) || l > o.min(c) {
            return Err(format!("inconsistent prices O {o} H {h} L {l} C {c}"));
        }
        let volume = number(layout.volume, "Volume")?;
        if let Some(tick) = layout.tick_volume {
            self.tick_volume.push(number(tick, "TickVol")?);
        }
        let bars = &mut self.bars;
        bars.time.push(time);
        bars.open.push(o);
        bars.high.push(h);
        bars.low.push(l);
        bars.close.push(c);
        bars.volume.push(volume);
        Ok(())
    }

    /// The bars, with MetaTrader's tick volume where its real volume is all zeros.
    fn finish(mut self) -> Bars {
        if !self.tick_volume.is_empty() && self.bars.volume.iter().all(|&v| v == 0.0) {
            self.bars.volume = self.tick_volume;
        }
        self.bars
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    #[test]
    fn the_shared_data_shape_parses_dates_and_datetimes() {
        let bars = Bars::parse(",Open,High,Low,Close,Volume\n2004-08-19,100,104.06,95.96,100.34,22351900\n2004-08-20,101.01,109.08,100.5,108.31,11428600\n", "t").unwrap();
        assert_eq!(bars.len(), 2);
        assert_eq!(bars.time[1] - bars.time[0], 86_400_000);
        assert_eq!(bars.close, vec![100.34, 108.31]);
        let hourly = Bars::parse(
            ",Open,High,Low,Close,Volume\n2017-04-19 09:00:00,1.0716,1.0722,1.07083,1.07219,1413\n",
            "t",
        )
        .unwrap();
        assert_eq!(
            hourly.time[0],
            NaiveDateTime::parse_from_str("2017-04-19 09:00:00", "%Y-%m-%d %H:%M:%S")
                .unwrap()
                .and_utc()
                .timestamp_millis()
        );
    }

    #[test]
    fn bad_files_are_refused_with_the_line_and_the_problem() {
        let cases = [
            (
                ",Open,High,Low,Close\n2004-08-19,1,1,1,1\n",
                "missing `Volume` (columns: , open, high, low, close); accepted: a header",
            ),
            (
                ",Open,High,Low,Close,Volume\n2004-08-19,1,1,1,x,5\n",
                "line 2: Close `x` is not a number",
            ),
            (
                ",Open,High,Low,Close,Volume\nyesterday,1,1,1,1,5\n",
                "line 2: `yesterday` is not a time; accepted: RFC 3339",
            ),
            (
                ",Open,High,Low,Close,Volume\n2004-08-20,1,1,1,1,5\n2004-08-19,1,1,1,1,5\n",
                "line 3: bars must be in increasing time order",
            ),
            (
                ",Open,High,Low,Close,Volume\n2004-08-19,1,0.5,1,1,5\n",
                "line 2: inconsistent prices",
            ),
            (",Open,High,Low,Close,Volume\n", "no bars"),
        ];
        for (text, expected) in cases {
            let err = Bars::parse(text, "data.csv").unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(err.starts_with("data.csv"), "{err}");
        }
        let err = Bars::load(Path::new("/no/such/file.csv"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read /no/such/file.csv"), "{err}");
    }

    #[test]
    fn the_files_traders_have_read_as_the_same_bars() {
        // 2017-04-19 09:00 and 10:00 UTC, in each layout.
        let files = [
            // freqtrade
            "date,open,high,low,close,volume\n2017-04-19T09:00:00+00:00,1.0716,1.0722,1.07083,1.07219,1413\n2017-04-19T10:00:00+00:00,1.0722,1.0730,1.0720,1.0725,900\n",
            // Yahoo, with `Adj Close` before the volume
            "Date,Open,High,Low,Close,Adj Close,Volume\n2017-04-19 09:00:00,1.0716,1.0722,1.07083,1.07219,1.07,1413\n2017-04-19 10:00:00,1.0722,1.0730,1.0720,1.0725,1.07,900\n",
            // epoch seconds, `;`
            "Timestamp;Open;High;Low;Close;Volume\n1492592400;1.0716;1.0722;1.07083;1.07219;1413\n1492596000;1.0722;1.0730;1.0720;1.0725;900\n",
            // MetaTrader 5, tab-separated, tick volume where the real one is all zeros
            "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n2017.04.19\t09:00:00\t1.0716\t1.0722\t1.07083\t1.07219\t1413\t0\t12\n2017.04.19\t10:00:00\t1.0722\t1.0730\t1.0720\t1.0725\t900\t0\t12\n",
            // Binance klines, no header, epoch milliseconds
            "1492592400000,1.0716,1.0722,1.07083,1.07219,1413,1492596399999,1515.1,10,700,750.2,0\n1492596000000,1.0722,1.0730,1.0720,1.0725,900,1492599999999,965.0,8,450,482.6,0\n",
            // Binance klines since 2025: epoch microseconds
            "1492592400000000,1.0716,1.0722,1.07083,1.07219,1413,1492596399999999,1515.1,10,700,750.2,0\n1492596000000000,1.0722,1.0730,1.0720,1.0725,900,1492599999999999,965.0,8,450,482.6,0\n",
            // MetaTrader 4 history export, no header
            "2017.04.19,09:00,1.0716,1.0722,1.07083,1.07219,1413\n2017.04.19,10:00,1.0722,1.0730,1.0720,1.0725,900\n",
        ];
        for text in files {
            let bars = Bars::parse(text, "t").unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(bars.time, [1_492_592_400_000, 1_492_596_000_000], "{text}");
            assert_eq!(bars.close, [1.07219, 1.0725], "{text}");
            assert_eq!(bars.volume, [1413.0, 900.0], "{text}");
        }
    }

    #[test]
    fn a_file_in_no_known_layout_names_what_is_accepted() {
        let err = Bars::parse("a|b|c\n1|2|3\n", "odd.csv")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "odd.csv: no header, and 1 columns fit no headerless layout; accepted:"
            ),
            "{err}"
        );
        let err = Bars::parse(
            "date,open,high,low,close,volume\n19/04/2017,1,1,1,1,1\n",
            "x.csv",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("x.csv, line 2: `19/04/2017` is not a time; accepted:"),
            "{err}"
        );
    }

    #[test]
    fn the_shared_files_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
        for (file, bars) in [
            ("GOOG.csv", 2148),
            ("EURUSD.csv", 5000),
            ("BTCUSD.csv", 156),
        ] {
            assert_eq!(Bars::load(&dir.join(file)).unwrap().len(), bars, "{file}");
        }
    }
}
