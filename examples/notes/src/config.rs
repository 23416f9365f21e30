//! Settings, read once from the environment at start-up.

use std::collections::HashMap;
use std::time::Duration;

use crate::proxy::TrustedProxies;

/// Everything the service can be told from outside.
#[derive(Clone, Debug)]
pub struct Config {
    /// `DATABASE_URL`: `notes.db` (the default), `sqlite://path.db`, or
    /// `postgres://user:pass@host/db`.
    pub database_url: String,
    /// `LEGACY_API_URL`: the base URL `/api/legacy/...` forwards to.
    pub legacy_api_url: Option<String>,
    /// `LEGACY_TIMEOUT_MS`: how long the legacy API may take (default 5 s);
    /// past it the client gets `504`.
    pub legacy_timeout: Duration,
    /// `WEBHOOK_SECRET_<PROVIDER>`: the HMAC key per provider, e.g.
    /// `WEBHOOK_SECRET_BILLING=...` for `/api/webhooks/billing`.
    pub webhook_secrets: HashMap<String, String>,
    /// How far a webhook's signed timestamp may be from now (5 minutes).
    pub webhook_tolerance: Duration,
    /// How long a session lasts (30 days).
    pub session_ttl: Duration,
    /// `COOKIE_SECURE=1`: always mark the session cookie `Secure` (it is
    /// already when the request came through TLS: `X-Forwarded-Proto: https`).
    pub secure_cookies: bool,
    /// Argon2 cost: memory in KiB (`ARGON2_MEMORY_KIB`, default 19 MiB,
    /// OWASP's minimum) and passes (`ARGON2_ITERATIONS`, default 2).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// `ARGON2_CONCURRENCY`: how many passwords are hashed at once (default
    /// the number of cores); each takes `argon2_memory_kib` while it runs.
    pub argon2_concurrency: usize,
    /// `ARGON2_QUEUE`: how many more sign-ins and sign-ups may wait for a
    /// turn (default twice the concurrency); the rest get `503` with
    /// `Retry-After`.
    pub argon2_queue: usize,
    /// `SIGNIN_MAX_FAILURES`: wrong passwords in a row for one account
    /// (default 10) before its sign-ins are refused with `429` for
    /// `SIGNIN_LOCKOUT_SECS` (default 300). A right password starts the
    /// count again.
    pub signin_max_failures: u32,
    pub signin_lockout: Duration,
    /// `NOTES_PUBLIC_URL`: the address users reach the service at, for the
    /// absolute links in the feed and robots.txt, e.g.
    /// `https://notes.example`. Default `http://HOST:PORT` from the bind
    /// address (`localhost` for `0.0.0.0` or `::`), `http://127.0.0.1:3000`
    /// when unset. Never taken from a request: a cached answer built from
    /// the `Host` would carry one client's host to everyone.
    pub public_url: String,
    /// `NOTES_TRUSTED_PROXIES`: addresses or networks (`10.0.0.0/8,
    /// ::1`) whose `X-Forwarded-Proto`, `-Host` and `-For` headers are
    /// believed; none by default.
    pub trusted_proxies: TrustedProxies,
    /// `REDIS_URL` (`redis://127.0.0.1:6379/`): keep the cache in Redis,
    /// shared by every instance, rather than in this process.
    pub redis_url: Option<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            database_url: "notes.db".to_string(),
            legacy_api_url: None,
            legacy_timeout: Duration::from_secs(5),
            webhook_secrets: HashMap::new(),
            webhook_tolerance: Duration::from_secs(5 * 60),
            session_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            secure_cookies: false,
            argon2_memory_kib: argon2::Params::DEFAULT_M_COST,
            argon2_iterations: argon2::Params::DEFAULT_T_COST,
            argon2_concurrency: default_concurrency(),
            argon2_queue: 2 * default_concurrency(),
            signin_max_failures: 10,
            signin_lockout: Duration::from_secs(5 * 60),
            public_url: "http://127.0.0.1:3000".to_string(),
            trusted_proxies: TrustedProxies::default(),
            redis_url: None,
        }
    }
}

impl Config {
    /// The defaults, overridden by whatever the environment sets; an
    /// error names a setting that cannot be used as given.
    pub fn from_env() -> Result<Config, String> {
        Config::from_vars(std::env::vars())
    }

