//! End-to-end: the built module in the real Envoy, in front of the echo upstream, driven by curl
//! over HTTP/1.1 and HTTP/2 with certificates generated for the run. Each test starts Envoy with
//! one configuration and runs a table of cases through it (see `testkit/src/cases.rs`), then checks
//! Envoy's log and counters against tables of their own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use testkit::cases::{
    ARR, Case, Check, Clients, INVALID, PROTOCOLS, REQUIRED, assert_counters, assert_log, b64,
    clients, denied, forwarded, normalization_label, plugin_options, run, run_both, sha256_hex,
    with_arr_forgeries,
};
use testkit::envoy::{Call, ClientCert, Envoy, EnvoyOptions, Http, Pki};
use testkit::front::{FORMATS, carries_chain, encode};
use testkit::pki::{Ca, Chain};
use time::{Duration, OffsetDateTime};

/// Under the exclusions of the repository's `envoy.yaml` ("/public;/healthz").
const EXCLUDED: [&str; 6] = [
    "/public",
    "/public/",
    "/public/a/b",
    "/PUBLIC/x",
    "/Public?x=1",
    "/healthz",
];

/// Look like the exclusions, but are not under them.
const NOT_EXCLUDED: [&str; 3] = ["/publicity", "/healthzz", "/api/public"];

/// The expired and the not yet valid certificate on `path`: refused as invalid.
fn out_of_dates<'c>(c: &'c Clients, path: &'static str) -> [Case<'c>; 2] {
    [("expired", &c.expired), ("not yet valid", &c.not_yet_valid)]
        .map(|(what, cert)| Case::new(what, Call::new(path).cert(cert), denied(401, INVALID)))
}

/// The plugin configuration committed in envoy.yaml: Required, exclusions "/public;/healthz".
fn repository_config_cases(c: &Clients) -> Vec<Case<'_>> {
    let mut cases = vec![
        Case::new(
            "missing certificate",
            Call::new("/hello"),
            denied(401, REQUIRED),
        ),
        Case::new(
            "missing certificate with a forged header",
            with_arr_forgeries(Call::new("/hello")),
            denied(401, REQUIRED),
        ),
        Case::new(
            "valid",
            Call::new("/hello").cert(&c.valid),
            forwarded(Some(&c.valid)),
        ),
        Case::new(
            "valid certificate, every forged copy replaced",
            with_arr_forgeries(Call::new("/hello?x=1").cert(&c.valid)),
            forwarded(Some(&c.valid)),
        ),
        Case::new(
            "certificate of an unknown CA is forwarded, as App Service does",
            Call::new("/api").cert(&c.other_ca),
            forwarded(Some(&c.other_ca)),
        ),
    ];
    cases.extend(out_of_dates(c, "/hello"));
    for excluded in EXCLUDED {
        cases.extend([
            Case::new(
                format!("excluded {excluded} without certificate, path reaches upstream as sent"),
                with_arr_forgeries(Call::new(excluded)),
                forwarded(None),
            )
            .and(Check::Path(excluded)),
            Case::new(
                format!("excluded {excluded} still forwards a valid certificate"),
                Call::new(excluded).cert(&c.valid),
                forwarded(Some(&c.valid)),
            ),
            Case::new(
                format!("excluded {excluded} passes an expired certificate unforwarded"),
                with_arr_forgeries(Call::new(excluded).cert(&c.expired)),
                forwarded(None),
            ),
        ]);
    }
    for not_excluded in NOT_EXCLUDED {
        cases.push(Case::new(
            format!("{not_excluded} is not under an exclusion"),
            Call::new(not_excluded),
            denied(401, REQUIRED),
        ));
    }
    cases
}

