//! The dry-run tool, run as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use testkit::envoy::TempDir;
use testkit::pki::{Alg, Ca};
use time::{Duration, OffsetDateTime};

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Asserts standard output contains `text`, showing it if not.
    #[track_caller]
    fn stdout_has(&self, text: &str) {
        assert!(self.stdout.contains(text), "{}", self.stdout);
    }

    /// Asserts standard error contains `text`, showing it if not.
    #[track_caller]
    fn stderr_has(&self, text: &str) {
        assert!(self.stderr.contains(text), "{}", self.stderr);
    }
}

pub(crate) fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_client-cert-auth"))
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn path(dir: &TempDir, name: &str, contents: &str) -> String {
    dir.write(name, contents).display().to_string()
}

/// The warnings `lint` prints for this configuration, written to `name` in `dir`; it must
/// accept the configuration.
fn lint_warnings(dir: &TempDir, name: &str, config: &Value) -> Vec<String> {
    let file = path(dir, name, &config.to_string());
    let r = run(&["lint", &file]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn lint_prints_what_it_understood_and_names_bad_fields() {
    let dir = TempDir::new("cli-lint");
    let good = r#"{"clientCertMode": "optional", "clientCertExclusionPaths": "/public;/Health/"}"#;
    let r = run(&["lint", &path(&dir, "good.json", good)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout_has("mode: Optional");
    r.stdout_has("exclusion paths: /public, /health");
    r.stdout_has("trust: off");

    let bad = path(&dir, "bad.json", r#"{"clientCertMode": "Sometimes"}"#);
    let r = run(&["lint", &bad]);
    assert_eq!(r.code, 2);
    r.stderr_has("clientCertMode: unknown mode \"Sometimes\"");

    let r = run(&["lint", "/nonexistent/config.json"]);
    assert_eq!(r.code, 2);
    r.stderr_has("cannot read the configuration");
    assert_eq!(run(&["frobnicate"]).code, 2);
}

#[test]
fn check_applies_the_filters_decision_with_exit_codes_and_json() {
    let dir = TempDir::new("cli-check");
    let ca = Ca::new("cli CA");
    let leaf = ca.client("alice");
    let cert = path(&dir, "alice.pem", &leaf.cert_pem);
    let config = path(&dir, "c.json", r#"{"clientCertExclusionPaths": "/public"}"#);

    let r = run(&["check", "--config", &config]);
    assert_eq!(r.code, 1);
    r.stdout_has("decision: deny\nstatus: 401\n");

    let r = run(&["check", "--config", &config, "--path", "/public/x"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("decision: pass"), "{}", r.stdout);

    let r = run(&["check", "--config", &config, "--cert", &cert, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v,
        json!({"decision": "forward", "status": null, "reason": null, "header": STANDARD.encode(&leaf.der)})
    );

    // --at moves the clock: two years on, the certificate has expired.
    let later = (OffsetDateTime::now_utc() + Duration::days(730))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = run(&[
        "check", "--config", &config, "--cert", &cert, "--at", &later, "--json",
    ]);
    assert_eq!(r.code, 1);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["status"], 401);
    assert!(v["reason"].as_str().unwrap().contains("(expired)"), "{v}");

    for bad_time in ["tomorrow", "2027-13-01T00:00:00Z", "2027-01-01T00:00:00"] {
        let r = run(&[
            "check", "--config", &config, "--cert", &cert, "--at", bad_time,
        ]);
        assert_eq!(r.code, 2, "{bad_time}");
        r.stderr_has("is not an RFC 3339 time");
    }
    let r = run(&["check", "--config", &config, "--cert", "/nonexistent.pem"]);
    assert_eq!(r.code, 2);
}

#[test]
fn check_at_a_fixed_time_matches_the_certificates_bounds() {
    let dir = TempDir::new("cli-at");
    let ca = Ca::new("cli CA");
    let nb = OffsetDateTime::from_unix_timestamp(1_893_456_000).unwrap(); // 2030-01-01T00:00:00Z
    let leaf = ca.client_between("edge", nb, nb + Duration::days(1));
    let cert = path(&dir, "edge.pem", &leaf.cert_pem);
    let config = path(&dir, "c.json", "{}");
    for (at, code) in [
        ("2029-12-31T23:59:59Z", 1),
        ("2030-01-01T00:00:00Z", 0),
        ("2030-01-01T01:00:00+01:00", 0),
        ("2030-01-02T00:00:00.999Z", 0),
        ("2030-01-02T00:00:01Z", 1),
    ] {
        let r = run(&["check", "--config", &config, "--cert", &cert, "--at", at]);
        assert_eq!(r.code, code, "{at}: {}", r.stdout);
    }
}

#[test]
fn check_uses_a_presented_chain_for_the_trust_check() {
    let dir = TempDir::new("cli-chain");
    let root = Ca::root("cli root", Alg::EcdsaP384);
    let inter = root.intermediate("cli issuing", Alg::Rsa2048);
    let leaf = inter.client("alice");
    let cert = path(&dir, "alice.pem", &leaf.cert_pem);
    let chain = path(
        &dir,
        "chain.pem",
        &format!("{}{}", inter.cert_pem(), root.cert_pem()),
    );
    let config = path(
        &dir,
        "trust.json",
        &json!({"validation": {"validateTrust": true, "trustedCaCertificates": [root.cert_pem()]}})
            .to_string(),
    );
    let r = run(&["check", "--config", &config, "--cert", &cert]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    r.stdout_has("(untrusted)");
    let r = run(&[
        "check", "--config", &config, "--cert", &cert, "--chain", &chain,
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    r.stdout_has("decision: forward");
}

#[test]
fn rfc3339_round_trips_across_eras() {
    use client_cert_auth::rfc3339;
    for t in [
        0,
        1,
        951_782_400,
        1_893_456_000,
        4_107_542_399,
        -86_400,
        253_402_300_799,
    ] {
        let text = rfc3339::format(t);
        assert_eq!(rfc3339::parse(&text), Some(t), "{text}");
    }
    assert_eq!(rfc3339::format(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(
        rfc3339::parse("2000-02-29T01:00:00+01:00"),
        Some(951_782_400)
    );
}

#[test]
fn help_and_version_answer_like_any_command_line_tool() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["check", "--help"],
        &["lint", "--help"],
    ] {
        let r = run(args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(
            r.stdout.contains("Usage: client-cert-auth"),
            "{args:?}: {}",
            r.stdout
        );
    }
    let check = run(&["check", "--help"]).stdout;
    for flag in [
        "--config", "--cert", "--chain", "--path", "--method", "--host", "--xfcc", "--at", "--json",
    ] {
        assert!(check.contains(flag), "check --help lists {flag}: {check}");
    }
    for args in [&["--version"][..], &["-V"]] {
        let r = run(args);
        assert_eq!(r.code, 0, "{args:?}");
        assert_eq!(
            r.stdout.trim(),
            format!("client-cert-auth {}", env!("CARGO_PKG_VERSION")),
            "{args:?}"
        );
    }
    for bad in [
        &[][..],
        &["frobnicate"],
        &["check"],
        &["check", "--config"],
        &["lint"],
        &["check", "--config", "c.json", "--nope"],
    ] {
        let r = run(bad);
        assert_eq!(r.code, 2, "{bad:?} is bad usage: {}", r.stdout);
        assert!(r.stderr.contains("error:"), "{bad:?}: {}", r.stderr);
    }
}

#[test]
fn lint_lists_the_rules_in_order_and_warns_about_traps() {
    let dir = TempDir::new("cli-lint-rules");
    let lint = |name: &str, config: Value| {
        let file = path(&dir, name, &config.to_string());
        let r = run(&["lint", &file]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        r.stdout
    };
    let out = lint(
        "rules.json",
        json!({
            "rules": [
                {"routeNames": ["docs"], "mode": "Ignore"},
                {"hosts": ["*.a.test:8443"], "methods": ["get"], "pathExact": "/x", "mode": "Optional"},
                {"mode": "Required", "identities": [{"thumbprint": "00".repeat(20)}]},
                {"pathPrefix": "/never", "mode": "Ignore"}
            ]
        }),
    );
    let expected = [
        "rules, first match decides:",
        "  rules[0]: routeNames docs -> Ignore",
        "  rules[1]: pathExact /x; hosts *.a.test:8443; methods GET -> Optional",
        "  rules[2]: every request -> Required, 1 identity of its own",
        "  rules[3]: pathPrefix /never -> Ignore",
    ];
    for line in expected {
        assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
    }
    let warnings: Vec<&str> = out.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(
        warnings,
        [
            "warning: rules[3] can never apply: rules[2] has no condition, so it matches every request first"
        ],
        "{out}"
    );

    let traps = lint(
        "traps.json",
        json!({
            "clientCertExclusionPaths": "/",
            "validation": {"identities": [{"commonName": "alice"}, {"thumbprint": "00".repeat(20)}]},
            "rules": [{"pathPrefix": "/a", "mode": "Required", "identities": [{"dnsName": "a.test", "uri": "spiffe://x"}]}]
        }),
    );
    for warning in [
        "warning: clientCertExclusionPaths holds \"/\": every path is excluded",
        "warning: validation.identities[0] (commonName) can be written into a self-signed certificate by anyone",
        "warning: rules[0].identities[0] (dnsName, uri) can be written into a self-signed certificate by anyone",
    ] {
        assert!(
            traps.lines().any(|l| l.starts_with(warning)),
            "missing {warning:?} in\n{traps}"
        );
    }
    assert!(
        !traps.contains("validation.identities[1]"),
        "a thumbprint cannot be forged: {traps}"
    );

    // With the trust check, names identify: no warning.
    let ca = Ca::new("lint CA");
    let trusted = lint(
        "trusted.json",
        json!({"validation": {"trustedCaCertificates": [ca.cert_pem()], "identities": [{"commonName": "alice"}]}}),
    );
    assert!(!trusted.contains("warning:"), "{trusted}");
    assert!(lint("plain.json", json!({})).contains("rules: none"));
}

#[test]
fn check_takes_a_front_proxys_header_and_peer() {
    let dir = TempDir::new("cli-front");
    let leaf = Ca::new("cli front CA").client("alice");
    let b64 = STANDARD.encode(&leaf.der);
    let config = path(
        &dir,
        "c.json",
        r#"{"certificateSource": "header", "header": {"format": "cloudflare", "trustedProxies": ["10.0.0.0/8"]}}"#,
    );
    let line = format!("Cf-Client-Cert-Der-Base64: {b64}");
    let check = |args: &[&str]| run(&[&["check", "--config", &config], args].concat());
    let r = check(&["--header", &line, "--peer", "10.0.0.9:443", "--json"]);
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["decision"], "forward");
    assert_eq!(v["header"], b64.as_str());
    // Another peer: no certificate.
    let r = check(&["--header", &line, "--peer", "192.0.2.1:443"]);
    assert_eq!(r.code, 1);
    r.stdout_has("required but none was presented");
    // Twice: malformed.
    let r = check(&[
        "--header",
        &line,
        "--header",
        &line,
        "--peer",
        "10.0.0.9:443",
    ]);
    assert_eq!(r.code, 1);
    r.stdout_has("is malformed: sent 2 times");
    let r = run(&["check", "--config", &config, "--header", "no colon"]);
    assert_eq!(r.code, 2);
    r.stderr_has("is not 'NAME: VALUE'");
}

#[test]
fn check_says_would_deny_under_report_only_and_lint_shows_names_and_report_only() {
    let dir = TempDir::new("cli-report-only");
    let config = path(
        &dir,
        "report.json",
        &json!({
            "reportOnly": true,
            "rules": [
                {"name": "api", "pathPrefix": "/api", "mode": "Required", "reportOnly": false},
                {"pathPrefix": "/docs", "mode": "Optional", "reportOnly": true}
            ]
        })
        .to_string(),
    );
    let r = run(&["check", "--config", &config, "--path", "/hello", "--json"]);
    assert_eq!(r.code, 0, "a report-only pass exits 0: {}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["decision"], "would_deny");
    assert_eq!(v["status"], 401);
    assert_eq!(
        v["reason"],
        "report only, would deny: client certificate required but none was presented"
    );
    let r = run(&["check", "--config", &config, "--path", "/api/x"]);
    assert_eq!(r.code, 1, "the api rule is enforced: {}", r.stdout);
    assert!(r.stdout.starts_with("decision: deny\n"), "{}", r.stdout);

    let r = run(&["lint", &config]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for line in [
        "report only: nothing is denied",
        "  rules[0]: [api] pathPrefix /api -> Required (enforced)",
        "  rules[1]: pathPrefix /docs -> Optional (report only)",
    ] {
        assert!(r.stdout.contains(line), "{line}: {}", r.stdout);
    }
}

/// Issue 20, item 10: `lint` warns about the header source: Envoy must use the socket peer
/// (`use_remote_address: true`), and a trusted range wider than a private network is named.
#[test]
fn lint_warns_about_the_header_source_and_wide_trusted_proxies() {
    let dir = TempDir::new("cli-lint-front");
    let lint = |name: &str, proxies: Value| {
        let config = json!({"certificateSource": "header",
                            "header": {"format": "alb", "trustedProxies": proxies}});
        lint_warnings(&dir, name, &config)
    };
    let remote_address = "warning: certificateSource \"header\" trusts Envoy's source.address, \
                          which is the socket peer only with use_remote_address: true on the HTTP \
                          connection manager (and no xff_num_trusted_hops or \
                          original_ip_detection_extensions); with Envoy's default it comes from \
                          X-Forwarded-For, which any client writes. The filter cannot see that \
                          setting: check it";
    assert_eq!(
        lint(
            "narrow.json",
            json!(["10.1.0.0/16", "192.0.2.7", "2001:db8::/32", "fd00::/8"])
        ),
        vec![remote_address.to_string()]
    );
    let wide = |i: usize, entry: &str, family: &str, private: &str| {
        format!(
            "warning: header.trustedProxies[{i}] {entry:?} is wider than any private {family} \
             network ({private}): every peer in it may hand over a certificate header; list \
             the proxies' own addresses"
        )
    };
    assert_eq!(
        lint(
            "wide.json",
            json!([
                "10.0.0.0/8",
                "0.0.0.0/1",
                "::ffff:128.0.0.0/97",
                "2000::/3",
                "fc00::/7",
                "8000::/1"
            ])
        ),
        vec![
            remote_address.to_string(),
            wide(1, "0.0.0.0/1", "IPv4", "10.0.0.0/8"),
            wide(2, "::ffff:128.0.0.0/97", "IPv4", "10.0.0.0/8"),
            wide(3, "2000::/3", "IPv6", "fc00::/7"),
            wide(5, "8000::/1", "IPv6", "fc00::/7"),
        ]
    );
}

/// Issue 20: `lint` warns about an OCSP wait so short that under `revocationFailure: allow`
/// most answers would arrive too late and the certificates pass unchecked.
#[test]
fn lint_warns_about_a_short_ocsp_timeout_under_allow() {
    let dir = TempDir::new("cli-lint-ocsp");
    let ca = Ca::new("Lint OCSP CA");
    let lint = |name: &str, timeout: u32, failure: &str| {
        let config = json!({"validation": {
            "trustedCaCertificates": [ca.cert_pem()],
            "validateRevocation": true,
            "revocationFailure": failure,
            "revocationSources": {"ocsp": {"cluster": "ocsp", "timeoutMs": timeout}}
        }});
        lint_warnings(&dir, name, &config)
    };
    let short = "warning: validation.revocationSources.ocsp.timeoutMs is 499 ms under \
                 revocationFailure \"allow\": a responder slower than that is no answer, and \
                 the certificate passes without a revocation status; 500 ms or more leaves a \
                 responder time to answer";
    assert_eq!(lint("short.json", 499, "allow"), vec![short.to_string()]);
    assert!(lint("enough.json", 500, "allow").is_empty());
    // Under deny a short wait refuses instead: not a hole, no warning.
    assert!(lint("deny.json", 100, "deny").is_empty());
}

/// ingress-nginx's `auth-tls-match-cn` is searched unanchored: `lint` says what that admits,
/// for every `subjectPattern` not bound at both ends, global or a rule's.
#[test]
fn lint_warns_about_an_unanchored_subject_pattern() {
    let dir = TempDir::new("cli-lint-pattern");
    let ca = Ca::new("Lint pattern CA");
    let lint = |name: &str, pattern: &str| {
        let config = json!({
            "validation": {
                "trustedCaCertificates": [ca.cert_pem()],
                "identities": [{"subjectPattern": pattern}]
            },
            "rules": [{"pathPrefix": "/a", "mode": "Required", "identities": [{"subjectPattern": pattern}]}]
        });
        lint_warnings(&dir, name, &config)
    };
    let warning = |field: &str, pattern: &str| {
        format!(
            "warning: {field}.subjectPattern {pattern:?} is searched anywhere in the subject, as \
             nginx's auth-tls-match-cn is: CN=alice also admits CN=alice-evil and \
             CN=mallory,OU=CN=alice; anchor it at both ends (^CN=alice(,|$)) or use commonName"
        )
    };
    for open in ["CN=alice", "^CN=alice", "CN=alice$", "^CN=(a|b)"] {
        assert_eq!(
            lint("open.json", open),
            vec![
                warning("validation.identities[0]", open),
                warning("rules[0].identities[0]", open)
            ]
        );
    }
    for anchored in ["^CN=alice$", "^CN=alice(,|$)", "^CN=(a|b),"] {
        assert!(lint("anchored.json", anchored).is_empty(), "{anchored}");
    }
}

/// Issue 20: output into a closed pipe (`client-cert-auth lint big.json | head -1`) ends the
/// tool quietly, with the exit code it would have had, never a "Broken pipe" panic.
#[test]
fn a_closed_output_pipe_ends_the_tool_quietly() {
    let dir = TempDir::new("cli-pipe");
    let rules: Vec<Value> = (0..300)
        .map(|i| json!({"name": format!("r{i}"), "pathPrefix": format!("/p{i}"), "mode": "Required"}))
        .collect();
    let config = path(&dir, "big.json", &json!({ "rules": rules }).to_string());
    let ca = Ca::new("Pipe CA");
    let cert = path(&dir, "client.pem", &ca.client("alice").cert_pem);
    let plain = path(&dir, "plain.json", "{}");
    for (args, code) in [
        (vec!["lint", config.as_str()], 0),
        (
            vec!["check", "--config", plain.as_str(), "--cert", cert.as_str()],
            0,
        ),
        (
            vec!["check", "--config", config.as_str(), "--path", "/p7"],
            1,
        ),
        (vec!["--help"], 0),
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader); // every write now fails with EPIPE, as after `head -1` has exited
        let out = Command::new(env!("CARGO_BIN_EXE_client-cert-auth"))
            .args(&args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}
