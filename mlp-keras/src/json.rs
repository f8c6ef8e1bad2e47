//! JSON both ways: a small ordered writer for the files we write (keys in Keras's order,
//! numbers as the shortest text that reads back as the same `f32`), and typed lookups over
//! a parsed `serde_json::Value` that name the place of every problem.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// A JSON value to write, objects keeping their keys in the order given.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum J {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, already as its JSON text.
    Num(String),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<J>),
    /// An object, keys in order.
    Obj(Vec<(&'static str, J)>),
}

impl J {
    /// A string.
    pub(crate) fn str(s: impl Into<String>) -> J {
        J::Str(s.into())
    }

    /// An `f32` as the shortest decimal that reads back as the same `f32` (what Python
    /// prints for the value Keras would cast to it). Callers pass finite values only
    /// (the IR holds no others); a non-finite one is written `null` rather than as text
    /// no JSON reader accepts.
    pub(crate) fn f32(x: f32) -> J {
        if x.is_finite() {
            J::Num(float_text(x))
        } else {
            J::Null
        }
    }

    /// A whole number.
    pub(crate) fn int(n: impl Into<i128>) -> J {
        J::Num(n.into().to_string())
    }

    /// An object.
    pub(crate) fn obj<const N: usize>(entries: [(&'static str, J); N]) -> J {
        J::Obj(entries.into())
    }

    /// Appends `key: value` to an object (no-op on anything else).
    pub(crate) fn push(&mut self, key: &'static str, value: J) {
        if let J::Obj(entries) = self {
            entries.push((key, value));
        }
    }

    /// The text, with Python's `json.dumps` separators (`", "` and `": "`), as Keras
    /// writes its `config.json`.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => out.push_str(n),
            J::Str(s) => write_string(out, s),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_string(out, key);
                    out.push_str(": ");
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// The shortest decimal text that reads back (in f64, then rounded to f32, as the spec
/// parser and Python-then-Keras both read it) as exactly `x`; Rust's `Debug` form
/// (`0.001`, `1e-7`, `1.0`) when it does, else the exact value of `x` as an f64.
pub(crate) fn float_text(x: f32) -> String {
    let short = format!("{x:?}");
    match short.parse::<f64>() {
        Ok(back) if back as f32 == x => short,
        _ => format!("{:?}", f64::from(x)),
    }
}

/// A JSON string literal with the escapes JSON requires (Python's `ensure_ascii=False`
/// form: non-ASCII characters are written as they are).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON object being read, with the place it sits at (`config.json: layer 2 `dense`
/// (Dense)`) for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Obj<'a> {
    /// The entries.
    pub(crate) map: &'a Map<String, Value>,
}

/// A problem found while reading a JSON value: the key path inside the object being read
/// and what is wrong. The caller adds the object's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bad(pub(crate) String);

impl<'a> Obj<'a> {
    /// `value` as an object, or a problem naming `what` it should have been.
    pub(crate) fn of(value: &'a Value, what: &str) -> Result<Obj<'a>, Bad> {
        match value {
            Value::Object(map) => Ok(Obj { map }),
            other => Err(Bad(format!("{what} is {}, not an object", describe(other)))),
        }
    }

    /// The value at `key`, `None` when absent.
    pub(crate) fn get(self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// The value at `key`, treating an absent key as `null`.
    pub(crate) fn get_or_null(self, key: &str) -> &'a Value {
        self.map.get(key).unwrap_or(&Value::Null)
    }

    /// The required value at `key`.
    pub(crate) fn req(self, key: &str) -> Result<&'a Value, Bad> {
        self.map
            .get(key)
            .ok_or_else(|| Bad(format!("`{key}` is missing")))
    }

    /// The object at `key`.
    pub(crate) fn obj(self, key: &str) -> Result<Obj<'a>, Bad> {
        Obj::of(self.req(key)?, &format!("`{key}`"))
    }

    /// The string at `key`.
    pub(crate) fn string(self, key: &str) -> Result<&'a str, Bad> {
        match self.req(key)? {
            Value::String(s) => Ok(s),
            other => Err(Bad(format!("`{key}` is {}, not a string", describe(other)))),
        }
    }

    /// The boolean at `key`, `default` when absent or `null`.
    pub(crate) fn bool_or(self, key: &str, default: bool) -> Result<bool, Bad> {
        match self.get_or_null(key) {
            Value::Null => Ok(default),
            Value::Bool(b) => Ok(*b),
            other => Err(Bad(format!(
                "`{key}` is {}, not true or false",
                describe(other)
            ))),
        }
    }

    /// The number at `key` as f64, `default` when absent or `null`.
    pub(crate) fn f64_or(self, key: &str, default: f64) -> Result<f64, Bad> {
        match self.get_or_null(key) {
            Value::Null => Ok(default),
            v => number(v, key),
        }
    }

    /// The required number at `key` as f64.
    pub(crate) fn f64(self, key: &str) -> Result<f64, Bad> {
        number(self.req(key)?, key)
    }

    /// The whole number at `key`.
    pub(crate) fn int(self, key: &str) -> Result<i64, Bad> {
        integer(self.req(key)?, key)
    }

    /// Refuses `key` unless it is absent or holds `expected` (written in the message as
    /// Keras writes it); `why` says what mlp does instead.
    pub(crate) fn expect(self, key: &str, expected: &Value, why: &str) -> Result<(), Bad> {
        match self.map.get(key) {
            None => Ok(()),
            Some(v) if v == expected => Ok(()),
            // Keras writes floats such as 0.0 that serde_json may read as the integer 0.
            Some(v) if v.as_f64().is_some() && v.as_f64() == expected.as_f64() => Ok(()),
            Some(v) => Err(Bad(format!(
                "`{key}` = {} is not supported ({why}; mlp reads only {})",
                short(v),
                short(expected)
            ))),
        }
    }

    /// Refuses every key that is not in `known` and holds something other than `null`
    /// (a key a newer Keras added with its neutral value passes; one that asks for
    /// something mlp does not do is named).
    pub(crate) fn refuse_unknown(self, known: &[&str]) -> Result<(), Bad> {
        for (key, value) in self.map {
            if !known.contains(&key.as_str()) && !value.is_null() {
                return Err(Bad(format!(
                    "`{key}` = {} is not a setting mlp knows",
                    short(value)
                )));
            }
        }
        Ok(())
    }
}

/// `v` as a number (f64), or a problem naming `key`.
pub(crate) fn number(v: &Value, key: &str) -> Result<f64, Bad> {
    match v.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        _ => Err(Bad(format!("`{key}` is {}, not a finite number", short(v)))),
    }
}

