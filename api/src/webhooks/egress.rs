//! Where webhooks may go: the public internet only.
//!
//! A partner organisation with `referrals:admin` chooses the URL every replica POSTs to. Were
//! any address allowed, that partner could make Bydel's servers probe the network they run in
//! (the cloud metadata service at 169.254.169.254, the database on 10.x, an admin port on
//! loopback): server-side request forgery. So an address is refused unless it is global
//! unicast, and loopback only behind `--webhook-allow-loopback` (development and tests).
//!
//! Invariants:
//! - **One classifier.** [`EgressPolicy::permits`] decides for registration and delivery
//!   alike. IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is judged as the IPv4 address it carries;
//!   IPv6 outside `2000::/3`, and the translation and tunnel ranges inside it (NAT64, 6to4,
//!   Teredo), are refused because they can reach IPv4 addresses the classifier would refuse.
//! - **Checked at registration, enforced at delivery.** Registration refuses a literal address
//!   in any spelling (the URL parser normalises `2852039166` and `0xa9fea9fe` to
//!   `169.254.169.254` first) and a host name that resolves to any refused address. Delivery
//!   does not trust that check: the dispatcher's HTTP client resolves through
//!   [`GuardedResolver`], which hands the connector only permitted addresses, so the connection
//!   goes to exactly an address that was checked, whatever the name resolves to by then (DNS
//!   rebinding gains nothing). Literal addresses never reach a resolver and are checked again
//!   before each attempt. The client uses no proxy, which would resolve names itself.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How long registration waits for a host name to resolve; a name that does not resolve in
/// time is accepted and checked again at every delivery.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// Which addresses webhooks may reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    /// Also loopback addresses and `localhost` (`--webhook-allow-loopback`): a receiver on
    /// the developer's own machine or in a test. Never in production.
    pub allow_loopback: bool,
}

/// Why a host was refused; its message is safe to show the caller and to store (it names the
/// address class, never the URL's path or query).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl EgressPolicy {
    /// Whether a connection to `ip` is allowed.
    pub fn permits(self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        if ip.is_loopback() {
            return self.allow_loopback;
        }
        match ip {
            IpAddr::V4(v4) => public_v4(v4),
            IpAddr::V6(v6) => public_v6(v6),
        }
    }

    /// Checks the host of a parsed endpoint URL (`host_str`, IPv6 in brackets): a literal
    /// address must be permitted, `localhost` needs the loopback flag, and a name that
    /// resolves must resolve to permitted addresses only.
    pub async fn admits(self, host: &str, port: u16) -> Result<(), Refused> {
        if let Some(ip) = literal(host) {
            return self.check(ip);
        }
        if is_localhost(host) {
            return if self.allow_loopback {
                Ok(())
            } else {
                Err(Refused(
                    "names a loopback host; webhooks go to public addresses only".into(),
                ))
            };
        }
        let Ok(Ok(addresses)) =
            tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port))).await
        else {
            return Ok(());
        };
        for address in addresses {
            self.check(address.ip())?;
        }
        Ok(())
    }

    /// `Ok` when `ip` is permitted, otherwise the refusal naming its class.
    pub fn check(self, ip: IpAddr) -> Result<(), Refused> {
        if self.permits(ip) {
            return Ok(());
        }
        Err(Refused(format!(
            "points at {} ({}); webhooks go to public addresses only",
            canonical(ip),
            class(canonical(ip))
        )))
    }

    /// The resolver the dispatcher's HTTP client connects through.
    pub fn resolver(self) -> GuardedResolver {
        GuardedResolver { policy: self }
    }
}

/// The address a URL host spells literally, if it does (`[::1]` or `10.0.0.1`).
pub fn literal(host: &str) -> Option<IpAddr> {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()
}

/// Whether a URL host means this machine: a loopback address in any spelling, or `localhost`.
pub fn names_loopback(host: &str) -> bool {
    literal(host).map_or_else(|| is_localhost(host), |ip| canonical(ip).is_loopback())
}

/// `localhost` and its subdomains always mean loopback (RFC 6761 §6.3), whatever DNS says.
fn is_localhost(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// An IPv4-mapped IPv6 address as the IPv4 address it reaches.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// IPv4 blocks that are not the public internet (IANA special-purpose registry).
const PRIVATE_V4: [(Ipv4Addr, u8, &str); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8, "this network"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, "shared address space"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link-local"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "protocol assignments"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "documentation"),
    (Ipv4Addr::new(192, 88, 99, 0), 24, "6to4 relay"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking"),
    (Ipv4Addr::new(198, 51, 100, 0), 24, "documentation"),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "documentation"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved"),
];

/// IPv6 blocks inside global unicast (`2000::/3`) that are not plain public hosts.
const PRIVATE_V6: [(Ipv6Addr, u8, &str); 4] = [
    (
        Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
        23,
        "protocol assignments",
    ),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        "documentation",
    ),
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16, "6to4"),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        "documentation",
    ),
];

