//! New tenants are built from `migrations/tenant_current.sql`, not by replaying the tenant
//! migrations: these tests keep the script equal to the migrations, catalog entry by catalog
//! entry, and the creation atomic.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use plio::db::migrations;
use plio::tenancy::provisioning::{create_tenant, NewTenant};
use plio::tenant::SchemaName;

use crate::helpers::TestDb;

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Everything PostgreSQL knows about the objects of a schema, one line per fact, with the
/// schema's own name left out (definitions are printed with `search_path` set to it).
const CATALOG_SQL: &str = "
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1)
SELECT 'relation ' || c.relname || ' kind=' || c.relkind::text || ' persistence=' || c.relpersistence::text
       || ' toast=' || (c.reltoastrelid <> 0) || ' rls=' || c.relrowsecurity
       || ' options=' || coalesce(array_to_string(c.reloptions, ','), '') AS line
FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'column ' || c.relname || ' #' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)
       || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || ' notnull=' || a.attnotnull || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
       || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
       || ' collation=' || coalesce(co.collname, '')
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
WHERE c.relnamespace = (SELECT oid FROM ns) AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index ' || i.relname || ' ' || pg_get_indexdef(x.indexrelid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
WHERE i.relnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'constraint ' || coalesce(t.relname, '') || ' ' || k.conname || ' ' || k.contype::text || ' '
       || pg_get_constraintdef(k.oid) || ' deferrable=' || k.condeferrable
       || ' deferred=' || k.condeferred || ' valid=' || k.convalidated
FROM pg_constraint k LEFT JOIN pg_class t ON t.oid = k.conrelid
WHERE k.connamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'sequence ' || c.relname || ' ' || format_type(s.seqtypid, NULL) || ' start=' || s.seqstart
       || ' increment=' || s.seqincrement || ' max=' || s.seqmax || ' min=' || s.seqmin
       || ' cache=' || s.seqcache || ' cycle=' || s.seqcycle || ' owned_by='
       || coalesce((SELECT t.relname || '.' || a.attname FROM pg_depend dep
                    JOIN pg_class t ON t.oid = dep.refobjid
                    JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
                    WHERE dep.classid = 'pg_class'::regclass AND dep.objid = c.oid
                      AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')), '')
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
WHERE c.relnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'trigger ' || c.relname || ' ' || pg_get_triggerdef(tg.oid)
FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
WHERE c.relnamespace = (SELECT oid FROM ns) AND NOT tg.tgisinternal
UNION ALL
SELECT 'policy ' || c.relname || ' ' || p.polname || ' ' || p.polcmd::text || ' '
       || coalesce(pg_get_expr(p.polqual, p.polrelid), '') || ' '
       || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
WHERE c.relnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'view ' || c.relname || ' ' || pg_get_viewdef(c.oid)
FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relkind IN ('v', 'm')
UNION ALL
SELECT 'function ' || pg_get_functiondef(p.oid)
FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns) AND p.prokind IN ('f', 'p')
UNION ALL
SELECT 'type ' || t.typname || ' ' || t.typtype::text || ' base=' || format_type(t.typbasetype, t.typtypmod)
       || ' labels=' || coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                                 FROM pg_enum e WHERE e.enumtypid = t.oid), '')
FROM pg_type t WHERE t.typnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'comment ' || c.relname || ' ' || coalesce(a.attname, '') || ' ' || d.description
FROM pg_description d JOIN pg_class c ON d.classoid = 'pg_class'::regclass AND c.oid = d.objoid
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid > 0
WHERE c.relnamespace = (SELECT oid FROM ns)";

/// The catalog lines of `schema`, sorted, plus its migration record (versions only: `run_on`
/// is when).
fn catalog(conn: &mut PgConnection, schema: &str) -> Vec<String> {
    conn.transaction(|conn| {
        diesel::sql_query("SELECT set_config('search_path', $1, true) AS line")
            .bind::<Text, _>(format!("\"{schema}\""))
            .execute(conn)?;
        let mut lines: Vec<String> = diesel::sql_query(CATALOG_SQL)
            .bind::<Text, _>(schema)
            .load::<Line>(conn)?
            .into_iter()
            .map(|l| l.line.replace(&format!("{schema}."), "<schema>."))
            .collect();
        let record: Vec<Line> = diesel::sql_query(format!(
            "SELECT 'migration ' || version AS line FROM \"{schema}\".__diesel_schema_migrations"
        ))
        .load(conn)?;
        lines.extend(record.into_iter().map(|l| l.line));
        lines.sort();
        Ok::<_, diesel::result::Error>(lines)
    })
    .unwrap()
}

fn new_tenant(shortcode: &str) -> NewTenant {
    NewTenant {
        name: shortcode.into(),
        shortcode: shortcode.into(),
        domain: None,
    }
}

