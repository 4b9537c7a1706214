DROP TABLE public.organizations_domain;
DROP TABLE public.organization;
