//! Route config constants: `pub const REVALIDATE: u64 = 60;` and friends,
//! read as literals at compile time so the router can act on them without
//! running user code, and checked so a typo is an error, not a no-op.

use syn::{Expr, Item, ItemConst, Lit, Type, Visibility};

use crate::error::{Diagnostic, Location};

/// A year: longer revalidation is a mistake, not a policy.
const MAX_REVALIDATE: u64 = 365 * 24 * 60 * 60;
/// A day: a request running longer is a job, not a request.
const MAX_MAX_DURATION: u64 = 24 * 60 * 60;

/// What a route file's constants ask for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteConfig {
    pub revalidate: Option<u64>,
    pub cache_tags: Vec<String>,
    pub cache_credentialed: bool,
    pub body_limit: Option<u64>,
    pub max_duration: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    U64,
    Usize,
    Bool,
    StrList,
}

impl Kind {
    fn rust(self) -> &'static str {
        match self {
            Kind::U64 => "u64",
            Kind::Usize => "usize",
            Kind::Bool => "bool",
            Kind::StrList => "&[&str]",
        }
    }

    fn example(self, name: &str) -> String {
        match self {
            Kind::U64 | Kind::Usize => format!("pub const {name}: {} = 60;", self.rust()),
            Kind::Bool => format!("pub const {name}: bool = true;"),
            Kind::StrList => format!("pub const {name}: &[&str] = &[\"notes\"];"),
        }
    }
}

const NAMES: [(&str, Kind); 5] = [
    ("REVALIDATE", Kind::U64),
    ("CACHE_TAGS", Kind::StrList),
    ("CACHE_CREDENTIALED", Kind::Bool),
    ("BODY_LIMIT", Kind::Usize),
    ("MAX_DURATION", Kind::U64),
];

