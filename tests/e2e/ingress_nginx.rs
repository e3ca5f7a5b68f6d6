//! ingress-nginx client-certificate parity (issue 23), through the real Envoy: what
//! ingress-nginx's own e2e suite asserts for its `auth-tls-*` annotations
//! (`test/e2e/annotations/authtls.go`), with the configuration each annotation maps to
//! (docs/migrating-from-ingress-nginx.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use testkit::cases::{Case, Check, plugin_options, run_both};
use testkit::core::nginx_escaped;
use testkit::envoy::{Call, Envoy, EnvoyOptions, Pki};
use testkit::pki::{Ca, leaf};
use time::{Duration, OffsetDateTime};

const ERROR_PAGE: &str = "https://auth.example.com/cert-error?from=ingress";

/// The `ssl-client-*` headers, as ingress-nginx's template names them.
const SSL_CLIENT: [&str; 4] = [
    "ssl-client-verify",
    "ssl-client-subject-dn",
    "ssl-client-issuer-dn",
    "ssl-client-cert",
];

fn start(pki: &Pki, config: &Value) -> Envoy {
    Envoy::start(pki, plugin_options(config.to_string()))
}

/// An Ingress with `auth-tls-secret` and `auth-tls-verify-client: on` (the default), as the
/// mapping writes it, with `validation` and `forward` merged into its own.
fn verify_on(pki: &Pki, validation: Value, forward: Value) -> Value {
    let mut v = json!({"trustedCaCertificates": [pki.ca.cert_pem()]});
    for (k, x) in validation.as_object().unwrap() {
        v[k] = x.clone();
    }
    let mut f = json!({"arrClientCert": false, "preset": "ingressNginx"});
    for (k, x) in forward.as_object().unwrap() {
        f[k] = x.clone();
    }
    json!({
        "clientCertMode": "Required",
        "validation": v,
        "responses": {"preset": "ingressNginx"},
        "forward": f
    })
}

/// A client certificate of the test CA whose subject prints `CN=<cn>,O=Contoso` (encoded most
/// general first, as CAs do).
fn client(pki: &Pki, cn: &str) -> testkit::envoy::ClientCert {
    let leaf = pki.ca.client_with(cn, testkit::pki::Alg::EcdsaP256, |p| {
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::OrganizationName, "Contoso");
        dn.push(rcgen::DnType::CommonName, cn);
        p.distinguished_name = dn;
    });
    pki.save(cn, &leaf)
}

