//! Helpers shared by the content resources (plios, items, questions, videos, images): plio
//! lookup with access checks, the composed plio payload, and cache keys.

use diesel::pg::PgConnection;
use serde_json::Value;

use crate::auth::permissions::may_access_plio;
use crate::auth::AuthUser;
use crate::cache::payloads::plio::{self as payload, PlioEntry};
use crate::cache::payloads::user::{self as user_payload, UserPayload};
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

/// Whether `me` administers the tenant's organization (never in the personal workspace).
fn administers(tenant: &Tenant, me: Option<&UserPayload>) -> bool {
    match (me, tenant.id()) {
        (Some(u), Some(org)) if !tenant.is_personal_workspace() => u
            .organizations
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
            let me = match crate::api::user_payloads::payload(db, cache, c.id).await {
                Ok(u) => Some(u),
                Err(e) if e.code() == Code::NotFound => None,
                Err(e) => return Err(e),
            };
            Ok(administers(tenant, me.as_ref()))
        }
    }
}

/// The plio payload: the plio entry and its creator's user entry read in one cache round
/// trip, loaded from the database only on a miss, then composed for the caller.
pub async fn plio_detail(
    db: &Database,
    cache: &Cache,
    tenant: &Tenant,
    caller: &AuthUser,
    head: &PlioHead,
) -> Result<Value, AppError> {
    let keys = [
        PlioEntry::key(tenant, head.id),
        UserPayload::key(head.created_by_id),
    ];
    let fetched = cache.fetch(&keys).await;
    let entry = match fetched.get::<PlioEntry>(0) {
        Some(e) => e,
        None => {
            let id = head.id;
            let e = db
                .tenant(tenant, move |conn| Ok(payload::load_entry(conn, id)?))
                .await?;
            cache.fill(&fetched, &[(0, &e)]).await;
            e
        }
    };
    let creator = match fetched.get::<UserPayload>(1) {
        Some(u) => Some(u),
        None => user_payload_filled(db, cache, &fetched, 1, entry.created_by_id).await?,
    };
    let full = sees_creator_details(db, cache, tenant, Some(caller), entry.created_by_id).await?;
    compose(entry, creator, full)
}

/// `created_by` replaces `created_by_id`: the creator's whole user payload when `full`, else
/// only their public fields (SPEC 4.2).
pub fn compose(
    entry: PlioEntry,
    creator: Option<UserPayload>,
    full: bool,
) -> Result<Value, AppError> {
    let mut v = serde_json::to_value(entry).map_err(AppError::internal)?;
    if let Value::Object(map) = &mut v {
        map.remove("created_by_id");
        let created_by = match creator {
            Some(c) if !full => c.public_view(),
            c => serde_json::to_value(c).map_err(AppError::internal)?,
        };
        map.insert("created_by".into(), created_by);
    }
    Ok(v)
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
/// misses.
pub async fn read_plio(
    db: &Database,
    cache: &Cache,
    index: &PlioIndex,
    tenant: &Tenant,
    caller: Option<&AuthUser>,
    uuid: &str,
    read: Read,
) -> Result<Value, AppError> {
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
        let entry = match fetched.get::<PlioEntry>(0) {
            Some(e) => e,
            None => {
                let loaded = db
                    .tenant(tenant, move |conn| match payload::load_entry(conn, id) {
                        Ok(e) => Ok(Some(e)),
                        Err(diesel::result::Error::NotFound) => Ok(None),
                        Err(e) => Err(e.into()),
                    })
                    .await?;
                let Some(e) = loaded else {
                    index.forget(&index_key);
                    return Err(not_found());
                };
                cache.fill(&fetched, &[(0, &e)]).await;
                e
            }
        };
        if entry.uuid != uuid {
            // The index outlived its tenant: forget it and look the uuid up again.
            index.forget(&index_key);
            if attempt == 0 {
                continue;
            }
            return Err(not_found());
        }
        let me = match caller {
            Some(c) if needs_membership && c.id != entry.created_by_id => {
                match fetched.get::<UserPayload>(2) {
                    Some(u) => Some(u),
                    None => user_payload_filled(db, cache, &fetched, 2, c.id).await?,
                }
            }
            _ => None,
        };
        let full = match caller {
            None => false,
            Some(c) if c.is_superuser || c.id == entry.created_by_id => true,
            Some(_) => administers(tenant, me.as_ref()),
        };
        let allowed = match read {
            Read::Play => entry.is_public || caller.is_some_and(|c| c.id == entry.created_by_id),
            Read::Retrieve => match caller {
                None => false,
                Some(c) if c.is_superuser || c.id == entry.created_by_id => true,
                Some(_) if tenant.is_personal_workspace() => false,
                Some(_) => {
                    let member = match (&me, tenant.id()) {
                        (Some(u), Some(org)) => u.organizations.iter().any(|o| o.id == org.0),
                        _ => false,
                    };
                    member && entry.is_public
                }
            },
        };
        if !allowed {
            return Err(match read {
                Read::Play => play_not_found(),
                Read::Retrieve => AppError::new(Code::PermissionDenied),
            });
        }
        let creator_payload = match fetched.get::<UserPayload>(1) {
            Some(u) => Some(u),
            None => user_payload_filled(db, cache, &fetched, 1, entry.created_by_id).await?,
        };
        return compose(entry, creator_payload, full);
    }
    Err(not_found())
}

async fn user_payload_filled(
    db: &Database,
    cache: &Cache,
    fetched: &crate::cache::Fetched,
    slot: usize,
    id: i32,
) -> Result<Option<UserPayload>, AppError> {
    let u = db
        .shared(move |conn| Ok(user_payload::load_payloads(conn, &[id])?.pop()))
        .await?;
    if let Some(u) = &u {
        cache.fill(fetched, &[(slot, u)]).await;
    }
    Ok(u)
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
    let key = PlioEntry::key(tenant, plio_id);
    let entry: PlioEntry = cache
        .get_or_load(&key, || async {
            db.tenant(tenant, move |conn| Ok(payload::load_entry(conn, plio_id)?))
                .await
        })
        .await?;
    // A creator who no longer exists shows as null; any other failure is an error.
    let creator = match crate::api::user_payloads::payload(db, cache, entry.created_by_id).await {
        Ok(u) => Some(u),
        Err(e) if e.code() == Code::NotFound => None,
        Err(e) => return Err(e),
    };
    let full = sees_creator_details(db, cache, tenant, Some(caller), entry.created_by_id).await?;
    compose(entry, creator, full)
}
