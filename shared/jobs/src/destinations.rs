//! Where webhooks may send: an https URL whose host resolves to public addresses only, so a
//! webhook cannot make the platform POST into its own network (private ranges, loopback, the
//! link-local cloud metadata address, unique-local IPv6). Checked when a webhook is made and again
//! before each delivery (DNS may have changed since). Local development allows loopback receivers,
//! over http too ([`Destinations::allow_loopback`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use async_trait::async_trait;

/// Looks a host name up (DNS in the cloud and locally; a table in tests).
#[async_trait]
pub trait HostResolver: Send + Sync {
    /// The host's addresses, or why there are none.
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<IpAddr>, String>;
}

/// Host names looked up in DNS, as the system resolves them.
pub struct SystemResolver;

#[async_trait]
impl HostResolver for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<IpAddr>, String> {
        let found = tokio::net::lookup_host((host, port)).await.map_err(|e| e.to_string())?;
        Ok(found.map(|address| address.ip()).collect())
    }
}

/// Why the address is not one a webhook may reach, `None` for a public address.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => non_public_v4(v4),
            None => non_public_v6(v6),
        },
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local (the cloud metadata address among them)")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified (\"this network\")")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared address space (carrier-grade NAT)")
    } else if a == 192 && b == 0 && c == 0 {
        Some("IETF protocol assignments")
    } else if ip.is_documentation() {
        Some("documentation")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("benchmarking")
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        Some("multicast, broadcast or reserved")
    } else {
        None
    }
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique-local")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if first & 0xffc0 == 0xfec0 {
        Some("site-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Some("documentation")
    } else if first == 0x0064 && ip.segments()[1] == 0xff9b {
        Some("NAT64 (an IPv4 address behind it)")
    } else if first == 0x2002 || (first == 0x2001 && ip.segments()[1] == 0) {
        Some("6to4 or Teredo (an IPv4 address behind it)")
    } else {
        None
    }
}

/// The rule for webhook URLs, with the resolver it looks hosts up with.
pub struct Destinations {
    pub resolver: Arc<dyn HostResolver>,
    /// Local development only: loopback receivers are allowed, over http too.
    pub allow_loopback: bool,
}

impl Destinations {
    /// Whether `ip` may be sent to; `Err` names what kind of address it is.
    pub fn allows(&self, ip: IpAddr) -> Result<(), &'static str> {
        match non_public(ip) {
            None => Ok(()),
            Some("loopback") if self.allow_loopback => Ok(()),
            Some(kind) => Err(kind),
        }
    }

    /// `Ok` when a POST to `url` may go out now: https (http only to loopback where allowed),
    /// and every address its host resolves to allowed. `Err` says why not.
    pub async fn check(&self, url: &str) -> Result<(), String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        let host = match parsed.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err("the URL has no host".into()),
        };
        let port = parsed.port_or_known_default().ok_or("the URL has no port")?;
        let addresses =
            self.resolver.resolve(&host, port).await.map_err(|e| format!("{host} does not resolve: {e}"))?;
        if addresses.is_empty() {
            return Err(format!("{host} resolves to no address"));
        }
        for ip in &addresses {
            self.allows(*ip).map_err(|kind| {
                if ip.to_string() == host {
                    format!("{ip} is a {kind} address, not a public one")
                } else {
                    format!("{host} resolves to {ip}, a {kind} address, not a public one")
                }
            })?;
        }
        match parsed.scheme() {
            "https" => Ok(()),
            "http" if self.allow_loopback && addresses.iter().all(|ip| non_public(*ip) == Some("loopback")) => Ok(()),
            _ => Err("the URL must be https".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Table(HashMap<&'static str, Vec<IpAddr>>);

    #[async_trait]
    impl HostResolver for Table {
        async fn resolve(&self, host: &str, _port: u16) -> Result<Vec<IpAddr>, String> {
            if let Ok(ip) = host.parse() {
                return Ok(vec![ip]);
            }
            self.0.get(host).cloned().ok_or_else(|| "no such host".into())
        }
    }

    fn destinations(allow_loopback: bool) -> Destinations {
        let table = HashMap::from([
            ("hooks.example.com", vec!["93.184.215.14".parse().unwrap()]),
            ("rebound.example.com", vec!["93.184.215.14".parse().unwrap(), "10.0.0.7".parse().unwrap()]),
            ("localhost", vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()]),
        ]);
        Destinations { resolver: Arc::new(Table(table)), allow_loopback }
    }

    #[test]
    fn addresses_outside_the_public_internet_are_named() {
        for (ip, kind) in [
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("127.0.0.1", "loopback"),
            ("169.254.169.254", "link-local (the cloud metadata address among them)"),
            ("0.0.0.0", "unspecified (\"this network\")"),
            ("100.64.0.1", "shared address space (carrier-grade NAT)"),
            ("224.0.0.1", "multicast, broadcast or reserved"),
            ("255.255.255.255", "multicast, broadcast or reserved"),
            ("::1", "loopback"),
            ("fd00:ec2::254", "unique-local"),
            ("fe80::1", "link-local"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:169.254.169.254", "link-local (the cloud metadata address among them)"),
            ("64:ff9b::a00:1", "NAT64 (an IPv4 address behind it)"),
        ] {
            assert_eq!(non_public(ip.parse().unwrap()), Some(kind), "{ip}");
        }
        for public in ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"] {
            assert_eq!(non_public(public.parse().unwrap()), None, "{public}");
        }
    }

    #[tokio::test]
    async fn only_https_to_public_addresses_unless_loopback_is_allowed_for_development() {
        let cloud = destinations(false);
        assert_eq!(cloud.check("https://hooks.example.com/helix").await, Ok(()));
        for (url, reason) in [
            ("http://hooks.example.com/helix", "must be https"),
            ("https://rebound.example.com/x", "rebound.example.com resolves to 10.0.0.7, a private address"),
            ("https://169.254.169.254/latest/meta-data/", "link-local"),
            ("https://[fd00::1]/x", "unique-local"),
            ("https://localhost:8443/x", "loopback"),
            ("https://unknown.example.com/x", "does not resolve"),
        ] {
            let error = cloud.check(url).await.unwrap_err();
            assert!(error.contains(reason), "{url}: {error}");
        }
        let local = destinations(true);
        assert_eq!(local.check("http://127.0.0.1:9000/hook").await, Ok(()));
        assert_eq!(local.check("https://localhost/hook").await, Ok(()));
        assert!(local.check("http://hooks.example.com/x").await.unwrap_err().contains("https"));
        assert!(local.check("https://10.0.0.1/x").await.unwrap_err().contains("private"));
    }
}
