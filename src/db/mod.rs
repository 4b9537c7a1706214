//! Database access: the pool and the one chokepoint that scopes work to a tenant (SPEC 2.4).
//!
//! Every unit of database work runs through one of two doors, [`Database::tenant`] and
//! [`Database::shared`] (or their blocking forms): a transaction that begins with
//! `SELECT set_config('search_path', $1, true)`, so the schema is bound as a parameter and is
//! reset at COMMIT/ROLLBACK. Pooled connections start with an empty `search_path`, and the
//! shared scope keeps it empty: tenant tables, which are unqualified, cannot be reached
//! without a tenant.

pub mod breaker;
pub(crate) mod gate;
pub mod migrations;
pub mod models;
pub mod schema;
pub mod statements;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PoolError};
use diesel::sql_types::{Bool, Text};

pub use self::breaker::DatabaseDown;
use self::breaker::{Admission, Breaker};
use self::gate::{Gate, Waiting};
use crate::error::AppError;
use crate::tenant::{SchemaName, Tenant, TenantUnavailable};

/// The r2d2 pool of diesel connections.
pub type PgPool = Pool<ConnectionManager<PgConnection>>;

/// Which schema a unit of work sees.
#[derive(Clone, Debug)]
pub(crate) enum Scope {
    /// Shared tables only (schema-qualified); `search_path` is empty.
    Shared,
    /// Exactly this schema.
    Schema(SchemaName),
}

#[derive(Debug)]
struct EmptySearchPath;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for EmptySearchPath {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute("SET search_path = ''")
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The database handle shared by the server and the CLI.
#[derive(Clone)]
pub struct Database {
    pool: PgPool,
    /// Fast failure while the database is down (servers only; commands wait for it).
    breaker: Option<std::sync::Arc<Breaker>>,
    /// The async doors' queue: one turn per pooled connection.
    gate: std::sync::Arc<Gate>,
    /// A random id of this pool (this process's instance): the doors set it as
    /// `plio.instance` in every transaction, and the change bus stamps it on what they send.
    instance: std::sync::Arc<str>,
}

#[derive(QueryableByName)]
struct ScopeCheck {
    #[diesel(sql_type = Bool)]
    present: bool,
}

impl Database {
    /// Builds a pool without connecting yet (the server can start while the database is down
    /// and answer 503 `database_unavailable` until it is back).
    pub fn connect(url: &str, size: u32) -> anyhow::Result<Self> {
        Self::build(url, size, true)
    }

    /// As [`Database::connect`] for one-shot commands: connection failures are reported once,
    /// by the command, instead of being logged at every retry.
    pub fn connect_quiet(url: &str, size: u32) -> anyhow::Result<Self> {
        Self::build(url, size, false)
    }

    fn build(url: &str, size: u32, log_errors: bool) -> anyhow::Result<Self> {
        let manager = ConnectionManager::<PgConnection>::new(url);
        let mut builder = Pool::builder();
        // Requests fail fast (503) when the database is away; commands may wait for it.
        let timeout = if log_errors {
            gate::STALL
        } else {
            Duration::from_secs(30)
        };
        let breaker: Option<std::sync::Arc<Breaker>> = log_errors.then(Default::default);
        builder = match &breaker {
            // A failed connection attempt opens the breaker at once: requests that arrive while
            // PostgreSQL is down fail fast instead of waiting out the checkout timeout.
            Some(b) => builder.error_handler(Box::new(breaker::TripOnConnectError(b.clone()))),
            None => builder.error_handler(Box::new(diesel::r2d2::NopErrorHandler)),
        };
        let pool = builder
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(timeout)
            .test_on_check_out(false);
        let instance = hex::encode(crate::secrets::random_bytes::<8>());
        let pool = pool
            .connection_customizer(Box::new(EmptySearchPath))
            .build_unchecked(manager);
        Ok(Self {
            pool,
            breaker,
            gate: std::sync::Arc::new(Gate::new(size)),
            instance: instance.into(),
        })
    }

