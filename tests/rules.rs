//! Per-route rules: matching, first match wins, and no crafted path selects a weaker rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use client_cert_auth::CertError;
use client_cert_auth::Config;
use client_cert_auth::scope::Mode;
use client_cert_auth::scope::path::canonicalize;
use client_cert_auth::scope::rules::{request_host, select};
use client_cert_auth::{Decision, DenyReason, PassReason, Request};
use common::core::{config, decide_fresh, now, run_at};
use common::pki::Ca;
use serde_json::json;

fn mode_for(config: &Config, path: &str, host: &str, method: &str) -> Mode {
    let canonical = canonicalize(path.as_bytes());
    select(
        &config.rules,
        config.mode,
        canonical.as_deref(),
        request_host(host.as_bytes()).as_deref(),
        method.as_bytes(),
    )
    .mode
}

#[test]
fn first_matching_rule_decides_by_path_host_and_method() {
    let c = config(json!({
        "clientCertMode": "Ignore",
        "rules": [
            {"pathPrefix": "/admin", "methods": ["POST", "delete"], "mode": "Required"},
            {"pathExact": "/login", "mode": "Optional"},
            {"hosts": ["api.contoso.com", "*.internal.contoso.com"], "pathPrefix": "/", "mode": "Required"},
            {"pathPrefix": "/admin", "mode": "OptionalInteractiveUser"}
        ]
    }));
    let table = [
        ("/admin/users", "www.contoso.com", "POST", Mode::Required),
        ("/ADMIN", "www.contoso.com", "DELETE", Mode::Required),
        (
            "/admin/users",
            "www.contoso.com",
            "GET",
            Mode::OptionalInteractiveUser,
        ),
        ("/administrator", "www.contoso.com", "POST", Mode::Disabled),
        ("/login", "www.contoso.com", "GET", Mode::Optional),
        ("/login/", "www.contoso.com", "GET", Mode::Optional),
        ("/login?next=/", "www.contoso.com", "GET", Mode::Optional),
        ("/login/x", "www.contoso.com", "GET", Mode::Disabled),
        ("/anything", "api.contoso.com", "GET", Mode::Required),
        ("/anything", "API.Contoso.com:8443", "GET", Mode::Required),
        ("/anything", "api.contoso.com.", "GET", Mode::Required),
        ("/anything", "a.internal.contoso.com", "GET", Mode::Required),
        ("/anything", "internal.contoso.com", "GET", Mode::Disabled),
        ("/anything", "evilapi.contoso.com", "GET", Mode::Disabled),
        ("/anything", "www.contoso.com", "GET", Mode::Disabled),
        // Longer than `.internal.contoso.com` but not under it.
        (
            "/anything",
            "a-much-longer-name.example.com",
            "GET",
            Mode::Disabled,
        ),
        (
            "/anything",
            "api.internal.contoso.org",
            "GET",
            Mode::Disabled,
        ),
    ];
    for (path, host, method, expected) in table {
        assert_eq!(
            mode_for(&c, path, host, method),
            expected,
            "{method} {host}{path}"
        );
    }
}

#[test]
fn ambiguous_paths_never_select_a_weaker_rule() {
    let c = config(json!({
        "clientCertMode": "Optional",
        "rules": [
            {"pathPrefix": "/admin", "mode": "Required"},
            {"pathExact": "/health", "mode": "Ignore"},
            {"pathPrefix": "/", "mode": "Optional"}
        ]
    }));
    for path in [
        "/public/../admin",
        "/public/%2e%2e/admin",
        "/x/..;/admin",
        "/admin%2fx",
        "//admin",
        "/x\\..\\admin",
        "/health/..",
    ] {
        assert_eq!(mode_for(&c, path, "h", "GET"), Mode::Required, "{path}");
    }
    assert_eq!(mode_for(&c, "/admin/x", "h", "GET"), Mode::Required);
    assert_eq!(mode_for(&c, "/health", "h", "GET"), Mode::Disabled);
    assert_eq!(mode_for(&c, "/other", "h", "GET"), Mode::Optional);
}

/// A rule that may apply to an ambiguous request does not settle it: the rules after it are
/// candidates too, up to one that surely matches, and the strictest candidate decides. Here the
/// weaker rules come first, so settling on the first candidate would weaken the request.
#[test]
fn an_ambiguous_candidate_does_not_settle_the_request() {
    let c = config(json!({
        "clientCertMode": "Optional",
        "rules": [
            {"pathExact": "/health", "mode": "Ignore"},
            {"hosts": ["status.contoso.com"], "mode": "Ignore"},
            {"pathPrefix": "/admin", "mode": "Required"},
            {"pathPrefix": "/", "mode": "Optional"}
        ]
    }));
    // (path, host, mode): an ambiguous path or host reaches the /admin rule.
    let table = [
        ("/health/../admin", "www.contoso.com", Mode::Required),
        ("/health/%2e%2e/admin", "www.contoso.com", Mode::Required),
        ("/admin", "status.contoso.com:x", Mode::Required),
        ("/admin", "status..contoso.com", Mode::Required),
        // Plain requests settle on the first rule that surely matches.
        ("/health", "www.contoso.com", Mode::Disabled),
        ("/admin", "status.contoso.com", Mode::Disabled),
        ("/admin", "www.contoso.com", Mode::Required),
        ("/other", "www.contoso.com", Mode::Optional),
        // Ambiguous: every rule with a path is a candidate, /admin the strictest of them.
        ("/other/../x", "www.contoso.com", Mode::Required),
    ];
    for (path, host, expected) in table {
        assert_eq!(mode_for(&c, path, host, "GET"), expected, "{host}{path}");
    }
}

