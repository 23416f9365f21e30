//! What the URLs `app::href!` builds need at run time: each value
//! percent-encoded as one path segment.

use std::fmt::{Display, Write};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// RFC 3986 `pchar` left as is; `/`, `?`, `#`, `%` and the rest encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// `/` and `value`, encoded.
pub fn href_segment(url: &mut String, value: &impl Display) {
    let mut text = String::new();
    let _ = write!(text, "{value}");
    url.push('/');
    url.extend(utf8_percent_encode(&text, SEGMENT));
}

/// `/` and each item, encoded: a catch-all's segments. None (for an
/// optional catch-all) adds nothing.
pub fn href_rest<I>(url: &mut String, items: I)
where
    I: IntoIterator,
    I::Item: Display,
{
    for item in items {
        href_segment(url, &item);
    }
}

/// The root is `/`.
pub fn href_end(url: String) -> String {
    if url.is_empty() {
        "/".to_string()
    } else {
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_encoded_as_one_segment_each() {
        let mut url = String::from("/api/files");
        href_rest(&mut url, ["a b", "c/d", "100%", "é?#"]);
        assert_eq!(url, "/api/files/a%20b/c%2Fd/100%25/%C3%A9%3F%23");
        let mut url = String::from("/u");
        href_segment(&mut url, &42);
        href_segment(&mut url, &"x:y@z");
        assert_eq!(url, "/u/42/x:y@z");
        assert_eq!(href_end(String::new()), "/");
        let mut url = String::from("/docs");
        href_rest(&mut url, Vec::<String>::new());
        assert_eq!(url, "/docs");
    }
}
