DROP TABLE public.login_failure;
