//! The Redis budget of one request (SPEC 6.5): all the waits on Redis of a request add up to
//! `CACHE_TIMEOUT_MS` at most, however many cache calls it makes. The HTTP layer runs each
//! request inside [`scope`]; every Redis call is then bounded by what is left of the budget,
//! and skipped (a miss) once it is spent. Outside a scope (tools, background tasks) each call
//! has the whole timeout.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

tokio::task_local! {
    /// Time spent waiting on Redis so far by the current request.
    static SPENT: Cell<Duration>;
}

/// Runs `f` (one request) with a budget of its own.
pub async fn scope<F: Future>(f: F) -> F::Output {
    SPENT.scope(Cell::new(Duration::ZERO), f).await
}

/// What the current request may still wait on Redis, out of `timeout` (all of it outside a
/// request).
pub(super) fn remaining(timeout: Duration) -> Duration {
    SPENT
        .try_with(|spent| timeout.saturating_sub(spent.get()))
        .unwrap_or(timeout)
}

/// Counts a wait against the current request's budget (nothing outside a request).
pub(super) fn spend(waited: Duration) {
    let _ = SPENT.try_with(|spent| spent.set(spent.get() + waited));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_add_up_within_a_scope_and_not_outside() {
        let t = Duration::from_millis(50);
        assert_eq!(remaining(t), t);
        spend(Duration::from_millis(30));
        assert_eq!(remaining(t), t, "outside a request nothing is counted");
        scope(async {
            spend(Duration::from_millis(30));
            assert_eq!(remaining(t), Duration::from_millis(20));
            spend(Duration::from_millis(30));
            assert_eq!(remaining(t), Duration::ZERO);
        })
        .await;
        scope(async { assert_eq!(remaining(t), t, "each request has its own") }).await;
    }
}
