//! Routing agreement through the real Envoy (issue 11, items 1, 2, 3 and 5): a route
//! configuration with several virtual hosts and named routes, rules on hosts, paths, route names
//! and methods, and requests spelled so that Envoy's routing and a careless filter would part
//! ways. A weaker rule may apply only where the filter and Envoy surely agree on the request;
//! every route adds `x-test-route: <its name>` to what the upstream receives, so each forwarded
//! case also shows the route Envoy chose. Over HTTP/1.1 and HTTP/2, with Envoy's path
//! normalization on and off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::panic::AssertUnwindSafe;

use testkit::cases::{Case, Check, INVALID, REQUIRED, arr, denied, normalization_label, run};
use testkit::envoy::{Call, ClientCert, Envoy, EnvoyOptions, Http, Pki};

/// The header each route adds: the route Envoy chose, as the upstream saw it.
const ROUTE: &str = "x-test-route";

/// Five virtual hosts with named routes, all to the echo upstream, each naming itself in
/// `x-test-route`. Prefixes match case-sensitively, Envoy's default; the port and a trailing dot
/// of the authority count (no `strip_any_host_port`, `ignore_port_in_host_matching` or
/// `strip_trailing_host_dot`). HEAD never reaches the echo upstream, which answers HEAD with a
/// body that would spoil the next response on the connection: the route `head` answers it, after
/// the filter has decided.
const ROUTE_CONFIG: &str = r#"
name: routing-test
virtual_hosts:
- name: public
  domains: ["public.contoso.com"]
  routes:
  - name: public-site
    match: { prefix: "/" }
    route: { cluster: echo }
    request_headers_to_add: [{ header: { key: x-test-route, value: public-site } }]
- name: docs
  domains: ["docs.contoso.com"]
  routes:
  - name: public-docs
    match: { prefix: "/docs" }
    route: { cluster: echo }
    request_headers_to_add: [{ header: { key: x-test-route, value: public-docs } }]
  - name: docs-site
    match: { prefix: "/" }
    route: { cluster: echo }
    request_headers_to_add: [{ header: { key: x-test-route, value: docs-site } }]
- name: cdn
  domains: ["*.cdn.contoso.com"]
  routes:
  - name: cdn
    match: { prefix: "/" }
    route: { cluster: echo }
    request_headers_to_add: [{ header: { key: x-test-route, value: cdn } }]
- name: partner
  domains: ["partner.contoso.com:8443"]
  routes:
  - name: partner
    match: { prefix: "/" }
    route: { cluster: echo }
    request_headers_to_add: [{ header: { key: x-test-route, value: partner } }]
- name: catch-all
  domains: ["*"]
  routes:
  - name: head
    match: { prefix: "/", headers: [{ name: ":method", string_match: { exact: HEAD } }] }
    direct_response: { status: 200 }
  - name: admin
    match: { prefix: "/admin" }
    route: { cluster: echo }
    request_headers_to_add: [{ header: { key: x-test-route, value: admin } }]
  - name: static
    match: { prefix: "/static" }
    route: { cluster: echo }
    request_headers_to_add: [{ header: { key: x-test-route, value: static } }]
  - name: api
    match: { prefix: "/" }
    route: { cluster: echo }
    request_headers_to_add: [{ header: { key: x-test-route, value: api } }]
"#;

/// Required by default; weaker rules on a host, a path, a route name and a method, a stricter
/// rule on a path, and a stricter rule on a method before a weaker one.
const CONFIG: &str = r#"{
  "clientCertMode": "Required",
  "rules": [
    {"hosts": ["public.contoso.com", "*.cdn.contoso.com", "partner.contoso.com:8443"], "mode": "Ignore"},
    {"pathPrefix": "/static", "mode": "Ignore"},
    {"routeNames": ["public-docs"], "mode": "Ignore"},
    {"pathPrefix": "/admin", "mode": "Required", "identities": [{"commonName": "ops"}]},
    {"pathPrefix": "/reports", "methods": ["GET"], "mode": "Optional"},
    {"pathPrefix": "/exports", "methods": ["GET"], "mode": "Required"},
    {"pathPrefix": "/exports", "mode": "Optional"}
  ]
}"#;

