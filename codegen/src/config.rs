//! Route config constants: `pub const REVALIDATE: u64 = 60;` and friends,
//! read as literals at compile time so the router can act on them without
//! running user code, and checked so a typo is an error, not a no-op.

use syn::{Expr, ItemConst, Lit, Type, Visibility};

use crate::error::{Diagnostic, Location};
use crate::model::RouteConfig;
use crate::suggest;

/// A year: longer revalidation is a mistake, not a policy.
const MAX_REVALIDATE: u64 = 365 * 24 * 60 * 60;
/// A day: a request running longer is a job, not a request.
const MAX_MAX_DURATION: u64 = 24 * 60 * 60;
/// A day: the limiter keeps a client's count for one window, and a longer
/// budget belongs in the app's own store.
const MAX_RATE_WINDOW: u64 = 24 * 60 * 60;

/// One config constant: the table below is the only place that names them.
pub struct Constant {
    pub name: &'static str,
    /// The field of the runtime's `RouteConfig` it is emitted as.
    pub field: &'static str,
    rule: Rule,
    /// Its value in a read config, for the emitter.
    pub value: fn(&RouteConfig) -> Value<'_>,
}

/// The literal a constant must be, and where it goes: `set` stores it, or
/// says why it refuses it, and `fix` is the help for a refused value.
enum Rule {
    /// An integer literal of the Rust type `rust`.
    Int {
        rust: &'static str,
        set: fn(&mut RouteConfig, u64) -> Result<(), String>,
        fix: fn() -> String,
    },
    Bool(fn(&mut RouteConfig, bool)),
    StrList {
        set: fn(&mut RouteConfig, Vec<String>) -> Result<(), String>,
        fix: fn() -> String,
    },
    /// `(u32, u64)`: a tuple of two integer literals.
    IntPair {
        set: fn(&mut RouteConfig, u64, u64) -> Result<(), String>,
        fix: fn() -> String,
    },
}

/// A constant's value as the emitter writes it.
pub enum Value<'a> {
    Number(Option<u64>),
    Bool(bool),
    Strs(&'a [String]),
    Pair(Option<(u64, u64)>),
}

/// Every config constant, in the order the runtime's `RouteConfig` lists
/// its fields.
pub const CONSTANTS: [Constant; 6] = [
    Constant {
        name: "REVALIDATE",
        field: "revalidate",
        rule: Rule::Int {
            rust: "u64",
            set: |config, n| match n {
                0 => Err("is 0, which would cache nothing".into()),
                n if n > MAX_REVALIDATE => Err(format!("is {n} seconds, more than a year")),
                n => {
                    config.revalidate = Some(n);
                    Ok(())
                }
            },
            fix: || {
                format!(
                    "use a number of seconds from 1 to {MAX_REVALIDATE}, or remove it to never cache"
                )
            },
        },
        value: |config| Value::Number(config.revalidate),
    },
    Constant {
        name: "CACHE_TAGS",
        field: "cache_tags",
        rule: Rule::StrList {
            set: |config, tags| {
                if tags
                    .iter()
                    .any(|t| t.is_empty() || t.contains(char::is_whitespace))
                {
                    return Err("has an empty tag or one with spaces".into());
                }
                config.cache_tags = tags;
                Ok(())
            },
            fix: || "use short names without spaces, e.g. `&[\"notes\"]`".into(),
        },
        value: |config| Value::Strs(&config.cache_tags),
    },
    Constant {
        name: "CACHE_CREDENTIALED",
        field: "cache_credentialed",
        rule: Rule::Bool(|config, b| config.cache_credentialed = b),
        value: |config| Value::Bool(config.cache_credentialed),
    },
    Constant {
        name: "BODY_LIMIT",
        field: "body_limit",
        rule: Rule::Int {
            rust: "usize",
            set: |config, n| match n {
                0 => Err("is 0, which refuses every body".into()),
                n => {
                    config.body_limit = Some(n);
                    Ok(())
                }
            },
            fix: || "use the largest body in bytes, e.g. `1_048_576`".into(),
        },
        value: |config| Value::Number(config.body_limit),
    },
    Constant {
        name: "MAX_DURATION",
        field: "max_duration",
        rule: Rule::Int {
            rust: "u64",
            set: |config, n| match n {
                0 => Err("is 0, which cancels every request".into()),
                n if n > MAX_MAX_DURATION => Err(format!("is {n} seconds, more than a day")),
                n => {
                    config.max_duration = Some(n);
                    Ok(())
                }
            },
            fix: || format!("use a number of seconds from 1 to {MAX_MAX_DURATION}"),
        },
        value: |config| Value::Number(config.max_duration),
    },
    Constant {
        name: "RATE_LIMIT",
        field: "rate_limit",
        rule: Rule::IntPair {
            set: |config, requests, seconds| {
                if requests == 0 {
                    return Err("allows 0 requests, which refuses every request".into());
                }
                if requests > u64::from(u32::MAX) {
                    return Err(format!(
                        "allows {requests} requests, more than a `u32` holds"
                    ));
                }
                match seconds {
                    0 => Err("has a window of 0 seconds, which counts nothing".into()),
                    n if n > MAX_RATE_WINDOW => {
                        Err(format!("has a window of {n} seconds, more than a day"))
                    }
                    n => {
                        config.rate_limit = Some((requests, n));
                        Ok(())
                    }
                }
            },
            fix: || {
                format!(
                    "write (requests, seconds) per client, both at least 1 and the window at most {MAX_RATE_WINDOW} s, e.g. `(10, 60)`"
                )
            },
        },
        value: |config| Value::Pair(config.rate_limit),
    },
];

