//! The rules a field's value must follow, shared by message validation (the hub) and
//! request validation (backtests, sessions, accounts): each rule passes, or fails with
//! one [`FieldError`] shape, "`field` must be …, got …", when it fails.

use std::fmt::Display;

/// A field whose value breaks a rule: which field, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct FieldError {
    pub field: &'static str,
    pub problem: String,
}

impl FieldError {
    pub fn new(field: &'static str, problem: impl Display) -> Self {
        FieldError {
            field,
            problem: problem.to_string(),
        }
    }
}

/// `v` is a finite number.
pub fn finite(field: &'static str, v: f64) -> Result<(), FieldError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(FieldError::new(field, "must be a finite number"))
    }
}

/// `v` is a finite number above zero.
pub fn positive(field: &'static str, v: f64) -> Result<(), FieldError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("must be a positive number, got {}", shown(v)),
        ))
    }
}

/// `v` is a finite number, zero or above.
pub fn non_negative(field: &'static str, v: f64) -> Result<(), FieldError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("must be zero or more, got {}", shown(v)),
        ))
    }
}

/// `lo <= v <= hi`.
pub fn within(field: &'static str, v: f64, lo: f64, hi: f64) -> Result<(), FieldError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!(
                "must be between {} and {}, got {}",
                shown(lo),
                shown(hi),
                shown(v)
            ),
        ))
    }
}

/// `min <= v`, for counts and durations.
pub fn at_least<T: PartialOrd + Display>(
    field: &'static str,
    v: T,
    min: T,
) -> Result<(), FieldError> {
    if v >= min {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("must be at least {min}, got {v}"),
        ))
    }
}

/// `s` has a character other than whitespace.
pub fn non_empty(field: &'static str, s: &str) -> Result<(), FieldError> {
    if s.trim().is_empty() {
        Err(FieldError::new(field, "must not be empty"))
    } else {
        Ok(())
    }
}

/// The longest text one field of a message may carry (docs/SPEC.md section 12).
pub const MAX_TEXT_BYTES: usize = 8 * 1024;

/// The most items a list or map field of a message may hold (a run's equity comes in
/// batches of at most 1,001 points).
pub const MAX_LIST_ITEMS: usize = 10_000;

/// A list or map `field` of `len` items holds at most [`MAX_LIST_ITEMS`].
pub fn items(field: &'static str, len: usize) -> Result<(), FieldError> {
    if len > MAX_LIST_ITEMS {
        return Err(FieldError::new(
            field,
            format!("must hold at most {MAX_LIST_ITEMS} items, got {len}"),
        ));
    }
    Ok(())
}

/// A map of named numbers (`params`, `indicators`): at most [`MAX_LIST_ITEMS`] names,
/// each a bounded text, each value finite.
pub fn named_numbers<'a>(
    field: &'static str,
    map: impl ExactSizeIterator<Item = (&'a String, &'a f64)>,
) -> Result<(), FieldError> {
    items(field, map.len())?;
    for (name, v) in map {
        texts(&[(field, name)])?;
        finite(field, *v)?;
    }
    Ok(())
}

/// Each `(field, text)` is at most [`MAX_TEXT_BYTES`] long.
pub fn texts(fields: &[(&'static str, &str)]) -> Result<(), FieldError> {
    for (field, text) in fields {
        if text.len() > MAX_TEXT_BYTES {
            return Err(FieldError::new(
                field,
                format!("must be at most {MAX_TEXT_BYTES} bytes, got {}", text.len()),
            ));
        }
    }
    Ok(())
}

/// A number as a person reads it: plain up to 1e15, in exponent form beyond
/// (`1e300`, not three hundred digits).
fn shown(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e15 {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_names_the_field_and_the_value() {
        assert_eq!(positive("cash", 5.0), Ok(()));
        assert_eq!(
            positive("cash", -3.0).unwrap_err().to_string(),
            "`cash` must be a positive number, got -3"
        );
        assert_eq!(
            within("commission", 0.7, 0.0, 0.5).unwrap_err().to_string(),
            "`commission` must be between 0 and 0.5, got 0.7"
        );
        assert_eq!(
            within("cash", 1e300, 0.0, 1e12).unwrap_err().to_string(),
            "`cash` must be between 0 and 1000000000000, got 1e300"
        );
        assert_eq!(
            at_least("progress_every_bars", 0usize, 1)
                .unwrap_err()
                .to_string(),
            "`progress_every_bars` must be at least 1, got 0"
        );
        assert_eq!(non_empty("message", "  ").unwrap_err().field, "message");
        assert!(finite("pnl", f64::NAN).is_err());
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        assert_eq!(
            texts(&[("chunk", "ok"), ("reason", &long)])
                .unwrap_err()
                .to_string(),
            "`reason` must be at most 8192 bytes, got 8193"
        );
        assert!(texts(&[("chunk", &long[1..])]).is_ok());
        assert!(non_negative("volume", 0.0).is_ok());
        assert!(within("pct", f64::INFINITY, 0.0, 100.0).is_err());
    }
}