#[test]
fn repository_envoy_yaml_enforces_required_mode_with_exclusions() {
    let pki = Pki::new();
    let c = clients(&pki);
    let envoy = Envoy::start(&pki, EnvoyOptions::default());
    let cases = repository_config_cases(&c);
    run_both(&envoy, &pki, "envoy.yaml", &cases);
    let expired_sha = sha256_hex(&c.expired.der);
    assert_log(
        &envoy.log(),
        "envoy.yaml",
        &[
            ("denials logged at info level", "[info][wasm]".to_string()),
            (
                "one structured line per denial",
                "denied status=401 reason=missing rule=- path=\"/hello\" cert_sha256=- detail=\"client certificate required".to_string(),
            ),
            (
                "expiry reason logged with the certificate's digest",
                format!(
                    "reason=expired rule=- path=\"/hello\" cert_sha256={expired_sha} detail=\"client certificate invalid (expired)"
                ),
            ),
            (
                "not-yet-valid reason logged",
                "reason=not_yet_valid".to_string(),
            ),
        ],
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

fn path_trick_cases(c: &Clients) -> Vec<Case<'_>> {
    let mut cases = Vec::new();
    for target in PATH_TRICKS {
        cases.extend([
            // 401 from the filter, or 400 where Envoy itself refuses the request line: either
            // way the upstream never sees it.
            Case::new(
                format!("{target} must not reach the upstream without a certificate"),
                with_arr_forgeries(Call::new(target)),
                vec![Check::StatusIn(&[401, 400])],
            ),
            // With a valid certificate the same request, where it is forwarded, carries the real
            // header only.
            Case::new(
                format!("{target} with a valid certificate"),
                with_arr_forgeries(Call::new(target).cert(&c.valid)),
                vec![Check::IfServed(forwarded(Some(&c.valid)))],
            ),
        ]);
    }
    // A plain excluded path still works in the same setup.
    cases.push(Case::new(
        "plain excluded path",
        Call::new("/public/ok"),
        forwarded(None),
    ));
    cases
}

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
    let label = format!(
        "path tricks, {}",
        normalization_label(no_path_normalization)
    );
    let cases = path_trick_cases(&c);
    run_both(&envoy, &pki, &label, &cases);
}

#[test]
fn path_tricks_never_skip_enforcement_with_envoy_normalization() {
    path_tricks_never_skip_enforcement(false);
}

#[test]
fn path_tricks_never_skip_enforcement_without_envoy_normalization() {
    path_tricks_never_skip_enforcement(true);
}

/// The optional modes, in each spelling accepted.
const OPTIONAL_MODES: [&str; 3] = ["Optional", "OptionalInteractiveUser", "optional"];

fn optional_mode_cases(c: &Clients) -> Vec<Case<'_>> {
    let mut cases = vec![
        Case::new(
            "no certificate",
            with_arr_forgeries(Call::new("/x")),
            forwarded(None),
        ),
        Case::new(
            "valid",
            with_arr_forgeries(Call::new("/x").cert(&c.valid)),
            forwarded(Some(&c.valid)),
        ),
    ];
    cases.extend(out_of_dates(c, "/x"));
    cases
}

