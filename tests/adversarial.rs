//! The adversarial suite, through the real Envoy: one or more cases per attack class of the
//! threat model (SECURITY.md). Every case states the status it expects and what the upstream
//! may see; none may reach the upstream with a forged or unjustified header, or skip
//! enforcement. Run with Envoy's path normalization on and off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::envoy::{Call, ClientCert, Envoy, EnvoyOptions, Http, Pki, Response, curl};
use common::pki::{Alg, Ca};
use rcgen::ExtendedKeyUsagePurpose;
use time::{Duration, OffsetDateTime};

/// Every header the configuration below can set, in one spelling each.
const FILTER_HEADERS: [&str; 7] = [
    "X-ARR-ClientCert",
    "Client-Cert",
    "Client-Cert-Chain",
    "X-Client-Cert-Subject",
    "X-Client-Cert-Verify",
    "X-Client-Cert-Sha256",
    "X-Client-Cert-Not-After",
];

const CONFIG: &str = r#"{
  "clientCertMode": "Optional",
  "clientCertExclusionPaths": "/public;/healthz",
  "rules": [
    {"pathPrefix": "/admin", "mode": "Required"},
    {"pathExact": "/login", "mode": "Required", "identities": [{"commonName": "ops"}]}
  ],
  "validation": {"requireClientAuthEku": true},
  "forward": {"arrClientCert": true, "rfc9440": true, "infoHeaders": true}
}"#;

/// What the upstream may see.
enum Upstream {
    /// The request must not reach it.
    Nothing,
    /// It arrives with no certificate header at all (verification header `NONE` or `FAILED:*`).
    NoCertificate,
    /// It arrives with exactly this certificate, in each enabled format.
    Certificate,
}

struct Case<'a> {
    what: &'a str,
    call: Call<'a>,
    status: u16,
    upstream: Upstream,
}

