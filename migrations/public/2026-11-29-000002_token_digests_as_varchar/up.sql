-- Token digests are bound as text; `CHAR(64) = text` casts the column, so the unique indexes
-- could not serve a lookup and every authenticated request without a cached token scanned the
-- user table (29 ms per lookup with 10,000 users; issue 14). VARCHAR compares as text.
ALTER TABLE public.access_token ALTER COLUMN token_hash TYPE VARCHAR(64);
ALTER TABLE public.refresh_token ALTER COLUMN token_hash TYPE VARCHAR(64);
