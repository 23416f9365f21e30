//! Sessions: random session tokens kept in the database (only their
//! SHA-256, so a leaked table opens no session), the cookie that carries
//! them, and the `Origin` check every endpoint that reads or sets it makes.
//! Passwords are hashed in [`crate::passwords`].
//!
//! `app/api/(private)/middleware.rs` turns the cookie (or an
//! `Authorization: Bearer` token, for API clients) into a [`CurrentUser`]
//! that handlers below it take as an argument.

use approute::axum::extract::FromRequestParts;
use approute::axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::ApiError;
use crate::proxy::Arrival;
use crate::util::{hex, now_millis, random_token};
use crate::Db;

/// The session cookie's name.
pub const COOKIE: &str = "session";

/// The signed-in user, put in the request by the private folder's
/// middleware. As a handler argument it answers `401` when there is none,
/// so a route can never run unauthenticated by mistake.
/// What sign-up and sign-in answer with.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct SignedIn {
    pub user: CurrentUser,
}

/// A session cookie for a response: what sign-up, sign-in and sign-out set.
pub type SetCookie = [(approute::axum::http::HeaderName, HeaderValue); 1];

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("sign in first"))
    }
}

/// What the database keeps for a token: its SHA-256, in hex.
fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Starts a session for `user_id`; the token goes in the cookie.
pub async fn create_session(db: &Db, config: &Config, user_id: i64) -> Result<String, ApiError> {
    let token = random_token();
    let now = now_millis();
    let ttl = i64::try_from(config.session_ttl.as_millis()).unwrap_or(i64::MAX);
    // Housekeeping: this user's expired sessions go.
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND expires_at < $2")
        .bind(user_id)
        .bind(now)
        .execute(&db.pool)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(now)
    .bind(now.saturating_add(ttl))
    .execute(&db.pool)
    .await?;
    Ok(token)
}

/// The user a live session token belongs to.
pub async fn session_user(db: &Db, token: &str) -> Result<Option<CurrentUser>, ApiError> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT users.id, users.email FROM sessions JOIN users ON users.id = sessions.user_id
         WHERE sessions.token_hash = $1 AND sessions.expires_at > $2",
    )
    .bind(token_hash(token))
    .bind(now_millis())
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|(id, email)| CurrentUser { id, email }))
}

/// Ends the session `token` names (if any).
pub async fn delete_session(db: &Db, token: &str) -> Result<(), ApiError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The session token a request carries: the `session` cookie, or else an
/// `Authorization: Bearer` header.
pub fn request_token(headers: &HeaderMap) -> Option<String> {
    let from_cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string());
    from_cookie
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(|t| t.trim().to_string())
        })
        .filter(|t| !t.is_empty())
}

/// `Set-Cookie` for a new session: `HttpOnly` (scripts cannot read it),
/// `SameSite=Lax` (other sites' forms and fetches do not send it), `Secure`
/// when the client came over TLS or the public URL is `https`.
pub fn session_cookie(token: &str, config: &Config, arrival: &Arrival) -> HeaderValue {
    let max_age = config.session_ttl.as_secs();
    let secure = secure_attr(config, arrival);
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .expect("a token is hex")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(config: &Config, arrival: &Arrival) -> HeaderValue {
    let secure = secure_attr(config, arrival);
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}"
    ))
    .expect("ASCII")
}

fn secure_attr(config: &Config, arrival: &Arrival) -> &'static str {
    if config.secure_cookies || arrival.https || config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// A state-changing request (POST, PATCH, DELETE, ...) whose `Origin` is
/// another site: with `SameSite=Lax` cookies, refusing these closes
/// cross-site request forgery, including a cross-site form that would sign
/// the user out. Same site means the host the request was sent to (`Host`,
/// or a trusted proxy's `X-Forwarded-Host`) or the configured public URL.
pub fn is_cross_site_write(
    config: &Config,
    arrival: &Arrival,
    method: &Method,
    headers: &HeaderMap,
) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false; // not a browser, or a same-origin GET-like navigation
    };
    if origin.trim_end_matches('/') == config.public_url {
        return false;
    }
    let origin_host = origin.split_once("://").map_or(origin, |(_, host)| host);
    arrival.host.as_deref() != Some(origin_host)
}

/// `403` for a cross-site write (see [`is_cross_site_write`]).
pub fn refuse_cross_site(
    config: &Config,
    arrival: &Arrival,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    if is_cross_site_write(config, arrival, method, headers) {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-site request refused",
        ))
    } else {
        Ok(())
    }
}

/// A checked sign-up or sign-in form.
pub struct Credentials {
    pub email: String,
    pub password: String,
}

impl Credentials {
    /// Trims and lower-cases the email; `422` with a message per field when
    /// the email does not look like one or the password is under 8
    /// characters (or over 1024: argon2 would take it, a person would not).
    pub fn check(email: &str, password: String) -> Result<Credentials, ApiError> {
        let email = email.trim().to_lowercase();
        let mut fields = std::collections::BTreeMap::new();
        let valid_email = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
            && !email.chars().any(char::is_whitespace);
        if !valid_email {
            fields.insert("email", "must be an email address".to_string());
        }
        let chars = password.chars().count();
        if chars < 8 {
            fields.insert("password", "must be at least 8 characters".to_string());
        } else if chars > 1024 {
            fields.insert("password", "must be at most 1024 characters".to_string());
        }
        if fields.is_empty() {
            Ok(Credentials { email, password })
        } else {
            Err(ApiError::invalid(fields))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_from_cookie_or_bearer() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; session=abc; b=2".parse().unwrap());
        assert_eq!(request_token(&headers).as_deref(), Some("abc"));
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer xyz".parse().unwrap());
        assert_eq!(request_token(&headers).as_deref(), Some("xyz"));
        assert_eq!(request_token(&HeaderMap::new()), None);
    }

    #[test]
    fn credentials_are_checked() {
        assert!(Credentials::check(" A@B.io ", "long enough".into()).is_ok());
        let err = Credentials::check("nope", "short".into()).err().unwrap();
        assert_eq!(err.status.as_u16(), 422);
        assert_eq!(err.fields.len(), 2);
    }

    #[test]
    fn cookie_attributes() {
        let config = Config::default();
        let mut arrival = Arrival::default();
        let plain = session_cookie("t", &config, &arrival);
        assert!(plain.to_str().unwrap().contains("HttpOnly; SameSite=Lax"));
        assert!(!plain.to_str().unwrap().contains("Secure"));
        arrival.https = true;
        let tls = session_cookie("t", &config, &arrival);
        assert!(tls.to_str().unwrap().ends_with("; Secure"));
        let public = Config {
            public_url: "https://notes.example".into(),
            ..Config::default()
        };
        let behind_tls = session_cookie("t", &public, &Arrival::default());
        assert!(behind_tls.to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn cross_site_writes() {
        let config = Config::default();
        let arrival = Arrival {
            host: Some("notes.internal:8080".into()),
            ..Arrival::default()
        };
        let check = |method: Method, origin: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(origin) = origin {
                headers.insert(header::ORIGIN, origin.parse().unwrap());
            }
            is_cross_site_write(&config, &arrival, &method, &headers)
        };
        assert!(check(Method::POST, Some("https://evil.example")));
        assert!(check(Method::DELETE, Some("null")));
        assert!(!check(Method::POST, Some("http://notes.internal:8080")));
        // The public URL is this site too, whatever the Host.
        assert!(!check(Method::POST, Some(&config.public_url)));
        assert!(!check(Method::POST, None));
        assert!(!check(Method::GET, Some("https://evil.example")));
    }
}
