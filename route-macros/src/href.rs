//! Reads an `app::href!` call and writes the code building its URL, or the
//! error `approute_codegen::href::plan` found, at the argument it is about.

use approute_codegen::href::{plan, Piece};
use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{bracketed, Expr, Ident, LitStr, Token};

pub struct Call {
    routes: Vec<String>,
    add_slash: bool,
    route: LitStr,
    args: Vec<(Ident, Expr)>,
}

impl Parse for Call {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let table;
        bracketed!(table in input);
        let routes = Punctuated::<LitStr, Token![,]>::parse_terminated(&table)?;
        let slash: Ident = input.parse()?;
        input.parse::<Token![;]>()?;
        if input.is_empty() {
            return Err(input.error("expected a route: `href!(\"/api/users/[id]\", id = 42)`"));
        }
        let route: LitStr = input.parse()?;
        let mut args = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let expected = |e: syn::Error| {
                syn::Error::new(
                    e.span(),
                    "expected a parameter as `name = value`, e.g. `id = 42`",
                )
            };
            let name: Ident = input.parse().map_err(expected)?;
            input.parse::<Token![=]>().map_err(expected)?;
            args.push((name, input.parse()?));
        }
        Ok(Call {
            routes: routes.iter().map(LitStr::value).collect(),
            add_slash: slash == "add",
            route,
            args,
        })
    }
}

impl Call {
    pub fn expand(self) -> TokenStream {
        let routes: Vec<&str> = self.routes.iter().map(String::as_str).collect();
        let names: Vec<String> = self.args.iter().map(|(n, _)| n.to_string()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let pieces = match plan(&routes, self.add_slash, &self.route.value(), &names) {
            Ok(pieces) => pieces,
            Err(e) => {
                let span = match e.argument {
                    Some(i) => self.args[i].0.span(),
                    None => self.route.span(),
                };
                return syn::Error::new(span, e.message).to_compile_error();
            }
        };
        let steps = pieces.iter().map(|piece| match piece {
            Piece::Text(text) => quote!(url.push_str(#text);),
            Piece::Segment(i) => {
                let value = &self.args[*i].1;
                quote!(::approute::__private::href_segment(&mut url, &(#value));)
            }
            Piece::Rest(i) => {
                let value = &self.args[*i].1;
                quote!(::approute::__private::href_rest(&mut url, #value);)
            }
        });
        quote! {{
            let mut url = ::std::string::String::new();
            #(#steps)*
            ::approute::__private::href_end(url)
        }}
    }
}
