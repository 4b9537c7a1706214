//! Helpers shared by the content resources (plios, items, questions, videos, images): plio
//! lookup with access checks, the composed plio payload, and cache keys.

use std::sync::Arc;

use diesel::pg::PgConnection;
use serde_json::Value;

use crate::auth::permissions::may_access_plio;
use crate::auth::AuthUser;
use crate::cache::payloads::plio::{self as payload, PlioEntry};
use crate::cache::payloads::user::{self as user_payload, UserPayload};
use crate::cache::payloads::wire::{self, OrgRole, PlioWire};
use crate::cache::plio_index::PlioIndex;
use crate::cache::Cache;
use crate::db::models::content::{self, PlioHead};
use crate::db::models::membership::{self, ADMIN_ROLES};
use crate::db::Database;
use crate::error::{AppError, Code};
use crate::tenant::Tenant;

/// Which plio to look up.
#[derive(Clone, Copy, Debug)]
pub enum PlioRef<'a> {
    /// By its public uuid.
    Uuid(&'a str),
    /// By database id.
    Id(i32),
}

/// The head of a live plio (inside a tenant-scoped unit of work); `None` if there is none.
pub fn head_in(
    conn: &mut PgConnection,
    tenant: &Tenant,
    caller: Option<&AuthUser>,
    plio: PlioRef<'_>,
) -> Result<Option<PlioHead>, AppError> {
    let caller_id = caller.map_or(-1, |c| c.id);
    let org = if tenant.is_personal_workspace() {
        -1
    } else {
        tenant.id().map_or(-1, |t| t.0)
    };
    let (uuid, id) = match plio {
        PlioRef::Uuid(u) if u.len() <= 50 => (Some(u), None),
        PlioRef::Uuid(_) => return Ok(None),
        PlioRef::Id(i) => (None, Some(i)),
    };
    Ok(content::head(conn, uuid, id, caller_id, org)?)
}

/// 404 unless the plio exists, then 403 unless the caller may view and edit it.
pub fn accessible_head(
    conn: &mut PgConnection,
    tenant: &Tenant,
    caller: &AuthUser,
    plio: PlioRef<'_>,
) -> Result<PlioHead, AppError> {
    let head =
        head_in(conn, tenant, Some(caller), plio)?.ok_or_else(|| AppError::new(Code::NotFound))?;
    check_access(tenant, caller, &head)?;
    Ok(head)
}

/// 403 unless the caller may view and edit the plio.
pub fn check_access(tenant: &Tenant, caller: &AuthUser, head: &PlioHead) -> Result<(), AppError> {
    if may_access_plio(Some(caller), tenant.is_personal_workspace(), head) {
        Ok(())
    } else {
        Err(AppError::new(Code::PermissionDenied))
    }
}

/// Creating content in an organization requires membership (superusers excepted).
pub fn check_may_create(
    conn: &mut PgConnection,
    tenant: &Tenant,
    caller: &AuthUser,
) -> Result<(), AppError> {
    if tenant.is_personal_workspace() || caller.is_superuser {
        return Ok(());
    }
    match tenant.id() {
        Some(org) if membership::is_member(conn, caller.id, org.0)? => Ok(()),
        _ => Err(AppError::new(Code::PermissionDenied)),
    }
}

/// Whether memberships `me` administer the tenant's organization (never in the personal
/// workspace).
fn administers(tenant: &Tenant, me: &[OrgRole]) -> bool {
    match tenant.id() {
        Some(org) if !tenant.is_personal_workspace() => me
            .iter()
            .any(|o| o.id == org.0 && ADMIN_ROLES.contains(&o.role.as_str())),
        _ => false,
    }
}

/// Whether the caller sees the creator's contact details and memberships inside a plio
/// payload: the creator, superusers and the organization's admins (SPEC 4.2).
async fn sees_creator_details(
    db: &Database,
    cache: &Cache,
    tenant: &Tenant,
    caller: Option<&AuthUser>,
    creator: i32,
) -> Result<bool, AppError> {
    match caller {
        None => Ok(false),
        Some(c) if c.is_superuser || c.id == creator => Ok(true),
        Some(_) if tenant.is_personal_workspace() => Ok(false),
        Some(c) => {
            let me = user_text(db, cache, c.id).await?;
            let roles = me
                .as_deref()
                .and_then(wire::memberships)
                .unwrap_or_default();
            Ok(administers(tenant, &roles))
        }
    }
}