/// Authorities the Ignore rule's `hosts` match, and the route Envoy chooses for each: letter
/// case does not count, `*.cdn.contoso.com` covers any name under `cdn.contoso.com`, and an
/// entry with a port matches that port.
const IGNORED_AUTHORITIES: [(&str, &str); 5] = [
    ("public.contoso.com", "public-site"),
    ("PUBLIC.Contoso.COM", "public-site"),
    ("a.cdn.contoso.com", "cdn"),
    ("x.y.cdn.contoso.com", "cdn"),
    ("partner.contoso.com:8443", "partner"),
];

/// Authorities that differ from an entry of the Ignore rule's `hosts` by a port or a trailing
/// dot (or are the wildcard's own name): Envoy's default virtual-host matching keeps both, so
/// each reaches the catch-all virtual host, and the Ignore rule must not apply.
const CATCH_ALL_AUTHORITIES: [&str; 11] = [
    "public.contoso.com:443",
    "public.contoso.com:80",
    "public.contoso.com:0443",
    "public.contoso.com:",
    "public.contoso.com.",
    "PUBLIC.CONTOSO.COM.",
    "cdn.contoso.com",
    "a.cdn.contoso.com:443",
    "a.cdn.contoso.com.",
    "partner.contoso.com",
    "partner.contoso.com:443",
];

/// The client identities: `ops` meets every rule, `alice` every rule but `/admin`'s.
struct Clients {
    ops: ClientCert,
    alice: ClientCert,
}

impl Clients {
    fn new(pki: &Pki) -> Clients {
        Clients {
            ops: pki.save("ops", &pki.ca.client("ops")),
            alice: pki.save("alice", &pki.ca.client("alice")),
        }
    }
}

/// Reached the upstream (200) through `route`, which saw exactly this `X-ARR-ClientCert`.
fn via(route: &str, cert: Option<&ClientCert>) -> Vec<Check> {
    vec![
        Check::Status(200),
        Check::Header(ROUTE, vec![route.to_string()]),
        arr(cert),
    ]
}

/// Answered 401 for a missing certificate, without reaching the upstream.
fn required() -> Vec<Check> {
    let mut checks = denied(401, REQUIRED);
    checks.push(Check::NotUpstream);
    checks
}

/// The request, with this authority.
fn at<'a>(authority: &'a str, target: &'a str) -> Call<'a> {
    Call::new(target).authority(authority)
}