/// The call with every `ssl-client-*` header forged, as spelled, upper case and with `_`.
fn forged(mut call: Call<'_>) -> Call<'_> {
    for (i, name) in SSL_CLIENT.iter().enumerate() {
        call = call.header(&format!("{name}: forged-{i}"));
        call = call.header(&format!("{}: forged-upper-{i}", name.to_ascii_uppercase()));
        call = call.header(&format!(
            "{}: forged-underscore-{i}",
            name.replace('-', "_")
        ));
    }
    call
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

/// `auth-tls-verify-client: on`: 400 without a certificate, 200 with one, and the headers
/// ingress-nginx's template sets, the certificate URL-escaped as `$ssl_client_escaped_cert`.
#[test]
fn verify_on_answers_400_without_a_certificate_and_passes_the_escaped_certificate() {
    let pki = Pki::new();
    let alice = client(&pki, "alice");
    let pem = std::fs::read_to_string(&alice.cert).unwrap();
    let escaped = nginx_escaped(&pem);
    assert!(escaped.starts_with("-----BEGIN%20CERTIFICATE-----%0A"));
    let other = pki.save("other", &Ca::new("another CA").client("alice"));
    let envoy = start(
        &pki,
        &verify_on(&pki, json!({}), json!({"passCertificate": true})),
    );
    let cases = [
        Case::new(
            "no certificate",
            forged(Call::new("/")),
            vec![
                Check::Status(400),
                Check::Body("No required SSL certificate was sent"),
                Check::NotUpstream,
            ],
        ),
        Case::new(
            "a certificate of another CA",
            forged(Call::new("/").cert(&other)),
            vec![
                Check::Status(400),
                Check::Body("The SSL certificate error"),
                Check::NotUpstream,
            ],
        ),
        Case::new(
            "a valid certificate, with forged ssl-client-* headers",
            forged(Call::new("/").cert(&alice)),
            vec![
                Check::Status(200),
                Check::NoForgedValue,
                Check::Header("ssl-client-verify", vec!["SUCCESS".into()]),
                Check::Header("ssl-client-subject-dn", vec!["CN=alice,O=Contoso".into()]),
                Check::Header(
                    "ssl-client-issuer-dn",
                    vec!["O=client-cert-auth demo,CN=e2e test CA".into()],
                ),
                Check::Header("ssl-client-cert", vec![escaped]),
                Check::Header("ssl_client_cert", vec![]),
                Check::Header("x-arr-clientcert", vec![]),
            ],
        ),
    ];
    run_both(&envoy, &pki, "verify on", &cases);
}

/// `auth-tls-match-cn` as `subjectPattern`: 403 for a mismatch, 200 when one alternative of
/// `CN=(a|b|c)` matches; and the unanchored match nginx makes.
#[test]
fn match_cn_answers_403_on_a_mismatch_and_200_for_an_alternative() {
    let pki = Pki::new();
    let authtls = client(&pki, "authtls");
    let evil = client(&pki, "authtls-evil");
    let nobody = client(&pki, "nobody");
    let with = |pattern: &str| {
        start(
            &pki,
            &verify_on(
                &pki,
                json!({"identities": [{"subjectPattern": pattern}]}),
                json!({}),
            ),
        )
    };
    let unauthorized = || {
        vec![
            Check::Status(403),
            Check::Body("client certificate unauthorized"),
            Check::NotUpstream,
        ]
    };
    let passed = || {
        vec![
            Check::Status(200),
            Check::Header("ssl-client-verify", vec!["SUCCESS".into()]),
        ]
    };
    let alternatives = with("CN=(name1|name2|authtls)");
    run_both(
        &alternatives,
        &pki,
        "CN=(name1|name2|authtls)",
        &[
            Case::new(
                "one alternative matches",
                Call::new("/").cert(&authtls),
                passed(),
            ),
            Case::new(
                "no alternative matches",
                Call::new("/").cert(&nobody),
                unauthorized(),
            ),
            // Unanchored, as nginx's `!~`: the trap lint warns about.
            Case::new(
                "a longer name contains one",
                Call::new("/").cert(&evil),
                passed(),
            ),
        ],
    );
    drop(alternatives);
    let anchored = with("^CN=authtls(,|$)");
    run_both(
        &anchored,
        &pki,
        "^CN=authtls(,|$)",
        &[
            Case::new("the name", Call::new("/").cert(&authtls), passed()),
            Case::new("a longer name", Call::new("/").cert(&evil), unauthorized()),
        ],
    );
}

/// `auth-tls-verify-client: optional` is `clientCertMode: Optional`: verified when presented,
/// requests without one pass (`ssl-client-verify: NONE`).
#[test]
fn optional_verifies_a_presented_certificate_and_passes_without_one() {
    let pki = Pki::new();
    let alice = client(&pki, "alice");
    let other = pki.save("other", &Ca::new("another CA").client("alice"));
    let mut config = verify_on(&pki, json!({}), json!({}));
    config["clientCertMode"] = json!("Optional");
    let envoy = start(&pki, &config);
    let cases = [
        Case::new(
            "no certificate",
            forged(Call::new("/")),
            vec![
                Check::Status(200),
                Check::NoForgedValue,
                Check::Header("ssl-client-verify", vec!["NONE".into()]),
                Check::Header("ssl-client-subject-dn", vec![]),
            ],
        ),
        Case::new(
            "a valid certificate",
            Call::new("/").cert(&alice),
            vec![
                Check::Status(200),
                Check::Header("ssl-client-verify", vec!["SUCCESS".into()]),
            ],
        ),
        Case::new(
            "a certificate of another CA",
            Call::new("/").cert(&other),
            vec![Check::Status(400), Check::NotUpstream],
        ),
    ];
    run_both(&envoy, &pki, "optional", &cases);
}

/// `auth-tls-verify-client: optional_no_ca` (the certificate is asked for and handed to the
/// application, which judges it) is `Optional` without the trust check and without the date
/// checks: every presented certificate is forwarded, and `ssl-client-verify` says it was not
/// verified (never `SUCCESS`).
#[test]
fn optional_no_ca_forwards_any_certificate_and_never_says_success() {
    let pki = Pki::new();
    let stranger = Ca::new("a CA nobody configured").client("stranger");
    let stranger_pem = stranger.cert_pem.clone();
    let stranger = pki.save("stranger", &stranger);
    let envoy = start(
        &pki,
        &json!({
            "clientCertMode": "Optional",
            "validation": {"validateNotBefore": false, "validateNotAfter": false},
            "responses": {"preset": "ingressNginx"},
            "forward": {"arrClientCert": false, "preset": "ingressNginx", "passCertificate": true}
        }),
    );
    let cases = [
        Case::new(
            "no certificate",
            forged(Call::new("/")),
            vec![
                Check::Status(200),
                Check::NoForgedValue,
                Check::Header("ssl-client-verify", vec!["NONE".into()]),
            ],
        ),
        Case::new(
            "a certificate of any CA",
            forged(Call::new("/").cert(&stranger)),
            vec![
                Check::Status(200),
                Check::NoForgedValue,
                Check::Header(
                    "ssl-client-verify",
                    vec!["FAILED:not verified (no trusted CA configured)".into()],
                ),
                Check::Header("ssl-client-cert", vec![nginx_escaped(&stranger_pem)]),
            ],
        ),
    ];
    run_both(&envoy, &pki, "optional_no_ca", &cases);
}

/// `auth-tls-verify-depth` as `maxChainDepth`, counted as OpenSSL counts it (the intermediates
/// between the leaf and the CA): depth 1 refuses a chain through two intermediates, which
/// depth 2 accepts; depth 0 refuses one intermediate, which depth 1 accepts.
#[test]
fn verify_depth_refuses_a_chain_longer_than_it_allows() {
    let pki = Pki::new();
    let upper = pki.ca.intermediate("upper", testkit::pki::Alg::EcdsaP256);
    let lower = upper.intermediate("lower", testkit::pki::Alg::EcdsaP256);
    let one = pki.save("one", &upper.client("one"));
    let two = pki.save("two", &lower.client("two"));
    let refused = || {
        vec![
            Check::Status(400),
            Check::Body("The SSL certificate error"),
            Check::NotUpstream,
        ]
    };
    let served = || vec![Check::Status(200)];
    for (depth, cases) in [
        (0, vec![("one", &one, refused()), ("two", &two, refused())]),
        (1, vec![("one", &one, served()), ("two", &two, refused())]),
        (2, vec![("one", &one, served()), ("two", &two, served())]),
    ] {
        let envoy = start(
            &pki,
            &verify_on(
                &pki,
                json!({
                    "intermediateCertificates": [upper.cert_pem(), lower.cert_pem()],
                    "maxChainDepth": depth
                }),
                json!({}),
            ),
        );
        let cases: Vec<Case<'_>> = cases
            .into_iter()
            .map(|(what, cert, checks)| {
                Case::new(
                    format!("{what} intermediate(s)"),
                    Call::new("/").cert(cert),
                    checks,
                )
            })
            .collect();
        run_both(&envoy, &pki, &format!("maxChainDepth {depth}"), &cases);
        if depth < 2 {
            assert!(
                envoy.log().contains("reason=chain_too_long"),
                "the log says why: {}",
                envoy.log()
            );
        }
    }
}

/// Per path, which ingress-nginx never could: two Ingresses of one host with different
/// `auth-tls-*` annotations become rules on their paths.
#[test]
fn two_ingresses_of_one_host_become_rules_on_their_paths() {
    let pki = Pki::new();
    let alice = client(&pki, "alice");
    let mut config = verify_on(&pki, json!({}), json!({}));
    config["clientCertMode"] = json!("Ignore");
    config["rules"] = json!([
        {"pathPrefix": "/admin", "mode": "Required", "identities": [{"subjectPattern": "^CN=admin(,|$)"}]},
        {"pathPrefix": "/app", "mode": "Optional"}
    ]);
    let envoy = Envoy::start(
        &pki,
        EnvoyOptions {
            plugin_config: Some(config.to_string()),
            ..EnvoyOptions::default()
        },
    );
    let cases = [
        Case::new(
            "/app without a certificate",
            Call::new("/app/x"),
            vec![Check::Status(200)],
        ),
        Case::new(
            "/admin without a certificate",
            Call::new("/admin/x"),
            vec![Check::Status(400), Check::NotUpstream],
        ),
        Case::new(
            "/admin with alice",
            Call::new("/admin/x").cert(&alice),
            vec![Check::Status(403), Check::NotUpstream],
        ),
        Case::new(
            "/app with alice",
            Call::new("/app/x").cert(&alice),
            vec![
                Check::Status(200),
                Check::Header("ssl-client-subject-dn", vec!["CN=alice,O=Contoso".into()]),
            ],
        ),
    ];
    run_both(&envoy, &pki, "per path", &cases);
}

/// `client-cert-auth import ingress-nginx`, end to end: an Ingress with `auth-tls-*`
/// annotations imported, and Envoy run with the plugin configuration it produced.
#[test]
fn an_imported_ingress_behaves_in_envoy_as_ingress_nginx_did() {
    let pki = Pki::new();
    let admin = client(&pki, "admin");
    let alice = client(&pki, "alice");
    let admin_pem = std::fs::read_to_string(&admin.cert).unwrap();
    let manifest = r#"apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  namespace: default
  annotations:
    nginx.ingress.kubernetes.io/auth-tls-secret: default/ca-secret
    nginx.ingress.kubernetes.io/auth-tls-verify-client: "on"
    nginx.ingress.kubernetes.io/auth-tls-match-cn: "CN=(admin|ops)"
    nginx.ingress.kubernetes.io/auth-tls-pass-certificate-to-upstream: "true"
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /admin
        pathType: Prefix
        backend: {service: {name: web, port: {number: 80}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: public
  namespace: default
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /app
        pathType: Prefix
        backend: {service: {name: web, port: {number: 80}}}
"#;
    let file = pki.dir.write("ingress.yaml", manifest);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_client-cert-auth"))
        .args(["import", "ingress-nginx", "--config-only", "--ca"])
        .arg(pki.dir.0.join("ca.pem"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = String::from_utf8(out.stdout).unwrap();
    let envoy = Envoy::start(&pki, plugin_options(config));
    let host = "shop.example.com";
    let cases = [
        Case::new(
            "/admin without a certificate",
            Call::new("/admin").authority(host),
            vec![
                Check::Status(400),
                Check::Body("No required SSL certificate was sent"),
                Check::NotUpstream,
            ],
        ),
        Case::new(
            "/admin as admin",
            forged(Call::new("/admin/x").authority(host).cert(&admin)),
            vec![
                Check::Status(200),
                Check::NoForgedValue,
                Check::Header("ssl-client-verify", vec!["SUCCESS".into()]),
                Check::Header("ssl-client-cert", vec![nginx_escaped(&admin_pem)]),
            ],
        ),
        Case::new(
            "/admin as alice",
            Call::new("/admin").authority(host).cert(&alice),
            vec![
                Check::Status(403),
                Check::Body("client certificate unauthorized"),
                Check::NotUpstream,
            ],
        ),
        Case::new(
            "/app of the Ingress without auth-tls",
            forged(Call::new("/app").authority(host)),
            vec![Check::Status(200), Check::NoForgedValue],
        ),
        Case::new(
            "a host spelt with its port: the strictest mode, not a way around",
            Call::new("/admin").authority("shop.example.com:443"),
            vec![Check::Status(400), Check::NotUpstream],
        ),
    ];
    run_both(&envoy, &pki, "imported", &cases);
}
