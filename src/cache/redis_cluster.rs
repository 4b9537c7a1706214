//! What the Redis backend does differently on a Redis Cluster (`REDIS_CLUSTER_URLS`).
//!
//! Every key of one tenant carries the tenant's hash tag ([`super::keys`]), so it lives in one
//! slot, on one master. How redis-rs 0.32's cluster connection routes what we send (read in
//! its `cluster_handling`):
//! - a multi-key `MGET` across slots is split by the client into one `MGET` per slot, sent
//!   concurrently to the slots' masters, and the answers are put back in the order of the
//!   keys (`RouteBy::MultiShard`, `combine_and_sort_array_results`). A read therefore stays
//!   one call: [`super::redis::RedisBackend::get_many`] is the same on both kinds of server;
//!   a plio and its creator's user entry cost one `MGET` per slot touched (the tenant's and
//!   `public`, which also holds the whole cache's generation).
//! - a pipeline (and so `MULTI`) is sent whole to the node of its first keyed command, and
//!   refused by the client (`CrossSlot`) if two of its commands name different slots; a
//!   script goes to the slot of its first key and Redis refuses keys of other slots. So
//!   fills and invalidations are sent as one call per tenant (below), concurrently.
//! - `SCAN` has no key: it would go to one random node. Tools scan every master in turn.
//! - `UNLINK` and `DBSIZE` are split per slot / sent to every master and summed by the
//!   client.

use std::collections::HashMap;

use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::cluster_routing::{
    MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo,
};
use deadpool_redis::redis::{self, AsyncCommands, Script, Value};
use futures_util::future::try_join_all;

use super::keys::{KeySpace, Rendered};
use super::redis::{RedisResult, RedisToken, VERSION_TTL_SECS};
use super::redis_link::Link;

/// The fill of one tenant's entries (all keys in its slot): stores each (entry, version,
/// tenant gen, index, stamp) group whose version and tenant generation still match, stamped
/// with the generations the reader saw.
///
/// The whole cache's generation lives in another slot, so it comes as an argument and is not
/// checked here. That is safe: a read serves an entry only if its stamp equals the current
/// whole-cache and tenant generations ([`super::redis::RedisBackend::get_many`]), both only
/// ever incremented (INCR; `clear_all` increments them too and never deletes them), so an
/// entry filled under a generation bumped meanwhile is stamped with the old one and never
/// served; checking it at the fill only saves storing a dead entry. The version check is what
/// must be atomic with the SET: nothing else stops a value loaded before an invalidation
/// (which bumps the version and unlinks the entry in one MULTI) from being stored after it
/// with a current stamp. The version and the entry share the tenant's slot, so the script can
/// check it. (The tenant generation is in the slot too, so it is checked as before.)
pub(super) const FILL_SCRIPT: &str = r"
local ttl = tonumber(ARGV[1])
local stored = {}
for i = 0, (#KEYS / 5) - 1 do
  local entry, version, tgen = KEYS[5*i+1], KEYS[5*i+2], KEYS[5*i+3]
  local index, stamp = KEYS[5*i+4], KEYS[5*i+5]
  local value, vtok, gtok, ggtok = ARGV[4*i+2], ARGV[4*i+3], ARGV[4*i+4], ARGV[4*i+5]
  if (redis.call('GET', version) or '0') == vtok and (redis.call('GET', tgen) or '0') == gtok then
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

/// Indexes of `items` grouped by tenant, in order of first appearance (a tenant's keys share
/// its hash tag; its generation key names the group).
fn by_tenant<T>(items: &[T], rendered: impl Fn(&T) -> &Rendered) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let tag = rendered(item).tenant_gen.as_str();
        let g = *seen.entry(tag).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        if let Some(group) = groups.get_mut(g) {
            group.push(i);
        }
    }
    groups
}

