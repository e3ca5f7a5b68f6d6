//! Forwarding formats and local replies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use client_cert_auth::CertError;
use client_cert_auth::Config;
use client_cert_auth::{Decision, DenyReason, HostCall, Outcome};
use common::core::{config, hex_upper, now, run_at};
use common::pki::{Ca, unix};
use rcgen::SerialNumber;
use serde_json::json;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

fn run(c: &Config, path: &str, pem: Option<&str>) -> Outcome {
    run_at(c, path, pem, now())
}

#[test]
fn every_format_carries_the_same_certificate() {
    let ca = Ca::new("Fwd CA");
    let nb = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let leaf = ca.client_with("alice", common::pki::Alg::EcdsaP256, |p| {
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
    let strip: Vec<&str> = c.forward.strip_list().iter().map(|s| &**s).collect();
    for name in [
        "x-client-certificate",
        "x-arr-clientcert",
        "client-cert",
        "client-cert-chain",
        "x-cert-subject",
        "x-cert-verify",
        "x-cert-sha256",
    ] {
        assert!(strip.contains(&name), "{name} stripped");
    }
}

#[test]
fn verification_header_says_none_or_failed_on_passes() {
    let ca = Ca::new("v CA");
    let now = OffsetDateTime::now_utc();
    let expired = ca.client_between("old", now - Duration::days(9), now - Duration::days(1));
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
            json!({"responses": {"expird": {"status": 401}}}),
            "responses.expird: unknown field `expird`",
        ),
        (
            json!({"certificateSource": "header"}),
            "certificateSource: unknown variant `header`, expected one of `connection`, `xfcc`, `auto`",
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
