//! Prometheus metrics of one server (SPEC 5, `GET /metrics`), through the `prometheus` crate.
//! Each [`Metrics`] has a registry of its own, so several servers in one process (tests, the
//! benchmark) never mix their figures. Request counts and latencies are recorded as requests
//! finish; everything else (pool, cache, tenants) is read from its owner at scrape time.

use std::sync::Mutex;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// What a scrape reads from the pool, the cache and the registry.
#[derive(Debug, Default)]
pub struct ScrapeState {
    /// Pool connections open.
    pub pool_connections: u64,
    /// Pool connections idle.
    pub pool_idle: u64,
    /// Units of work waiting for a pool connection.
    pub pool_waiting: u64,
    /// The database breaker is open (failing fast while PostgreSQL is unreachable).
    pub db_breaker_open: bool,
    /// Cache events since start: (kind, event, count).
    pub cache: Vec<(&'static str, &'static str, u64)>,
    /// Tenants per state: (state, count).
    pub tenants: Vec<(&'static str, u64)>,
    /// The change bus's listener is connected.
    pub bus_connected: bool,
}

/// The metric families of one server.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    cache: IntCounterVec,
    pool: IntGaugeVec,
    breaker: prometheus::IntGauge,
    tenants: IntGaugeVec,
    bus_messages: prometheus::IntCounter,
    bus_lag: prometheus::Histogram,
    bus_reconnects: prometheus::IntCounter,
    bus_connected: prometheus::IntGauge,
    /// Scrapes bring the cache counters up to their owner's figures one at a time.
    scrape: Mutex<()>,
}

impl Metrics {
    /// The families, registered in a registry of their own.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "plio_http_requests_total",
                "HTTP requests by route template and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "plio_http_request_duration_seconds",
                "Time from the request's arrival to its answer, by route template",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        let cache = IntCounterVec::new(
            Opts::new("plio_cache_events_total", "Cache events by entry kind"),
            &["kind", "event"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "plio_db_pool_connections",
                "Database pool connections by state",
            ),
            &["state"],
        )?;
        let breaker = prometheus::IntGauge::new(
            "plio_db_breaker_open",
            "1 while the database is unreachable and requests fail fast",
        )?;
        let tenants = IntGaugeVec::new(
            Opts::new("plio_tenants", "Tenants known to the registry by state"),
            &["state"],
        )?;
        let bus_messages = prometheus::IntCounter::new(
            "plio_bus_messages_total",
            "Change-bus messages heard from other instances and the CLI",
        )?;
        let bus_lag = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "plio_bus_lag_seconds",
                "From a change's NOTIFY (inside its transaction) to this instance applying it",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )?;
        let bus_reconnects = prometheus::IntCounter::new(
            "plio_bus_reconnects_total",
            "Times the change-bus listener reconnected (and cleared local caches)",
        )?;
        let bus_connected = prometheus::IntGauge::new(
            "plio_bus_connected",
            "1 while the change-bus listener is connected",
        )?;
        registry.register(Box::new(bus_messages.clone()))?;
        registry.register(Box::new(bus_lag.clone()))?;
        registry.register(Box::new(bus_reconnects.clone()))?;
        registry.register(Box::new(bus_connected.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(cache.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        registry.register(Box::new(breaker.clone()))?;
        registry.register(Box::new(tenants.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            cache,
            pool,
            breaker,
            tenants,
            bus_messages,
            bus_lag,
            bus_reconnects,
            bus_connected,
            scrape: Mutex::new(()),
        })
    }

    /// Records one finished request under its route template (never the raw path: ids would
    /// make a series per plio).
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let code = status.to_string();
        self.requests
            .with_label_values(&[method, route, code.as_str()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Records a change heard on the bus, `lag` seconds after it was sent.
    pub fn observe_bus_message(&self, lag: f64) {
        self.bus_messages.inc();
        self.bus_lag.observe(lag.max(0.0));
    }

    /// Records a reconnection of the bus listener.
    pub fn bus_reconnected(&self) {
        self.bus_reconnects.inc();
    }

    /// The Prometheus text exposition, with the scrape-time figures brought up to date.
    pub fn render(&self, state: &ScrapeState) -> String {
        let _one_at_a_time = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, event, count) in &state.cache {
            let counter = self.cache.with_label_values(&[kind, event]);
            let seen = counter.get();
            if *count > seen {
                counter.inc_by(count - seen);
            }
        }
        for (label, value) in [
            ("open", state.pool_connections),
            ("idle", state.pool_idle),
            ("waiting", state.pool_waiting),
        ] {
            self.pool
                .with_label_values(&[label])
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        }
        self.breaker.set(i64::from(state.db_breaker_open));
        self.bus_connected.set(i64::from(state.bus_connected));
        for (label, value) in &state.tenants {
            self.tenants
                .with_label_values(&[label])
                .set(i64::try_from(*value).unwrap_or(i64::MAX));
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "could not encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
