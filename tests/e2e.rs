//! End-to-end: the built module in the real Envoy, in front of the echo upstream, driven by curl
//! over HTTP/1.1 and HTTP/2 with certificates generated for the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::envoy::{Call, ClientCert, Envoy, EnvoyOptions, Http, Pki, Response, curl};
use common::pki::Ca;
use time::{Duration, OffsetDateTime};

const ARR: &str = "x-arr-clientcert";

/// The client identities every scenario uses.
struct Clients {
    valid: ClientCert,
    expired: ClientCert,
    not_yet_valid: ClientCert,
    /// Valid dates, issued by a CA Envoy does not trust: App Service forwards it all the same.
    other_ca: ClientCert,
}

fn clients(pki: &Pki) -> Clients {
    let now = OffsetDateTime::now_utc();
    let other = Ca::new("some other CA");
    Clients {
        valid: pki.save("valid", &pki.ca.client("alice")),
        expired: pki.save(
            "expired",
            &pki.ca
                .client_between("old", now - Duration::days(30), now - Duration::days(1)),
        ),
        not_yet_valid: pki.save(
            "notyet",
            &pki.ca
                .client_between("early", now + Duration::days(1), now + Duration::days(30)),
        ),
        other_ca: pki.save("other", &other.client("mallory")),
    }
}

fn sha256_hex(der: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn b64(der: &[u8]) -> String {
    STANDARD.encode(der)
}

/// The request reached the upstream, which saw exactly this `X-ARR-ClientCert` (or none).
fn assert_forwarded(r: &Response, expected: Option<&ClientCert>, what: &str) {
    assert_eq!(
        r.status, 200,
        "{what}: expected the upstream's 200, got {r:?}"
    );
    let seen = r.upstream_header(ARR);
    match expected {
        Some(cert) => assert_eq!(seen, vec![b64(&cert.der)], "{what}: forwarded header"),
        None => assert!(seen.is_empty(), "{what}: upstream saw {seen:?}"),
    }
}

/// The filter answered locally; nothing reached the upstream.
fn assert_denied(r: &Response, body: &str, what: &str) {
    assert_eq!(r.status, 401, "{what}: expected 401, got {r:?}");
    assert_eq!(r.body.trim(), body, "{what}: reply body");
}

const FORGERIES: [&str; 4] = [
    "X-ARR-ClientCert: forged",
    "x-arr-clientcert: forged-lower",
    "X-Arr-Clientcert: forged-mixed",
    "X-ARR-CLIENTCERT: forged-upper",
];

fn with_forgeries<'a>(mut call: Call<'a>) -> Call<'a> {
    for forged in FORGERIES {
        call = call.header(forged);
    }
    call
}

