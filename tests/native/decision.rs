//! The decision table: mode x path x certificate -> pass, forward or deny.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use client_cert_auth::{
    CacheUse, CertError, Config, Decision, DenyReason, HostCall, Inputs, PassReason, Property,
    Reason, Request, VerdictCache, decide,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::cell::RefCell;
use testkit::core::{config, decide_fresh, denied_for, hex_lower};
use testkit::pki::{Alg, Ca, Leaf, unix};
use time::{Duration, OffsetDateTime};

struct Fixture {
    valid: Leaf,
    expired: Leaf,
    now: i64,
}

fn fixture() -> Fixture {
    let ca = Ca::new("decision CA");
    let now = OffsetDateTime::now_utc();
    Fixture {
        valid: ca.client("alice"),
        expired: ca.client_between("old", now - Duration::days(10), now - Duration::days(1)),
        now: unix(now),
    }
}

#[derive(Clone, Copy, Debug)]
enum Cert {
    None,
    Valid,
    Expired,
    Garbage,
}

#[derive(Debug, PartialEq)]
enum Expect {
    Pass,
    Forward,
    DenyRequired,
    DenyInvalid,
}

fn run(config: &Config, f: &Fixture, path: &str, cert: Cert) -> Decision {
    run_with(config, f, path, cert, &mut VerdictCache::new(16))
}

