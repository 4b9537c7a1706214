//! The pool under load (SPEC 6.5): a healthy database that is merely busy is waited for, never
//! answered with 503; a stuck one still is.

use std::time::Duration;

use diesel::prelude::*;
use plio::db::Database;
use plio::error::AppError;

use crate::helpers::TestDb;

/// `n` units of work of `seconds` each through the shared door, started together.
fn slow_units(
    db: &Database,
    n: usize,
    seconds: f64,
) -> Vec<actix_web::rt::task::JoinHandle<Result<(), AppError>>> {
    (0..n)
        .map(|_| {
            let db = db.clone();
            actix_web::rt::spawn(async move {
                db.shared(move |conn| {
                    diesel::sql_query(format!("SELECT pg_sleep({seconds})")).execute(conn)?;
                    Ok(())
                })
                .await
            })
        })
        .collect()
}

#[actix_web::test]
async fn units_of_work_queue_for_a_busy_pool_instead_of_failing() {
    let test_db = TestDb::new();
    // A server's pool (breaker, 3 s checkout) of one connection, and 40 units of 100 ms: the
    // last one waits about 4 s for its turn, longer than the checkout timeout, while the
    // database answers all along.
    let db = Database::connect(&test_db.url, 1).unwrap();
    let mut unavailable = Vec::new();
    for unit in slow_units(&db, 40, 0.1) {
        if let Err(e) = unit.await.unwrap() {
            unavailable.push(format!("{:?}: {e:#}", e.code()));
        }
    }
    assert!(
        unavailable.is_empty(),
        "{} of 40 units failed on a healthy database: {unavailable:?}",
        unavailable.len()
    );
}

#[actix_web::test]
async fn a_unit_behind_a_stuck_connection_gives_up_with_503() {
    let test_db = TestDb::new();
    let db = Database::connect(&test_db.url, 1).unwrap();
    // One unit holds the only connection for 4.5 s; no connection is handed out meanwhile, so
    // the unit queued behind it gives up after 3 s instead of waiting for ever.
    let stuck = slow_units(&db, 1, 4.5);
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    let behind = slow_units(&db, 1, 0.0);
    for unit in behind {
        let e = unit.await.unwrap().expect_err("gave up");
        assert_eq!(e.code().as_str(), "database_unavailable", "{e:#}");
    }
    for unit in stuck {
        unit.await.unwrap().expect("the stuck unit itself finishes");
    }
}