#[test]
fn repository_envoy_yaml_enforces_required_mode_with_exclusions() {
    let pki = Pki::new();
    let c = clients(&pki);
    // The plugin configuration is the one committed in envoy.yaml:
    // Required, exclusions "/public;/healthz".
    let envoy = Envoy::start(&pki, EnvoyOptions::default());
    for http in [Http::V1, Http::V2] {
        let go = |call: Call<'_>| curl(&envoy, &pki, &call.http(http));
        let w = |s: &str| format!("{s} over {http:?}");

        assert_denied(
            &go(Call::new("/hello")),
            "client certificate required",
            &w("missing certificate"),
        );
        assert_denied(
            &go(with_forgeries(Call::new("/hello"))),
            "client certificate required",
            &w("missing certificate with a forged header"),
        );
        assert_forwarded(
            &go(Call::new("/hello").cert(&c.valid)),
            Some(&c.valid),
            &w("valid"),
        );
        assert_forwarded(
            &go(with_forgeries(Call::new("/hello?x=1").cert(&c.valid))),
            Some(&c.valid),
            &w("valid certificate, every forged copy replaced"),
        );
        assert_forwarded(
            &go(Call::new("/api").cert(&c.other_ca)),
            Some(&c.other_ca),
            &w("certificate of an unknown CA is forwarded, as App Service does"),
        );
        assert_denied(
            &go(Call::new("/hello").cert(&c.expired)),
            "client certificate invalid",
            &w("expired"),
        );
        assert_denied(
            &go(Call::new("/hello").cert(&c.not_yet_valid)),
            "client certificate invalid",
            &w("not yet valid"),
        );

        for excluded in [
            "/public",
            "/public/",
            "/public/a/b",
            "/PUBLIC/x",
            "/Public?x=1",
            "/healthz",
        ] {
            let r = go(with_forgeries(Call::new(excluded)));
            assert_forwarded(
                &r,
                None,
                &w(&format!("excluded {excluded} without certificate")),
            );
            assert_eq!(
                r.upstream_path(),
                excluded,
                "{}",
                w("path reaches upstream as sent")
            );
            assert_forwarded(
                &go(Call::new(excluded).cert(&c.valid)),
                Some(&c.valid),
                &w(&format!(
                    "excluded {excluded} still forwards a valid certificate"
                )),
            );
            assert_forwarded(
                &go(with_forgeries(Call::new(excluded).cert(&c.expired))),
                None,
                &w(&format!(
                    "excluded {excluded} passes an expired certificate unforwarded"
                )),
            );
        }
        for not_excluded in ["/publicity", "/healthzz", "/api/public"] {
            assert_denied(
                &go(Call::new(not_excluded)),
                "client certificate required",
                &w(&format!("{not_excluded} is not under an exclusion")),
            );
        }
    }
    let log = envoy.log();
    assert!(
        log.contains("[info][wasm]")
            && log.contains(
                "denied status=401 reason=missing path=\"/hello\" cert_sha256=- detail=\"client certificate required"
            ),
        "one structured line per denial at info level"
    );
    let expired_sha = sha256_hex(&c.expired.der);
    assert!(
        log.contains(&format!(
            "reason=expired path=\"/hello\" cert_sha256={expired_sha} detail=\"client certificate invalid (expired)"
        )),
        "expiry reason logged with the certificate's digest"
    );
    assert!(
        log.contains("reason=not_yet_valid"),
        "not-yet-valid reason logged"
    );
}

/// Request targets an upstream could resolve outside `/public`, or that are not unambiguously
/// under it. None may skip enforcement.
const PATH_TRICKS: [&str; 22] = [
    "/public/../admin",
    "/public/./../admin",
    "/public/%2e%2e/admin",
    "/public/%2E%2E/admin",
    "/public/.%2e/admin",
    "/public/%2e./admin",
    "/public/..;/admin",
    "/public;/../admin",
    "/public;x=1/../admin",
    "/public/%2e%2e;/admin",
    "/public%2f..%2fadmin",
    "/public%2F..%2Fadmin",
    "/public/..%2fadmin",
    "/public\\..\\admin",
    "/public%5c..%5cadmin",
    "/public/%252e%252e/admin",
    "/public/%c0%ae%c0%ae/admin",
    "/public%00/../admin",
    "//public/../admin",
    "/publicity",
    "/public%2fx",
    "/x/../public/../admin",
];

fn path_tricks_never_skip_enforcement(no_path_normalization: bool) {
    let pki = Pki::new();
    let c = clients(&pki);
    let envoy = Envoy::start(
        &pki,
        EnvoyOptions {
            no_path_normalization,
            ..EnvoyOptions::default()
        },
    );
    for http in [Http::V1, Http::V2] {
        for target in PATH_TRICKS {
            let r = curl(&envoy, &pki, &with_forgeries(Call::new(target)).http(http));
            // 401 from the filter, or 400 where Envoy itself refuses the request line: either
            // way the upstream never sees it.
            assert!(
                r.status == 401 || r.status == 400,
                "{target} over {http:?} (normalization {}) must not reach the upstream without a \
                 certificate: {r:?}",
                !no_path_normalization
            );
            // With a valid certificate the same request is forwarded with the real header only.
            let r = curl(
                &envoy,
                &pki,
                &with_forgeries(Call::new(target).cert(&c.valid)).http(http),
            );
            if r.status == 200 {
                assert_forwarded(&r, Some(&c.valid), target);
            }
        }
        // A plain excluded path still works in the same setup.
        assert_forwarded(
            &curl(&envoy, &pki, &Call::new("/public/ok").http(http)),
            None,
            "plain excluded path",
        );
    }
}

#[test]
fn path_tricks_never_skip_enforcement_with_envoy_normalization() {
    path_tricks_never_skip_enforcement(false);
}