#[test]
fn optional_modes_pass_without_certificate_and_reject_invalid_ones() {
    let pki = Pki::new();
    let c = clients(&pki);
    let cases = optional_mode_cases(&c);
    for mode in OPTIONAL_MODES {
        let envoy = Envoy::start(
            &pki,
            plugin_options(format!(r#"{{"clientCertMode": "{mode}"}}"#)),
        );
        run_both(&envoy, &pki, mode, &cases);
    }
}

/// Configurations under which the filter judges nothing.
const DISABLED_CONFIGS: [&str; 2] = [
    r#"{"clientCertEnabled": false, "clientCertMode": "Required"}"#,
    r#"{"clientCertMode": "Ignore"}"#,
];

fn disabled_cases(c: &Clients) -> Vec<Case<'_>> {
    vec![
        Case::new(
            "no certificate",
            with_arr_forgeries(Call::new("/x")),
            forwarded(None),
        ),
        Case::new(
            "valid certificate is not forwarded",
            with_arr_forgeries(Call::new("/x").cert(&c.valid)),
            forwarded(None),
        ),
        Case::new(
            "expired certificate is not judged",
            Call::new("/x").cert(&c.expired),
            forwarded(None),
        ),
    ]
}

#[test]
fn disabled_filter_only_strips_the_client_header() {
    let pki = Pki::new();
    let c = clients(&pki);
    let cases = disabled_cases(&c);
    for config in DISABLED_CONFIGS {
        let envoy = Envoy::start(&pki, plugin_options(config));
        run_both(&envoy, &pki, config, &cases);
    }
}

/// A configuration Envoy must refuse, and what its log must say about it.
struct BadConfig {
    config: &'static str,
    message: &'static str,
}

const BAD_CONFIGS: [BadConfig; 5] = [
    BadConfig {
        config: r#"{"clientCertMode": "Requird"}"#,
        message: "clientCertMode: unknown mode \"Requird\"",
    },
    BadConfig {
        config: r#"{"clientCertEnabled": "yes"}"#,
        message: "clientCertEnabled: invalid type",
    },
    BadConfig {
        config: r#"{"clientCertExclusionPaths": "/ok;public"}"#,
        message: "clientCertExclusionPaths[1]: \"public\" does not start with '/'",
    },
    BadConfig {
        config: r#"{"clientCertModes": "Required"}"#,
        message: "unknown field `clientCertModes`",
    },
    BadConfig {
        config: r#"{"clientCertMode": "Required""#,
        message: "configuration is not valid",
    },
];

#[test]
fn bad_configuration_keeps_envoy_from_serving() {
    let pki = Pki::new();
    for BadConfig { config, message } in BAD_CONFIGS {
        let what = format!("the bad configuration {config}");
        let failure = Envoy::refused(&pki, plugin_options(config), &what);
        assert!(
            failure.log.contains(message),
            "{config}: the log must name the problem ({message}). Log:\n{}",
            failure.log
        );
    }
}

/// The identities of the validation test, all issued by one intermediate under the test root
/// but `stranger`.
struct Validated {
    alice: ClientCert,
    alice_revoked: ClientCert,
    bob_rsa: ClientCert,
    mallory: ClientCert,
    stranger: ClientCert,
}

/// `expired` is fresh for each protocol round: a certificate the cache has not seen.
fn validation_cases<'a>(v: &'a Validated, expired: &'a ClientCert) -> Vec<Case<'a>> {
    let mut cases = vec![
        Case::new(
            "alice",
            with_arr_forgeries(Call::new("/a").cert(&v.alice)),
            forwarded(Some(&v.alice)),
        ),
        Case::new(
            "alice again (from the cache)",
            with_arr_forgeries(Call::new("/a").cert(&v.alice)),
            forwarded(Some(&v.alice)),
        ),
        Case::new(
            "bob, RSA",
            Call::new("/a").cert(&v.bob_rsa),
            forwarded(Some(&v.bob_rsa)),
        ),
    ];
    for (cert, what) in [
        (&v.alice_revoked, "revoked"),
        (&v.mallory, "identity not matched"),
        (&v.stranger, "look-alike issuer"),
        (expired, "expired"),
    ] {
        cases.push(Case::new(
            what,
            Call::new("/a").cert(cert),
            denied(401, INVALID),
        ));
    }
    cases
}

#[test]
fn validation_in_envoy_trusts_revokes_matches_identities_and_caches_verdicts() {
    use rcgen::SerialNumber;
    use testkit::pki::Alg;
    let pki = Pki::new();
    let root = &pki.ca;
    let inter = root.intermediate("e2e issuing CA", Alg::EcdsaP256);
    let serial = |n: u64| {
        move |p: &mut rcgen::CertificateParams| p.serial_number = Some(SerialNumber::from(n))
    };
    let v = Validated {
        alice: pki.save(
            "alice",
            &inter.client_with("alice", Alg::EcdsaP256, serial(100)),
        ),
        alice_revoked: pki.save(
            "alice-revoked",
            &inter.client_with("alice", Alg::EcdsaP256, serial(101)),
        ),
        bob_rsa: pki.save("bob", &inter.client_with("bob", Alg::Rsa2048, serial(102))),
        mallory: pki.save(
            "mallory",
            &inter.client_with("mallory", Alg::EcdsaP256, serial(103)),
        ),
        stranger: pki.save("stranger", &Ca::new("e2e issuing CA").client("alice")),
    };
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
        plugin_options(serde_json::to_string_pretty(&config).unwrap()),
    );
    for http in PROTOCOLS {
        let expired = c_expired(&pki, &inter);
        run(
            &envoy,
            &pki,
            http,
            "validation",
            &validation_cases(&v, &expired),
        );
    }
    let mut lines: Vec<(&str, String)> = [
        "(revoked)",
        "(identity_not_matched)",
        "(untrusted)",
        "(expired)",
    ]
    .into_iter()
    .map(|reason| (reason, format!("client certificate invalid {reason}")))
    .collect();
    lines.push((
        "first sight logged",
        "verdict cache miss: certificate judged in".to_string(),
    ));
    assert_log(&envoy.log(), "validation", &lines);
    // Five distinct certificates (plus one expired one per protocol round, each fresh) were
    // judged afresh once each; every repeat came from the cache.
    assert_counters(
        &envoy,
        "validation: one full judgement per distinct certificate",
        &[("wasmcustom.client_cert_auth.cache_misses", 5 + 2)],
    );
}

fn c_expired(pki: &Pki, ca: &Ca) -> ClientCert {
    let now = OffsetDateTime::now_utc();
    pki.save(
        "late",
        &ca.client_between("alice", now - Duration::days(30), now - Duration::days(1)),
    )
}

