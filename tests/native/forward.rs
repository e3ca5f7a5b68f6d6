//! Forwarding formats and local replies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use client_cert_auth::CertError;
use client_cert_auth::Config;
use client_cert_auth::{Decision, DenyReason, HostCall, Outcome};
use rcgen::SerialNumber;
use serde_json::json;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use testkit::core::nginx_escaped;
use testkit::core::{config, hex_upper, now, run_at};
use testkit::pki::{Ca, unix};
use time::{Duration, OffsetDateTime};

fn run(c: &Config, path: &str, pem: Option<&str>) -> Outcome {
    run_at(c, path, pem, now())
}

/// A client certificate of `ca` valid for the nine days until yesterday.
fn expired_of(ca: &Ca) -> testkit::pki::Leaf {
    let now = OffsetDateTime::now_utc();
    ca.client_between("old", now - Duration::days(9), now - Duration::days(1))
}

/// The headers set on a request that passes, by name.
fn pass_headers(o: &Outcome) -> Vec<(String, String)> {
    o.pass_headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect()
}

/// Asserts a client-sent copy of each of these headers is removed under `c`.
#[track_caller]
fn assert_stripped(c: &Config, names: &[&str]) {
    let strip: Vec<&str> = c.forward.strip_list().iter().map(|s| &**s).collect();
    for name in names {
        assert!(strip.contains(name), "{name} stripped");
    }
}

#[test]
fn every_format_carries_the_same_certificate() {
    let ca = Ca::new("Fwd CA");
    let nb = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let leaf = ca.client_with("alice", testkit::pki::Alg::EcdsaP256, |p| {
        p.serial_number = Some(SerialNumber::from_slice(&[0x0a, 0xbc]));
        p.not_before = nb;
        p.not_after = nb + Duration::days(3650);
        p.distinguished_name
            .push(rcgen::DnType::OrganizationalUnitName, "R&D, \"West\"\u{7}");
    });
    let c = config(json!({
        "forward": {"arrHeaderName": "X-Client-Certificate", "rfc9440": true, "infoHeaders": true, "infoHeaderPrefix": "X-Cert-"}
    }));
    let d = run_at(&c, "/", Some(&leaf.cert_pem), unix(nb) + 86_400).decision;
    let b64 = STANDARD.encode(&leaf.der);
    assert_eq!(d.header("x-client-certificate"), Some(b64.as_str()));
    assert_eq!(d.header("x-arr-clientcert"), None, "renamed");
    assert_eq!(d.header("client-cert"), Some(format!(":{b64}:").as_str()));
    assert_eq!(
        d.header("client-cert-chain"),
        None,
        "no chain from the connection"
    );
    assert_eq!(
        d.header("x-cert-subject"),
        Some("OU=R&D\\, \\\"West\\\"\\07,O=client-cert-auth demo,CN=alice")
    );
    assert_eq!(
        d.header("x-cert-issuer"),
        Some("O=client-cert-auth demo,CN=Fwd CA")
    );
    assert_eq!(d.header("x-cert-serial"), Some("0ABC"));
    assert_eq!(
        d.header("x-cert-sha1"),
        Some(hex_upper(&Sha1::digest(&leaf.der)).as_str())
    );
    assert_eq!(
        d.header("x-cert-sha256"),
        Some(hex_upper(&Sha256::digest(&leaf.der)).as_str())
    );
    assert_eq!(d.header("x-cert-not-before"), Some("2027-01-15T08:00:00Z"));
    assert_eq!(d.header("x-cert-verify"), Some("SUCCESS"));
    let Decision::Forward { headers } = &d else {
        panic!()
    };
    for (name, value) in headers.iter() {
        assert!(
            value.bytes().all(|b| (0x20..0x7f).contains(&b)),
            "{name}: {value:?} is not a safe value"
        );
    }
    // Every name this configuration can set is stripped from client requests, and the Azure
    // default too.
    assert_stripped(
        &c,
        &[
            "x-client-certificate",
            "x-arr-clientcert",
            "client-cert",
            "client-cert-chain",
            "x-cert-subject",
            "x-cert-verify",
            "x-cert-sha256",
        ],
    );
}

