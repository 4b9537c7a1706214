-- Opaque bearer tokens: only the SHA-256 hex digest is stored.
CREATE TABLE public.access_token (
    id         SERIAL PRIMARY KEY,
    user_id    INTEGER     NOT NULL REFERENCES public."user" (id) ON DELETE CASCADE,
    token_hash CHAR(64)    NOT NULL UNIQUE,
    scope      VARCHAR(255) NOT NULL DEFAULT 'read write',
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX access_token_user_idx ON public.access_token (user_id);

CREATE TABLE public.refresh_token (
    id              SERIAL PRIMARY KEY,
    user_id         INTEGER     NOT NULL REFERENCES public."user" (id) ON DELETE CASCADE,
    token_hash      CHAR(64)    NOT NULL UNIQUE,
    access_token_id INTEGER REFERENCES public.access_token (id) ON DELETE SET NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX refresh_token_user_idx ON public.refresh_token (user_id);
CREATE INDEX refresh_token_access_idx ON public.refresh_token (access_token_id);
