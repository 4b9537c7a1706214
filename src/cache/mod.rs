//! The cache facade (SPEC 6): one type, [`Cache`], used by all code, over three backends.
//!
//! - Keys are built only in [`keys`]; payloads declare themselves with [`Cacheable`].
//! - Reads: [`Cache::get_or_load`] / [`Cache::get_or_load_many`] (typed), or
//!   [`Cache::fetch`] + [`Cache::fill`] for mixed kinds in one round trip (a plio and its
//!   creator's user entry).
//! - Writes: [`Cache::write`] runs a tenant-scoped transaction; the entries the closure
//!   registers in its [`Invalidations`] are removed only after COMMIT.
//! - No stale fill: a fill presents the token of its read and is refused if the entry was
//!   invalidated in between (see the backends' docs).
//! - Failure: all the Redis calls of one request share one `CACHE_TIMEOUT_MS` ([`budget`]);
//!   errors and timeouts are misses, followed by a short back-off, logged once per interval
//!   and counted; the cache is used again by itself after the back-off. Invalidations and
//!   tenant clears that fail are kept and replayed by a background task ([`replay`]), never
//!   inside a request; until they have reached Redis, reads skip it.

pub mod budget;
pub mod invalidation;
pub mod keys;
mod manage;
pub mod memory;
pub mod payloads;
pub mod plio_index;
mod read;
pub mod redis;
mod redis_cluster;
mod redis_link;
mod remote;
mod replay;
mod resilience;
pub mod stats;

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

pub use invalidation::Invalidations;
pub use keys::{Cacheable, EntryKey, KeySpace, Kind};
pub use read::Fetched;
pub use stats::{Event, Snapshot, Stats};

use self::memory::{MemoryBackend, MemoryToken};
use self::redis::{RedisBackend, RedisToken};
use crate::config::{CacheBackend, Settings};

/// Entries held by the memory backend at most.
pub const MEMORY_CAPACITY: u64 = 100_000;
/// Back-off after a Redis failure.
const BACKOFF: Duration = Duration::from_millis(1000);
/// At most one failure log line per interval.
const LOG_INTERVAL: Duration = Duration::from_secs(10);
/// Failed invalidations kept for replay; beyond this the whole cache is cleared on recovery.
const MAX_PENDING: usize = 10_000;
/// Failed tenant clears kept for replay; beyond this the whole cache is cleared on recovery.
const MAX_PENDING_TENANTS: usize = 1_000;

enum Token {
    None,
    Memory(MemoryToken),
    Redis(RedisToken),
}

enum Backend {
    None,
    Memory(MemoryBackend),
    Redis(RedisBackend),
}

struct Breaker {
    origin: Instant,
    skip_until_ms: AtomicU64,
    last_log_ms: AtomicU64,
    /// The last call failed: after the back-off one call at a time probes Redis.
    open: AtomicBool,
    /// A probe is under way.
    probing: AtomicBool,
    /// Maintenance that failed, waiting for the replay task.
    pending: Mutex<replay::Pending>,
    /// Whether `pending` holds anything (read by every call without the lock).
    dirty: AtomicBool,
    /// Whether the replay task is running.
    replaying: AtomicBool,
}

struct Inner {
    backend: Backend,
    keys: KeySpace,
    ttl: Duration,
    timeout: Duration,
    stats: Stats,
    breaker: Breaker,
}

/// The cache facade (cheap to clone).
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

/// Health of the cache, for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Working.
    Ok,
    /// Redis failed and has not answered since, or failed maintenance is not replayed yet;
    /// requests are served from the database.
    Degraded,
    /// `CACHE_BACKEND=none`.
    Off,
}

impl Cache {
    /// The cache configured by `CACHE_BACKEND` / `REDIS_URL` / `REDIS_CLUSTER_URLS` / TTL /
    /// timeout / prefix.
    pub fn from_settings(s: &Settings) -> anyhow::Result<Self> {
        let mut keys = KeySpace::new(&s.cache_key_prefix);
        let backend = match s.cache_backend {
            CacheBackend::None => Backend::None,
            CacheBackend::Memory => Backend::Memory(MemoryBackend::new(
                MEMORY_CAPACITY,
                Duration::from_secs(s.cache_ttl_seconds),
            )),
            CacheBackend::Redis => {
                let connections = (s.workers * 4).max(8);
                match (&s.redis_cluster_urls, &s.redis_url) {
                    (Some(urls), _) => {
                        keys = KeySpace::cluster(&s.cache_key_prefix);
                        Backend::Redis(RedisBackend::cluster(urls, connections)?)
                    }
                    (None, Some(url)) => Backend::Redis(RedisBackend::new(url, connections)?),
                    (None, None) => {
                        anyhow::bail!("CACHE_BACKEND=redis needs REDIS_URL or REDIS_CLUSTER_URLS")
                    }
                }
            }
        };
        Ok(Self::with_backend(
            backend,
            keys,
            Duration::from_secs(s.cache_ttl_seconds),
            Duration::from_millis(s.cache_timeout_ms),
        ))
    }

    /// A memory cache with explicit limits (tests, tools).
    pub fn memory(prefix: &str, capacity: u64, ttl: Duration) -> Self {
        Self::with_backend(
            Backend::Memory(MemoryBackend::new(capacity, ttl)),
            KeySpace::new(prefix),
            ttl,
            Duration::from_millis(50),
        )
    }

    /// A Redis cache with explicit limits (tests, tools).
    pub fn redis(
        url: &str,
        prefix: &str,
        ttl: Duration,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self::with_backend(
            Backend::Redis(RedisBackend::new(url, 16)?),
            KeySpace::new(prefix),
            ttl,
            timeout,
        ))
    }

    /// A Redis Cluster cache (seed nodes `urls`) with explicit limits (tests, tools).
    pub fn redis_cluster(
        urls: &[String],
        prefix: &str,
        ttl: Duration,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self::with_backend(
            Backend::Redis(RedisBackend::cluster(urls, 16)?),
            KeySpace::cluster(prefix),
            ttl,
            timeout,
        ))
    }

    /// No caching.
    pub fn none() -> Self {
        Self::with_backend(
            Backend::None,
            KeySpace::new("plio"),
            Duration::from_secs(1),
            Duration::from_millis(50),
        )
    }

    fn with_backend(backend: Backend, keys: KeySpace, ttl: Duration, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                keys,
                ttl,
                timeout,
                stats: Stats::default(),
                breaker: Breaker {
                    origin: Instant::now(),
                    skip_until_ms: AtomicU64::new(0),
                    last_log_ms: AtomicU64::new(0),
                    open: AtomicBool::new(false),
                    probing: AtomicBool::new(false),
                    pending: Mutex::new(replay::Pending::default()),
                    dirty: AtomicBool::new(false),
                    replaying: AtomicBool::new(false),
                },
            }),
        }
    }

    /// Backend name (`memory`, `redis`, `none`).
    pub fn backend_name(&self) -> &'static str {
        match self.inner.backend {
            Backend::None => "none",
            Backend::Memory(_) => "memory",
            Backend::Redis(_) => "redis",
        }
    }

    /// The key space (for tools that list keys).
    pub fn key_space(&self) -> &KeySpace {
        &self.inner.keys
    }

    /// Counters.
    pub fn stats(&self) -> Snapshot {
        self.inner.stats.snapshot()
    }

    /// Current health.
    pub fn health(&self) -> Health {
        match self.inner.backend {
            Backend::None => Health::Off,
            _ if self.unavailable() || self.has_pending() => Health::Degraded,
            _ => Health::Ok,
        }
    }
}
