//! Settings: one typed struct, loaded once from the environment (and an optional `.env`).
//!
//! Every variable of SPEC 7 is read here and nowhere else. A bad value stops startup with a
//! message that names the variable.

mod values;

use std::path::PathBuf;

use crate::tenant::validate_shortcode;

use values::{err, parse_num, redis_targets};
pub use values::{CacheBackend, ConfigError, LogFormat, Secret, SmsDriver};

/// All runtime settings (SPEC 7).
#[derive(Clone, Debug)]
pub struct Settings {
    /// PostgreSQL connection URL.
    pub database_url: String,
    /// Redis URL of a single server; `None` means the memory cache (or a cluster).
    pub redis_url: Option<String>,
    /// Seed nodes of a Redis Cluster (`REDIS_CLUSTER_URLS`, or `REDIS_URL=redis+cluster://…`).
    pub redis_cluster_urls: Option<Vec<String>>,
    /// Selected cache backend.
    pub cache_backend: CacheBackend,
    /// Time to live of cache entries, seconds.
    pub cache_ttl_seconds: u64,
    /// Bound on every cache call, milliseconds.
    pub cache_timeout_ms: u64,
    /// First component of every cache key.
    pub cache_key_prefix: String,
    /// Listen address of `plio serve`.
    pub bind: String,
    /// Number of HTTP worker threads.
    pub workers: usize,
    /// Maximum connections in the database pool.
    pub db_pool_size: u32,
    /// Shortcode of the public organization (the personal workspace).
    pub default_tenant_shortcode: String,
    /// Name of the public organization.
    pub default_tenant_name: String,
    /// Domain of the public organization; also the host of new tenants' default domains.
    pub default_tenant_domain: String,
    /// Superuser created by `plio seed` when both are set.
    pub superuser_email: Option<String>,
    /// Password of that superuser.
    pub superuser_password: Option<Secret>,
    /// OTP delivery driver.
    pub sms_driver: SmsDriver,
    /// Where the webhook SMS driver posts `{mobile, message}`.
    pub sms_webhook_url: Option<String>,
    /// The log filter (`RUST_LOG`), validated.
    pub rust_log: Option<String>,
    /// Where uploaded media are stored.
    pub media_root: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// How often each instance reloads the tenant registry, milliseconds.
    pub tenant_refresh_ms: u64,
    /// How long an instance trusts a checked access token without asking the database.
    pub token_cache_seconds: u64,
    /// Origins allowed by CORS; `None` allows any origin (as Plio).
    pub cors_allowed_origins: Option<Vec<String>>,
    /// Whether `POST /auth/convert-token/` (Google sign-in) is served.
    pub google_sign_in: bool,
    /// Google's userinfo endpoint, asked who a Google access token belongs to.
    pub google_userinfo_url: String,
    /// Total deadline of a call to Google, milliseconds.
    pub google_timeout_ms: u64,
    /// Total deadline for a request body, from the end of its headers (408 after it).
    pub request_body_timeout_ms: u64,
    /// Most open client connections (over all workers).
    pub max_connections: usize,
    /// Failed password grants allowed per account in 15 minutes.
    pub login_failures_per_account: i64,
    /// Failed password grants allowed per client address in 15 minutes.
    pub login_failures_per_address: i64,
    /// Public base URL of uploaded media (e.g. `https://api.example.com`); unset = the origin
    /// each upload was addressed to.
    pub media_url: Option<String>,
}

