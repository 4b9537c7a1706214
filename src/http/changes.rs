//! Applying the change bus (SPEC 2.2, 6.4) to this instance's process-local state: the memory
//! cache (or, when a writer could not, Redis), the token cache and the tenant registry.

use std::time::Duration;

use actix_web::web;

use crate::auth::tokens::TokenCache;
use crate::bus::listener::{self, Connected, Heard};
use crate::cache::Cache;
use crate::db::Database;
use crate::metrics::Metrics;
use crate::tenancy::TenantRegistry;

/// How long a starting server waits for its first `LISTEN` (so that it misses nothing
/// committed after it answers its first request).
const READY_WITHIN: Duration = Duration::from_secs(3);

/// What a change is applied to.
pub struct Targets {
    /// The response cache.
    pub cache: Cache,
    /// Cached token checks.
    pub tokens: TokenCache,
    /// The tenant registry.
    pub registry: TenantRegistry,
    /// To reload the registry.
    pub db: Database,
    /// Bus figures.
    pub metrics: web::Data<Metrics>,
}

/// Starts listening on `url` and applies what is heard on the current runtime; returns the
/// listener's connection state for `/metrics`.
pub fn start(url: &str, targets: Targets) -> std::io::Result<Connected> {
    let mut subscription = listener::spawn(url, targets.db.instance(), READY_WITHIN)?;
    let connected = subscription.connected.clone();
    tokio::spawn(async move {
        while let Some(heard) = subscription.events.recv().await {
            apply(&targets, heard).await;
        }
    });
    Ok(connected)
}

async fn apply(t: &Targets, heard: Heard) {
    match heard {
        Heard::Change(change) => {
            let lag_ms = chrono::Utc::now().timestamp_millis() - change.sent_at_ms;
            t.metrics.observe_bus_message(lag_ms as f64 / 1000.0);
            t.cache.apply_change(&change).await;
            t.tokens.forget(&change.tokens);
            if change.all_tokens {
                t.tokens.forget_all();
            }
            if change.registry {
                t.registry.reload_async(&t.db).await;
            }
        }
        Heard::Reconnected => {
            t.metrics.bus_reconnected();
            t.cache.clear_local();
            t.tokens.forget_all();
            t.registry.reload_async(&t.db).await;
        }
    }
}