#[test]
fn verification_header_says_none_or_failed_on_passes() {
    let ca = Ca::new("v CA");
    let expired = expired_of(&ca);
    let c = config(json!({
        "clientCertMode": "Optional",
        "clientCertExclusionPaths": "/public",
        "forward": {"infoHeaders": true}
    }));
    let verify = |o: &Outcome| {
        o.pass_headers
            .iter()
            .find(|(n, _)| &**n == "x-client-cert-verify")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(verify(&run(&c, "/app", None)).as_deref(), Some("NONE"));
    let o = run(&c, "/public", Some(&expired.cert_pem));
    assert!(matches!(o.decision, Decision::Pass(_)));
    assert_eq!(verify(&o).as_deref(), Some("FAILED:expired"));
    let plain = config(json!({"clientCertMode": "Optional"}));
    assert!(
        run(&plain, "/app", None).pass_headers.is_empty(),
        "off by default"
    );
}

#[test]
fn responses_follow_presets_classes_and_specific_reasons() {
    let expired = DenyReason::CertificateInvalid(CertError::Expired {
        not_after: 0,
        now: 1,
    });
    let untrusted = DenyReason::CertificateInvalid(CertError::Untrusted {
        detail: String::new(),
    });
    let missing = DenyReason::CertificateRequired;

    let d = Config::default();
    assert_eq!(
        (d.reply(&missing).status, d.reply(&missing).body.as_str()),
        (401, "client certificate required\n")
    );

    let app = config(json!({"responses": {"preset": "appService"}}));
    assert_eq!(app.reply(&missing).status, 403, "App Service's front end");
    assert_eq!(app.reply(&missing).body, "Client Certificate Required\n");
    assert_eq!(app.reply(&expired).status, 401);

    let apim = config(json!({"responses": {"preset": "apim"}}));
    let r = apim.reply(&expired);
    assert_eq!(r.status, 401);
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        body,
        json!({"statusCode": 401, "message": "Invalid client certificate"})
    );
    assert_eq!(
        r.headers[0],
        ("content-type".to_string(), "application/json".to_string())
    );

    let custom = config(json!({"responses": {
        "invalid": {"status": 403, "body": "nope", "headers": {"WWW-Authenticate": "mTLS"}},
        "expired": {"status": 495, "body": "renew your certificate", "format": "json"}
    }}));
    let r = custom.reply(&untrusted);
    assert_eq!((r.status, r.body.as_str()), (403, "nope\n"), "class entry");
    assert!(
        r.headers
            .contains(&("www-authenticate".into(), "mTLS".into()))
    );
    let r = custom.reply(&expired);
    assert_eq!(r.status, 495, "specific entry wins");
    assert_eq!(
        r.body,
        json!({"statusCode": 495, "message": "renew your certificate"}).to_string()
    );
    assert!(
        r.headers
            .contains(&("www-authenticate".into(), "mTLS".into())),
        "inherits class headers"
    );
    assert_eq!(
        custom.reply(&missing).status,
        401,
        "missing is its own class"
    );
    assert_eq!(
        custom
            .reply(&DenyReason::HostFailure(HostCall::Clock))
            .status,
        500
    );
}

/// A reply's own headers go out in name order whatever order the configuration wrote them in
/// (as the map they were read into did), after the `content-type`.
#[test]
fn reply_headers_are_sent_in_name_order() {
    let untrusted = DenyReason::CertificateInvalid(CertError::Untrusted { detail: "x".into() });
    let c = config(json!({"responses": {"invalid": {"headers": {
        "x-c": "3", "X-A": "1", "x-b": "2"
    }}}}));
    let names: Vec<&str> = c
        .reply(&untrusted)
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["content-type", "x-a", "x-b", "x-c"]);
}

/// `errorPage` is nginx's `error_page 495 496 = <url>` (ingress-nginx's `auth-tls-error-page`):
/// a missing or refused certificate is a 302 to the page; the CN check (`identityNotMatched`)
/// keeps its own answer, as nginx's `return 403` does, and a reason's own entry still wins.
#[test]
fn error_page_redirects_certificate_errors_but_not_the_identity_check() {
    let expired = DenyReason::CertificateInvalid(CertError::Expired {
        not_after: 0,
        now: 1,
    });
    let c = config(json!({"responses": {
        "errorPage": "https://login.example.com/cert-error?x=1",
        "revoked": {"status": 403, "body": "revoked"}
    }}));
    for reason in [DenyReason::CertificateRequired, expired] {
        let r = c.reply(&reason);
        assert_eq!(r.status, 302, "{reason:?}");
        assert_eq!(r.body, "");
        assert!(
            r.headers.contains(&(
                "location".into(),
                "https://login.example.com/cert-error?x=1".into()
            )),
            "{:?}",
            r.headers
        );
    }
    let identity = c.reply(&DenyReason::CertificateInvalid(
        CertError::IdentityNotMatched,
    ));
    assert_eq!(identity.status, 401, "the identity check is not redirected");
    assert_eq!(
        c.reply(&DenyReason::CertificateInvalid(CertError::Revoked))
            .status,
        403,
        "a reason's own entry wins"
    );
    assert_eq!(
        c.reply(&DenyReason::HostFailure(HostCall::Clock)).status,
        500,
        "a host failure is never redirected"
    );
    let path = config(json!({"responses": {"errorPage": "/cert-error"}}));
    assert_eq!(path.reply(&DenyReason::CertificateRequired).status, 302);
}

