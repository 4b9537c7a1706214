-- Failed password grants, shared by every instance: at most LOGIN_FAILURES_PER_ACCOUNT per
-- account and LOGIN_FAILURES_PER_ADDRESS per client address in 15 minutes (SPEC 4.1).
CREATE TABLE public.login_failure (
    id         BIGSERIAL    PRIMARY KEY,
    username   VARCHAR(255) NOT NULL,
    address    VARCHAR(64)  NOT NULL,
    created_at TIMESTAMPTZ  NOT NULL DEFAULT now()
);
CREATE INDEX login_failure_username_idx ON public.login_failure (username, created_at);
CREATE INDEX login_failure_address_idx ON public.login_failure (address, created_at);
CREATE INDEX login_failure_created_idx ON public.login_failure (created_at);