impl Rule {
    /// The type the constant must be written with.
    fn rust(&self) -> &'static str {
        match self {
            Rule::Int { rust, .. } => rust,
            Rule::Bool(_) => "bool",
            Rule::StrList { .. } => "&[&str]",
            Rule::IntPair { .. } => "(u32, u64)",
        }
    }

    fn example(&self, name: &str) -> String {
        match self {
            Rule::Int { rust, .. } => format!("pub const {name}: {rust} = 60;"),
            Rule::Bool(_) => format!("pub const {name}: bool = true;"),
            Rule::StrList { .. } => format!("pub const {name}: &[&str] = &[\"notes\"];"),
            Rule::IntPair { .. } => format!("pub const {name}: (u32, u64) = (10, 60);"),
        }
    }
}

/// Reads every config constant of a parsed route file.
pub fn read_config(
    path: &str,
    source: &str,
    consts: &[ItemConst],
) -> (RouteConfig, Vec<Diagnostic>) {
    let mut config = RouteConfig::default();
    let mut problems = Vec::new();
    for c in consts {
        let name = c.ident.to_string();
        let start = c.ident.span().start();
        let here = Location::at(path, source, start.line, start.column + 1);
        let Some(constant) = CONSTANTS.iter().find(|k| k.name == name) else {
            let known = CONSTANTS.iter().map(|k| k.name);
            if let Some(meant) = suggest::constant(&name, known).filter(|_| is_pub(&c.vis)) {
                problems.push(
                    Diagnostic::new(
                        format!("approute: `{name}` in `{path}` is not a route config constant"),
                        format!("did you mean `{meant}`? Route files know {}", known_names()),
                    )
                    .at(here),
                );
            }
            continue;
        };
        if !is_pub(&c.vis) {
            problems.push(
                Diagnostic::new(
                    format!("approute: `const {name}` in `{path}` is private, so it has no effect"),
                    format!("make it public: `{}`", constant.rule.example(&name)),
                )
                .at(here),
            );
            continue;
        }
        let unread = match read_into(&mut config, c, &constant.rule) {
            Ok(()) => continue,
            Err(unread) => unread,
        };
        let (why, fix) = match unread {
            Unread::NotALiteral(why) => (
                why,
                format!(
                    "config constants are read at compile time, so write the type and a literal: `{}`",
                    constant.rule.example(&name)
                ),
            ),
            Unread::Refused { why, fix } => (why, fix),
        };
        problems
            .push(Diagnostic::new(format!("approute: `{name}` in `{path}` {why}"), fix).at(here));
    }
    (config, problems)
}

/// `REVALIDATE, CACHE_TAGS, ... and MAX_DURATION`.
fn known_names() -> String {
    let names: Vec<&str> = CONSTANTS.iter().map(|k| k.name).collect();
    let (last, rest) = names.split_last().expect("constants");
    format!("{} and {last}", rest.join(", "))
}

