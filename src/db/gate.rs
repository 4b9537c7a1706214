//! The queue in front of the pool (SPEC 6.5: no false 503 under load). The async doors take a
//! turn here before they hand their work to a blocking thread: there are as many turns as
//! pooled connections, so a unit of work that has its turn finds a connection at once, and the
//! others wait here, in arrival order, without a thread each.
//!
//! A busy database is not a dead one: a waiter keeps its place as long as connections keep
//! being handed out. It gives up (503 `database_unavailable`) only when the breaker opens
//! (the database is unreachable) or when no connection has been handed out for [`STALL`] since
//! it arrived (the database, or whatever holds every connection, is stuck).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::breaker::{Breaker, DatabaseDown};
use crate::error::{AppError, Code};

/// How long a waiter waits without any connection being handed out before it gives up; also
/// the pool's own checkout timeout.
pub const STALL: Duration = Duration::from_secs(3);

/// The turns and what `/metrics` and the stall rule need to know about them.
#[derive(Debug)]
pub(crate) struct Gate {
    turns: Arc<Semaphore>,
    /// Units of work waiting for a turn or for a pooled connection.
    waiting: AtomicU64,
    origin: Instant,
    /// When a checkout last got a connection, ms after `origin`.
    last_handout_ms: AtomicU64,
}

/// Counts a waiter for as long as it waits (a cancelled request stops counting too).
pub(crate) struct Waiting<'a>(&'a AtomicU64);

impl<'a> Waiting<'a> {
    pub(crate) fn new(counter: &'a AtomicU64) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Gate {
    /// As many turns as the pool has connections.
    pub(crate) fn new(connections: u32) -> Self {
        Self {
            turns: Arc::new(Semaphore::new(
                usize::try_from(connections).unwrap_or(1).max(1),
            )),
            waiting: AtomicU64::new(0),
            origin: Instant::now(),
            last_handout_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The waiting counter (waiters here and in the pool's own checkout).
    pub(crate) fn waiting(&self) -> &AtomicU64 {
        &self.waiting
    }

    /// A checkout got a connection: the database is making progress.
    pub(crate) fn handed_out(&self) {
        self.last_handout_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Waits for a turn. `probe`: this unit is the breaker's probe and waits even while the
    /// breaker is open; every other waiter fails at once when it opens.
    pub(crate) async fn turn(
        &self,
        breaker: Option<&Breaker>,
        probe: bool,
    ) -> Result<OwnedSemaphorePermit, AppError> {
        if let Ok(turn) = self.turns.clone().try_acquire_owned() {
            return Ok(turn);
        }
        let _waiting = Waiting::new(&self.waiting);
        let arrived = self.now_ms();
        let stall = u64::try_from(STALL.as_millis()).unwrap_or(3_000);
        let acquire = self.turns.clone().acquire_owned();
        tokio::pin!(acquire);
        loop {
            // Registered before the state is read, so an opening in between is not missed.
            let opened = breaker.filter(|_| !probe).map(Breaker::opened);
            if !probe && breaker.is_some_and(Breaker::is_open) {
                return Err(DatabaseDown.into());
            }
            let deadline = self
                .last_handout_ms
                .load(Ordering::Relaxed)
                .max(arrived)
                .saturating_add(stall);
            let now = self.now_ms();
            if now >= deadline {
                return Err(AppError::new(Code::DatabaseUnavailable)
                    .retry_after(1)
                    .caused_by(anyhow::anyhow!(
                        "no database connection was handed out for {} s",
                        STALL.as_secs()
                    )));
            }
            tokio::select! {
                turn = &mut acquire => {
                    return turn.map_err(|e| AppError::internal(anyhow::anyhow!("{e}")));
                }
                () = async {
                    match opened {
                        Some(n) => n.await,
                        None => std::future::pending().await,
                    }
                } => return Err(DatabaseDown.into()),
                () = tokio::time::sleep(Duration::from_millis(deadline - now)) => {}
            }
        }
    }
}