/// `v` as a whole number, or a problem naming `key` (a float with no fraction counts).
pub(crate) fn integer(v: &Value, key: &str) -> Result<i64, Bad> {
    if let Some(n) = v.as_i64() {
        return Ok(n);
    }
    match v.as_f64() {
        // Exactly representable whole numbers only: |x| ≤ 2^53.
        Some(x) if x.fract() == 0.0 && x.abs() <= 9_007_199_254_740_992.0 => Ok(x as i64),
        _ => Err(Bad(format!("`{key}` is {}, not a whole number", short(v)))),
    }
}

/// A short description of a value's kind for messages (`a string`, `null`).
pub(crate) fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A value as compact JSON for a message, cut at 80 characters.
pub(crate) fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() <= 80 {
        text
    } else {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests {
    use super::{float_text, J};

    #[test]
    fn floats_are_the_shortest_text_that_reads_back_as_the_same_f32() {
        for (x, text) in [
            (0.001f32, "0.001"),
            (1e-7, "1e-7"),
            (0.999, "0.999"),
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-0.5, "-0.5"),
            (1.0 / 255.0, "0.003921569"),
        ] {
            assert_eq!(float_text(x), text);
            assert_eq!(text.parse::<f64>().unwrap() as f32, x);
        }
    }

    #[test]
    fn objects_keep_their_order_and_strings_are_escaped() {
        let j = J::obj([
            ("b", J::int(1)),
            ("a", J::str("x\"y\\\n")),
            ("c", J::Arr(vec![J::Null, J::Bool(false)])),
        ]);
        let text = j.to_text();
        assert_eq!(text, r#"{"b": 1, "a": "x\"y\\\n", "c": [null, false]}"#);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["a"], "x\"y\\\n");
    }
}
