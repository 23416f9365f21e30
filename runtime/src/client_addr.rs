//! [`ClientAddr`]: the address of the client that sent a request.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, StatusCode};
use axum::response::Response;

use crate::error;

/// The address of the client that sent a request: the peer address of the
/// connection, or, when the peer is a proxy named in
/// [`Server::trust_proxies`](crate::serve::Server::trust_proxies), the first
/// address in `X-Forwarded-For`, read from the right, that is not one of
/// those proxies. IPv4 clients of a dual-stack listener come out as IPv4
/// (`127.0.0.1`, not `::ffff:127.0.0.1`).
///
/// Take it as an extractor (`Option<ClientAddr>` where a router may be
/// served without a peer address, as under `oneshot` in tests), or read it
/// with [`ClientAddr::from_extensions`] in middleware. Do not look for it
/// with `extensions().get::<ClientAddr>()`: without trusted proxies the
/// server stores only axum's [`ConnectInfo<SocketAddr>`], which these two
/// read.
///
/// ```no_run
/// use approute::axum::{routing::get, Router};
/// use approute::ClientAddr;
///
/// async fn whoami(ClientAddr(ip): ClientAddr) -> String {
///     format!("you are {ip}\n")
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let router = Router::new().route("/whoami", get(whoami));
/// // Behind a load balancer at 10.0.0.0/8: believe its X-Forwarded-For.
/// approute::serve(router).trust_proxies(["10.0.0.0/8"]).await
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The request's client address, `None` when the server recorded no
    /// peer address (a router under `oneshot`, or served by a server
    /// without connect info).
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use approute::axum::extract::ConnectInfo;
    /// use approute::axum::http::Extensions;
    /// use approute::ClientAddr;
    ///
    /// let mut extensions = Extensions::new();
    /// assert_eq!(ClientAddr::from_extensions(&extensions), None);
    /// extensions.insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 7], 50000))));
    /// let ClientAddr(ip) = ClientAddr::from_extensions(&extensions).unwrap();
    /// assert_eq!(ip.to_string(), "192.0.2.7");
    /// ```
    pub fn from_extensions(extensions: &Extensions) -> Option<ClientAddr> {
        if let Some(client) = extensions.get::<ClientAddr>() {
            return Some(*client);
        }
        let ConnectInfo(peer) = extensions.get::<ConnectInfo<SocketAddr>>()?;
        Some(ClientAddr(peer.ip().to_canonical()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    /// A `500`: the app asked for an address the server does not give.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        ClientAddr::from_extensions(&parts.extensions).ok_or_else(|| {
            error::bare(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no client address: serve the router with approute::serve, or take Option<ClientAddr>",
            )
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(ClientAddr::from_extensions(&parts.extensions))
    }
}