/// The table. `normalized`: Envoy normalizes paths (routes `/static/../admin` by `/admin`).
fn cases(c: &Clients, normalized: bool) -> Vec<Case<'_>> {
    let ops = Some(&c.ops);
    let mut cases = Vec::new();
    // 1. Hosts, as Envoy's virtual hosts match them.
    for (authority, route) in IGNORED_AUTHORITIES {
        cases.extend([
            Case::new(
                format!("host {authority:?} takes the Ignore rule"),
                at(authority, "/api/x"),
                via(route, None),
            )
            .and(Check::Header("host", vec![authority.to_string()])),
            Case::new(
                format!("host {authority:?} with a certificate: Ignore forwards none"),
                at(authority, "/api/x").cert(&c.ops),
                via(route, None),
            ),
        ]);
    }
    for authority in CATCH_ALL_AUTHORITIES {
        cases.extend([
            Case::new(
                format!("host {authority:?} is not the Ignore host"),
                at(authority, "/api/x"),
                required(),
            ),
            Case::new(
                format!("host {authority:?} reaches the catch-all virtual host"),
                at(authority, "/api/x").cert(&c.ops),
                via("api", ops),
            )
            .and(Check::Header("host", vec![authority.to_string()])),
        ]);
    }
    cases.extend([
        // 2. Letter case: Envoy routes `/STATIC` elsewhere than `/static`; a weaker rule holds
        // only in both letter cases, a stricter one applies in either.
        Case::new(
            "/static takes its Ignore rule",
            Call::new("/static/x"),
            via("static", None),
        ),
        Case::new(
            "/STATIC is not under the Ignore rule",
            Call::new("/STATIC/x"),
            required(),
        ),
        Case::new(
            "/Static is not under the Ignore rule",
            Call::new("/Static/x"),
            required(),
        ),
        Case::new(
            "/STATIC reaches the catch-all route",
            Call::new("/STATIC/x").cert(&c.ops),
            via("api", ops),
        ),
        Case::new(
            "dot segments out of /static",
            Call::new("/static/../admin/x"),
            required(),
        ),
        Case::new(
            "dot segments out of /static, identity of /admin met",
            Call::new("/static/../admin/x").cert(&c.ops),
            // Without normalization Envoy routes the raw path by its `/static` prefix.
            via(if normalized { "admin" } else { "static" }, ops),
        ),
        Case::new(
            "dot segments out of /static, identity of /admin not met",
            Call::new("/static/../admin/x").cert(&c.alice),
            denied(401, INVALID),
        ),
        Case::new(
            "/admin needs its identity",
            Call::new("/admin/x").cert(&c.alice),
            denied(401, INVALID),
        ),
        Case::new(
            "/admin with its identity",
            Call::new("/admin/x").cert(&c.ops),
            via("admin", ops),
        ),
        Case::new(
            "/ADMIN still takes the stricter /admin rule",
            Call::new("/ADMIN/x").cert(&c.alice),
            denied(401, INVALID),
        ),
        Case::new(
            "/ADMIN with the identity of /admin reaches the catch-all route",
            Call::new("/ADMIN/x").cert(&c.ops),
            via("api", ops),
        ),
        Case::new(
            "/ADMIN without certificate",
            Call::new("/ADMIN/x"),
            required(),
        ),
        // 3. Route names: the rule follows the route Envoy chose, and nothing else.
        Case::new(
            "the named route takes its Ignore rule",
            at("docs.contoso.com", "/docs/x"),
            via("public-docs", None),
        ),
        Case::new(
            "the named route with a certificate: Ignore forwards none",
            at("docs.contoso.com", "/docs/x").cert(&c.ops),
            via("public-docs", None),
        ),
        Case::new(
            "another route of the same virtual host",
            at("docs.contoso.com", "/other"),
            required(),
        ),
        Case::new(
            "/DOCS is another route",
            at("docs.contoso.com", "/DOCS/x"),
            required(),
        ),
        Case::new(
            "/DOCS reaches the other route",
            at("docs.contoso.com", "/DOCS/x").cert(&c.ops),
            via("docs-site", ops),
        ),
        Case::new(
            "the docs host with a port is another virtual host",
            at("docs.contoso.com:443", "/docs/x"),
            required(),
        ),
        Case::new(
            "the docs host with a port reaches the catch-all virtual host",
            at("docs.contoso.com:443", "/docs/x").cert(&c.ops),
            via("api", ops),
        ),
        Case::new(
            "the docs host with a trailing dot is another virtual host",
            at("docs.contoso.com.", "/docs/x"),
            required(),
        ),
        Case::new("/docs on another host", Call::new("/docs/x"), required()),
        // On the named route, a path the upstream may resolve elsewhere makes the route
        // condition ambiguous: no weaker outcome (with normalization off, or with escaped
        // slashes kept, Envoy sends these on the docs route as they are).
        Case::new(
            "dot segments on the named route",
            at("docs.contoso.com", "/docs/../admin/x"),
            required(),
        ),
        Case::new(
            "encoded dot segments on the named route",
            at("docs.contoso.com", "/docs/%2e%2e/admin/x"),
            required(),
        ),
        Case::new(
            "a ;-parameter dot segment on the named route",
            at("docs.contoso.com", "/docs/..;/admin/x"),
            required(),
        ),
        Case::new(
            "an encoded slash on the named route",
            at("docs.contoso.com", "/docs/..%2fadmin/x"),
            required(),
        ),
        // 5. Methods. A GET-only weaker rule: HEAD and method overrides cannot take it.
        Case::new(
            "GET takes the GET-only Optional rule",
            Call::new("/reports/x"),
            via("api", None),
        ),
        Case::new(
            "GET on the GET-only Optional rule forwards a certificate",
            Call::new("/reports/x").cert(&c.ops),
            via("api", ops),
        ),
        Case::new(
            "POST is not under the GET-only rule",
            Call::new("/reports/x").method("POST"),
            required(),
        ),
        Case::new(
            "HEAD is not surely under the GET-only rule",
            Call::new("/reports/x").method("HEAD"),
            vec![Check::Status(401)],
        ),
        Case::new(
            "HEAD with a certificate passes (answered by the route `head`)",
            Call::new("/reports/x").method("HEAD").cert(&c.ops),
            vec![Check::Status(200)],
        ),
        Case::new(
            "GET with X-HTTP-Method-Override may be a POST",
            Call::new("/reports/x").header("X-HTTP-Method-Override: POST"),
            required(),
        ),
        Case::new(
            "GET with X-Method-Override may be a POST",
            Call::new("/reports/x").header("X-Method-Override: POST"),
            required(),
        ),
        Case::new(
            "GET with X-HTTP-Method may be a POST",
            Call::new("/reports/x").header("x-http-method: POST"),
            required(),
        ),
        Case::new(
            "GET with a method override and a certificate",
            Call::new("/reports/x")
                .header("X-HTTP-Method-Override: POST")
                .cert(&c.ops),
            via("api", ops),
        ),
        // A GET-only stricter rule before a weaker one: HEAD and overrides cannot step past it.
        Case::new(
            "GET takes the GET-only Required rule",
            Call::new("/exports/x"),
            required(),
        ),
        Case::new(
            "POST takes the weaker rule after it",
            Call::new("/exports/x").method("POST"),
            via("api", None),
        ),
        Case::new(
            "HEAD may be served as GET",
            Call::new("/exports/x").method("HEAD"),
            vec![Check::Status(401)],
        ),
        Case::new(
            "HEAD with a certificate passes (answered by the route `head`)",
            Call::new("/exports/x").method("HEAD").cert(&c.ops),
            vec![Check::Status(200)],
        ),
        Case::new(
            "POST with X-HTTP-Method-Override: GET may be a GET",
            Call::new("/exports/x")
                .method("POST")
                .header("X-HTTP-Method-Override: GET"),
            required(),
        ),
        Case::new(
            "POST with a method override and a certificate",
            Call::new("/exports/x")
                .method("POST")
                .header("X-HTTP-Method-Override: GET")
                .cert(&c.ops),
            via("api", ops),
        ),
    ]);
    for override_header in ["X-Method-Override: GET", "X-HTTP-Method: GET"] {
        cases.push(Case::new(
            format!("POST with {override_header} may be a GET"),
            Call::new("/exports/x")
                .method("POST")
                .header(override_header),
            required(),
        ));
    }
    cases
}

fn run_suite(no_path_normalization: bool) {
    let pki = Pki::new();
    let c = Clients::new(&pki);
    let envoy = Envoy::start(
        &pki,
        EnvoyOptions {
            plugin_config: Some(CONFIG.to_string()),
            route_config: Some(ROUTE_CONFIG.to_string()),
            no_path_normalization,
            ..EnvoyOptions::default()
        },
    );
    let label = normalization_label(no_path_normalization);
    let cases = cases(&c, !no_path_normalization);
    // Both protocols run even when the first fails, so a failure shows where each one stands.
    let failed: Vec<Http> = [Http::V1, Http::V2]
        .into_iter()
        .filter(|&http| {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                run(&envoy, &pki, http, &label, &cases);
            }))
            .is_err()
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{label}: cases failed over {failed:?} (listed above)"
    );
}

#[test]
fn routing_agreement_with_envoy_path_normalization() {
    run_suite(false);
}

#[test]
fn routing_agreement_without_envoy_path_normalization() {
    run_suite(true);
}
