//! Settings, read once from the environment at start-up.

use std::collections::HashMap;
use std::time::Duration;

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
        }
    }
}

impl Config {
    /// The defaults, overridden by whatever the environment sets.
    pub fn from_env() -> Config {
        Config::from_vars(std::env::vars())
    }

    /// The defaults, overridden by these `(name, value)` pairs.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Config {
        let mut config = Config::default();
        for (name, value) in vars {
            let number = || value.trim().parse::<u64>().ok();
            match name.as_str() {
                "DATABASE_URL" if !value.is_empty() => config.database_url = value.clone(),
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
        config
    }
}
