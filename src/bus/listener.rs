//! Listening to the bus: a thread with a PostgreSQL connection of its own (never one of the
//! request pool's), `LISTEN`ing on [`CHANNEL`]. It polls libpq's input buffer (a
//! non-blocking read) every few milliseconds, checks the connection with a query every
//! [`CHECK_EVERY`], and reconnects by itself with a growing pause. What it hears goes to the
//! server's runtime through a channel; when the receiver is gone (the server stopped) the
//! thread ends and its connection closes.
//!
//! After a reconnection it reports [`Heard::Reconnected`]: notifications sent while it was
//! away are lost, so the receiver must forget everything it holds locally.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::prelude::*;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::{Change, CHANNEL};

/// How often the input buffer is read (the bus's added latency at most).
const POLL: Duration = Duration::from_millis(20);
/// How often the connection is checked with a query (a dead peer may send nothing).
const CHECK_EVERY: Duration = Duration::from_secs(2);
/// Pauses between reconnection attempts: from the first to the last, doubling.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_LAST: Duration = Duration::from_secs(2);
/// A connection that lived this long starts the pauses over (one that keeps dropping at
/// once does not make the server clear its caches ten times a second).
const STABLE: Duration = Duration::from_secs(10);
/// libpq settings that notice a dead peer that never closed the connection (a lost host, a
/// failover): a bounded connect, TCP keepalives and a bound on unacknowledged data. Added
/// to the connection string unless it sets them itself.
const LIVENESS: &[(&str, &str)] = &[
    ("connect_timeout", "5"),
    ("keepalives", "1"),
    ("keepalives_idle", "10"),
    ("keepalives_interval", "5"),
    ("keepalives_count", "3"),
    ("tcp_user_timeout", "15000"),
];

/// `url` with the [`LIVENESS`] settings it lacks (URI or `key=value` form).
fn with_liveness(url: &str) -> String {
    let uri = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let mut out = url.to_string();
    let mut first = uri && !url.contains('?');
    for (key, value) in LIVENESS {
        if url.contains(&format!("{key}=")) {
            continue;
        }
        out.push(match (uri, first) {
            (true, true) => '?',
            (true, false) => '&',
            (false, _) => ' ',
        });
        first = false;
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// What the listener reports.
#[derive(Debug)]
pub enum Heard {
    /// A change committed by another instance (or the CLI).
    Change(Change),
    /// The connection was lost and is back: notifications may have been missed.
    Reconnected,
}

/// Whether a listener is connected now (cheap to clone; for `/metrics`).
#[derive(Clone, Debug, Default)]
pub struct Connected(Arc<AtomicBool>);

impl Connected {
    /// Connected now.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The receiving end of a listener.
pub struct Subscription {
    /// What was heard, in commit order.
    pub events: UnboundedReceiver<Heard>,
    /// Whether the listener is connected now.
    pub connected: Connected,
}

/// Starts a listener on `url`. Waits up to `ready_within` for the first `LISTEN` to be in
/// place, so that a server does not miss changes made right after it starts; if the
/// database is down it returns anyway and the listener keeps trying (its first success then
/// counts as a reconnection).
/// Changes stamped with `own` (this instance's, see `Database::instance`) are not reported.
pub fn spawn(url: &str, own: &str, ready_within: Duration) -> std::io::Result<Subscription> {
    let (tx, rx) = unbounded_channel();
    let connected = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let url = with_liveness(url);
    let own = own.to_string();
    let flag = connected.clone();
    std::thread::Builder::new()
        .name("plio-bus".into())
        .spawn(move || run(&url, &own, &tx, &flag, ready_tx))?;
    // Either the first LISTEN is in place, or the first attempt failed, or time is up.
    let _ = ready_rx.recv_timeout(ready_within);
    Ok(Subscription {
        events: rx,
        connected: Connected(connected),
    })
}

fn connect(url: &str) -> QueryResult<PgConnection> {
    let mut conn = PgConnection::establish(url)
        .map_err(|e| diesel::result::Error::QueryBuilderError(Box::new(e)))?;
    // Named, so an operator (or a test) can find it in pg_stat_activity.
    diesel::sql_query("SET application_name = 'plio-bus'").execute(&mut conn)?;
    diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn)?;
    Ok(conn)
}

fn run(
    url: &str,
    own: &str,
    tx: &UnboundedSender<Heard>,
    connected: &AtomicBool,
    ready: std::sync::mpsc::Sender<()>,
) {
    let mut missed = false;
    let mut pause = RETRY_FIRST;
    let mut ready = Some(ready);
    while !tx.is_closed() {
        match connect(url) {
            Ok(mut conn) => {
                connected.store(true, Ordering::SeqCst);
                let since = Instant::now();
                if missed {
                    tracing::info!("change bus connected again; local caches cleared");
                    if tx.send(Heard::Reconnected).is_err() {
                        return;
                    }
                }
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
                let error = listen(&mut conn, own, tx);
                connected.store(false, Ordering::SeqCst);
                if since.elapsed() >= STABLE {
                    pause = RETRY_FIRST;
                }
                match error {
                    None => return,
                    Some(e) => tracing::warn!(error = %e, "change bus connection lost"),
                }
            }
            Err(e) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
                tracing::debug!(error = %e, "change bus cannot connect");
            }
        }
        missed = true;
        std::thread::sleep(pause);
        pause = (pause * 2).min(RETRY_LAST);
    }
}

/// Forwards notifications until the connection fails (`Some(error)`) or nobody listens any
/// more (`None`).
fn listen(conn: &mut PgConnection, own: &str, tx: &UnboundedSender<Heard>) -> Option<String> {
    let mut checked = Instant::now();
    loop {
        if tx.is_closed() {
            return None;
        }
        for heard in conn.notifications_iter() {
            match heard {
                Ok(n) if n.channel == CHANNEL => match Change::parse_stamped(&n.payload) {
                    Some((sender, _)) if sender == own => {}
                    Some((_, change)) => {
                        if tx.send(Heard::Change(change)).is_err() {
                            return None;
                        }
                    }
                    None => tracing::warn!("change bus: ignored a malformed message"),
                },
                Ok(_) => {}
                Err(e) => return Some(e.to_string()),
            }
        }
        if checked.elapsed() >= CHECK_EVERY {
            if let Err(e) = diesel::sql_query("SELECT 1").execute(conn) {
                return Some(e.to_string());
            }
            checked = Instant::now();
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::with_liveness;

    #[test]
    fn liveness_settings_are_added_unless_given() {
        let uri = with_liveness("postgres://u@h:5432/db");
        assert!(uri.starts_with("postgres://u@h:5432/db?connect_timeout=5&keepalives=1&"));
        assert!(uri.ends_with("&tcp_user_timeout=15000"));
        let given = with_liveness("postgresql://h/db?sslmode=require&connect_timeout=2");
        assert!(given.contains("?sslmode=require&connect_timeout=2&keepalives=1"));
        assert_eq!(given.matches("connect_timeout").count(), 1);
        let kv = with_liveness("host=/var/run/postgresql dbname=plio");
        assert!(
            kv.starts_with("host=/var/run/postgresql dbname=plio connect_timeout=5 keepalives=1")
        );
    }
}
