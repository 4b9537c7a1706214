//! Cached pages of the plio list (SPEC 5, 6.4). A page is stored under a key derived from its
//! tenant's *list epoch* and its parameters; every write that could change any page of a
//! tenant invalidates that tenant's epoch entry (an exact key, like any other), after which
//! readers pick a new epoch and the old pages are unreachable (they age out with the TTL).
//!
//! Epoch entry: `{schema}:plio_list:0`, a random number. Page entry: `{schema}:plio_list:{h}`
//! with `h` from a SHA-256 of the page's descriptor (epoch, visibility, caller, search,
//! ordering, page); the stored text repeats the descriptor, and a page whose descriptor
//! differs (a hash collision) is a miss, never someone else's page.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cache::{Cacheable, EntryKey, Kind};
use crate::tenant::Tenant;

/// The entries of the plio list (a marker: pages are stored as text, see [`CachedPage`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct PlioListEntry;

impl Cacheable for PlioListEntry {
    const KIND: Kind = Kind::PlioList;
    const GLOBAL: bool = false;
}

/// The key of a tenant's list epoch.
pub fn epoch_key(tenant: &Tenant) -> EntryKey {
    EntryKey::of::<PlioListEntry>(tenant, 0)
}

/// The key of a page with this descriptor (never 0, the epoch's id).
pub fn page_key(tenant: &Tenant, descriptor: &str) -> EntryKey {
    let digest = Sha256::digest(descriptor.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    let id = (u64::from_be_bytes(first) >> 1).max(1);
    EntryKey::of::<PlioListEntry>(tenant, i64::try_from(id).unwrap_or(1))
}

/// A new epoch (not a secret: it only has to differ from the ones before).
pub fn new_epoch() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

/// A page: the counts and the rows' JSON array, as served.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedPage {
    /// Plios matching the search.
    pub count: i64,
    /// Plios visible before the search.
    pub raw_count: i64,
    /// `results`, a JSON array.
    pub rows_json: String,
}

impl CachedPage {
    /// The stored text: descriptor, counts, rows, one per line (the descriptor and the rows
    /// are JSON, which holds no raw newline).
    pub fn encode(&self, descriptor: &str) -> String {
        format!(
            "{descriptor}\n{} {}\n{}",
            self.count, self.raw_count, self.rows_json
        )
    }

    /// The page stored as `text`, if it is the page of `descriptor`.
    pub fn decode(text: &str, descriptor: &str) -> Option<Self> {
        let (stored, rest) = text.split_once('\n')?;
        if stored != descriptor {
            return None;
        }
        let (counts, rows) = rest.split_once('\n')?;
        let (count, raw_count) = counts.split_once(' ')?;
        if !rows.starts_with('[') {
            return None;
        }
        Some(Self {
            count: count.parse().ok()?,
            raw_count: raw_count.parse().ok()?,
            rows_json: rows.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_decodes_only_under_its_own_descriptor() {
        let page = CachedPage {
            count: 7,
            raw_count: 9,
            rows_json: "[{\"name\":\"a\\nb\"}]".into(),
        };
        let d = serde_json::to_string(&(1u64, "own", 3, Some("x\ny"), None::<String>, 2)).unwrap();
        let text = page.encode(&d);
        assert_eq!(CachedPage::decode(&text, &d), Some(page));
        let other =
            serde_json::to_string(&(1u64, "own", 4, Some("x\ny"), None::<String>, 2)).unwrap();
        assert_eq!(CachedPage::decode(&text, &other), None);
        assert_eq!(CachedPage::decode("garbage", &d), None);
    }
}
