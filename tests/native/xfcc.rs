//! XFCC: the parser, and the certificate source built on it, including injection attempts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use client_cert_auth::CertError;
use client_cert_auth::Config;
use client_cert_auth::{Decision, DenyReason, Request};
use client_cert_auth::{XfccError, envoy_url_encode, parse_single};
use serde_json::json;
use sha2::{Digest, Sha256};
use testkit::core::{config, decide_fresh, hex_lower, now};
use testkit::pki::{Alg, Ca};

#[test]
fn parser_follows_envoys_quoting_rules() {
    let e =
        parse_single(br#"By=spiffe://a;Hash=ab12;Subject="CN=x,O=y";URI=;DNS=d.example"#).unwrap();
    assert_eq!(e.get("by"), Some("spiffe://a"));
    assert_eq!(e.get("HASH"), Some("ab12"));
    assert_eq!(e.get("subject"), Some("CN=x,O=y"));
    assert_eq!(e.get("uri"), Some(""));
    assert_eq!(e.get("cert"), None);
    let e = parse_single(br#"Subject="a \"quoted\" ; value, with = signs""#).unwrap();
    assert_eq!(
        e.get("subject"),
        Some(r#"a "quoted" ; value, with = signs"#)
    );
}

#[test]
fn parser_rejects_every_ambiguity() {
    let table: [(&[u8], XfccError); 10] = [
        (b"", XfccError::Empty),
        (b"Hash=a,Hash=b", XfccError::SeveralElements(2)),
        (
            b"Hash=a;Cert=\"x\",By=evil;Cert=\"y\"",
            XfccError::SeveralElements(2),
        ),
        (
            b"Cert=\"a\";Cert=\"b\"",
            XfccError::DuplicateKey("cert".into()),
        ),
        (b"cert=a;CERT=b", XfccError::DuplicateKey("cert".into())),
        (b"Subject=\"unbalanced", XfccError::UnbalancedQuote),
        (b"Subject=a\"b\"", XfccError::StrayQuote),
        (b"Subject=\"a\"b", XfccError::StrayQuote),
        (b"Hash", XfccError::MissingEquals),
        (b"=x", XfccError::EmptyKey),
    ];
    for (value, err) in table {
        assert_eq!(
            parse_single(value),
            Err(err),
            "{}",
            String::from_utf8_lossy(value)
        );
    }
}

fn decide_xfcc(
    config: &Config,
    xfcc: Option<&str>,
    mtls: Option<bool>,
    digest: Option<&str>,
) -> Decision {
    decide_fresh(
        config,
        Request {
            xfcc: xfcc.map(str::as_bytes),
            mtls,
            peer_digest: digest.map(str::as_bytes),
            now: now(),
            ..Request::default()
        },
    )
    .decision
}

fn untrusted(d: &Decision) -> bool {
    matches!(
        d,
        Decision::Deny(DenyReason::CertificateInvalid(
            CertError::XfccUntrusted { .. }
        ))
    )
}

#[test]
fn xfcc_source_forwards_a_bound_certificate_and_refuses_what_cannot_be_trusted() {
    let ca = Ca::new("xfcc CA");
    let leaf = ca.client("alice");
    let other = ca.client("mallory");
    let c = Config::from_json(br#"{"certificateSource": "xfcc"}"#).unwrap();
    assert!(
        c.strip_xfcc,
        "XFCC is stripped by default when it is the source"
    );
    let sha = hex_lower(&Sha256::digest(&leaf.der));
    let good = format!(
        "By=spiffe://gw;Hash={sha};Cert=\"{}\";Subject=\"CN=alice\"",
        envoy_url_encode(&leaf.cert_pem)
    );

    let d = decide_xfcc(&c, Some(&good), Some(true), Some(&sha));
    assert_eq!(
        d.header("x-arr-clientcert"),
        Some(
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &leaf.der).as_str()
        )
    );
    assert!(
        matches!(
            decide_xfcc(&c, Some(&good), Some(true), None),
            Decision::Forward { .. }
        ),
        "no digest available"
    );

    // XFCC on a connection without a client certificate: not written by a SANITIZE_SET manager.
    assert!(untrusted(&decide_xfcc(&c, Some(&good), Some(false), None)));
    assert!(untrusted(&decide_xfcc(&c, Some(&good), None, None)));
    // The connection's own certificate is another one.
    let other_sha = hex_lower(&Sha256::digest(&other.der));
    assert!(untrusted(&decide_xfcc(
        &c,
        Some(&good),
        Some(true),
        Some(&other_sha)
    )));
    // Hash does not match Cert.
    let wrong_hash = good.replace(&sha, &other_sha);
    assert!(untrusted(&decide_xfcc(
        &c,
        Some(&wrong_hash),
        Some(true),
        None
    )));
    // Injection: a second element, a second Cert, a Cert smuggled inside a quoted value.
    let two = format!("{good},Cert=\"{}\"", envoy_url_encode(&other.cert_pem));
    assert!(untrusted(&decide_xfcc(&c, Some(&two), Some(true), None)));
    let dup = format!("{good};Cert=\"{}\"", envoy_url_encode(&other.cert_pem));
    assert!(untrusted(&decide_xfcc(&c, Some(&dup), Some(true), None)));
    let smuggled = format!("Subject=\"x;Cert={}\"", envoy_url_encode(&other.cert_pem));
    assert!(
        untrusted(&decide_xfcc(&c, Some(&smuggled), Some(true), None)),
        "no Cert key at all"
    );
    // No XFCC: no certificate, unless the connection says one was presented.
    assert_eq!(
        decide_xfcc(&c, None, Some(false), None),
        Decision::Deny(DenyReason::CertificateRequired)
    );
    assert!(matches!(
        decide_xfcc(&c, None, Some(true), None),
        Decision::Deny(DenyReason::CertificateInvalid(CertError::NotVisible { .. }))
    ));
}

#[test]
fn xfcc_chain_serves_as_intermediates_for_the_trust_check() {
    let root = Ca::root("xfcc root", Alg::EcdsaP384);
    let inter = root.intermediate("xfcc issuing", Alg::EcdsaP256);
    let leaf = inter.client("alice");
    let config = json!({
        "certificateSource": "xfcc",
        "validation": {"validateTrust": true, "trustedCaCertificates": [root.cert_pem()]}
    });
    let c = Config::from_json(config.to_string().as_bytes()).unwrap();
    let without = format!("Cert=\"{}\"", envoy_url_encode(&leaf.cert_pem));
    assert!(matches!(
        decide_xfcc(&c, Some(&without), Some(true), None),
        Decision::Deny(DenyReason::CertificateInvalid(CertError::Untrusted { .. }))
    ));
    // Envoy's Chain holds the whole chain, leaf first.
    let chain = format!("{}{}", leaf.cert_pem, inter.cert_pem());
    let with = format!(
        "Cert=\"{}\";Chain=\"{}\"",
        envoy_url_encode(&leaf.cert_pem),
        envoy_url_encode(&chain)
    );
    assert!(matches!(
        decide_xfcc(&c, Some(&with), Some(true), None),
        Decision::Forward { .. }
    ));
}

#[test]
fn auto_source_prefers_the_connection_property() {
    let ca = Ca::new("auto CA");
    let [leaf, other] = ["alice", "bob"].map(|name| ca.client(name));
    let c = config(json!({"certificateSource": "auto"}));
    let xfcc = format!("Cert=\"{}\"", envoy_url_encode(&other.cert_pem));
    let d = decide_fresh(
        &c,
        Request {
            peer_certificate: Some(leaf.cert_pem.as_bytes()),
            xfcc: Some(xfcc.as_bytes()),
            mtls: Some(true),
            now: now(),
            ..Request::default()
        },
    )
    .decision;
    assert_eq!(
        d.header("x-arr-clientcert"),
        Some(
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &leaf.der).as_str()
        )
    );
    assert!(matches!(
        decide_xfcc(&c, Some(&xfcc), Some(true), None),
        Decision::Forward { .. }
    ));
}

#[test]
fn connection_source_denies_a_certificate_it_cannot_see() {
    let c = Config::default();
    assert!(matches!(
        decide_xfcc(&c, None, Some(true), None),
        Decision::Deny(DenyReason::CertificateInvalid(CertError::NotVisible { .. }))
    ));
    assert_eq!(
        decide_xfcc(&c, None, Some(false), None),
        Decision::Deny(DenyReason::CertificateRequired)
    );
}
