//! Per-route rules: matching, first match wins, and no crafted path selects a weaker rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use client_cert_auth::CertError;
use client_cert_auth::Config;
use client_cert_auth::{Decision, DenyReason, PassReason, Request};
use client_cert_auth::{Mode, RequestLine, scope};
use serde_json::json;
use testkit::core::{config, decide_fresh, now, run_at};
use testkit::pki::Ca;

/// The mode the rules choose for a request.
fn mode_of(config: &Config, request: RequestLine<'_>) -> Mode {
    scope(
        &config.exclusions,
        &config.rules,
        config.mode,
        config.report_only,
        request,
        config.needs.path,
        config.needs.authority,
    )
    .selection
    .mode
}

fn mode_for(config: &Config, path: &str, host: &str, method: &str) -> Mode {
    mode_of(
        config,
        RequestLine {
            path: path.as_bytes(),
            method: method.as_bytes(),
            authority: host.as_bytes(),
            ..RequestLine::default()
        },
    )
}

/// Asserts the mode a GET of `path` gets on each host.
#[track_caller]
fn assert_hosts(c: &Config, path: &str, hosts: &[(&str, Mode)]) {
    for &(host, mode) in hosts {
        assert_eq!(mode_for(c, path, host, "GET"), mode, "{host:?}");
    }
}

