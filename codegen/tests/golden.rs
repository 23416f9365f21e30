//! Golden fixtures: each `fixtures/<case>/` tree (`app/`, and `pages/` and
//! `public/` when the case has them) goes through [`approute_codegen::generate`]
//! and the formatted module must equal `fixtures/<case>/expected.rs`, so a
//! reviewer sees what a change does to the generated code.
//!
//! `APPROUTE_BLESS=1 cargo test -p approute-codegen --test golden` writes the
//! expected files from what the pipeline generates now.
//!
//! What differs between checkouts is redacted: the fixture folder's absolute
//! path (in `#[path]` and `include_bytes!`) reads `$DIR`, the cache of
//! public files compressed at build time reads `$CACHE`, and a public file's
//! modification time (its `Last-Modified` date and seconds) reads
//! `"$HTTP_DATE"` and `MTIME`.

use std::path::{Path, PathBuf};

use approute_codegen::{Options, StateType, TrailingSlash};

/// Sets a case's options beyond [`Options::new`]'s defaults.
type Configure = fn(&mut Options);

/// Every case with the options it is generated with; a case folder missing
/// here fails [`every_fixture_folder_is_a_case`].
const CASES: &[(&str, Configure)] = &[
    ("static", |_| {}),
    ("dynamic-beside-catch-all", |_| {}),
    ("groups", |_| {}),
    ("middleware", |_| {}),
    ("pages", |_| {}),
    ("public", |_| {}),
    ("config", |_| {}),
    ("openapi", |o| o.emit.openapi = true),
    ("state-and-trailing-slash", |o| {
        o.emit.state = Some(StateType::parse("crate::AppState").unwrap());
        o.emit.trailing_slash = TrailingSlash::Add;
    }),
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn generated_code_matches_the_fixtures() {
    let bless = std::env::var_os("APPROUTE_BLESS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for (case, configure) in CASES {
        let dir = fixtures_dir().join(case);
        let mut options = Options::new(&dir);
        options.cache_dir = Some(cache_dir());
        configure(&mut options);
        let got = match approute_codegen::generate(&options) {
            Ok(code) => redact(&code, &dir),
            Err(problems) => {
                let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                failures.push(format!("{case}: does not generate:\n{}", text.join("\n")));
                continue;
            }
        };
        let expected_path = dir.join("expected.rs");
        if bless {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected == got => {}
            Ok(expected) => failures.push(format!(
                "{case}: generated code differs from {}\n{}",
                expected_path.display(),
                first_difference(&expected, &got)
            )),
            Err(e) => failures.push(format!("{}: {e}", expected_path.display())),
        }
    }
    let _ = std::fs::remove_dir_all(cache_dir());
    assert!(
        failures.is_empty(),
        "{}\n(APPROUTE_BLESS=1 rewrites the expected files)",
        failures.join("\n\n")
    );
}

#[test]
fn every_fixture_folder_is_a_case() {
    let mut folders: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut cases: Vec<String> = CASES.iter().map(|(c, _)| c.to_string()).collect();
    cases.sort();
    assert_eq!(folders, cases);
}

fn cache_dir() -> PathBuf {
    std::env::temp_dir().join(format!("approute-golden-cache-{}", std::process::id()))
}

/// `code` with what differs between machines replaced by markers.
fn redact(code: &str, dir: &Path) -> String {
    // Paths appear inside string literals, escaped as `Debug` escapes them.
    let escaped = |path: &Path| {
        let debug = format!("{:?}", path.to_string_lossy());
        debug[1..debug.len() - 1].to_string()
    };
    let code = code
        .replace(&escaped(dir), "$DIR")
        .replace(&escaped(&cache_dir()), "$CACHE");
    redact_file_times(&code)
}

/// `("Tue, 01 Dec 2026 19:40:44 GMT", 1796153244)` -> `("$HTTP_DATE", MTIME)`:
/// a checkout's file times are when it was made.
fn redact_file_times(code: &str) -> String {
    const END: &str = " GMT\"";
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(end) = rest.find(END) {
        let Some(start) = rest[..end].rfind('"') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str("\"$HTTP_DATE\"");
        rest = &rest[end + END.len()..];
        // then `,` and the seconds
        let after_comma = rest.trim_start().strip_prefix(',').unwrap_or(rest);
        let digits = after_comma.trim_start();
        let len = digits.bytes().take_while(u8::is_ascii_digit).count();
        if len > 0 {
            out.push_str(&rest[..rest.len() - digits.len()]);
            out.push_str("MTIME");
            rest = &digits[len..];
        }
    }
    out.push_str(rest);
    out
}

/// The first line where `got` differs from `expected`, both shown.
fn first_difference(expected: &str, got: &str) -> String {
    let want: Vec<&str> = expected.lines().collect();
    let have: Vec<&str> = got.lines().collect();
    let Some(i) = (0..want.len().max(have.len())).find(|&i| want.get(i) != have.get(i)) else {
        return "the texts differ only in line endings".to_string();
    };
    format!(
        "first difference at line {}:\n  expected: {:?}\n  got:      {:?}",
        i + 1,
        want.get(i),
        have.get(i)
    )
}

#[test]
fn file_times_are_redacted() {
    let code = "Some((\"Tue, 01 Dec 2026 19:40:44 GMT\", 1796153244)), x";
    assert_eq!(redact_file_times(code), "Some((\"$HTTP_DATE\", MTIME)), x");
    let wrapped = "Some((\n    \"Tue, 01 Dec 2026 19:40:44 GMT\",\n    1796153244,\n))";
    assert_eq!(
        redact_file_times(wrapped),
        "Some((\n    \"$HTTP_DATE\",\n    MTIME,\n))"
    );
}
