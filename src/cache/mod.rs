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
//! - Failure: every Redis call is bounded by `CACHE_TIMEOUT_MS`; errors and timeouts are
//!   misses, followed by a short back-off, logged once per interval and counted; the cache is
//!   used again by itself after the back-off. Invalidations that fail are kept and replayed
//!   before the cache is used again.

pub mod keys;
pub mod memory;
pub mod payloads;
pub mod plio_index;
pub mod redis;
pub mod stats;

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use serde::Serialize;

pub use keys::{Cacheable, EntryKey, KeySpace, Kind};
pub use stats::{Event, Snapshot, Stats};

use self::memory::{MemoryBackend, MemoryToken};
use self::redis::{RedisBackend, RedisToken};
use crate::config::{CacheBackend, Settings};
use crate::db::Database;
use crate::error::AppError;
use crate::tenant::Tenant;

/// Entries held by the memory backend at most.
pub const MEMORY_CAPACITY: u64 = 100_000;
/// Back-off after a Redis failure.
const BACKOFF: Duration = Duration::from_millis(1000);
/// At most one failure log line per interval.
const LOG_INTERVAL: Duration = Duration::from_secs(10);
/// Failed invalidations kept for replay; beyond this the whole cache is cleared on recovery.
const MAX_PENDING: usize = 10_000;

/// Entries (and whole tenants) a unit of work makes stale; applied after COMMIT.
#[derive(Debug, Default, Clone)]
pub struct Invalidations {
    entries: Vec<EntryKey>,
    tenants: Vec<Tenant>,
}

impl Invalidations {
    /// Marks one entry stale.
    pub fn entry(&mut self, key: EntryKey) {
        if !self.entries.contains(&key) {
            self.entries.push(key);
        }
    }
    /// Marks every entry of a tenant stale.
    pub fn tenant(&mut self, tenant: &Tenant) {
        self.tenants.push(tenant.clone());
    }
    /// Nothing registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.tenants.is_empty()
    }
}

enum Token {
    None,
    Memory(MemoryToken),
    Redis(RedisToken),
}

/// The result of one batched read: hits, and the tokens misses must present to be filled.
pub struct Fetched {
    keys: Vec<EntryKey>,
    values: Vec<Option<Arc<str>>>,
    tokens: Vec<Token>,
}

impl Fetched {
    /// The cached value at `i`, if it was a hit and still decodes as `T`.
    pub fn get<T: Cacheable>(&self, i: usize) -> Option<T> {
        let raw = self.values.get(i)?.as_ref()?;
        serde_json::from_str(raw).ok()
    }
    /// Indexes of the misses.
    pub fn misses(&self) -> Vec<usize> {
        (0..self.keys.len())
            .filter(|&i| self.values[i].is_none())
            .collect()
    }
    /// The key at `i`.
    pub fn key(&self, i: usize) -> &EntryKey {
        &self.keys[i]
    }
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
    pending: Mutex<(HashSet<EntryKey>, bool)>,
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
    /// Backing off after failures; requests are served from the database.
    Degraded,
    /// `CACHE_BACKEND=none`.
    Off,
}

