//! The handler-signature analysis behind `app::openapi()`: what a route
//! file says about each handler beyond its name. Plain text only: the
//! types are resolved by rustc in the generated code (`emit/openapi.rs`),
//! which reaches them through the handler itself.
//!
//! - `/// Lists notes.\n///\n/// Newest first.` -> summary `Lists notes.`,
//!   description `Newest first.`;
//! - `#[deprecated]` -> `deprecated`;
//! - `-> Result<impl IntoResponse, ApiError>` -> `returns_result`, the
//!   type as written for notes;
//! - `Ok((StatusCode::CREATED, Json(note)))` returned -> status
//!   `CREATED`; `Redirect::temporary(..)` -> 307; `Err(..)` is the error
//!   type's to describe;
//! - `pub use crate::x::list as GET;` -> no arity: left open.

use quote::ToTokens;
use syn::visit::Visit;
use syn::{Expr, Item, ReturnType, Stmt, Type};

use crate::model::{Signature, Status};

/// The signatures of the handlers named `names` in the route file
/// `source`, in that order.
pub fn read(source: &str, names: &[&str]) -> Vec<Signature> {
    let items = crate::items::top_items(source).unwrap_or_default();
    names
        .iter()
        .map(|name| {
            items
                .fns
                .iter()
                .find(|f| f.name.text == *name)
                .and_then(|f| crate::items::parse_fn(source, f))
                .map(|f| of_fn(&f))
                .unwrap_or_else(|| Signature {
                    name: name.to_string(),
                    ..Signature::default()
                })
        })
        .collect()
}

fn of_fn(f: &syn::ItemFn) -> Signature {
    let (summary, description) = doc_comment(&f.attrs);
    let (return_type, returns_result) = match &f.sig.output {
        ReturnType::Default => ("()".to_string(), false),
        ReturnType::Type(_, ty) => (type_text(ty), is_result(ty)),
    };
    let mut returned = Returned::default();
    returned.visit_block(&f.block);
    returned.block_tail(&f.block);
    let mut statuses = Vec::new();
    for expr in returned.exprs {
        collect_statuses(expr, returns_result, &mut statuses);
    }
    Signature {
        name: f.sig.ident.to_string(),
        arity: Some(f.sig.inputs.len()),
        return_type,
        returns_result,
        statuses,
        summary,
        description,
        deprecated: f.attrs.iter().any(|a| a.path().is_ident("deprecated")),
    }
}

/// The doc comment's first paragraph (lines joined) and the rest.
fn doc_comment(attrs: &[syn::Attribute]) -> (String, String) {
    let mut lines = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if let Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
            {
                let text = s.value();
                lines.extend(
                    text.split('\n')
                        .map(|l| l.strip_prefix(' ').unwrap_or(l).to_string()),
                );
            }
        }
    }
    let text = lines.join("\n");
    let text = text.trim();
    let (first, rest) = text.split_once("\n\n").unwrap_or((text, ""));
    let summary: Vec<&str> = first.lines().map(str::trim).collect();
    (summary.join(" "), rest.trim().to_string())
}

/// `Result<Json<Note>, ApiError>`, spaced as people write it.
fn type_text(ty: &Type) -> String {
    let mut text = ty.to_token_stream().to_string();
    for (from, to) in [
        (" < ", "<"),
        (" >", ">"),
        ("< ", "<"),
        (" , ", ", "),
        (" :: ", "::"),
        (":: ", "::"),
        ("& ", "&"),
        ("( ", "("),
        (" )", ")"),
    ] {
        text = text.replace(from, to);
    }
    text
}

/// `Result<T, E>` with both written: a type alias with one argument is
/// left to the `Result` impl of `DescribeOutput`.
fn is_result(ty: &Type) -> bool {
    let Type::Path(p) = ty else { return false };
    let Some(last) = p.path.segments.last() else {
        return false;
    };
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => last.ident == "Result" && args.args.len() == 2,
        _ => false,
    }
}

/// The expressions a body returns: its tail (through `if`, `match` and
/// blocks) and every `return`, not those of closures, async blocks or
/// nested functions.
#[derive(Default)]
struct Returned<'a> {
    exprs: Vec<&'a Expr>,
}

impl<'a> Returned<'a> {
    fn tail(&mut self, expr: &'a Expr) {
        match expr {
            Expr::If(e) => {
                self.block_tail(&e.then_branch);
                if let Some((_, other)) = &e.else_branch {
                    self.tail(other);
                }
            }
            Expr::Match(m) => m.arms.iter().for_each(|arm| self.tail(&arm.body)),
            Expr::Block(b) => self.block_tail(&b.block),
            Expr::Paren(p) => self.tail(&p.expr),
            Expr::Return(_) => {} // found by the visitor
            other => self.exprs.push(other),
        }
    }

    fn block_tail(&mut self, block: &'a syn::Block) {
        if let Some(Stmt::Expr(tail, None)) = block.stmts.last() {
            self.tail(tail);
        }
    }
}

impl<'a> Visit<'a> for Returned<'a> {
    fn visit_expr_return(&mut self, r: &'a syn::ExprReturn) {
        if let Some(expr) = &r.expr {
            self.tail(expr);
            self.visit_expr(expr);
        }
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'a Item) {}
}

/// The status `expr` names, if any; in a `Result`, only under `Ok(..)`.
fn collect_statuses(expr: &Expr, in_result: bool, found: &mut Vec<Status>) {
    let expr = match (in_result, expr) {
        (true, Expr::Call(call)) if is_path(&call.func, &["Ok"]) && call.args.len() == 1 => {
            &call.args[0]
        }
        (true, _) => return,
        (false, expr) => expr,
    };
    let status = match strip_parens(expr) {
        Expr::Tuple(t) => t.elems.first().and_then(status_of),
        other => status_of(other),
    };
    if let Some(status) = status {
        if !found.contains(&status) {
            found.push(status);
        }
    }
}

fn strip_parens(mut expr: &Expr) -> &Expr {
    while let Expr::Paren(p) = expr {
        expr = &p.expr;
    }
    expr
}

fn status_of(expr: &Expr) -> Option<Status> {
    match strip_parens(expr) {
        Expr::Path(p) => match segments(p).as_slice() {
            [.., ty, constant] if ty == "StatusCode" => Some(Status::Constant(constant.clone())),
            _ => None,
        },
        Expr::Call(call) => {
            let code = if is_path(&call.func, &["Redirect", "to"])
                || is_path(&call.func, &["Redirect", "see_other"])
            {
                303
            } else if is_path(&call.func, &["Redirect", "temporary"]) {
                307
            } else if is_path(&call.func, &["Redirect", "permanent"]) {
                308
            } else {
                return None;
            };
            Some(Status::Code(code))
        }
        _ => None,
    }
}

/// `func` is a path ending in `tail` (`Ok`, `axum::response::Redirect::to`).
fn is_path(func: &Expr, tail: &[&str]) -> bool {
    let Expr::Path(p) = func else { return false };
    let segments = segments(p);
    segments.len() >= tail.len() && segments[segments.len() - tail.len()..] == *tail
}

/// `["Redirect", "to"]` for `Redirect::to`.
fn segments(path: &syn::ExprPath) -> Vec<String> {
    let segments = path.path.segments.iter();
    segments.map(|s| s.ident.to_string()).collect()
}

#[cfg(test)]
mod tests;
