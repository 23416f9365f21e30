//! Next.js App Router route handlers for Rust.
//!
//! Put `route.rs` files in folders under `app/`; each exports handlers named
//! after HTTP methods (`pub async fn GET`, `POST`, ...), which are ordinary
//! axum handlers. One line in `main.rs` turns the tree into an
//! [`axum::Router`] at compile time:
//!
//! ```ignore
//! approute::app!(); // defines `mod app` with `app::router()` and `app::ROUTES`
//! ```
//!
//! Folder names follow Next.js 14: `[id]`, `[...slug]`, `[[...slug]]`,
//! `(group)`, `_private`, `%5Fname`. See the README for the whole guide.

pub mod cache;
mod checks;
mod client_addr;
pub mod compress;
mod error;
mod href;
mod methods;
pub mod middleware;
#[cfg(feature = "openapi")]
pub mod openapi;
mod params;
mod public;
pub mod rate_limit;
mod redirect;
mod route_info;
#[cfg(feature = "serve")]
pub mod serve;
mod url;

pub use approute_macros::app;
pub use client_addr::ClientAddr;
pub use params::{ParamValue, Params};
pub use public::{PublicFile, PublicVariant};
pub use rate_limit::RateLimitExempt;
pub use route_info::{RouteConfig, RouteInfo, UrlSegment};
#[cfg(feature = "serve")]
pub use serve::serve;
pub use url::{normalize, Normalize};

/// The axum this crate builds on, so generated code and users agree on one
/// version.
pub use axum;

/// Used by the code `app!` generates; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::cache::cache_layer;
    pub use crate::checks::{
        finish_route as route, Check, RouteSource, SharedRoute, TrailingSlash,
    };
    pub use crate::href::{href_end, href_rest, href_segment};
    pub use crate::methods::{auto_options, method_not_allowed};
    pub use crate::middleware::{with_layer, with_middleware};
    #[cfg(feature = "openapi")]
    pub use crate::openapi::__private as openapi;
    pub use crate::public::{public_file, public_routes, PublicRoute};
    pub use crate::rate_limit::rate_limited;
    pub use crate::redirect::{redirect_with_slash, redirect_without_slash};
    pub use approute_macros::href;
    pub use axum::handler::Handler;
    pub use axum::routing::{any, MethodRouter};
    pub use axum::Router;
}
