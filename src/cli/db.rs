//! `plio db wait|create`: used by entrypoint.sh before migrating.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Subcommand;
use diesel::prelude::*;

use crate::config::Settings;

/// Database helpers.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Wait until the database server accepts connections (bounded).
    Wait {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Create the database named in DATABASE_URL if it does not exist.
    Create,
}

/// Splits a URL into (URL of the `postgres` maintenance database, database name).
pub fn maintenance_url(url: &str) -> anyhow::Result<(String, String)> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let Some(slash) = base[scheme_end..].find('/').map(|i| i + scheme_end) else {
        anyhow::bail!("DATABASE_URL names no database");
    };
    let name = &base[slash + 1..];
    if name.is_empty()
        || name.len() > 63
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        anyhow::bail!("DATABASE_URL database name {name:?} must be 1-63 characters of letters, digits, '_' or '-'");
    }
    let mut maint = format!("{}/postgres", &base[..slash]);
    if let Some(q) = query {
        maint.push('?');
        maint.push_str(q);
    }
    Ok((maint, name.to_string()))
}

/// Runs a db subcommand.
pub fn run(settings: &Settings, cmd: DbCommand) -> anyhow::Result<ExitCode> {
    let (maint, name) = maintenance_url(&settings.database_url)?;
    match cmd {
        DbCommand::Wait { timeout } => {
            let started = Instant::now();
            let mut attempt = 0u32;
            loop {
                attempt += 1;
                match PgConnection::establish(&maint) {
                    Ok(_) => {
                        say!("database server is up (attempt {attempt})");
                        return Ok(ExitCode::SUCCESS);
                    }
                    Err(e) if started.elapsed() < Duration::from_secs(timeout) => {
                        eprintln!("waiting for the database server (attempt {attempt}): {e}");
                        std::thread::sleep(Duration::from_secs(1));
                    }
                    Err(e) => anyhow::bail!(
                        "the database server did not answer within {timeout} s ({attempt} attempts): {e}"
                    ),
                }
            }
        }
        DbCommand::Create => {
            let mut conn = PgConnection::establish(&maint)?;
            let exists = diesel::sql_query(
                "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS present",
            )
            .bind::<diesel::sql_types::Text, _>(&name)
            .get_result::<Present>(&mut conn)?
            .present;
            if exists {
                say!("database {name} exists");
            } else {
                // The name is validated above and quoted here.
                diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn)?;
                say!("database {name} created");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Present {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    present: bool,
}

#[cfg(test)]
mod tests {
    use super::maintenance_url;

    #[test]
    fn maintenance_url_swaps_the_database() {
        let (m, n) = maintenance_url("postgres://u@h:5432/plio?sslmode=disable").expect("ok");
        assert_eq!(m, "postgres://u@h:5432/postgres?sslmode=disable");
        assert_eq!(n, "plio");
        assert!(maintenance_url("postgres://u@h:5432/a\"b").is_err());
    }
}
