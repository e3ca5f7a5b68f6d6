//! The adversarial suite, through the real Envoy: one or more cases per attack class of the
//! threat model (SECURITY.md). Every case states the status it expects and what the upstream
//! may see; none may reach the upstream with a forged or unjustified header, or skip
//! enforcement. Run with Envoy's path normalization on and off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rcgen::ExtendedKeyUsagePurpose;
use testkit::cases::{
    ARR, Case, Check, arr, b64, expired, normalization_label, run_both,
    with_filter_header_forgeries as forged,
};
use testkit::envoy::{Call, ClientCert, Envoy, EnvoyOptions, Pki};
use testkit::pki::{Alg, Ca};

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

/// Answered with `status`; the request did not reach the upstream.
fn nothing(status: u16) -> Vec<Check> {
    vec![Check::Status(status), Check::NotUpstream]
}

/// Answered with `status` by the upstream, which received no certificate header at all
/// (verification header `NONE` or `FAILED:*`) and nothing forged.
fn no_certificate(status: u16) -> Vec<Check> {
    vec![
        Check::Status(status),
        Check::NoForgedValue,
        Check::Header(ARR, vec![]),
        Check::Header("client-cert", vec![]),
        Check::Header("x-client-cert-subject", vec![]),
        Check::VerifyNoneOrFailed,
    ]
}

/// Answered with `status` by the upstream, which received exactly this certificate, in each
/// enabled format, and nothing forged.
fn certificate(status: u16, cert: &ClientCert) -> Vec<Check> {
    let b64 = b64(&cert.der);
    vec![
        Check::Status(status),
        Check::NoForgedValue,
        Check::Header(ARR, vec![b64.clone()]),
        Check::Header("client-cert", vec![format!(":{b64}:")]),
        Check::Header("x-client-cert-verify", vec!["SUCCESS".to_string()]),
    ]
}

/// The client identities of the suite.
struct Clients {
    valid: ClientCert,
    ops: ClientCert,
    expired: ClientCert,
    wrong_eku: ClientCert,
    look_alike: ClientCert,
}

fn cases<'a>(c: &'a Clients, oversized: &str, many: &[String]) -> Vec<Case<'a>> {
    let mut cases = vec![
        // Forged headers, every letter case, repeated, in each mode and on excluded paths.
        Case::new(
            "forged, no certificate, optional",
            forged(Call::new("/app")),
            no_certificate(200),
        ),
        Case::new(
            "forged, no certificate, excluded",
            forged(Call::new("/public/x")),
            no_certificate(200),
        ),
        Case::new(
            "forged, no certificate, required rule",
            forged(Call::new("/admin")),
            nothing(401),
        ),
        Case::new(
            "forged, valid certificate",
            forged(Call::new("/admin/x").cert(&c.valid)),
            certificate(200, &c.valid),
        ),
        Case::new(
            "forged, valid certificate, excluded",
            forged(Call::new("/public").cert(&c.valid)),
            certificate(200, &c.valid),
        ),
        Case::new(
            "forged, expired certificate, excluded",
            forged(Call::new("/healthz").cert(&c.expired)),
            no_certificate(200),
        ),
        // Path confusion against the exclusion and against the Required rule.
        Case::new(
            "dot segments out of an exclusion",
            forged(Call::new("/public/../admin")),
            nothing(401),
        ),
        Case::new(
            "encoded dot segments",
            Call::new("/public/%2e%2e/admin"),
            nothing(401),
        ),
        Case::new(
            "dot segment with parameter",
            Call::new("/public/..;/admin"),
            nothing(401),
        ),
        Case::new(
            "encoded slash",
            Call::new("/public%2f..%2fadmin"),
            nothing(401),
        ),
        Case::new(
            "encoded backslash",
            Call::new("/public%5c..%5cadmin"),
            nothing(401),
        ),
        Case::new(
            "double encoding",
            Call::new("/public/%252e%252e/admin"),
            nothing(401),
        ),
        Case::new(
            "overlong UTF-8",
            Call::new("/public/%c0%ae%c0%ae/admin"),
            nothing(401),
        ),
        Case::new(
            "case of the rule prefix",
            Call::new("/ADMIN/x"),
            nothing(401),
        ),
        Case::new(
            "query does not hide the rule",
            Call::new("/admin?/public"),
            nothing(401),
        ),
        Case::new(
            "rule on exact path, trailing parameters",
            Call::new("/login;x"),
            nothing(401),
        ),
        Case::new(
            "exact rule identity",
            Call::new("/login").cert(&c.valid),
            nothing(401),
        ),
        Case::new(
            "exact rule identity met",
            Call::new("/login").cert(&c.ops),
            certificate(200, &c.ops),
        ),
        // Hostile certificates.
        Case::new(
            "expired on a required path",
            Call::new("/admin").cert(&c.expired),
            nothing(401),
        ),
        Case::new(
            "expired on an optional path",
            Call::new("/app").cert(&c.expired),
            nothing(401),
        ),
        Case::new(
            "server-only EKU",
            Call::new("/app").cert(&c.wrong_eku),
            nothing(401),
        ),
        // Oversized and repeated headers.
        Case::new(
            "oversized forged header",
            Call::new("/app").header(oversized),
            no_certificate(200),
        ),
    ];
    let mut repeated = Call::new("/admin/x").cert(&c.valid);
    for h in many {
        repeated = repeated.header(h);
    }
    cases.push(Case::new(
        "60 forged copies (Envoy allows 100 headers)",
        repeated,
        certificate(200, &c.valid),
    ));
    // Not trusted, not checked (no validateTrust): a look-alike is forwarded as App Service
    // would, and the app sees exactly that certificate, never a forged one.
    cases.push(Case::new(
        "look-alike of the CA, forwarded unchecked",
        forged(Call::new("/app").cert(&c.look_alike)),
        vec![arr(Some(&c.look_alike))],
    ));
    cases
}

fn run_suite(no_path_normalization: bool) {
    let pki = Pki::new();
    let c = Clients {
        valid: pki.save("valid", &pki.ca.client("alice")),
        ops: pki.save("ops", &pki.ca.client("ops")),
        expired: expired(&pki, 9),
        wrong_eku: pki.save(
            "server-only",
            &pki.ca.client_with("srv", Alg::EcdsaP256, |p| {
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            }),
        ),
        look_alike: pki.save("lookalike", &Ca::new("e2e test CA").client("alice")),
    };
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
    let label = normalization_label(no_path_normalization);
    let mut cases = cases(&c, &oversized, &many);
    // An escaped ordinary letter in the excluded prefix. With normalize_path Envoy decodes it
    // (the upstream sees /public/x): excluded, and an expired certificate passes without being
    // forwarded, as on /public itself. Without it, Envoy's router and the upstream see
    // /%70ublic/x, which is not /public: the exclusion must not apply, and the expired
    // certificate is refused (it was excluded, by the decoded reading alone, before).
    let escaped = Call::new("/%70ublic/x").cert(&c.expired);
    cases.push(if no_path_normalization {
        Case::new(
            "escaped letter in an excluded prefix, not decoded by Envoy",
            escaped,
            nothing(401),
        )
    } else {
        Case::new(
            "escaped letter in an excluded prefix, decoded by Envoy",
            escaped,
            no_certificate(200),
        )
    });
    run_both(&envoy, &pki, &label, &cases);
}

#[test]
fn adversarial_suite_with_envoy_path_normalization() {
    run_suite(false);
}

#[test]
fn adversarial_suite_without_envoy_path_normalization() {
    run_suite(true);
}