fn rules_cases<'a>(c: &'a Clients, ops: &'a ClientCert) -> Vec<Case<'a>> {
    let ops_b64 = b64(&ops.der);
    vec![
        // Optional by default: no certificate passes, with the verification header NONE and
        // the forged Client-Cert removed.
        Case::new(
            "optional",
            Call::new("/app")
                .header("X-Client-Cert-Verify: SUCCESS")
                .header("Client-Cert: :Zm9yZ2Vk:"),
            vec![
                Check::Status(200),
                Check::Header("x-client-cert-verify", vec!["NONE".to_string()]),
                Check::Header("client-cert", vec![]),
            ],
        ),
        // Required under /admin: App Service's 403 for a missing certificate.
        Case::new(
            "admin",
            Call::new("/admin/x"),
            denied(403, "Client Certificate Required"),
        ),
        Case::new(
            "a crafted path does not select the weaker default",
            Call::new("/public/../admin/x"),
            vec![Check::Status(403)],
        ),
        // POST /admin needs the ops identity: JSON body for the invalid class.
        Case::new(
            "GET admin with any valid certificate",
            Call::new("/admin/x").cert(&c.valid),
            vec![Check::Status(200)],
        ),
        Case::new(
            "POST admin as alice",
            Call::new("/admin/x").cert(&c.valid).method("POST"),
            vec![
                Check::Status(401),
                Check::JsonBody(
                    serde_json::json!({"statusCode": 401, "message": "Invalid client certificate"}),
                ),
            ],
        ),
        // Every format arrives upstream, and only the filter's values.
        Case::new(
            "POST admin as ops",
            Call::new("/admin/x").cert(ops).method("POST"),
            vec![
                Check::Status(200),
                Check::Header(ARR, vec![ops_b64.clone()]),
                Check::Header("client-cert", vec![format!(":{ops_b64}:")]),
                Check::Header("x-client-cert-verify", vec!["SUCCESS".to_string()]),
                Check::Header(
                    "x-client-cert-subject",
                    vec!["O=client-cert-auth demo,CN=ops".to_string()],
                ),
                Check::Header(
                    "x-client-cert-sha256",
                    vec![sha256_hex(&ops.der).to_uppercase()],
                ),
            ],
        ),
        // Ignore on one exact path: an expired certificate is not even looked at, and nothing
        // is set.
        Case::new(
            "ignored path",
            Call::new("/open").cert(&c.expired),
            forwarded(None),
        )
        .and(Check::Header("x-client-cert-verify", vec![])),
    ]
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
            no_path_normalization: true,
            ..plugin_options(serde_json::to_string_pretty(&config).unwrap())
        },
    );
    let ops = pki.save("ops", &pki.ca.client("ops"));
    let cases = rules_cases(&c, &ops);
    run_both(&envoy, &pki, "rules", &cases);
    // Per protocol: 2 missing, 1 identity mismatch, 2 forwarded, 2 passed; the two
    // certificates are judged once each, every other presentation is a cache hit.
    assert_counters(
        &envoy,
        "rules",
        &[
            ("wasmcustom.client_cert_auth.denied.missing", 4),
            ("wasmcustom.client_cert_auth.denied.identity_not_matched", 2),
            ("wasmcustom.client_cert_auth.denied.expired", 0),
            ("wasmcustom.client_cert_auth.forwarded", 4),
            ("wasmcustom.client_cert_auth.passed", 4),
            ("wasmcustom.client_cert_auth.cache_misses", 2),
            ("wasmcustom.client_cert_auth.cache_hits", 4),
        ],
    );
}

fn xfcc_cases(c: &Clients) -> Vec<Case<'_>> {
    let forged = format!(
        "X-Forwarded-Client-Cert: Hash=00;Cert=\"{}\"",
        c.valid.cert.display()
    );
    vec![
        Case::new(
            "certificate from XFCC, XFCC stripped",
            with_arr_forgeries(Call::new("/x").cert(&c.valid)).header(&forged),
            forwarded(Some(&c.valid)),
        )
        .and(Check::Header("x-forwarded-client-cert", vec![]))
        .and(Check::Header(
            "client-cert",
            vec![format!(":{}:", b64(&c.valid.der))],
        )),
        // No certificate, forged XFCC: the connection manager drops it; the filter sees none.
        Case::new(
            "forged XFCC without mTLS",
            Call::new("/x").header(&forged),
            denied(401, REQUIRED),
        ),
        Case::new(
            "expired via XFCC",
            Call::new("/x").cert(&c.expired),
            denied(401, INVALID),
        ),
    ]
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
    let cases = xfcc_cases(&c);
    run_both(&envoy, &pki, "xfcc", &cases);
}

