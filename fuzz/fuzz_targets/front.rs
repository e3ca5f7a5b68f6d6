//! A front proxy's certificate header and the trusted proxies' addresses: the decoders never
//! panic, never return more certificates than allowed, and an address the peer parser accepts
//! is inside its own single-address range.
#![no_main]

use client_cert_auth::{Cidr, MAX_HEADER_CERTIFICATES, decode_front, parse_peer};
use client_cert_auth::FrontFormat;
use libfuzzer_sys::fuzz_target;

const FORMATS: [FrontFormat; 8] = [
    FrontFormat::Alb,
    FrontFormat::AppGateway,
    FrontFormat::Cloudflare,
    FrontFormat::Traefik,
    FrontFormat::Nginx,
    FrontFormat::ContainerApps,
    FrontFormat::Rfc9440,
    FrontFormat::Arr,
];

fuzz_target!(|data: &[u8]| {
    // The first byte picks the format; a 0xff byte, if any, splits the value from a chain value.
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(pick) % FORMATS.len()];
    let (value, chain) = match rest.iter().position(|&b| b == 0xff) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    if let Ok((_leaf, chain)) = decode_front(format, "x-fuzz", value, chain) {
        assert!(chain.len() < MAX_HEADER_CERTIFICATES);
    }
    if let Ok(text) = std::str::from_utf8(rest) {
        let _ = Cidr::parse(text);
    }
    if let Some(address) = parse_peer(rest) {
        let text = std::net::Ipv6Addr::from(address).to_string();
        let own = Cidr::parse(&text).expect("a parsed peer prints as an address");
        assert!(own.contains(&address));
    }
});
