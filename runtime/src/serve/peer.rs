//! The peer address of each request, and which client is behind a trusted
//! proxy: see [`Server::trust_proxies`](super::Server::trust_proxies).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, Request};

use crate::ClientAddr;

/// One address (`10.0.0.7`, `::1`) or a network (`10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    fn parse(text: &str) -> Option<Network> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.trim().parse::<u8>().ok()?)),
            None => (text, None),
        };
        let addr = addr.trim().parse::<IpAddr>().ok()?.to_canonical();
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Network { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let masked = |value: u128, bits: u32| match u32::from(self.prefix) {
            0 => 0,
            prefix => value >> (bits - prefix),
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), 32) == masked(u32::from(ip).into(), 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128) == masked(u128::from(ip), 128)
            }
            _ => false,
        }
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// Every entry, or the ones that are not addresses or networks, so
    /// start-up refuses a typo rather than trusting less (or more).
    pub(super) fn parse<I>(entries: I) -> Result<TrustedProxies, String>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut networks = Vec::new();
        let mut wrong = Vec::new();
        for entry in entries {
            let entry = entry.as_ref();
            match Network::parse(entry) {
                Some(network) => networks.push(network),
                None => wrong.push(format!("{entry:?}")),
            }
        }
        if wrong.is_empty() {
            Ok(TrustedProxies(networks))
        } else {
            Err(format!(
                "trust_proxies: not an IP address or network (like 10.0.0.0/8): {}",
                wrong.join(", ")
            ))
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }

    /// The client behind `peer`: the peer itself unless it is trusted;
    /// else, walking `X-Forwarded-For` from the right (the hop nearest us),
    /// the first address that is not trusted, or the leftmost when all are.
    /// A hop that is not an address ends the walk at the last good one: a
    /// trusted proxy wrote it, and what lies left of it cannot be believed.
    fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .rev()
            .flat_map(|value| value.to_str().unwrap_or("").rsplit(','));
        for hop in hops.filter(|hop| !hop.trim().is_empty()) {
            let Some(ip) = parse_hop(hop.trim()) else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// `192.0.2.7`, `2001:db8::1`, and the `ip:port` / `[ip]:port` forms some
/// proxies write.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip = match hop.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => hop.parse::<SocketAddr>().ok()?.ip(),
    };
    Some(ip.to_canonical())
}

/// Records where `req` came from: axum's `ConnectInfo`, as
/// `into_make_service_with_connect_info` would, and with trusted proxies the
/// [`ClientAddr`] behind them (without, `ClientAddr` reads `ConnectInfo`, and
/// nothing more is stored).
pub(super) fn record<B>(
    req: &mut Request<B>,
    peer: SocketAddr,
    proxies: &TrustedProxies,
    roomy: &Extensions,
) {
    if req.extensions().is_empty() {
        *req.extensions_mut() = roomy.clone();
    }
    if !proxies.is_empty() {
        let client = proxies.client(peer.ip(), req.headers());
        req.extensions_mut().insert(ClientAddr(client));
    }
    req.extensions_mut().insert(ConnectInfo(peer));
}

/// An empty extensions map with room for seven entries. A routed request
/// gets four (`ConnectInfo`, and axum's `OriginalUri`, `MatchedPath` and
/// path parameters), and the map, made for three at the first insert,
/// would grow and rehash at the fourth; a clone of this one is made at its
/// full size, in one allocation.
pub(super) fn roomy_extensions() -> Extensions {
    #[derive(Clone)]
    struct Slot<const N: usize>;
    let mut extensions = Extensions::new();
    extensions.insert(Slot::<0>);
    extensions.insert(Slot::<1>);
    extensions.insert(Slot::<2>);
    extensions.insert(Slot::<3>);
    extensions.clear();
    extensions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    fn client(proxies: &TrustedProxies, peer: &str, forwarded: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        proxies.client(peer.parse().unwrap(), &headers).to_string()
    }

    #[test]
    fn networks_parse_and_match() {
        let list = proxies(&[
            "10.0.0.0/8",
            " 192.0.2.7 ",
            "fd00::/8",
            "::ffff:198.51.100.1",
        ]);
        for inside in ["10.1.2.3", "192.0.2.7", "fd12::1", "198.51.100.1"] {
            assert!(list.trusts(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["11.0.0.1", "192.0.2.8", "fe80::1", "::1"] {
            assert!(!list.trusts(outside.parse().unwrap()), "{outside}");
        }
        assert!(proxies(&["0.0.0.0/0"]).trusts("203.0.113.9".parse().unwrap()));
        let wrong = TrustedProxies::parse(["10.0.0.0/33", "localhost", "::1"]).unwrap_err();
        assert!(wrong.contains("\"10.0.0.0/33\", \"localhost\""), "{wrong}");
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        let list = proxies(&["10.0.0.0/8"]);
        // An untrusted peer's header is ignored.
        assert_eq!(client(&list, "203.0.113.9", &["1.1.1.1"]), "203.0.113.9");
        // A trusted peer without the header: the peer.
        assert_eq!(client(&list, "10.0.0.1", &[]), "10.0.0.1");
        // A spoofed left part is skipped: 198.51.100.2 reached our proxy.
        let spoofed = ["6.6.6.6, 198.51.100.2", "10.0.0.5"];
        assert_eq!(client(&list, "10.0.0.1", &spoofed), "198.51.100.2");
        // All hops ours: the leftmost.
        assert_eq!(
            client(&list, "10.0.0.1", &["10.0.0.9, 10.0.0.5"]),
            "10.0.0.9"
        );
        // Ports, and garbage stopping the walk at the last good hop.
        assert_eq!(
            client(&list, "10.0.0.1", &["198.51.100.2:4711"]),
            "198.51.100.2"
        );
        assert_eq!(
            client(&list, "10.0.0.1", &["[2001:db8::1]:80"]),
            "2001:db8::1"
        );
        assert_eq!(
            client(&list, "10.0.0.1", &["1.1.1.1, unknown, 10.0.0.7"]),
            "10.0.0.7"
        );
        // A dual-stack peer is matched and reported as IPv4.
        assert_eq!(
            client(&list, "::ffff:10.0.0.1", &["::ffff:198.51.100.3"]),
            "198.51.100.3"
        );
    }
}
