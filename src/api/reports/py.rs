//! Python's renderings of what `json.loads` returns. Plio's CSVs are pandas' `to_csv` of such
//! values, so a cell is the value's `str()` (a float's `repr`).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A decoded JSON value as Python holds it (object keys in document order, as `json.loads`).
#[derive(Debug, Clone, PartialEq)]
pub enum Py {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    List(Vec<Py>),
    Dict(Vec<(String, Py)>),
}

impl Py {
    /// `json.loads(text)`.
    pub fn loads(text: &str) -> Result<Py, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// `self + 1` for a number (Plio's 0-based option index shown from 1); `None` otherwise.
    pub fn plus_one(&self) -> Option<Py> {
        match self {
            Py::Int(i) => Some(Py::Int(i + 1)),
            Py::Float(x) => Some(Py::Float(x + 1.0)),
            _ => None,
        }
    }

    /// Whether pandas counts it as a number when inferring a column's type.
    pub fn is_number(&self) -> bool {
        matches!(self, Py::Int(_) | Py::Float(_))
    }

    /// The number as a float64 column writes it (`2` → `2.0`); other values as `str()`.
    pub fn float_str(&self) -> String {
        match self {
            Py::Int(i) => float_repr(*i as f64),
            other => other.str(),
        }
    }

    /// Python's `str(self)`: a string is itself, everything else its `repr`.
    pub fn str(&self) -> String {
        match self {
            Py::Str(s) => s.clone(),
            other => other.repr(),
        }
    }

    /// Python's `repr(self)`.
    pub fn repr(&self) -> String {
        match self {
            Py::None => "None".into(),
            Py::Bool(true) => "True".into(),
            Py::Bool(false) => "False".into(),
            Py::Int(i) => i.to_string(),
            Py::Float(x) => float_repr(*x),
            Py::Str(s) => str_repr(s),
            Py::List(items) => format!(
                "[{}]",
                items.iter().map(Py::repr).collect::<Vec<_>>().join(", ")
            ),
            Py::Dict(entries) => format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", str_repr(k), v.repr()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, `.0` on integral values, and
/// exponent form (`1e+16`, `1e-05`) when the exponent is below -4 or at least 16.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // `{:e}` is Rust's shortest round-trip form: `-1.2345e-7`, `1e16`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if x < 0.0 { "-" } else { "" };
    if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{exp_sign}{:02}", exp.abs());
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        format!("{sign}{digits}{}.0", "0".repeat(int_len - digits.len()))
    } else {
        let (int, frac) = digits.split_at(int_len);
        format!("{sign}{int}.{frac}")
    }
}

/// Python's `repr(str)`: single quotes unless the text has `'` and no `"`; backslash escapes
/// for the quote, `\`, `\t`, `\n`, `\r` and non-printable characters (control, format and
/// separator characters other than the space).
fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !printable(c) => {
                let n = c as u32;
                out.push_str(&if n < 0x100 {
                    format!("\\x{n:02x}")
                } else if n < 0x10000 {
                    format!("\\u{n:04x}")
                } else {
                    format!("\\U{n:08x}")
                });
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable` for one character, for the categories it rejects that can be
/// known without Unicode tables: controls, separators other than the space, common format
/// characters and private use.
fn printable(c: char) -> bool {
    let n = c as u32;
    !(c.is_control()
        || matches!(
            n,
            0xA0 | 0xAD | 0x1680 | 0x180E | 0x202F | 0x205F | 0x3000 | 0xFEFF
        )
        || (0x2000..=0x200F).contains(&n)
        || (0x2028..=0x202E).contains(&n)
        || (0x2060..=0x206F).contains(&n)
        || (0xE000..=0xF8FF).contains(&n)
        || (0xFFF9..=0xFFFB).contains(&n)
        || n >= 0xF0000)
}

impl<'de> Deserialize<'de> for Py {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PyVisitor)
    }
}

struct PyVisitor;

impl<'de> Visitor<'de> for PyVisitor {
    type Value = Py;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Py, E> {
        Ok(Py::None)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Py, E> {
        Ok(Py::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Py, E> {
        Ok(Py::Int(i.into()))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Py, E> {
        Ok(Py::Int(u.into()))
    }
    fn visit_f64<E>(self, x: f64) -> Result<Py, E> {
        Ok(Py::Float(x))
    }
    fn visit_str<E>(self, s: &str) -> Result<Py, E> {
        Ok(Py::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Py, E> {
        Ok(Py::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Py, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Py::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Py, A::Error> {
        let mut entries: Vec<(String, Py)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Py>()? {
            // Like a Python dict: a repeated key keeps its first position and its last value.
            match entries.iter_mut().find(|(key, _)| *key == k) {
                Some(entry) => entry.1 = v,
                None => entries.push((k, v)),
            }
        }
        Ok(Py::Dict(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_render_as_python_repr() {
        for (x, want) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (5.0, "5.0"),
            (20.5, "20.5"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (123456.789, "123456.789"),
            (1234567.125, "1234567.125"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e22, "1e+22"),
            (-2.5e300, "-2.5e+300"),
            (1e-4, "0.0001"),
            (1.25e-4, "0.000125"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(float_repr(x), want, "{x:?}");
        }
    }

    #[test]
    fn decoded_json_renders_as_python_str() {
        let str_of = |t: &str| Py::loads(t).unwrap().str();
        assert_eq!(str_of("\"Paris, \\\"really\\\"\""), "Paris, \"really\"");
        assert_eq!(str_of("2"), "2");
        assert_eq!(str_of("2.50"), "2.5");
        assert_eq!(str_of("1e2"), "100.0");
        assert_eq!(str_of("true"), "True");
        assert_eq!(str_of("null"), "None");
        assert_eq!(str_of("[1, 3]"), "[1, 3]");
        assert_eq!(str_of("[]"), "[]");
        assert_eq!(
            str_of(r#"{"zz": {"a": null, "b": "x,y", "t": true}, "answer": [0, 2]}"#),
            "{'zz': {'a': None, 'b': 'x,y', 't': True}, 'answer': [0, 2]}"
        );
        assert_eq!(
            str_of(r#"["it's", "say \"hi\"", "both ' \""]"#),
            r#"["it's", 'say "hi"', 'both \' "']"#
        );
        assert_eq!(
            str_of(r#"["a\\b\tc\u0001\u00a0é"]"#),
            r"['a\\b\tc\x01\xa0é']"
        );
    }

    #[test]
    fn option_indexes_move_up_by_one_and_render_as_pandas_floats_when_asked() {
        let two = Py::loads("1").unwrap().plus_one().unwrap();
        assert_eq!(two.str(), "2");
        assert_eq!(two.float_str(), "2.0");
        assert_eq!(Py::Float(1.5).plus_one().unwrap().float_str(), "2.5");
        assert_eq!(Py::Str("1".into()).plus_one(), None);
    }
}