#[test]
fn repository_envoy_configuration_passes_envoy_validate_with_the_built_module() {
    use testkit::envoy::{TempDir, envoy_bin, free_port, render_config};
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
    let envoy = Envoy::start(&pki, plugin_options(r#"{"clientCertMode": "Optional"}"#));
    let version = testkit::envoy::envoy_version();
    let visible = version >= (1, 38);
    let cases = [
        if visible {
            Case::new(
                "the connection property is there",
                Call::new("/x").cert(&c.valid),
                forwarded(Some(&c.valid)),
            )
        } else {
            Case::new(
                format!("Envoy {version:?} does not show the certificate"),
                Call::new("/x").cert(&c.valid),
                vec![Check::Status(401)],
            )
        },
        // Without a certificate the optional mode still passes.
        Case::new("no certificate", Call::new("/x"), forwarded(None)),
    ];
    // One protocol is enough here: what differs is the host, not the request.
    run(&envoy, &pki, Http::V1, "unseen certificate", &cases);
    if !visible {
        assert_log(
            &envoy.log(),
            "unseen certificate",
            &[("the log says why", "reason=not_visible".to_string())],
        );
    }
}

/// Every header a preset can set (and the related names it removes), as the platform's
/// documentation spells them.
const PRESET_HEADERS: [(&str, &[&str]); 3] = [
    (
        "alb",
        &[
            "X-Amzn-Mtls-Clientcert-Serial-Number",
            "X-Amzn-Mtls-Clientcert-Issuer",
            "X-Amzn-Mtls-Clientcert-Subject",
            "X-Amzn-Mtls-Clientcert-Validity",
            "X-Amzn-Mtls-Clientcert-Leaf",
            "X-Amzn-Mtls-Clientcert",
        ],
    ),
    (
        "gclb",
        &[
            "X-Client-Cert-Present",
            "X-Client-Cert-Chain-Verified",
            "X-Client-Cert-Error",
            "X-Client-Cert-Hash",
            "X-Client-Cert-Serial-Number",
            "X-Client-Cert-SPIFFE",
            "X-Client-Cert-URI-SANs",
            "X-Client-Cert-DNSName-SANs",
            "X-Client-Cert-Valid-Not-Before",
            "X-Client-Cert-Valid-Not-After",
            "X-Client-Cert-Leaf",
            "X-Client-Cert-Chain",
        ],
    ),
    (
        "traefik",
        &[
            "X-Forwarded-Tls-Client-Cert",
            "X-Forwarded-Tls-Client-Cert-Info",
        ],
    ),
];

/// The call with each name forged four times (as spelled, lower, upper, `_` for `-`), values
/// starting with `forged` for [`Check::NoForgedValue`]; HTTP/1.1 also gets a second copy of
/// each as a repeated line.
fn with_preset_forgeries<'a>(mut call: Call<'a>, names: &[&str]) -> Call<'a> {
    for (i, name) in names.iter().enumerate() {
        call = call
            .header(&format!("{name}: forged-{i}"))
            .header(&format!("{name}: forged-again-{i}"))
            .header(&format!("{}: forged-lower-{i}", name.to_ascii_lowercase()))
            .header(&format!("{}: forged-upper-{i}", name.to_ascii_uppercase()))
            .header(&format!(
                "{}: forged-underscore-{i}",
                name.replace('-', "_")
            ));
    }
    call
}