fn run_with(
    config: &Config,
    f: &Fixture,
    path: &str,
    cert: Cert,
    cache: &mut VerdictCache,
) -> Decision {
    let pem = match cert {
        Cert::None => None,
        Cert::Valid => Some(f.valid.cert_pem.as_bytes()),
        Cert::Expired => Some(f.expired.cert_pem.as_bytes()),
        Cert::Garbage => {
            Some(&b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"[..])
        }
    };
    decide(
        config,
        &mut Request {
            path: path.as_bytes(),
            peer_certificate: pem,
            now: f.now,
            ..Request::default()
        },
        cache,
    )
    .decision
}

fn classify(d: &Decision, f: &Fixture) -> Expect {
    match d {
        Decision::Pass(_) => Expect::Pass,
        Decision::Forward { .. } => {
            assert_eq!(
                d.header("X-ARR-ClientCert"),
                Some(STANDARD.encode(&f.valid.der).as_str())
            );
            Expect::Forward
        }
        Decision::Deny(DenyReason::CertificateRequired) => Expect::DenyRequired,
        Decision::Deny(DenyReason::CertificateInvalid(_)) => Expect::DenyInvalid,
        Decision::Deny(other) => panic!("unexpected {other:?}"),
    }
}

#[test]
fn decision_table_mode_by_path_by_certificate() {
    use Cert::*;
    use Expect::*;
    let f = fixture();
    let excl = r#""clientCertExclusionPaths": "/public""#;
    let modes = [
        (
            "Required",
            format!(r#"{{"clientCertMode": "Required", {excl}}}"#),
        ),
        (
            "Optional",
            format!(r#"{{"clientCertMode": "Optional", {excl}}}"#),
        ),
        (
            "OptionalInteractiveUser",
            format!(r#"{{"clientCertMode": "OptionalInteractiveUser", {excl}}}"#),
        ),
        (
            "Ignore",
            format!(r#"{{"clientCertMode": "Ignore", {excl}}}"#),
        ),
        (
            "Disabled",
            format!(r#"{{"clientCertEnabled": false, {excl}}}"#),
        ),
    ];
    // (mode, path, certificate) -> expected
    let table = [
        ("Required", "/app", None, DenyRequired),
        ("Required", "/app", Valid, Forward),
        ("Required", "/app", Expired, DenyInvalid),
        ("Required", "/app", Garbage, DenyInvalid),
        ("Required", "/public/x", None, Pass),
        ("Required", "/public/x", Valid, Forward),
        ("Required", "/public/x", Expired, Pass),
        ("Required", "/public/x", Garbage, Pass),
        ("Required", "/public/../app", None, DenyRequired),
        ("Required", "/publicity", None, DenyRequired),
        ("Optional", "/app", None, Pass),
        ("Optional", "/app", Valid, Forward),
        ("Optional", "/app", Expired, DenyInvalid),
        ("Optional", "/app", Garbage, DenyInvalid),
        ("Optional", "/public", Expired, Pass),
        ("Optional", "/public", Valid, Forward),
        ("OptionalInteractiveUser", "/app", None, Pass),
        ("OptionalInteractiveUser", "/app", Valid, Forward),
        ("OptionalInteractiveUser", "/app", Expired, DenyInvalid),
        ("OptionalInteractiveUser", "/public", Garbage, Pass),
        ("Ignore", "/app", None, Pass),
        ("Ignore", "/app", Valid, Pass),
        ("Ignore", "/app", Expired, Pass),
        ("Disabled", "/app", None, Pass),
        ("Disabled", "/app", Valid, Pass),
        ("Disabled", "/app", Garbage, Pass),
    ];
    for (mode, path, cert, expected) in table {
        let json = &modes.iter().find(|(m, _)| *m == mode).unwrap().1;
        let config = Config::from_json(json.as_bytes()).unwrap();
        let decision = run(&config, &f, path, cert);
        assert_eq!(
            classify(&decision, &f),
            expected,
            "{mode} {path} {cert:?}: {decision:?}"
        );
    }
}

#[test]
fn missing_certificate_in_required_mode_is_denied_with_401_certificate_required() {
    let f = fixture();
    let d = run(&Config::default(), &f, "/", Cert::None);
    let Decision::Deny(reason) = d else {
        panic!("{d:?}")
    };
    let reply = Config::default().reply(&reason).clone();
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body, "client certificate required\n");
}

#[test]
fn expired_certificate_is_rejected_with_401_and_the_expiry_reason() {
    let f = fixture();
    let d = run(&Config::default(), &f, "/", Cert::Expired);
    let Decision::Deny(DenyReason::CertificateInvalid(CertError::Expired { now, .. })) = &d else {
        panic!("{d:?}")
    };
    assert_eq!(*now, f.now);
    let Decision::Deny(reason) = d else {
        unreachable!()
    };
    let reply = Config::default().reply(&reason).clone();
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body, "client certificate invalid\n");
    assert!(reason.describe().contains("(expired)"));
}

#[test]
fn invalid_certificate_on_an_excluded_path_passes_without_the_header() {
    let f = fixture();
    let config = Config::from_json(br#"{"clientCertExclusionPaths": "/public"}"#).unwrap();
    let d = run(&config, &f, "/public", Cert::Expired);
    assert!(
        matches!(
            d,
            Decision::Pass(PassReason::InvalidCertificateExcluded(
                CertError::Expired { .. }
            ))
        ),
        "{d:?}"
    );
}

#[test]
fn host_failure_replies_500_and_never_passes() {
    let reason = DenyReason::HostFailure(HostCall::Clock);
    assert_eq!(Config::default().reply(&reason).status, 500);
    assert!(reason.describe().contains("the clock"));
}

#[test]
fn second_request_with_the_same_certificate_is_a_cache_hit_with_the_same_decision() {
    let f = fixture();
    let config = Config::default();
    let mut cache = VerdictCache::new(16);
    let first = run_with(&config, &f, "/", Cert::Valid, &mut cache);
    assert_eq!((cache.hits(), cache.misses(), cache.len()), (0, 1, 1));
    let second = run_with(&config, &f, "/", Cert::Valid, &mut cache);
    assert_eq!((cache.hits(), cache.misses(), cache.len()), (1, 1, 1));
    assert_eq!(first, second);
    assert!(matches!(second, Decision::Forward { .. }));
}

#[test]
fn cached_certificate_still_has_its_dates_checked_on_every_request() {
    let f = fixture();
    let config = Config::default();
    let mut cache = VerdictCache::new(16);
    let pem = f.valid.cert_pem.as_bytes();
    let at = |now: i64, cache: &mut VerdictCache| {
        decide(
            &config,
            &mut Request {
                path: b"/",
                peer_certificate: Some(pem),
                now,
                ..Request::default()
            },
            cache,
        )
        .decision
    };
    assert!(matches!(at(f.now, &mut cache), Decision::Forward { .. }));
    let later = f.now + 400 * 24 * 3600;
    let d = at(later, &mut cache);
    assert_eq!(cache.hits(), 1, "the verdict came from the cache");
    assert!(
        matches!(
            d,
            Decision::Deny(DenyReason::CertificateInvalid(CertError::Expired { .. }))
        ),
        "{d:?}"
    );
}

#[test]
fn cache_is_bounded_and_can_be_turned_off() {
    let ca = Ca::new("bounded");
    let now = unix(OffsetDateTime::now_utc());
    let leaves: Vec<Leaf> = (0..5).map(|i| ca.client(&format!("c{i}"))).collect();
    let config = Config::default();
    for (capacity, expected_len) in [(3, 3), (0, 0)] {
        let mut cache = VerdictCache::new(capacity);
        for leaf in &leaves {
            let d = decide(
                &config,
                &mut Request {
                    path: b"/",
                    peer_certificate: Some(leaf.cert_pem.as_bytes()),
                    now,
                    ..Request::default()
                },
                &mut cache,
            )
            .decision;
            assert!(matches!(d, Decision::Forward { .. }));
        }
        assert_eq!(cache.len(), expected_len, "capacity {capacity}");
        assert_eq!(cache.misses(), 5);
    }
}

#[test]
fn a_cached_certificate_is_decided_from_the_connection_digest_alone() {
    let f = fixture();
    let config = Config::default();
    let mut cache = VerdictCache::new(16);
    let digest = hex_lower(&Sha256::digest(&f.valid.der));
    // Only the digest: no certificate in the request.
    let by_digest_at = |config: &Config, cache: &mut VerdictCache, digest: &str, now: i64| {
        decide(
            config,
            &mut Request {
                peer_digest: Some(digest.as_bytes()),
                now,
                ..Request::default()
            },
            cache,
        )
    };
    let by_digest =
        |cache: &mut VerdictCache, digest: &str| by_digest_at(&config, cache, digest, f.now);
    let first = by_digest(&mut cache, &digest);
    assert_eq!(
        (first.cache, first.decision),
        (
            CacheUse::NotConsulted,
            Decision::Deny(DenyReason::CertificateRequired)
        ),
        "not cached yet: without the certificate there is nothing to judge"
    );
    let full = run_with(&config, &f, "/", Cert::Valid, &mut cache);
    let fast = by_digest(&mut cache, &digest);
    assert_eq!(fast.cache, CacheUse::Hit, "decided from the cache");
    assert_eq!(fast.decision, full);
    assert_eq!(
        fast.certificate_sha256.map(|d| d.to_vec()),
        Some(Sha256::digest(&f.valid.der).to_vec())
    );
    assert_eq!(
        by_digest(&mut cache, &digest.to_uppercase()).cache,
        CacheUse::Hit,
        "hex case does not matter"
    );
    assert_ne!(
        by_digest(&mut cache, &"0".repeat(64)).cache,
        CacheUse::Hit,
        "another certificate"
    );
    assert_ne!(
        by_digest(&mut cache, "abc").cache,
        CacheUse::Hit,
        "not a digest"
    );
    // Later than the certificate's notAfter: the cached entry still has its dates checked.
    let late = by_digest_at(&config, &mut cache, &digest, f.now + 400 * 86_400);
    assert_eq!(late.cache, CacheUse::Hit);
    assert!(matches!(
        late.decision,
        Decision::Deny(DenyReason::CertificateInvalid(CertError::Expired { .. }))
    ));
    let xfcc = Config::from_json(br#"{"certificateSource": "xfcc"}"#).unwrap();
    assert_eq!(
        by_digest_at(&xfcc, &mut cache, &digest, f.now).cache,
        CacheUse::NotConsulted,
        "the XFCC source always reads the header"
    );
}

/// A certificate that does not parse is still named by its digest, and was judged afresh.
#[test]
fn an_unparsable_certificate_is_named_by_its_digest_and_judged_afresh() {
    let f = fixture();
    let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let outcome = decide_fresh(
        &Config::default(),
        Request {
            peer_certificate: Some(garbage.as_bytes()),
            now: f.now,
            ..Request::default()
        },
    );
    assert_eq!(denied_for(&outcome.decision), Some(Reason::Malformed));
    let der = [0u8; 3]; // base64 "AAAA"
    let sha256: [u8; 32] = Sha256::digest(der).into();
    assert_eq!(outcome.certificate_sha256, Some(sha256));
    assert_eq!(outcome.cache, CacheUse::Miss);
}

/// `connection.mtls` says a certificate was presented that the configured source does not
/// show: the denial says which source is missing, so the operator knows what to configure.
#[test]
fn a_certificate_the_filter_cannot_see_is_denied_naming_the_missing_source() {
    for (source, detail) in [
        ("connection", "connection.peer_certificate is absent"),
        ("xfcc", "there is no x-forwarded-client-cert"),
        ("auto", "there is no x-forwarded-client-cert"),
    ] {
        let c = config(json!({"certificateSource": source}));
        let outcome = decide_fresh(
            &c,
            Request {
                mtls: Some(true),
                ..Request::default()
            },
        );
        match &outcome.decision {
            Decision::Deny(DenyReason::CertificateInvalid(CertError::NotVisible { detail: d })) => {
                assert!(d.contains(detail), "{source}: {d}");
            }
            other => panic!("{source}: {other:?}"),
        }
        let without = decide_fresh(&c, Request::default()).decision;
        assert_eq!(
            without,
            Decision::Deny(DenyReason::CertificateRequired),
            "{source}: no certificate presented"
        );
    }
}

/// Intermediates presented beside the leaf (the command-line tool's `--chain`) serve the trust
/// check, and they are part of the cache key: the same leaf with another chain is judged again,
/// never answered from the connection digest.
#[test]
fn a_presented_chain_serves_the_trust_check_and_keys_the_cache() {
    let root = Ca::root("root", Alg::EcdsaP256);
    let inter = root.intermediate("issuing", Alg::EcdsaP256);
    let leaf = inter.client_with("alice", Alg::EcdsaP256, |_| {});
    let c = config(json!({
        "validation": {"validateTrust": true, "trustedCaCertificates": [root.cert_pem()]}
    }));
    let digest = hex_lower(&Sha256::digest(&leaf.der));
    let now = unix(OffsetDateTime::now_utc());
    let mut cache = VerdictCache::new(16);
    let mut run = |chain: &[Vec<u8>]| {
        decide(
            &c,
            &mut Request {
                peer_certificate: Some(leaf.cert_pem.as_bytes()),
                peer_digest: Some(digest.as_bytes()),
                chain,
                now,
                ..Request::default()
            },
            &mut cache,
        )
    };
    let alone = run(&[]);
    assert_eq!(denied_for(&alone.decision), Some(Reason::Untrusted));
    let chain = [inter.der()];
    let with_chain = run(&chain);
    assert!(
        matches!(with_chain.decision, Decision::Forward { .. }),
        "{:?}",
        with_chain.decision
    );
    assert_eq!(
        with_chain.cache,
        CacheUse::Miss,
        "another chain, another key"
    );
    assert_eq!(run(&chain).cache, CacheUse::Hit);
    let sha256: [u8; 32] = Sha256::digest(&leaf.der).into();
    assert_eq!(
        with_chain.certificate_sha256,
        Some(sha256),
        "the leaf's digest"
    );
}

/// Inputs that record what the decision asked for, in order.
struct Recording<'a> {
    request: Request<'a>,
    asked: RefCell<Vec<String>>,
}

impl Inputs for Recording<'_> {
    fn header(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        self.asked.borrow_mut().push(name.to_string());
        self.request
            .header(name)
            .map(|v| Cow::Owned(v.into_owned()))
    }
    fn property(&mut self, property: Property) -> Result<Option<Vec<u8>>, HostCall> {
        self.asked.borrow_mut().push(format!("{property:?}"));
        self.request.property(property)
    }
    fn now(&mut self) -> Result<i64, HostCall> {
        self.asked.borrow_mut().push("now".to_string());
        self.request.now()
    }
    fn presented_chain(&self) -> &[Vec<u8>] {
        self.request.presented_chain()
    }
}

/// The decision reads only what the configuration and the answers so far need: the request line
/// only for exclusions and rules that look at it, XFCC only where the source takes it and no
/// connection certificate is in hand, `connection.mtls` only without a certificate or beside
/// XFCC, the clock once.
#[test]
fn decide_asks_only_for_the_inputs_it_needs() {
    let f = fixture();
    let pem = f.valid.cert_pem.as_bytes();
    let xfcc = b"Hash=00;Cert=\"x\"".as_slice();
    let table = [
        (
            json!({}),
            Some(pem),
            None,
            &["PeerCertificateDigest", "PeerCertificate", "now"][..],
        ),
        (
            json!({}),
            None,
            Some(xfcc),
            &["PeerCertificateDigest", "PeerCertificate", "Mtls"][..],
        ),
        (
            json!({"certificateSource": "auto"}),
            Some(pem),
            Some(xfcc),
            &["PeerCertificateDigest", "PeerCertificate", "now"][..],
        ),
        (
            json!({"certificateSource": "auto"}),
            None,
            None,
            &[
                "PeerCertificateDigest",
                "PeerCertificate",
                "x-forwarded-client-cert",
                "Mtls",
            ][..],
        ),
        (
            json!({"certificateSource": "xfcc"}),
            Some(pem),
            Some(xfcc),
            &["x-forwarded-client-cert", "Mtls", "PeerCertificateDigest"][..],
        ),
        (
            json!({"clientCertExclusionPaths": "/public"}),
            Some(pem),
            None,
            &[":path", "PeerCertificateDigest", "PeerCertificate", "now"][..],
        ),
        (
            json!({"rules": [{"hosts": ["a.test"], "methods": ["GET"], "mode": "Required"}]}),
            Some(pem),
            None,
            &[
                ":path",
                ":method",
                // A method-override header makes the method ambiguous: read from the snapshot.
                "x-http-method-override",
                "x-method-override",
                "x-http-method",
                ":authority",
                "PeerCertificateDigest",
                "PeerCertificate",
                "now",
            ][..],
        ),
        (
            json!({"rules": [{"routeNames": ["docs"], "mode": "Ignore"}]}),
            Some(pem),
            None,
            &[
                "RouteName",
                ":path",
                "PeerCertificateDigest",
                "PeerCertificate",
                "now",
            ][..],
        ),
        (
            json!({"clientCertMode": "Ignore"}),
            Some(pem),
            Some(xfcc),
            &[][..],
        ),
    ];
    for (json, peer_certificate, xfcc, expected) in table {
        let c = config(json.clone());
        let mut inputs = Recording {
            request: Request {
                peer_certificate,
                xfcc,
                now: f.now,
                ..Request::default()
            },
            asked: RefCell::new(Vec::new()),
        };
        decide(&c, &mut inputs, &mut VerdictCache::new(4));
        assert_eq!(inputs.asked.into_inner(), expected, "{json}");
    }
}