#[test]
fn malformed_hosts_never_select_a_weaker_rule() {
    let c = config(json!({
        "clientCertMode": "Optional",
        "rules": [{"hosts": ["api.contoso.com"], "mode": "Required"}]
    }));
    for host in [
        "api.contoso.com:443:443",
        "api.contoso.com:x",
        "api.contoso.com:",
        "api.contoso.com/evil",
        "api contoso.com",
        "api..contoso.com",
        "[zz::1]",
        "",
        // Malformed ports on a host the rule does not name are ambiguous all the same.
        "www.contoso.com:",
        "www.contoso.com:x",
        "www.contoso.com:443:443",
        "[::1]:x",
    ] {
        assert_eq!(mode_for(&c, "/x", host, "GET"), Mode::Required, "{host:?}");
    }
    for (host, mode) in [
        ("api.contoso.com:8443", Mode::Required),
        ("www.contoso.com", Mode::Optional),
        ("[::1]:8443", Mode::Optional),
        ("127.0.0.1", Mode::Optional),
    ] {
        assert_eq!(mode_for(&c, "/x", host, "GET"), mode, "{host:?}");
    }
}

#[test]
fn a_rule_can_require_its_own_identities() {
    let ca = Ca::new("rules CA");
    let ops = ca.client("ops");
    let dev = ca.client("dev");
    let c = config(json!({
        "clientCertMode": "Optional",
        "rules": [{"pathPrefix": "/admin", "mode": "Required", "identities": [{"commonName": "ops"}]}],
        "validation": {"identities": [{"commonName": "dev"}, {"commonName": "ops"}]}
    }));
    let now = now();
    let run = |path: &str, pem: &str| run_at(&c, path, Some(pem), now).decision;
    assert!(matches!(
        run("/admin", &ops.cert_pem),
        Decision::Forward { .. }
    ));
    assert_eq!(
        run("/admin", &dev.cert_pem),
        Decision::Deny(DenyReason::CertificateInvalid(
            CertError::IdentityNotMatched
        ))
    );
    assert!(
        matches!(run("/app", &dev.cert_pem), Decision::Forward { .. }),
        "global identities elsewhere"
    );
    // An ambiguous path must meet the /admin rule's identities too.
    assert_eq!(
        run("/x/../admin", &dev.cert_pem),
        Decision::Deny(DenyReason::CertificateInvalid(
            CertError::IdentityNotMatched
        ))
    );
}

#[test]
fn bad_rules_are_configuration_errors_naming_the_index() {
    let table = [
        (
            json!([{"mode": "Required"}, {"pathPrefix": "admin", "mode": "Required"}]),
            "rules[1].pathPrefix: \"admin\" does not start with '/'",
        ),
        (
            json!([{"pathPrefix": "/a", "pathExact": "/b", "mode": "Required"}]),
            "rules[0].pathPrefix and pathExact cannot both be set",
        ),
        (
            json!([{"hosts": ["bad host"], "mode": "Required"}]),
            "rules[0].hosts: \"bad host\" is not a host name",
        ),
        (
            json!([{"methods": ["GE T"], "mode": "Required"}]),
            "rules[0].methods: \"GE T\" is not an HTTP method",
        ),
        (
            json!([{"mode": "Always"}]),
            "rules[0].mode: unknown mode \"Always\"",
        ),
        (
            json!([{"pathPrefix": "/a"}]),
            "rules[0]: missing field `mode`",
        ),
        (
            json!([{"mode": "Required", "identities": [{"thumbprint": "12"}]}]),
            "rules[0].identities[0].thumbprint: \"12\" is not 40 hex digits",
        ),
        (
            json!([{"mode": "Required", "paths": "/a"}]),
            "rules[0].paths: unknown field `paths`",
        ),
    ];
    for (rules, message) in table {
        let err = Config::from_json(json!({"rules": rules}).to_string().as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(message),
            "{rules}:\n  got      {err}\n  expected {message}"
        );
    }
}

/// Through `decide`, which reads `:method` and `:authority` only when a rule names a method or a
/// host: the rules see both.
#[test]
fn decide_reads_the_method_and_host_the_rules_name() {
    let c = config(json!({
        "clientCertMode": "Optional",
        "rules": [
            {"methods": ["POST"], "mode": "Required"},
            {"hosts": ["*.secure.test"], "mode": "Required"}
        ]
    }));
    let required = Decision::Deny(DenyReason::CertificateRequired);
    let optional = Decision::Pass(PassReason::NoCertificateOptional);
    let table = [
        ("GET", "www.other.test", &optional),
        ("POST", "www.other.test", &required),
        ("post", "www.other.test", &required),
        ("GET", "api.secure.test", &required),
        ("GET", "API.Secure.Test:8443", &required),
        ("GET", "api.other.test", &optional),
        ("GET", "api.secure.test:x", &required),
    ];
    for (method, authority, expected) in table {
        let outcome = decide_fresh(
            &c,
            Request {
                path: b"/x",
                method: method.as_bytes(),
                authority: authority.as_bytes(),
                ..Request::default()
            },
        );
        assert_eq!(&outcome.decision, expected, "{method} {authority}");
    }
}
