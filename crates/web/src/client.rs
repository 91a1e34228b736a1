//! Who is asking: the client address a request comes from, for per-address login throttling.
//!
//! `X-Forwarded-For` is believed only from the reverse proxies the operator names
//! (`PARCOURS_TRUSTED_PROXIES`, addresses or CIDR blocks); then the address is the right-most
//! one of the header that is not a trusted proxy. Otherwise the peer's own address counts, and
//! the header is ignored (anyone can write it). IPv6 clients are grouped by /64: one host holds
//! a whole /64 and could otherwise take a fresh address per attempt.

use std::net::IpAddr;

/// An address block: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("adresse de proxy invalide : {s}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("préfixe invalide : {s}"))?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

/// Parses a comma-separated list of trusted proxies.
pub fn parse_proxies(list: &str) -> Result<Vec<Cidr>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Cidr::parse)
        .collect()
}

/// The client a request is counted as: see the module doc.
pub fn client_key(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[Cidr]) -> String {
    let Some(peer) = peer else {
        return "inconnu".into();
    };
    let peer = canonical(peer);
    let mut client = peer;
    if trusted.iter().any(|c| c.contains(peer)) {
        if let Some(h) = forwarded_for {
            for hop in h.rsplit(',') {
                let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                    break;
                };
                client = canonical(ip);
                if !trusted.iter().any(|c| c.contains(client)) {
                    break;
                }
            }
        }
    }
    group(client)
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn group(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let trusted = parse_proxies("127.0.0.1, 10.0.0.0/8").unwrap();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let outside: IpAddr = "198.51.100.9".parse().unwrap();
        assert_eq!(
            client_key(Some(local), Some("203.0.113.7"), &trusted),
            "203.0.113.7"
        );
        // The right-most untrusted hop: a client cannot pick its address by prepending one.
        assert_eq!(
            client_key(
                Some(local),
                Some("1.2.3.4, 203.0.113.7, 10.1.2.3"),
                &trusted
            ),
            "203.0.113.7"
        );
        // From an untrusted peer the header is ignored.
        assert_eq!(
            client_key(Some(outside), Some("203.0.113.7"), &trusted),
            "198.51.100.9"
        );
        assert_eq!(
            client_key(Some(local), Some("203.0.113.7"), &[]),
            "127.0.0.1"
        );
        // IPv6 by /64; mapped IPv4 as IPv4.
        assert_eq!(
            client_key(Some("2001:db8:1:2:aaaa::1".parse().unwrap()), None, &[]),
            client_key(Some("2001:db8:1:2:bbbb::9".parse().unwrap()), None, &[])
        );
        assert_eq!(
            client_key(Some("::ffff:192.0.2.1".parse().unwrap()), None, &[]),
            "192.0.2.1"
        );
        assert!(parse_proxies("10.0.0.0/33").is_err());
        assert!(parse_proxies("pas-une-adresse").is_err());
    }
}
