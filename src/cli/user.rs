//! `plio user create-superuser`.

use std::io::BufRead;
use std::process::ExitCode;

use clap::Subcommand;
use diesel::prelude::*;

use crate::auth::password;
use crate::cache::Invalidations;
use crate::config::Settings;
use crate::db::models::user;
use crate::db::schema::user as user_table;
use crate::db::Database;

/// User subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a superuser, or promote an existing user and set the password. The password is
    /// read from the first line of standard input (never from the command line).
    CreateSuperuser {
        /// Email address (the login).
        #[arg(long)]
        email: String,
    },
}

/// Runs a user subcommand.
pub fn run(settings: &Settings, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let UserCommand::CreateSuperuser { email } = cmd;
    if !email.contains('@') || email.len() > 255 {
        anyhow::bail!("--email must be an email address");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let pw = line.trim_end_matches(['\r', '\n']);
    if pw.len() < 8 {
        anyhow::bail!("the password (first line of stdin) must be at least 8 characters");
    }
    let hash = password::hash(pw)?;
    let db = Database::connect_quiet(&settings.database_url, 1)?;
    let mut conn = db.connection()?;
    let email = user::normalize_email(&email);
    let created = conn.transaction(|conn| -> anyhow::Result<bool> {
        match user::find_by_email(conn, &email)? {
            Some(existing) => {
                diesel::update(user_table::table.find(existing.id))
                    .set((
                        user_table::is_superuser.eq(true),
                        user_table::is_staff.eq(true),
                        user_table::password.eq(&hash),
                    ))
                    .execute(conn)?;
                // Their cached payload and token checks (which carry the rank) go everywhere.
                let mut inv = Invalidations::default();
                inv.user(existing.id);
                inv.tokens(&crate::db::models::token::access_digests_of(
                    conn,
                    existing.id,
                )?);
                inv.announce(conn)?;
                Ok(false)
            }
            None => {
                user::insert(
                    conn,
                    &user::NewUser {
                        email: Some(&email),
                        password: Some(&hash),
                        is_superuser: true,
                        is_staff: true,
                        ..Default::default()
                    },
                )?;
                Ok(true)
            }
        }
    })?;
    say!(
        "superuser {email} {}",
        if created { "created" } else { "updated" }
    );
    Ok(ExitCode::SUCCESS)
}
