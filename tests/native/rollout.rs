//! Rollout and observability, natively: `reportOnly` (top level and per rule) in the decision
//! and through the glue over the recording host, named rules and their validation, the
//! per-rule counters, and the decision left in the filter state for the access log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use client_cert_auth::{
    Config, Decision, DenyReason, PassReason, Reason, Request, VerdictCache, decide,
};
use client_cert_auth::{glue::Action, glue::Level};
use client_cert_auth::{glue::fake::Call, glue::fake::FakeHost};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use testkit::core::config;
use testkit::core::{hex_lower, now};
use testkit::glue::{CERT, Filter, with_cert, without_cert};
use testkit::pki::{Ca, Leaf};

const ARR: &str = "x-arr-clientcert";
const STATE: &str = "client_cert_auth";

fn refused(v: Value) -> String {
    match Config::from_json(v.to_string().as_bytes()) {
        Ok(_) => panic!("accepted: {v}"),
        Err(e) => e.to_string(),
    }
}

/// The decision for `path` with an optional certificate (PEM), with a fresh cache.
fn decision(config: &Config, path: &str, pem: Option<&str>) -> Decision {
    let mut request = Request {
        path: path.as_bytes(),
        peer_certificate: pem.map(str::as_bytes),
        mtls: Some(pem.is_some()),
        now: now(),
        ..Request::default()
    };
    decide(config, &mut request, &mut VerdictCache::new(8)).decision
}

fn would_deny(reason: Reason) -> impl Fn(&Decision) -> bool {
    move |d| matches!(d, Decision::Pass(PassReason::ReportOnly(r)) if r.reason() == reason)
}

fn deny(reason: Reason) -> impl Fn(&Decision) -> bool {
    move |d| matches!(d, Decision::Deny(r) if r.reason() == reason)
}

fn expired(ca: &Ca) -> Leaf {
    ca.client_between(
        "old",
        time::OffsetDateTime::now_utc() - time::Duration::days(10),
        time::OffsetDateTime::now_utc() - time::Duration::days(1),
    )
}

#[test]
fn report_only_turns_every_refusal_into_a_would_deny_pass_and_leaves_the_rest_alone() {
    let ca = Ca::new("rollout CA");
    let valid = ca.client("alice");
    let old = expired(&ca);
    let enforced = config(json!({"clientCertExclusionPaths": "/public"}));
    let report = config(json!({"clientCertExclusionPaths": "/public", "reportOnly": true}));
    type Pred = Box<dyn Fn(&Decision) -> bool>;
    // (path, certificate, enforced decision, report-only decision)
    let cases: Vec<(&str, Option<&str>, Pred, Pred)> = vec![
        (
            "/api",
            None,
            Box::new(deny(Reason::Missing)),
            Box::new(would_deny(Reason::Missing)),
        ),
        (
            "/api",
            Some(&old.cert_pem),
            Box::new(deny(Reason::Expired)),
            Box::new(would_deny(Reason::Expired)),
        ),
        (
            "/api",
            Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Box::new(deny(Reason::Malformed)),
            Box::new(would_deny(Reason::Malformed)),
        ),
        (
            "/api",
            Some(&valid.cert_pem),
            Box::new(|d| matches!(d, Decision::Forward { .. })),
            Box::new(|d| matches!(d, Decision::Forward { .. })),
        ),
        // An exclusion stays an exclusion: passed as excluded, not as a would-deny.
        (
            "/public/x",
            None,
            Box::new(|d| *d == Decision::Pass(PassReason::NoCertificateExcluded)),
            Box::new(|d| *d == Decision::Pass(PassReason::NoCertificateExcluded)),
        ),
        (
            "/public/x",
            Some(&old.cert_pem),
            Box::new(|d| matches!(d, Decision::Pass(PassReason::InvalidCertificateExcluded(_)))),
            Box::new(|d| matches!(d, Decision::Pass(PassReason::InvalidCertificateExcluded(_)))),
        ),
    ];
    for (path, pem, in_enforced, in_report) in cases {
        let d = decision(&enforced, path, pem);
        assert!(in_enforced(&d), "enforced {path}: {d:?}");
        let d = decision(&report, path, pem);
        assert!(in_report(&d), "report only {path}: {d:?}");
        assert_eq!(
            d.header(ARR).is_some(),
            pem == Some(valid.cert_pem.as_str())
        );
    }
}

