//! What the server reads from a request's headers, in one pass over them:
//! a lookup by name hashes the name, and most requests have few headers.

use axum::http::{header, HeaderMap, HeaderValue};

use super::errors;

/// The headers the server itself acts on.
pub(super) struct HeadFacts {
    /// An `Accept` value names `application/json`: error answers are JSON.
    pub(super) json: bool,
    /// The declared body length (hyper has rejected a malformed one).
    pub(super) content_length: Option<u64>,
    /// A `Range` request, whose answer is never compressed.
    #[cfg_attr(not(feature = "compression"), allow(dead_code))]
    pub(super) range: bool,
    #[cfg(feature = "compression")]
    pub(super) accept_encoding: crate::compress::AcceptEncoding,
}

impl HeadFacts {
    pub(super) fn of(headers: &HeaderMap) -> HeadFacts {
        let mut facts = HeadFacts {
            json: false,
            content_length: None,
            range: false,
            #[cfg(feature = "compression")]
            accept_encoding: crate::compress::AcceptEncoding::Absent,
        };
        let mut lengths = 0;
        #[cfg(feature = "compression")]
        let mut encodings = 0;
        for (name, value) in headers {
            if name == header::ACCEPT {
                facts.json = facts.json || errors::names_json(value);
            } else if name == header::CONTENT_LENGTH {
                lengths += 1;
                if lengths == 1 {
                    facts.content_length = content_length(value);
                }
            } else if name == header::RANGE {
                facts.range = true;
            } else if name == header::ACCEPT_ENCODING {
                #[cfg(feature = "compression")]
                {
                    encodings += 1;
                    if encodings == 1 {
                        facts.accept_encoding = crate::compress::AcceptEncoding::One(value.clone());
                    }
                }
            }
        }
        // Several values are read as one list (rare): joined.
        #[cfg(feature = "compression")]
        if encodings > 1 {
            facts.accept_encoding = crate::compress::AcceptEncoding::of(headers);
        }
        facts
    }
}

fn content_length(value: &HeaderValue) -> Option<u64> {
    value.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(pairs: &[(&'static str, &'static str)]) -> HeadFacts {
        let mut headers = HeaderMap::new();
        for &(name, value) in pairs {
            headers.append(name, HeaderValue::from_static(value));
        }
        HeadFacts::of(&headers)
    }

    #[test]
    fn one_pass_reads_what_lookups_would() {
        let none = facts(&[("host", "x")]);
        assert!(!none.json && !none.range && none.content_length.is_none());
        let all = facts(&[
            ("accept", "text/html"),
            ("content-length", " 12 "),
            ("accept", "application/json;q=0.9"),
            ("content-length", "99"),
            ("range", "bytes=0-1"),
        ]);
        assert!(all.json && all.range);
        assert_eq!(all.content_length, Some(12), "the first value counts");
        #[cfg(feature = "compression")]
        {
            use crate::compress::{AcceptEncoding, Compression, Encoding};
            let gzip =
                |pairs| Compression::default().choose_from(&facts(pairs).accept_encoding, |_| true);
            assert_eq!(gzip(&[("accept-encoding", "gzip")]), Some(Encoding::Gzip));
            let joined = facts(&[("accept-encoding", "br;q=0"), ("accept-encoding", "gzip")]);
            assert!(
                matches!(&joined.accept_encoding, AcceptEncoding::Joined(t) if t == "br;q=0,gzip")
            );
            assert_eq!(gzip(&[]), None);
        }
    }
}
