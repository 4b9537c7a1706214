//! Migrations run one statement per round trip (issue 15).
//!
//! A Citus coordinator forwards some DDL (`CREATE INDEX` on a distributed schema's table, any
//! DDL on a reference table) to the workers as the text it received; a worker refuses a text
//! holding several commands ("cannot insert multiple commands into a prepared statement").
//! So migration scripts are split into statements here, and each is sent on its own through
//! the extended protocol (an unnamed prepared statement), which plain PostgreSQL also refuses
//! to run with several commands in it: a split that let two commands through fails on every
//! PostgreSQL, in every test, not only on Citus.

use diesel::connection::{BoxableConnection, SimpleConnection};
use diesel::migration::{Migration, MigrationMetadata, MigrationName, MigrationSource};
use diesel::pg::{Pg, PgConnection};
use diesel::RunQueryDsl;

/// Splits SQL text into statements: a `;` ends one unless it is inside a string, a quoted
/// identifier, a comment or a dollar-quoted body. Pieces holding only comments and blanks
/// are dropped; the rest are trimmed and keep no trailing `;`. Not understood (write them
/// with dollar quotes, or not in migrations): SQL-standard `BEGIN ATOMIC … END` bodies and
/// multi-action rules `DO (a; b)`; the extended protocol refuses what they split into, so a
/// migration using them fails loudly.
pub fn split(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i, mut code) = (0usize, 0usize, false);
    let mut push = |from: usize, to: usize, code: bool| {
        let piece = sql[from..to].trim();
        if code && !piece.is_empty() {
            out.push(piece);
        }
    };
    while let Some(&b) = bytes.get(i) {
        match b {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = find(bytes, i, b"\n").map_or(bytes.len(), |e| e + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = block_comment_end(bytes, i),
            b'\'' => {
                // E'…' strings take backslash escapes; standard strings only doubled quotes.
                let ident =
                    |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
                let escapes = i > 0
                    && matches!(bytes.get(i - 1), Some(b'E' | b'e'))
                    && !(i > 1 && ident(bytes.get(i - 2)));
                i = quoted_end(bytes, i, b'\'', escapes);
                code = true;
            }
            b'"' => {
                i = quoted_end(bytes, i, b'"', false);
                code = true;
            }
            b'$' => {
                if let Some(tag_end) = dollar_tag(bytes, i) {
                    let tag = bytes.get(i..=tag_end).unwrap_or_default();
                    i = find(bytes, tag_end + 1, tag).map_or(bytes.len(), |e| e + tag.len());
                } else {
                    i += 1;
                }
                code = true;
            }
            b';' => {
                push(start, i, code);
                i += 1;
                start = i;
                code = false;
            }
            _ => {
                code |= !b.is_ascii_whitespace();
                i += 1;
            }
        }
    }
    push(start, bytes.len(), code);
    out
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The index after a (nestable) block comment starting at `i`.
fn block_comment_end(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < bytes.len() {
        if bytes.get(i..).is_some_and(|r| r.starts_with(b"/*")) {
            depth += 1;
            i += 2;
        } else if bytes.get(i..).is_some_and(|r| r.starts_with(b"*/")) {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// The index after a quoted string or identifier opened at `i` (a doubled quote is one
/// quote character).
fn quoted_end(bytes: &[u8], mut i: usize, quote: u8, escapes: bool) -> usize {
    i += 1;
    while let Some(&b) = bytes.get(i) {
        if escapes && b == b'\\' {
            i += 2;
        } else if b == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// If a dollar quote (`$$` or `$tag$`) opens at `i`, the index of its closing `$`. A `$`
/// right after an identifier character or before a digit (`$1`) opens none.
fn dollar_tag(bytes: &[u8], i: usize) -> Option<usize> {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    if i > 0 && bytes.get(i - 1).copied().is_some_and(ident) {
        return None;
    }
    let mut j = i + 1;
    if bytes.get(j).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    while bytes.get(j).copied().is_some_and(ident) {
        j += 1;
    }
    (bytes.get(j) == Some(&b'$')).then_some(j)
}

/// Runs `sql` one statement per round trip, each as an unnamed prepared statement.
pub fn execute(conn: &mut PgConnection, sql: &str) -> diesel::QueryResult<()> {
    for statement in split(sql) {
        diesel::sql_query(statement).execute(conn)?;
    }
    Ok(())
}

/// What a migration would send, captured instead of executed.
#[derive(Default)]
struct Capture(String);

impl SimpleConnection for Capture {
    fn batch_execute(&mut self, query: &str) -> diesel::QueryResult<()> {
        self.0.push_str(query);
        self.0.push('\n');
        Ok(())
    }
}

impl BoxableConnection<Pg> for Capture {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// A migration whose script runs through [`execute`].
struct OneByOne(Box<dyn Migration<Pg>>);

impl OneByOne {
    fn send(conn: &mut dyn BoxableConnection<Pg>, sql: &str) -> diesel::migration::Result<()> {
        match conn.as_any_mut().downcast_mut::<PgConnection>() {
            Some(pg) => Ok(execute(pg, sql)?),
            // Only PgConnection runs migrations here; any other still gets one statement
            // per call.
            None => {
                for statement in split(sql) {
                    conn.batch_execute(statement)?;
                }
                Ok(())
            }
        }
    }
}

impl Migration<Pg> for OneByOne {
    fn run(&self, conn: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        let mut captured = Capture::default();
        self.0.run(&mut captured)?;
        Self::send(conn, &captured.0)
    }

    fn revert(&self, conn: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        let mut captured = Capture::default();
        self.0.revert(&mut captured)?;
        Self::send(conn, &captured.0)
    }

    fn metadata(&self) -> &dyn MigrationMetadata {
        self.0.metadata()
    }

    fn name(&self) -> &dyn MigrationName {
        self.0.name()
    }
}

/// A migration source whose migrations run one statement per round trip.
pub struct OneStatementAtATime<S>(pub S);

impl<S: MigrationSource<Pg>> MigrationSource<Pg> for OneStatementAtATime<S> {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<Pg>>>> {
        Ok(self
            .0
            .migrations()?
            .into_iter()
            .map(|m| Box::new(OneByOne(m)) as Box<dyn Migration<Pg>>)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_on_semicolons_outside_quotes_comments_and_bodies() {
        let sql = "-- header; not a statement\n\
                   CREATE TABLE a (x TEXT DEFAULT 'a;b''c');\n\
                   /* block; /* nested; */ still */ CREATE INDEX i ON a (x);\n\
                   COMMENT ON TABLE a IS E'it\\'s; fine';\n\
                   CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n\
                   DO $$ BEGIN PERFORM 1; END $$;\n\
                   SELECT \"we;ird\" FROM a WHERE x = $1;\n\
                   SELECT CASE WHEN true THEN 'a' ELSE'\\' END;\n\
                   -- trailing comment only\n";
        let parts = split(sql);
        assert_eq!(parts.len(), 7, "{parts:#?}");
        assert!(parts[0].ends_with("DEFAULT 'a;b''c')"));
        assert!(parts[1].ends_with("CREATE INDEX i ON a (x)"));
        assert!(parts[2].ends_with("'it\\'s; fine'"));
        assert!(parts[3].ends_with("LANGUAGE sql"));
        assert!(parts[4].starts_with("DO $$"));
        assert!(parts[5].ends_with("x = $1"));
        assert!(parts[6].ends_with("ELSE'\\' END"), "{}", parts[6]);
        assert!(split("  -- only a comment\n ; ;").is_empty());
        assert_eq!(split("SELECT 1"), vec!["SELECT 1"]);
    }
}
