//! Certificates forwarded by a TLS-terminating proxy in front of Envoy, in the header and
//! encoding of each platform, and the CIDRs of the proxies trusted to send them.
//!
//! Decoding is strict, as everywhere else: a value that does not decode, more certificates
//! than the format carries, or more than [`MAX_HEADER_CERTIFICATES`] is malformed, never
//! ignored. Whether the peer may send the header at all is decided before any of this.

use crate::cert::{der_from_property, parse_single, pem_bundle, sha256};
use crate::config::FrontFormat;
use crate::outcome::{CertError, MAX_CERTIFICATE_PEM_BYTES};
use crate::text::{hex_lower, hex_value, trim_ascii};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The most certificates (leaf and chain) a header may carry.
pub const MAX_HEADER_CERTIFICATES: usize = 10;

/// RFC 9440's chain header, beside `Client-Cert`.
pub const RFC9440_CHAIN_HEADER: &str = "client-cert-chain";

/// The header a format uses unless `header.name` says otherwise (lower case); `None` where the
/// platform has no default (Application Gateway's rewrite, nginx's `proxy_set_header`).
pub fn default_name(format: FrontFormat) -> Option<&'static str> {
    match format {
        FrontFormat::Alb => Some("x-amzn-mtls-clientcert"),
        FrontFormat::AppGateway | FrontFormat::Nginx => None,
        FrontFormat::Cloudflare => Some("cf-client-cert-der-base64"),
        FrontFormat::Traefik => Some("x-forwarded-tls-client-cert"),
        FrontFormat::ContainerApps => Some("x-forwarded-client-cert"),
        FrontFormat::Rfc9440 => Some("client-cert"),
        FrontFormat::Arr => Some("x-arr-clientcert"),
    }
}

/// A certificate header's value refused, with the header's name in the message.
fn bad(header: &str, detail: impl Into<String>) -> CertError {
    CertError::BadHeader {
        header: header.to_string(),
        detail: detail.into(),
    }
}

/// Decodes a header value (and, for RFC 9440, the chain header's) into the leaf's DER and the
/// chain's, leaf excluded.
pub fn decode(
    format: FrontFormat,
    header: &str,
    value: &[u8],
    chain_value: Option<&[u8]>,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), CertError> {
    if value.len() > MAX_CERTIFICATE_PEM_BYTES {
        return Err(CertError::TooLarge { len: value.len() });
    }
    let text = std::str::from_utf8(value).map_err(|_| bad(header, "not UTF-8"))?;
    let text = trim_ascii(text);
    if text.is_empty() {
        return Err(bad(header, "empty"));
    }
    let mut certs = match format {
        FrontFormat::Alb => pem_list(header, text, MAX_HEADER_CERTIFICATES)?,
        FrontFormat::AppGateway | FrontFormat::Nginx => pem_list(header, text, 1)?,
        FrontFormat::Cloudflare | FrontFormat::Arr => vec![base64_der(header, text)?],
        FrontFormat::Traefik => {
            let items: Vec<&str> = text.split(',').map(trim_ascii).collect();
            count(header, items.len(), MAX_HEADER_CERTIFICATES)?;
            items
                .into_iter()
                .map(|item| base64_der(header, item))
                .collect::<Result<Vec<_>, _>>()?
        }
        FrontFormat::ContainerApps => container_apps(header, text)?,
        FrontFormat::Rfc9440 => {
            let mut certs = vec![sf_binary(header, text)?];
            if let Some(chain) = chain_value {
                let chain = std::str::from_utf8(chain)
                    .map_err(|_| bad(RFC9440_CHAIN_HEADER, "not UTF-8"))?;
                let items: Vec<&str> = chain.split(',').map(trim_ascii).collect();
                count(
                    RFC9440_CHAIN_HEADER,
                    items.len() + 1,
                    MAX_HEADER_CERTIFICATES,
                )?;
                for item in items {
                    certs.push(sf_binary(RFC9440_CHAIN_HEADER, item)?);
                }
            }
            certs
        }
    };
    if certs.is_empty() {
        return Err(bad(header, "no certificate"));
    }
    let leaf = certs.remove(0);
    Ok((leaf, certs))
}

