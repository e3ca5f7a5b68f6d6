//! `certificateSource: "header"`: the certificate from a TLS-terminating proxy in front of
//! Envoy, encoded as each platform does it, accepted only from the peers `trustedProxies`
//! lists; repeated, overfull and undecodable headers are malformed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use client_cert_auth::{
    CacheUse, CertError, Config, Decision, DenyReason, Outcome, PassReason, Request, VerdictCache,
    decide,
};
use serde_json::{Value, json};
use testkit::core::{config, decide_fresh, now};
use testkit::front::{FORMATS, carries_chain, encode};
use testkit::pki::{Ca, Chain};

const TRUSTED_PEER: &[u8] = b"10.1.2.3:41000";
const UNTRUSTED_PEER: &[u8] = b"192.0.2.50:41000";

/// A root, an intermediate and a leaf it issued: only the root is configured, so the trust
/// check passes only with the intermediate from the header.
fn chain() -> Chain {
    Chain::new("Front Root", "Front Inter")
}

fn front_config(format: &str, extra: Value) -> Config {
    let mut header = json!({"format": format, "trustedProxies": ["10.0.0.0/8", "2001:db8::/32"]});
    if matches!(format, "appGateway" | "nginx") {
        header["name"] = json!(if format == "nginx" {
            "X-SSL-Client-Cert"
        } else {
            "X-Client-Cert"
        });
    }
    let mut v = json!({"certificateSource": "header", "header": header,
                       "clientCertExclusionPaths": "/public"});
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    config(v)
}

fn decide_lines(c: &Config, path: &str, lines: &[(String, String)], peer: &[u8]) -> Outcome {
    decide_lines_in(c, path, lines, peer, &mut VerdictCache::new(8))
}

/// A request for `path` from `peer` with these header lines, decided with `cache`.
fn decide_lines_in(
    c: &Config,
    path: &str,
    lines: &[(String, String)],
    peer: &[u8],
    cache: &mut VerdictCache,
) -> Outcome {
    let headers: Vec<(&str, &[u8])> = lines
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let mut request = Request {
        path: path.as_bytes(),
        headers: &headers,
        source_address: Some(peer),
        now: now(),
        ..Request::default()
    };
    decide(c, &mut request, cache)
}

/// A PEM block around `der`, whatever it holds.
fn pem_of(der: &[u8]) -> String {
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        STANDARD.encode(der)
    )
}

fn malformed(o: &Outcome) -> bool {
    matches!(
        &o.decision,
        Decision::Deny(DenyReason::CertificateInvalid(e)) if e.kind() == "malformed"
    )
}

#[test]
fn each_format_forwards_a_real_certificate_from_a_trusted_proxy() {
    let ch = chain();
    let root_pem = ch.root.cert_pem();
    let inter_pem = ch.inter.cert_pem();
    let inter_der = ch.inter.der();
    for format in FORMATS {
        // The leaf goes on in X-ARR-ClientCert.
        let forwards_leaf = |o: &Outcome| {
            assert_eq!(
                o.decision.header("x-arr-clientcert"),
                Some(STANDARD.encode(&ch.leaf.der).as_str()),
                "{format}: {:?}",
                o.decision
            );
        };
        let trusting_root = front_config(
            format,
            json!({"validation": {"trustedCaCertificates": [root_pem]}}),
        );
        let certs: Vec<(&str, &[u8])> = if carries_chain(format) {
            vec![
                (ch.leaf.cert_pem.as_str(), &ch.leaf.der),
                (inter_pem.as_str(), &inter_der),
            ]
        } else {
            vec![(ch.leaf.cert_pem.as_str(), &ch.leaf.der)]
        };
        let lines = encode(format, &certs);
        if carries_chain(format) {
            // The chain in the header supplies the intermediate the trust check needs.
            let o = decide_lines(&trusting_root, "/app", &lines, TRUSTED_PEER);
            forwards_leaf(&o);
            assert_eq!(o.untrusted_peer, None);
        }
        // Without the trust check, every format's leaf is forwarded as is.
        let plain = front_config(format, json!({}));
        let leaf_only = encode(format, &[(ch.leaf.cert_pem.as_str(), &ch.leaf.der)]);
        forwards_leaf(&decide_lines(&plain, "/app", &leaf_only, TRUSTED_PEER));
        // IPv6 peers in a trusted range count too.
        let o = decide_lines(&plain, "/app", &leaf_only, b"[2001:db8::7]:5000");
        assert!(matches!(o.decision, Decision::Forward { .. }), "{format}");
        // The leaf alone does not chain to the root: the header's chain was what made it pass.
        if carries_chain(format) {
            let o = decide_lines(&trusting_root, "/app", &leaf_only, TRUSTED_PEER);
            assert!(
                matches!(&o.decision, Decision::Deny(DenyReason::CertificateInvalid(e)) if e.kind() == "untrusted"),
                "{format}: {:?}",
                o.decision
            );
        }
    }
}

