//! `cargo approute`: start an app, list and check its routes, serve it
//! while you edit. Cargo runs `cargo-approute approute ARGS...` for
//! `cargo approute ARGS...`.

mod args;
mod check;
mod dev;
mod new;
mod project;
mod routes;

use std::process::ExitCode;

use args::Args;

const USAGE: &str = "\
cargo approute: Next.js-style route handlers for Rust

Usage:
  cargo approute new NAME [--git URL | --version V]
      a new app in the folder NAME, answering GET /api/hello
  cargo approute dev [--manifest-path PATH] [--bin NAME] [--timings]
      serve on $HOST:$PORT (127.0.0.1:3000); rebuild and swap servers on save
      (--timings, or APPROUTE_DEV_TIMINGS=1: when each stage of a rebuild ended)
  cargo approute routes [--manifest-path PATH]
      the route table: methods, URL, file, cache, limits
  cargo approute check [--manifest-path PATH]
      every problem in the route tree, with file:line:col; exit status 1 if any

By default the new app depends on approute by path, from the checkout this
CLI was built from; --git or --version depend on a repository or a release.
PATH is the app's Cargo.toml or its folder; by default the nearest one from here up.
";

fn main() -> ExitCode {
    if let Some(error) = dev::wrap_rustc_if_asked() {
        eprintln!("cargo-approute: {error}");
        return ExitCode::FAILURE;
    }
    let mut words: Vec<String> = std::env::args().skip(1).collect();
    if words.first().map(String::as_str) == Some("approute") {
        words.remove(0);
    }
    let command = if words.is_empty() {
        String::new()
    } else {
        words.remove(0)
    };
    let args = Args::new(words);
    let status = match command.as_str() {
        "routes" => with_tree(args, |tree| {
            print!("{}", routes::table(&tree));
            Ok(0)
        }),
        "check" => in_crate(args).map(check::run),
        "new" => new(args),
        "dev" => dev(args),
        "" | "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(0)
        }
        "--version" | "-V" => {
            println!("cargo-approute {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match status {
        Ok(code) => ExitCode::from(code as u8),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// The codegen options of the crate `--manifest-path` names (or the one
/// here), after checking nothing else was passed.
fn in_crate(mut args: Args) -> Result<approute_codegen::Options, String> {
    let manifest = args.value("manifest-path")?;
    args.finish()?;
    Ok(project::options(&project::crate_dir(manifest.as_deref())?))
}

/// Runs `then` on the crate's checked route tree; its problems are printed
/// and exit 1 instead.
fn with_tree(
    args: Args,
    then: impl FnOnce(approute_codegen::RouteTree) -> Result<i32, String>,
) -> Result<i32, String> {
    match check::load(&in_crate(args)?) {
        Ok(tree) => then(tree),
        Err(_) => Ok(1),
    }
}

fn new(mut args: Args) -> Result<i32, String> {
    let git = args.value("git")?;
    let version = args.value("version")?;
    let path = args
        .positional()
        .ok_or("`cargo approute new` needs the app's name: `cargo approute new my-api`")?;
    args.finish()?;
    let source = match (git, version) {
        (None, None) => new::Source::Checkout,
        (Some(url), None) => new::Source::Git(url),
        (None, Some(version)) => new::Source::Version(version),
        (Some(_), Some(_)) => return Err("pass --git or --version, not both".to_string()),
    };
    println!("{}", new::run(&path, &source)?);
    Ok(0)
}

fn dev(mut args: Args) -> Result<i32, String> {
    let manifest = args.value("manifest-path")?;
    let bin = args.value("bin")?;
    let timings = args.flag("timings");
    args.finish()?;
    dev::run(dev::crate_dir(manifest.as_deref())?, bin, timings)
}
