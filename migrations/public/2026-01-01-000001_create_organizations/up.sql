-- Shared tables always live in public and are always referenced schema-qualified.
CREATE TABLE public.organization (
    id             SERIAL PRIMARY KEY,
    name           VARCHAR(255) NOT NULL,
    shortcode      VARCHAR(50)  NOT NULL UNIQUE,
    schema_name    VARCHAR(63)  NOT NULL UNIQUE,
    api_key        VARCHAR(64)  NOT NULL UNIQUE,
    config         JSONB        NOT NULL DEFAULT '{}'::jsonb,
    -- Version of the newest tenant migration applied to schema_name (NULL = none).
    schema_version VARCHAR(32),
    created_at     TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ  NOT NULL DEFAULT now(),
    deleted        TIMESTAMPTZ
);

CREATE TABLE public.organizations_domain (
    id         SERIAL PRIMARY KEY,
    domain     VARCHAR(253) NOT NULL UNIQUE,
    tenant_id  INTEGER      NOT NULL REFERENCES public.organization (id) ON DELETE CASCADE,
    is_primary BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT organizations_domain_lower CHECK (domain = lower(domain))
);
CREATE INDEX organizations_domain_tenant_id_idx ON public.organizations_domain (tenant_id);
-- Exactly one primary domain per tenant (at most one enforced here; creation inserts one).
CREATE UNIQUE INDEX organizations_domain_one_primary ON public.organizations_domain (tenant_id) WHERE is_primary;
