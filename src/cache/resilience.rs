//! Failure handling: back-off after a Redis error, one log line per interval, and the replay of invalidations that could not be applied.

use std::future::Future;
use std::sync::atomic::Ordering;

use super::*;

impl Cache {
    // ---- failure handling -------------------------------------------------------------

    pub(super) fn now_ms(&self) -> u64 {
        self.inner.breaker.origin.elapsed().as_millis() as u64
    }

    pub(super) fn backing_off(&self) -> bool {
        self.now_ms() < self.inner.breaker.skip_until_ms.load(Ordering::Relaxed)
    }

    pub(super) fn failed(&self, op: &str, error: &str) {
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
    pub(super) async fn guarded<T, F>(&self, op: &str, call: F) -> Option<T>
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
    pub(super) async fn replay_pending(&self) -> bool {
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

    pub(super) fn remember_failed_invalidations(&self, keys: &[EntryKey]) {
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
}
