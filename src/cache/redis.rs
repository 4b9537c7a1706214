//! The Redis backend (deadpool-redis). Values are JSON strings, readable with `redis-cli`.
//!
//! No stale fill: every entry has a version key that each invalidation increments (atomically
//! with deleting the entry). A reader gets the entry and its version in the same MGET; its
//! fill is a Lua script that stores the value only if the version (and the generations of the
//! tenant and of the whole cache) are still what the reader saw. Version keys live a day: a
//! fill can only slip through if its load took longer than that.
//! Generations: a fill stamps its entry with the generations it was stored under, and a read
//! treats an entry whose stamp is not the current generations as a miss; so incrementing a
//! tenant's generation (or the whole cache's) clears it in one O(1) command, whatever its
//! size; the entries left behind are never served again and expire with their TTL.
//! Whole-tenant clear with removal ([`RedisBackend::clear_tenant`], for `plio cache clear`):
//! the generation is incremented and the tenant's key index (a set maintained by the fill
//! script) is unlinked: the cost depends on that tenant's keys only.
//!
//! On a Redis Cluster the keys of one tenant share a slot (hash tags, see [`super::keys`]);
//! what differs there (fills and invalidations per tenant, SCAN per master) is in
//! [`super::redis_cluster`], and the connections of both kinds in [`super::redis_link`].

use deadpool_redis::redis::{self, AsyncCommands, Script};

use super::keys::{KeySpace, Rendered};
use super::redis_cluster;
use super::redis_link::{Link, Links};

/// How long version keys outlive the invalidation that set them.
pub(super) const VERSION_TTL_SECS: i64 = 86_400;