    /// The defaults, overridden by these `(name, value)` pairs.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Config, String> {
        let mut config = Config::default();
        let (mut bind_host, mut bind_port, mut public_url, mut queue) = (None, None, None, None);
        for (name, value) in vars {
            let number = || value.trim().parse::<u64>().ok();
            let count = || number().and_then(|n| usize::try_from(n).ok());
            match name.as_str() {
                "DATABASE_URL" if !value.is_empty() => config.database_url = value.clone(),
                "REDIS_URL" if !value.is_empty() => config.redis_url = Some(value.clone()),
                "LEGACY_API_URL" if !value.is_empty() => {
                    config.legacy_api_url = Some(value.trim_end_matches('/').to_string())
                }
                "LEGACY_TIMEOUT_MS" => {
                    if let Some(ms) = number() {
                        config.legacy_timeout = Duration::from_millis(ms);
                    }
                }
                "COOKIE_SECURE" => config.secure_cookies = matches!(value.as_str(), "1" | "true"),
                "ARGON2_MEMORY_KIB" => {
                    if let Some(kib) = number() {
                        config.argon2_memory_kib = kib.try_into().unwrap_or(u32::MAX);
                    }
                }
                "ARGON2_ITERATIONS" => {
                    if let Some(n) = number() {
                        config.argon2_iterations = n.try_into().unwrap_or(u32::MAX);
                    }
                }
                "ARGON2_CONCURRENCY" => {
                    if let Some(n) = count().filter(|n| *n > 0) {
                        config.argon2_concurrency = n;
                    }
                }
                "ARGON2_QUEUE" => queue = count(),
                "SIGNIN_MAX_FAILURES" => {
                    if let Some(n) = number().filter(|n| *n > 0) {
                        config.signin_max_failures = n.try_into().unwrap_or(u32::MAX);
                    }
                }
                "SIGNIN_LOCKOUT_SECS" => {
                    if let Some(secs) = number() {
                        config.signin_lockout = Duration::from_secs(secs);
                    }
                }
                "HOST" if !value.trim().is_empty() => bind_host = Some(value.trim().to_string()),
                "PORT" => bind_port = number(),
                "NOTES_PUBLIC_URL" if !value.trim().is_empty() => {
                    let url = value.trim().trim_end_matches('/');
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(format!(
                            "NOTES_PUBLIC_URL={value:?} must start with http:// or https://"
                        ));
                    }
                    public_url = Some(url.to_string());
                }
                "NOTES_TRUSTED_PROXIES" => {
                    config.trusted_proxies = TrustedProxies::parse(&value).map_err(|wrong| {
                        format!("NOTES_TRUSTED_PROXIES: not an address or network: {wrong}")
                    })?;
                }
                _ => {
                    if let Some(provider) = name.strip_prefix("WEBHOOK_SECRET_") {
                        if !value.is_empty() {
                            config
                                .webhook_secrets
                                .insert(provider.to_ascii_lowercase(), value.clone());
                        }
                    }
                }
            }
        }
        // After the loop, whatever the order of the variables: the queue's
        // default follows the concurrency, the public URL's the bind address.
        config.argon2_queue = queue.unwrap_or(2 * config.argon2_concurrency);
        config.public_url =
            public_url.unwrap_or_else(|| bind_url(bind_host.as_deref(), bind_port.unwrap_or(3000)));
        Ok(config)
    }
}

/// The number of cores, as the standard library sees it (1 if unknown).
fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `http://host:port` for the address the server binds: what a user on the
/// same machine would type.
fn bind_url(host: Option<&str>, port: u64) -> String {
    let host = host.unwrap_or("127.0.0.1");
    let host = match host.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_unspecified() => "localhost".to_string(),
        Ok(std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
        _ => host.to_string(),
    };
    format!("http://{host}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn the_public_url_is_configured_or_follows_the_bind_address() {
        assert_eq!(from(&[]).unwrap().public_url, "http://127.0.0.1:3000");
        let url = |vars| from(vars).unwrap().public_url;
        assert_eq!(url(&[("PORT", "8080")]), "http://127.0.0.1:8080");
        assert_eq!(
            url(&[("HOST", "0.0.0.0"), ("PORT", "80")]),
            "http://localhost:80"
        );
        assert_eq!(url(&[("HOST", "::1")]), "http://[::1]:3000");
        assert_eq!(
            url(&[
                ("NOTES_PUBLIC_URL", "https://notes.example/"),
                ("PORT", "1")
            ]),
            "https://notes.example"
        );
        assert!(from(&[("NOTES_PUBLIC_URL", "notes.example")]).is_err());
    }

    #[test]
    fn trusted_proxies_and_hashing_limits() {
        assert!(from(&[]).unwrap().trusted_proxies.is_empty());
        let config = from(&[("NOTES_TRUSTED_PROXIES", "10.0.0.0/8, ::1")]).unwrap();
        assert!(config.trusted_proxies.trusts("10.1.2.3".parse().unwrap()));
        let err = from(&[("NOTES_TRUSTED_PROXIES", "10.0.0.0/8, proxy")]).unwrap_err();
        assert!(err.contains("proxy"), "{err}");

        let config = from(&[("ARGON2_QUEUE", "1"), ("ARGON2_CONCURRENCY", "3")]).unwrap();
        assert_eq!((config.argon2_concurrency, config.argon2_queue), (3, 1));
        let config = from(&[("ARGON2_CONCURRENCY", "3")]).unwrap();
        assert_eq!(config.argon2_queue, 6);
    }
}