#[test]
fn a_host_failure_is_never_downgraded_by_report_only() {
    struct Failing;
    impl client_cert_auth::Inputs for Failing {
        fn header(&self, _: &str) -> Option<std::borrow::Cow<'_, [u8]>> {
            None
        }
        fn property(
            &mut self,
            p: client_cert_auth::Property,
        ) -> Result<Option<Vec<u8>>, client_cert_auth::HostCall> {
            Err(p.call())
        }
        fn now(&mut self) -> Result<i64, client_cert_auth::HostCall> {
            Ok(0)
        }
    }
    let report = config(json!({"reportOnly": true}));
    let d = decide(&report, &mut Failing, &mut VerdictCache::new(1)).decision;
    assert!(
        matches!(d, Decision::Deny(DenyReason::HostFailure(_))),
        "{d:?}"
    );
}

#[test]
fn a_rule_s_report_only_overrides_the_top_level_in_both_directions() {
    let rules = json!([
        {"name": "canary", "pathPrefix": "/canary", "mode": "Required", "reportOnly": true},
        {"name": "strict", "pathPrefix": "/strict", "mode": "Required", "reportOnly": false},
        {"name": "plain", "pathPrefix": "/plain", "mode": "Required"}
    ]);
    for top in [false, true] {
        let c = config(json!({"reportOnly": top, "rules": rules}));
        // (path, report only?)
        for (path, reported) in [
            ("/canary/x", true),
            ("/strict/x", false),
            ("/plain/x", top),
            ("/elsewhere", top),
        ] {
            let d = decision(&c, path, None);
            if reported {
                assert!(would_deny(Reason::Missing)(&d), "top {top} {path}: {d:?}");
            } else {
                assert!(deny(Reason::Missing)(&d), "top {top} {path}: {d:?}");
            }
        }
    }
}

/// Report only on one rule never leaks to a request that only might be under it: an
/// ambiguous request is report only only if every candidate is.
#[test]
fn report_only_on_one_rule_does_not_leak_to_ambiguous_or_other_requests() {
    let c = config(json!({
        "clientCertExclusionPaths": "/public",
        "rules": [
            {"name": "canary", "pathPrefix": "/canary", "mode": "Required", "reportOnly": true},
            {"name": "admin", "pathPrefix": "/admin", "mode": "Required"}
        ]
    }));
    for path in [
        "/canary",
        "/canary/",
        "/canary/deep/x",
        "/canary?x=1",
        "/canary/a%20b",
    ] {
        let d = decision(&c, path, None);
        assert!(would_deny(Reason::Missing)(&d), "{path}: {d:?}");
    }
    for path in [
        // Another rule, the default, and paths that only look like the canary's.
        "/admin",
        "/other",
        "/canaryx",
        "/x/canary",
        // Ambiguous: letter case (Envoy routes case-sensitively), dot segments, encodings.
        "/CANARY/x",
        "/Canary",
        "/canary/../admin",
        "/canary/%2e%2e/admin",
        "/canary/..%2fadmin",
        "/canary//x",
        "/canary/x;y",
        "/canary%2fx",
        "/public/../canary",
    ] {
        let d = decision(&c, path, None);
        assert!(deny(Reason::Missing)(&d), "{path}: {d:?}");
    }
}

#[test]
fn the_deciding_rule_is_the_strictest_candidate_and_the_first_of_equals() {
    let c = config(json!({
        "clientCertMode": "Optional",
        "rules": [
            {"name": "open", "pathPrefix": "/docs", "mode": "Ignore"},
            {"name": "first", "pathPrefix": "/api", "mode": "Required"},
            {"pathPrefix": "/api", "mode": "Required"},
        ]
    }));
    let rule = |path: &str| {
        let mut request = Request {
            path: path.as_bytes(),
            now: now(),
            ..Request::default()
        };
        let outcome = decide(&c, &mut request, &mut VerdictCache::new(1));
        c.rule_label(outcome.rule).into_owned()
    };
    assert_eq!(rule("/docs/x"), "open");
    assert_eq!(rule("/api/x"), "first");
    assert_eq!(rule("/other"), "-", "clientCertMode decided");
    // Ambiguous under /docs (letter case): Optional (the default) is stricter than Ignore.
    assert_eq!(rule("/DOCS/x"), "-");
    let unnamed = config(json!({"rules": [{"pathPrefix": "/a", "mode": "Optional"}]}));
    assert_eq!(unnamed.rule_label(Some(0)), "rules[0]");
}

