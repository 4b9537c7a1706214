//! The CSV dialect of Plio's downloads: pandas' `DataFrame.to_csv(index=False)` on Linux, i.e.
//! Python's `csv.QUOTE_MINIMAL` with `\n` line ends, plus plio's one deliberate difference,
//! the formula-injection guard on text people typed.

use chrono::{DateTime, Utc};

use super::py::float_repr;

/// A CSV file being written.
pub struct Csv(String);

impl Csv {
    /// A file with its header line.
    pub fn new(header: &[&str]) -> Self {
        let mut csv = Csv(String::new());
        csv.row(header.iter().map(|h| h.to_string()));
        csv
    }

    /// Appends a row of rendered cells.
    pub fn row(&mut self, cells: impl IntoIterator<Item = String>) {
        for (i, cell) in cells.into_iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            // Python's csv quotes a field holding the delimiter, the quote character or a
            // character of the line terminator (`\n`); a lone `\r` is written as is.
            if cell.contains([',', '"', '\n']) {
                self.0.push('"');
                self.0.push_str(&cell.replace('"', "\"\""));
                self.0.push('"');
            } else {
                self.0.push_str(&cell);
            }
        }
        self.0.push('\n');
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A cell of text that people typed (answers, question texts and options, names, links, event
/// details, identifiers): a leading `=`, `+`, `-`, `@`, tab or carriage return gets a `'` so
/// spreadsheets do not run it as a formula. Never used on numeric columns.
pub fn text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// [`text`] of a nullable value (NULL is an empty cell).
pub fn opt_text(s: Option<&str>) -> String {
    s.map(text).unwrap_or_default()
}

/// A float8 value as pandas writes a float64 column: Python's `repr`, NaN as an empty cell.
pub fn float(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        float_repr(x)
    }
}

/// A timestamptz as pandas writes it (`str(Timestamp)` in UTC): `2026-01-02 03:04:05+00:00`,
/// with `.ffffff` only when the microseconds are not zero, decided cell by cell.
pub fn timestamp(t: &DateTime<Utc>) -> String {
    let micros = t.timestamp_subsec_micros();
    let base = t.format("%Y-%m-%d %H:%M:%S");
    if micros == 0 {
        format!("{base}+00:00")
    } else {
        format!("{base}.{micros:06}+00:00")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn one_row(cells: &[&str]) -> String {
        let mut csv = Csv::new(&["a", "b"]);
        csv.row(cells.iter().map(|c| c.to_string()));
        csv.into_string()
    }

    #[test]
    fn quoting_is_pythons_quote_minimal_with_newline_line_ends() {
        assert_eq!(one_row(&["x", ""]), "a,b\nx,\n");
        assert_eq!(
            one_row(&["a,b", "say \"hi\""]),
            "a,b\n\"a,b\",\"say \"\"hi\"\"\"\n"
        );
        assert_eq!(
            one_row(&["two\nlines", "a\rb"]),
            "a,b\n\"two\nlines\",a\rb\n"
        );
        assert_eq!(one_row(&[" lead", "\ttab"]), "a,b\n lead,\ttab\n");
    }

    #[test]
    fn typed_text_that_looks_like_a_formula_gets_a_quote_mark() {
        for (cell, want) in [
            ("=cmd", "'=cmd"),
            ("+91 98", "'+91 98"),
            ("-1.5", "'-1.5"),
            ("@sum", "'@sum"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("a=b", "a=b"),
            (" =x", " =x"),
            ("", ""),
        ] {
            assert_eq!(text(cell), want, "{cell:?}");
        }
        assert_eq!(opt_text(None), "");
        // Applied before quoting.
        assert_eq!(
            one_row(&[&text("=HYPERLINK(\"x\")"), "1"]),
            "a,b\n\"'=HYPERLINK(\"\"x\"\")\",1\n"
        );
        // Numbers are not text: a negative number keeps its sign.
        assert_eq!(float(-1.5), "-1.5");
    }

    #[test]
    fn timestamps_have_a_space_and_microseconds_only_when_not_zero() {
        let t = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(timestamp(&t), "2026-01-02 03:04:05+00:00");
        let at = |micros: i64| timestamp(&(t + chrono::Duration::microseconds(micros)));
        assert_eq!(at(123_456), "2026-01-02 03:04:05.123456+00:00");
        assert_eq!(at(500_000), "2026-01-02 03:04:05.500000+00:00");
        assert_eq!(at(120), "2026-01-02 03:04:05.000120+00:00");
    }

    #[test]
    fn float_cells_are_python_repr_and_nan_is_empty() {
        assert_eq!(float(0.0), "0.0");
        assert_eq!(float(7.0), "7.0");
        assert_eq!(float(1e16), "1e+16");
        assert_eq!(float(f64::NAN), "");
    }
}
