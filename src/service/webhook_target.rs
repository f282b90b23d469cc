//! Where webhooks may be sent. A subscription names any URL, so without a rule the service would
//! post (and report on) requests to its own network: loopback, private ranges, the cloud metadata
//! address. Targets are checked twice: at subscription time when the host is a literal address or
//! `localhost`, and at delivery time by the address the name resolves to then, which is also the
//! address connected to (so a name that changes its answer after the check, "DNS rebinding",
//! cannot slip through). `MOTCUA_WEBHOOK_ALLOW_PRIVATE=true` lifts the rule for deployments whose
//! receivers sit on the internal network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
};

/// What kind of non-public address `ip` is, or `None` for a public (globally routed) one.
pub fn non_public_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let kind = match (a, b, c) {
        (0, _, _) => "unspecified",
        (127, _, _) => "loopback",
        (10, _, _) | (192, 168, _) => "private",
        (172, b, _) if (16..32).contains(&b) => "private",
        (100, b, _) if (64..128).contains(&b) => "shared (carrier-grade NAT)",
        (169, 254, _) => "link-local",
        (192, 0, 0) => "IETF protocol assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18 | 19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved or broadcast",
        _ => return None,
    };
    Some(kind)
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    let segments = ip.segments();
    // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d)
    // addresses reach the IPv4 address they carry.
    let embedded =
        |s: &[u16; 8]| Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_kind(v4);
    }
    if segments[..6] == [0, 0, 0, 0, 0, 0] || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(v4_kind(embedded(&segments)).unwrap_or("IPv4-embedding"));
    }
    let kind = match segments[0] {
        0x2002 => {
            // 6to4: the IPv4 address of the relay follows the prefix.
            let relay = Ipv4Addr::new(
                (segments[1] >> 8) as u8,
                segments[1] as u8,
                (segments[2] >> 8) as u8,
                segments[2] as u8,
            );
            return v4_kind(relay);
        }
        0x2001 if segments[1] == 0 => "Teredo tunnel",
        0x2001 if segments[1] == 0x0db8 => "documentation",
        0x0100 if segments[1..4] == [0, 0, 0] => "discard-only",
        s if s & 0xfe00 == 0xfc00 => "unique local (private)",
        s if s & 0xffc0 == 0xfe80 => "link-local",
        s if s & 0xffc0 == 0xfec0 => "site-local",
        s if s & 0xff00 == 0xff00 => "multicast",
        _ => return None,
    };
    Some(kind)
}

/// Refuses an address the rule forbids.
pub fn check_address(ip: IpAddr) -> Result<(), String> {
    match non_public_kind(ip) {
        Some(kind) => Err(format!(
            "the target's address is {kind}, not public; webhooks are sent only to public \
             addresses unless the operator allows private ones"
        )),
        None => Ok(()),
    }
}

/// The check of a URL's host that needs no lookup: a literal address (in any spelling the URL
/// parser accepts: `127.1`, `2130706433`, `[::ffff:127.0.0.1]`…) and the `localhost` names.
pub fn check_literal_host(url: &Url) -> Result<(), String> {
    // The parser has already normalised every spelling of an address to its canonical form.
    let host = url
        .host_str()
        .ok_or_else(|| "must name a host".to_owned())?;
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return check_address(ip);
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return Err(
            "the target is `localhost`, not public; webhooks are sent only to public \
                    addresses unless the operator allows private ones"
                .to_owned(),
        );
    }
    Ok(())
}

/// The webhook client's resolver: resolves with the system's resolver, then refuses the name if
/// any of its addresses is not public, and otherwise hands exactly the checked addresses to the
/// connector.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                check_address(addr.ip())?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> bool {
        check_literal_host(&Url::parse(url).expect(url)).is_err()
    }

    #[test]
    fn every_spelling_of_an_internal_address_is_refused() {
        for url in [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://0.0.0.0/",
            "http://0/",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::10.0.0.1]/",
            "http://[2002:7f00:1::]/",
            "http://[fc00::1]/",
            "http://[fd12:3456::1]/",
            "http://[fe80::1]/",
            "http://[ff02::1]/",
            "http://localhost:8080/",
            "http://LOCALHOST./",
            "http://api.localhost/",
        ] {
            assert!(refused(url), "{url} must be refused");
        }
    }

    #[test]
    fn public_addresses_and_names_pass() {
        for url in [
            "https://dichvucong.gov.vn/hooks",
            "http://8.8.8.8/",
            "http://172.32.0.1/",
            "http://100.128.0.1/",
            "http://[2606:4700:4700::1111]/",
            "http://[::ffff:8.8.8.8]/",
            "http://[2002:0808:0808::]/",
        ] {
            assert!(!refused(url), "{url} must pass");
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_internal_addresses() {
        let refused = PublicOnlyResolver
            .resolve("localhost".parse().expect("name"))
            .await;
        let message = refused.err().expect("localhost is refused").to_string();
        assert!(message.contains("loopback"), "{message}");
    }
}