/// The plio payload for a caller who may see it (after a write, or embedded in another
/// payload): the plio entry and its creator's user entry read in one cache round trip, loaded
/// from the database only on a miss, then served for the caller as bytes.
pub async fn plio_detail(
    db: &Database,
    cache: &Cache,
    tenant: &Tenant,
    caller: &AuthUser,
    head: &PlioHead,
) -> Result<Vec<u8>, AppError> {
    served(db, cache, tenant, caller, head.id, Some(head.created_by_id)).await
}

async fn served(
    db: &Database,
    cache: &Cache,
    tenant: &Tenant,
    caller: &AuthUser,
    plio_id: i32,
    creator: Option<i32>,
) -> Result<Vec<u8>, AppError> {
    let mut keys = vec![PlioEntry::key(tenant, plio_id)];
    keys.extend(creator.map(UserPayload::key));
    let fetched = cache.fetch(&keys).await;
    let wire = match fetched.raw(0).and_then(PlioWire::decode) {
        Some(w) => w,
        None => load_wire(db, cache, tenant, &fetched, plio_id)
            .await?
            .ok_or_else(|| AppError::new(Code::NotFound))?,
    };
    let creator_id = wire.head.created_by_id;
    let text = match fetched.raw(1) {
        Some(t) if creator == Some(creator_id) => Some(t),
        _ if creator == Some(creator_id) => {
            user_text_filled(db, cache, &fetched, 1, creator_id).await?
        }
        _ => user_text(db, cache, creator_id).await?,
    };
    let full = sees_creator_details(db, cache, tenant, Some(caller), creator_id).await?;
    Ok(serve(&wire, text.as_deref(), full))
}

