//! `public/` files compressed once, at build time: a text file of
//! [`MIN_SIZE`] bytes or more gets a brotli (quality 11) and a gzip
//! (level 9) variant, embedded beside it, so serving one costs no CPU.
//!
//! Compressing at the best settings is slow (brotli 11 does about 1 MB/s),
//! and the macro runs on every build, so each variant is kept in a cache
//! folder under cargo's target folder, named by a 128-bit hash of the
//! file's bytes: a file is compressed once per content, and an edit to a
//! route file costs a lookup per public file. The cache is
//! `target/approute/compressed/` (see [`default_cache_dir`]); deleting it
//! only costs the next build the compression again.
//!
//! A variant is kept only when it saves at least a twentieth of the bytes:
//! otherwise the client would decode for nothing.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Location};
use crate::model::{PublicFile, PublicVariant};
use crate::public;

/// Files shorter than this (1 KiB) are embedded as they are, as
/// `approute::compress::DEFAULT_MIN_SIZE` leaves short answers.
pub const MIN_SIZE: u64 = 1024;
const GZIP_LEVEL: u32 = 9;
const BROTLI_QUALITY: u32 = 11;
/// brotli's largest standard window, 16 MiB: decoding needs no more memory
/// than the file's size for files under it.
const BROTLI_WINDOW_BITS: u32 = 24;

/// The encodings made, in the runtime's `approute::compress::Encoding`
/// names, with the file extension they are cached under.
const ENCODINGS: [(&str, &str); 2] = [("Brotli", "br11"), ("Gzip", "gz9")];

/// Whether a file of this type is worth compressing: text, JSON, XML,
/// JavaScript, SVG, wasm (what the runtime compresses on the fly).
pub fn compressible(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default();
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence,
            "application/json" | "application/xml" | "application/wasm"
        )
}

/// Gives each compressible file its variants, compressing those not in
/// `cache_dir` yet; a file that cannot be read or a cache that cannot be
/// written is a problem naming it.
pub fn add_variants(files: &mut [PublicFile], cache_dir: &Path) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for file in files
        .iter_mut()
        .filter(|f| f.len >= MIN_SIZE && compressible(f.content_type))
    {
        match variants(&file.abs_path, cache_dir) {
            Ok(variants) => file.variants = variants,
            Err(e) => problems.push(
                Diagnostic::new(
                    format!(
                        "approute: cannot compress `{}` into `{}`: {e}",
                        file.display_path,
                        cache_dir.display()
                    ),
                    "check that the target folder is writable (or set CARGO_TARGET_DIR)",
                )
                .at(Location::file(file.display_path.clone())),
            ),
        }
    }
    problems
}

fn variants(path: &Path, cache_dir: &Path) -> io::Result<Vec<PublicVariant>> {
    let bytes = std::fs::read(path)?;
    let name = content_name(&bytes);
    let mut made = Vec::new();
    for (encoding, ext) in ENCODINGS {
        let cached = cache_dir.join(format!("{name}.{ext}"));
        let packed = match std::fs::read(&cached) {
            Ok(packed) => packed,
            Err(_) => {
                let packed = match encoding {
                    "Brotli" => brotli(&bytes)?,
                    _ => gzip(&bytes)?,
                };
                write_atomically(&cached, &packed)?;
                packed
            }
        };
        if packed.len() <= bytes.len() - bytes.len() / 20 {
            made.push(PublicVariant {
                encoding,
                etag: public::etag(&packed),
                path: cached,
            });
        }
    }
    Ok(made)
}

/// 128 bits of the content (two unrelated 64-bit hashes, fixed across
/// Rust versions, unlike std's) and its length: `<fnv>-<fx>-<len>`, in hex.
fn content_name(bytes: &[u8]) -> String {
    let fnv = public::etag(bytes);
    let fnv = fnv.trim_matches('"').rsplit('-').next().unwrap_or_default();
    let fx = bytes.iter().fold(0u64, |h, &b| {
        (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95)
    });
    format!("{fnv}-{fx:016x}-{:x}", bytes.len())
}