#[test]
fn bad_forward_and_response_settings_are_refused() {
    let table = [
        (
            json!({"forward": {"arrHeaderName": "X Bad"}}),
            "forward.arrHeaderName: \"X Bad\" is not a usable header name",
        ),
        (
            json!({"forward": {"arrHeaderName": "Host"}}),
            "forward.arrHeaderName: \"Host\" is not a usable header name",
        ),
        (
            json!({"forward": {"infoHeaderPrefix": ""}}),
            "forward.infoHeaderPrefix: \"\" is not a usable header name",
        ),
        (
            json!({"forward": {"rfc9440": "yes"}}),
            "forward.rfc9440: invalid type",
        ),
        (
            json!({"responses": {"preset": "nginx"}}),
            "responses.preset: unknown variant `nginx`, expected one of `default`, `appService`, `apim`",
        ),
        (
            json!({"responses": {"missing": {"status": 200}}}),
            "responses.missing.status: 200 is not a 4xx or 5xx status",
        ),
        (
            json!({"responses": {"expired": {"format": "xml"}}}),
            "responses.expired.format: unknown variant `xml`, expected `text` or `json`",
        ),
        (
            json!({"responses": {"invalid": {"headers": {"x-a": "line\nbreak"}}}}),
            "responses.invalid.headers: \"x-a\" is not a header name or value",
        ),
        (
            json!({"responses": {"errorPage": "@error"}}),
            "responses.errorPage: \"@error\" is not an http:// or https:// URL or a path from /",
        ),
        (
            json!({"responses": {"errorPage": "https://a.test/x y"}}),
            "responses.errorPage: \"https://a.test/x y\" is not an http:// or https:// URL",
        ),
        (
            json!({"responses": {"errorPage": "https://"}}),
            "responses.errorPage: \"https://\" is not",
        ),
        // Network-path references: a browser goes to evil.test.
        (
            json!({"responses": {"errorPage": "//evil.test/x"}}),
            "responses.errorPage: \"//evil.test/x\" is not",
        ),
        (
            json!({"responses": {"errorPage": "/\\evil.test/x"}}),
            "responses.errorPage: \"/\\\\evil.test/x\" is not",
        ),
        (
            json!({"responses": {"errorPage": "/e", "invalid": {"status": 401}}}),
            "responses.invalid: given beside responses.errorPage, which answers every invalid certificate",
        ),
        (
            json!({"responses": {"errorPage": "/e", "missing": {"status": 401}}}),
            "responses.missing: given beside responses.errorPage",
        ),
        (
            json!({"responses": {"expird": {"status": 401}}}),
            "responses.expird: unknown field `expird`",
        ),
        (
            json!({"certificateSource": "proxy"}),
            "certificateSource: unknown variant `proxy`, expected one of `connection`, `xfcc`, `auto`, `header`",
        ),
    ];
    for (v, message) in table {
        let err = Config::from_json(v.to_string().as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(message),
            "{v}:\n  got      {err}\n  expected {message}"
        );
    }
}

// ---- forward.preset: another platform's headers, exact values ----

/// A root, an intermediate and a leaf with every kind of name and SAN the presets write, at
/// fixed dates: notBefore 2027-01-15T08:00:00Z (1800000000), notAfter ten years later
/// (2115360000, 2037-01-12T08:00:00Z).
struct PresetPki {
    root: Ca,
    inter: Ca,
    leaf: testkit::pki::Leaf,
    nb: OffsetDateTime,
}

fn preset_pki() -> PresetPki {
    let nb = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let root = Ca::new("Fwd Root");
    let inter = root.intermediate_with("Fwd Inter", testkit::pki::Alg::EcdsaP256, |p| {
        p.serial_number = Some(SerialNumber::from_slice(&[0x01, 0x00]));
        p.not_before = nb;
        p.not_after = nb + Duration::days(3650);
    });
    let leaf = inter.client_with("alice", testkit::pki::Alg::EcdsaP256, |p| {
        use rcgen::{DnType, SanType};
        p.serial_number = Some(SerialNumber::from_slice(&[0x0a, 0xbc]));
        p.not_before = nb;
        p.not_after = nb + Duration::days(3650);
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(
            DnType::CustomDnType(vec![0, 9, 2342, 19_200_300, 100, 1, 25]),
            "example",
        );
        dn.push(DnType::CountryName, "FR");
        dn.push(DnType::StateOrProvinceName, "Occitanie");
        dn.push(DnType::LocalityName, "Toulouse");
        dn.push(DnType::OrganizationName, "Cheese, Inc");
        dn.push(DnType::OrganizationalUnitName, "Signing");
        dn.push(DnType::CustomDnType(vec![2, 5, 4, 5]), "42");
        dn.push(DnType::CommonName, "alice");
        p.distinguished_name = dn;
        p.subject_alt_names = vec![
            SanType::DnsName("alice.example.com".try_into().unwrap()),
            SanType::Rfc822Name("alice@example.com".try_into().unwrap()),
            SanType::IpAddress("192.0.2.7".parse().unwrap()),
            SanType::URI("spiffe://example.org/ns/a/sa/alice".try_into().unwrap()),
            SanType::URI("https://example.org/u".try_into().unwrap()),
        ];
    });
    PresetPki {
        root,
        inter,
        leaf,
        nb,
    }
}

fn decide_with_chain(c: &Config, pki: &PresetPki, chain: &[Vec<u8>]) -> Outcome {
    testkit::core::decide_fresh(
        c,
        client_cert_auth::Request {
            peer_certificate: Some(pki.leaf.cert_pem.as_bytes()),
            now: unix(pki.nb) + 86_400,
            chain,
            ..client_cert_auth::Request::default()
        },
    )
}

