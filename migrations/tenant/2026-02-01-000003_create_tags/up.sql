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
