//! Connections of the Redis backend, to a single server or to a Redis Cluster.
//!
//! deadpool-redis creates the connections, but a checkout costs a round trip (its recycle
//! check sends PING), which doubled the latency of a hit. Its connections are multiplexed
//! (built to be shared by concurrent callers), so the backend takes a few out of the pool
//! once, shares them round-robin, and replaces one from the pool when a call on it fails.
//! A cluster connection (redis' `cluster_async`, through deadpool-redis' `cluster` pool)
//! holds one multiplexed connection per node and routes each command by its keys' slots.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use deadpool_redis::redis::aio::{ConnectionLike, MultiplexedConnection};
use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::{self, Cmd, Pipeline, RedisFuture, Value};
use deadpool_redis::Runtime;

use super::redis::RedisResult;

/// One shared connection: to a single Redis, or to a whole cluster.
#[derive(Clone)]
pub(super) enum Link {
    /// A multiplexed connection to one server.
    Single(MultiplexedConnection),
    /// A cluster connection (one multiplexed connection per node, commands routed by slot).
    Cluster(ClusterConnection),
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Link::Single(c) => c.req_packed_command(cmd),
            Link::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Link::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Link::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Link::Single(c) => c.get_db(),
            Link::Cluster(c) => c.get_db(),
        }
    }
}

enum Pools {
    Single(deadpool_redis::Pool),
    Cluster(deadpool_redis::cluster::Pool),
}

impl Pools {
    async fn connect(&self) -> RedisResult<Link> {
        Ok(match self {
            Pools::Single(pool) => {
                let object = pool.get().await.map_err(pool_error)?;
                Link::Single(deadpool_redis::Connection::take(object))
            }
            Pools::Cluster(pool) => {
                let object = pool.get().await.map_err(pool_error)?;
                Link::Cluster(deadpool_redis::cluster::Connection::take(object))
            }
        })
    }
}

/// The longest a connection may take to open (in the background, see [`Links::get`]).
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

struct Slot {
    link: RwLock<Option<Link>>,
    /// Held while a connection for this slot is being opened (one at a time).
    opening: tokio::sync::Mutex<()>,
}

struct Shared {
    pools: Pools,
    slots: Vec<Slot>,
}

impl Shared {
    /// The slot's connection, opened if there is none.
    async fn open(&self, i: usize) -> RedisResult<Link> {
        let slot = self
            .slots
            .get(i)
            .ok_or_else(|| pool_error("no connection slots"))?;
        let _one_at_a_time = slot.opening.lock().await;
        if let Some(c) = slot.link.read().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(c);
        }
        let c = tokio::time::timeout(OPEN_TIMEOUT, self.pools.connect())
            .await
            .map_err(|_| pool_error("timed out opening a connection"))??;
        *slot.link.write().unwrap_or_else(|p| p.into_inner()) = Some(c.clone());
        Ok(c)
    }
}

/// A few shared connections, opened on first use and replaced after a failure.
pub(super) struct Links {
    shared: Arc<Shared>,
    next: AtomicUsize,
}

/// A connection borrowed from a slot; [`Borrowed::check`] drops the slot's connection when a
/// call on it failed, so the next call opens a fresh one.
pub(super) struct Borrowed<'a> {
    links: &'a Links,
    index: usize,
    /// The connection.
    pub(super) conn: Link,
}

impl Borrowed<'_> {
    /// Passes `result` on, dropping the connection if it is an error.
    pub(super) fn check<T>(&self, result: RedisResult<T>) -> RedisResult<T> {
        if let (Err(_), Some(slot)) = (&result, self.links.shared.slots.get(self.index)) {
            *slot.link.write().unwrap_or_else(|p| p.into_inner()) = None;
        }
        result
    }
}

pub(super) fn pool_error(e: impl std::fmt::Display) -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::IoError, "redis pool", e.to_string()))
}

impl Links {
    /// `connections` shared connections to the Redis at `url` (none made until first use).
    pub(super) fn single(url: &str, connections: usize) -> anyhow::Result<Self> {
        let connections = connections.clamp(1, 64);
        let mut cfg = deadpool_redis::Config::from_url(url);
        cfg.pool = Some(deadpool_redis::PoolConfig::new(connections + 2));
        let pool = cfg
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?;
        Ok(Self::with(Pools::Single(pool), connections))
    }

    /// Up to two shared connections to the Redis Cluster whose seed nodes are `urls`. Each
    /// holds a connection to every node and is multiplexed already; more of them cost more to
    /// open and were no faster in `plio bench` (two: 17,755-18,516 req/s; eight: 9,170-11,572
    /// and a first read that timed out while they opened).
    pub(super) fn cluster(urls: &[String], connections: usize) -> anyhow::Result<Self> {
        let connections = connections.clamp(1, 2);
        let mut cfg = deadpool_redis::cluster::Config::from_urls(urls.to_vec());
        cfg.pool = Some(deadpool_redis::PoolConfig::new(connections + 2));
        let pool = cfg
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|e| anyhow::anyhow!("REDIS_CLUSTER_URLS: {e}"))?;
        Ok(Self::with(Pools::Cluster(pool), connections))
    }

    fn with(pools: Pools, connections: usize) -> Self {
        let slots = (0..connections)
            .map(|_| Slot {
                link: RwLock::new(None),
                opening: tokio::sync::Mutex::new(()),
            })
            .collect();
        Self {
            shared: Arc::new(Shared { pools, slots }),
            next: AtomicUsize::new(0),
        }
    }

    /// Drops every shared connection (after a timeout: a connection may be stuck).
    pub(super) fn reset(&self) {
        for slot in &self.shared.slots {
            *slot.link.write().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    /// A shared connection and its slot (to report it broken).
    ///
    /// A missing connection is opened by a task of its own, which the caller awaits: a caller
    /// that gives up (its request's cache budget spent) leaves it to finish, and the next call
    /// finds it ready. Opening a cluster connection takes several round trips (CLUSTER SLOTS,
    /// then a connection to each node), more than a busy server may fit in the budget of one
    /// request; inside the request it was abandoned and restarted by every request after.
    pub(super) async fn get(&self) -> RedisResult<Borrowed<'_>> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.shared.slots.len().max(1);
        let slot = self
            .shared
            .slots
            .get(i)
            .ok_or_else(|| pool_error("no connection slots"))?;
        let existing = slot.link.read().unwrap_or_else(|p| p.into_inner()).clone();
        let conn = match existing {
            Some(c) => c,
            // Another call is opening it: wait for that one (no queue of openers behind a
            // server that does not answer).
            None if slot.opening.try_lock().is_err() => {
                let _opened = slot.opening.lock().await;
                let link = slot.link.read().unwrap_or_else(|p| p.into_inner()).clone();
                link.ok_or_else(|| pool_error("could not open a connection"))?
            }
            None => {
                let shared = self.shared.clone();
                tokio::spawn(async move { shared.open(i).await })
                    .await
                    .map_err(pool_error)??
            }
        };
        Ok(Borrowed {
            links: self,
            index: i,
            conn,
        })
    }
}