#[test]
fn path_tricks_never_skip_enforcement_without_envoy_normalization() {
    path_tricks_never_skip_enforcement(true);
}

#[test]
fn optional_modes_pass_without_certificate_and_reject_invalid_ones() {
    let pki = Pki::new();
    let c = clients(&pki);
    for mode in ["Optional", "OptionalInteractiveUser", "optional"] {
        let envoy = Envoy::start(
            &pki,
            EnvoyOptions {
                plugin_config: Some(format!(r#"{{"clientCertMode": "{mode}"}}"#)),
                ..EnvoyOptions::default()
            },
        );
        for http in [Http::V1, Http::V2] {
            let go = |call: Call<'_>| curl(&envoy, &pki, &call.http(http));
            let w = |s: &str| format!("{mode}: {s} over {http:?}");
            assert_forwarded(
                &go(with_forgeries(Call::new("/x"))),
                None,
                &w("no certificate"),
            );
            assert_forwarded(
                &go(with_forgeries(Call::new("/x").cert(&c.valid))),
                Some(&c.valid),
                &w("valid"),
            );
            assert_denied(
                &go(Call::new("/x").cert(&c.expired)),
                "client certificate invalid",
                &w("expired"),
            );
            assert_denied(
                &go(Call::new("/x").cert(&c.not_yet_valid)),
                "client certificate invalid",
                &w("not yet valid"),
            );
        }
    }
}

#[test]
fn disabled_filter_only_strips_the_client_header() {
    let pki = Pki::new();
    let c = clients(&pki);
    for config in [
        r#"{"clientCertEnabled": false, "clientCertMode": "Required"}"#,
        r#"{"clientCertMode": "Ignore"}"#,
    ] {
        let envoy = Envoy::start(
            &pki,
            EnvoyOptions {
                plugin_config: Some(config.to_string()),
                ..EnvoyOptions::default()
            },
        );
        for http in [Http::V1, Http::V2] {
            let go = |call: Call<'_>| curl(&envoy, &pki, &call.http(http));
            let w = |s: &str| format!("{config}: {s} over {http:?}");
            assert_forwarded(
                &go(with_forgeries(Call::new("/x"))),
                None,
                &w("no certificate"),
            );
            assert_forwarded(
                &go(with_forgeries(Call::new("/x").cert(&c.valid))),
                None,
                &w("valid certificate is not forwarded"),
            );
            assert_forwarded(
                &go(Call::new("/x").cert(&c.expired)),
                None,
                &w("expired certificate is not judged"),
            );
        }
    }
}

#[test]
fn bad_configuration_keeps_envoy_from_serving() {
    let pki = Pki::new();
    let cases = [
        (
            r#"{"clientCertMode": "Requird"}"#,
            "clientCertMode: unknown mode \"Requird\"",
        ),
        (
            r#"{"clientCertEnabled": "yes"}"#,
            "clientCertEnabled: invalid type",
        ),
        (
            r#"{"clientCertExclusionPaths": "/ok;public"}"#,
            "clientCertExclusionPaths[1]: \"public\" does not start with '/'",
        ),
        (
            r#"{"clientCertModes": "Required"}"#,
            "unknown field `clientCertModes`",
        ),
        (
            r#"{"clientCertMode": "Required""#,
            "configuration is not valid",
        ),
    ];
    for (config, message) in cases {
        let started = Envoy::try_start(
            &pki,
            EnvoyOptions {
                plugin_config: Some(config.to_string()),
                ..EnvoyOptions::default()
            },
        );
        let failure = match started {
            Ok(envoy) => panic!(
                "Envoy served with the bad configuration {config}. Log:\n{}",
                envoy.log()
            ),
            Err(failure) => failure,
        };
        assert!(
            failure.exit_status.is_some_and(|s| !s.success()),
            "{config}: Envoy must exit with an error, got {:?}",
            failure.exit_status
        );
        assert!(
            failure.log.contains(message),
            "{config}: the log must name the problem ({message}). Log:\n{}",
            failure.log
        );
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", failure.port)).is_err(),
            "{config}: nothing may listen (and pass requests) after a refused configuration"
        );
    }
}

#[test]
fn validation_in_envoy_trusts_revokes_matches_identities_and_caches_verdicts() {
    use common::pki::Alg;
    use rcgen::SerialNumber;
    let pki = Pki::new();
    let root = &pki.ca;
    let inter = root.intermediate("e2e issuing CA", Alg::EcdsaP256);
    let serial = |n: u64| {
        move |p: &mut rcgen::CertificateParams| p.serial_number = Some(SerialNumber::from(n))
    };
    let alice = pki.save(
        "alice",
        &inter.client_with("alice", Alg::EcdsaP256, serial(100)),
    );
    let alice_revoked = pki.save(
        "alice-revoked",
        &inter.client_with("alice", Alg::EcdsaP256, serial(101)),
    );
    let bob_rsa = pki.save("bob", &inter.client_with("bob", Alg::Rsa2048, serial(102)));
    let mallory = pki.save(
        "mallory",
        &inter.client_with("mallory", Alg::EcdsaP256, serial(103)),
    );
    let stranger = pki.save("stranger", &Ca::new("e2e issuing CA").client("alice"));
    let later = OffsetDateTime::now_utc() + Duration::days(7);
    let config = serde_json::json!({
        "clientCertMode": "Required",
        "validation": {
            "validateTrust": true,
            "trustedCaCertificates": [root.cert_pem()],
            "intermediateCertificates": [inter.cert_pem()],
            "validateRevocation": true,
            "crls": [root.crl(&[], later), inter.crl(&[101], later)],
            "requireClientAuthEku": true,
            "identities": [
                {"commonName": "alice", "issuerSubject": "CN=e2e issuing CA, O=client-cert-auth demo"},
                {"commonName": "bob"}
            ]
        }
    });
    let envoy = Envoy::start(
        &pki,
        EnvoyOptions {
            plugin_config: Some(serde_json::to_string_pretty(&config).unwrap()),
            ..EnvoyOptions::default()
        },
    );
    for http in [Http::V1, Http::V2] {
        let go = |call: Call<'_>| curl(&envoy, &pki, &call.http(http));
        let w = |s: &str| format!("{s} over {http:?}");
        for _ in 0..2 {
            assert_forwarded(
                &go(with_forgeries(Call::new("/a").cert(&alice))),
                Some(&alice),
                &w("alice"),
            );
        }
        assert_forwarded(
            &go(Call::new("/a").cert(&bob_rsa)),
            Some(&bob_rsa),
            &w("bob, RSA"),
        );
        for (cert, what) in [
            (&alice_revoked, "revoked"),
            (&mallory, "identity not matched"),
            (&stranger, "look-alike issuer"),
            (&c_expired(&pki, &inter), "expired"),
        ] {
            assert_denied(
                &go(Call::new("/a").cert(cert)),
                "client certificate invalid",
                &w(what),
            );
        }
    }
    let log = envoy.log();
    for reason in [
        "(revoked)",
        "(identity_not_matched)",
        "(untrusted)",
        "(expired)",
    ] {
        assert!(
            log.contains(&format!("client certificate invalid {reason}")),
            "{reason} logged"
        );
    }
    // Five distinct certificates (plus one expired one per protocol round, each fresh) were
    // judged afresh once each; every repeat came from the cache.
    assert!(
        log.contains("verdict cache miss: certificate judged in"),
        "first sight logged"
    );
    let misses = envoy.counter("wasmcustom.client_cert_auth.cache_misses") as usize;
    assert_eq!(
        misses,
        5 + 2,
        "one full judgement per distinct certificate. Log:\n{log}"
    );
}

fn c_expired(pki: &Pki, ca: &Ca) -> ClientCert {
    let now = OffsetDateTime::now_utc();
    pki.save(
        "late",
        &ca.client_between("alice", now - Duration::days(30), now - Duration::days(1)),
    )
}

#[test]
fn rules_formats_responses_and_stats_in_envoy() {
    let pki = Pki::new();
    let c = clients(&pki);
    let config = serde_json::json!({
        "clientCertMode": "Optional",
        "clientCertExclusionPaths": "/public",
        "rules": [
            {"pathPrefix": "/admin", "methods": ["POST"], "mode": "Required",
             "identities": [{"commonName": "ops"}]},
            {"pathPrefix": "/admin", "mode": "Required"},
            {"pathExact": "/open", "mode": "Ignore"}
        ],
        "forward": {"rfc9440": true, "infoHeaders": true},
        "responses": {"preset": "appService", "invalid": {"format": "json", "body": "Invalid client certificate"}}
    });
    let envoy = Envoy::start(
        &pki,
        EnvoyOptions {
            plugin_config: Some(serde_json::to_string_pretty(&config).unwrap()),
            no_path_normalization: true,
            ..EnvoyOptions::default()
        },
    );
    let ops = pki.save("ops", &pki.ca.client("ops"));
    for http in [Http::V1, Http::V2] {
        let go = |call: Call<'_>| curl(&envoy, &pki, &call.http(http));
        let w = |s: &str| format!("{s} over {http:?}");
        // Optional by default: no certificate passes, with the verification header NONE.
        let r = go(Call::new("/app")
            .header("X-Client-Cert-Verify: SUCCESS")
            .header("Client-Cert: :Zm9yZ2Vk:"));
        assert_eq!(r.status, 200, "{}", w("optional"));
        assert_eq!(
            r.upstream_header("x-client-cert-verify"),
            vec!["NONE"],
            "{}",
            w("verify")
        );
        assert!(
            r.upstream_header("client-cert").is_empty(),
            "{}",
            w("forged Client-Cert removed")
        );
        // Required under /admin: App Service's 403 for a missing certificate.
        let r = go(Call::new("/admin/x"));
        assert_eq!(
            (r.status, r.body.trim()),
            (403, "Client Certificate Required"),
            "{}",
            w("admin")
        );
        let r = go(Call::new("/public/../admin/x"));
        assert_eq!(
            r.status,
            403,
            "{}",
            w("a crafted path does not select the weaker default")
        );
        // POST /admin needs the ops identity: JSON body for the invalid class.
        let r = go(Call::new("/admin/x").cert(&c.valid));
        assert_eq!(
            r.status,
            200,
            "{}",
            w("GET admin with any valid certificate")
        );
        let r = curl(
            &envoy,
            &pki,
            &Call::new("/admin/x")
                .cert(&c.valid)
                .http(http)
                .method("POST"),
        );
        assert_eq!(r.status, 401, "{}", w("POST admin as alice"));
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"statusCode": 401, "message": "Invalid client certificate"})
        );
        let r = curl(
            &envoy,
            &pki,
            &Call::new("/admin/x").cert(&ops).http(http).method("POST"),
        );
        assert_eq!(r.status, 200, "{}", w("POST admin as ops"));
        // Every format arrives upstream, and only the filter's values.
        let b64 = b64(&ops.der);
        assert_eq!(r.upstream_header("x-arr-clientcert"), vec![b64.clone()]);
        assert_eq!(r.upstream_header("client-cert"), vec![format!(":{b64}:")]);
        assert_eq!(r.upstream_header("x-client-cert-verify"), vec!["SUCCESS"]);
        assert_eq!(
            r.upstream_header("x-client-cert-subject"),
            vec!["O=client-cert-auth demo,CN=ops"]
        );
        assert_eq!(
            r.upstream_header("x-client-cert-sha256"),
            vec![sha256_hex(&ops.der).to_uppercase()]
        );
        // Ignore on one exact path: an expired certificate is not even looked at.
        let r = go(Call::new("/open").cert(&c.expired));
        assert_forwarded(&r, None, &w("ignored path"));
        assert!(
            r.upstream_header("x-client-cert-verify").is_empty(),
            "{}",
            w("nothing set when disabled")
        );
    }
    // The counters moved, and are on the admin /stats page.
    let stats = envoy.stats("client_cert_auth");
    assert!(!stats.is_empty(), "client_cert_auth counters on /stats");
    // Per protocol: 2 missing, 1 identity mismatch, 2 forwarded, 2 passed; the two
    // certificates are judged once each, every other presentation is a cache hit.
    for (name, expected) in [
        ("wasmcustom.client_cert_auth.denied.missing", 4),
        ("wasmcustom.client_cert_auth.denied.identity_not_matched", 2),
        ("wasmcustom.client_cert_auth.denied.expired", 0),
        ("wasmcustom.client_cert_auth.forwarded", 4),
        ("wasmcustom.client_cert_auth.passed", 4),
        ("wasmcustom.client_cert_auth.cache_misses", 2),
        ("wasmcustom.client_cert_auth.cache_hits", 4),
    ] {
        assert_eq!(envoy.counter(name), expected, "{name}: {stats:?}");
    }
}

