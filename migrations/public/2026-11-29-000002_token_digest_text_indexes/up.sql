-- Token digests are bound as text; `CHAR(64) = text` casts the column, so the unique indexes
-- could not serve a lookup and every authenticated request without a cached token scanned the
-- user table (29 ms per lookup with 10,000 users; issue 14). Indexes on the cast expression
-- serve those lookups. The column type stays: changing it would make the prepared statements
-- of an older release still running (rolling deploy) fail with "cached plan must not change
-- result type", and would rewrite both tables under an exclusive lock.
CREATE INDEX access_token_token_hash_text_idx ON public.access_token ((token_hash::text));
CREATE INDEX refresh_token_token_hash_text_idx ON public.refresh_token ((token_hash::text));
