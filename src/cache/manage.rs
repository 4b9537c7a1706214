//! Tools for operators (`plio cache`): key listing and server summaries; not for request paths.

use super::*;

impl Cache {
    /// Entry keys under the prefix (Redis: SCAN; a tool, not for request paths).
    pub async fn list_keys(
        &self,
        schema: Option<&str>,
        kind: Option<Kind>,
    ) -> anyhow::Result<Vec<String>> {
        match &self.inner.backend {
            Backend::Redis(r) => {
                let pattern = self.inner.keys.pattern(schema, kind);
                let mut keys = self.bounded(r.scan(&pattern)).await?;
                keys.retain(|k| self.inner.keys.parse(k).is_some());
                keys.sort();
                Ok(keys)
            }
            _ => anyhow::bail!("the {} cache lives inside each server process; only Redis can be inspected from the CLI", self.backend_name()),
        }
    }

    /// (used memory, total keys in the Redis database).
    pub async fn server_summary(&self) -> anyhow::Result<(String, u64)> {
        match &self.inner.backend {
            Backend::Redis(r) => self.bounded(r.server_summary()).await,
            _ => anyhow::bail!("not a Redis cache"),
        }
    }

    /// A tool's call, bounded by the cache timeout (a cluster client waits on a frozen node
    /// for as long as it is frozen).
    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> anyhow::Result<T> {
        match tokio::time::timeout(self.inner.timeout, call).await {
            Ok(result) => Ok(result?),
            Err(_) => anyhow::bail!("Redis did not answer within {:?}", self.inner.timeout),
        }
    }

    /// Entries held by the memory backend (`None` for other backends).
    pub fn memory_entry_count(&self) -> Option<u64> {
        match &self.inner.backend {
            Backend::Memory(m) => Some(m.entry_count()),
            _ => None,
        }
    }
}
