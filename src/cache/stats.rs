//! Cache counters, per kind: the one place they live (exposed on `/readyz` now, `/metrics` later).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::keys::Kind;

#[derive(Default)]
struct KindCounters {
    hits: AtomicU64,
    misses: AtomicU64,
    populates: AtomicU64,
    stale_fills_rejected: AtomicU64,
    invalidations: AtomicU64,
    errors: AtomicU64,
}

/// Counters of one cache instance.
pub struct Stats {
    kinds: Vec<KindCounters>,
    /// Backend errors and timeouts (all kinds, including invalidations and clears).
    errors: AtomicU64,
    /// Calls skipped: backing off after a failure, failed maintenance not yet replayed, or
    /// the request's Redis budget spent.
    bypassed: AtomicU64,
}

/// What a counter counts.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// Served from the cache.
    Hit,
    /// Not in the cache.
    Miss,
    /// Stored after a miss.
    Populate,
    /// A fill refused because the entry was invalidated meanwhile.
    StaleFillRejected,
    /// Removed by a write.
    Invalidate,
    /// A call about this kind failed or timed out.
    Error,
}

/// A point-in-time copy, per kind.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KindSnapshot {
    /// Kind name.
    pub kind: &'static str,
    /// Hits.
    pub hits: u64,
    /// Misses.
    pub misses: u64,
    /// Populates.
    pub populates: u64,
    /// Refused stale fills.
    pub stale_fills_rejected: u64,
    /// Invalidations.
    pub invalidations: u64,
    /// Errors.
    pub errors: u64,
}

/// A point-in-time copy of all counters.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Per kind.
    pub kinds: Vec<KindSnapshot>,
    /// Backend errors and timeouts.
    pub errors: u64,
    /// Calls skipped (back-off, pending replay, spent request budget).
    pub bypassed: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            kinds: Kind::ALL.iter().map(|_| KindCounters::default()).collect(),
            errors: AtomicU64::new(0),
            bypassed: AtomicU64::new(0),
        }
    }
}

impl Stats {
    /// Counts `n` events of `kind`.
    pub fn add(&self, kind: Kind, event: Event, n: u64) {
        let Some(c) = self.kinds.get(kind.index()) else {
            return;
        };
        let counter = match event {
            Event::Hit => &c.hits,
            Event::Miss => &c.misses,
            Event::Populate => &c.populates,
            Event::StaleFillRejected => &c.stale_fills_rejected,
            Event::Invalidate => &c.invalidations,
            Event::Error => &c.errors,
        };
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts one backend error.
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one bypassed call.
    pub fn bypass(&self) {
        self.bypassed.fetch_add(1, Ordering::Relaxed);
    }

    /// Copies the counters.
    pub fn snapshot(&self) -> Snapshot {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Snapshot {
            kinds: Kind::ALL
                .iter()
                .zip(&self.kinds)
                .map(|(k, c)| KindSnapshot {
                    kind: k.as_str(),
                    hits: load(&c.hits),
                    misses: load(&c.misses),
                    populates: load(&c.populates),
                    stale_fills_rejected: load(&c.stale_fills_rejected),
                    invalidations: load(&c.invalidations),
                    errors: load(&c.errors),
                })
                .collect(),
            errors: load(&self.errors),
            bypassed: load(&self.bypassed),
        }
    }
}
