//! `plio serve`.

use std::process::ExitCode;

use crate::config::Settings;
use crate::Application;

/// Builds and runs the server until SIGTERM/SIGINT; exits 0 after a graceful stop.
pub fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    actix_web::rt::System::new().block_on(async move {
        let bind = settings.bind.clone();
        let app = Application::build(settings)?;
        tracing::info!(bind = %bind, port = app.port(), "plio serving");
        app.run_until_stopped().await?;
        tracing::info!("plio stopped");
        Ok(ExitCode::SUCCESS)
    })
}
