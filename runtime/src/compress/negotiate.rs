//! Which encoding to send, from `Accept-Encoding` (RFC 9110 section 12.5.3):
//!
//! - `gzip, deflate, br` -> `br` (equal `q`: brotli is preferred)
//! - `gzip;q=1, br;q=0.5` -> `gzip`
//! - `*` -> `br`; `*;q=0.5, br;q=0` -> `gzip`
//! - `br;q=0, gzip;q=0` , `identity`, `deflate` or an empty value -> none
//! - `gzip;q=0.5, identity` -> none: the client prefers the plain bytes
//!
//! A listed coding is acceptable with its own `q` (1 when not given); an
//! unlisted one takes the `q` of `*`, or is not acceptable. An item whose
//! `q` is malformed is ignored.

use super::Encoding;

/// The encoding to send among those `enabled`, or `None` for the
/// uncompressed bytes.
pub(crate) fn negotiate(accept: &str, enabled: impl Fn(Encoding) -> bool) -> Option<Encoding> {
    let mut listed: [Option<u16>; 2] = [None; 2];
    let mut star = None;
    let mut identity = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        if coding.is_empty() {
            continue;
        }
        let Some(q) = quality(parts) else {
            continue;
        };
        let slot = match coding {
            c if c.eq_ignore_ascii_case("br") => &mut listed[0],
            c if c.eq_ignore_ascii_case("gzip") || c.eq_ignore_ascii_case("x-gzip") => {
                &mut listed[1]
            }
            "*" => &mut star,
            c if c.eq_ignore_ascii_case("identity") => &mut identity,
            _ => continue,
        };
        // Listed twice: the better one counts.
        *slot = Some(slot.map_or(q, |old: u16| old.max(q)));
    }
    let mut best: Option<(Encoding, u16)> = None;
    for (encoding, q) in Encoding::ALL.into_iter().zip(listed) {
        let Some(q) = q.or(star).filter(|&q| q > 0) else {
            continue;
        };
        if enabled(encoding) && best.is_none_or(|(_, b)| q > b) {
            best = Some((encoding, q));
        }
    }
    let (encoding, q) = best?;
    match identity {
        Some(plain) if plain > q => None,
        _ => Some(encoding),
    }
}

/// An item's `q` in thousandths (1000 when absent); `None` when malformed.
fn quality<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut q = 1000;
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            q = parse_q(value.trim())?;
        }
    }
    Some(q)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`.
fn parse_q(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(accept: &str) -> Option<&'static str> {
        negotiate(accept, |_| true).map(Encoding::as_str)
    }

    #[test]
    fn accept_encoding_table() {
        let cases = [
            ("gzip, deflate, br", Some("br")),
            ("gzip", Some("gzip")),
            ("GZIP", Some("gzip")),
            ("x-gzip", Some("gzip")),
            ("br", Some("br")),
            ("gzip;q=1, br;q=0.5", Some("gzip")),
            ("gzip;q=0.8, br;q=0.9", Some("br")),
            ("br;q=0.5, gzip;q=0.5", Some("br")),
            ("gzip ; q=0.7 , br ; Q=0.6", Some("gzip")),
            ("*", Some("br")),
            ("*;q=0.5, br;q=0", Some("gzip")),
            ("*;q=0", None),
            ("br;q=0, gzip;q=0", None),
            ("br;q=0, gzip", Some("gzip")),
            ("identity", None),
            ("deflate", None),
            ("zstd", None),
            ("", None),
            (" , ", None),
            ("gzip;q=0.5, identity", None),
            ("gzip;q=0.5, identity;q=0.5", Some("gzip")),
            ("gzip, identity;q=0", Some("gzip")),
            ("gzip;q=1.0", Some("gzip")),
            ("gzip;q=0.001", Some("gzip")),
            // Malformed q: the item is ignored.
            ("gzip;q=2, br;q=abc", None),
            ("gzip;q=1.5", None),
            ("gzip;q=0.0001", None),
            ("gzip;q=, br", Some("br")),
            // Listed twice: the better one counts.
            ("gzip;q=0, gzip;q=0.9, br;q=0.5", Some("gzip")),
        ];
        let failures: Vec<String> = cases
            .iter()
            .filter(|(accept, want)| chosen(accept) != *want)
            .map(|(accept, want)| format!("{accept:?}: want {want:?}, got {:?}", chosen(accept)))
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn only_enabled_encodings_are_chosen() {
        let gzip_only = |e: Encoding| e == Encoding::Gzip;
        assert_eq!(negotiate("br, gzip", gzip_only), Some(Encoding::Gzip));
        assert_eq!(negotiate("br", gzip_only), None);
        assert_eq!(negotiate("br, gzip", |_| false), None);
    }
}
