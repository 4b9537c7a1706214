//! Reads: typed read-through, and fetch + fill for mixed kinds in one round trip.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;

use super::*;

/// The result of one batched read: hits, and the tokens misses must present to be filled.
pub struct Fetched {
    keys: Vec<EntryKey>,
    values: Vec<Option<Arc<str>>>,
    tokens: Vec<Token>,
}

impl Fetched {
    /// The cached value at `i`, if it was a hit and still decodes as `T`.
    pub fn get<T: Cacheable>(&self, i: usize) -> Option<T> {
        let raw = self.values.get(i)?.as_ref()?;
        serde_json::from_str(raw).ok()
    }
    /// The cached text at `i`, if it was a hit (for entries served as they are stored).
    pub fn raw(&self, i: usize) -> Option<Arc<str>> {
        self.values.get(i)?.clone()
    }
    /// Indexes of the misses.
    pub fn misses(&self) -> Vec<usize> {
        self.values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.is_none().then_some(i))
            .collect()
    }
    /// The key at `i`.
    pub fn key(&self, i: usize) -> Option<&EntryKey> {
        self.keys.get(i)
    }
}

impl Cache {
    /// Looks several entries up in one round trip. Never fails: errors are misses.
    pub async fn fetch(&self, keys: &[EntryKey]) -> Fetched {
        let n = keys.len();
        let (values, tokens): (Vec<Option<Arc<str>>>, Vec<Token>) = match &self.inner.backend {
            Backend::None => (
                (0..n).map(|_| None).collect(),
                (0..n).map(|_| Token::None).collect(),
            ),
            Backend::Memory(m) => {
                let rendered: Vec<(String, String)> = keys
                    .iter()
                    .map(|k| (self.inner.keys.entry(k), k.schema().as_str().to_string()))
                    .collect();
                m.get_many(&rendered)
                    .into_iter()
                    .map(|(v, t)| (v, Token::Memory(t)))
                    .unzip()
            }
            Backend::Redis(r) => {
                let rendered: Vec<_> = keys.iter().map(|k| self.inner.keys.render(k)).collect();
                match self
                    .guarded_read("get", r.get_many(&self.inner.keys, &rendered))
                    .await
                {
                    Some(found) => found
                        .into_iter()
                        .map(|(v, t)| (v.map(Arc::from), Token::Redis(t)))
                        .unzip(),
                    None => {
                        for k in keys {
                            self.inner.stats.add(k.kind(), Event::Error, 1);
                        }
                        (
                            (0..n).map(|_| None).collect(),
                            (0..n).map(|_| Token::None).collect(),
                        )
                    }
                }
            }
        };
        for (k, v) in keys.iter().zip(&values) {
            let (event, label) = if v.is_some() {
                (Event::Hit, "HIT")
            } else {
                (Event::Miss, "MISS")
            };
            self.inner.stats.add(k.kind(), event, 1);
            tracing::debug!(key = %self.inner.keys.entry(k), "cache {label}");
        }
        Fetched {
            keys: keys.to_vec(),
            values,
            tokens,
        }
    }

    /// Stores loaded values for misses of `fetched` (one round trip), unless invalidated since.
    pub async fn fill<T: Serialize>(&self, fetched: &Fetched, items: &[(usize, &T)]) {
        let encoded: Vec<(usize, String)> = items
            .iter()
            .filter_map(|(i, v)| serde_json::to_string(v).ok().map(|s| (*i, s)))
            .collect();
        let texts: Vec<(usize, &str)> = encoded.iter().map(|(i, s)| (*i, s.as_str())).collect();
        self.fill_raw(fetched, &texts).await;
    }

    /// As [`Cache::fill`], with the stored text already encoded.
    pub async fn fill_raw(&self, fetched: &Fetched, encoded: &[(usize, &str)]) {
        match &self.inner.backend {
            Backend::None => {}
            Backend::Memory(m) => {
                for (i, json) in encoded {
                    let (Some(key), Some(Token::Memory(token))) =
                        (fetched.keys.get(*i), fetched.tokens.get(*i))
                    else {
                        continue;
                    };
                    let rendered = self.inner.keys.entry(key);
                    let stored = m.set_if_unchanged(
                        &rendered,
                        key.schema().as_str(),
                        Arc::from(*json),
                        *token,
                    );
                    self.count_fill(key, &rendered, stored);
                }
            }
            Backend::Redis(r) => {
                let prepared: Vec<(usize, keys::Rendered, &str, &RedisToken)> = encoded
                    .iter()
                    .filter_map(
                        |(i, json)| match (fetched.tokens.get(*i), fetched.keys.get(*i)) {
                            (Some(Token::Redis(t)), Some(key)) => {
                                Some((*i, self.inner.keys.render(key), *json, t))
                            }
                            _ => None,
                        },
                    )
                    .collect();
                if prepared.is_empty() {
                    return;
                }
                let args: Vec<(&keys::Rendered, &str, &RedisToken)> =
                    prepared.iter().map(|(_, r, v, t)| (r, *v, *t)).collect();
                let ttl = self.inner.ttl.as_secs().max(1);
                if let Some(stored) = self
                    .guarded_read("fill", r.set_many(&self.inner.keys, &args, ttl))
                    .await
                {
                    for ((i, rendered, _, _), ok) in prepared.iter().zip(stored) {
                        if let Some(key) = fetched.keys.get(*i) {
                            self.count_fill(key, &rendered.entry, ok);
                        }
                    }
                }
            }
        }
    }

    pub(super) fn count_fill(&self, key: &EntryKey, rendered: &str, stored: bool) {
        if stored {
            self.inner.stats.add(key.kind(), Event::Populate, 1);
            tracing::debug!(key = %rendered, "cache POPULATE");
        } else {
            self.inner
                .stats
                .add(key.kind(), Event::StaleFillRejected, 1);
            tracing::debug!(key = %rendered, "cache fill refused: invalidated while loading");
        }
    }

    /// Reads one entry through the cache: on a miss `load` runs and its result is stored.
    pub async fn get_or_load<T, E, F, Fut>(&self, key: &EntryKey, load: F) -> Result<T, E>
    where
        T: Cacheable,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let fetched = self.fetch(std::slice::from_ref(key)).await;
        if let Some(hit) = fetched.get::<T>(0) {
            return Ok(hit);
        }
        let value = load().await?;
        self.fill(&fetched, &[(0, &value)]).await;
        Ok(value)
    }

    /// Reads several entries of one kind in one round trip; `load` gets the indexes of the
    /// misses and returns their values in that order; all fills go back in one round trip.
    pub async fn get_or_load_many<T, E, F, Fut>(
        &self,
        keys: &[EntryKey],
        load: F,
    ) -> Result<Vec<T>, E>
    where
        T: Cacheable,
        F: FnOnce(Vec<usize>) -> Fut,
        Fut: Future<Output = Result<Vec<T>, E>>,
    {
        let fetched = self.fetch(keys).await;
        let mut out: Vec<Option<T>> = (0..keys.len()).map(|i| fetched.get::<T>(i)).collect();
        let missing: Vec<usize> = out
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.is_none().then_some(i))
            .collect();
        if !missing.is_empty() {
            let loaded = load(missing.clone()).await?;
            let pairs: Vec<(usize, &T)> = missing.iter().copied().zip(loaded.iter()).collect();
            self.fill(&fetched, &pairs).await;
            for (i, v) in missing.into_iter().zip(loaded) {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(v);
                }
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    // ---- writes -----------------------------------------------------------------------
}
