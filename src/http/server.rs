//! The server: wires the pool, cache, registry and middleware into actix's `HttpServer`.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::cache::Cache;
use crate::config::Settings;
use crate::db::Database;
use crate::tenancy::TenantRegistry;

/// Options for embedding the server.
#[derive(Clone, Default)]
pub struct ServeOptions {
    /// Runs on each worker thread as it starts (the benchmark pins workers to a CPU).
    pub on_worker_start: Option<std::sync::Arc<dyn Fn() + Send + Sync>>,
    /// Do not install SIGTERM/SIGINT handlers (the embedder stops the server).
    pub disable_signals: bool,
}

/// A built server, bound to its port.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Connects the pool, loads the tenant registry, binds `settings.bind` and builds the server.
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        Self::build_with_listener(settings, listener)
    }

    /// As [`Application::build`], on an already bound listener (tests bind port 0).
    pub fn build_with_listener(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
        Self::build_with(settings, listener, ServeOptions::default())
    }

    /// The general form: options for embedding (the benchmark runs servers in-process).
    pub fn build_with(
        settings: Settings,
        listener: TcpListener,
        options: ServeOptions,
    ) -> anyhow::Result<Self> {
        let db = Database::connect(&settings.database_url, settings.db_pool_size)?;
        let cache = Cache::from_settings(&settings)?;
        let registry = TenantRegistry::new();
        let port = listener.local_addr()?.port();
        let refresh = Duration::from_millis(settings.tenant_refresh_ms);
        let workers = settings.workers;
        // Every connection is a descriptor: take what the hard limit allows (Linux starts
        // processes at a soft limit of 1024), then keep connections within it.
        let nofile = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
        let max_connections = settings.max_connections.min(
            usize::try_from(nofile.saturating_sub(256))
                .unwrap_or(usize::MAX)
                .max(16),
        );
        let db_data = web::Data::new(db.clone());
        let cache_data = web::Data::new(cache);
        let token_cache = web::Data::new(crate::auth::tokens::TokenCache::new(
            settings.token_cache_seconds,
        ));
        let plio_index = web::Data::new(crate::cache::plio_index::PlioIndex::default());
        let registry_data = web::Data::new(registry.clone());
        let sms = web::Data::new(crate::auth::otp::SmsSender::new(
            settings.sms_driver,
            settings.sms_webhook_url.as_deref(),
        )?);
        let hashing_gate = web::Data::new(crate::auth::password::HashingGate::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        ));
        let google = web::Data::new(crate::auth::google::GoogleClient::new(
            &settings.google_userinfo_url,
            Duration::from_millis(settings.google_timeout_ms),
        )?);
        let metrics = web::Data::new(crate::metrics::Metrics::new()?);
        // Listen first, then load: a change committed in between is heard, not missed.
        let bus = web::Data::new(crate::http::changes::start(
            &settings.database_url,
            crate::http::changes::Targets {
                cache: cache_data.get_ref().clone(),
                tokens: token_cache.get_ref().clone(),
                registry: registry.clone(),
                db: db.clone(),
                metrics: metrics.clone(),
            },
        )?);
        if let Err(e) = registry.reload(&db) {
            // The server still starts: requests get 503 until the database is back, and the
            // periodic refresh fills the registry then.
            tracing::warn!(error = %format!("{e:#}"), "could not load tenants at startup");
        }
        let settings_data = web::Data::new(settings);
        let on_worker_start = options.on_worker_start.clone();
        let server = HttpServer::new(move || {
            // The factory runs on each worker thread.
            if let Some(hook) = &on_worker_start {
                hook();
            }
            App::new()
                .app_data(db_data.clone())
                .app_data(cache_data.clone())
                .app_data(token_cache.clone())
                .app_data(plio_index.clone())
                .app_data(registry_data.clone())
                .app_data(google.clone())
                .app_data(hashing_gate.clone())
                .app_data(sms.clone())
                .app_data(settings_data.clone())
                .app_data(metrics.clone())
                .app_data(bus.clone())
                .configure(crate::http::routes::configure)
                .wrap(from_fn(crate::http::middleware::normalize_path))
                .wrap(from_fn(crate::http::deadline::body_deadline))
                .wrap(from_fn(crate::http::tenant::resolve_tenant))
                .wrap(from_fn(crate::http::middleware::refuse_early))
                .wrap(crate::http::cors::cors(&settings_data))
                .wrap(from_fn(crate::http::middleware::shape_errors))
                .wrap(from_fn(crate::http::middleware::request_context))
        })
        .workers(workers)
        // A bound on open connections (SPEC 5.2), per worker as actix counts them.
        .max_connections(max_connections.div_ceil(workers.max(1)))
        .shutdown_timeout(30);
        let server = if options.disable_signals {
            server.disable_signals()
        } else {
            server
        };
        let server = server.listen(listener)?.run();
        registry.spawn_refresh(db, refresh);
        Ok(Self { port, server })
    }

    /// A handle to stop the server (embedded use).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Builds the server on a runtime of its own and serves until SIGTERM/SIGINT (for
    /// `plio serve`: callers outside `http` never see the runtime).
    pub fn serve_blocking(settings: Settings) -> anyhow::Result<()> {
        actix_web::rt::System::new().block_on(async move {
            let bind = settings.bind.clone();
            let app = Self::build(settings)?;
            tracing::info!(bind = %bind, port = app.port(), "plio serving");
            app.run_until_stopped().await?;
            tracing::info!("plio stopped");
            Ok(())
        })
    }

    /// Serves until SIGTERM/SIGINT (graceful: in-flight requests finish).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