#[test]
fn the_header_from_an_untrusted_peer_is_never_used() {
    let ch = chain();
    for format in FORMATS {
        let c = front_config(format, json!({}));
        let lines = encode(format, &[(ch.leaf.cert_pem.as_str(), &ch.leaf.der)]);
        for peer in [UNTRUSTED_PEER, b"[2001:db9::1]:1", b"not an address", b""] {
            let o = decide_lines(&c, "/app", &lines, peer);
            assert_eq!(
                o.decision,
                Decision::Deny(DenyReason::CertificateRequired),
                "{format} from {peer:?}: treated as no certificate"
            );
            assert_eq!(
                o.untrusted_peer.as_deref(),
                Some(String::from_utf8_lossy(peer).as_ref())
            );
            let o = decide_lines(&c, "/public/x", &lines, peer);
            assert_eq!(
                o.decision,
                Decision::Pass(PassReason::NoCertificateExcluded),
                "{format}"
            );
        }
        // Even an undecodable value from an untrusted peer is not looked at.
        let garbage = vec![(lines[0].0.clone(), "%%%garbage".to_string())];
        let o = decide_lines(&c, "/app", &garbage, UNTRUSTED_PEER);
        assert_eq!(o.decision, Decision::Deny(DenyReason::CertificateRequired));
        // Without the header the peer is not even asked for.
        let o = decide_fresh(
            &c,
            Request {
                source_address: None,
                now: now(),
                ..Request::default()
            },
        );
        assert_eq!(o.decision, Decision::Deny(DenyReason::CertificateRequired));
        assert_eq!(o.untrusted_peer, None);
        // Every client-sent copy of the source header is removed before the upstream.
        for (name, _) in &lines {
            assert!(c.forward.must_strip(name), "{format}: {name} stripped");
        }
    }
}

#[test]
fn doubled_overfull_and_undecodable_headers_are_malformed() {
    let ch = chain();
    let other = Ca::new("Other").client("bob");
    for format in FORMATS {
        let c = front_config(format, json!({"clientCertMode": "Optional"}));
        let lines = encode(format, &[(ch.leaf.cert_pem.as_str(), &ch.leaf.der)]);
        // The same header line twice (even with the same value).
        let mut doubled = lines.clone();
        doubled.push(lines[0].clone());
        let o = decide_lines(&c, "/app", &doubled, TRUSTED_PEER);
        assert!(malformed(&o), "{format} doubled: {:?}", o.decision);
        // Two lines in different letter case are the same header.
        let mut cased = lines.clone();
        cased.push((lines[0].0.to_ascii_uppercase(), lines[0].1.clone()));
        assert!(
            malformed(&decide_lines(&c, "/app", &cased, TRUSTED_PEER)),
            "{format}"
        );
        // Values that do not decode.
        for bad in [
            "",
            "garbage",
            "%ZZ",
            ":::",
            "Cert=",
            "-----BEGIN CERTIFICATE-----",
        ] {
            let o = decide_lines(
                &c,
                "/app",
                &[(lines[0].0.clone(), bad.to_string())],
                TRUSTED_PEER,
            );
            assert!(malformed(&o), "{format} {bad:?}: {:?}", o.decision);
        }
        // A forged value: base64 of bytes that are not a certificate.
        let forged = encode(format, &[(ch.leaf.cert_pem.as_str(), b"not a certificate")]);
        if !matches!(format, "alb" | "appGateway" | "nginx" | "containerApps") {
            let o = decide_lines(&c, "/app", &forged, TRUSTED_PEER);
            assert!(malformed(&o), "{format} forged: {:?}", o.decision);
        }
        // Several certificates where the format carries one.
        if !carries_chain(format) {
            let two: Vec<(String, String)> = match format {
                "appGateway" | "nginx" => encode(
                    format,
                    &[(
                        &format!("{}{}", ch.leaf.cert_pem, other.cert_pem),
                        &ch.leaf.der,
                    )],
                ),
                _ => vec![(
                    lines[0].0.clone(),
                    format!(
                        "{},{}",
                        STANDARD.encode(&ch.leaf.der),
                        STANDARD.encode(&other.der)
                    ),
                )],
            };
            let o = decide_lines(&c, "/app", &two, TRUSTED_PEER);
            assert!(malformed(&o), "{format} two certificates: {:?}", o.decision);
        }
    }
}

