CREATE TABLE public."user" (
    id           SERIAL PRIMARY KEY,
    email        VARCHAR(255) UNIQUE,
    mobile       VARCHAR(20),
    first_name   VARCHAR(150) NOT NULL DEFAULT '',
    last_name    VARCHAR(150) NOT NULL DEFAULT '',
    password     VARCHAR(255),
    is_superuser BOOLEAN      NOT NULL DEFAULT FALSE,
    is_staff     BOOLEAN      NOT NULL DEFAULT FALSE,
    is_active    BOOLEAN      NOT NULL DEFAULT TRUE,
    last_login   TIMESTAMPTZ,
    date_joined  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    avatar_url   VARCHAR(255),
    config       JSONB        NOT NULL DEFAULT '{}'::jsonb,
    status       VARCHAR(20)  NOT NULL DEFAULT 'approved' CHECK (status IN ('waitlist', 'approved')),
    unique_id    VARCHAR(255),
    auth_org_id  INTEGER REFERENCES public.organization (id),
    created_at   TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ  NOT NULL DEFAULT now(),
    deleted      TIMESTAMPTZ,
    CONSTRAINT user_unique_id_per_org UNIQUE (unique_id, auth_org_id)
);
CREATE INDEX user_mobile_idx ON public."user" (mobile);

CREATE TABLE public.role (
    id         SERIAL PRIMARY KEY,
    name       VARCHAR(255) NOT NULL UNIQUE,
    created_at TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ  NOT NULL DEFAULT now(),
    deleted    TIMESTAMPTZ
);

CREATE TABLE public.organization_user (
    id              SERIAL PRIMARY KEY,
    user_id         INTEGER     NOT NULL REFERENCES public."user" (id),
    organization_id INTEGER     NOT NULL REFERENCES public.organization (id),
    role_id         INTEGER     NOT NULL REFERENCES public.role (id),
    is_owner        BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT organization_user_unique UNIQUE (user_id, organization_id)
);
CREATE INDEX organization_user_organization_idx ON public.organization_user (organization_id);

CREATE TABLE public.one_time_password (
    id         SERIAL PRIMARY KEY,
    mobile     VARCHAR(20)  NOT NULL,
    -- SHA-256 of mobile and code; the code itself is never stored.
    otp_hash    VARCHAR(64)  NOT NULL,
    expires_at  TIMESTAMPTZ  NOT NULL,
    -- Wrong guesses against this code; at 5 it stops working.
    attempts    INTEGER      NOT NULL DEFAULT 0,
    consumed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ  NOT NULL DEFAULT now()
);
CREATE INDEX one_time_password_mobile_idx ON public.one_time_password (mobile, created_at);
