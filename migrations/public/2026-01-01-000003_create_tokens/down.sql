DROP TABLE public.refresh_token;
DROP TABLE public.access_token;
