use super::*;

fn request(peer: Option<&str>, headers: &[(&'static str, &str)]) -> (HeaderMap, Extensions) {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(*name, value.parse().unwrap());
    }
    let mut extensions = Extensions::new();
    if let Some(peer) = peer {
        extensions.insert(ConnectInfo::<SocketAddr>(peer.parse().unwrap()));
    }
    (map, extensions)
}

fn trusting(list: &str) -> TrustedProxies {
    TrustedProxies::parse(list).unwrap()
}

const FORWARDED: &[(&str, &str)] = &[
    ("host", "10.0.0.2:3000"),
    ("x-forwarded-proto", "https"),
    ("x-forwarded-host", "notes.example"),
    ("x-forwarded-for", "203.0.113.9, 10.0.0.5"),
];

#[test]
fn networks_parse_and_match() {
    let net = Network::parse("10.0.0.0/8").unwrap();
    assert!(net.contains("10.200.3.4".parse().unwrap()));
    assert!(!net.contains("11.0.0.1".parse().unwrap()));
    assert!(
        net.contains("::ffff:10.1.1.1".parse().unwrap()),
        "v4-mapped"
    );
    assert!(Network::parse("::1")
        .unwrap()
        .contains("::1".parse().unwrap()));
    assert!(Network::parse("0.0.0.0/0")
        .unwrap()
        .contains("8.8.8.8".parse().unwrap()));
    assert_eq!(Network::parse("10.0.0.0/33"), None);
    assert_eq!(Network::parse("proxy.local"), None);
    assert_eq!(
        TrustedProxies::parse("127.0.0.1, 10.0.0.0/8 nope").unwrap_err(),
        "nope"
    );
    assert!(TrustedProxies::parse("").unwrap().is_empty());
}

#[test]
fn forwarded_headers_from_a_stranger_are_ignored() {
    let (headers, extensions) = request(Some("198.51.100.7:5000"), FORWARDED);
    let arrival = Arrival::of(&trusting("10.0.0.0/8"), &headers, &extensions);
    assert_eq!(
        arrival,
        Arrival {
            https: false,
            host: Some("10.0.0.2:3000".into()),
            client: Some("198.51.100.7".parse().unwrap()),
        }
    );
}

#[test]
fn nothing_is_believed_without_a_peer_address() {
    let (headers, extensions) = request(None, FORWARDED);
    let arrival = Arrival::of(&trusting("0.0.0.0/0, ::/0"), &headers, &extensions);
    assert!(!arrival.https);
    assert_eq!(arrival.host.as_deref(), Some("10.0.0.2:3000"));
    assert_eq!(arrival.client, None);
}

#[test]
fn a_trusted_proxy_is_believed() {
    let (headers, extensions) = request(Some("10.0.0.5:41000"), FORWARDED);
    let arrival = Arrival::of(&trusting("10.0.0.0/8"), &headers, &extensions);
    assert_eq!(
        arrival,
        Arrival {
            https: true,
            host: Some("notes.example".into()),
            // 10.0.0.5 is ours too; the client is the hop before it.
            client: Some("203.0.113.9".parse().unwrap()),
        }
    );
}