impl Settings {
    /// Loads settings from the process environment (call `dotenvy::dotenv()` first to honour `.env`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Loads settings from any key lookup (used by tests with a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // An empty variable counts as unset, as in most twelve-factor tools.
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());

        let database_url =
            get("DATABASE_URL").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/plio".into());
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(err(
                "DATABASE_URL",
                "must start with postgres:// or postgresql://",
            ));
        }
        let (redis_url, redis_cluster_urls) = redis_targets(&get)?;
        let redis = redis_url.is_some() || redis_cluster_urls.is_some();
        let cache_backend = match get("CACHE_BACKEND").as_deref().map(str::to_ascii_lowercase) {
            None if redis => CacheBackend::Redis,
            None => CacheBackend::Memory,
            Some(v) => match v.as_str() {
                "memory" => CacheBackend::Memory,
                "redis" if redis => CacheBackend::Redis,
                "redis" => {
                    return Err(err(
                        "CACHE_BACKEND",
                        "is redis but neither REDIS_URL nor REDIS_CLUSTER_URLS is set",
                    ))
                }
                "none" => CacheBackend::None,
                _ => return Err(err("CACHE_BACKEND", "must be one of memory, redis, none")),
            },
        };
        let cache_ttl_seconds = parse_num(&get, "CACHE_TTL_SECONDS", 300u64, 1, 30 * 86_400)?;
        let cache_timeout_ms = parse_num(&get, "CACHE_TIMEOUT_MS", 50u64, 1, 60_000)?;
        let cache_key_prefix = get("CACHE_KEY_PREFIX").unwrap_or_else(|| "plio".into());
        if !cache_key_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || cache_key_prefix.len() > 64
        {
            return Err(err(
                "CACHE_KEY_PREFIX",
                "must be 1-64 characters of letters, digits, '-' or '_'",
            ));
        }
        let bind = get("BIND").unwrap_or_else(|| "0.0.0.0:8001".into());
        if bind.parse::<std::net::SocketAddr>().is_err() && !bind.contains(':') {
            return Err(err("BIND", "must be host:port"));
        }
        let default_workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let workers = parse_num(&get, "WORKERS", default_workers, 1, 1024)?;
        let db_pool_size = parse_num(&get, "DB_POOL_SIZE", 10u32, 1, 1000)?;

        let default_tenant_shortcode =
            get("DEFAULT_TENANT_SHORTCODE").unwrap_or_else(|| "plio".into());
        if let Err(e) = validate_shortcode(&default_tenant_shortcode) {
            return Err(err("DEFAULT_TENANT_SHORTCODE", &e.to_string()));
        }
        let default_tenant_name = get("DEFAULT_TENANT_NAME").unwrap_or_else(|| "Plio".into());
        if default_tenant_name.chars().count() > 255 {
            return Err(err("DEFAULT_TENANT_NAME", "must be at most 255 characters"));
        }
        let default_tenant_domain = get("DEFAULT_TENANT_DOMAIN")
            .unwrap_or_else(|| "localhost".into())
            .to_ascii_lowercase();
        if let Err(e) = crate::tenant::validate_domain(&default_tenant_domain) {
            return Err(err("DEFAULT_TENANT_DOMAIN", &e));
        }

        let superuser_email = get("SUPERUSER_EMAIL");
        if let Some(email) = &superuser_email {
            if !email.contains('@') || email.len() > 255 {
                return Err(err("SUPERUSER_EMAIL", "must be an email address"));
            }
        }
        let superuser_password = get("SUPERUSER_PASSWORD").map(Secret::new);
        let sms_driver = match get("SMS_DRIVER").as_deref() {
            None | Some("log") => SmsDriver::Log,
            Some("webhook") => SmsDriver::Webhook,
            Some(_) => return Err(err("SMS_DRIVER", "must be log or webhook")),
        };
        let sms_webhook_url = get("SMS_WEBHOOK_URL");
        match (&sms_webhook_url, sms_driver) {
            (None, SmsDriver::Webhook) => {
                return Err(err(
                    "SMS_WEBHOOK_URL",
                    "is required with SMS_DRIVER=webhook",
                ))
            }
            (Some(u), _)
                if !(u.starts_with("https://") || u.starts_with("http://"))
                    || reqwest::Url::parse(u).is_err() =>
            {
                return Err(err("SMS_WEBHOOK_URL", "must be an http(s) URL"))
            }
            _ => {}
        }
        let rust_log = get("RUST_LOG");
        if let Some(filter) = &rust_log {
            if let Err(e) = tracing_subscriber::EnvFilter::try_new(filter) {
                return Err(err("RUST_LOG", &format!("is not a valid log filter: {e}")));
            }
        }
        let media_root = PathBuf::from(get("MEDIA_ROOT").unwrap_or_else(|| "media".into()));
        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(err("LOG_FORMAT", "must be pretty or json")),
        };
        let tenant_refresh_ms = parse_num(&get, "TENANT_REFRESH_MS", 2_000u64, 100, 5_000)?;
        let token_cache_seconds = parse_num(&get, "TOKEN_CACHE_SECONDS", 30u64, 0, 300)?;
        let cors_allowed_origins = match get("CORS_ALLOWED_ORIGINS") {
            None => None,
            Some(raw) if raw.trim() == "*" => None,
            Some(raw) => {
                let mut origins = Vec::new();
                for o in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                    let o = o.trim_end_matches('/');
                    let ok = (o.starts_with("http://") || o.starts_with("https://"))
                        && !o["https://".len().min(o.len())..].contains('/')
                        && o.len() <= 255;
                    if !ok {
                        return Err(err(
                            "CORS_ALLOWED_ORIGINS",
                            &format!("{o:?} is not an origin such as https://app.example.com"),
                        ));
                    }
                    origins.push(o.to_string());
                }
                Some(origins)
            }
        };
        let google_sign_in = match get("GOOGLE_SIGN_IN").map(|v| v.trim().to_ascii_lowercase()) {
            None => true,
            Some(v) if matches!(v.as_str(), "true" | "1" | "yes" | "on") => true,
            Some(v) if matches!(v.as_str(), "false" | "0" | "no" | "off") => false,
            Some(_) => return Err(err("GOOGLE_SIGN_IN", "must be true or false")),
        };
        let google_userinfo_url = get("GOOGLE_USERINFO_URL")
            .unwrap_or_else(|| "https://www.googleapis.com/oauth2/v3/userinfo".into());
        if !(google_userinfo_url.starts_with("https://")
            || google_userinfo_url.starts_with("http://"))
        {
            return Err(err("GOOGLE_USERINFO_URL", "must be an http(s) URL"));
        }
        let media_url = get("MEDIA_URL").map(|u| u.trim().trim_end_matches('/').to_string());
        if let Some(u) = &media_url {
            if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 200 {
                return Err(err(
                    "MEDIA_URL",
                    "must be an http(s) URL such as https://api.example.com",
                ));
            }
        }
        let request_body_timeout_ms =
            parse_num(&get, "REQUEST_BODY_TIMEOUT_MS", 10_000u64, 100, 600_000)?;
        let max_connections = parse_num(&get, "MAX_CONNECTIONS", 10_000usize, 16, 1_000_000)?;
        let login_failures_per_account =
            parse_num(&get, "LOGIN_FAILURES_PER_ACCOUNT", 10i64, 1, 1_000_000)?;
        let login_failures_per_address =
            parse_num(&get, "LOGIN_FAILURES_PER_ADDRESS", 30i64, 1, 1_000_000)?;
        let google_timeout_ms = parse_num(&get, "GOOGLE_TIMEOUT_MS", 5_000u64, 100, 60_000)?;

        Ok(Self {
            database_url,
            redis_url,
            redis_cluster_urls,
            cache_backend,
            cache_ttl_seconds,
            cache_timeout_ms,
            cache_key_prefix,
            bind,
            workers,
            db_pool_size,
            default_tenant_shortcode,
            default_tenant_name,
            default_tenant_domain,
            superuser_email,
            superuser_password,
            sms_driver,
            sms_webhook_url,
            rust_log,
            media_root,
            log_format,
            tenant_refresh_ms,
            token_cache_seconds,
            cors_allowed_origins,
            google_sign_in,
            google_userinfo_url,
            google_timeout_ms,
            media_url,
            login_failures_per_account,
            login_failures_per_address,
            request_body_timeout_ms,
            max_connections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_work_without_any_variable() {
        let s = load(&[]).expect("defaults");
        assert_eq!(s.database_url, "postgres://postgres@127.0.0.1:5432/plio");
        assert_eq!(s.cache_backend, CacheBackend::Memory);
        assert_eq!(s.cache_ttl_seconds, 300);
        assert_eq!(s.cache_timeout_ms, 50);
        assert_eq!(s.bind, "0.0.0.0:8001");
        assert_eq!(s.default_tenant_shortcode, "plio");
    }

    #[test]
    fn redis_url_selects_the_redis_backend() {
        let s = load(&[("REDIS_URL", "redis://127.0.0.1:6379")]).expect("settings");
        assert_eq!(s.cache_backend, CacheBackend::Redis);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("CACHE_TTL_SECONDS", "soon"),
            ("CACHE_BACKEND", "memcached"),
            ("DB_POOL_SIZE", "0"),
            ("LOG_FORMAT", "xml"),
            ("DATABASE_URL", "mysql://x"),
            ("DEFAULT_TENANT_SHORTCODE", "Bad Code"),
            ("CORS_ALLOWED_ORIGINS", "app.example.com"),
            ("GOOGLE_SIGN_IN", "maybe"),
            ("SMS_DRIVER", "carrier-pigeon"),
            ("SMS_WEBHOOK_URL", "mailto:ops@example.com"),
            ("REDIS_URL", "rediss://cache.example.com:6380"),
            ("RUST_LOG", "info,plio=loud"),
            ("GOOGLE_USERINFO_URL", "ftp://x"),
        ] {
            let e = load(&[(var, value)]).expect_err(var);
            assert_eq!(e.var, var);
            assert!(e.to_string().contains(var));
        }
    }

    #[test]
    fn the_webhook_driver_needs_its_url() {
        let e = load(&[("SMS_DRIVER", "webhook")]).expect_err("no url");
        assert_eq!(e.var, "SMS_WEBHOOK_URL");
        let s = load(&[
            ("SMS_DRIVER", "webhook"),
            ("SMS_WEBHOOK_URL", "https://sms.example.com/send"),
        ])
        .expect("settings");
        assert_eq!(s.sms_driver, SmsDriver::Webhook);
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = load(&[("SUPERUSER_PASSWORD", "hunter2-very-secret")]).expect("settings");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
