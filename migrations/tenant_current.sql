-- The current tenant schema in one script. Creating a tenant runs this (and records every
-- migration it includes in the schema's __diesel_schema_migrations, as diesel would) instead
-- of replaying migrations/tenant one by one.
--
-- Keep it equal to the migrations: when you add a tenant migration, fold its change into the
-- statements below (the final shape of each table, not its history) and move the version
-- line to the new migration. tests/api/tenant_script.rs builds one schema each way and fails
-- on any difference in the catalog (tables, columns, defaults, indexes, constraints,
-- sequences, triggers, functions) or a stale version line.
--
-- Like a migration, it never names a schema (search_path is the new tenant's), and it is
-- plain statements, each ending with `;` at the end of a line, with no dollar quoting: it can
-- be split into statements to run one per round trip where that is needed.
--
-- User ids (created_by_id, user_id) are not foreign keys to public."user": each such key adds
-- RI triggers on public."user", which slowed every user write and every new tenant as tenants
-- grew. Users are never hard-deleted and ids come from authenticated callers.
--
-- version: 20260201000003

CREATE TABLE video (
    id                 SERIAL PRIMARY KEY,
    url                VARCHAR(255) NOT NULL,
    title              VARCHAR(255),
    duration           DOUBLE PRECISION,
    -- Who created it (plio scopes videos to their creator and the plios using them).
    created_by_id      INTEGER,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted            TIMESTAMPTZ,
    deleted_by_cascade BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE image (
    id                 SERIAL PRIMARY KEY,
    url                VARCHAR(255) NOT NULL,
    alt_text           VARCHAR(255) NOT NULL DEFAULT 'Image',
    created_by_id      INTEGER,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted            TIMESTAMPTZ,
    deleted_by_cascade BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE plio (
    id                 SERIAL PRIMARY KEY,
    video_id           INTEGER REFERENCES video (id),
    name               VARCHAR(255) NOT NULL DEFAULT '',
    uuid               VARCHAR(50)  NOT NULL UNIQUE CHECK (uuid ~ '^[a-z]{10}$'),
    created_by_id      INTEGER      NOT NULL,
    failsafe_url       VARCHAR(255) NOT NULL DEFAULT '',
    status             VARCHAR(20)  NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    is_public          BOOLEAN      NOT NULL DEFAULT TRUE,
    config             JSONB,
    created_at         TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ  NOT NULL DEFAULT now(),
    deleted            TIMESTAMPTZ,
    deleted_by_cascade BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX plio_created_by_idx ON plio (created_by_id);
CREATE INDEX plio_video_idx ON plio (video_id);
CREATE INDEX plio_updated_at_idx ON plio (updated_at);

CREATE TABLE item (
    id                 SERIAL PRIMARY KEY,
    plio_id            INTEGER NOT NULL REFERENCES plio (id) ON DELETE CASCADE,
    type               VARCHAR(20) NOT NULL DEFAULT 'question' CHECK (type IN ('question')),
    time               DOUBLE PRECISION NOT NULL,
    meta               JSONB,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted            TIMESTAMPTZ,
    deleted_by_cascade BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX item_plio_time_idx ON item (plio_id, time);

CREATE TABLE question (
    id                 SERIAL PRIMARY KEY,
    item_id            INTEGER NOT NULL REFERENCES item (id) ON DELETE CASCADE,
    image_id           INTEGER REFERENCES image (id),
    type               VARCHAR(20) NOT NULL DEFAULT 'mcq' CHECK (type IN ('mcq', 'subjective', 'checkbox')),
    text               TEXT NOT NULL DEFAULT '',
    options            JSONB,
    correct_answer     JSONB,
    survey             BOOLEAN NOT NULL DEFAULT FALSE,
    has_char_limit     BOOLEAN NOT NULL DEFAULT FALSE,
    max_char_limit     DOUBLE PRECISION,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted            TIMESTAMPTZ,
    deleted_by_cascade BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX question_item_idx ON question (item_id);
CREATE INDEX question_image_idx ON question (image_id);

CREATE TABLE experiment (
    id                 SERIAL PRIMARY KEY,
    name               VARCHAR(255) NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    created_by_id      INTEGER NOT NULL,
    is_test            BOOLEAN NOT NULL DEFAULT FALSE,
    type               VARCHAR(20) NOT NULL DEFAULT 'split_url' CHECK (type IN ('split_url')),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted            TIMESTAMPTZ,
    deleted_by_cascade BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX experiment_created_by_idx ON experiment (created_by_id);

CREATE TABLE experiment_plio (
    id                 SERIAL PRIMARY KEY,
    experiment_id      INTEGER NOT NULL REFERENCES experiment (id),
    plio_id            INTEGER NOT NULL REFERENCES plio (id) ON DELETE CASCADE,
    split_percentage   DOUBLE PRECISION NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted            TIMESTAMPTZ,
    deleted_by_cascade BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX experiment_plio_experiment_idx ON experiment_plio (experiment_id);
CREATE INDEX experiment_plio_plio_idx ON experiment_plio (plio_id);

CREATE TABLE session (
    id                 SERIAL PRIMARY KEY,
    user_id            INTEGER NOT NULL,
    plio_id            INTEGER NOT NULL REFERENCES plio (id) ON DELETE CASCADE,
    experiment_id      INTEGER REFERENCES experiment (id),
    retention          TEXT NOT NULL DEFAULT '',
    watch_time         DOUBLE PRECISION NOT NULL DEFAULT 0,
    has_video_played   BOOLEAN NOT NULL DEFAULT FALSE,
    is_first           BOOLEAN NOT NULL DEFAULT FALSE,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted            TIMESTAMPTZ,
    deleted_by_cascade BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX session_plio_user_idx ON session (plio_id, user_id, id);
CREATE INDEX session_user_idx ON session (user_id);

CREATE TABLE session_answer (
    id                 SERIAL PRIMARY KEY,
    session_id         INTEGER NOT NULL REFERENCES session (id) ON DELETE CASCADE,
    item_id            INTEGER NOT NULL REFERENCES item (id) ON DELETE CASCADE,
    answer             JSONB,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted            TIMESTAMPTZ,
    deleted_by_cascade BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX session_answer_session_idx ON session_answer (session_id);
CREATE INDEX session_answer_item_idx ON session_answer (item_id);

CREATE TABLE event (
    id                 SERIAL PRIMARY KEY,
    session_id         INTEGER NOT NULL REFERENCES session (id) ON DELETE CASCADE,
    type               VARCHAR(40) NOT NULL,
    player_time        DOUBLE PRECISION NOT NULL,
    details            JSONB,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted            TIMESTAMPTZ,
    deleted_by_cascade BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX event_session_idx ON event (session_id, updated_at);

CREATE TABLE tag (
    id                 SERIAL PRIMARY KEY,
    name               VARCHAR(255) NOT NULL,
    slug               VARCHAR(50)  NOT NULL UNIQUE,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted            TIMESTAMPTZ,
    deleted_by_cascade BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE model_has_tag (
    id         SERIAL PRIMARY KEY,
    tag_id     INTEGER NOT NULL REFERENCES tag (id) ON DELETE CASCADE,
    model_type VARCHAR(255) NOT NULL,
    model_id   BIGINT NOT NULL CHECK (model_id >= 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX model_has_tag_model_idx ON model_has_tag (model_type, model_id);