fn is_pub(vis: &Visibility) -> bool {
    !matches!(vis, Visibility::Inherited)
}

/// Why a constant's value was not stored.
enum Unread {
    /// It is not a literal of the constant's type.
    NotALiteral(String),
    /// Its rule refuses the value.
    Refused { why: String, fix: String },
}

impl From<String> for Unread {
    fn from(why: String) -> Unread {
        Unread::NotALiteral(why)
    }
}

/// Reads the constant's literal into `config`.
fn read_into(config: &mut RouteConfig, c: &ItemConst, rule: &Rule) -> Result<(), Unread> {
    let ty_ok = match rule {
        Rule::Int { .. } | Rule::Bool(_) => {
            matches!(&*c.ty, Type::Path(p) if p.path.is_ident(rule.rust()))
        }
        Rule::StrList { .. } => is_str_slice_ref(&c.ty),
        Rule::IntPair { .. } => is_pair_of(&c.ty, "u32", "u64"),
    };
    if !ty_ok {
        let written = quote::ToTokens::to_token_stream(&*c.ty).to_string();
        return Err(Unread::NotALiteral(format!(
            "has type `{written}`, but must be `{}`",
            rule.rust()
        )));
    }
    let not_literal = || Unread::NotALiteral("is not a literal".to_string());
    let refused = |fix: fn() -> String| move |why| Unread::Refused { why, fix: fix() };
    match rule {
        Rule::Int { set, fix, .. } => match literal(&c.expr)? {
            Lit::Int(i) => {
                let n = i.base10_parse::<u64>().map_err(|e| e.to_string())?;
                set(config, n).map_err(refused(*fix))
            }
            _ => Err(not_literal()),
        },
        Rule::Bool(set) => match literal(&c.expr)? {
            Lit::Bool(b) => {
                set(config, b.value);
                Ok(())
            }
            _ => Err(not_literal()),
        },
        Rule::StrList { set, fix } => {
            let Expr::Reference(r) = &*c.expr else {
                return Err(not_literal());
            };
            let Expr::Array(a) = &*r.expr else {
                return Err(not_literal());
            };
            let tags = each_literal(&a.elems, |l| match l {
                Lit::Str(s) => Some(Ok(s.value())),
                _ => None,
            })?;
            set(config, tags).map_err(refused(*fix))
        }
        Rule::IntPair { set, fix } => {
            let Expr::Tuple(t) = &*c.expr else {
                return Err(not_literal());
            };
            let numbers = each_literal(&t.elems, |l| match l {
                Lit::Int(i) => Some(i.base10_parse::<u64>().map_err(|e| e.to_string())),
                _ => None,
            })?;
            let [requests, seconds] = numbers[..] else {
                return Err(not_literal());
            };
            set(config, requests, seconds).map_err(refused(*fix))
        }
    }
}

/// Each element's literal, read by `read` (`None`: a literal of another
/// kind).
fn each_literal<'a, T>(
    elems: impl IntoIterator<Item = &'a Expr>,
    read: impl Fn(&Lit) -> Option<Result<T, String>>,
) -> Result<Vec<T>, String> {
    elems
        .into_iter()
        .map(|e| read(literal(e)?).unwrap_or_else(|| Err("is not a literal".to_string())))
        .collect()
}

fn literal(e: &Expr) -> Result<&Lit, String> {
    match e {
        Expr::Lit(l) => Ok(&l.lit),
        _ => Err("is not a literal".to_string()),
    }
}

/// `(first, second)`, each a plain type name.
fn is_pair_of(ty: &Type, first: &str, second: &str) -> bool {
    let Type::Tuple(t) = ty else {
        return false;
    };
    let names: Vec<bool> = t
        .elems
        .iter()
        .zip([first, second])
        .map(|(ty, want)| matches!(ty, Type::Path(p) if p.path.is_ident(want)))
        .collect();
    t.elems.len() == 2 && names.iter().all(|ok| *ok)
}