fn gzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn brotli(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY as i32,
        lgwin: BROTLI_WINDOW_BITS as i32,
        size_hint: bytes.len(),
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

/// Written under a temporary name, then renamed: two builds at once (cargo
/// and rust-analyzer) never read half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// `<target>/approute/compressed`: cargo's target folder is found from
/// `CARGO_TARGET_DIR`, else from the `--out-dir` rustc was given (the
/// macro runs inside rustc), else the system's temporary folder is used.
pub fn default_cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| std::env::current_dir().map_or(dir.clone(), |cwd| cwd.join(&dir)))
        .or_else(|| target_from_args(std::env::args()));
    match target {
        Some(target) => target.join("approute").join("compressed"),
        None => std::env::temp_dir().join("approute-compressed"),
    }
}

/// The target folder from rustc's `--out-dir <target>/<profile>/deps`: the
/// nearest folder above it with cargo's `CACHEDIR.TAG`.
fn target_from_args(args: impl Iterator<Item = String>) -> Option<PathBuf> {
    let mut args = args.peekable();
    let mut out_dir = None;
    while let Some(arg) = args.next() {
        if arg == "--out-dir" {
            out_dir = args.next();
        } else if let Some(dir) = arg.strip_prefix("--out-dir=") {
            out_dir = Some(dir.to_string());
        }
    }
    let out_dir = PathBuf::from(out_dir?);
    let found = out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn compressible_types() {
        assert!(compressible(public::content_type("a.html")));
        assert!(compressible(public::content_type("a.js")));
        assert!(compressible(public::content_type("a.svg")));
        assert!(compressible(public::content_type("a.wasm")));
        assert!(compressible(public::content_type("a.webmanifest")));
        assert!(!compressible(public::content_type("a.png")));
        assert!(!compressible(public::content_type("a.woff2")));
        assert!(!compressible(public::content_type("a.bin")));
    }

    #[test]
    fn variants_decode_to_the_file_and_are_cached_by_content() {
        let dir = std::env::temp_dir().join(format!("approute-precompress-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.css");
        let text = "body { margin: 0; padding: 0 }\n".repeat(100);
        std::fs::write(&file, &text).unwrap();
        let cache = dir.join("cache");
        let made = variants(&file, &cache).unwrap();
        let names: Vec<&str> = made.iter().map(|v| v.encoding).collect();
        assert_eq!(names, ["Brotli", "Gzip"]);
        let packed = std::fs::read(&made[1].path).unwrap();
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, text);
        let br = std::fs::read(&made[0].path).unwrap();
        let mut plain = String::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, text);
        assert_eq!(made[0].etag, public::etag(&br));
        // A second build reads the cache: a planted file there is used.
        std::fs::write(&made[1].path, b"planted").unwrap();
        let again = variants(&file, &cache).unwrap();
        assert_eq!(again[1].etag, public::etag(b"planted"));
        // Another content is another name.
        std::fs::write(&file, text.replace("margin", "border")).unwrap();
        let other = variants(&file, &cache).unwrap();
        assert_ne!(other[1].path, made[1].path);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn incompressible_bytes_get_no_variant() {
        let dir = std::env::temp_dir().join(format!("approute-noise-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("noise.txt");
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(&file, noise).unwrap();
        assert!(variants(&file, &dir.join("cache")).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_target_folder_is_found_from_rustcs_out_dir() {
        let dir = std::env::temp_dir().join(format!("approute-target-{}", std::process::id()));
        let deps = dir.join("debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        std::fs::write(
            dir.join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55",
        )
        .unwrap();
        let args = [
            "rustc",
            "--crate-name",
            "x",
            "--out-dir",
            deps.to_str().unwrap(),
        ];
        assert_eq!(
            target_from_args(args.iter().map(|s| s.to_string())),
            Some(dir.clone())
        );
        assert_eq!(target_from_args(["rustc".to_string()].into_iter()), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