#[test]
fn chains_are_bounded_at_ten_certificates() {
    let ch = chain();
    let inter_pem = ch.inter.cert_pem();
    let inter_der = ch.inter.der();
    for format in ["alb", "traefik", "containerApps", "rfc9440"] {
        let c = front_config(format, json!({}));
        let mut certs: Vec<(&str, &[u8])> = vec![(ch.leaf.cert_pem.as_str(), &ch.leaf.der)];
        certs.extend(std::iter::repeat_n(
            (inter_pem.as_str(), inter_der.as_slice()),
            9,
        ));
        let o = decide_lines(&c, "/app", &encode(format, &certs), TRUSTED_PEER);
        assert!(
            matches!(o.decision, Decision::Forward { .. }),
            "{format} ten: {:?}",
            o.decision
        );
        certs.push((inter_pem.as_str(), &inter_der));
        let o = decide_lines(&c, "/app", &encode(format, &certs), TRUSTED_PEER);
        assert!(malformed(&o), "{format} eleven: {:?}", o.decision);
    }
    // RFC 9440: the chain header twice, or without its certificate header.
    let c = front_config("rfc9440", json!({}));
    let chain_line = (
        "Client-Cert-Chain".to_string(),
        format!(":{}:", STANDARD.encode(&inter_der)),
    );
    let mut lines = encode("rfc9440", &[(ch.leaf.cert_pem.as_str(), &ch.leaf.der)]);
    lines.push(chain_line.clone());
    lines.push(chain_line.clone());
    assert!(malformed(&decide_lines(&c, "/app", &lines, TRUSTED_PEER)));
    assert!(malformed(&decide_lines(
        &c,
        "/app",
        &[chain_line],
        TRUSTED_PEER
    )));
}

#[test]
fn container_apps_hash_must_match_its_cert() {
    let ch = chain();
    let c = front_config("containerApps", json!({}));
    let mut lines = encode(
        "containerApps",
        &[(ch.leaf.cert_pem.as_str(), &ch.leaf.der)],
    );
    lines[0].1 = lines[0].1.replacen("Hash=", "Hash=00", 1);
    let o = decide_lines(&c, "/app", &lines, TRUSTED_PEER);
    assert!(malformed(&o), "{:?}", o.decision);
    let Decision::Deny(DenyReason::CertificateInvalid(CertError::BadHeader { header, detail })) =
        &o.decision
    else {
        panic!()
    };
    assert_eq!(header, "x-forwarded-client-cert");
    assert_eq!(detail, "its Hash is not the SHA-256 of its Cert");
}

#[test]
fn header_source_configuration_errors_name_the_field() {
    let refused = |v: Value| {
        Config::from_json(v.to_string().as_bytes())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        refused(json!({"certificateSource": "header"})),
        "header: required with certificateSource \"header\" (format, trustedProxies)"
    );
    assert_eq!(
        refused(json!({"header": {"format": "alb", "trustedProxies": ["10.0.0.0/8"]}})),
        "header: only with certificateSource \"header\"; it would be ignored"
    );
    let with = |header: Value| refused(json!({"certificateSource": "header", "header": header}));
    assert!(
        with(json!({"format": "alb"})).contains("missing field `trustedProxies`"),
        "{}",
        with(json!({"format": "alb"}))
    );
    assert_eq!(
        with(json!({"format": "alb", "trustedProxies": []})),
        "header.trustedProxies: lists no proxy: the header would never be used"
    );
    assert_eq!(
        with(json!({"format": "alb", "trustedProxies": ["10.0.0.0/8", "10.0.0.1/8"]})),
        "header.trustedProxies[1]: \"10.0.0.1/8\" has address bits set beyond its prefix length"
    );
    assert_eq!(
        with(json!({"format": "alb", "trustedProxies": ["10.0.0.0/33"]})),
        "header.trustedProxies[0]: \"10.0.0.0/33\" is not an IPv4 or IPv6 address or CIDR (10.0.0.0/8, 2001:db8::/32)"
    );
    assert_eq!(
        with(json!({"format": "nginx", "trustedProxies": ["10.0.0.1"]})),
        "header.name: required for format nginx, which has no standard header: the header your proxy writes the certificate into"
    );
    assert_eq!(
        with(json!({"format": "alb", "trustedProxies": ["10.0.0.1"], "name": "bad name"})),
        "header.name: \"bad name\" is not a usable header name"
    );
    assert!(
        with(json!({"format": "haproxy", "trustedProxies": ["10.0.0.1"]}))
            .starts_with("header.format: unknown variant `haproxy`")
    );
    // The ALB verify-mode leaf header by name; the header source never reads XFCC by default.
    let c = config(json!({"certificateSource": "header",
        "header": {"format": "alb", "trustedProxies": ["10.0.0.1"], "name": "X-Amzn-Mtls-Clientcert-Leaf"}}));
    assert_eq!(
        c.front.as_ref().unwrap().name,
        "x-amzn-mtls-clientcert-leaf"
    );
    assert!(!c.strip_xfcc);
    assert!(!c.needs.peer_certificate && !c.needs.xfcc);
}

