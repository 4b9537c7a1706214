//! The typed values of settings: backends, formats, drivers, secrets, and parse errors that
//! name the variable.

use std::fmt;

/// Which cache backend serves cached payloads (SPEC 6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheBackend {
    /// Bounded in-process cache (default without `REDIS_URL`).
    Memory,
    /// Redis through deadpool-redis (default with `REDIS_URL` or `REDIS_CLUSTER_URLS`), a
    /// single server or a Redis Cluster.
    Redis,
    /// No caching at all.
    None,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// How one-time passwords are delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsDriver {
    /// Write the code to the server log (development default).
    Log,
    /// POST `{mobile, message}` as JSON to `SMS_WEBHOOK_URL` (wire a real SMS provider there).
    Webhook,
}

/// A secret value that never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A configuration error naming the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {var}: {message}")]
pub struct ConfigError {
    /// The environment variable.
    pub var: &'static str,
    /// What is wrong with its value.
    pub message: String,
}

pub(super) fn err(var: &'static str, message: &str) -> ConfigError {
    ConfigError {
        var,
        message: message.to_string(),
    }
}

pub(super) fn parse_num<T>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(raw) = get(var) else {
        return Ok(default);
    };
    match raw.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(err(
            var,
            &format!("must be a whole number from {min} to {max}, got {raw:?}"),
        )),
    }
}

/// `REDIS_URL` (a single Redis) or the seed nodes of a Redis Cluster (`REDIS_CLUSTER_URLS`, or
/// `REDIS_URL=redis+cluster://…`); setting both variables is an error.
pub(super) fn redis_targets(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<(Option<String>, Option<Vec<String>>), ConfigError> {
    let url = get("REDIS_URL");
    if let (Some(_), Some(_)) = (&url, get("REDIS_CLUSTER_URLS")) {
        return Err(err(
            "REDIS_CLUSTER_URLS",
            "is set together with REDIS_URL; set one of them",
        ));
    }
    if let Some(raw) = get("REDIS_CLUSTER_URLS") {
        return Ok((None, Some(cluster_urls("REDIS_CLUSTER_URLS", &raw)?)));
    }
    let Some(url) = url else {
        return Ok((None, None));
    };
    if url.starts_with("redis+cluster://") {
        return Ok((None, Some(cluster_urls("REDIS_URL", &url)?)));
    }
    if url.starts_with("rediss://") {
        // The Redis client is built without TLS: say so now rather than fail later.
        return Err(err(
            "REDIS_URL",
            "rediss:// (TLS) is not supported by this build; use redis:// on a private network or unix://",
        ));
    }
    if !(url.starts_with("redis://") || url.starts_with("unix://")) {
        return Err(err(
            "REDIS_URL",
            "must start with redis://, unix:// or redis+cluster://",
        ));
    }
    Ok((Some(url), None))
}

/// The seed nodes of a Redis Cluster: `REDIS_CLUSTER_URLS` (`redis://h1:p1,redis://h2:p2`) or
/// the part of `REDIS_URL` after `redis+cluster://` (`h1:p1,h2:p2`, each given `redis://`).
/// Credentials, if any, go on the first node; the cluster client uses them for every node.
fn cluster_urls(var: &'static str, raw: &str) -> Result<Vec<String>, ConfigError> {
    let from_url = raw.strip_prefix("redis+cluster://");
    let mut urls = Vec::new();
    for node in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let url = match from_url {
            Some(_) => format!("redis://{}", node.trim_start_matches("redis+cluster://")),
            None => node.to_string(),
        };
        if url.starts_with("rediss://") {
            return Err(err(
                var,
                "rediss:// (TLS) is not supported by this build; use redis:// on a private network",
            ));
        }
        let hostport = url.strip_prefix("redis://").unwrap_or_default();
        let hostport = hostport.rsplit('@').next().unwrap_or_default();
        let hostport = hostport.split('/').next().unwrap_or_default();
        let port_ok = hostport
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !url.starts_with("redis://") || !port_ok {
            return Err(err(
                var,
                &format!("{node:?} is not a cluster node such as redis://10.0.0.1:7000"),
            ));
        }
        urls.push(url);
    }
    if urls.is_empty() {
        return Err(err(var, "names no cluster node"));
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_come_from_either_form() {
        let listed = cluster_urls(
            "REDIS_CLUSTER_URLS",
            "redis://10.0.0.1:7000, redis://10.0.0.2:7001",
        )
        .expect("valid");
        assert_eq!(listed, ["redis://10.0.0.1:7000", "redis://10.0.0.2:7001"]);
        let compact = cluster_urls(
            "REDIS_URL",
            "redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001",
        )
        .expect("valid");
        assert_eq!(
            compact,
            ["redis://:pw@10.0.0.1:7000", "redis://10.0.0.2:7001"]
        );
        for bad in [
            "",
            "10.0.0.1:7000",
            "redis://host",
            "rediss://h:1",
            "redis://:7000",
            "redis+cluster://",
        ] {
            let e = cluster_urls("REDIS_CLUSTER_URLS", bad).expect_err(bad);
            assert_eq!(e.var, "REDIS_CLUSTER_URLS");
        }
    }

    #[test]
    fn either_variable_selects_a_cluster_and_both_are_refused() {
        let load = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            super::super::Settings::from_lookup(|k| {
                pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
            })
        };
        let s = load(&[("REDIS_URL", "redis://127.0.0.1:6379")]).expect("single");
        assert_eq!(s.cache_backend, CacheBackend::Redis);
        assert_eq!(s.redis_cluster_urls, None);
        for (var, value) in [
            (
                "REDIS_CLUSTER_URLS",
                "redis://10.0.0.1:7000,redis://10.0.0.2:7000",
            ),
            ("REDIS_URL", "redis+cluster://10.0.0.1:7000,10.0.0.2:7000"),
        ] {
            let s = load(&[(var, value)]).expect(var);
            assert_eq!(s.cache_backend, CacheBackend::Redis);
            assert_eq!(s.redis_url, None);
            assert_eq!(s.redis_cluster_urls.map(|u| u.len()), Some(2), "{var}");
        }
        let both = [
            ("REDIS_URL", "redis://a:1"),
            ("REDIS_CLUSTER_URLS", "redis://b:2"),
        ];
        assert_eq!(load(&both).expect_err("both").var, "REDIS_CLUSTER_URLS");
    }
}
