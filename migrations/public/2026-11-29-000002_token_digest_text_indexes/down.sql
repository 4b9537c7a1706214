DROP INDEX IF EXISTS public.refresh_token_token_hash_text_idx;
DROP INDEX IF EXISTS public.access_token_token_hash_text_idx;
