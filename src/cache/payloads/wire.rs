//! The plio entry as it is cached and served (SPEC 6.3, 10.1): a small head holding what the
//! access checks need, then the payload's JSON with `created_by` left open. A cached read
//! decodes only the head and writes the response as bytes: the entry text, the creator's
//! fragment, a closing brace; no `Value` tree is built.
//!
//! Stored text: `{head}\n{"id":…,"updated_at":"…"` — the head is one line of JSON (JSON text
//! from serde never holds a raw newline), the body is the payload without its closing brace.
//! Text in any other form (an entry written by an older release sharing the Redis) does not
//! decode, which the readers treat as a miss: the entry is reloaded and stored in this form.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plio::{ItemPayload, PlioEntry};

/// What a read needs before it may serve the entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryHead {
    /// The plio's id.
    pub id: i32,
    /// Its uuid (a reader checks it against the uuid it was asked for).
    pub uuid: String,
    /// Whether anyone may play it.
    pub is_public: bool,
    /// The creator, whose user entry supplies `created_by`.
    pub created_by_id: i32,
}

/// The payload's fields in Plio's order, `created_by` excepted (spliced in when served).
#[derive(Serialize)]
struct Body<'a> {
    id: i32,
    name: &'a str,
    uuid: &'a str,
    failsafe_url: &'a str,
    status: &'a str,
    is_public: bool,
    config: &'a Option<Value>,
    video: &'a Value,
    items: &'a [ItemPayload],
    created_at: &'a DateTime<Utc>,
    updated_at: &'a DateTime<Utc>,
}

/// A plio entry in its cached form.
#[derive(Debug, Clone)]
pub struct PlioWire {
    /// The head, decoded.
    pub head: EntryHead,
    text: Arc<str>,
    body_at: usize,
}

impl PlioWire {
    /// Encodes a loaded entry.
    pub fn encode(entry: &PlioEntry) -> Result<Self, serde_json::Error> {
        let head = EntryHead {
            id: entry.id,
            uuid: entry.uuid.clone(),
            is_public: entry.is_public,
            created_by_id: entry.created_by_id,
        };
        let mut text = serde_json::to_string(&head)?;
        text.push('\n');
        let body_at = text.len();
        let body = serde_json::to_string(&Body {
            id: entry.id,
            name: &entry.name,
            uuid: &entry.uuid,
            failsafe_url: &entry.failsafe_url,
            status: &entry.status,
            is_public: entry.is_public,
            config: &entry.config,
            video: &entry.video,
            items: &entry.items,
            created_at: &entry.created_at,
            updated_at: &entry.updated_at,
        })?;
        // The body is an object with fields: everything but its closing brace.
        text.push_str(body.strip_suffix('}').unwrap_or(&body));
        Ok(Self {
            head,
            text: Arc::from(text),
            body_at,
        })
    }

    /// Decodes cached text; `None` if it is not in this form.
    pub fn decode(text: Arc<str>) -> Option<Self> {
        let (head, body) = text.split_once('\n')?;
        if !body.starts_with('{') || body.len() < 2 {
            return None;
        }
        let head: EntryHead = serde_json::from_str(head).ok()?;
        let body_at = text.len() - body.len();
        Some(Self {
            head,
            text,
            body_at,
        })
    }

    /// The text to store in the cache.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The served payload: the body, then `"created_by":` and the creator's JSON (`null` when
    /// there is none).
    pub fn serve(&self, created_by: Option<&str>) -> Vec<u8> {
        let body = self.text.get(self.body_at..).unwrap_or("{");
        let creator = created_by.unwrap_or("null");
        let mut out = Vec::with_capacity(body.len() + creator.len() + 16);
        out.extend_from_slice(body.as_bytes());
        out.extend_from_slice(b",\"created_by\":");
        out.extend_from_slice(creator.as_bytes());
        out.push(b'}');
        out
    }
}

/// The creator's fields everyone may see (SPEC 4.2), read from their cached user entry
/// without decoding the rest.
#[derive(Debug, Serialize, Deserialize)]
pub struct PublicCreator<'a> {
    id: i32,
    #[serde(borrow)]
    first_name: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    last_name: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    avatar_url: Option<std::borrow::Cow<'a, str>>,
}

/// The creator's public view as JSON, from their cached user entry (`None` if the text is not
/// a user entry).
pub fn public_creator(user_json: &str) -> Option<String> {
    let c: PublicCreator<'_> = serde_json::from_str(user_json).ok()?;
    serde_json::to_string(&c).ok()
}