/// The headers a decision forwards whose names start with `prefix`, in order.
fn forwarded_with(d: &Decision, prefix: &str) -> Vec<(String, String)> {
    let Decision::Forward { headers } = d else {
        panic!("not forwarded: {d:?}")
    };
    headers
        .iter()
        .filter(|(n, _)| n.starts_with(prefix))
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn alb_preset_writes_the_verify_mode_headers_as_aws_documents_them() {
    let ca = Ca::new("ALB CA");
    let nb = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let leaf = ca.client_with("client_.com", testkit::pki::Alg::EcdsaP256, |p| {
        use rcgen::DnType;
        p.serial_number = Some(SerialNumber::from_slice(&[0x03, 0xa5, 0xb1]));
        p.not_before = nb;
        p.not_after = nb + Duration::days(3650);
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(DnType::CountryName, "US");
        dn.push(DnType::StateOrProvinceName, "Washington");
        dn.push(DnType::OrganizationName, "mTLS, Inc");
        dn.push(DnType::OrganizationalUnitName, "client-3");
        dn.push(DnType::CommonName, "client_.com");
        p.distinguished_name = dn;
    });
    let c = config(json!({"forward": {"preset": "alb"}}));
    let d = run_at(&c, "/", Some(&leaf.cert_pem), unix(nb) + 60).decision;
    assert!(!leaf.cert_pem.contains('\r'));
    // URL-encoded PEM with `+`, `=` and `/` as safe characters: only the spaces of the armour
    // and the newlines are escaped.
    let url_pem = leaf.cert_pem.replace(' ', "%20").replace('\n', "%0A");
    assert!(url_pem.starts_with("-----BEGIN%20CERTIFICATE-----%0AMII"));
    assert!(url_pem.ends_with("%0A-----END%20CERTIFICATE-----%0A"));
    assert_eq!(
        forwarded_with(&d, "x-amzn-"),
        pairs(&[
            ("x-amzn-mtls-clientcert-serial-number", "03A5B1"),
            (
                "x-amzn-mtls-clientcert-issuer",
                "O=client-cert-auth demo,CN=ALB CA"
            ),
            (
                "x-amzn-mtls-clientcert-subject",
                "CN=client_.com,OU=client-3,O=mTLS\\, Inc,ST=Washington,C=US"
            ),
            (
                "x-amzn-mtls-clientcert-validity",
                "NotBefore=2027-01-15T08:00:00Z;NotAfter=2037-01-12T08:00:00Z"
            ),
            ("x-amzn-mtls-clientcert-leaf", url_pem.as_str()),
        ])
    );
    assert_eq!(
        d.header("x-arr-clientcert"),
        Some(STANDARD.encode(&leaf.der).as_str()),
        "the other formats stay as configured"
    );
    // Without a certificate ALB (verify mode) sends nothing.
    let optional = config(json!({"clientCertMode": "Optional", "forward": {"preset": "alb"}}));
    assert!(run(&optional, "/", None).pass_headers.is_empty());
    assert_stripped(
        &c,
        &[
            "x-amzn-mtls-clientcert-serial-number",
            "x-amzn-mtls-clientcert-issuer",
            "x-amzn-mtls-clientcert-subject",
            "x-amzn-mtls-clientcert-validity",
            "x-amzn-mtls-clientcert-leaf",
            "x-amzn-mtls-clientcert",
        ],
    );
    assert!(c.forward.must_strip("X_Amzn_Mtls_Clientcert_Leaf"));
}

#[test]
fn traefik_preset_writes_pem_and_info_as_pass_tls_client_cert_does() {
    let pki = preset_pki();
    let c = config(json!({"forward": {"preset": "traefik", "arrClientCert": false}}));
    let chain = [pki.inter.der()];
    let d = decide_with_chain(&c, &pki, &chain).decision;
    // `O=Cheese, Inc`: the `,` inside the value is percent-encoded before the whole string is
    // query-escaped (Traefik leaves it, and the value reads as two fields; see
    // hostile_names_never_forge_a_field_of_a_structured_header).
    let info = "Subject%3D%22DC%3Dexample%2CC%3DFR%2CST%3DOccitanie%2CL%3DToulouse%2CO%3DCheese%252C+Inc%2COU%3DSigning%2CSN%3D42%2CCN%3Dalice%22%3BIssuer%3D%22O%3Dclient-cert-auth+demo%2CCN%3DFwd+Inter%22%3BSerialNumber%3D%222748%22%3BNB%3D%221800000000%22%3BNA%3D%222115360000%22%3BSAN%3D%22alice.example.com%2Calice%40example.com%2C192.0.2.7%2Cspiffe%3A%2F%2Fexample.org%2Fns%2Fa%2Fsa%2Falice%2Chttps%3A%2F%2Fexample.org%2Fu%22%2CSubject%3D%22O%3Dclient-cert-auth+demo%2CCN%3DFwd+Inter%22%3BIssuer%3D%22O%3Dclient-cert-auth+demo%2CCN%3DFwd+Root%22%3BSerialNumber%3D%22256%22%3BNB%3D%221800000000%22%3BNA%3D%222115360000%22";
    let pems = format!(
        "{},{}",
        STANDARD.encode(&pki.leaf.der),
        STANDARD.encode(pki.inter.der())
    );
    assert_eq!(
        forwarded_with(&d, ""),
        pairs(&[
            ("x-forwarded-tls-client-cert", pems.as_str()),
            ("x-forwarded-tls-client-cert-info", info),
        ]),
        "only the preset's headers (X-ARR-ClientCert is off)"
    );
    // From the connection alone (no chain presented): the leaf only.
    let d = decide_with_chain(&c, &pki, &[]).decision;
    assert_eq!(
        d.header("x-forwarded-tls-client-cert"),
        Some(STANDARD.encode(&pki.leaf.der).as_str())
    );
    let info = d.header("x-forwarded-tls-client-cert-info").unwrap();
    assert!(info.ends_with("example.org%2Fu%22"), "{info}");
    let optional = config(json!({"clientCertMode": "Optional", "forward": {"preset": "traefik"}}));
    assert!(run(&optional, "/", None).pass_headers.is_empty());
    assert!(c.forward.must_strip("X-Forwarded-Tls-Client-Cert-Info"));
    assert!(c.forward.must_strip("x_forwarded_tls_client_cert"));
}

#[test]
fn gclb_preset_writes_the_mtls_custom_header_variables_as_google_documents_them() {
    let pki = preset_pki();
    let c = config(json!({
        "validation": {"trustedCaCertificates": [pki.root.cert_pem()]},
        "forward": {"preset": "gclb"}
    }));
    let chain = [pki.inter.der()];
    let d = decide_with_chain(&c, &pki, &chain).decision;
    let hash = STANDARD.encode(Sha256::digest(&pki.leaf.der));
    let leaf = format!(":{}:", STANDARD.encode(&pki.leaf.der));
    let chain_value = format!(":{}:", STANDARD.encode(pki.inter.der()));
    let uri_sans = STANDARD.encode("https://example.org/u");
    let dns_sans = STANDARD.encode("alice.example.com");
    assert_eq!(
        forwarded_with(&d, "x-client-cert-"),
        pairs(&[
            ("x-client-cert-present", "true"),
            ("x-client-cert-chain-verified", "true"),
            ("x-client-cert-error", ""),
            ("x-client-cert-hash", hash.as_str()),
            ("x-client-cert-spiffe", "spiffe://example.org/ns/a/sa/alice"),
            ("x-client-cert-uri-sans", uri_sans.as_str()),
            ("x-client-cert-dnsname-sans", dns_sans.as_str()),
            (
                "x-client-cert-valid-not-before",
                "2027-01-15T08:00:00+00:00"
            ),
            ("x-client-cert-valid-not-after", "2037-01-12T08:00:00+00:00"),
            ("x-client-cert-leaf", leaf.as_str()),
            ("x-client-cert-chain", chain_value.as_str()),
        ])
    );
    // Without the trust check nothing verified the chain: Google's answer for a load balancer
    // without a trust config, and no leaf or chain (sent only for a validated certificate).
    let unverified = config(json!({"forward": {"preset": "gclb"}}));
    let d = decide_with_chain(&unverified, &pki, &[]).decision;
    assert_eq!(d.header("x-client-cert-present"), Some("true"));
    assert_eq!(d.header("x-client-cert-chain-verified"), Some("false"));
    assert_eq!(
        d.header("x-client-cert-error"),
        Some("client_cert_validation_not_performed")
    );
    assert_eq!(d.header("x-client-cert-hash"), Some(hash.as_str()));
    assert_eq!(d.header("x-client-cert-leaf"), None);
    assert_eq!(d.header("x-client-cert-chain"), None);
}

#[test]
fn gclb_preset_says_not_provided_or_failed_on_passes() {
    let ca = Ca::new("g CA");
    let expired = expired_of(&ca);
    let server = ca.server(&["srv.example"]);
    let c = config(json!({
        "clientCertMode": "Optional",
        "clientCertExclusionPaths": "/public",
        "validation": {"requireClientAuthEku": true},
        "forward": {"preset": "gclb"}
    }));
    assert_eq!(
        pass_headers(&run(&c, "/app", None)),
        pairs(&[
            ("x-client-cert-present", "false"),
            ("x-client-cert-chain-verified", "false"),
            ("x-client-cert-error", "client_cert_not_provided"),
        ])
    );
    assert_eq!(
        pass_headers(&run(&c, "/public", Some(&expired.cert_pem))),
        pairs(&[
            ("x-client-cert-present", "true"),
            ("x-client-cert-chain-verified", "false"),
            ("x-client-cert-error", "client_cert_validation_failed"),
        ])
    );
    assert_eq!(
        pass_headers(&run(&c, "/public", Some(&server.cert_pem))),
        pairs(&[
            ("x-client-cert-present", "true"),
            ("x-client-cert-chain-verified", "false"),
            ("x-client-cert-error", "client_cert_chain_invalid_eku"),
        ])
    );
    let disabled = config(json!({"clientCertEnabled": false, "forward": {"preset": "gclb"}}));
    assert!(run(&disabled, "/app", None).pass_headers.is_empty());
    // Google's headers: `x-client-cert-` and these.
    let names = [
        "present",
        "chain-verified",
        "error",
        "hash",
        "spiffe",
        "uri-sans",
        "dnsname-sans",
        "valid-not-before",
        "valid-not-after",
        "leaf",
        "chain",
        "serial-number",
    ]
    .map(|name| format!("x-client-cert-{name}"));
    assert_stripped(&c, &names.each_ref().map(String::as_str));
}

#[test]
fn gclb_preset_applies_googles_size_limits() {
    let ca = Ca::new("limits CA");
    let nb = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let long_dns: Vec<String> = (0..40)
        .map(|i| format!("host-{i:02}.example.com"))
        .collect();
    let leaf = ca.client_with("many", testkit::pki::Alg::EcdsaP256, |p| {
        p.not_before = nb;
        p.not_after = nb + Duration::days(30);
        p.subject_alt_names = long_dns
            .iter()
            .map(|d| rcgen::SanType::DnsName(d.as_str().try_into().unwrap()))
            .chain([
                rcgen::SanType::URI("spiffe://a.example/one".try_into().unwrap()),
                rcgen::SanType::URI("spiffe://a.example/two".try_into().unwrap()),
            ])
            .collect();
    });
    let c = config(json!({"forward": {"preset": "gclb"}}));
    let d = run_at(&c, "/", Some(&leaf.cert_pem), unix(nb) + 60).decision;
    assert_eq!(d.header("x-client-cert-dnsname-sans"), Some(""));
    assert_eq!(
        d.header("x-client-cert-error"),
        Some("client_cert_validation_not_performed,client_cert_dnsname_sans_exceeded_size_limit")
    );
    assert_eq!(
        d.header("x-client-cert-spiffe"),
        Some(""),
        "two SPIFFE IDs: none is the certificate's"
    );
    assert_eq!(d.header("x-client-cert-uri-sans"), Some(""));
}

#[test]
fn presets_are_refused_where_they_would_collide_or_are_unknown() {
    let refused = |v: serde_json::Value| Config::from_json(v.to_string().as_bytes()).unwrap_err();
    assert_eq!(
        refused(json!({"forward": {"preset": "traefik", "arrHeaderName": "X-Forwarded-Tls-Client-Cert"}}))
            .to_string(),
        "forward.preset: sets \"x-forwarded-tls-client-cert\", which forward.arrHeaderName sets too; rename one of them"
    );
    assert_eq!(
        refused(json!({"forward": {"preset": "gclb", "infoHeaders": true, "infoHeaderPrefix": "X-Client-Cert-Valid-"}}))
            .to_string(),
        "forward.preset: sets \"x-client-cert-valid-not-before\", which forward.infoHeaderPrefix sets too; rename one of them"
    );
    assert!(
        refused(json!({"forward": {"preset": "nginx"}}))
            .to_string()
            .starts_with("forward.preset: unknown variant `nginx`"),
    );
    // A header turned off does not collide.
    config(json!({"forward": {"preset": "gclb", "infoHeaderPrefix": "X-Client-Cert-Valid-"}}));
    config(json!({"forward": {"preset": "alb", "rfc9440": true, "infoHeaders": true}}));
}

#[test]
fn gclb_preset_under_report_only_says_what_would_have_been_denied() {
    let ca = Ca::new("ro CA");
    let expired = expired_of(&ca);
    let c = config(json!({"reportOnly": true, "forward": {"preset": "gclb", "infoHeaders": true}}));
    assert_eq!(
        pass_headers(&run(&c, "/app", None)),
        pairs(&[
            ("x-client-cert-verify", "NONE"),
            ("x-client-cert-present", "false"),
            ("x-client-cert-chain-verified", "false"),
            ("x-client-cert-error", "client_cert_not_provided"),
        ])
    );
    assert_eq!(
        pass_headers(&run(&c, "/app", Some(&expired.cert_pem))),
        pairs(&[
            ("x-client-cert-verify", "FAILED:expired"),
            ("x-client-cert-present", "true"),
            ("x-client-cert-chain-verified", "false"),
            ("x-client-cert-error", "client_cert_validation_failed"),
        ])
    );
}

/// Issue 20, item 9: with the trust check, the chain headers carry the verified path (the
/// leaf's issuer up to the trusted CA, excluded), never certificates the client appended that
/// the path does not use; without it, the chain as presented, and nothing says it was verified.
#[test]
fn chain_headers_carry_the_verified_path_only() {
    let pki = preset_pki();
    let stranger = Ca::new("Appended Stranger");
    let appended = [stranger.der(), pki.inter.der(), pki.root.der()];
    let b64 = |der: &[u8]| format!(":{}:", STANDARD.encode(der));
    let verified = b64(&pki.inter.der());
    let trusting = |forward: serde_json::Value| {
        config(json!({
            "validation": {"trustedCaCertificates": [pki.root.cert_pem()]},
            "forward": forward
        }))
    };
    // RFC 9440 and gclb: the intermediate only.
    let c = trusting(json!({"rfc9440": true, "preset": "gclb"}));
    let d = decide_with_chain(&c, &pki, &appended).decision;
    assert_eq!(d.header("client-cert-chain"), Some(verified.as_str()));
    assert_eq!(d.header("x-client-cert-chain"), Some(verified.as_str()));
    assert_eq!(d.header("x-client-cert-chain-verified"), Some("true"));
    // Traefik: the leaf and the intermediate, and the info of those two only.
    let c = trusting(json!({"preset": "traefik"}));
    let d = decide_with_chain(&c, &pki, &appended).decision;
    assert_eq!(
        d.header("x-forwarded-tls-client-cert"),
        Some(
            format!(
                "{},{}",
                STANDARD.encode(&pki.leaf.der),
                STANDARD.encode(pki.inter.der())
            )
            .as_str()
        )
    );
    let info = d.header("x-forwarded-tls-client-cert-info").unwrap();
    assert!(!info.contains("Appended+Stranger"), "{info}");
    assert_eq!(info.matches("Subject%3D").count(), 2, "{info}");
    // A configured intermediate the client did not send is part of the path it was verified
    // with: forwarded as the chain.
    let c = config(json!({
        "validation": {"trustedCaCertificates": [pki.root.cert_pem()],
                       "intermediateCertificates": [pki.inter.cert_pem()]},
        "forward": {"rfc9440": true}
    }));
    let d = decide_with_chain(&c, &pki, &[stranger.der()]).decision;
    assert_eq!(d.header("client-cert-chain"), Some(verified.as_str()));
    // Without the trust check nothing was verified: RFC 9440 carries what the client sent, and
    // gclb says the chain was not verified and sends no chain.
    let c = config(json!({"forward": {"rfc9440": true, "preset": "gclb"}}));
    let d = decide_with_chain(&c, &pki, &appended).decision;
    let as_presented: Vec<String> = appended.iter().map(|c| b64(c)).collect();
    assert_eq!(
        d.header("client-cert-chain"),
        Some(as_presented.join(", ").as_str())
    );
    assert_eq!(d.header("x-client-cert-chain-verified"), Some("false"));
    assert_eq!(d.header("x-client-cert-chain"), None);
}

/// Splits `text` on `delimiter` where it is not escaped with `\` (RFC 4514).
fn split_unescaped(text: &str, delimiter: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for ch in text.chars() {
        if escaped {
            escaped = false;
        } else if ch == '\\' {
            escaped = true;
        } else if ch == delimiter {
            parts.push(String::new());
            continue;
        }
        parts.last_mut().unwrap().push(ch);
    }
    parts
}

/// Percent-decoding, `+` as a space (a URL query, as Go's `url.QueryUnescape`).
fn query_unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Issue 20, item 11: certificate content never forges a field of a structured header. A CN
/// that closes Traefik's quoted `Subject` and opens an `Issuer` of its own, an O full of `,`,
/// `=`, `;`, `+`, quotes and line breaks, SANs with `,`, `;` and quotes: every preset and the
/// info headers keep exactly their own fields, and the values decode back to what the
/// certificate says.
#[test]
fn hostile_names_never_forge_a_field_of_a_structured_header() {
    use rcgen::{DnType, SanType};
    let ca = Ca::new("Honest CA");
    let cn = "mallory\";Issuer=\"CN=Evil CA\";SAN=\"admin.example.com";
    let org = "a,CN=admin+OU=x;y=\"z\"\r\n\\%2C";
    let dns = "evil.example.com,admin.example.com";
    let uri = "https://x.example/?a=b;c,Issuer=\"d\"";
    let email = "m\"a;l=l,o@example.com";
    let leaf = ca.client_with("unused", testkit::pki::Alg::EcdsaP256, |p| {
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(DnType::OrganizationName, org);
        dn.push(DnType::CommonName, cn);
        p.distinguished_name = dn;
        p.subject_alt_names = vec![
            SanType::DnsName(dns.try_into().unwrap()),
            SanType::Rfc822Name(email.try_into().unwrap()),
            SanType::URI(uri.try_into().unwrap()),
        ];
    });
    let c = config(json!({
        "validation": {"trustedCaCertificates": [ca.cert_pem()]},
        "forward": {"preset": "traefik", "infoHeaders": true}
    }));
    let d = run(&c, "/", Some(&leaf.cert_pem)).decision;
    assert!(matches!(d, Decision::Forward { .. }), "{d:?}");

    // Traefik: once URL-decoded, exactly the six fields, in order, each a quoted value without
    // a quote inside; the DN and SAN values, percent-decoded once more, are the certificate's.
    let info = query_unescape(d.header("x-forwarded-tls-client-cert-info").unwrap());
    let fields: Vec<&str> = info.split(';').collect();
    let keys: Vec<&str> = fields
        .iter()
        .map(|f| f.split_once('=').unwrap().0)
        .collect();
    assert_eq!(
        keys,
        ["Subject", "Issuer", "SerialNumber", "NB", "NA", "SAN"],
        "{info}"
    );
    let value = |field: &str| -> String {
        let quoted = field.split_once('=').unwrap().1;
        let inner = quoted.strip_prefix('"').unwrap().strip_suffix('"').unwrap();
        assert!(!inner.contains('"'), "{field}");
        inner.to_string()
    };
    assert_eq!(value(fields[1]), "O=client-cert-auth demo,CN=Honest CA");
    let subject: Vec<(String, String)> = value(fields[0])
        .split(',')
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap();
            assert!(!v.contains('='), "{part}");
            (k.to_string(), query_unescape(&v.replace('+', "%2B")))
        })
        .collect();
    assert_eq!(
        subject,
        [
            ("O".to_string(), org.to_string()),
            ("CN".to_string(), cn.to_string())
        ]
    );
    let sans: Vec<String> = value(fields[5])
        .split(',')
        .map(|v| query_unescape(&v.replace('+', "%2B")))
        .collect();
    assert_eq!(sans, [dns, email, uri]);

    // The info headers (RFC 4514): two RDNs, one unescaped `=` each.
    for header in ["x-client-cert-subject"] {
        let text = d.header(header).unwrap();
        let rdns = split_unescaped(text, ',');
        assert_eq!(rdns.len(), 2, "{header}: {text}");
        for rdn in &rdns {
            assert_eq!(split_unescaped(rdn, '=').len(), 2, "{header}: {rdn}");
            assert_eq!(split_unescaped(rdn, '+').len(), 1, "{header}: {rdn}");
            assert!(
                !rdn.contains(['\r', '\n', '"']) || rdn.contains("\\\""),
                "{rdn}"
            );
        }
    }
    // ALB's RFC 2253 names: the same.
    let alb = config(json!({"forward": {"preset": "alb"}}));
    let d = run(&alb, "/", Some(&leaf.cert_pem)).decision;
    let text = d.header("x-amzn-mtls-clientcert-subject").unwrap();
    let rdns = split_unescaped(text, ',');
    assert_eq!(rdns.len(), 2, "{text}");
    for rdn in &rdns {
        assert_eq!(split_unescaped(rdn, '=').len(), 2, "{rdn}");
        assert_eq!(split_unescaped(rdn, ';').len(), 1, "{rdn}");
    }
    // gclb: SAN lists of base64 items; a SAN's `,` stays inside its item.
    let gclb = config(json!({"forward": {"preset": "gclb"}}));
    let d = run(&gclb, "/", Some(&leaf.cert_pem)).decision;
    assert_eq!(
        d.header("x-client-cert-dnsname-sans"),
        Some(STANDARD.encode(dns).as_str())
    );
    assert_eq!(
        d.header("x-client-cert-uri-sans"),
        Some(STANDARD.encode(uri).as_str())
    );
    // Every value of every output is a header value: printable ASCII, no line break.
    for c in [&c, &alb, &gclb] {
        let Decision::Forward { headers } = run(c, "/", Some(&leaf.cert_pem)).decision else {
            panic!()
        };
        for (name, value) in headers.iter() {
            assert!(
                value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()),
                "{name}: {value:?}"
            );
        }
    }
}

