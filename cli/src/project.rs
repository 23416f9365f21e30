//! The app crate a command works on: its folder, and the
//! `approute::app!(...)` arguments that say where its routes are, read from
//! its source as the macro reads them, so the CLI sees the tree rustc sees.

use std::path::{Path, PathBuf};

use approute_codegen::Options;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, Item, LitStr, Token};

/// The files that may hold the `app!` call, in the order they are read.
const ROOT_FILES: [&str; 2] = ["src/main.rs", "src/lib.rs"];

/// Finds the crate: the folder of `--manifest-path` (a `Cargo.toml` or a
/// folder), else the nearest folder from here up that has a `Cargo.toml`.
pub fn crate_dir(manifest_path: Option<&str>) -> Result<PathBuf, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current folder: {e}"))?;
    match manifest_path {
        Some(path) => {
            let path = cwd.join(path);
            let dir = if path.is_dir() {
                path
            } else if path.is_file() {
                path.parent().map(Path::to_path_buf).unwrap_or(cwd)
            } else {
                return Err(format!("`{}` does not exist", path.display()));
            };
            Ok(dir)
        }
        None => cwd
            .ancestors()
            .find(|dir| dir.join("Cargo.toml").is_file())
            .map(Path::to_path_buf)
            .ok_or_else(|| {
                format!(
                    "no Cargo.toml in `{}` or above it; run this in an app's folder or pass --manifest-path",
                    cwd.display()
                )
            }),
    }
}

/// The codegen options for the crate in `dir`, with the folders its
/// `app!(dir = ..., pages = ..., public = ...)` names. A crate whose source
/// does not parse (mid-edit) or has no `app!` gets the defaults; rustc will
/// say what is wrong with it.
pub fn options(dir: &Path) -> Options {
    let mut options = Options::new(dir);
    let call = ROOT_FILES
        .iter()
        .filter_map(|file| std::fs::read_to_string(dir.join(file)).ok())
        .find_map(|source| app_arguments(&source));
    if let Some(args) = call {
        for (key, value) in args {
            match key.as_str() {
                "dir" => options.dir = value,
                "pages" => options.pages_dir = value,
                "public" => options.public_dir = value,
                _ => {}
            }
        }
    }
    options
}

/// The string arguments of the top-level `approute::app!(...)` (or `app!`)
/// call in `source`, if there is one.
fn app_arguments(source: &str) -> Option<Vec<(String, String)>> {
    let file = syn::parse_file(source).ok()?;
    file.items.into_iter().find_map(|item| {
        let Item::Macro(item) = item else { return None };
        let path: Vec<String> = item
            .mac
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        if !matches!(path.as_slice(), [app] | [_, app] if app == "app")
            || (path.len() == 2 && path[0] != "approute")
        {
            return None;
        }
        let args = item
            .mac
            .parse_body_with(Punctuated::<Arg, Token![,]>::parse_terminated);
        Some(
            args.ok()?
                .into_iter()
                .filter_map(|arg| Some((arg.key.to_string(), arg.value?)))
                .collect(),
        )
    })
}

/// `key = value`; only string values are kept, the others (`state = Type`,
/// `trailing_slash = add`) do not move the tree.
struct Arg {
    key: Ident,
    value: Option<String>,
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        if input.peek(LitStr) {
            let value = input.parse::<LitStr>()?.value();
            return Ok(Arg {
                key,
                value: Some(value),
            });
        }
        // A type may hold commas (`HashMap<K, V>`), so read it whole.
        input.parse::<syn::Type>()?;
        Ok(Arg { key, value: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_folders_the_macro_is_given() {
        let source = r#"
            use std::collections::HashMap;
            approute::app!(dir = "routes", state = HashMap<String, u8>, public = "static", trailing_slash = add);
            fn main() {}
        "#;
        assert_eq!(
            app_arguments(source).unwrap(),
            [
                ("dir".to_string(), "routes".to_string()),
                ("public".to_string(), "static".to_string())
            ]
        );
    }

    #[test]
    fn a_bare_app_call_counts_another_crates_does_not() {
        assert_eq!(app_arguments("app!(pages = \"p\");").unwrap().len(), 1);
        assert!(app_arguments("other::app!(dir = \"x\");").is_none());
        assert!(app_arguments("fn main() {").is_none());
        assert_eq!(app_arguments("approute::app!();"), Some(vec![]));
    }
}
