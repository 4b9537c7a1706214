//! Failure handling: every Redis call bounded by what is left of its request's budget, a
//! back-off after a Redis error, then one call at a time probing Redis until it answers (so a
//! frozen Redis costs one request a wait per back-off, not every request under way), one log
//! line per interval.

use std::future::Future;
use std::sync::atomic::Ordering;

use super::*;

impl Cache {
    pub(super) fn now_ms(&self) -> u64 {
        self.inner.breaker.origin.elapsed().as_millis() as u64
    }

    pub(super) fn backing_off(&self) -> bool {
        !self.backoff_left().is_zero()
    }

    /// Redis failed and has not answered since.
    pub(super) fn unavailable(&self) -> bool {
        self.backing_off() || self.inner.breaker.open.load(Ordering::SeqCst)
    }

    /// Redis answered.
    pub(super) fn succeeded(&self) {
        self.inner.breaker.open.store(false, Ordering::SeqCst);
    }

    /// How long the back-off still lasts.
    pub(super) fn backoff_left(&self) -> Duration {
        let until = self.inner.breaker.skip_until_ms.load(Ordering::Relaxed);
        Duration::from_millis(until.saturating_sub(self.now_ms()))
    }

    pub(super) fn failed(&self, op: &str, error: &str) {
        let b = &self.inner.breaker;
        let now = self.now_ms();
        b.skip_until_ms
            .store(now + BACKOFF.as_millis() as u64, Ordering::Relaxed);
        b.open.store(true, Ordering::SeqCst);
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

    /// Runs one Redis call within what is left of the request's budget (the whole timeout
    /// outside a request); `None` on error, timeout, back-off or a spent budget.
    pub(super) async fn guarded<T, F>(&self, op: &str, call: F) -> Option<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let limit = budget::remaining(self.inner.timeout);
        let probe = (!self.backing_off() && !limit.is_zero())
            .then(|| Probe::take(self))
            .flatten();
        let Some(_probe) = probe else {
            self.inner.stats.bypass();
            return None;
        };
        let started = Instant::now();
        let outcome = tokio::time::timeout(limit, call).await;
        budget::spend(started.elapsed());
        match outcome {
            Ok(Ok(v)) => {
                self.succeeded();
                Some(v)
            }
            Ok(Err(e)) => {
                self.failed(op, &e.to_string());
                None
            }
            // The request spent its budget on earlier calls: this one gives up, but Redis
            // answered them, so it is not known to be down.
            Err(_) if limit < self.inner.timeout => {
                self.inner.stats.bypass();
                None
            }
            Err(_) => {
                self.timed_out(op);
                None
            }
        }
    }

    /// A call got no answer within the whole timeout: its connection may be stuck.
    fn timed_out(&self, op: &str) {
        if let Backend::Redis(r) = &self.inner.backend {
            r.reset();
        }
        self.failed(op, "timed out");
    }

    /// Runs a read or a fill: skipped while failed maintenance has not reached Redis (it may
    /// have left stale entries there), which the replay task is asked to do.
    pub(super) async fn guarded_read<T, F>(&self, op: &str, call: F) -> Option<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        if self.has_pending() {
            self.kick_replay();
            self.inner.stats.bypass();
            return None;
        }
        self.guarded(op, call).await
    }
}

/// Leave to call Redis: always while it answers; after a failure, for one call at a time
/// (released however the call ends, a dropped request included).
struct Probe<'a> {
    cache: &'a Cache,
    probing: bool,
}

impl<'a> Probe<'a> {
    fn take(cache: &'a Cache) -> Option<Self> {
        let b = &cache.inner.breaker;
        if !b.open.load(Ordering::SeqCst) {
            return Some(Self {
                cache,
                probing: false,
            });
        }
        if b.probing.swap(true, Ordering::SeqCst) {
            // Another call is probing. (No Probe built here: dropping one releases the flag.)
            return None;
        }
        Some(Self {
            cache,
            probing: true,
        })
    }
}

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        if self.probing {
            self.cache
                .inner
                .breaker
                .probing
                .store(false, Ordering::SeqCst);
        }
    }
}
