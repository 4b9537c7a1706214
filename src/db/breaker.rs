//! Fast failure while PostgreSQL is down (SPEC 6.5). Once a checkout finds the database
//! unreachable, the doors answer [`DatabaseDown`] at once instead of each waiting out the
//! pool's checkout timeout; one unit of work per [`PROBE_EVERY`] tries for real (with a short
//! timeout), and the first that gets a connection closes the breaker again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

use crate::error::{AppError, Code};

/// How often a unit of work may probe the database while the breaker is open.
pub const PROBE_EVERY: Duration = Duration::from_millis(200);

/// How long a probe waits for a connection.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// The database is known to be unreachable: answered without trying (503
/// `database_unavailable`).
#[derive(Debug, thiserror::Error)]
#[error("the database is unreachable (failing fast until a probe succeeds)")]
pub struct DatabaseDown;

impl From<DatabaseDown> for AppError {
    fn from(e: DatabaseDown) -> Self {
        AppError::new(Code::DatabaseUnavailable)
            .retry_after(1)
            .caused_by(anyhow::anyhow!("{e}"))
    }
}

/// The breaker's state (shared by clones of the database handle).
#[derive(Debug)]
pub struct Breaker {
    open: AtomicBool,
    next_probe_ms: AtomicU64,
    origin: Instant,
    /// Wakes the units of work queued for a turn (see `gate`) when the breaker opens.
    opening: Notify,
}

/// What a unit of work may do.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// The breaker is closed: check out as usual.
    Normal,
    /// The breaker is open and this unit probes, with a short timeout.
    Probe,
    /// The breaker is open: fail at once.
    Refused,
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            open: AtomicBool::new(false),
            next_probe_ms: AtomicU64::new(0),
            origin: Instant::now(),
            opening: Notify::new(),
        }
    }
}

impl Breaker {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the breaker is open (the database was found unreachable and no probe has
    /// succeeded since).
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    /// Completes when the breaker next opens (register before reading [`Breaker::is_open`]).
    pub fn opened(&self) -> Notified<'_> {
        self.opening.notified()
    }

    /// Decides what the next unit of work may do.
    pub fn admit(&self) -> Admission {
        if !self.is_open() {
            return Admission::Normal;
        }
        let now = self.now_ms();
        let next = self.next_probe_ms.load(Ordering::Relaxed);
        let step = u64::try_from(PROBE_EVERY.as_millis()).unwrap_or(200);
        if now >= next
            && self
                .next_probe_ms
                .compare_exchange(next, now + step, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            Admission::Probe
        } else {
            Admission::Refused
        }
    }

    /// A checkout could not reach the database.
    pub fn tripped(&self) {
        let step = u64::try_from(PROBE_EVERY.as_millis()).unwrap_or(200);
        self.next_probe_ms
            .store(self.now_ms() + step, Ordering::Relaxed);
        if !self.open.swap(true, Ordering::Relaxed) {
            tracing::warn!("database unreachable: failing fast until it answers again");
            self.opening.notify_waiters();
        }
    }

    /// A checkout got a connection.
    pub fn closed(&self) {
        // A load first: every checkout comes here, and a write would bounce the line between
        // cores even while the breaker stays closed.
        if self.open.load(Ordering::Relaxed) && self.open.swap(false, Ordering::Relaxed) {
            tracing::info!("database reachable again");
        }
    }
}

/// r2d2's error handler for the server's pool: logs a failed connection attempt and opens
/// the breaker.
#[derive(Debug)]
pub struct TripOnConnectError(pub std::sync::Arc<Breaker>);

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for TripOnConnectError {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::debug!(error = %error, "database connection attempt failed");
        self.0.tripped();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_breaker_admits_one_probe_per_interval_and_closes_on_success() {
        let b = Breaker::default();
        assert_eq!(b.admit(), Admission::Normal);
        b.tripped();
        assert!(b.is_open());
        assert_eq!(
            b.admit(),
            Admission::Refused,
            "no probe before the interval"
        );
        std::thread::sleep(PROBE_EVERY + Duration::from_millis(20));
        assert_eq!(b.admit(), Admission::Probe);
        assert_eq!(b.admit(), Admission::Refused, "one probe per interval");
        b.closed();
        assert_eq!(b.admit(), Admission::Normal);
    }
}