/// Stores each (entry, version, tenant gen, index, stamp, global gen) group whose tokens
/// still match, stamped with the generations it is stored under.
const FILL_SCRIPT: &str = r"
local ttl = tonumber(ARGV[1])
local stored = {}
for i = 0, (#KEYS / 6) - 1 do
  local entry, version, tgen, index = KEYS[6*i+1], KEYS[6*i+2], KEYS[6*i+3], KEYS[6*i+4]
  local stamp, ggen = KEYS[6*i+5], KEYS[6*i+6]
  local value, vtok, gtok, ggtok = ARGV[4*i+2], ARGV[4*i+3], ARGV[4*i+4], ARGV[4*i+5]
  if (redis.call('GET', version) or '0') == vtok and (redis.call('GET', tgen) or '0') == gtok
     and (redis.call('GET', ggen) or '0') == ggtok then
    redis.call('SET', entry, value, 'EX', ttl)
    redis.call('SET', stamp, ggtok .. ':' .. gtok, 'EX', ttl)
    redis.call('SADD', index, entry)
    if redis.call('TTL', index) < ttl then redis.call('EXPIRE', index, ttl) end
    stored[i+1] = 1
  else
    stored[i+1] = 0
  end
end
return stored
";

/// What a reader saw: the entry's version, its tenant's generation and the whole cache's.
#[derive(Clone, Debug)]
pub struct RedisToken {
    pub(super) version: String,
    pub(super) tenant_gen: String,
    pub(super) global_gen: String,
}

/// The Redis backend, on a single server or a Redis Cluster.
pub struct RedisBackend {
    links: Links,
    fill: Script,
    cluster_fill: Script,
}

/// Result alias.
pub type RedisResult<T> = Result<T, redis::RedisError>;

impl RedisBackend {
    /// A backend for `url` sharing `connections` multiplexed connections (none is made
    /// until first use).
    pub fn new(url: &str, connections: usize) -> anyhow::Result<Self> {
        Ok(Self::with(Links::single(url, connections)?))
    }

    /// A backend for the Redis Cluster whose seed nodes are `urls`, sharing `connections`
    /// cluster connections.
    pub fn cluster(urls: &[String], connections: usize) -> anyhow::Result<Self> {
        Ok(Self::with(Links::cluster(urls, connections)?))
    }

    fn with(links: Links) -> Self {
        Self {
            links,
            fill: Script::new(FILL_SCRIPT),
            cluster_fill: Script::new(redis_cluster::FILL_SCRIPT),
        }
    }

    /// Drops every shared connection (after a timeout: a connection may be stuck).
    pub fn reset(&self) {
        self.links.reset();
    }

    /// One MGET for the whole cache's generation, then the entries, their versions, their
    /// tenants' generations and their stamps. An entry stamped with other generations than
    /// the current ones (cleared since) is a miss.
    /// On a cluster the client sends it as one MGET per slot, at once: an entry, its version,
    /// stamp and tenant generation are still read together, the whole cache's generation a
    /// moment apart; a read that began after a whole clear was answered sees the new
    /// generation, so it serves nothing stored before.
    pub async fn get_many(
        &self,
        ks: &KeySpace,
        keys: &[Rendered],
    ) -> RedisResult<Vec<(Option<String>, RedisToken)>> {
        let mut cmd = redis::cmd("MGET");
        cmd.arg(ks.global_gen());
        for k in keys {
            cmd.arg(&k.entry)
                .arg(&k.version)
                .arg(&k.tenant_gen)
                .arg(&k.stamp);
        }
        let mut slot = self.links.get().await?;
        let result = cmd.query_async::<Vec<Option<String>>>(&mut slot.conn).await;
        let mut values = slot.check(result)?.into_iter();
        let global_gen = values.next().flatten().unwrap_or_else(|| "0".into());
        let values: Vec<Option<String>> = values.collect();
        Ok(values
            .chunks(4)
            .map(|c| {
                let get = |i: usize| c.get(i).cloned().flatten();
                let tenant_gen = get(2).unwrap_or_else(|| "0".into());
                let current = get(3).is_some_and(|s| s == format!("{global_gen}:{tenant_gen}"));
                (
                    get(0).filter(|_| current),
                    RedisToken {
                        version: get(1).unwrap_or_else(|| "0".into()),
                        tenant_gen,
                        global_gen: global_gen.clone(),
                    },
                )
            })
            .collect())
    }

    /// Stores the values whose tokens still match, in one script call (on a cluster, one per
    /// tenant); returns, per item, whether it was stored.
    pub async fn set_many(
        &self,
        ks: &KeySpace,
        items: &[(&Rendered, &str, &RedisToken)],
        ttl_secs: u64,
    ) -> RedisResult<Vec<bool>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let mut slot = self.links.get().await?;
        if let Link::Cluster(_) = &slot.conn {
            let result = redis_cluster::set_many(&slot.conn, &self.cluster_fill, items, ttl_secs);
            return slot.check(result.await);
        }
        let global_gen = ks.global_gen();
        let mut inv = self.fill.prepare_invoke();
        inv.arg(ttl_secs);
        for (k, value, token) in items {
            inv.key(&k.entry)
                .key(&k.version)
                .key(&k.tenant_gen)
                .key(&k.tenant_index)
                .key(&k.stamp)
                .key(&global_gen)
                .arg(*value)
                .arg(&token.version)
                .arg(&token.tenant_gen)
                .arg(&token.global_gen);
        }
        let result = inv.invoke_async::<Vec<i64>>(&mut slot.conn).await;
        Ok(slot.check(result)?.into_iter().map(|s| s == 1).collect())
    }

    /// Bumps the versions and removes the entries, atomically (MULTI; on a cluster, one per
    /// tenant).
    pub async fn invalidate(&self, keys: &[Rendered]) -> RedisResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let slot = self.links.get().await?;
        if let Link::Cluster(_) = &slot.conn {
            return slot.check(redis_cluster::invalidate(&slot.conn, keys).await);
        }
        let mut slot = slot;
        let mut pipe = redis::pipe();
        pipe.atomic();
        for k in keys {
            pipe.incr(&k.version, 1)
                .ignore()
                .expire(&k.version, VERSION_TTL_SECS)
                .ignore()
                .unlink(&k.entry)
                .ignore();
        }
        let result = pipe.query_async::<()>(&mut slot.conn).await;
        slot.check(result)
    }

    /// Clears tenants in one O(1) command each: their generations are incremented, so none of
    /// their entries is served or filled again (the entries expire with their TTL).
    pub async fn bump_tenants(&self, ks: &KeySpace, schemas: &[String]) -> RedisResult<()> {
        if schemas.is_empty() {
            return Ok(());
        }
        let mut slot = self.links.get().await?;
        if let Link::Cluster(_) = &slot.conn {
            return slot.check(redis_cluster::bump_tenants(&slot.conn, ks, schemas).await);
        }
        let mut pipe = redis::pipe();
        for schema in schemas {
            pipe.incr(ks.tenant_gen(schema), 1).ignore();
        }
        let result = pipe.query_async::<()>(&mut slot.conn).await;
        slot.check(result)
    }

    /// Clears the whole cache in one O(1) command: its generation is incremented.
    pub async fn bump_global(&self, ks: &KeySpace) -> RedisResult<()> {
        let mut slot = self.links.get().await?;
        let result = slot.conn.incr::<_, _, i64>(ks.global_gen(), 1).await;
        slot.check(result).map(|_| ())
    }

    /// Clears one tenant: bump its generation, unlink its indexed keys. Returns keys removed.
    pub async fn clear_tenant(&self, ks: &KeySpace, schema: &str) -> RedisResult<u64> {
        let index = ks.tenant_index(schema);
        let gen = ks.tenant_gen(schema);
        let mut slot = self.links.get().await?;
        let result = async {
            let conn = &mut slot.conn;
            let _: i64 = conn.incr(&gen, 1).await?;
            let members: Vec<String> = conn.smembers(&index).await?;
            let mut removed = 0u64;
            for chunk in members.chunks(500) {
                let n: u64 = conn.unlink(chunk).await?;
                removed += n;
            }
            let _: u64 = conn.unlink(&index).await?;
            Ok(removed)
        }
        .await;
        slot.check(result)
    }

    /// Lists keys matching a pattern (SCAN, on a cluster on every master; for tools, not for
    /// request paths).
    pub async fn scan(&self, pattern: &str) -> RedisResult<Vec<String>> {
        let mut slot = self.links.get().await?;
        if let Link::Cluster(c) = &mut slot.conn {
            let result = redis_cluster::scan(&mut c.clone(), pattern).await;
            return slot.check(result);
        }
        let result = async {
            let mut cursor: u64 = 0;
            let mut out = Vec::new();
            loop {
                let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut slot.conn)
                    .await?;
                out.extend(batch);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            Ok(out)
        }
        .await;
        slot.check(result)
    }

    /// Clears every entry under the prefix: bumps the whole cache's generation first (no
    /// entry is served from then on), then removes the entries (SCAN) and bumps every tenant
    /// generation seen.
    pub async fn clear_all(&self, ks: &KeySpace) -> RedisResult<u64> {
        self.bump_global(ks).await?;
        let keys = self.scan(&ks.everything()).await?;
        let gen_prefix = ks.tenant_gen_prefix();
        let version_prefix = ks.version_prefix();
        let global_gen = ks.global_gen();
        let mut slot = self.links.get().await?;
        let result = async {
            // On a cluster: one INCR per generation (each in its tenant's slot), and UNLINKs
            // the client splits per slot.
            let conn = &mut slot.conn;
            let mut doomed = Vec::new();
            for k in keys {
                if k == global_gen {
                    continue;
                }
                if k.starts_with(&gen_prefix) {
                    let _: i64 = conn.incr(&k, 1).await?;
                } else if !k.starts_with(&version_prefix) {
                    doomed.push(k);
                }
            }
            let mut removed = 0u64;
            for chunk in doomed.chunks(500) {
                let n: u64 = conn.unlink(chunk).await?;
                removed += n;
            }
            Ok(removed)
        }
        .await;
        slot.check(result)
    }

    /// `INFO memory` used_memory_human, and the server's total key count (on a cluster: of all
    /// masters).
    pub async fn server_summary(&self) -> RedisResult<(String, u64)> {
        let mut slot = self.links.get().await?;
        if let Link::Cluster(c) = &mut slot.conn {
            let result = redis_cluster::summary(&mut c.clone()).await;
            return slot.check(result);
        }
        let result = async {
            let info: String = redis::cmd("INFO")
                .arg("memory")
                .query_async(&mut slot.conn)
                .await?;
            let used = info
                .lines()
                .find_map(|l| l.strip_prefix("used_memory_human:"))
                .unwrap_or("?")
                .trim()
                .to_string();
            let dbsize: u64 = redis::cmd("DBSIZE").query_async(&mut slot.conn).await?;
            Ok((used, dbsize))
        }
        .await;
        slot.check(result)
    }
}
