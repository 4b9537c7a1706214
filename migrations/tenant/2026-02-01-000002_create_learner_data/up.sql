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