fn count(header: &str, n: usize, max: usize) -> Result<(), CertError> {
    if n > max {
        let what = if max == 1 {
            format!("{n} certificates where the format carries one")
        } else {
            format!("{n} certificates, more than the {max} accepted")
        };
        return Err(bad(header, what));
    }
    Ok(())
}

/// PEM blocks, maybe percent-escaped (URL-encoded, with `+` a plus sign, as ALB and nginx
/// write them), at most `max`.
fn pem_list(header: &str, text: &str, max: usize) -> Result<Vec<Vec<u8>>, CertError> {
    let certs = pem_bundle(text)?;
    count(header, certs.len(), max)?;
    Ok(certs)
}

/// Standard base64 (padded) of one certificate's DER.
fn base64_der(header: &str, text: &str) -> Result<Vec<u8>, CertError> {
    if text.is_empty() {
        return Err(bad(header, "an empty certificate"));
    }
    STANDARD
        .decode(text)
        .map_err(|_| bad(header, "not base64 of a certificate"))
}

/// An RFC 8941 byte sequence without parameters: `:<base64>:`.
fn sf_binary(header: &str, item: &str) -> Result<Vec<u8>, CertError> {
    let inner = item
        .strip_prefix(':')
        .and_then(|t| t.strip_suffix(':'))
        .filter(|t| !t.contains(':'))
        .ok_or_else(|| bad(header, "not a structured-field byte sequence (:base64:)"))?;
    base64_der(header, inner)
}

/// Azure Container Apps' XFCC: one element, `Cert` (URL-encoded PEM) required, `Hash` (when
/// present) the SHA-256 of its DER, `Chain` (URL-encoded PEM, the leaf maybe first).
fn container_apps(header: &str, text: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let element = parse_single(text.as_bytes()).map_err(|e| bad(header, e.to_string()))?;
    let cert = element
        .get("cert")
        .ok_or_else(|| bad(header, "no Cert key"))?;
    let leaf = der_from_property(cert.as_bytes())?;
    if let Some(hash) = element.get("hash")
        && !hash.eq_ignore_ascii_case(&hex_lower(&sha256(&leaf)))
    {
        return Err(bad(header, "its Hash is not the SHA-256 of its Cert"));
    }
    let mut certs = vec![leaf];
    if let Some(chain) = element.get("chain") {
        for der in pem_bundle(chain)? {
            if der != certs[0] {
                certs.push(der);
            }
        }
    }
    count(header, certs.len(), MAX_HEADER_CERTIFICATES)?;
    Ok(certs)
}

/// An address range: an IPv6 network, IPv4 ones as IPv4-mapped (`::ffff:a.b.c.d`) so one
/// comparison serves both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: [u8; 16],
    bits: u8,
}

/// Why a `trustedProxies` entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidrError {
    /// Not an IPv4 or IPv6 address, or a prefix length that is not a number in range.
    Syntax,
    /// Bits set after the prefix (`10.0.0.1/8`): which network was meant is a guess.
    HostBits,
}

impl std::fmt::Display for CidrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CidrError::Syntax => {
                "is not an IPv4 or IPv6 address or CIDR (10.0.0.0/8, 2001:db8::/32)"
            }
            CidrError::HostBits => "has address bits set beyond its prefix length",
        })
    }
}

impl std::error::Error for CidrError {}