    /// A raw pooled connection, for migrations and provisioning only: everything else goes
    /// through one of the two doors ([`Database::tenant`], [`Database::shared`]). Migrations
    /// never set `search_path` (a test checks), so a connection returns to the pool with the
    /// empty path it was acquired with.
    pub(crate) fn connection(
        &self,
    ) -> Result<diesel::r2d2::PooledConnection<ConnectionManager<PgConnection>>, PoolError> {
        self.pool.get()
    }

    /// This instance's id, stamped on what it sends on the change bus.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Pool statistics: (connections, idle).
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }

    /// Units of work waiting for a turn or a pooled connection right now.
    pub fn pool_waiting(&self) -> u64 {
        self.gate
            .waiting()
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the breaker is open (the database was found unreachable).
    pub fn breaker_open(&self) -> bool {
        self.breaker.as_ref().is_some_and(|b| b.is_open())
    }

    /// What the breaker lets the next unit of work do.
    fn admission(&self) -> Admission {
        self.breaker
            .as_ref()
            .map_or(Admission::Normal, |b| b.admit())
    }

    /// A pooled connection for one of the doors, counted while it is awaited, through the
    /// breaker: refused at once while the database is known to be down.
    fn checkout<E>(
        &self,
    ) -> Result<diesel::r2d2::PooledConnection<ConnectionManager<PgConnection>>, E>
    where
        E: From<PoolError> + From<DatabaseDown>,
    {
        self.checkout_as(self.admission())
    }

    /// [`Database::checkout`] with the breaker's admission already decided.
    fn checkout_as<E>(
        &self,
        admission: Admission,
    ) -> Result<diesel::r2d2::PooledConnection<ConnectionManager<PgConnection>>, E>
    where
        E: From<PoolError> + From<DatabaseDown>,
    {
        if admission == Admission::Refused {
            return Err(DatabaseDown.into());
        }
        let waiting = Waiting::new(self.gate.waiting());
        let conn = match admission {
            Admission::Probe => self.pool.get_timeout(breaker::PROBE_TIMEOUT),
            _ => self.pool.get(),
        };
        drop(waiting);
        if conn.is_ok() {
            self.gate.handed_out();
        }
        if let Some(b) = &self.breaker {
            match &conn {
                Ok(_) => b.closed(),
                // r2d2 names the last failed connection attempt after its timeout message; a
                // bare timeout is a busy pool, not a database that is down.
                Err(e) if e.to_string().contains("waiting for connection: ") => b.tripped(),
                Err(_) if admission == Admission::Probe => b.tripped(),
                Err(_) => {}
            }
        }
        Ok(conn?)
    }

    /// The tenant door, blocking: runs `f` on the calling thread in a transaction scoped to
    /// exactly `tenant`'s schema.
    pub fn tenant_blocking<T, E, F>(&self, tenant: &Tenant, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E>,
        E: From<diesel::result::Error>
            + From<TenantUnavailable>
            + From<PoolError>
            + From<DatabaseDown>,
    {
        let mut conn = self.checkout::<E>()?;
        scoped(
            &mut conn,
            &Scope::Schema(tenant.schema().clone()),
            &self.instance,
            f,
        )
    }

    /// The shared door, blocking: runs `f` on the calling thread in a transaction that sees
    /// shared (schema-qualified) tables only.
    pub fn shared_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E>,
        E: From<diesel::result::Error>
            + From<TenantUnavailable>
            + From<PoolError>
            + From<DatabaseDown>,
    {
        let mut conn = self.checkout::<E>()?;
        scoped(&mut conn, &Scope::Shared, &self.instance, f)
    }

    /// The tenant door: waits for a turn (see `db::gate`), then runs `f` on the blocking pool
    /// in a transaction scoped to exactly `tenant`'s schema.
    pub async fn tenant<T, F>(&self, tenant: &Tenant, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.in_turn(Scope::Schema(tenant.schema().clone()), f)
            .await
    }

    /// The shared door: waits for a turn (see `db::gate`), then runs `f` on the blocking pool
    /// in a transaction that sees shared tables only.
    pub async fn shared<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.in_turn(Scope::Shared, f).await
    }

    /// Both async doors: the breaker decides, the unit waits for its turn without holding a
    /// thread, and the turn is held by the blocking task until its transaction is over (even
    /// if the request that wanted it has gone).
    async fn in_turn<T, F>(&self, scope: Scope, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let admission = self.admission();
        if admission == Admission::Refused {
            return Err(DatabaseDown.into());
        }
        let turn = self
            .gate
            .turn(self.breaker.as_deref(), admission == Admission::Probe)
            .await?;
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let mut conn = db.checkout_as::<AppError>(admission)?;
            scoped(&mut conn, &scope, &db.instance, f)
        })
        .await?
    }
}

