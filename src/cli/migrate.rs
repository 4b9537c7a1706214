//! `plio migrate`.

use std::io::IsTerminal;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::Settings;
use crate::db::Database;
use crate::tenancy::provisioning::{migrate_all, SchemaOutcome};

/// Options of `plio migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// Schemas migrated at once (default: number of CPU cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
}

/// Migrates everything; non-zero exit if any schema failed.
pub fn run(settings: &Settings, args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let jobs = args.jobs.unwrap_or(cores).clamp(1, 64);
    let db = Database::connect_quiet(&settings.database_url, jobs as u32 + 1)?;
    let bar = ProgressBar::hidden();
    if std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} migrating [{bar:30}] {pos}/{len} schemas {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    }
    let on_total = |n: usize| bar.set_length(n as u64);
    let tick = |o: &SchemaOutcome| {
        bar.set_message(o.schema.clone());
        bar.inc(1);
    };
    let (public_applied, outcomes) = migrate_all(&db, jobs, &on_total, &tick)?;
    bar.finish_and_clear();

    let applied: usize = outcomes.iter().map(|o| o.applied.len()).sum();
    let failed: Vec<&SchemaOutcome> = outcomes.iter().filter(|o| o.error.is_some()).collect();
    say!(
        "public migrations applied: {}; tenant migrations applied: {} across {} schemas; failed schemas: {}",
        public_applied.len(),
        applied,
        outcomes.len(),
        failed.len()
    );
    for o in &outcomes {
        if !o.applied.is_empty() {
            say!(
                "  {} ({}): applied {}",
                o.schema,
                label(o),
                o.applied.join(", ")
            );
        }
    }
    for o in &failed {
        eprintln!(
            "FAILED {} ({}): {}",
            o.schema,
            label(o),
            o.error.as_deref().unwrap_or_default()
        );
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn label(o: &SchemaOutcome) -> &str {
    if o.shortcode.is_empty() {
        "personal workspace"
    } else {
        &o.shortcode
    }
}