/// Asserts the mode a GET of each path gets (on host `h`).
#[track_caller]
fn assert_paths(c: &Config, paths: &[(&str, Mode)]) {
    for &(path, mode) in paths {
        assert_eq!(mode_for(c, path, "h", "GET"), mode, "{path}");
    }
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
    for (path, host, method, expected) in [
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
    ] {
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
    // An escaped ordinary character: `/health` decoded, something else as written (Envoy's
    // router without normalize_path, a server that does not decode): the `/health` rule only
    // may apply, so it cannot switch the check off; the next rule that surely applies decides.
    assert_eq!(mode_for(&c, "/h%65alth", "h", "GET"), Mode::Optional);
    assert_eq!(mode_for(&c, "/%61dmin/x", "h", "GET"), Mode::Required);
    // Both readings agree: the escape does not touch what the rule looks at.
    assert_eq!(mode_for(&c, "/admin/%78", "h", "GET"), Mode::Required);
    assert_eq!(mode_for(&c, "/other/%78", "h", "GET"), Mode::Optional);
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
    for (path, host, expected) in [
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
    ] {
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
    assert_hosts(
        &c,
        "/x",
        &[
            ("api.contoso.com:8443", Mode::Required),
            ("www.contoso.com", Mode::Optional),
            ("[::1]:8443", Mode::Optional),
            ("127.0.0.1", Mode::Optional),
        ],
    );
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
    for (rules, message) in [
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
    ] {
        let err = Config::from_json(json!({"rules": rules}).to_string().as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(message),
            "{rules}:\n  got      {err}\n  expected {message}"
        );
    }
}

#[test]
fn hosts_match_as_envoys_virtual_hosts_with_port_and_trailing_dot_significant() {
    // A weaker rule for the public host, a stricter one for the admin host, Optional otherwise.
    let c = config(json!({
        "clientCertMode": "Optional",
        "rules": [
            {"hosts": ["public.contoso.com"], "mode": "Ignore"},
            {"hosts": ["admin.contoso.com", "*.admin.contoso.com"], "mode": "Required"},
            {"hosts": ["ports.contoso.com:8443"], "mode": "Ignore"}
        ]
    }));
    assert_hosts(
        &c,
        "/x",
        &[
            // Exactly the virtual host: the weaker rule applies.
            ("public.contoso.com", Mode::Disabled),
            ("PUBLIC.Contoso.COM", Mode::Disabled),
            // Envoy's default matching keeps the port and the trailing dot: another virtual host
            // may serve these, so the weaker rule is ambiguous and the strictest candidate decides.
            ("public.contoso.com:443", Mode::Optional),
            ("public.contoso.com.", Mode::Optional),
            ("public.contoso.com.:443", Mode::Optional),
            // A stricter rule still applies when Envoy might fold the spelling.
            ("admin.contoso.com", Mode::Required),
            ("admin.contoso.com:443", Mode::Required),
            ("admin.contoso.com.", Mode::Required),
            ("x.admin.contoso.com", Mode::Required),
            ("x.admin.contoso.com:8443", Mode::Required),
            ("x.admin.contoso.com.", Mode::Required),
            ("admin.contoso.com.evil.test", Mode::Optional),
            ("xadmin.contoso.com", Mode::Optional),
            // An entry with a port names that port only.
            ("ports.contoso.com:8443", Mode::Disabled),
            ("ports.contoso.com", Mode::Optional),
            ("ports.contoso.com:443", Mode::Optional),
            ("other.contoso.com", Mode::Optional),
        ],
    );
    // A wildcard never matches the bare name, nor a name under another domain.
    let w = config(json!({
        "clientCertMode": "Ignore",
        "rules": [{"hosts": ["*.secure.test"], "mode": "Required"}]
    }));
    assert_hosts(
        &w,
        "/",
        &[
            ("api.secure.test", Mode::Required),
            ("secure.test", Mode::Disabled),
            ("api.other.test", Mode::Disabled),
            ("apisecure.test", Mode::Disabled),
        ],
    );
}

#[test]
fn a_path_condition_holds_only_if_it_holds_in_both_letter_cases() {
    let c = config(json!({
        "clientCertMode": "Optional",
        "rules": [
            {"pathPrefix": "/admin", "mode": "Required"},
            {"pathPrefix": "/static", "mode": "Ignore"},
            {"pathExact": "/Health", "mode": "Ignore"}
        ]
    }));
    assert_paths(
        &c,
        &[
            ("/static/app.js", Mode::Disabled),
            // Envoy (case-sensitive) would not route /STATIC as /static; a framework might.
            ("/STATIC/app.js", Mode::Optional),
            ("/Static/admin", Mode::Optional),
            // The stricter rule still applies to any spelling.
            ("/admin", Mode::Required),
            ("/ADMIN", Mode::Required),
            ("/Admin/users", Mode::Required),
            ("/Health", Mode::Disabled),
            ("/health", Mode::Optional),
            ("/HEALTH/", Mode::Optional),
            ("/other", Mode::Optional),
        ],
    );
}

#[test]
fn route_names_follow_the_route_envoy_chose() {
    let c = config(json!({
        "clientCertMode": "Required",
        "rules": [
            {"routeNames": ["public-docs", "health"], "mode": "Ignore"},
            {"routeNames": ["partner-api"], "mode": "Optional"}
        ]
    }));
    assert!(c.needs.route);
    let on = |route: Option<&str>, path: &str| {
        mode_of(
            &c,
            RequestLine {
                path: path.as_bytes(),
                route: route.map(str::as_bytes),
                ..RequestLine::default()
            },
        )
    };
    // The route decides: Envoy has already matched it.
    assert_eq!(on(Some("public-docs"), "/docs/a/b"), Mode::Disabled);
    assert_eq!(on(Some("health"), "/healthz"), Mode::Disabled);
    assert_eq!(on(Some("partner-api"), "/api"), Mode::Optional);
    assert_eq!(
        on(Some("Public-Docs"), "/docs"),
        Mode::Required,
        "exact names"
    );
    assert_eq!(on(Some("admin"), "/docs"), Mode::Required);
    assert_eq!(on(None, "/docs"), Mode::Required, "an unnamed route");
    // On the named route, a path the upstream may resolve to another resource is ambiguous.
    for path in [
        "/docs/../admin",
        "/docs/..%2fadmin",
        "/docs/..;/admin",
        "//admin",
    ] {
        assert_eq!(on(Some("public-docs"), path), Mode::Required, "{path}");
    }
    let no_routes = config(json!({"rules": [{"pathPrefix": "/a", "mode": "Ignore"}]}));
    assert!(
        !no_routes.needs.route,
        "the property is only read when a rule needs it"
    );
}

#[test]
fn head_and_method_overrides_are_ambiguous_for_method_conditions() {
    let c = config(json!({
        "clientCertMode": "Required",
        "rules": [
            {"methods": ["GET"], "pathPrefix": "/read", "mode": "Optional"},
            {"methods": ["GET", "HEAD"], "pathPrefix": "/both", "mode": "Optional"},
            {"methods": ["POST"], "pathPrefix": "/write", "mode": "Required"},
            {"pathPrefix": "/write", "mode": "Ignore"}
        ]
    }));
    let with = |method: &str, path: &str, overridden: bool| {
        mode_of(
            &c,
            RequestLine {
                path: path.as_bytes(),
                method: method.as_bytes(),
                method_overridden: overridden,
                ..RequestLine::default()
            },
        )
    };
    assert_eq!(with("GET", "/read", false), Mode::Optional);
    // A GET handler serves HEAD: a rule listing GET alone is ambiguous for HEAD.
    assert_eq!(with("HEAD", "/read", false), Mode::Required);
    assert_eq!(with("HEAD", "/both", false), Mode::Optional);
    assert_eq!(with("head", "/both", false), Mode::Optional);
    assert_eq!(with("POST", "/read", false), Mode::Required);
    // A method-override header makes the method ambiguous: GET + override cannot take the
    // weaker rule, and POST + override cannot skip the stricter one.
    assert_eq!(with("GET", "/read", true), Mode::Required);
    assert_eq!(with("GET", "/write", true), Mode::Required);
    assert_eq!(with("GET", "/write", false), Mode::Disabled);
    assert_eq!(with("POST", "/write", false), Mode::Required);
    // Through decide: the override header from the request (the CLI's plain-data request
    // carries X-HTTP-Method-Override).
    let decided = |method_override: Option<&[u8]>| {
        decide_fresh(
            &c,
            Request {
                path: b"/read",
                method_override,
                ..Request::default()
            },
        )
        .decision
    };
    assert_eq!(
        decided(None),
        Decision::Pass(PassReason::NoCertificateOptional)
    );
    assert_eq!(
        decided(Some(b"POST")),
        Decision::Deny(DenyReason::CertificateRequired)
    );
}

#[test]
fn an_empty_identity_list_in_a_rule_is_refused() {
    let err = Config::from_json(
        json!({"rules": [{"pathPrefix": "/a", "mode": "Required", "identities": []}]})
            .to_string()
            .as_bytes(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("rules[0].identities: an empty list would accept any certificate"),
        "{err}"
    );
    for bad in [
        json!({"routeNames": [""], "mode": "Required"}),
        json!({"hosts": ["a.test:"], "mode": "Required"}),
    ] {
        let config = json!({"rules": [bad]});
        assert!(
            Config::from_json(config.to_string().as_bytes()).is_err(),
            "{bad}"
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
    for (method, authority, expected) in [
        ("GET", "www.other.test", &optional),
        ("POST", "www.other.test", &required),
        ("post", "www.other.test", &required),
        ("GET", "api.secure.test", &required),
        ("GET", "API.Secure.Test:8443", &required),
        ("GET", "api.other.test", &optional),
        ("GET", "api.secure.test:x", &required),
    ] {
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
