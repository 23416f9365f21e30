//! Webhook signatures, in Stripe's scheme: the sender puts
//! `x-signature: t=<unix seconds>,v1=<hex>` on the request, where the hex is
//! HMAC-SHA256 over `"<t>.<raw body>"` with the secret both sides share.
//! The receiver checks the MAC over the bytes exactly as they arrived
//! (before any JSON parsing), refuses a timestamp more than the tolerance
//! away from now (so a captured request cannot be replayed later), and
//! remembers each event id and signature (so it cannot be replayed sooner).

use std::time::Duration;

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::util::{hex, unhex};

/// The header carrying the signature.
pub const HEADER: &str = "x-signature";

type HmacSha256 = hmac::Hmac<Sha256>;

/// Why a signature was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Malformed,
    /// `t` is further from now than the tolerance.
    Expired,
    /// No `v1` matches.
    Mismatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureError::Missing => "the x-signature header is missing",
            SignatureError::Malformed => "the x-signature header is not t=<unix>,v1=<hex>",
            SignatureError::Expired => "the signature's timestamp is outside the tolerance",
            SignatureError::Mismatch => "the signature does not match the body",
        })
    }
}

/// The `v1` value for `body` signed at `timestamp`: what a sender computes.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

/// The whole header value for `body` signed now-ish: `t=..,v1=..`.
pub fn header_value(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, body))
}

/// Checks `header` against `body`; `now` in unix seconds. Returns the
/// matching `v1`, which the caller records to refuse replays.
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<String, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => {
                timestamp = Some(t.parse::<i64>().map_err(|_| SignatureError::Malformed)?)
            }
            Some(("v1", v)) => candidates.push(v),
            Some(_) => {} // other schemes, as Stripe allows
            None => return Err(SignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if now.abs_diff(timestamp) > tolerance.unsigned_abs() {
        return Err(SignatureError::Expired);
    }
    for candidate in candidates {
        let Some(bytes) = unhex(candidate) else {
            continue;
        };
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // Constant-time comparison.
        if mac.verify_slice(&bytes).is_ok() {
            return Ok(candidate.to_ascii_lowercase());
        }
    }
    Err(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_MIN: Duration = Duration::from_secs(300);

    #[test]
    fn round_trip() {
        let header = header_value(b"k", 1000, b"{}");
        assert!(verify(b"k", Some(&header), b"{}", 1100, FIVE_MIN).is_ok());
    }

    #[test]
    fn refusals() {
        let header = header_value(b"k", 1000, b"{}");
        assert_eq!(
            verify(b"k", None, b"{}", 1000, FIVE_MIN),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(b"k", Some("nonsense"), b"{}", 1000, FIVE_MIN),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(b"k", Some(&header), b"{ }", 1000, FIVE_MIN),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", Some(&header), b"{}", 1000, FIVE_MIN),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"k", Some(&header), b"{}", 1301, FIVE_MIN),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify(b"k", Some(&header), b"{}", 699, FIVE_MIN),
            Err(SignatureError::Expired)
        );
    }

    #[test]
    fn any_of_several_v1_may_match() {
        let good = sign(b"k", 1000, b"x");
        let header = format!("t=1000,v1={},v0=zz,v1={good}", "00".repeat(32));
        assert_eq!(verify(b"k", Some(&header), b"x", 1000, FIVE_MIN), Ok(good));
    }
}