/// The upstream saw exactly these headers, one value each, and no other name of the preset.
fn exactly(headers: &[(std::rc::Rc<str>, String)], names: &[&'static str]) -> Vec<Check> {
    let mut checks = vec![Check::Status(200), Check::NoForgedValue];
    for name in names {
        let lower = name.to_ascii_lowercase();
        let expected: Vec<String> = headers
            .iter()
            .filter(|(n, _)| **n == *lower)
            .map(|(_, v)| v.clone())
            .collect();
        checks.push(Check::Header(name, expected));
    }
    checks
}

#[test]
fn output_presets_in_envoy_set_exact_values_and_never_pass_client_copies() {
    use client_cert_auth::{Config, Decision, Request, VerdictCache, decide};
    let pki = Pki::new();
    let c = clients(&pki);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let valid_pem = std::fs::read_to_string(&c.valid.cert).unwrap();
    let expired_pem = std::fs::read_to_string(&c.expired.cert).unwrap();
    for (preset, names) in PRESET_HEADERS {
        let json = serde_json::json!({
            "clientCertMode": "Optional",
            "clientCertExclusionPaths": "/public",
            "validation": {"trustedCaCertificates": [pki.ca.cert_pem()]},
            "forward": {"preset": preset}
        })
        .to_string();
        // What the core computes for each request (its exact values against each platform's
        // documentation are in tests/native/forward.rs): the upstream must see exactly that.
        let native = Config::from_json(json.as_bytes()).unwrap();
        let decided = |pem: Option<&str>, path: &str| {
            let outcome = decide(
                &native,
                &mut Request {
                    path: path.as_bytes(),
                    peer_certificate: pem.map(str::as_bytes),
                    now,
                    ..Request::default()
                },
                &mut VerdictCache::new(4),
            );
            match outcome.decision {
                Decision::Forward { headers } => headers.to_vec(),
                Decision::Pass(_) => outcome.pass_headers,
                Decision::Deny(r) => panic!("{preset}: denied {r:?}"),
            }
        };
        let forwarded_headers = decided(Some(&valid_pem), "/app");
        assert!(
            forwarded_headers.len() > 2,
            "{preset}: {forwarded_headers:?}"
        );
        let without = decided(None, "/app");
        let expired_excluded = decided(Some(&expired_pem), "/public");
        let envoy = Envoy::start(&pki, plugin_options(json.clone()));
        let cases = vec![
            Case::new(
                "valid certificate, every preset header forged",
                with_preset_forgeries(Call::new("/app").cert(&c.valid), names),
                exactly(&forwarded_headers, names),
            ),
            Case::new(
                "no certificate, every preset header forged",
                with_preset_forgeries(Call::new("/app"), names),
                exactly(&without, names),
            ),
            Case::new(
                "expired certificate on an excluded path, every preset header forged",
                with_preset_forgeries(Call::new("/public/x").cert(&c.expired), names),
                exactly(&expired_excluded, names),
            ),
            Case::new(
                "untrusted certificate is refused before any header is set",
                with_preset_forgeries(Call::new("/app").cert(&c.other_ca), names),
                denied(401, INVALID),
            ),
        ];
        run_both(&envoy, &pki, preset, &cases);
    }
}

/// The certificate from a front proxy's header (`certificateSource: "header"`), for every
/// format: encoded as the platform does it and sent from the trusted peer (127.0.0.1) it is
/// forwarded, with the intermediate from the header where the format carries a chain; the same
/// header from another peer (127.0.0.2) is removed and treated as no certificate; doubled,
/// undecodable and forged values are refused. The source header never reaches the upstream.
#[test]
fn front_proxy_certificate_headers_in_envoy_only_from_trusted_peers() {
    let pki = Pki::new();
    let Chain { root, inter, leaf } = chain("front e2e");
    let inter_pem = inter.cert_pem();
    let inter_der = inter.der();
    let stranger = Ca::new("front e2e stranger").client("mallory");
    let leaf_b64 = b64(&leaf.der);
    for format in FORMATS {
        let mut header = serde_json::json!({"format": format, "trustedProxies": ["127.0.0.1/32"]});
        if format == "nginx" {
            header["name"] = "X-SSL-Client-Cert".into();
        }
        if format == "appGateway" {
            header["name"] = "X-Client-Cert".into();
        }
        let config = serde_json::json!({
            "certificateSource": "header",
            "header": header,
            "clientCertExclusionPaths": "/public",
            "validation": {"trustedCaCertificates": [root.cert_pem()]}
        });
        let mut certs: Vec<(&str, &[u8])> = vec![(leaf.cert_pem.as_str(), &leaf.der)];
        let mut needs_chain = vec![];
        if carries_chain(format) {
            certs.push((inter_pem.as_str(), &inter_der));
        } else {
            // The leaf alone cannot chain to the root: configure the intermediate.
            needs_chain.push(inter_pem.clone());
        }
        let mut config = config;
        if !needs_chain.is_empty() {
            config["validation"]["intermediateCertificates"] = needs_chain.into();
        }
        let lines = encode(format, &certs);
        let names: Vec<&'static str> = lines
            .iter()
            .map(|(n, _)| &*Box::leak(n.to_ascii_lowercase().into_boxed_str()))
            .collect();
        let with_lines = |mut call: Call<'static>, lines: &[(String, String)]| {
            for (n, v) in lines {
                call = call.header(&format!("{n}: {v}"));
            }
            call
        };
        let mut doubled = lines.clone();
        doubled.push(lines[0].clone());
        let undecodable = vec![(lines[0].0.clone(), "not-a-certificate".to_string())];
        let forged = encode(format, &[(stranger.cert_pem.as_str(), &stranger.der)]);
        // The upstream saw none of the source header's lines (for arr, only the checked value).
        let source_gone = |arr_value: Option<&String>| -> Vec<Check> {
            names
                .iter()
                .filter(|n| **n != ARR)
                .map(|n| Check::Header(n, vec![]))
                .chain(std::iter::once(Check::Header(
                    ARR,
                    arr_value.into_iter().cloned().collect(),
                )))
                .collect()
        };
        let mut trusted = vec![Check::Status(200)];
        trusted.extend(source_gone(Some(&leaf_b64)));
        let mut untrusted_excluded = vec![Check::Status(200)];
        untrusted_excluded.extend(source_gone(None));
        let envoy = Envoy::start(
            &pki,
            EnvoyOptions {
                plugin_config: Some(config.to_string()),
                // Envoy's default (SANITIZE) drops XFCC before any filter: a front proxy's
                // XFCC reaches the filter only when the connection manager forwards it.
                // Envoy's source.address is the socket peer only with use_remote_address: true;
                // otherwise it is taken from X-Forwarded-For, which any client writes (the
                // X-Forwarded-For case below fails without it).
                connection_manager: if format == "containerApps" {
                    vec![
                        "use_remote_address: true".to_string(),
                        "forward_client_cert_details: ALWAYS_FORWARD_ONLY".to_string(),
                    ]
                } else {
                    vec!["use_remote_address: true".to_string()]
                },
                ..EnvoyOptions::default()
            },
        );
        let cases = vec![
            Case::new(
                "trusted proxy: forwarded, source header removed",
                with_lines(Call::new("/app").from("127.0.0.1"), &lines),
                trusted,
            ),
            Case::new(
                "untrusted peer: no certificate",
                with_lines(Call::new("/app").from("127.0.0.2"), &lines),
                denied(401, REQUIRED),
            ),
            Case::new(
                "untrusted peer claiming the proxy's address in X-Forwarded-For: no certificate",
                with_lines(
                    Call::new("/app")
                        .from("127.0.0.2")
                        .header("X-Forwarded-For: 127.0.0.1")
                        .header("X-Real-IP: 127.0.0.1")
                        .header("Forwarded: for=127.0.0.1"),
                    &lines,
                ),
                denied(401, REQUIRED),
            ),
            Case::new(
                "untrusted peer on an excluded path: passes, header removed",
                with_lines(Call::new("/public/x").from("127.0.0.2"), &lines),
                untrusted_excluded,
            ),
            Case::new(
                "trusted proxy, header doubled: malformed",
                with_lines(Call::new("/app").from("127.0.0.1"), &doubled),
                denied(401, INVALID),
            ),
            Case::new(
                "trusted proxy, undecodable: malformed",
                with_lines(Call::new("/app").from("127.0.0.1"), &undecodable),
                denied(401, INVALID),
            ),
            Case::new(
                "trusted proxy, certificate of an unknown CA: untrusted",
                with_lines(Call::new("/app").from("127.0.0.1"), &forged),
                denied(401, INVALID),
            ),
        ];
        run_both(&envoy, &pki, format, &cases);
        assert_log(
            &envoy.log(),
            format,
            &[(
                "untrusted peer logged",
                "untrusted peer=\"127.0.0.2:".to_string(),
            )],
        );
    }
}