#[test]
fn a_source_header_that_is_also_an_output_carries_the_checked_value() {
    // arr in, X-ARR-ClientCert out: the upstream sees the value the filter set (the client's
    // copy is stripped like every output), which is the checked certificate.
    let ch = chain();
    let c = front_config("arr", json!({}));
    assert!(c.forward.must_strip("X-ARR-ClientCert"));
    let lines = encode("arr", &[(ch.leaf.cert_pem.as_str(), &ch.leaf.der)]);
    let o = decide_lines(&c, "/app", &lines, TRUSTED_PEER);
    assert_eq!(
        o.decision.header("x-arr-clientcert"),
        Some(lines[0].1.as_str())
    );
    // An expired certificate from the trusted proxy is refused like any other.
    let now_t = time::OffsetDateTime::now_utc();
    let old = ch.inter.client_between(
        "old",
        now_t - time::Duration::days(9),
        now_t - time::Duration::days(1),
    );
    let o = decide_lines(
        &c,
        "/app",
        &encode("arr", &[(old.cert_pem.as_str(), &old.der)]),
        TRUSTED_PEER,
    );
    assert!(
        matches!(&o.decision, Decision::Deny(DenyReason::CertificateInvalid(e)) if e.kind() == "expired")
    );
}

#[test]
fn under_report_only_the_header_source_would_deny_instead_of_denying() {
    let ch = chain();
    let c = front_config("cloudflare", json!({"reportOnly": true}));
    let lines = encode("cloudflare", &[(ch.leaf.cert_pem.as_str(), &ch.leaf.der)]);
    let o = decide_lines(&c, "/app", &lines, UNTRUSTED_PEER);
    assert_eq!(
        o.decision,
        Decision::Pass(PassReason::ReportOnly(DenyReason::CertificateRequired))
    );
    assert!(o.untrusted_peer.is_some());
    let mut doubled = lines.clone();
    doubled.push(lines[0].clone());
    let o = decide_lines(&c, "/app", &doubled, TRUSTED_PEER);
    assert!(
        matches!(&o.decision, Decision::Pass(PassReason::ReportOnly(DenyReason::CertificateInvalid(e))) if e.kind() == "malformed"),
        "{:?}",
        o.decision
    );
}

