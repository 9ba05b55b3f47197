//! OHLCV bars from CSV files of the shared data's shape: an unnamed (or `date`/`time`)
//! first column holding a date or date-time, then Open, High, Low, Close, Volume
//! (any case). Times without a zone are taken as UTC.

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};

/// Bars as parallel columns (fast to scan), oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
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
    #[error("{path}: missing column `{column}` (need Open, High, Low, Close, Volume after a date column)")]
    MissingColumn { path: String, column: &'static str },
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

    /// Parses CSV text; `name` labels errors.
    pub fn parse(text: &str, name: &str) -> Result<Bars, DataError> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let row_error = |line: u64, problem: String| DataError::Row {
            path: name.to_owned(),
            line,
            problem,
        };
        let headers = reader
            .headers()
            .map_err(|e| row_error(1, e.to_string()))?
            .clone();
        let column = |wanted: &'static str| {
            headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(wanted))
                .ok_or(DataError::MissingColumn {
                    path: name.to_owned(),
                    column: wanted,
                })
        };
        let [open, high, low, close, volume] = [
            column("Open")?,
            column("High")?,
            column("Low")?,
            column("Close")?,
            column("Volume")?,
        ];
        let mut bars = Bars::default();
        for (i, record) in reader.records().enumerate() {
            let line = i as u64 + 2;
            let record = record.map_err(|e| row_error(line, e.to_string()))?;
            let field = |idx: usize, label: &str| -> Result<f64, DataError> {
                let raw = record.get(idx).unwrap_or_default();
                raw.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| row_error(line, format!("{label} `{raw}` is not a number")))
            };
            let time = parse_time(record.get(0).unwrap_or_default()).ok_or_else(|| {
                row_error(
                    line,
                    format!(
                        "`{}` is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)",
                        record.get(0).unwrap_or_default()
                    ),
                )
            })?;
            if bars.time.last().is_some_and(|&last| time <= last) {
                return Err(row_error(
                    line,
                    "bars must be in increasing time order".into(),
                ));
            }
            let (o, h, l, c) = (
                field(open, "Open")?,
                field(high, "High")?,
                field(low, "Low")?,
                field(close, "Close")?,
            );
            if o <= 0.0 || c <= 0.0 || h < o.max(c) || l > o.min(c) {
                return Err(row_error(
                    line,
                    format!("inconsistent prices O {o} H {h} L {l} C {c}"),
                ));
            }
            bars.time.push(time);
            bars.open.push(o);
            bars.high.push(h);
            bars.low.push(l);
            bars.close.push(c);
            bars.volume.push(field(volume, "Volume")?);
        }
        if bars.is_empty() {
            return Err(DataError::Empty {
                path: name.to_owned(),
            });
        }
        Ok(bars)
    }
}

fn parse_time(raw: &str) -> Option<i64> {
    if let Ok(t) = NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S") {
        return Some(t.and_utc().timestamp_millis());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S") {
        return Some(t.and_utc().timestamp_millis());
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().map(|d| {
        d.and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp_millis()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
                "missing column `Volume`",
            ),
            (
                ",Open,High,Low,Close,Volume\n2004-08-19,1,1,1,x,5\n",
                "line 2: Close `x` is not a number",
            ),
            (
                ",Open,High,Low,Close,Volume\nyesterday,1,1,1,1,5\n",
                "line 2: `yesterday` is not a date",
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
