//! Which proxies to believe, and what a request says about how the client
//! reached us. `X-Forwarded-Proto`, `-Host` and `-For` are anyone's to
//! send; they count only when the peer (axum's `ConnectInfo<SocketAddr>`)
//! is a proxy the configuration names (`NOTES_TRUSTED_PROXIES`). Without a
//! peer address (a server that does not record it) nothing is believed.

use std::net::{IpAddr, SocketAddr};

use approute::axum::extract::{ConnectInfo, FromRequestParts};
use approute::axum::http::{header, request::Parts, Extensions, HeaderMap};

use crate::AppState;

/// One address (`10.0.0.7`, `::1`) or a network (`10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// `None` for anything that is not an address with an optional prefix
    /// length that fits it.
    pub fn parse(text: &str) -> Option<Network> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.trim().parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let addr: IpAddr = addr.trim().parse().ok()?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Network { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let keep = |bits: u32| {
            if self.prefix == 0 {
                0
            } else {
                !0u128 << (bits - u32::from(self.prefix))
            }
        };
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = keep(32);
                u128::from(u32::from(net)) & mask == u128::from(u32::from(ip)) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = keep(128);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The proxies whose `X-Forwarded-*` headers are believed; none by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// A comma- or space-separated list; the entries that are not
    /// addresses or networks come back as the error, so start-up can
    /// refuse a typo rather than silently trust less (or more).
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut networks = Vec::new();
        let mut wrong = Vec::new();
        for entry in list.split([',', ' ']).filter(|e| !e.trim().is_empty()) {
            match Network::parse(entry) {
                Some(network) => networks.push(network),
                None => wrong.push(entry.trim()),
            }
        }
        if wrong.is_empty() {
            Ok(TrustedProxies(networks))
        } else {
            Err(wrong.join(", "))
        }
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// How a request reached us: over TLS or not, for which host, from which
/// client; from the trusted proxy's headers, else from the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Arrival {
    /// The client used `https` (a trusted proxy said so).
    pub https: bool,
    /// The host the client asked for: a trusted `X-Forwarded-Host`, else
    /// `Host`.
    pub host: Option<String>,
    /// The client's address: the first untrusted hop of a trusted
    /// `X-Forwarded-For`, else the peer; `None` when the server gives no
    /// peer address.
    pub client: Option<IpAddr>,
}

impl Arrival {
    /// `proxies` is the configuration's `trusted_proxies`.
    pub fn of(proxies: &TrustedProxies, headers: &HeaderMap, extensions: &Extensions) -> Arrival {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_canonical());
        let via_proxy = peer.is_some_and(|ip| proxies.trusts(ip));
        let forwarded = |name: &str| via_proxy.then(|| first_value(headers, name)).flatten();
        let https = forwarded("x-forwarded-proto").is_some_and(|proto| proto == "https");
        let host = forwarded("x-forwarded-host")
            .or_else(|| headers.get(header::HOST)?.to_str().ok().map(str::to_string));
        let client = if via_proxy {
            client_behind(proxies, headers).or(peer)
        } else {
            peer
        };
        Arrival {
            https,
            host,
            client,
        }
    }
}

impl FromRequestParts<AppState> for Arrival {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Arrival::of(
            &state.config.trusted_proxies,
            &parts.headers,
            &parts.extensions,
        ))
    }
}

/// The first comma-separated value of `name`: what the outermost proxy saw.
fn first_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    let first = value.split(',').next()?.trim();
    (!first.is_empty()).then(|| first.to_string())
}

/// Walking `X-Forwarded-For` from the right (the hop nearest us), the first
/// address that is not one of our proxies; `None` if any hop is not an
/// address.
fn client_behind(proxies: &TrustedProxies, headers: &HeaderMap) -> Option<IpAddr> {
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| {
            hop.trim()
                .parse::<IpAddr>()
                .ok()
                .map(|ip| ip.to_canonical())
        })
        .collect::<Option<_>>()?;
    let first = hops.first().copied();
    // Every hop one of ours: the request started at the first.
    hops.into_iter()
        .rev()
        .find(|ip| !proxies.trusts(*ip))
        .or(first)
}

#[cfg(test)]
mod tests;