/// ingress-nginx's `auth-tls-*` answers: nginx's 496 and 495 as 400 with its own words, and the
/// template's `return 403 "client certificate unauthorized"` for `auth-tls-match-cn`.
#[test]
fn ingress_nginx_responses_answer_as_nginx_does() {
    let untrusted = DenyReason::CertificateInvalid(CertError::Untrusted {
        detail: String::new(),
    });
    let identity = DenyReason::CertificateInvalid(CertError::IdentityNotMatched);
    let c = config(json!({"responses": {"preset": "ingressNginx"}}));
    let answer = |c: &Config, r: &DenyReason| (c.reply(r).status, c.reply(r).body.clone());
    assert_eq!(
        answer(&c, &DenyReason::CertificateRequired),
        (400, "No required SSL certificate was sent\n".to_string())
    );
    assert_eq!(
        answer(&c, &untrusted),
        (400, "The SSL certificate error\n".to_string())
    );
    assert_eq!(
        answer(&c, &identity),
        (403, "client certificate unauthorized\n".to_string())
    );
    // With the error page, the certificate errors redirect and the CN check stays 403.
    let page = config(json!({"responses": {"preset": "ingressNginx", "errorPage": "/err"}}));
    assert_eq!(page.reply(&untrusted).status, 302);
    assert_eq!(page.reply(&DenyReason::CertificateRequired).status, 302);
    assert_eq!(answer(&page, &identity).0, 403);
    // A written class entry wins over the preset's reason, as over any preset.
    let class =
        config(json!({"responses": {"preset": "ingressNginx", "invalid": {"status": 401}}}));
    assert_eq!(answer(&class, &identity).0, 401);
}