/// [`Chain`]: `<name> root`, `<name> inter` and alice.
fn chain(name: &str) -> Chain {
    Chain::new(&format!("{name} root"), &format!("{name} inter"))
}

/// Envoy behind a Traefik front proxy at 127.0.0.1 (`use_remote_address`, so the peer is the
/// socket's): the certificate from Traefik's header, trusting `root`; `forward` as given.
fn behind_traefik(pki: &Pki, root: &Ca, forward: Option<serde_json::Value>) -> Envoy {
    let mut config = serde_json::json!({
        "certificateSource": "header",
        "header": {"format": "traefik", "trustedProxies": ["127.0.0.1/32"]},
        "validation": {"trustedCaCertificates": [root.cert_pem()]}
    });
    if let Some(forward) = forward {
        config["forward"] = forward;
    }
    Envoy::start(
        pki,
        EnvoyOptions {
            connection_manager: vec!["use_remote_address: true".to_string()],
            ..plugin_options(config.to_string())
        },
    )
}

/// Issue 20, item 8, in Envoy: a trusted proxy's header carrying one "certificate" whose bytes
/// are the leaf and the intermediate back to back is malformed (trailing data), also right
/// after the same Envoy worker judged and cached `(leaf, [intermediate])`; the pair itself is
/// still served from the cache.
#[test]
fn front_proxy_leaf_with_trailing_data_is_malformed_after_its_pair_was_cached() {
    let pki = Pki::new();
    let Chain { root, inter, leaf } = chain("glued e2e");
    let inter_der = inter.der();
    let glued = b64(&[leaf.der.as_slice(), inter_der.as_slice()].concat());
    let pair = format!("{},{}", b64(&leaf.der), b64(&inter_der));
    let envoy = behind_traefik(&pki, &root, None);
    let header = |value: &str| format!("X-Forwarded-Tls-Client-Cert: {value}");
    let cases = vec![
        Case::new(
            "leaf and intermediate: forwarded (and cached)",
            Call::new("/app").from("127.0.0.1").header(&header(&pair)),
            vec![Check::Status(200), Check::Header(ARR, vec![b64(&leaf.der)])],
        ),
        Case::new(
            "one certificate, leaf and intermediate glued: malformed",
            Call::new("/app").from("127.0.0.1").header(&header(&glued)),
            denied(401, INVALID),
        ),
        Case::new(
            "leaf and intermediate again: still forwarded",
            Call::new("/app").from("127.0.0.1").header(&header(&pair)),
            vec![Check::Status(200), Check::Header(ARR, vec![b64(&leaf.der)])],
        ),
    ];
    run_both(&envoy, &pki, "glued", &cases);
    assert_log(
        &envoy.log(),
        "glued",
        &[(
            "the refusal says why",
            format!(
                "certificate DER is followed by {} unexpected bytes",
                inter_der.len()
            ),
        )],
    );
}