#[test]
fn rule_names_are_checked_and_unique() {
    let cases = [
        (
            json!({"rules": [{"name": "", "mode": "Required"}]}),
            "rules[0].name: \"\" is not 1 to 64 letters, digits, '_' or '-' (it names stats and log fields)",
        ),
        (
            json!({"rules": [{"name": "a.b", "mode": "Required"}]}),
            "rules[0].name: \"a.b\" is not 1 to 64",
        ),
        (
            json!({"rules": [{"name": "a b", "mode": "Required"}]}),
            "rules[0].name: \"a b\"",
        ),
        (
            json!({"rules": [{"name": "x\"y=z", "mode": "Required"}]}),
            "rules[0].name: \"x\\\"y=z\"",
        ),
        (
            json!({"rules": [{"name": "a".repeat(65), "mode": "Required"}]}),
            "rules[0].name: \"aaaaaaaaaa",
        ),
        (
            json!({"rules": [
                {"name": "api", "pathPrefix": "/a", "mode": "Required"},
                {"name": "other", "pathPrefix": "/b", "mode": "Required"},
                {"name": "api", "pathPrefix": "/c", "mode": "Optional"}
            ]}),
            "rules[2].name: \"api\" is already the name of rules[0]; rule names must be unique",
        ),
        (
            json!({"reportOnly": "yes"}),
            "reportOnly: invalid type: string \"yes\", expected a boolean",
        ),
        (
            json!({"rules": [{"mode": "Required", "reportOnly": 1}]}),
            "rules[0].reportOnly: invalid type: integer `1`, expected a boolean",
        ),
    ];
    for (json, message) in cases {
        let error = refused(json.clone());
        assert!(error.starts_with(message), "{json}: {error}");
    }
    let ok = config(json!({"rules": [
        {"name": "A-z_09", "mode": "Required"},
        {"name": "a".repeat(64), "pathPrefix": "/x", "mode": "Required"},
        {"pathPrefix": "/y", "mode": "Required"},
        {"pathPrefix": "/z", "mode": "Required"}
    ]}));
    assert_eq!(ok.rules[0].name.as_deref(), Some("A-z_09"));
    assert_eq!(
        ok.rules[2].name, None,
        "names are optional, unnamed rules may repeat"
    );
}

/// A request with two forged copies of the certificate header, on a connection with `leaf`
/// (or without a certificate).
fn request(path: &str, leaf: Option<&Leaf>) -> FakeHost {
    let host = testkit::glue::request(
        path,
        &[
            ("X-ARR-ClientCert", "forged"),
            ("x-arr-clientcert", "forged-lower"),
        ],
    );
    match leaf {
        Some(leaf) => with_cert(host, leaf),
        None => without_cert(host),
    }
}

/// The counters that moved, by name without the `client_cert_auth.` prefix.
fn moved(host: &FakeHost) -> Vec<(String, u64)> {
    host.metrics
        .iter()
        .filter(|(n, v)| **v > 0 && !n.ends_with("memory_bytes") && !n.ends_with("cache_entries"))
        .map(|(n, v)| (n.trim_start_matches("client_cert_auth.").to_string(), *v))
        .collect()
}

fn counters(list: &[&str]) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = list.iter().map(|n| (n.to_string(), 1)).collect();
    v.sort();
    v
}

#[test]
fn through_the_glue_report_only_passes_strips_counts_logs_and_publishes() {
    let ca = Ca::new("rollout CA");
    let old = expired(&ca);
    let sha = hex_lower(&Sha256::digest(&old.der));
    let filter = Filter::new(json!({
        "reportOnly": true,
        "forward": {"infoHeaders": true},
        "rules": [{"name": "api", "pathPrefix": "/api", "mode": "Required"}]
    }));
    for (path, leaf, reason, rule, sha) in [
        ("/api/x", None, "missing", "api", "-"),
        ("/api/x", Some(&old), "expired", "api", sha.as_str()),
        ("/else", Some(&old), "expired", "-", sha.as_str()),
    ] {
        filter.cache.replace(VerdictCache::new(8));
        let mut host = request(path, leaf);
        assert_eq!(filter.run(&mut host), Action::Continue, "{path}");
        assert_eq!(host.reply, None, "{path}: nothing is denied");
        assert!(
            host.header(ARR).is_empty(),
            "{path}: forged copies removed, nothing forwarded"
        );
        let verify = if leaf.is_some() {
            format!("FAILED:{reason}")
        } else {
            "NONE".into()
        };
        assert_eq!(host.header("x-client-cert-verify"), [verify.as_bytes()]);
        let mut expected = vec![format!("would_deny.{reason}")];
        if rule != "-" {
            expected.push(format!("rule.{rule}.would_deny.{reason}"));
        }
        if leaf.is_some() {
            expected.push("cache_misses".into());
        }
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_eq!(moved(&host), counters(&expected), "{path}");
        let lines: Vec<&str> = host.logs(Level::Info);
        let status = 401;
        assert!(
            lines.iter().any(|l| l.starts_with(&format!(
                "client-cert-auth: would deny (report only) status={status} reason={reason} rule={rule} path=\"{path}\" cert_sha256={sha} detail=\""
            ))),
            "{path}: {lines:?}"
        );
        assert!(!lines.iter().any(|l| l.contains(": denied ")), "{lines:?}");
        assert_eq!(
            host.filter_state[STATE],
            format!("decision=would_deny reason={reason} rule={rule} sha256={sha}")
        );
    }
}