/// Reads every config constant of a parsed route file.
pub fn read_config(path: &str, source: &str, file: &syn::File) -> (RouteConfig, Vec<Diagnostic>) {
    let mut config = RouteConfig::default();
    let mut problems = Vec::new();
    for item in &file.items {
        let Item::Const(c) = item else { continue };
        let name = c.ident.to_string();
        let start = c.ident.span().start();
        let here = Location::at(path, source, start.line, start.column + 1);
        let Some((_, kind)) = NAMES.iter().find(|(n, _)| *n == name) else {
            if let Some(meant) = near_miss(&name).filter(|_| is_pub(&c.vis)) {
                problems.push(
                    Diagnostic::new(
                        format!("approute: `{name}` in `{path}` is not a route config constant"),
                        format!("did you mean `{meant}`? Route files know REVALIDATE, CACHE_TAGS, CACHE_CREDENTIALED, BODY_LIMIT and MAX_DURATION"),
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
                    format!("make it public: `{}`", kind.example(&name)),
                )
                .at(here),
            );
            continue;
        }
        match read_value(c, *kind) {
            Ok(value) => {
                if let Err(why) = apply(&mut config, &name, value) {
                    problems.push(
                        Diagnostic::new(format!("approute: `{name}` in `{path}` {why}"), why_fix(&name))
                            .at(here),
                    );
                }
            }
            Err(why) => problems.push(
                Diagnostic::new(
                    format!("approute: `{name}` in `{path}` {why}"),
                    format!(
                        "config constants are read at compile time, so write the type and a literal: `{}`",
                        kind.example(&name)
                    ),
                )
                .at(here),
            ),
        }
    }
    (config, problems)
}

enum Value {
    Int(u64),
    Bool(bool),
    Strs(Vec<String>),
}

fn is_pub(vis: &Visibility) -> bool {
    !matches!(vis, Visibility::Inherited)
}

fn read_value(c: &ItemConst, kind: Kind) -> Result<Value, String> {
    let ty_ok = match kind {
        Kind::U64 | Kind::Usize | Kind::Bool => {
            matches!(&*c.ty, Type::Path(p) if p.path.is_ident(kind.rust()))
        }
        Kind::StrList => is_str_slice_ref(&c.ty),
    };
    if !ty_ok {
        let written = quote::ToTokens::to_token_stream(&*c.ty).to_string();
        return Err(format!(
            "has type `{written}`, but must be `{}`",
            kind.rust()
        ));
    }
    let not_literal = || "is not a literal".to_string();
    match kind {
        Kind::U64 | Kind::Usize => match &*c.expr {
            Expr::Lit(l) => match &l.lit {
                Lit::Int(i) => i
                    .base10_parse::<u64>()
                    .map(Value::Int)
                    .map_err(|e| e.to_string()),
                _ => Err(not_literal()),
            },
            _ => Err(not_literal()),
        },
        Kind::Bool => match &*c.expr {
            Expr::Lit(l) => match &l.lit {
                Lit::Bool(b) => Ok(Value::Bool(b.value)),
                _ => Err(not_literal()),
            },
            _ => Err(not_literal()),
        },
        Kind::StrList => {
            let Expr::Reference(r) = &*c.expr else {
                return Err(not_literal());
            };
            let Expr::Array(a) = &*r.expr else {
                return Err(not_literal());
            };
            a.elems
                .iter()
                .map(|e| match e {
                    Expr::Lit(l) => match &l.lit {
                        Lit::Str(s) => Ok(s.value()),
                        _ => Err(not_literal()),
                    },
                    _ => Err(not_literal()),
                })
                .collect::<Result<_, _>>()
                .map(Value::Strs)
        }
    }
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

fn apply(config: &mut RouteConfig, name: &str, value: Value) -> Result<(), String> {
    match (name, value) {
        ("REVALIDATE", Value::Int(0)) => Err("is 0, which would cache nothing".into()),
        ("REVALIDATE", Value::Int(n)) if n > MAX_REVALIDATE => {
            Err(format!("is {n} seconds, more than a year"))
        }
        ("REVALIDATE", Value::Int(n)) => {
            config.revalidate = Some(n);
            Ok(())
        }
        ("CACHE_TAGS", Value::Strs(tags)) => {
            if tags
                .iter()
                .any(|t| t.is_empty() || t.contains(char::is_whitespace))
            {
                return Err("has an empty tag or one with spaces".into());
            }
            config.cache_tags = tags;
            Ok(())
        }
        ("CACHE_CREDENTIALED", Value::Bool(b)) => {
            config.cache_credentialed = b;
            Ok(())
        }
        ("BODY_LIMIT", Value::Int(0)) => Err("is 0, which refuses every body".into()),
        ("BODY_LIMIT", Value::Int(n)) => {
            config.body_limit = Some(n);
            Ok(())
        }
        ("MAX_DURATION", Value::Int(0)) => Err("is 0, which cancels every request".into()),
        ("MAX_DURATION", Value::Int(n)) if n > MAX_MAX_DURATION => {
            Err(format!("is {n} seconds, more than a day"))
        }
        ("MAX_DURATION", Value::Int(n)) => {
            config.max_duration = Some(n);
            Ok(())
        }
        _ => Err("has a value of the wrong kind".into()),
    }
}

fn why_fix(name: &str) -> String {
    match name {
        "REVALIDATE" => format!(
            "use a number of seconds from 1 to {MAX_REVALIDATE}, or remove it to never cache"
        ),
        "CACHE_TAGS" => "use short names without spaces, e.g. `&[\"notes\"]`".into(),
        "BODY_LIMIT" => "use the largest body in bytes, e.g. `1_048_576`".into(),
        "MAX_DURATION" => format!("use a number of seconds from 1 to {MAX_MAX_DURATION}"),
        _ => "fix the value".into(),
    }
}

/// A public constant in capitals that is probably a misspelt config name.
fn near_miss(name: &str) -> Option<&'static str> {
    if name != name.to_ascii_uppercase() {
        return None;
    }
    NAMES
        .iter()
        .map(|(n, _)| *n)
        .find(|n| crate::parse::edit_distance(name, n) <= 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(source: &str) -> (RouteConfig, Vec<String>) {
        let file = syn::parse_file(source).unwrap();
        let (config, problems) = read_config("app/route.rs", source, &file);
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
        ];
        for (source, want) in cases {
            let (_, problems) = read(source);
            assert_eq!(problems.len(), 1, "{source}: {problems:#?}");
            assert!(problems[0].contains(want), "{source}: {}", problems[0]);
            assert!(problems[0].contains("app/route.rs:1:"), "{}", problems[0]);
        }
    }
}
