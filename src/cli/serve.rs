//! `plio serve`.

use std::process::ExitCode;

use crate::config::Settings;
use crate::Application;

/// Builds and runs the server until SIGTERM/SIGINT; exits 0 after a graceful stop.
pub fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    Application::serve_blocking(settings)?;
    Ok(ExitCode::SUCCESS)
}
