-- Tenant migrations run with search_path set to exactly the tenant's schema:
-- they never name their own schema.
-- User ids (created_by_id, user_id) are NOT foreign keys to public."user": each such key adds
-- RI triggers on public."user", so with thousands of tenants every new tenant (and every
-- change to a user row) got slower. Users are never hard-deleted (soft delete), and ids come
-- from authenticated callers, so the application keeps these references valid.
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
