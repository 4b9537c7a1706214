//! `src/db/schema.rs` matches the migrations: every column diesel knows exists, in public and
//! in a tenant schema, and no table has a column diesel does not know.

use ::plio::db::schema::tenant::{
    event, experiment, experiment_plio, image, item, model_has_tag, plio, question, session,
    session_answer, tag, video,
};
use ::plio::db::schema::{
    access_token, login_failure, one_time_password, organization, organization_user,
    organizations_domain, refresh_token, role, user,
};
use ::plio::db::Database;
use ::plio::tenant::{SchemaName, Tenant};
use diesel::prelude::*;

macro_rules! check_tables {
    ($conn:expr, $($table:ident),* $(,)?) => {{
        let mut known: Vec<(&'static str, usize)> = Vec::new();
        $(
            $table::table
                .select($table::all_columns)
                .limit(0)
                .execute($conn)
                .unwrap_or_else(|e| panic!("{}: {e}", stringify!($table)));
            known.push((stringify!($table), <$table::table as diesel::Table>::all_columns().len_hint()));
        )*
        known
    }};
}

trait LenHint {
    fn len_hint(&self) -> usize;
}
macro_rules! impl_len_hint {
    ($($n:literal => ($($t:ident),*)),* $(,)?) => {
        $(impl<$($t),*> LenHint for ($($t,)*) { fn len_hint(&self) -> usize { $n } })*
    };
}
impl_len_hint! {
    4 => (A, B, C, D),
    5 => (A, B, C, D, E),
    6 => (A, B, C, D, E, F),
    7 => (A, B, C, D, E, F, G),
    8 => (A, B, C, D, E, F, G, H),
    9 => (A, B, C, D, E, F, G, H, I),
    10 => (A, B, C, D, E, F, G, H, I, J),
    11 => (A, B, C, D, E, F, G, H, I, J, K),
    12 => (A, B, C, D, E, F, G, H, I, J, K, L),
    13 => (A, B, C, D, E, F, G, H, I, J, K, L, M),
    14 => (A, B, C, D, E, F, G, H, I, J, K, L, M, N),
    15 => (A, B, C, D, E, F, G, H, I, J, K, L, M, N, O),
    19 => (A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S),
}

fn column_count(conn: &mut PgConnection, schema: &str, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(
        "SELECT COUNT(*) AS n FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
    )
    .bind::<diesel::sql_types::Text, _>(schema)
    .bind::<diesel::sql_types::Text, _>(table)
    .get_result::<N>(conn)
    .unwrap()
    .n
}

#[test]
fn schema_rs_matches_the_migrations() {
    let guard = crate::helpers::TestDb::new();
    let db = Database::connect(&guard.url, 2).unwrap();
    {
        let mut conn = diesel::PgConnection::establish(&guard.url).unwrap();
        ::plio::tenancy::provisioning::create_tenant(
            &mut conn,
            &::plio::tenancy::provisioning::NewTenant {
                name: "Drift".into(),
                shortcode: "drift".into(),
                domain: None,
            },
            "localhost",
        )
        .unwrap();
    }
    let shared = db
        .shared_blocking::<_, anyhow::Error, _>(|conn| {
            let known = check_tables!(
                conn,
                organization,
                organizations_domain,
                user,
                role,
                organization_user,
                one_time_password,
                access_token,
                refresh_token,
                login_failure,
            );
            Ok(known
                .into_iter()
                .map(|(t, n)| (t, n, column_count(conn, "public", t)))
                .collect::<Vec<_>>())
        })
        .unwrap();
    for (table, diesel_cols, db_cols) in shared {
        assert_eq!(diesel_cols as i64, db_cols, "public.{table}");
    }
    for schema in ["public", "drift"] {
        let stored = SchemaName::from_stored(schema).unwrap();
        let tenant_tables = db
            .tenant_blocking::<_, anyhow::Error, _>(
                &Tenant::new(None, schema.into(), stored),
                |conn| {
                    let known = check_tables!(
                        conn,
                        video,
                        image,
                        plio,
                        item,
                        question,
                        experiment,
                        experiment_plio,
                        session,
                        session_answer,
                        event,
                        tag,
                        model_has_tag,
                    );
                    Ok(known
                        .into_iter()
                        .map(|(t, n)| (t, n, column_count(conn, schema, t)))
                        .collect::<Vec<_>>())
                },
            )
            .unwrap();
        for (table, diesel_cols, db_cols) in tenant_tables {
            assert_eq!(diesel_cols as i64, db_cols, "{schema}.{table}");
        }
    }
}
