//! `plio seed`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Settings;
use crate::db::Database;

/// Options of `plio seed`.
#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// Directory holding default_tenant.yaml and roles.yaml (default: ./fixtures if present,
    /// else the copies built into the binary).
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
}

/// Seeds in one transaction; prints what it did.
pub fn run(settings: &Settings, args: &SeedArgs) -> anyhow::Result<ExitCode> {
    let dir = args.fixtures.clone().or_else(|| {
        let local = PathBuf::from("fixtures");
        local.join("roles.yaml").exists().then_some(local)
    });
    let db = Database::connect_quiet(&settings.database_url, 1)?;
    let mut conn = db.connection()?;
    let report = crate::seed::run(&mut conn, settings, dir.as_deref())?;
    let superuser = match report.superuser_created {
        Some(true) => "created",
        Some(false) => "already present",
        None => "not configured (SUPERUSER_EMAIL/SUPERUSER_PASSWORD unset)",
    };
    say!(
        "seeded: {} organization(s), {} domain(s), {} role(s); superuser {superuser}",
        report.organizations,
        report.domains,
        report.roles
    );
    Ok(ExitCode::SUCCESS)
}