impl Cidr {
    /// `address/length` or a single address (`/32`, `/128`).
    pub fn parse(text: &str) -> Result<Cidr, CidrError> {
        let (address, length) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let (network, v4) = parse_ip(address).ok_or(CidrError::Syntax)?;
        let max: u8 = if v4 { 32 } else { 128 };
        let bits = match length {
            None => max,
            Some(l) if !l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit()) => l
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= max)
                .ok_or(CidrError::Syntax)?,
            Some(_) => return Err(CidrError::Syntax),
        };
        let bits = if v4 { bits + 96 } else { bits };
        let cidr = Cidr { network, bits };
        if cidr.masked(&network) != network {
            return Err(CidrError::HostBits);
        }
        Ok(cidr)
    }

    fn masked(&self, address: &[u8; 16]) -> [u8; 16] {
        let mut out = [0u8; 16];
        let full = usize::from(self.bits / 8).min(16);
        out[..full].copy_from_slice(&address[..full]);
        let rest = self.bits % 8;
        if rest > 0 && full < 16 {
            out[full] = address[full] & (0xffu8 << (8 - rest));
        }
        out
    }

    /// Whether the address (as [`parse_peer`] gives it) is in this range.
    pub fn contains(&self, address: &[u8; 16]) -> bool {
        self.masked(address) == self.network
    }

    /// What the range trusts when it holds every address of a family: every address at all
    /// (`::/0`), or all of the IPv4-mapped space, which is every IPv4 peer (`0.0.0.0/0`,
    /// `::ffff:0:0/96`, and any IPv6 prefix around it: `::/80`, `::/1`). `None` otherwise.
    pub fn catch_all(&self) -> Option<&'static str> {
        if self.bits == 0 {
            Some("every IPv6 and IPv4 address")
        } else if self.bits <= 96 && self.contains(&IPV4_MAPPED) {
            Some("every IPv4 address")
        } else {
            None
        }
    }

    /// The prefix length within its family, and whether that family is IPv4 (an IPv4 range, or
    /// an IPv6 one inside the IPv4-mapped space, counts its bits after the first 96).
    pub fn family_prefix(&self) -> (bool, u8) {
        if self.bits >= 96 && self.network[..12] == IPV4_MAPPED[..12] {
            (true, self.bits - 96)
        } else {
            (false, self.bits)
        }
    }
}

/// `::ffff:0.0.0.0`: where IPv4 addresses are mapped.
const IPV4_MAPPED: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0];

/// Envoy's `source.address` (`1.2.3.4:5678`, `[2001:db8::1]:5678`, or without a port) as an
/// IPv6 address, IPv4 (and IPv4-mapped IPv6) as IPv4-mapped; `None` for anything else (a
/// pipe, an unparsable value), which no range contains.
pub fn parse_peer(value: &[u8]) -> Option<[u8; 16]> {
    let text = std::str::from_utf8(value).ok()?;
    let host = if let Some(rest) = text.strip_prefix('[') {
        rest.split_once(']')?.0
    } else if text.matches(':').count() == 1 {
        text.split_once(':')?.0
    } else {
        text
    };
    parse_ip(host).map(|(address, _)| address)
}

/// An IPv4 or IPv6 address (strict: no leading zeros in IPv4, no zone), as 16 bytes with IPv4
/// mapped, and whether it was written as IPv4.
fn parse_ip(text: &str) -> Option<([u8; 16], bool)> {
    if let Some(v4) = parse_v4(text) {
        let mut out = [0u8; 16];
        out[10] = 0xff;
        out[11] = 0xff;
        out[12..].copy_from_slice(&v4);
        return Some((out, true));
    }
    parse_v6(text).map(|a| (a, false))
}

