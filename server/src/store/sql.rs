//! Statements built at run time with `$N` placeholders, which both SQLite and
//! PostgreSQL read (sqlx's `QueryBuilder` writes `?` for the Any driver, which
//! PostgreSQL does not).

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

/// A value bound to a placeholder.
#[derive(Clone, Debug)]
pub enum Value {
    Text(String),
    Int(i64),
}

/// SQL text and the values of its placeholders, in order.
#[derive(Default)]
pub struct Statement {
    text: String,
    values: Vec<Value>,
}

impl Statement {
    pub fn new(text: &str) -> Self {
        Statement {
            text: text.to_owned(),
            values: Vec::new(),
        }
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends the next placeholder, bound to `value`.
    pub fn bind(&mut self, value: Value) -> &mut Self {
        self.values.push(value);
        self.text.push_str(&format!("${}", self.values.len()));
        self
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut query = sqlx::query(&self.text);
        for value in &self.values {
            query = match value {
                Value::Text(text) => query.bind(text.as_str()),
                Value::Int(n) => query.bind(*n),
            };
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut s = Statement::new("SELECT 1 WHERE a = ");
        s.bind(Value::Int(1))
            .push(" AND b = ")
            .bind(Value::Text("x".into()));
        assert_eq!(s.text, "SELECT 1 WHERE a = $1 AND b = $2");
        assert_eq!(s.values.len(), 2);
    }
}
