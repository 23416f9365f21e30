//! Thin proc-macro shell over `approute-codegen`: read the arguments, run
//! the pipeline, hand back its code or its errors.

use approute_codegen::{EmitOptions, Options, StateType, TrailingSlash};
use proc_macro::TokenStream;
use quote::{quote, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Token};

/// Generates `mod app` with `app::router()` and `app::ROUTES` from the
/// `route.rs` files under `app/`. See the `approute` crate for the guide.
#[proc_macro]
pub fn app(input: TokenStream) -> TokenStream {
    let args = match syn::parse::<Args>(input) {
        Ok(args) => args,
        Err(e) => return e.to_compile_error().into(),
    };
    let Some(crate_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return quote!(::core::compile_error!("approute: CARGO_MANIFEST_DIR is not set; build with cargo");).into();
    };
    let mut options = Options::new(crate_dir);
    options.dir = args.dir.unwrap_or(options.dir);
    options.pages_dir = args.pages.unwrap_or(options.pages_dir);
    options.public_dir = args.public.unwrap_or(options.public_dir);
    options.emit.state = args.state;
    options.emit.trailing_slash = args.trailing_slash;
    options.emit.module = args.module;
    options.emit.openapi = cfg!(feature = "openapi");

    // Parse route files with proc-macro2's own lexer so spans carry their
    // real line and column in the route file, not the macro call site.
    // The generated code reaches rustc as text, lexed once; unformatted,
    // since formatting would cost more than the whole pipeline.
    proc_macro2::fallback::force();
    let generated = approute_codegen::generate_source(&options);
    proc_macro2::fallback::unforce();

    match generated {
        Ok(code) => code.parse().unwrap_or_else(|e| {
            let msg = format!("approute: internal error, generated code does not lex: {e}");
            quote!(::core::compile_error!(#msg);).into()
        }),
        Err(problems) => errors(&problems, &options.emit),
    }
}

/// One `compile_error!` per problem, so rustc lists them all, then
/// codegen's stand-in for the module (see `approute_codegen::emit::emit_stub`).
fn errors(problems: &[approute_codegen::Diagnostic], emit: &EmitOptions) -> TokenStream {
    let count = problems.len();
    let messages = problems.iter().enumerate().map(|(i, p)| {
        let msg = format!(
            "{p}\n   = note: problem {} of {count} in the app folder",
            i + 1
        );
        quote!(::core::compile_error!(#msg);)
    });
    let stub: proc_macro2::TokenStream = approute_codegen::emit::emit_stub(emit)
        .parse()
        .expect("the stub module lexes");
    quote! {
        #(#messages)*
        #stub
    }
    .into()
}

/// The work behind `app::href!`, which calls it with the tree's route ids:
/// `href!(["/", "/api/users/[id]"] strip; "/api/users/[id]", id = 42)`.
#[doc(hidden)]
#[proc_macro]
pub fn href(input: TokenStream) -> TokenStream {
    match syn::parse::<href::Call>(input) {
        Ok(call) => call.expand().into(),
        Err(e) => e.to_compile_error().into(),
    }
}

mod href;

#[derive(Default)]
struct Args {
    dir: Option<String>,
    pages: Option<String>,
    public: Option<String>,
    state: Option<StateType>,
    trailing_slash: TrailingSlash,
    module: Option<String>,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = Args::default();
        let pairs = Punctuated::<Arg, Token![,]>::parse_terminated(input)?;
        for Arg { key, value } in pairs {
            match key.to_string().as_str() {
                "dir" => args.dir = Some(syn::parse2::<LitStr>(value)?.value()),
                "pages" => args.pages = Some(syn::parse2::<LitStr>(value)?.value()),
                "public" => args.public = Some(syn::parse2::<LitStr>(value)?.value()),
                "state" => {
                    let ty = syn::parse2::<syn::Type>(value)?;
                    args.state = Some(StateType::new(&ty));
                }
                "module" => args.module = Some(syn::parse2::<Ident>(value)?.to_string()),
                "trailing_slash" => {
                    let ident = syn::parse2::<Ident>(value)?;
                    args.trailing_slash = match ident.to_string().as_str() {
                        "redirect" => TrailingSlash::Redirect,
                        "add" => TrailingSlash::Add,
                        "both" => TrailingSlash::Both,
                        _ => {
                            return Err(syn::Error::new(
                                ident.span(),
                                "expected `redirect` (the default: `/a/` -> 308 `/a`), `add` (`/a` -> 308 `/a/`) or `both` (serve both)",
                            ))
                        }
                    };
                }
                _ => {
                    return Err(syn::Error::new(
                        key.span(),
                        "unknown argument; expected `dir = \"app\"`, `pages = \"pages\"`, `public = \"public\"`, `state = Type`, `trailing_slash = redirect|add|both` or `module = name`",
                    ))
                }
            }
        }
        Ok(args)
    }
}

struct Arg {
    key: Ident,
    value: proc_macro2::TokenStream,
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        // A type may hold commas (`HashMap<K, V>`), so parse it whole.
        let value = if key == "state" {
            input.parse::<syn::Type>()?.to_token_stream()
        } else {
            input.parse::<proc_macro2::TokenTree>()?.into_token_stream()
        };
        Ok(Arg { key, value })
    }
}
