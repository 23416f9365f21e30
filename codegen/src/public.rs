//! `public/`: files served as they are at the root URL, `public/logo.png`
//! at `/logo.png`, as Next.js serves them.
//!
//! Next.js serves the files that are in `public/` when it builds, so the
//! scan happens at compile time: each file becomes one route whose bytes are
//! embedded with `include_bytes!` (so cargo rebuilds when a file changes),
//! with its content type, a strong `ETag` and its `Last-Modified` worked
//! out here. The set of URLs is fixed by the build: a request for anything
//! else (`/../Cargo.toml`, `/%2e%2e/x`) matches no route at all.
//!
//! This module holds what a file's answers need (its content type,
//! `ETag` and `Last-Modified`); [`crate::scan`] finds the files,
//! [`crate::check`] refuses conflicts and [`crate::patterns`] registers them.
//!
//! What Next.js 14.2.35 does, measured with `next build && next start` (see
//! [`crate::check`] and the README's `public/` section):
//!
//! - a public file and an `app/` route at the same URL: the build passes and
//!   the public file answers every method (others get 405), whether the
//!   route is static, dynamic or a catch-all: the file system is checked
//!   before any route. approute does the same: the public file's pattern is
//!   registered first, and a static pattern beats `{param}` and `{*rest}`.
//! - a public file and a `pages/api` route at the same URL: the build fails
//!   with "Conflicting public and page file was found". approute refuses it
//!   too, as a compile error naming both files.
//! - `/logo.png/` is a 308 to `/logo.png`; with `trailingSlash: true` a name
//!   with an extension keeps the slash-less URL, one without gets a slash,
//!   and `.well-known/` is never redirected (see
//!   [`crate::patterns::registrations`]).
//! - a hidden file (`.env`) is not served (Next.js answers 400); files in
//!   `.well-known/` are.
//! - symlinks are followed, even out of `public/` (Next.js serves
//!   `public/link -> /etc/hostname`). approute never follows a link out of
//!   the folder: such a link is a compile error naming it.

/// The folder `app!` looks in unless told `public = "..."`.
pub const DEFAULT_DIR: &str = "public";

/// `Content-Type` for a file name, by its extension (any case); text types
/// carry `charset=utf-8`. Unknown: `application/octet-stream`.
pub fn content_type(name: &str) -> &'static str {
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => return "application/octet-stream",
    };
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json; charset=utf-8",
        "webmanifest" => "application/manifest+json; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "xml" => "application/xml; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// A strong `ETag` for `bytes`: `"<length>-<FNV-1a 64>"` in hex, quoted.
pub fn etag(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("\"{:x}-{hash:016x}\"", bytes.len())
}

/// An HTTP-date (RFC 9110 IMF-fixdate): `Wed, 25 Nov 2026 11:36:54 GMT`.
pub fn http_date(unix_seconds: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_seconds / 86_400;
    let secs = unix_seconds % 86_400;
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        let cases = [
            ("index.html", "text/html; charset=utf-8"),
            ("a.css", "text/css; charset=utf-8"),
            ("a.js", "text/javascript; charset=utf-8"),
            ("a.mjs", "text/javascript; charset=utf-8"),
            ("a.json", "application/json; charset=utf-8"),
            ("a.js.map", "application/json; charset=utf-8"),
            ("a.txt", "text/plain; charset=utf-8"),
            ("a.xml", "application/xml; charset=utf-8"),
            ("a.svg", "image/svg+xml"),
            ("A.PNG", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.jpeg", "image/jpeg"),
            ("a.gif", "image/gif"),
            ("a.webp", "image/webp"),
            ("a.avif", "image/avif"),
            ("favicon.ico", "image/x-icon"),
            ("a.woff", "font/woff"),
            ("a.woff2", "font/woff2"),
            ("a.ttf", "font/ttf"),
            ("a.wasm", "application/wasm"),
            ("a.pdf", "application/pdf"),
            ("a.mp4", "video/mp4"),
            ("a.webm", "video/webm"),
            ("a.mp3", "audio/mpeg"),
            ("hello", "application/octet-stream"),
            ("a.unknown", "application/octet-stream"),
            (".txt", "application/octet-stream"),
        ];
        for (name, want) in cases {
            assert_eq!(content_type(name), want, "{name}");
        }
    }

    #[test]
    fn etags_are_strong_and_depend_on_every_byte() {
        assert_eq!(etag(b""), "\"0-cbf29ce484222325\"");
        assert_eq!(etag(b"a"), "\"1-af63dc4c8601ec8c\"");
        assert_ne!(etag(b"ab"), etag(b"ba"));
        assert!(!etag(b"x").starts_with("W/"));
    }

    #[test]
    fn http_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(1_795_606_614), "Wed, 25 Nov 2026 11:36:54 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT");
        assert_eq!(http_date(4_107_542_399), "Sun, 28 Feb 2100 23:59:59 GMT");
    }
}
