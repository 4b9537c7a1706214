ALTER TABLE public.refresh_token ALTER COLUMN token_hash TYPE CHAR(64);
ALTER TABLE public.access_token ALTER COLUMN token_hash TYPE CHAR(64);