/// One membership, as a cached user entry lists it.
#[derive(Debug, Deserialize)]
pub struct OrgRole {
    /// The organization.
    pub id: i32,
    /// The role's name.
    pub role: String,
}

#[derive(Deserialize)]
struct Memberships {
    organizations: Vec<OrgRole>,
}

/// The memberships of a cached user entry (`None` if the text is not a user entry).
pub fn memberships(user_json: &str) -> Option<Vec<OrgRole>> {
    serde_json::from_str::<Memberships>(user_json)
        .ok()
        .map(|m| m.organizations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::payloads::user::UserPayload;
    use serde_json::json;

    fn entry() -> PlioEntry {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-29T08:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        PlioEntry {
            id: 7,
            name: "Line \"one\"\nand two — ünïcode".into(),
            uuid: "abc123".into(),
            failsafe_url: String::new(),
            status: "published".into(),
            is_public: true,
            config: Some(json!({"settings": {"player": {"skipEnabled": true}}})),
            created_by_id: 3,
            video: json!({"id": 1, "url": "https://v", "title": null, "duration": 1.5}),
            items: vec![ItemPayload {
                id: 11,
                plio: 7,
                type_: "question".into(),
                time: 30.25,
                meta: None,
                created_at: at,
                updated_at: at,
                details: json!({"id": 5, "text": "2+2?", "options": ["3", "4"]}),
            }],
            created_at: at,
            updated_at: at,
        }
    }

    fn user() -> UserPayload {
        serde_json::from_value(json!({
            "id": 3, "last_login": null, "is_superuser": false, "first_name": "Ada",
            "last_name": "L\u{f6}vel\"ace", "is_staff": false, "is_active": true,
            "date_joined": "2026-01-01T00:00:00Z", "email": "ada@example.org", "mobile": null,
            "avatar_url": null, "config": {}, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "organizations": [{"id": 2, "name": "O", "shortcode": "o", "schema_name": "o",
                "config": null, "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z", "role": "org-admin"}],
            "status": "approved", "unique_id": null, "auth_org": null
        }))
        .unwrap()
    }

    /// What the payload was before it was served as bytes: the entry as a tree, without
    /// `created_by_id`, with `created_by`.
    fn as_tree(e: &PlioEntry, created_by: Value) -> Value {
        let mut v = serde_json::to_value(e).unwrap();
        let map = v.as_object_mut().unwrap();
        map.remove("created_by_id");
        map.insert("created_by".into(), created_by);
        v
    }

    #[test]
    fn served_bytes_are_the_payload_with_the_creator_spliced_in() {
        let e = entry();
        let u = user();
        let stored = PlioWire::encode(&e).unwrap();
        let wire = PlioWire::decode(Arc::from(stored.text())).unwrap();
        assert_eq!(wire.head.id, 7);
        assert_eq!(wire.head.uuid, "abc123");
        assert!(wire.head.is_public);
        assert_eq!(wire.head.created_by_id, 3);

        let text = serde_json::to_string(&u).unwrap();
        let full: Value = serde_json::from_slice(&wire.serve(Some(&text))).unwrap();
        assert_eq!(full, as_tree(&e, serde_json::to_value(&u).unwrap()));

        let public = public_creator(&text).unwrap();
        let shown: Value = serde_json::from_slice(&wire.serve(Some(&public))).unwrap();
        assert_eq!(shown, as_tree(&e, u.public_view()));

        let gone: Value = serde_json::from_slice(&wire.serve(None)).unwrap();
        assert_eq!(gone, as_tree(&e, Value::Null));

        let roles = memberships(&text).unwrap();
        assert_eq!(roles.len(), 1);
        assert_eq!((roles[0].id, roles[0].role.as_str()), (2, "org-admin"));
    }

    #[test]
    fn text_in_another_form_is_a_miss() {
        let old = serde_json::to_string(&entry()).unwrap();
        assert!(PlioWire::decode(Arc::from(old.as_str())).is_none());
        assert!(PlioWire::decode(Arc::from("{\"id\":1}\n")).is_none());
        assert!(PlioWire::decode(Arc::from("not json\n{\"id\":1")).is_none());
        assert!(public_creator("{\"id\":1}").is_none());
        assert!(memberships("[]").is_none());
    }
}