/// Issue 20, item 9, in Envoy: certificates a client appends behind the real chain (here in a
/// trusted proxy's header) never reach the upstream as the chain: `Client-Cert-Chain` and
/// gclb's `X-Client-Cert-Chain` (beside `Chain-Verified: true`) carry the verified path only.
#[test]
fn only_the_verified_path_reaches_the_upstream_as_the_chain() {
    let pki = Pki::new();
    let Chain { root, inter, leaf } = chain("path e2e");
    let stranger = Ca::new("path e2e stranger");
    let inter_der = inter.der();
    let presented = format!(
        "{},{},{}",
        b64(&leaf.der),
        b64(&stranger.der()),
        b64(&inter_der)
    );
    let forward = serde_json::json!({"rfc9440": true, "preset": "gclb"});
    let envoy = behind_traefik(&pki, &root, Some(forward));
    let path = format!(":{}:", b64(&inter_der));
    let cases = vec![Case::new(
        "leaf, an appended stranger, the intermediate: the path only",
        Call::new("/app")
            .from("127.0.0.1")
            .header(&format!("X-Forwarded-Tls-Client-Cert: {presented}")),
        vec![
            Check::Status(200),
            Check::Header("client-cert", vec![format!(":{}:", b64(&leaf.der))]),
            Check::Header("client-cert-chain", vec![path.clone()]),
            Check::Header("x-client-cert-chain-verified", vec!["true".to_string()]),
            Check::Header("x-client-cert-chain", vec![path]),
        ],
    )];
    run_both(&envoy, &pki, "verified path", &cases);
}

/// Issue 20, item 11, in Envoy: a client certificate whose CN closes Traefik's quoted
/// `Subject` and opens an `Issuer` of its own (and whose SAN carries `,` and quotes) reaches
/// the upstream with exactly Traefik's six fields, the real `Issuer` the only one.
#[test]
fn hostile_names_never_forge_a_field_upstream() {
    use rcgen::{DnType, SanType};
    let pki = Pki::new();
    let hostile = pki
        .ca
        .client_with("unused", testkit::pki::Alg::EcdsaP256, |p| {
            let mut dn = rcgen::DistinguishedName::new();
            dn.push(DnType::CommonName, "mallory\";Issuer=\"CN=Evil CA");
            p.distinguished_name = dn;
            p.subject_alt_names = vec![SanType::DnsName(
                "a.example,\"b\";Issuer=c".try_into().unwrap(),
            )];
        });
    let client = pki.save("hostile", &hostile);
    let envoy = Envoy::start(
        &pki,
        plugin_options(
            serde_json::json!({
                "validation": {"trustedCaCertificates": [pki.ca.cert_pem()]},
                "forward": {"preset": "traefik", "infoHeaders": true}
            })
            .to_string(),
        ),
    );
    for http in PROTOCOLS {
        let r = testkit::envoy::curl(&envoy, &pki, &Call::new("/app").cert(&client).http(http));
        assert_eq!(r.status, 200, "{http:?}: {r:?}");
        let info = r.upstream_header("x-forwarded-tls-client-cert-info");
        assert_eq!(info.len(), 1, "{http:?}: {info:?}");
        let decoded = percent_decode(&info[0].replace('+', " "));
        let keys: Vec<&str> = decoded
            .split(';')
            .map(|f| f.split_once('=').map_or(f, |(k, _)| k))
            .collect();
        assert_eq!(
            keys,
            ["Subject", "Issuer", "SerialNumber", "NB", "NA", "SAN"],
            "{http:?}: {decoded}"
        );
        assert!(
            decoded.contains(";Issuer=\"O=client-cert-auth demo,CN="),
            "{http:?}: the real issuer: {decoded}"
        );
        assert_eq!(decoded.matches('"').count(), 12, "{http:?}: {decoded}");
        // RFC 4514 in the info header: the quote and `;` escaped.
        assert_eq!(
            r.upstream_header("x-client-cert-subject"),
            ["CN=mallory\\\"\\;Issuer\\=\\\"CN\\=Evil CA"],
            "{http:?}"
        );
    }
}

/// Percent-decoding of a header value.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