/// Issue 20, item 8: the verdict cache keys a leaf and its chain unambiguously. One header
/// "certificate" whose bytes are the leaf and the intermediate back to back is the leaf with
/// trailing data, malformed, even right after `(leaf, [intermediate])` was judged and cached
/// (the key used to be the SHA-256 of the concatenation, the same for both).
#[test]
fn a_leaf_with_trailing_data_never_hits_the_verdict_of_its_leaf_and_chain() {
    let ch = chain();
    let inter_der = ch.inter.der();
    let glued: Vec<u8> = [ch.leaf.der.as_slice(), inter_der.as_slice()].concat();
    for format in ["traefik", "rfc9440", "alb"] {
        let c = front_config(
            format,
            json!({"validation": {"trustedCaCertificates": [ch.root.cert_pem()]}}),
        );
        let mut cache = VerdictCache::new(8);
        let mut decide_in = |lines: &[(String, String)]| {
            decide_lines_in(&c, "/app", lines, TRUSTED_PEER, &mut cache)
        };
        let inter_pem = ch.inter.cert_pem();
        // The header lines for the leaf and then these certificates.
        let leaf_and = |rest: &[(&str, &[u8])]| {
            encode(
                format,
                &[&[(ch.leaf.cert_pem.as_str(), &ch.leaf.der[..])], rest].concat(),
            )
        };
        let pair = leaf_and(&[(inter_pem.as_str(), &inter_der)]);
        let o = decide_in(&pair);
        assert!(
            matches!(o.decision, Decision::Forward { .. }),
            "{format}: {:?}",
            o.decision
        );
        assert_eq!(o.cache, CacheUse::Miss);
        // The same pair again: from the cache.
        assert_eq!(decide_in(&pair).cache, CacheUse::Hit, "{format}");
        // One certificate, the two DERs glued together.
        let glued_pem = pem_of(&glued);
        let one = encode(format, &[(glued_pem.as_str(), &glued)]);
        let o = decide_in(&one);
        assert!(
            matches!(
                &o.decision,
                Decision::Deny(DenyReason::CertificateInvalid(CertError::TrailingData { len }))
                    if *len == inter_der.len()
            ),
            "{format}: the glued certificate is the leaf with trailing data, whatever the cache \
             holds: {:?}",
            o.decision
        );
        assert_eq!(o.cache, CacheUse::Miss, "{format}: no cached verdict used");
        // Inside the chain too: (leaf, [inter, root]) judged, then (leaf, [inter || root]),
        // whose second certificate is not one (the intermediate with trailing data).
        let root_pem = ch.root.cert_pem();
        let root_der = ch.root.der();
        let three = leaf_and(&[
            (inter_pem.as_str(), &inter_der),
            (root_pem.as_str(), &root_der),
        ]);
        assert!(matches!(
            decide_in(&three).decision,
            Decision::Forward { .. }
        ));
        let glued_chain: Vec<u8> = [inter_der.as_slice(), root_der.as_slice()].concat();
        let glued_chain_pem = pem_of(&glued_chain);
        let two = leaf_and(&[(glued_chain_pem.as_str(), &glued_chain)]);
        let o = decide_in(&two);
        assert_eq!(
            o.cache,
            CacheUse::Miss,
            "{format}: another chain, another key"
        );
        assert!(
            malformed(&o),
            "{format}: the glued intermediate is no certificate (webpki: trailing data): {:?}",
            o.decision
        );
        // And the other way round, on a fresh cache: the glued one first, then the pair.
        let mut cache = VerdictCache::new(8);
        let o = decide_lines_in(&c, "/app", &one, TRUSTED_PEER, &mut cache);
        assert!(malformed(&o), "{format}: {:?}", o.decision);
        assert!(
            cache.is_empty(),
            "{format}: nothing cached for a malformed certificate"
        );
    }
}

/// Issue 20, item 10: a `trustedProxies` entry that covers every address of a family, or all
/// of the IPv4-mapped space (which is every IPv4 peer), trusts every client with the header.
#[test]
fn catch_all_trusted_proxies_are_refused() {
    let refused = |entries: Value| {
        Config::from_json(
            json!({"certificateSource": "header",
                   "header": {"format": "alb", "trustedProxies": entries}})
            .to_string()
            .as_bytes(),
        )
        .map(|_| ())
        .unwrap_err()
        .to_string()
    };
    for (entry, what) in [
        ("0.0.0.0/0", "every IPv4 address"),
        ("::ffff:0:0/96", "every IPv4 address"),
        ("::ffff:0.0.0.0/96", "every IPv4 address"),
        ("::/80", "every IPv4 address"),
        ("::/1", "every IPv4 address"),
        ("::/0", "every IPv6 and IPv4 address"),
    ] {
        assert_eq!(
            refused(json!(["10.0.0.0/8", entry])),
            format!(
                "header.trustedProxies[1]: {entry:?} trusts {what}: any client could hand over a \
                 certificate header; list the proxies' own addresses"
            ),
            "{entry}"
        );
    }
    // Wide but not everything: accepted (lint warns about them).
    for entry in [
        "0.0.0.0/1",
        "128.0.0.0/1",
        "::ffff:0:0/97",
        "::/96",
        "8000::/1",
        "2000::/3",
        "10.0.0.0/8",
    ] {
        let c = Config::from_json(
            json!({"certificateSource": "header",
                   "header": {"format": "alb", "trustedProxies": [entry]}})
            .to_string()
            .as_bytes(),
        );
        assert!(c.is_ok(), "{entry}: {:?}", c.err());
    }
}