/// Loads a plio's entry (`None` if the plio is gone) and stores it for slot 0 of `fetched`.
async fn load_wire(
    db: &Database,
    cache: &Cache,
    tenant: &Tenant,
    fetched: &crate::cache::Fetched,
    plio_id: i32,
) -> Result<Option<PlioWire>, AppError> {
    let loaded = db
        .tenant(tenant, move |conn| {
            match payload::load_entry(conn, plio_id) {
                Ok(e) => Ok(Some(e)),
                Err(diesel::result::Error::NotFound) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    let Some(entry) = loaded else {
        return Ok(None);
    };
    let wire = PlioWire::encode(&entry).map_err(AppError::internal)?;
    cache.fill_raw(fetched, &[(0, wire.text())]).await;
    Ok(Some(wire))
}

/// The payload bytes: `created_by` is the creator's whole user entry when `full`, else only
/// their public fields (SPEC 4.2); `null` when the creator is gone.
fn serve(wire: &PlioWire, creator: Option<&str>, full: bool) -> Vec<u8> {
    if full {
        return wire.serve(creator);
    }
    let public = creator.and_then(wire::public_creator);
    wire.serve(public.as_deref())
}

/// Which plios' items and questions a caller lists: superusers all; in the personal
/// workspace their own; in an organization, members public-or-own, others their own.
pub fn list_scope(
    conn: &mut PgConnection,
    tenant: &Tenant,
    caller: &AuthUser,
) -> Result<content::Scope, AppError> {
    if caller.is_superuser {
        return Ok(content::Scope::All);
    }
    if tenant.is_personal_workspace() {
        return Ok(content::Scope::Own(caller.id));
    }
    match tenant.id() {
        Some(org) if membership::is_member(conn, caller.id, org.0)? => {
            Ok(content::Scope::PublicOrOwn(caller.id))
        }
        _ => Ok(content::Scope::Own(caller.id)),
    }
}

/// Which read of a plio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// `GET plios/{uuid}/`: view-and-edit permission, 403 otherwise.
    Retrieve,
    /// `GET plios/{uuid}/play/`: public, or the creator's own; 404 otherwise.
    Play,
}

fn play_not_found() -> AppError {
    AppError::with_detail(Code::NotFound, "Plio not found")
}

/// The plio payload for a read, served from the cache when it can be: the plio entry, its
/// creator's user entry and (for organization members) the caller's own user entry (whose
/// memberships decide access) come back in one round trip; the database is used only for
/// misses. The answer is the payload's JSON, written without decoding the entries.
pub async fn read_plio(
    db: &Database,
    cache: &Cache,
    index: &PlioIndex,
    tenant: &Tenant,
    caller: Option<&AuthUser>,
    uuid: &str,
    read: Read,
) -> Result<Vec<u8>, AppError> {
    let not_found = || {
        if read == Read::Play {
            play_not_found()
        } else {
            AppError::new(Code::NotFound)
        }
    };
    if uuid.len() > 50 {
        return Err(not_found());
    }
    let index_key = (tenant.schema().clone(), uuid.to_string());
    for attempt in 0..2 {
        let (id, creator) = match index.get(&index_key) {
            Some(known) => known,
            None => {
                let (t, u, c) = (tenant.clone(), uuid.to_string(), caller.cloned());
                let head = db
                    .tenant(tenant, move |conn| {
                        head_in(conn, &t, c.as_ref(), PlioRef::Uuid(&u))
                    })
                    .await?
                    .ok_or_else(not_found)?;
                index.insert(index_key.clone(), (head.id, head.created_by_id));
                (head.id, head.created_by_id)
            }
        };
        // The caller's own entry decides membership (retrieve) and whether they administer
        // the organization (which shows the creator's contact details): same round trip.
        let needs_membership = !tenant.is_personal_workspace()
            && caller.is_some_and(|c| !c.is_superuser && c.id != creator);
        let mut keys = vec![PlioEntry::key(tenant, id), UserPayload::key(creator)];
        if needs_membership {
            if let Some(c) = caller {
                keys.push(UserPayload::key(c.id));
            }
        }
        let fetched = cache.fetch(&keys).await;
        let wire = match fetched.raw(0).and_then(PlioWire::decode) {
            Some(w) => w,
            None => match load_wire(db, cache, tenant, &fetched, id).await? {
                Some(w) => w,
                None => {
                    index.forget(&index_key);
                    return Err(not_found());
                }
            },
        };
        let head = &wire.head;
        if head.uuid != uuid || head.created_by_id != creator {
            // The index outlived its tenant: forget it and look the uuid up again.
            index.forget(&index_key);
            if attempt == 0 {
                continue;
            }
            return Err(not_found());
        }
        let me: Vec<OrgRole> = match caller {
            Some(c) if needs_membership => {
                let text = match fetched.raw(2) {
                    Some(t) => Some(t),
                    None => user_text_filled(db, cache, &fetched, 2, c.id).await?,
                };
                text.as_deref()
                    .and_then(wire::memberships)
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        };
        let full = match caller {
            None => false,
            Some(c) if c.is_superuser || c.id == head.created_by_id => true,
            Some(_) => administers(tenant, &me),
        };
        let allowed = match read {
            Read::Play => head.is_public || caller.is_some_and(|c| c.id == head.created_by_id),
            Read::Retrieve => match caller {
                None => false,
                Some(c) if c.is_superuser || c.id == head.created_by_id => true,
                Some(_) if tenant.is_personal_workspace() => false,
                Some(_) => {
                    let member = tenant
                        .id()
                        .is_some_and(|org| me.iter().any(|o| o.id == org.0));
                    member && head.is_public
                }
            },
        };
        if !allowed {
            return Err(match read {
                Read::Play => play_not_found(),
                Read::Retrieve => AppError::new(Code::PermissionDenied),
            });
        }
        let creator_text = match fetched.raw(1) {
            Some(t) => Some(t),
            None => user_text_filled(db, cache, &fetched, 1, head.created_by_id).await?,
        };
        return Ok(serve(&wire, creator_text.as_deref(), full));
    }
    Err(not_found())
}

/// Loads a user's entry text and stores it for `slot` of `fetched` (`None`: no such user).
pub(crate) async fn user_text_filled(
    db: &Database,
    cache: &Cache,
    fetched: &crate::cache::Fetched,
    slot: usize,
    id: i32,
) -> Result<Option<Arc<str>>, AppError> {
    let u = db
        .shared(move |conn| Ok(user_payload::load_payloads(conn, &[id])?.pop()))
        .await?;
    let Some(u) = u else {
        return Ok(None);
    };
    let text = serde_json::to_string(&u).map_err(AppError::internal)?;
    cache.fill_raw(fetched, &[(slot, &text)]).await;
    Ok(Some(Arc::from(text)))
}

/// A user's entry text, through the cache (`None`: no such user).
async fn user_text(db: &Database, cache: &Cache, id: i32) -> Result<Option<Arc<str>>, AppError> {
    let fetched = cache.fetch(&[UserPayload::key(id)]).await;
    match fetched.raw(0) {
        Some(t) => Ok(Some(t)),
        None => user_text_filled(db, cache, &fetched, 0, id).await,
    }
}

/// The plio payload by id, for payloads that embed a plio (sessions, experiment-plios),
/// composed for the caller. Entries come from the cache.
pub async fn plio_payload_by_id(
    db: &Database,
    cache: &Cache,
    tenant: &Tenant,
    caller: &AuthUser,
    plio_id: i32,
) -> Result<Value, AppError> {
    let bytes = served(db, cache, tenant, caller, plio_id, None).await?;
    serde_json::from_slice(&bytes).map_err(AppError::internal)
}