/// `&[&str]`, lifetimes allowed.
fn is_str_slice_ref(ty: &Type) -> bool {
    let Type::Reference(outer) = ty else {
        return false;
    };
    let Type::Slice(slice) = &*outer.elem else {
        return false;
    };
    let Type::Reference(inner) = &*slice.elem else {
        return false;
    };
    matches!(&*inner.elem, Type::Path(p) if p.path.is_ident("str"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(source: &str) -> (RouteConfig, Vec<String>) {
        let items = crate::items::top_items(source).unwrap();
        let (config, problems) = read_config("app/route.rs", source, &items.consts);
        (config, problems.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn reads_every_constant() {
        let (config, problems) = read(
            r#"
            pub const REVALIDATE: u64 = 60;
            pub const CACHE_TAGS: &[&str] = &["notes", "feed"];
            pub const CACHE_CREDENTIALED: bool = true;
            pub const BODY_LIMIT: usize = 1_048_576;
            pub const MAX_DURATION: u64 = 10;
            pub const RATE_LIMIT: (u32, u64) = (10, 60);
            pub const PAGE_SIZE: usize = 20;
            "#,
        );
        assert!(problems.is_empty(), "{problems:#?}");
        assert_eq!(
            config,
            RouteConfig {
                revalidate: Some(60),
                cache_tags: vec!["notes".into(), "feed".into()],
                cache_credentialed: true,
                body_limit: Some(1_048_576),
                max_duration: Some(10),
                rate_limit: Some((10, 60)),
            }
        );
        let (_, problems) = read("pub const CACHE_TAGS: &'static [&'static str] = &[];");
        assert!(problems.is_empty());
    }

    #[test]
    fn rejects_bad_values_types_and_names() {
        let cases = [
            (
                "pub const REVALIDATE: u64 = 0;",
                "is 0, which would cache nothing",
            ),
            (
                "pub const REVALIDATE: u64 = 99999999999;",
                "more than a year",
            ),
            ("pub const REVALIDATE: u64 = 60 * 60;", "is not a literal"),
            (
                "pub const REVALIDATE: u32 = 60;",
                "has type `u32`, but must be `u64`",
            ),
            ("pub const REVALIDATE: &str = \"60\";", "must be `u64`"),
            ("const REVALIDATE: u64 = 60;", "is private"),
            (
                "pub const REVALIDATES: u64 = 60;",
                "did you mean `REVALIDATE`?",
            ),
            (
                "pub const BODYLIMIT: usize = 10;",
                "did you mean `BODY_LIMIT`?",
            ),
            ("pub const MAX_DURATION: u64 = 0;", "cancels every request"),
            ("pub const BODY_LIMIT: usize = 0;", "refuses every body"),
            ("pub const CACHE_TAGS: &[&str] = &[\"a b\"];", "with spaces"),
            (
                "pub const CACHE_TAGS: &[&str] = &[TAG];",
                "is not a literal",
            ),
            (
                "pub const CACHE_CREDENTIALED: bool = 1;",
                "is not a literal",
            ),
            (
                "pub const RATE_LIMIT: (u32, u64) = (0, 60);",
                "allows 0 requests",
            ),
            (
                "pub const RATE_LIMIT: (u32, u64) = (10, 0);",
                "window of 0 seconds",
            ),
            (
                "pub const RATE_LIMIT: (u32, u64) = (10, 100000);",
                "more than a day",
            ),
            (
                "pub const RATE_LIMIT: (u32, u64) = (5_000_000_000, 60);",
                "more than a `u32` holds",
            ),
            (
                "pub const RATE_LIMIT: (u32, u64) = (LIMIT, 60);",
                "is not a literal",
            ),
            (
                "pub const RATE_LIMIT: (u32, u64) = (10, 60, 1);",
                "is not a literal",
            ),
            (
                "pub const RATE_LIMIT: (u64, u64) = (10, 60);",
                "has type `(u64 , u64)`, but must be `(u32, u64)`",
            ),
            ("pub const RATE_LIMIT: u32 = 10;", "must be `(u32, u64)`"),
            (
                "pub const RATE_LIMITS: (u32, u64) = (1, 1);",
                "did you mean `RATE_LIMIT`?",
            ),
        ];
        for (source, want) in cases {
            let (_, problems) = read(source);
            assert_eq!(problems.len(), 1, "{source}: {problems:#?}");
            assert!(problems[0].contains(want), "{source}: {}", problems[0]);
            assert!(problems[0].contains("app/route.rs:1:"), "{}", problems[0]);
        }
    }
}
