//! Key rendering: SPEC 6.2 on a single Redis, hash tags on a Redis Cluster.

use super::*;

#[test]
fn keys_follow_the_spec_format() {
    let ks = KeySpace::new("plio");
    let schema = SchemaName::for_new_tenant("avantifellows").expect("valid");
    let key = EntryKey::new(schema, Kind::Plio, 17);
    assert_eq!(ks.entry(&key), "plio:avantifellows:plio:17");
    let user = EntryKey::new(SchemaName::public(), Kind::User, 42);
    assert_eq!(ks.entry(&user), "plio:public:user:42");
    assert_eq!(
        ks.parse("plio:public:user:42"),
        Some(("public", "user", "42"))
    );
    assert_eq!(ks.parse("plio:_v:public:user:42"), None);
    assert_eq!(ks.render(&user).version, "plio:_v:public:user:42");
    assert_eq!(Kind::parse("plio"), Some(Kind::Plio));
    assert_eq!(key.bus_name(), "avantifellows:plio:17");
    assert_eq!(EntryKey::from_bus_name(&key.bus_name()), Some(key));
    for bad in [
        "x",
        "avantifellows:plio",
        "avantifellows:nope:1",
        "a b:plio:1",
        "public:user:x",
    ] {
        assert_eq!(EntryKey::from_bus_name(bad), None, "{bad}");
    }
}

#[test]
fn stamps_and_the_global_generation_are_bookkeeping_keys() {
    let ks = KeySpace::new("plio");
    let user = EntryKey::new(SchemaName::public(), Kind::User, 42);
    assert_eq!(ks.render(&user).stamp, "plio:_s:public:user:42");
    assert_eq!(ks.global_gen(), "plio:_g");
    assert_eq!(ks.parse("plio:_s:public:user:42"), None);
    assert_eq!(ks.parse("plio:_g"), None);
}

/// The hash tag Redis Cluster hashes a key by: the text between the first `{` and the
/// next `}`, when not empty; else the whole key.
fn hash_tag(key: &str) -> &str {
    key.find('{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            rest.find('}')
                .filter(|&close| close > 0)
                .map(|close| &rest[..close])
        })
        .unwrap_or(key)
}

#[test]
fn single_redis_keys_stay_untagged() {
    let ks = KeySpace::new("plio");
    assert!(!ks.is_cluster());
    let key = EntryKey::new(
        SchemaName::for_new_tenant("acme").expect("valid"),
        Kind::Plio,
        17,
    );
    let r = ks.render(&key);
    assert_eq!(r.entry, "plio:acme:plio:17");
    assert_eq!(r.version, "plio:_v:acme:plio:17");
    assert_eq!(r.stamp, "plio:_s:acme:plio:17");
    assert_eq!(r.tenant_gen, "plio:_tg:acme");
    assert_eq!(r.tenant_index, "plio:_idx:acme");
    assert_eq!(ks.tenant_gen_prefix(), "plio:_tg:");
    assert_eq!(ks.pattern(None, None), "plio:[a-z]*:*:*");
    assert_eq!(
        ks.pattern(Some("acme"), Some(Kind::User)),
        "plio:acme:user:*"
    );
}

#[test]
fn cluster_keys_of_one_tenant_share_its_hash_tag() {
    let ks = KeySpace::cluster("plio");
    assert!(ks.is_cluster());
    let acme = SchemaName::for_new_tenant("acme").expect("valid");
    let key = EntryKey::new(acme.clone(), Kind::Plio, 17);
    let r = ks.render(&key);
    assert_eq!(r.entry, "plio:{acme}:plio:17");
    assert_eq!(r.version, "plio:_v:{acme}:plio:17");
    assert_eq!(r.stamp, "plio:_s:{acme}:plio:17");
    assert_eq!(r.tenant_gen, "plio:_tg:{acme}");
    assert_eq!(r.tenant_index, "plio:_idx:{acme}");
    for k in [
        &r.entry,
        &r.version,
        &r.stamp,
        &r.tenant_gen,
        &r.tenant_index,
    ] {
        assert_eq!(hash_tag(k), "acme", "{k}");
    }
    // Global entities, the personal workspace and the whole cache's generation: `public`.
    let user = ks.render(&EntryKey::new(SchemaName::public(), Kind::User, 42));
    assert_eq!(user.entry, "plio:{public}:user:42");
    assert_eq!(ks.global_gen(), "plio:_g:{public}");
    for k in [
        &user.entry,
        &user.version,
        &user.stamp,
        &user.tenant_gen,
        &ks.global_gen(),
    ] {
        assert_eq!(hash_tag(k), "public", "{k}");
    }
    assert!(r.tenant_gen.starts_with(&ks.tenant_gen_prefix()));
    assert!(r.version.starts_with(&ks.version_prefix()));
}

#[test]
fn cluster_keys_parse_back_and_bookkeeping_does_not() {
    let ks = KeySpace::cluster("plio");
    for (schema, kind, id) in [("acme", Kind::Plio, 17), ("public", Kind::User, 42)] {
        let key = EntryKey::new(SchemaName::from_stored(schema).expect("valid"), kind, id);
        let rendered = ks.entry(&key);
        assert_eq!(
            ks.parse(&rendered),
            Some((schema, kind.as_str(), id.to_string().as_str()))
        );
        let r = ks.render(&key);
        for bookkeeping in [&r.version, &r.stamp, &r.tenant_gen, &r.tenant_index] {
            assert_eq!(ks.parse(bookkeeping), None, "{bookkeeping}");
        }
    }
    assert_eq!(ks.parse(&ks.global_gen()), None);
    // Untagged keys (a single Redis's) are not this key space's entries, and vice versa.
    assert_eq!(ks.parse("plio:acme:plio:17"), None);
    assert_eq!(ks.parse("plio:{}:plio:17"), None);
    assert_eq!(ks.parse("other:{acme}:plio:17"), None);
    assert_eq!(ks.pattern(None, None), "plio:{[a-z]*}:*:*");
    assert_eq!(
        ks.pattern(Some("acme"), Some(Kind::Plio)),
        "plio:{acme}:plio:*"
    );
}