/// Opens a transaction on `conn` scoped to `scope` and runs `f` in it.
///
/// The first statement sets `search_path` (and `plio.instance`, the stamp of what the change
/// bus sends) transaction-locally from bind parameters and, in the same round trip, checks
/// that the schema exists: a dropped schema gives [`TenantUnavailable`] rather than an empty
/// path that could fall through to other data. Transaction-local, so a connection pooler
/// that shares server connections between transactions can carry neither to another client.
pub(crate) fn scoped<T, E, F>(
    conn: &mut PgConnection,
    scope: &Scope,
    instance: &str,
    f: F,
) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E>,
    E: From<diesel::result::Error> + From<TenantUnavailable>,
{
    conn.transaction(|conn| {
        check_scope::<E>(conn, scope, instance)?;
        f(conn)
    })
}

/// Sets the transaction-local `search_path` for `scope` (must run inside a transaction).
pub(crate) fn set_scope<E>(conn: &mut PgConnection, scope: &Scope) -> Result<(), E>
where
    E: From<diesel::result::Error> + From<TenantUnavailable>,
{
    check_scope(conn, scope, "")
}

/// [`set_scope`], and the bus stamp unless `instance` is empty.
fn check_scope<E>(conn: &mut PgConnection, scope: &Scope, instance: &str) -> Result<(), E>
where
    E: From<diesel::result::Error> + From<TenantUnavailable>,
{
    let path = match scope {
        Scope::Shared => String::new(),
        Scope::Schema(schema) => schema.quoted(),
    };
    let check: ScopeCheck = diesel::sql_query(
        "SELECT set_config('search_path', $1, true) IS NOT NULL \
         AND ($2 = '' OR set_config('plio.instance', $2, true) IS NOT NULL) \
         AND ($1 = '' OR to_regnamespace($1) IS NOT NULL) AS present",
    )
    .bind::<Text, _>(&path)
    .bind::<Text, _>(instance)
    .get_result(conn)?;
    if check.present {
        Ok(())
    } else {
        Err(TenantUnavailable(path).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::SchemaName;

    #[derive(QueryableByName)]
    struct Path {
        #[diesel(sql_type = Text)]
        search_path: String,
    }

    /// A tenant unit sets the path for its transaction only: the pooled connection it ran on
    /// is back to the empty path afterwards (the invariant the shared door relies on).
    #[test]
    fn the_tenant_door_leaves_the_pooled_connection_with_an_empty_search_path() {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let db = Database::connect_quiet(&url, 1).expect("pool");
        let public = Tenant::new(None, String::new(), SchemaName::public());
        let inside = db
            .tenant_blocking::<_, AppError, _>(&public, |conn| {
                Ok(diesel::sql_query("SHOW search_path")
                    .get_result::<Path>(conn)?
                    .search_path)
            })
            .expect("tenant unit");
        assert_eq!(inside, "\"public\"");
        let mut conn = db.connection().expect("the pool's one connection");
        let after = diesel::sql_query("SHOW search_path")
            .get_result::<Path>(&mut conn)
            .expect("show")
            .search_path;
        assert_eq!(after, "\"\"");
    }
}