#[test]
fn through_the_glue_per_rule_counters_and_the_filter_state_follow_each_decision() {
    let ca = Ca::new("rollout CA");
    let alice = ca.client("alice");
    let old = expired(&ca);
    let sha = |leaf: &Leaf| hex_lower(&Sha256::digest(&leaf.der));
    let filter = Filter::new(json!({
        "clientCertMode": "Optional",
        "clientCertExclusionPaths": "/public",
        "rules": [
            {"name": "canary", "pathPrefix": "/canary", "mode": "Required", "reportOnly": true},
            {"name": "api", "pathPrefix": "/api", "mode": "Required"},
            {"pathPrefix": "/anon", "mode": "Required"},
            {"name": "docs", "pathPrefix": "/docs", "mode": "Ignore"}
        ]
    }));
    let alice_sha = sha(&alice);
    let old_sha = sha(&old);
    // (path, certificate, action, counters moved, filter state)
    type Case<'a> = (&'a str, Option<&'a Leaf>, Action, Vec<&'a str>, String);
    let cases: Vec<Case> = vec![
        (
            "/api/x",
            Some(&alice),
            Action::Continue,
            vec!["forwarded", "rule.api.forwarded", "cache_misses"],
            format!("decision=forward reason=- rule=api sha256={alice_sha}"),
        ),
        (
            "/api/x",
            None,
            Action::Pause,
            vec!["denied.missing", "rule.api.denied.missing"],
            "decision=deny reason=missing rule=api sha256=-".into(),
        ),
        (
            "/api/x",
            Some(&old),
            Action::Pause,
            vec!["denied.expired", "rule.api.denied.expired", "cache_misses"],
            format!("decision=deny reason=expired rule=api sha256={old_sha}"),
        ),
        (
            "/canary/x",
            None,
            Action::Continue,
            vec!["would_deny.missing", "rule.canary.would_deny.missing"],
            "decision=would_deny reason=missing rule=canary sha256=-".into(),
        ),
        // Ambiguous (letter case): the enforced default is a candidate, so it is enforced.
        // Required (the canary's mode) is the strictest candidate and decides.
        (
            "/CANARY/x",
            None,
            Action::Pause,
            vec!["denied.missing", "rule.canary.denied.missing"],
            "decision=deny reason=missing rule=canary sha256=-".into(),
        ),
        (
            "/docs/x",
            Some(&old),
            Action::Continue,
            vec!["passed", "rule.docs.passed"],
            "decision=pass reason=disabled rule=docs sha256=-".into(),
        ),
        (
            "/anon",
            None,
            Action::Pause,
            vec!["denied.missing"],
            "decision=deny reason=missing rule=rules[2] sha256=-".into(),
        ),
        (
            "/elsewhere",
            None,
            Action::Continue,
            vec!["passed"],
            "decision=pass reason=optional rule=- sha256=-".into(),
        ),
        (
            "/public/x",
            Some(&old),
            Action::Continue,
            vec!["passed", "excluded", "cache_misses"],
            format!("decision=pass reason=excluded rule=- sha256={old_sha}"),
        ),
    ];
    for (path, leaf, action, moved_counters, state) in cases {
        // A fresh cache each time, so the cache counters are the same whatever the order.
        filter.cache.replace(VerdictCache::new(8));
        let mut host = request(path, leaf);
        assert_eq!(filter.run(&mut host), action, "{path}");
        assert_eq!(moved(&host), counters(&moved_counters), "{path}");
        assert_eq!(host.filter_state[STATE], state, "{path}");
        let writes = host
            .calls
            .iter()
            .filter(|c| matches!(c, Call::SetFilterState(..)))
            .count();
        assert_eq!(writes, 1, "{path}: one filter-state write per request");
        if action == Action::Continue && leaf.is_some_and(|l| l.der == alice.der) {
            assert_eq!(host.header(ARR), [STANDARD.encode(&alice.der).as_bytes()]);
        } else {
            assert!(host.header(ARR).is_empty(), "{path}");
        }
    }
}

