DROP TABLE public.one_time_password;
DROP TABLE public.organization_user;
DROP TABLE public.role;
DROP TABLE public."user";