fn in_v4(ip: Ipv4Addr, (net, bits, _): &(Ipv4Addr, u8, &str)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(*net) & mask
}

fn in_v6(ip: Ipv6Addr, (net, bits, _): &(Ipv6Addr, u8, &str)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(*net) & mask
}

fn public_v4(ip: Ipv4Addr) -> bool {
    !PRIVATE_V4.iter().any(|block| in_v4(ip, block))
}

/// Only global unicast (`2000::/3`) is public: that leaves out `::`, `::1`, the IPv4-
/// compatible and NAT64 ranges, unique-local `fc00::/7`, link-local `fe80::/10`, site-local
/// `fec0::/10` and multicast `ff00::/8` at once.
fn public_v6(ip: Ipv6Addr) -> bool {
    let global_unicast = ip.segments()[0] & 0xe000 == 0x2000;
    global_unicast && !PRIVATE_V6.iter().any(|block| in_v6(ip, block))
}

/// A word for a refused address, for the caller's error message.
fn class(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(v4) => PRIVATE_V4
            .iter()
            .find(|block| in_v4(v4, block))
            .map_or("not public", |(_, _, name)| name),
        IpAddr::V6(v6) => {
            if let Some((_, _, name)) = PRIVATE_V6.iter().find(|block| in_v6(v6, block)) {
                return name;
            }
            match v6.segments()[0] {
                0 if v6.is_loopback() => "loopback",
                0 if v6.is_unspecified() => "unspecified",
                0x64 => "NAT64",
                s if s & 0xfe00 == 0xfc00 => "unique local",
                s if s & 0xffc0 == 0xfe80 => "link-local",
                s if s & 0xffc0 == 0xfec0 => "site-local",
                s if s & 0xff00 == 0xff00 => "multicast",
                _ => "not public",
            }
        }
    }
}

/// A DNS resolver for the dispatcher's HTTP client that passes on only the addresses the
/// policy permits, so the client connects to a checked address or not at all.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    policy: EgressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if is_localhost(&host) && !policy.allow_loopback {
                return Err(Box::new(Refused("a loopback host".into())) as _);
            }
            let permitted: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| policy.permits(address.ip()))
                .collect();
            if permitted.is_empty() {
                return Err(Box::new(Refused("no public address".into())) as _);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        literal(text).unwrap_or_else(|| panic!("{text} is an address"))
    }

    #[test]
    fn only_public_addresses_are_permitted() {
        let strict = EgressPolicy::default();
        for refused in [
            "169.254.169.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.0.8",
            "[::]",
            "[::1]",
            "[fd00:ec2::254]",
            "[fc00::1]",
            "[fe80::1]",
            "[fec0::1]",
            "[ff02::1]",
            "[::ffff:10.0.0.1]",
            "[::ffff:169.254.169.254]",
            "[::ffff:127.0.0.1]",
            "[::10.0.0.1]",
            "[64:ff9b::a9fe:a9fe]",
            "[2002:a9fe:a9fe::1]",
            "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
            "[2001:db8::1]",
        ] {
            assert!(!strict.permits(ip(refused)), "{refused} is permitted");
            let message = strict.check(ip(refused)).unwrap_err().0;
            assert!(message.contains("public addresses only"), "{message}");
        }
        for permitted in [
            "93.184.215.14",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "[2a00:1450:400f:80d::200e]",
            "[2606:4700::1111]",
        ] {
            assert!(strict.permits(ip(permitted)), "{permitted} is refused");
        }
    }

    #[test]
    fn loopback_only_behind_the_flag() {
        let dev = EgressPolicy {
            allow_loopback: true,
        };
        for loopback in ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]"] {
            assert!(dev.permits(ip(loopback)), "{loopback}");
            assert!(!EgressPolicy::default().permits(ip(loopback)), "{loopback}");
        }
        assert!(!dev.permits(ip("10.0.0.1")), "the flag opens loopback only");
        assert!(!dev.permits(ip("169.254.169.254")));
    }

    #[tokio::test]
    async fn localhost_names_are_loopback_whatever_dns_says() {
        let strict = EgressPolicy::default();
        for name in ["localhost", "LOCALHOST", "api.localhost", "localhost."] {
            assert!(strict.admits(name, 80).await.is_err(), "{name}");
        }
        let dev = EgressPolicy {
            allow_loopback: true,
        };
        assert_eq!(dev.admits("localhost", 80).await, Ok(()));
    }
}
