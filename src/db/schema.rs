//! Diesel table definitions, matching `migrations/`.
//!
//! Shared tables are schema-qualified (`public.organization`); tenant tables are not, so they
//! resolve only through a tenant scope's `search_path` (SPEC 2.4). Written to match
//! `diesel print-schema` output; `tests/api/schema_drift.rs` checks every column against a
//! freshly migrated database.

diesel::table! {
    public.organization (id) {
        id -> Int4,
        name -> Varchar,
        shortcode -> Varchar,
        schema_name -> Varchar,
        api_key -> Varchar,
        config -> Jsonb,
        schema_version -> Nullable<Varchar>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    public.organizations_domain (id) {
        id -> Int4,
        domain -> Varchar,
        tenant_id -> Int4,
        is_primary -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    public.user (id) {
        id -> Int4,
        email -> Nullable<Varchar>,
        mobile -> Nullable<Varchar>,
        first_name -> Varchar,
        last_name -> Varchar,
        password -> Nullable<Varchar>,
        is_superuser -> Bool,
        is_staff -> Bool,
        is_active -> Bool,
        last_login -> Nullable<Timestamptz>,
        date_joined -> Timestamptz,
        avatar_url -> Nullable<Varchar>,
        config -> Jsonb,
        status -> Varchar,
        unique_id -> Nullable<Varchar>,
        auth_org_id -> Nullable<Int4>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    public.role (id) {
        id -> Int4,
        name -> Varchar,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    public.organization_user (id) {
        id -> Int4,
        user_id -> Int4,
        organization_id -> Int4,
        role_id -> Int4,
        is_owner -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    public.one_time_password (id) {
        id -> Int4,
        mobile -> Varchar,
        otp_hash -> Varchar,
        expires_at -> Timestamptz,
        attempts -> Int4,
        consumed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    public.access_token (id) {
        id -> Int4,
        user_id -> Int4,
        token_hash -> Bpchar,
        scope -> Varchar,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    public.refresh_token (id) {
        id -> Int4,
        user_id -> Int4,
        token_hash -> Bpchar,
        access_token_id -> Nullable<Int4>,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(organizations_domain -> organization (tenant_id));
diesel::joinable!(organization_user -> organization (organization_id));
diesel::joinable!(organization_user -> role (role_id));
diesel::joinable!(organization_user -> user (user_id));
diesel::joinable!(access_token -> user (user_id));
diesel::joinable!(refresh_token -> user (user_id));

diesel::table! {
    public.login_failure (id) {
        id -> Int8,
        username -> Varchar,
        address -> Varchar,
        created_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    login_failure,
    organization,
    organizations_domain,
    user,
    role,
    organization_user,
    one_time_password,
    access_token,
    refresh_token,
);

/// Tenant tables: present in `public` (the personal workspace) and in every tenant schema.
pub mod tenant {
    diesel::table! {
        video (id) {
            id -> Int4,
            url -> Varchar,
            title -> Nullable<Varchar>,
            duration -> Nullable<Float8>,
            created_by_id -> Nullable<Int4>,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
            deleted -> Nullable<Timestamptz>,
            deleted_by_cascade -> Bool,
        }
    }

    diesel::table! {
        image (id) {
            id -> Int4,
            url -> Varchar,
            alt_text -> Varchar,
            created_by_id -> Nullable<Int4>,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
            deleted -> Nullable<Timestamptz>,
            deleted_by_cascade -> Bool,
        }
    }

    diesel::table! {
        plio (id) {
            id -> Int4,
            video_id -> Nullable<Int4>,
            name -> Varchar,
            uuid -> Varchar,
            created_by_id -> Int4,
            failsafe_url -> Varchar,
            status -> Varchar,
            is_public -> Bool,
            config -> Nullable<Jsonb>,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
            deleted -> Nullable<Timestamptz>,
            deleted_by_cascade -> Bool,
        }
    }

    diesel::table! {
        item (id) {
            id -> Int4,
            plio_id -> Int4,
            #[sql_name = "type"]
            type_ -> Varchar,
            time -> Float8,
            meta -> Nullable<Jsonb>,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
            deleted -> Nullable<Timestamptz>,
            deleted_by_cascade -> Bool,
        }
    }

    diesel::table! {
        question (id) {
            id -> Int4,
            item_id -> Int4,
            image_id -> Nullable<Int4>,
            #[sql_name = "type"]
            type_ -> Varchar,
            text -> Text,
            options -> Nullable<Jsonb>,
            correct_answer -> Nullable<Jsonb>,
            survey -> Bool,
            has_char_limit -> Bool,
            max_char_limit -> Nullable<Float8>,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
            deleted -> Nullable<Timestamptz>,
            deleted_by_cascade -> Bool,
        }
    }

    diesel::table! {
        experiment (id) {
            id -> Int4,
            name -> Varchar,
            description -> Text,
            created_by_id -> Int4,
            is_test -> Bool,
            #[sql_name = "type"]
            type_ -> Varchar,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
            deleted -> Nullable<Timestamptz>,
            deleted_by_cascade -> Bool,
        }
    }

    diesel::table! {
        experiment_plio (id) {
            id -> Int4,
            experiment_id -> Int4,
            plio_id -> Int4,
            split_percentage -> Float8,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
            deleted -> Nullable<Timestamptz>,
            deleted_by_cascade -> Bool,
        }
    }

    diesel::table! {
        session (id) {
            id -> Int4,
            user_id -> Int4,
            plio_id -> Int4,
            experiment_id -> Nullable<Int4>,
            retention -> Text,
            watch_time -> Float8,
            has_video_played -> Bool,
            is_first -> Bool,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
            deleted -> Nullable<Timestamptz>,
            deleted_by_cascade -> Bool,
        }
    }

    diesel::table! {
        session_answer (id) {
            id -> Int4,
            session_id -> Int4,
            item_id -> Int4,
            answer -> Nullable<Jsonb>,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
            deleted -> Nullable<Timestamptz>,
            deleted_by_cascade -> Bool,
        }
    }

    diesel::table! {
        event (id) {
            id -> Int4,
            session_id -> Int4,
            #[sql_name = "type"]
            type_ -> Varchar,
            player_time -> Float8,
            details -> Nullable<Jsonb>,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
            deleted -> Nullable<Timestamptz>,
            deleted_by_cascade -> Bool,
        }
    }

    diesel::table! {
        tag (id) {
            id -> Int4,
            name -> Varchar,
            slug -> Varchar,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
            deleted -> Nullable<Timestamptz>,
            deleted_by_cascade -> Bool,
        }
    }

    diesel::table! {
        model_has_tag (id) {
            id -> Int4,
            tag_id -> Int4,
            model_type -> Varchar,
            model_id -> Int8,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
        }
    }

    diesel::joinable!(plio -> video (video_id));
    diesel::joinable!(item -> plio (plio_id));
    diesel::joinable!(question -> item (item_id));
    diesel::joinable!(question -> image (image_id));
    diesel::joinable!(session -> plio (plio_id));
    diesel::joinable!(session_answer -> session (session_id));
    diesel::joinable!(session_answer -> item (item_id));
    diesel::joinable!(event -> session (session_id));
    diesel::joinable!(experiment_plio -> plio (plio_id));
    diesel::joinable!(experiment_plio -> experiment (experiment_id));

    diesel::allow_tables_to_appear_in_same_query!(
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
}