#[test]
fn xfcc_source_behind_a_sanitize_set_connection_manager() {
    let pki = Pki::new();
    let c = clients(&pki);
    let envoy = Envoy::start(
        &pki,
        EnvoyOptions {
            plugin_config: Some(r#"{"certificateSource": "xfcc", "forward": {"rfc9440": true}}"#.to_string()),
            connection_manager: vec![
                "forward_client_cert_details: SANITIZE_SET".to_string(),
                "set_current_client_cert_details: { cert: true, chain: true, subject: true, uri: true, dns: true }".to_string(),
            ],
            ..EnvoyOptions::default()
        },
    );
    let forged = format!(
        "X-Forwarded-Client-Cert: Hash=00;Cert=\"{}\"",
        c.valid.cert.display()
    );
    for http in [Http::V1, Http::V2] {
        let go = |call: Call<'_>| curl(&envoy, &pki, &call.http(http));
        let w = |s: &str| format!("{s} over {http:?}");
        let r = go(with_forgeries(Call::new("/x").cert(&c.valid)).header(&forged));
        assert_forwarded(&r, Some(&c.valid), &w("certificate from XFCC"));
        assert!(
            r.upstream_header("x-forwarded-client-cert").is_empty(),
            "{}",
            w("XFCC stripped")
        );
        assert_eq!(
            r.upstream_header("client-cert"),
            vec![format!(":{}:", b64(&c.valid.der))]
        );
        // No certificate, forged XFCC: the connection manager drops it; the filter sees none.
        let r = go(Call::new("/x").header(&forged));
        assert_denied(
            &r,
            "client certificate required",
            &w("forged XFCC without mTLS"),
        );
        assert_denied(
            &go(Call::new("/x").cert(&c.expired)),
            "client certificate invalid",
            &w("expired via XFCC"),
        );
    }
}

#[test]
fn repository_envoy_configuration_passes_envoy_validate_with_the_built_module() {
    use common::envoy::{TempDir, envoy_bin, free_port, render_config};
    let pki = Pki::new();
    let dir = TempDir::new("validate");
    let variants = [
        ("as committed", EnvoyOptions::default()),
        (
            "with the XFCC settings the README documents",
            EnvoyOptions {
                plugin_config: Some(r#"{"certificateSource": "xfcc"}"#.to_string()),
                connection_manager: vec![
                    "forward_client_cert_details: SANITIZE_SET".to_string(),
                    "set_current_client_cert_details: { cert: true, chain: true }".to_string(),
                ],
                ..EnvoyOptions::default()
            },
        ),
    ];
    for (name, options) in variants {
        let yaml = render_config(&pki.dir.0, free_port(), free_port(), free_port(), &options);
        let path = dir.write("envoy.yaml", &yaml);
        let out = std::process::Command::new(envoy_bin())
            .args(["--mode", "validate", "--use-dynamic-base-id", "-c"])
            .arg(&path)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "envoy.yaml {name} does not validate:\n{text}"
        );
        assert!(
            text.contains("configuration '") && text.contains("OK"),
            "{name}: {text}"
        );
    }
}

/// Runs on every Envoy of the compatibility matrix: the connection property exists from 1.38;
/// before that, a presented certificate the filter cannot see must be denied, not ignored.
#[test]
fn a_presented_certificate_the_host_does_not_show_is_denied_not_ignored() {
    let pki = Pki::new();
    let c = clients(&pki);
    let envoy = Envoy::start(
        &pki,
        EnvoyOptions {
            plugin_config: Some(r#"{"clientCertMode": "Optional"}"#.to_string()),
            ..EnvoyOptions::default()
        },
    );
    let version = common::envoy::envoy_version();
    let r = curl(&envoy, &pki, &Call::new("/x").cert(&c.valid));
    if version >= (1, 38) {
        assert_forwarded(&r, Some(&c.valid), "the connection property is there");
    } else {
        assert_eq!(r.status, 401, "Envoy {version:?}: {r:?}");
        assert!(
            envoy.log().contains("reason=not_visible"),
            "the log says why"
        );
    }
    // Without a certificate the optional mode still passes.
    assert_forwarded(
        &curl(&envoy, &pki, &Call::new("/x")),
        None,
        "no certificate",
    );
}