#[test]
fn ingress_nginx_preset_sets_the_ssl_client_headers_as_nginx_does() {
    let ca = Ca::new("Ingress CA");
    let leaf = ca.client_with("alice", testkit::pki::Alg::EcdsaP256, |p| {
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::OrganizationName, "Contoso, Ltd");
        dn.push(rcgen::DnType::CommonName, "alice");
        p.distinguished_name = dn;
    });
    let trust = json!({"trustedCaCertificates": [ca.cert_pem()]});
    let c = config(json!({
        "validation": trust,
        "forward": {"preset": "ingressNginx", "passCertificate": true}
    }));
    let d = run(&c, "/", Some(&leaf.cert_pem)).decision;
    let escaped = nginx_escaped(&leaf.cert_pem);
    assert!(escaped.starts_with("-----BEGIN%20CERTIFICATE-----%0AMII"));
    assert!(escaped.ends_with("%0A-----END%20CERTIFICATE-----%0A"));
    assert_eq!(
        forwarded_with(&d, "ssl-client-"),
        pairs(&[
            ("ssl-client-verify", "SUCCESS"),
            ("ssl-client-subject-dn", "CN=alice,O=Contoso\\, Ltd"),
            (
                "ssl-client-issuer-dn",
                "O=client-cert-auth demo,CN=Ingress CA"
            ),
            ("ssl-client-cert", escaped.as_str()),
        ])
    );
    // Without passCertificate no certificate header, but a client copy is still removed.
    let no_pass = config(json!({"validation": trust, "forward": {"preset": "ingressNginx"}}));
    let d = run(&no_pass, "/", Some(&leaf.cert_pem)).decision;
    assert_eq!(d.header("ssl-client-cert"), None);
    assert_eq!(d.header("ssl-client-verify"), Some("SUCCESS"));
    assert_stripped(
        &no_pass,
        &[
            "ssl-client-verify",
            "ssl-client-subject-dn",
            "ssl-client-issuer-dn",
            "ssl-client-cert",
        ],
    );
    // No certificate: NONE, and nothing else (nginx sends no empty header).
    let optional = config(json!({
        "clientCertMode": "Optional", "validation": trust, "forward": {"preset": "ingressNginx"}
    }));
    assert_eq!(
        pass_headers(&run(&optional, "/", None)),
        pairs(&[("ssl-client-verify", "NONE")])
    );
    // A refused certificate on an excluded path: FAILED with OpenSSL's words, nothing of it.
    let excluded = config(json!({
        "clientCertExclusionPaths": "/", "validation": trust,
        "forward": {"preset": "ingressNginx", "passCertificate": true}
    }));
    let outcome = run(&excluded, "/x", Some(&expired_of(&ca).cert_pem));
    assert_eq!(
        pass_headers(&outcome),
        pairs(&[("ssl-client-verify", "FAILED:certificate has expired")])
    );
    // Without the trust check nothing was verified: never SUCCESS.
    let unverified = config(json!({"forward": {"preset": "ingressNginx"}}));
    let d = run(&unverified, "/", Some(&leaf.cert_pem)).decision;
    assert_eq!(
        d.header("ssl-client-verify"),
        Some("FAILED:not verified (no trusted CA configured)")
    );
    // passCertificate belongs to this preset only.
    for forward in [
        json!({"passCertificate": true}),
        json!({"preset": "alb", "passCertificate": false}),
    ] {
        let e =
            Config::from_json(json!({ "forward": forward }).to_string().as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "forward.passCertificate: only with forward.preset \"ingressNginx\" (it passes ssl-client-cert); it would be ignored"
        );
    }
}
