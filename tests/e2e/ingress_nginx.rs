//! ingress-nginx client-certificate parity (issue 23), through the real Envoy: what
//! ingress-nginx's own e2e suite asserts for its `auth-tls-*` annotations
//! (`test/e2e/annotations/authtls.go`), with the configuration each annotation maps to
//! (docs/migrating-from-ingress-nginx.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use testkit::cases::{Case, Check, plugin_options, run_both};
use testkit::envoy::{Call, Envoy, Pki};
use testkit::pki::{Ca, leaf};
use time::{Duration, OffsetDateTime};

const ERROR_PAGE: &str = "https://auth.example.com/cert-error?from=ingress";

fn start(pki: &Pki, config: &Value) -> Envoy {
    Envoy::start(pki, plugin_options(config.to_string()))
}

/// `auth-tls-error-page`: a certificate error is a 302 to the page (nginx's
/// `error_page 495 496 = <url>`), never a request upstream.
#[test]
fn error_page_redirects_a_missing_or_refused_certificate() {
    let pki = Pki::new();
    let valid = pki.save("valid", &pki.ca.client("alice"));
    let other = pki.save("other", &Ca::new("another CA").client("alice"));
    let envoy = start(
        &pki,
        &json!({
            "clientCertMode": "Required",
            "validation": {"trustedCaCertificates": [pki.ca.cert_pem()]},
            "responses": {"preset": "default", "errorPage": ERROR_PAGE}
        }),
    );
    let redirected = || {
        vec![
            Check::Status(302),
            Check::Location(ERROR_PAGE),
            Check::NotUpstream,
        ]
    };
    let cases = [
        Case::new("no certificate", Call::new("/"), redirected()),
        Case::new(
            "a certificate of another CA",
            Call::new("/").cert(&other),
            redirected(),
        ),
        Case::new(
            "a valid certificate",
            Call::new("/").cert(&valid),
            vec![Check::Status(200), Check::Location("")],
        ),
    ];
    run_both(&envoy, &pki, "errorPage", &cases);
}

/// The CA secret's `ca.crl` (nginx's `ssl_crl`) is the pasted-CRL configuration: a revoked
/// certificate is refused as nginx refuses it (400 `The SSL certificate error`), the others pass.
#[test]
fn the_ca_secrets_crl_is_enforced() {
    let pki = Pki::new();
    let good = pki.save("good", &leaf(&pki.ca, "alice", 1001));
    let revoked = pki.save("revoked", &leaf(&pki.ca, "mallory", 1002));
    let crl = pki
        .ca
        .crl(&[1002], OffsetDateTime::now_utc() + Duration::days(7));
    let envoy = start(
        &pki,
        &json!({
            "clientCertMode": "Required",
            "validation": {
                "trustedCaCertificates": [pki.ca.cert_pem()],
                "validateRevocation": true,
                "crls": [crl]
            },
            "responses": {"preset": "ingressNginx"},
            "forward": {"preset": "ingressNginx"}
        }),
    );
    let cases = [
        Case::new(
            "a certificate the CRL does not list",
            Call::new("/").cert(&good),
            vec![
                Check::Status(200),
                Check::Header("ssl-client-verify", vec!["SUCCESS".into()]),
            ],
        ),
        Case::new(
            "a revoked certificate",
            Call::new("/").cert(&revoked),
            vec![
                Check::Status(400),
                Check::Body("The SSL certificate error"),
                Check::NotUpstream,
            ],
        ),
    ];
    run_both(&envoy, &pki, "ca.crl", &cases);
    assert!(
        envoy.log().contains("reason=revoked"),
        "the log says why: {}",
        envoy.log()
    );
}