/// Fills: one script call per tenant, concurrently; per item, whether it was stored.
pub(super) async fn set_many(
    conn: &Link,
    script: &Script,
    items: &[(&Rendered, &str, &RedisToken)],
    ttl_secs: u64,
) -> RedisResult<Vec<bool>> {
    let calls = by_tenant(items, |(k, _, _)| k).into_iter().map(|group| {
        let mut inv = script.prepare_invoke();
        inv.arg(ttl_secs);
        for (k, value, token) in group.iter().filter_map(|&i| items.get(i)) {
            inv.key(&k.entry)
                .key(&k.version)
                .key(&k.tenant_gen)
                .key(&k.tenant_index)
                .key(&k.stamp)
                .arg(*value)
                .arg(&token.version)
                .arg(&token.tenant_gen)
                .arg(&token.global_gen);
        }
        let mut conn = conn.clone();
        async move {
            let stored = inv.invoke_async::<Vec<i64>>(&mut conn).await?;
            Ok::<_, redis::RedisError>(group.into_iter().zip(stored))
        }
    });
    let mut out = vec![false; items.len()];
    for (i, stored) in try_join_all(calls).await?.into_iter().flatten() {
        if let Some(slot) = out.get_mut(i) {
            *slot = stored == 1;
        }
    }
    Ok(out)
}

/// Invalidations: one MULTI (bump each version, remove each entry) per tenant, concurrently.
/// Each entry's bump and removal stay atomic; the tenants need not be atomic together.
pub(super) async fn invalidate(conn: &Link, keys: &[Rendered]) -> RedisResult<()> {
    let calls = by_tenant(keys, |k| k).into_iter().map(|group| {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for k in group.iter().filter_map(|&i| keys.get(i)) {
            pipe.incr(&k.version, 1)
                .ignore()
                .expire(&k.version, VERSION_TTL_SECS)
                .ignore()
                .unlink(&k.entry)
                .ignore();
        }
        let mut conn = conn.clone();
        async move { pipe.query_async::<()>(&mut conn).await }
    });
    try_join_all(calls).await.map(|_| ())
}

/// Tenant clears: each tenant's generation in its own slot, concurrently.
pub(super) async fn bump_tenants(
    conn: &Link,
    ks: &KeySpace,
    schemas: &[String],
) -> RedisResult<()> {
    let calls = schemas.iter().map(|schema| {
        let key = ks.tenant_gen(schema);
        let mut conn = conn.clone();
        async move { conn.incr::<_, _, i64>(key, 1).await }
    });
    try_join_all(calls).await.map(|_| ())
}

/// Sends `cmd` to every master; (address, answer) per master.
async fn on_every_master(
    conn: &mut ClusterConnection,
    cmd: &redis::Cmd,
) -> RedisResult<Vec<(String, Value)>> {
    let routing = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
    let answers = conn.route_command(cmd, routing).await?;
    let Value::Map(answers) = answers else {
        return Err(redis::RedisError::from((
            redis::ErrorKind::TypeError,
            "expected one answer per master",
        )));
    };
    answers
        .into_iter()
        .map(|(addr, value)| Ok((redis::from_redis_value::<String>(&addr)?, value)))
        .collect()
}

/// Keys matching `pattern` on every master (SCAN on each in turn; for tools).
pub(super) async fn scan(conn: &mut ClusterConnection, pattern: &str) -> RedisResult<Vec<String>> {
    let mut out = Vec::new();
    for (addr, _) in on_every_master(conn, &redis::cmd("PING")).await? {
        let (host, port) = addr
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
            .ok_or_else(|| {
                redis::RedisError::from((
                    redis::ErrorKind::ClientError,
                    "bad node address",
                    addr.clone(),
                ))
            })?;
        let mut cursor: u64 = 0;
        loop {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000);
            let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                host: host.clone(),
                port,
            });
            let value = conn.route_command(&cmd, route).await?;
            let (next, batch): (u64, Vec<String>) = redis::from_redis_value(&value)?;
            out.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(out)
}

/// Memory used by all masters together (INFO memory), and their total key count.
pub(super) async fn summary(conn: &mut ClusterConnection) -> RedisResult<(String, u64)> {
    let mut info = redis::cmd("INFO");
    info.arg("memory");
    let mut bytes = 0u64;
    let mut masters = 0;
    for (_, value) in on_every_master(conn, &info).await? {
        let text: String = redis::from_redis_value(&value)?;
        bytes += text
            .lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        masters += 1;
    }
    let dbsize: u64 = redis::cmd("DBSIZE").query_async(conn).await?;
    let used = format!("{:.2}M over {masters} masters", bytes as f64 / 1_048_576.0);
    Ok((used, dbsize))
}