#[test]
fn a_failing_filter_state_write_changes_no_decision() {
    let ca = Ca::new("rollout CA");
    let alice = ca.client("alice");
    let filter = Filter::new(json!({}));
    let op = format!("set_filter_state:{STATE}");
    let mut ok = request("/", Some(&alice)).failing(&op);
    assert_eq!(filter.run(&mut ok), Action::Continue);
    assert_eq!(ok.header(ARR), [STANDARD.encode(&alice.der).as_bytes()]);
    assert!(
        ok.logs(Level::Warn)
            .iter()
            .any(|l| l.starts_with("client-cert-auth: could not set the filter state")),
        "{:?}",
        ok.logs(Level::Warn)
    );
    let mut denied = request("/", None).failing(&op);
    assert_eq!(filter.run(&mut denied), Action::Pause);
    assert_eq!(denied.reply.as_ref().map(|r| r.status), Some(401));
}

#[test]
fn under_report_only_a_failing_host_call_still_answers_500() {
    let ca = Ca::new("rollout CA");
    let alice = ca.client("alice");
    let filter = Filter::new(json!({"reportOnly": true}));
    for operation in [
        "remove:X-ARR-ClientCert",
        &format!("property:{CERT}"),
        "clock",
    ] {
        let mut host = request("/", Some(&alice)).failing(operation);
        assert_eq!(filter.run(&mut host), Action::Pause, "{operation}");
        assert_eq!(
            host.reply.as_ref().map(|r| r.status),
            Some(500),
            "{operation}"
        );
        assert_eq!(host.metrics["client_cert_auth.denied.host_failure"], 1);
        assert_eq!(host.metrics["client_cert_auth.would_deny.host_failure"], 0);
        assert!(
            host.filter_state[STATE].starts_with("decision=deny reason=host_failure"),
            "{operation}"
        );
    }
}

#[test]
fn a_client_cannot_reach_the_filter_state_through_its_request() {
    // Whatever the request carries (headers named like the state, values shaped like its
    // fields, a path with spaces and quotes), the state holds only the filter's tokens.
    let filter =
        Filter::new(json!({"rules": [{"name": "api", "pathPrefix": "/api", "mode": "Required"}]}));
    let mut host = without_cert(testkit::glue::request(
        "/api/x%20decision=forward",
        &[
            (
                "client_cert_auth",
                "decision=forward reason=- rule=api sha256=00",
            ),
            ("wasm.client_cert_auth", "decision=forward"),
            ("x-envoy-filter-state", "decision=forward"),
        ],
    ));
    assert_eq!(filter.run(&mut host), Action::Pause);
    assert_eq!(
        host.filter_state[STATE],
        "decision=deny reason=missing rule=api sha256=-"
    );
    assert_eq!(host.filter_state.len(), 1);
}

#[test]
fn configuring_defines_the_per_rule_and_would_deny_counters() {
    let filter = Filter::new(json!({"rules": [
        {"name": "api", "pathPrefix": "/api", "mode": "Required"},
        {"pathPrefix": "/x", "mode": "Required"}
    ]}));
    let names: Vec<&String> = filter.configured.metrics.keys().collect();
    for reason in Reason::ALL {
        for name in [
            format!("client_cert_auth.would_deny.{reason}"),
            format!("client_cert_auth.rule.api.denied.{reason}"),
            format!("client_cert_auth.rule.api.would_deny.{reason}"),
        ] {
            assert!(names.contains(&&name), "{name}");
        }
    }
    assert!(names.contains(&&"client_cert_auth.rule.api.forwarded".to_string()));
    assert!(names.contains(&&"client_cert_auth.rule.api.passed".to_string()));
    assert!(
        !names
            .iter()
            .any(|n| n.contains("rules[") || n.contains("rule.rules")),
        "an unnamed rule has no counters: {names:?}"
    );
    let logs = filter.configured.logs(Level::Info);
    assert!(!logs.iter().any(|l| l.contains("report only")), "{logs:?}");
    let report = Filter::new(json!({"reportOnly": true}));
    assert!(
        report
            .configured
            .logs(Level::Info)
            .iter()
            .any(|l| l.ends_with(", report only (nothing is denied unless a rule says so)")),
    );
}