#[test]
fn the_schema_script_builds_exactly_what_the_migrations_build() {
    let db = TestDb::new();
    let mut conn = PgConnection::establish(&db.url).unwrap();
    // One schema by replaying every tenant migration through diesel's harness...
    conn.batch_execute("CREATE SCHEMA replayed").unwrap();
    let replayed = SchemaName::from_stored("replayed").unwrap();
    let applied = migrations::apply_tenant(&mut conn, &replayed).unwrap();
    assert_eq!(applied, migrations::tenant_versions());
    // ...and one the way tenants are created.
    create_tenant(&mut conn, &new_tenant("scripted"), "localhost").unwrap();

    let want = catalog(&mut conn, "replayed");
    let got = catalog(&mut conn, "scripted");
    assert!(
        want.len() > 100,
        "the catalog query sees the schema: {want:#?}"
    );
    let missing: Vec<&String> = want.iter().filter(|l| !got.contains(l)).collect();
    let extra: Vec<&String> = got.iter().filter(|l| !want.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && want.len() == got.len(),
        "migrations/tenant_current.sql differs from the tenant migrations.\n\
         only from the migrations: {missing:#?}\nonly from the script: {extra:#?}"
    );
    // A script behind the migrations still builds a correct schema (the harness applies the
    // rest), but slower: its version line must name the newest migration.
    assert_eq!(
        migrations::script_version(),
        Some(migrations::latest_tenant_version()),
        "bring migrations/tenant_current.sql up to the newest tenant migration"
    );
    // The harness sees the scripted schema as current: nothing left to apply.
    let scripted = SchemaName::from_stored("scripted").unwrap();
    assert!(migrations::apply_tenant(&mut conn, &scripted)
        .unwrap()
        .is_empty());
}

#[test]
fn a_failure_recording_the_migrations_leaves_nothing_behind() {
    let db = TestDb::new();
    let mut conn = PgConnection::establish(&db.url).unwrap();
    // Refuse the very last step of the schema: the migration record, after every table.
    conn.batch_execute(
        "CREATE FUNCTION refuse_record() RETURNS event_trigger LANGUAGE plpgsql AS $$
         DECLARE r record;
         BEGIN
           FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
             IF r.object_identity = 'late.__diesel_schema_migrations' THEN
               RAISE EXCEPTION 'refused the record';
             END IF;
           END LOOP;
         END $$;
         CREATE EVENT TRIGGER refuse_record ON ddl_command_end EXECUTE FUNCTION refuse_record();",
    )
    .unwrap();
    let err = create_tenant(&mut conn, &new_tenant("late"), "localhost").unwrap_err();
    assert!(format!("{err:#}").contains("refused the record"), "{err:#}");
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let left: N = diesel::sql_query(
        "SELECT (SELECT COUNT(*) FROM public.organization WHERE shortcode = 'late')
              + (SELECT COUNT(*) FROM public.organizations_domain WHERE domain LIKE '%/late')
              + (SELECT COUNT(*) FROM pg_namespace WHERE nspname = 'late')
              + (SELECT COUNT(*) FROM pg_class WHERE relname = 'plio' AND relnamespace::regnamespace::text = 'late') AS n",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(left.n, 0, "nothing of the failed tenant remains");
    conn.batch_execute("DROP EVENT TRIGGER refuse_record")
        .unwrap();
    create_tenant(&mut conn, &new_tenant("late"), "localhost").unwrap();
}

/// Issue 15: a Citus worker refuses a text holding several commands, and Citus forwards DDL
/// as the text it received. An event trigger records the text of every DDL command's client
/// request (`current_query()`) while a schema is built by replaying the tenant migrations, a
/// public migration runs and the tenant script is run statement by statement: each text must
/// be one statement. Sending a migration as one batch fails here, on plain PostgreSQL; so does
/// a tenant script that no longer splits into single statements. (New tenants run the
/// script as one batch: on Citus they are built with sharding off, see
/// `provisioning::create_tenant`.)
#[test]
fn migrations_reach_the_server_one_statement_at_a_time() {
    let db = TestDb::new();
    let mut conn = db.conn();
    conn.batch_execute(
        "DELETE FROM public.__diesel_schema_migrations WHERE version = '20261129000002';
         DROP INDEX public.access_token_token_hash_text_idx, public.refresh_token_token_hash_text_idx;
         CREATE TABLE public.ddl_text (q TEXT NOT NULL);
         CREATE FUNCTION public.record_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
         BEGIN INSERT INTO public.ddl_text VALUES (current_query()); END $$;
         CREATE EVENT TRIGGER record_ddl ON ddl_command_end EXECUTE FUNCTION public.record_ddl();",
    )
    .expect("event trigger");
    let replayed = SchemaName::for_new_tenant("replayed").unwrap();
    conn.batch_execute("CREATE SCHEMA replayed").unwrap();
    migrations::apply_tenant(&mut conn, &replayed).expect("replay");
    let public = migrations::apply_public(&mut conn).expect("public migrations");
    assert!(!public.is_empty(), "a public migration ran again");
    conn.batch_execute("CREATE SCHEMA split_script").unwrap();
    conn.batch_execute("SET search_path = split_script")
        .unwrap();
    plio::db::statements::execute(&mut conn, migrations::TENANT_SCRIPT)
        .expect("the tenant script, one statement at a time");
    conn.batch_execute("DROP EVENT TRIGGER record_ddl").unwrap();

    let texts: Vec<String> = diesel::sql_query("SELECT q AS line FROM public.ddl_text")
        .load::<Line>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect();
    assert!(texts.len() > 50, "DDL recorded: {}", texts.len());
    let batched: Vec<&String> = texts
        .iter()
        .filter(|q| plio::db::statements::split(q).len() != 1)
        .collect();
    assert!(batched.is_empty(), "sent as one text: {batched:#?}");
}