impl Cache {
    /// The cache configured by `CACHE_BACKEND` / `REDIS_URL` / TTL / timeout / prefix.
    pub fn from_settings(s: &Settings) -> anyhow::Result<Self> {
        let backend = match s.cache_backend {
            CacheBackend::None => Backend::None,
            CacheBackend::Memory => Backend::Memory(MemoryBackend::new(
                MEMORY_CAPACITY,
                Duration::from_secs(s.cache_ttl_seconds),
            )),
            CacheBackend::Redis => {
                let url = s
                    .redis_url
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("CACHE_BACKEND=redis needs REDIS_URL"))?;
                Backend::Redis(RedisBackend::new(url, (s.workers * 4).max(8))?)
            }
        };
        Ok(Self::with_backend(
            backend,
            &s.cache_key_prefix,
            Duration::from_secs(s.cache_ttl_seconds),
            Duration::from_millis(s.cache_timeout_ms),
        ))
    }

    /// A memory cache with explicit limits (tests, tools).
    pub fn memory(prefix: &str, capacity: u64, ttl: Duration) -> Self {
        Self::with_backend(
            Backend::Memory(MemoryBackend::new(capacity, ttl)),
            prefix,
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
            prefix,
            ttl,
            timeout,
        ))
    }

    /// No caching.
    pub fn none() -> Self {
        Self::with_backend(
            Backend::None,
            "plio",
            Duration::from_secs(1),
            Duration::from_millis(50),
        )
    }

    fn with_backend(backend: Backend, prefix: &str, ttl: Duration, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                keys: KeySpace::new(prefix),
                ttl,
                timeout,
                stats: Stats::default(),
                breaker: Breaker {
                    origin: Instant::now(),
                    skip_until_ms: AtomicU64::new(0),
                    last_log_ms: AtomicU64::new(0),
                    pending: Mutex::new((HashSet::new(), false)),
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
            _ if self.backing_off() => Health::Degraded,
            _ => Health::Ok,
        }
    }

    // ---- failure handling -------------------------------------------------------------

    fn now_ms(&self) -> u64 {
        self.inner.breaker.origin.elapsed().as_millis() as u64
    }

    fn backing_off(&self) -> bool {
        self.now_ms() < self.inner.breaker.skip_until_ms.load(Ordering::Relaxed)
    }

    fn failed(&self, op: &str, error: &str) {
        let b = &self.inner.breaker;
        let now = self.now_ms();
        b.skip_until_ms
            .store(now + BACKOFF.as_millis() as u64, Ordering::Relaxed);
        self.inner.stats.error();
        let last = b.last_log_ms.load(Ordering::Relaxed);
        let first_ever = last == 0;
        if (first_ever || now.saturating_sub(last) >= LOG_INTERVAL.as_millis() as u64)
            && b.last_log_ms
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                op,
                error,
                "cache unavailable; serving from the database (logged at most every 10 s)"
            );
        }
    }

    /// Runs one Redis call under the timeout; `None` on error, timeout or back-off.
    async fn guarded<T, F>(&self, op: &str, call: F) -> Option<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        if self.backing_off() {
            self.inner.stats.bypass();
            return None;
        }
        if !self.replay_pending().await {
            return None;
        }
        match tokio::time::timeout(self.inner.timeout, call).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                self.failed(op, &e.to_string());
                None
            }
            Err(_) => {
                if let Backend::Redis(r) = &self.inner.backend {
                    r.reset();
                }
                self.failed(op, "timed out");
                None
            }
        }
    }

    /// Replays invalidations that failed during an outage; `false` if Redis is still down.
    async fn replay_pending(&self) -> bool {
        let Backend::Redis(r) = &self.inner.backend else {
            return true;
        };
        let (keys, overflow) = {
            let mut p = self
                .inner
                .breaker
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if p.0.is_empty() && !p.1 {
                return true;
            }
            (std::mem::take(&mut p.0), std::mem::replace(&mut p.1, false))
        };
        let rendered: Vec<_> = keys.iter().map(|k| self.inner.keys.render(k)).collect();
        let result = if overflow {
            tokio::time::timeout(self.inner.timeout * 20, r.clear_all(&self.inner.keys))
                .await
                .map(|r| r.map(|_| ()))
        } else {
            tokio::time::timeout(self.inner.timeout, r.invalidate(&rendered)).await
        };
        match result {
            Ok(Ok(())) => {
                tracing::info!(
                    entries = keys.len(),
                    whole_cache = overflow,
                    "cache back; replayed invalidations"
                );
                true
            }
            other => {
                let msg = match other {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".into(),
                };
                let mut p = self
                    .inner
                    .breaker
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                p.0.extend(keys);
                p.1 |= overflow;
                drop(p);
                self.failed("replay invalidations", &msg);
                false
            }
        }
    }

    fn remember_failed_invalidations(&self, keys: &[EntryKey]) {
        let mut p = self
            .inner
            .breaker
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if p.0.len() + keys.len() > MAX_PENDING {
            p.0.clear();
            p.1 = true;
        } else {
            p.0.extend(keys.iter().cloned());
        }
    }

    // ---- reads ------------------------------------------------------------------------

    /// Looks several entries up in one round trip. Never fails: errors are misses.
    pub async fn fetch(&self, keys: &[EntryKey]) -> Fetched {
        let n = keys.len();
        let (values, tokens): (Vec<Option<Arc<str>>>, Vec<Token>) = match &self.inner.backend {
            Backend::None => (
                (0..n).map(|_| None).collect(),
                (0..n).map(|_| Token::None).collect(),
            ),
            Backend::Memory(m) => {
                let rendered: Vec<(String, String)> = keys
                    .iter()
                    .map(|k| (self.inner.keys.entry(k), k.schema().as_str().to_string()))
                    .collect();
                m.get_many(&rendered)
                    .into_iter()
                    .map(|(v, t)| (v, Token::Memory(t)))
                    .unzip()
            }
            Backend::Redis(r) => {
                let rendered: Vec<_> = keys.iter().map(|k| self.inner.keys.render(k)).collect();
                match self.guarded("get", r.get_many(&rendered)).await {
                    Some(found) => found
                        .into_iter()
                        .map(|(v, t)| (v.map(Arc::from), Token::Redis(t)))
                        .unzip(),
                    None => {
                        for k in keys {
                            self.inner.stats.add(k.kind(), Event::Error, 1);
                        }
                        (
                            (0..n).map(|_| None).collect(),
                            (0..n).map(|_| Token::None).collect(),
                        )
                    }
                }
            }
        };
        for (k, v) in keys.iter().zip(&values) {
            let (event, label) = if v.is_some() {
                (Event::Hit, "HIT")
            } else {
                (Event::Miss, "MISS")
            };
            self.inner.stats.add(k.kind(), event, 1);
            tracing::debug!(key = %self.inner.keys.entry(k), "cache {label}");
        }
        Fetched {
            keys: keys.to_vec(),
            values,
            tokens,
        }
    }

    /// Stores loaded values for misses of `fetched` (one round trip), unless invalidated since.
    pub async fn fill<T: Serialize>(&self, fetched: &Fetched, items: &[(usize, &T)]) {
        let encoded: Vec<(usize, String)> = items
            .iter()
            .filter_map(|(i, v)| serde_json::to_string(v).ok().map(|s| (*i, s)))
            .collect();
        match &self.inner.backend {
            Backend::None => {}
            Backend::Memory(m) => {
                for (i, json) in &encoded {
                    let (Some(key), Some(Token::Memory(token))) =
                        (fetched.keys.get(*i), fetched.tokens.get(*i))
                    else {
                        continue;
                    };
                    let rendered = self.inner.keys.entry(key);
                    let stored = m.set_if_unchanged(
                        &rendered,
                        key.schema().as_str(),
                        Arc::from(json.as_str()),
                        *token,
                    );
                    self.count_fill(key, &rendered, stored);
                }
            }
            Backend::Redis(r) => {
                let prepared: Vec<(usize, keys::Rendered, &str, &RedisToken)> = encoded
                    .iter()
                    .filter_map(|(i, json)| match fetched.tokens.get(*i) {
                        Some(Token::Redis(t)) => Some((
                            *i,
                            self.inner.keys.render(&fetched.keys[*i]),
                            json.as_str(),
                            t,
                        )),
                        _ => None,
                    })
                    .collect();
                if prepared.is_empty() {
                    return;
                }
                let args: Vec<(&keys::Rendered, &str, &RedisToken)> =
                    prepared.iter().map(|(_, r, v, t)| (r, *v, *t)).collect();
                let ttl = self.inner.ttl.as_secs().max(1);
                if let Some(stored) = self.guarded("fill", r.set_many(&args, ttl)).await {
                    for ((i, rendered, _, _), ok) in prepared.iter().zip(stored) {
                        self.count_fill(&fetched.keys[*i], &rendered.entry, ok);
                    }
                }
            }
        }
    }

    fn count_fill(&self, key: &EntryKey, rendered: &str, stored: bool) {
        if stored {
            self.inner.stats.add(key.kind(), Event::Populate, 1);
            tracing::debug!(key = %rendered, "cache POPULATE");
        } else {
            self.inner
                .stats
                .add(key.kind(), Event::StaleFillRejected, 1);
            tracing::debug!(key = %rendered, "cache fill refused: invalidated while loading");
        }
    }

    /// Reads one entry through the cache: on a miss `load` runs and its result is stored.
    pub async fn get_or_load<T, E, F, Fut>(&self, key: &EntryKey, load: F) -> Result<T, E>
    where
        T: Cacheable,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let fetched = self.fetch(std::slice::from_ref(key)).await;
        if let Some(hit) = fetched.get::<T>(0) {
            return Ok(hit);
        }
        let value = load().await?;
        self.fill(&fetched, &[(0, &value)]).await;
        Ok(value)
    }

    /// Reads several entries of one kind in one round trip; `load` gets the indexes of the
    /// misses and returns their values in that order; all fills go back in one round trip.
    pub async fn get_or_load_many<T, E, F, Fut>(
        &self,
        keys: &[EntryKey],
        load: F,
    ) -> Result<Vec<T>, E>
    where
        T: Cacheable,
        F: FnOnce(Vec<usize>) -> Fut,
        Fut: Future<Output = Result<Vec<T>, E>>,
    {
        let fetched = self.fetch(keys).await;
        let mut out: Vec<Option<T>> = (0..keys.len()).map(|i| fetched.get::<T>(i)).collect();
        let missing: Vec<usize> = (0..keys.len()).filter(|&i| out[i].is_none()).collect();
        if !missing.is_empty() {
            let loaded = load(missing.clone()).await?;
            let pairs: Vec<(usize, &T)> = missing.iter().copied().zip(loaded.iter()).collect();
            self.fill(&fetched, &pairs).await;
            for (i, v) in missing.into_iter().zip(loaded) {
                out[i] = Some(v);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    // ---- writes -----------------------------------------------------------------------

    /// Removes entries (and clears tenants) now. Normally called by [`Cache::write`].
    pub async fn invalidate(&self, inv: &Invalidations) {
        for tenant in &inv.tenants {
            self.clear_schema(tenant.schema().as_str()).await;
        }
        if inv.entries.is_empty() {
            return;
        }
        for k in &inv.entries {
            self.inner.stats.add(k.kind(), Event::Invalidate, 1);
            tracing::debug!(key = %self.inner.keys.entry(k), "cache INVALIDATE");
        }
        match &self.inner.backend {
            Backend::None => {}
            Backend::Memory(m) => {
                let rendered: Vec<(String, String)> = inv
                    .entries
                    .iter()
                    .map(|k| (self.inner.keys.entry(k), k.schema().as_str().to_string()))
                    .collect();
                m.invalidate(&rendered);
            }
            Backend::Redis(r) => {
                let rendered: Vec<_> = inv
                    .entries
                    .iter()
                    .map(|k| self.inner.keys.render(k))
                    .collect();
                if self
                    .guarded("invalidate", r.invalidate(&rendered))
                    .await
                    .is_none()
                {
                    self.remember_failed_invalidations(&inv.entries);
                }
            }
        }
    }

    /// Clears every entry of one tenant; the cost depends on that tenant's entries only.
    pub async fn clear_tenant(&self, tenant: &Tenant) -> Option<u64> {
        self.clear_schema(tenant.schema().as_str()).await
    }

    async fn clear_schema(&self, schema: &str) -> Option<u64> {
        tracing::debug!(schema, "cache INVALIDATE tenant");
        match &self.inner.backend {
            Backend::None => Some(0),
            Backend::Memory(m) => {
                m.clear_tenant(schema);
                Some(0)
            }
            Backend::Redis(r) => {
                let removed = self
                    .guarded("clear tenant", r.clear_tenant(&self.inner.keys, schema))
                    .await;
                if removed.is_none() {
                    // Cannot name the keys: clear everything once Redis is back.
                    self.inner
                        .breaker
                        .pending
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .1 = true;
                }
                removed
            }
        }
    }

    /// Clears everything under the prefix.
    pub async fn clear_all(&self) -> Option<u64> {
        match &self.inner.backend {
            Backend::None => Some(0),
            Backend::Memory(m) => {
                m.clear_all();
                Some(0)
            }
            Backend::Redis(r) => {
                self.guarded("clear all", r.clear_all(&self.inner.keys))
                    .await
            }
        }
    }

    /// Entry keys under the prefix (Redis: SCAN; a tool, not for request paths).
    pub async fn list_keys(
        &self,
        schema: Option<&str>,
        kind: Option<Kind>,
    ) -> anyhow::Result<Vec<String>> {
        match &self.inner.backend {
            Backend::Redis(r) => {
                let mut keys = r.scan(&self.inner.keys.pattern(schema, kind)).await?;
                keys.retain(|k| self.inner.keys.parse(k).is_some());
                keys.sort();
                Ok(keys)
            }
            _ => anyhow::bail!("the {} cache lives inside each server process; only Redis can be inspected from the CLI", self.backend_name()),
        }
    }

    /// (used memory, total keys in the Redis database).
    pub async fn server_summary(&self) -> anyhow::Result<(String, u64)> {
        match &self.inner.backend {
            Backend::Redis(r) => Ok(r.server_summary().await?),
            _ => anyhow::bail!("not a Redis cache"),
        }
    }

    /// Entries held by the memory backend (`None` for other backends).
    pub fn memory_entry_count(&self) -> Option<u64> {
        match &self.inner.backend {
            Backend::Memory(m) => Some(m.entry_count()),
            _ => None,
        }
    }

    /// Runs a write in `tenant`'s scope; entries registered in the [`Invalidations`] are
    /// removed after the transaction commits (and not at all if it rolls back).
    pub async fn write<T, F>(&self, db: &Database, tenant: &Tenant, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection, &mut Invalidations) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (out, inv) = db
            .tenant(tenant, move |conn| {
                let mut inv = Invalidations::default();
                let out = f(conn, &mut inv)?;
                Ok((out, inv))
            })
            .await?;
        self.invalidate(&inv).await;
        Ok(out)
    }

    /// As [`Cache::write`] for shared tables (users, organizations, memberships).
    pub async fn write_shared<T, F>(&self, db: &Database, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection, &mut Invalidations) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (out, inv) = db
            .shared(move |conn| {
                let mut inv = Invalidations::default();
                let out = f(conn, &mut inv)?;
                Ok((out, inv))
            })
            .await?;
        self.invalidate(&inv).await;
        Ok(out)
    }
}