fn forged(mut call: Call<'_>) -> Call<'_> {
    for (i, name) in FILTER_HEADERS.iter().enumerate() {
        call = call.header(&format!("{name}: forged-{i}"));
        call = call.header(&format!("{}: forged-lower-{i}", name.to_ascii_lowercase()));
        call = call.header(&format!("{}: forged-upper-{i}", name.to_ascii_uppercase()));
        // CGI-style upstreams read `X_ARR_ClientCert` as `X-ARR-ClientCert`.
        call = call.header(&format!(
            "{}: forged-underscore-{i}",
            name.replace('-', "_")
        ));
    }
    call
}

fn check(r: &Response, case: &Case<'_>, cert: Option<&ClientCert>, label: &str) {
    assert_eq!(r.status, case.status, "{label}: {} -> {r:?}", case.what);
    let seen_forged = |r: &Response| {
        r.upstream_headers()
            .into_iter()
            .filter(|(_, v)| v.starts_with("forged"))
            .collect::<Vec<_>>()
    };
    match case.upstream {
        Upstream::Nothing => assert!(
            !r.body.contains("\"headers\""),
            "{label}: {} reached the upstream: {}",
            case.what,
            r.body
        ),
        Upstream::NoCertificate => {
            assert!(
                seen_forged(r).is_empty(),
                "{label}: {} forged headers arrived",
                case.what
            );
            for name in ["x-arr-clientcert", "client-cert", "x-client-cert-subject"] {
                assert!(
                    r.upstream_header(name).is_empty(),
                    "{label}: {} {name}",
                    case.what
                );
            }
            let verify = r.upstream_header("x-client-cert-verify");
            assert!(
                verify == ["NONE"] || (verify.len() == 1 && verify[0].starts_with("FAILED:")),
                "{label}: {} verify {verify:?}",
                case.what
            );
        }
        Upstream::Certificate => {
            let cert = cert.expect("a certificate case");
            let b64 = STANDARD.encode(&cert.der);
            assert!(
                seen_forged(r).is_empty(),
                "{label}: {} forged headers arrived",
                case.what
            );
            assert_eq!(
                r.upstream_header("x-arr-clientcert"),
                vec![b64.clone()],
                "{label}: {}",
                case.what
            );
            assert_eq!(
                r.upstream_header("client-cert"),
                vec![format!(":{b64}:")],
                "{label}: {}",
                case.what
            );
            assert_eq!(
                r.upstream_header("x-client-cert-verify"),
                vec!["SUCCESS"],
                "{label}: {}",
                case.what
            );
        }
    }
}

fn run_suite(no_path_normalization: bool) {
    let pki = Pki::new();
    let now = OffsetDateTime::now_utc();
    let valid = pki.save("valid", &pki.ca.client("alice"));
    let ops = pki.save("ops", &pki.ca.client("ops"));
    let expired = pki.save(
        "expired",
        &pki.ca
            .client_between("old", now - Duration::days(9), now - Duration::days(1)),
    );
    let wrong_eku = pki.save(
        "server-only",
        &pki.ca.client_with("srv", Alg::EcdsaP256, |p| {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }),
    );
    let look_alike = pki.save("lookalike", &Ca::new("e2e test CA").client("alice"));
    let envoy = Envoy::start(
        &pki,
        EnvoyOptions {
            plugin_config: Some(CONFIG.to_string()),
            no_path_normalization,
            ..EnvoyOptions::default()
        },
    );
    let big = "A".repeat(50_000);
    let oversized = format!("X-ARR-ClientCert: {big}");
    let many: Vec<String> = (0..60)
        .map(|i| format!("x-arr-clientcert: forged-many-{i}"))
        .collect();
    let label = format!(
        "normalization {}",
        if no_path_normalization { "off" } else { "on" }
    );
    for http in [Http::V1, Http::V2] {
        let mut cases = vec![
            // Forged headers, every letter case, repeated, in each mode and on excluded paths.
            Case {
                what: "forged, no certificate, optional",
                call: forged(Call::new("/app")),
                status: 200,
                upstream: Upstream::NoCertificate,
            },
            Case {
                what: "forged, no certificate, excluded",
                call: forged(Call::new("/public/x")),
                status: 200,
                upstream: Upstream::NoCertificate,
            },
            Case {
                what: "forged, no certificate, required rule",
                call: forged(Call::new("/admin")),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "forged, valid certificate",
                call: forged(Call::new("/admin/x").cert(&valid)),
                status: 200,
                upstream: Upstream::Certificate,
            },
            Case {
                what: "forged, valid certificate, excluded",
                call: forged(Call::new("/public").cert(&valid)),
                status: 200,
                upstream: Upstream::Certificate,
            },
            Case {
                what: "forged, expired certificate, excluded",
                call: forged(Call::new("/healthz").cert(&expired)),
                status: 200,
                upstream: Upstream::NoCertificate,
            },
            // Path confusion against the exclusion and against the Required rule.
            Case {
                what: "dot segments out of an exclusion",
                call: forged(Call::new("/public/../admin")),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "encoded dot segments",
                call: Call::new("/public/%2e%2e/admin"),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "dot segment with parameter",
                call: Call::new("/public/..;/admin"),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "encoded slash",
                call: Call::new("/public%2f..%2fadmin"),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "encoded backslash",
                call: Call::new("/public%5c..%5cadmin"),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "double encoding",
                call: Call::new("/public/%252e%252e/admin"),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "overlong UTF-8",
                call: Call::new("/public/%c0%ae%c0%ae/admin"),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "case of the rule prefix",
                call: Call::new("/ADMIN/x"),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "query does not hide the rule",
                call: Call::new("/admin?/public"),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "rule on exact path, trailing parameters",
                call: Call::new("/login;x"),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "exact rule identity",
                call: Call::new("/login").cert(&valid),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "exact rule identity met",
                call: Call::new("/login").cert(&ops),
                status: 200,
                upstream: Upstream::Certificate,
            },
            // Hostile certificates.
            Case {
                what: "expired on a required path",
                call: Call::new("/admin").cert(&expired),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "expired on an optional path",
                call: Call::new("/app").cert(&expired),
                status: 401,
                upstream: Upstream::Nothing,
            },
            Case {
                what: "server-only EKU",
                call: Call::new("/app").cert(&wrong_eku),
                status: 401,
                upstream: Upstream::Nothing,
            },
            // Oversized and repeated headers.
            Case {
                what: "oversized forged header",
                call: Call::new("/app").header(&oversized),
                status: 200,
                upstream: Upstream::NoCertificate,
            },
        ];
        let mut repeated = Call::new("/admin/x").cert(&valid);
        for h in &many {
            repeated = repeated.header(h);
        }
        cases.push(Case {
            what: "60 forged copies (Envoy allows 100 headers)",
            call: repeated,
            status: 200,
            upstream: Upstream::Certificate,
        });
        for case in cases {
            let cert = case.call.cert;
            let r = curl(
                &envoy,
                &pki,
                &Call {
                    http,
                    ..case.call.clone()
                },
            );
            check(&r, &case, cert, &format!("{label} {http:?}"));
        }
        // Not trusted, not checked (no validateTrust): a look-alike is forwarded as App Service
        // would, and the app sees exactly that certificate, never a forged one.
        let r = curl(
            &envoy,
            &pki,
            &forged(Call::new("/app").cert(&look_alike)).http(http),
        );
        assert_eq!(
            r.upstream_header("x-arr-clientcert"),
            vec![STANDARD.encode(&look_alike.der)]
        );
    }
}

#[test]
fn adversarial_suite_with_envoy_path_normalization() {
    run_suite(false);
}

#[test]
fn adversarial_suite_without_envoy_path_normalization() {
    run_suite(true);
}