fn parse_v4(text: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = text.split('.');
    for byte in &mut out {
        let part = parts.next()?;
        if part.is_empty()
            || part.len() > 3
            || (part.len() > 1 && part.starts_with('0'))
            || !part.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        *byte = part.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

fn parse_v6(text: &str) -> Option<[u8; 16]> {
    let groups = |part: &str| -> Option<Vec<u16>> {
        if part.is_empty() {
            return Some(Vec::new());
        }
        let mut out = Vec::new();
        let pieces: Vec<&str> = part.split(':').collect();
        for (i, piece) in pieces.iter().enumerate() {
            if i + 1 == pieces.len() && piece.contains('.') {
                let v4 = parse_v4(piece)?;
                out.push(u16::from_be_bytes([v4[0], v4[1]]));
                out.push(u16::from_be_bytes([v4[2], v4[3]]));
            } else {
                if piece.is_empty() || piece.len() > 4 {
                    return None;
                }
                let mut g = 0u16;
                for b in piece.bytes() {
                    g = (g << 4) | u16::from(hex_value(b)?);
                }
                out.push(g);
            }
        }
        Some(out)
    };
    let all: Vec<u16> = match text.split_once("::") {
        Some((head, tail)) => {
            let (head, tail) = (groups(head)?, groups(tail)?);
            if head.len() + tail.len() > 7 || text.matches("::").count() > 1 {
                return None;
            }
            let mut all = head;
            all.resize(8 - tail.len(), 0);
            all.extend(tail);
            all
        }
        None => groups(text)?,
    };
    if all.len() != 8 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, g) in all.iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&g.to_be_bytes());
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[10] = 0xff;
        out[11] = 0xff;
        out[12..].copy_from_slice(&[a, b, c, d]);
        out
    }

    #[test]
    fn cidrs_parse_strictly_and_contain_what_they_say() {
        let ten = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(ten.contains(&v4(10, 1, 2, 3)));
        assert!(!ten.contains(&v4(11, 0, 0, 0)));
        let one = Cidr::parse("192.0.2.7").unwrap();
        assert!(one.contains(&v4(192, 0, 2, 7)));
        assert!(!one.contains(&v4(192, 0, 2, 8)));
        let all4 = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all4.contains(&v4(1, 2, 3, 4)));
        assert!(!all4.contains(&parse_peer(b"[2001:db8::1]:1").unwrap()));
        let doc = Cidr::parse("2001:db8::/32").unwrap();
        assert!(doc.contains(&parse_peer(b"[2001:db8:ffff::1]:443").unwrap()));
        assert!(!doc.contains(&parse_peer(b"[2001:db9::1]:443").unwrap()));
        assert!(
            Cidr::parse("10.0.0.0/12")
                .unwrap()
                .contains(&v4(10, 15, 255, 255))
        );
        assert!(
            !Cidr::parse("10.0.0.0/12")
                .unwrap()
                .contains(&v4(10, 16, 0, 0))
        );
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "010.0.0.0/8",
            "10.0.0.256",
            "::1/129",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            "fe80::1%eth0",
            "",
            "x",
            "10.0.0.0/8/8",
            "12345::",
            ":::",
        ] {
            assert_eq!(Cidr::parse(bad), Err(CidrError::Syntax), "{bad}");
        }
        assert_eq!(Cidr::parse("10.0.0.1/8"), Err(CidrError::HostBits));
        assert_eq!(Cidr::parse("2001:db8::1/32"), Err(CidrError::HostBits));
    }

    #[test]
    fn catch_alls_and_family_prefixes() {
        let c = |t: &str| Cidr::parse(t).unwrap();
        assert_eq!(c("::/0").catch_all(), Some("every IPv6 and IPv4 address"));
        for all4 in [
            "0.0.0.0/0",
            "::ffff:0:0/96",
            "::/80",
            "::fffe:0:0/95",
            "::/1",
        ] {
            assert_eq!(c(all4).catch_all(), Some("every IPv4 address"), "{all4}");
        }
        for not_all in [
            "0.0.0.0/1",
            "::ffff:0:0/97",
            "::/96",
            "::/81",
            "8000::/1",
            "::1",
        ] {
            assert_eq!(c(not_all).catch_all(), None, "{not_all}");
        }
        assert_eq!(c("10.0.0.0/8").family_prefix(), (true, 8));
        assert_eq!(c("0.0.0.0/0").family_prefix(), (true, 0));
        assert_eq!(c("::ffff:10.0.0.0/104").family_prefix(), (true, 8));
        assert_eq!(c("192.0.2.7").family_prefix(), (true, 32));
        assert_eq!(c("fc00::/7").family_prefix(), (false, 7));
        assert_eq!(c("::/80").family_prefix(), (false, 80));
        assert_eq!(c("::/96").family_prefix(), (false, 96));
    }

    #[test]
    fn peers_are_read_as_envoy_writes_source_address() {
        assert_eq!(parse_peer(b"127.0.0.1:54321"), Some(v4(127, 0, 0, 1)));
        assert_eq!(parse_peer(b"[::ffff:10.0.0.1]:80"), Some(v4(10, 0, 0, 1)));
        let mut loopback = [0u8; 16];
        loopback[15] = 1;
        assert_eq!(parse_peer(b"[::1]:8443"), Some(loopback));
        assert_eq!(parse_peer(b"::1"), Some(loopback));
        assert_eq!(parse_peer(b"10.0.0.1"), Some(v4(10, 0, 0, 1)));
        for bad in [&b"/tmp/socket"[..], b"", b"[::1", b"host:80", b"\xff"] {
            assert_eq!(parse_peer(bad), None, "{bad:?}");
        }
    }
}
