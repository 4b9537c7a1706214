//! Maintenance that failed (invalidations, tenant clears, the whole-cache clear after too many
//! of them) is kept here and replayed by one background task, never inside a request: it waits
//! out the back-off, tries, and on failure backs off and tries again, until Redis has it all.
//! Until then reads and fills skip Redis (see [`Cache::guarded_read`]), so no entry the lost
//! maintenance made stale is served.
//!
//! Every step is bounded whatever the size of the cache, so a replay cannot fail for good
//! while Redis answers: a tenant clear and a whole-cache clear increment a generation (O(1);
//! entries stamped with an older one are misses, see the Redis backend), invalidations go
//! in batches of [`BATCH`] and the batches done are not redone.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::MutexGuard;

use super::*;

/// Entries per invalidation command of a replay.
const BATCH: usize = 500;
/// Least time a replay step is given (a background task; requests do not wait for it).
const MIN_STEP_TIMEOUT: Duration = Duration::from_millis(500);

/// What failed and must still reach Redis.
#[derive(Default)]
pub(super) struct Pending {
    entries: HashSet<EntryKey>,
    tenants: HashSet<String>,
    everything: bool,
    /// Taken by the replay task and not yet confirmed: still pending for readers.
    in_flight: bool,
}

impl Pending {
    fn has_work(&self) -> bool {
        self.everything || !self.entries.is_empty() || !self.tenants.is_empty()
    }

    fn add(&mut self, work: Work) {
        if work.everything || self.everything {
            self.entries.clear();
            self.tenants.clear();
            self.everything = true;
            return;
        }
        if self.entries.len() + work.entries.len() > MAX_PENDING
            || self.tenants.len() + work.tenants.len() > MAX_PENDING_TENANTS
        {
            self.entries.clear();
            self.tenants.clear();
            self.everything = true;
            return;
        }
        self.entries.extend(work.entries);
        self.tenants.extend(work.tenants);
    }
}

/// One replay's share of the pending maintenance.
#[derive(Default)]
struct Work {
    entries: Vec<EntryKey>,
    tenants: Vec<String>,
    everything: bool,
}

/// The running replay task: whoever holds it armed releases the flag when it ends, however
/// it ends (a runtime shutting down drops it).
struct ReplayTask {
    cache: Cache,
    armed: bool,
}

impl Drop for ReplayTask {
    fn drop(&mut self) {
        if self.armed {
            self.cache
                .inner
                .breaker
                .replaying
                .store(false, Ordering::SeqCst);
        }
    }
}

impl Cache {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.inner
            .breaker
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Whether failed maintenance has not reached Redis yet.
    pub(super) fn has_pending(&self) -> bool {
        self.inner.breaker.dirty.load(Ordering::SeqCst)
    }

    /// Keeps invalidations that could not be applied (beyond [`MAX_PENDING`], the whole cache
    /// is cleared instead) and has them replayed.
    pub(super) fn remember_failed_invalidations(&self, keys: &[EntryKey]) {
        self.remember(Work {
            entries: keys.to_vec(),
            ..Work::default()
        });
    }

    /// Keeps a tenant clear that could not be applied and has it replayed.
    pub(super) fn remember_failed_clear(&self, schema: &str) {
        self.remember(Work {
            tenants: vec![schema.to_string()],
            ..Work::default()
        });
    }

    /// Keeps a whole-cache clear that could not be applied and has it replayed.
    pub(super) fn remember_failed_clear_all(&self) {
        self.remember(Work {
            everything: true,
            ..Work::default()
        });
    }

    fn remember(&self, work: Work) {
        let mut p = self.pending();
        p.add(work);
        self.inner.breaker.dirty.store(true, Ordering::SeqCst);
        drop(p);
        self.kick_replay();
    }

    /// Starts the replay task unless it is running.
    pub(super) fn kick_replay(&self) {
        let b = &self.inner.breaker;
        if !matches!(self.inner.backend, Backend::Redis(_))
            || b.replaying.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let task = ReplayTask {
            cache: self.clone(),
            armed: true,
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(replay_task(task));
            }
            Err(_) => drop(task),
        }
    }

    /// Replays until nothing is pending, backing off between failed attempts.
    async fn replay_until_done(&self) {
        loop {
            let wait = self.backoff_left();
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let work = {
                let mut p = self.pending();
                if !p.has_work() {
                    p.in_flight = false;
                    self.inner.breaker.dirty.store(false, Ordering::SeqCst);
                    return;
                }
                p.in_flight = true;
                Work {
                    entries: p.entries.drain().collect(),
                    tenants: p.tenants.drain().collect(),
                    everything: std::mem::take(&mut p.everything),
                }
            };
            let (done, left) = (work.entries.len(), work.everything);
            let failure = self.apply(work).await;
            let mut p = self.pending();
            p.in_flight = false;
            match failure {
                None => {
                    drop(p);
                    self.succeeded();
                    tracing::info!(
                        entries = done,
                        whole_cache = left,
                        "cache back; replayed failed maintenance"
                    );
                }
                Some((rest, error)) => {
                    p.add(rest);
                    drop(p);
                    self.failed("replay cache maintenance", &error);
                }
            }
        }
    }

    /// Applies `work` to Redis; on failure, what is left of it and the error.
    async fn apply(&self, work: Work) -> Option<(Work, String)> {
        let Backend::Redis(r) = &self.inner.backend else {
            return None;
        };
        let ks = &self.inner.keys;
        let limit = self.inner.timeout.max(MIN_STEP_TIMEOUT);
        if work.everything {
            // Subsumes the rest: no entry stored before it is served again.
            return match self.step(limit, r.bump_global(ks)).await {
                Ok(()) => None,
                Err(e) => Some((work, e)),
            };
        }
        if let Err(e) = self.step(limit, r.bump_tenants(ks, &work.tenants)).await {
            return Some((work, e));
        }
        let mut batches = work.entries.chunks(BATCH);
        while let Some(batch) = batches.next() {
            let rendered: Vec<_> = batch.iter().map(|k| ks.render(k)).collect();
            if let Err(e) = self.step(limit, r.invalidate(&rendered)).await {
                let rest = Work {
                    entries: batch.iter().chain(batches.flatten()).cloned().collect(),
                    ..Work::default()
                };
                return Some((rest, e));
            }
        }
        None
    }

    async fn step<F>(&self, limit: Duration, call: F) -> Result<(), String>
    where
        F: Future<Output = redis::RedisResult<()>>,
    {
        match tokio::time::timeout(limit, call).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => {
                if let Backend::Redis(r) = &self.inner.backend {
                    r.reset();
                }
                Err("timed out".into())
            }
        }
    }
}

/// The replay task: replays, then lets go of the flag, unless maintenance failed again in
/// between and no other task took it.
async fn replay_task(mut task: ReplayTask) {
    loop {
        task.cache.replay_until_done().await;
        let b = &task.cache.inner.breaker;
        task.armed = false;
        b.replaying.store(false, Ordering::SeqCst);
        if !task.cache.has_pending() || b.replaying.swap(true, Ordering::SeqCst) {
            return;
        }
        task.armed = true;
    }
}
