//! The glue, natively, over a fake host that records every call: which host calls a request
//! costs for each configuration shape, that a cache hit never fetches the certificate, what
//! every failing host call does, and exactly which headers are removed and set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use client_cert_auth::{HostCall, VerdictCache};
use client_cert_auth::{glue::Action, glue::Level};
use client_cert_auth::{glue::fake::Call, glue::fake::FakeHost};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use testkit::core::{hex_lower, on_request_headers};
use testkit::glue::{
    CERT, DIGEST, Filter, MTLS, assert_logged, log_lines, logged, request, with_cert, without_cert,
};
use testkit::pki::Ca;

const ARR: &str = "x-arr-clientcert";
const XFCC: &str = "x-forwarded-client-cert";

fn property_reads(host: &FakeHost, path: &str) -> usize {
    host.calls
        .iter()
        .filter(|c| **c == Call::Property(path.to_string()))
        .count()
}

#[test]
fn a_cache_hit_never_reads_the_certificate() {
    let leaf = Ca::new("glue CA").client("alice");
    let filter = Filter::new(json!({"clientCertMode": "Required"}));
    let mut first = with_cert(request("/a", &[]), &leaf);
    assert_eq!(filter.run(&mut first), Action::Continue);
    assert_eq!(property_reads(&first, CERT), 1, "first sight fetches it");
    for round in 0..3 {
        let mut again = with_cert(request("/b", &[]), &leaf);
        assert_eq!(filter.run(&mut again), Action::Continue);
        assert_eq!(
            property_reads(&again, CERT),
            0,
            "round {round}: {:?}",
            again.calls
        );
        assert_eq!(property_reads(&again, DIGEST), 1);
        assert_eq!(again.header(ARR), [STANDARD.encode(&leaf.der).as_bytes()]);
        assert_eq!(again.metrics["client_cert_auth.cache_hits"], 1);
    }
    // Another certificate on the same filter is judged afresh.
    let other = Ca::new("glue CA 2").client("bob");
    let mut miss = with_cert(request("/b", &[]), &other);
    filter.run(&mut miss);
    assert_eq!(property_reads(&miss, CERT), 1);
    assert_eq!(miss.metrics["client_cert_auth.cache_misses"], 1);
}

#[test]
fn every_failing_host_call_answers_500_and_names_the_call() {
    let leaf = Ca::new("glue CA").client("alice");
    let azure = json!({"clientCertMode": "Required"});
    let xfcc = json!({"clientCertMode": "Required", "certificateSource": "auto"});
    // (configuration, operation that fails, forged header sent, what the log names)
    let routes = json!({"rules": [{"routeNames": ["docs"], "mode": "Ignore"}]});
    let cases: [(&Value, &str, bool, HostCall); 9] = [
        (&azure, "request_headers", false, HostCall::ReadHeaders),
        (
            &azure,
            "remove:X-ARR-ClientCert",
            true,
            HostCall::RemoveClientHeaders,
        ),
        (
            &azure,
            &format!("property:{DIGEST}"),
            false,
            HostCall::PeerCertificateDigest,
        ),
        (
            &azure,
            &format!("property:{CERT}"),
            false,
            HostCall::PeerCertificate,
        ),
        (&azure, "clock", false, HostCall::Clock),
        (&azure, &format!("set:{ARR}"), false, HostCall::SetHeaders),
        (
            &xfcc,
            &format!("remove:{XFCC}"),
            false,
            HostCall::RemoveXfcc,
        ),
        (&xfcc, &format!("property:{MTLS}"), false, HostCall::Mtls),
        (
            &routes,
            "property:xds.route_name",
            false,
            HostCall::RouteName,
        ),
    ];
    for (config, operation, forged, call) in cases {
        let filter = Filter::new(config.clone());
        let extra: &[(&str, &str)] = if forged {
            &[("X-ARR-ClientCert", "forged")]
        } else {
            &[]
        };
        // The mtls property is only read when no certificate is in hand.
        let connection = if call == HostCall::Mtls {
            without_cert(request("/", extra))
        } else {
            with_cert(request("/", extra), &leaf)
        };
        let mut host = connection.failing(operation);
        assert_eq!(filter.run(&mut host), Action::Pause, "{operation}");
        let reply = host
            .reply
            .as_ref()
            .unwrap_or_else(|| panic!("{operation}: no reply"));
        assert_eq!(reply.status, 500, "{operation}");
        assert_eq!(reply.body, "client certificate check failed\n");
        let logs = host.logs(Level::Info);
        assert!(
            logs.iter().any(|l| l.contains("reason=host_failure")
                && l.contains(&format!("host call for {} failed", call.what()))),
            "{operation}: {logs:?}"
        );
        assert_eq!(
            host.metrics["client_cert_auth.denied.host_failure"], 1,
            "{operation}"
        );
        let counted: u64 = ["passed", "forwarded", "denied.missing"]
            .iter()
            .map(|m| host.metrics[&format!("client_cert_auth.{m}")])
            .sum();
        assert_eq!(counted, 0, "{operation}: counted once, as a host failure");
    }
}

#[test]
fn a_stream_without_configuration_is_refused_with_500() {
    let mut host = request("/", &[]);
    let cache = RefCell::new(VerdictCache::new(0));
    assert_eq!(on_request_headers(&mut host, None, &cache), Action::Pause);
    assert_eq!(host.reply.as_ref().unwrap().status, 500);
    assert_eq!(
        host.request_io(),
        [
            &Call::SetFilterState(
                "client_cert_auth".into(),
                "decision=deny reason=host_failure rule=- sha256=-".into()
            ),
            &Call::SendReply(500)
        ],
        "nothing else is read"
    );
}

#[test]
fn exactly_the_filters_headers_are_removed_and_set() {
    let leaf = Ca::new("glue CA").client("alice");
    let arr = STANDARD.encode(&leaf.der);
    let forged = [
        ("X-ARR-ClientCert", "forged"),
        ("x_arr_clientcert", "forged-underscore"),
        ("Client-Cert", ":Zm9v:"),
        ("X-Client-Cert-Verify", "FORGED"),
        ("x-forwarded-client-cert", "Hash=00"),
        ("x-other", "kept"),
    ];
    // Whatever the configuration, every name the filter could set is removed, in any spelling.
    const ALL_NAMES: &[&str] = &[
        "X-ARR-ClientCert",
        "x_arr_clientcert",
        "Client-Cert",
        "X-Client-Cert-Verify",
    ];
    struct Case {
        name: &'static str,
        config: Value,
        cert: bool,
        removed: &'static [&'static str],
        set: Vec<(&'static str, String)>,
    }
    let cases = [
        Case {
            name: "Azure defaults strip the ARR header in every spelling and forward it",
            config: json!({}),
            cert: true,
            removed: ALL_NAMES,
            set: vec![(ARR, arr.clone())],
        },
        Case {
            name: "disabled still strips, and sets nothing",
            config: json!({"clientCertEnabled": false}),
            cert: true,
            removed: ALL_NAMES,
            set: vec![],
        },
        Case {
            name: "RFC 9440 and info headers are stripped too, and set",
            config: json!({"forward": {"rfc9440": true, "infoHeaders": true, "arrClientCert": false}}),
            cert: true,
            removed: ALL_NAMES,
            set: vec![
                ("client-cert", format!(":{arr}:")),
                (
                    "x-client-cert-subject",
                    "O=client-cert-auth demo,CN=alice".into(),
                ),
                (
                    "x-client-cert-issuer",
                    "O=client-cert-auth demo,CN=glue CA".into(),
                ),
                ("x-client-cert-verify", "SUCCESS".into()),
            ],
        },
        Case {
            name: "optional without a certificate: the verification header says NONE",
            config: json!({"clientCertMode": "Optional", "forward": {"infoHeaders": true}}),
            cert: false,
            removed: ALL_NAMES,
            set: vec![("x-client-cert-verify", "NONE".into())],
        },
        Case {
            name: "XFCC as a source is removed before the upstream",
            config: json!({"certificateSource": "auto"}),
            cert: true,
            removed: &[
                "X-ARR-ClientCert",
                "x_arr_clientcert",
                "Client-Cert",
                "X-Client-Cert-Verify",
                XFCC,
            ],
            set: vec![(ARR, arr.clone())],
        },
    ];
    for case in cases {
        let filter = Filter::new(case.config);
        let base = request("/", &forged);
        let mut host = if case.cert {
            with_cert(base, &leaf)
        } else {
            without_cert(base)
        };
        assert_eq!(filter.run(&mut host), Action::Continue, "{}", case.name);
        let removed: Vec<&str> = host
            .calls
            .iter()
            .filter_map(|c| match c {
                Call::RemoveHeader(n) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(removed, case.removed, "{}", case.name);
        for (name, value) in &case.set {
            assert_eq!(
                host.header(name),
                [value.as_bytes()],
                "{}: {name}",
                case.name
            );
        }
        let set: Vec<&str> = host
            .calls
            .iter()
            .filter_map(|c| match c {
                Call::SetHeader(n, _) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        let info = set
            .iter()
            .filter(|n| n.starts_with("x-client-cert-"))
            .count();
        let expected: Vec<&str> = case.set.iter().map(|(n, _)| *n).collect();
        if info == 8 {
            // The eight informational headers; the ones with fixed values are checked above.
            assert_eq!(set.len(), 1 + info, "{}: {set:?}", case.name);
        } else {
            assert_eq!(set, expected, "{}: nothing else is set", case.name);
        }
        assert_eq!(
            host.header("x-other"),
            [b"kept".as_slice()],
            "{}",
            case.name
        );
        // XFCC is this filter's to remove only where it can be the source; otherwise it is the
        // connection manager's (forward_client_cert_details).
        let xfcc_removed = case.removed.contains(&XFCC);
        assert_eq!(host.header(XFCC).is_empty(), xfcc_removed, "{}", case.name);
        for (forged_name, forged_value) in &forged[..4] {
            assert!(
                !host.header(forged_name).contains(&forged_value.as_bytes()),
                "{}: {forged_name} reached the upstream",
                case.name
            );
        }
    }
}

/// The host calls one request costs, by configuration shape: the budget the performance work
/// measures against. Log lines and stats are counted apart.
#[test]
fn host_calls_per_request_by_configuration_shape() {
    let ca = Ca::new("glue CA");
    let leaf = ca.client("alice");
    let trust = json!({"validation": {"trustedCaCertificates": [ca.cert_pem()]}});
    // The shared-data key of the trust configuration's signatures (named after the
    // configuration), as a first request shows it.
    let signatures = {
        let mut host = with_cert(request("/", &[]), &leaf);
        Filter::new(trust.clone()).request(&mut host);
        host.shared
            .keys()
            .find(|k| k.starts_with("client-cert-auth.signatures."))
            .cloned()
            .expect("the signatures were published")
    };
    use Call::*;
    let digest = || Property(DIGEST.into());
    let cert = || Property(CERT.into());
    let mtls = || Property(MTLS.into());
    let set_arr = || SetHeader(ARR.into(), STANDARD.encode(&leaf.der));
    let sha = hex_lower(&Sha256::digest(&leaf.der));
    // The one filter-state write of every request (the decision for the access log).
    let state = |value: &str| SetFilterState("client_cert_auth".into(), value.into());
    let forward = state(&format!("decision=forward reason=- rule=- sha256={sha}"));
    // (shape, configuration, certificate presented, warm the cache first, expected calls)
    let cases: Vec<(&str, Value, bool, bool, Vec<Call>)> = vec![
        (
            "Azure, cache hit",
            json!({"clientCertExclusionPaths": "/public"}),
            true,
            true,
            vec![RequestHeaders, digest(), Clock, set_arr(), forward.clone()],
        ),
        (
            "Azure, first sight",
            json!({"clientCertExclusionPaths": "/public"}),
            true,
            false,
            vec![
                RequestHeaders,
                digest(),
                Clock,
                cert(),
                Clock,
                set_arr(),
                forward.clone(),
            ],
        ),
        (
            "Azure, no certificate",
            json!({}),
            false,
            false,
            vec![
                RequestHeaders,
                digest(),
                cert(),
                mtls(),
                state("decision=deny reason=missing rule=- sha256=-"),
                SendReply(401),
            ],
        ),
        (
            "disabled",
            json!({"clientCertMode": "Ignore"}),
            true,
            false,
            vec![
                RequestHeaders,
                state("decision=pass reason=disabled rule=- sha256=-"),
            ],
        ),
        (
            "XFCC source, no certificate",
            json!({"certificateSource": "xfcc", "clientCertMode": "Optional"}),
            false,
            false,
            vec![
                RequestHeaders,
                mtls(),
                RemoveHeader(XFCC.into()),
                state("decision=pass reason=optional rule=- sha256=-"),
            ],
        ),
        (
            "routeNames rule, cache hit",
            json!({"rules": [{"routeNames": ["docs"], "mode": "Ignore"}]}),
            true,
            true,
            vec![
                RequestHeaders,
                Property("xds.route_name".into()),
                digest(),
                Clock,
                set_arr(),
                forward.clone(),
            ],
        ),
        (
            // The signatures other workers verified are read before judging; the one this
            // worker verified is published (read, then written with compare-and-swap).
            "trust, first sight",
            trust.clone(),
            true,
            false,
            vec![
                RequestHeaders,
                digest(),
                Clock,
                cert(),
                SharedData(signatures.clone()),
                SharedData(signatures.clone()),
                SetSharedData(signatures.clone()),
                Clock,
                set_arr(),
                forward.clone(),
            ],
        ),
        (
            "trust, cache hit",
            trust.clone(),
            true,
            true,
            vec![RequestHeaders, digest(), Clock, set_arr(), forward.clone()],
        ),
        (
            "auto source, cache hit",
            json!({"certificateSource": "auto"}),
            true,
            true,
            vec![
                RequestHeaders,
                digest(),
                Clock,
                RemoveHeader(XFCC.into()),
                set_arr(),
                forward.clone(),
            ],
        ),
    ];
    let mut table = vec![
        "| Configuration shape | host calls per request | log lines |".to_string(),
        "|---|---|---|".to_string(),
    ];
    for (shape, config, presented, warm, expected) in cases {
        let filter = Filter::new(config);
        let connection = |path: &str| {
            if presented {
                with_cert(request(path, &[]), &leaf)
            } else {
                without_cert(request(path, &[]))
            }
        };
        if warm {
            filter.run(&mut connection("/warm"));
        }
        let mut host = connection("/api");
        filter.request(&mut host);
        let io: Vec<Call> = host.request_io().into_iter().cloned().collect();
        assert_eq!(io, expected, "{shape}");
        // Stats cost no host call on the request path: they wait for the timer.
        let stats: Vec<&Call> = host
            .calls
            .iter()
            .filter(|c| matches!(c, IncrementMetric(..) | RecordMetric(..)))
            .collect();
        assert!(stats.is_empty(), "{shape}: {stats:?}");
        let logs = host.calls.iter().filter(|c| matches!(c, Log(..))).count();
        table.push(format!(
            "| {shape} | {} | {} |",
            io.len(),
            if logs == 0 {
                "none".to_string()
            } else {
                logs.to_string()
            }
        ));
    }
    // `make bench` puts this table in BENCHMARKS.md.
    if let Ok(path) = std::env::var("HOST_CALLS_TABLE") {
        std::fs::write(path, table.join("\n") + "\n").unwrap();
    }
}

#[test]
fn counts_reach_the_stats_at_the_timer_as_one_call_per_counter() {
    let leaf = Ca::new("glue CA").client("alice");
    let filter = Filter::new(json!({"clientCertExclusionPaths": "/public"}));
    let mut host = FakeHost::default().with_stats_of(&filter.configured);
    for path in ["/a", "/b", "/c", "/public/x"] {
        let mut one = if path.starts_with("/public") {
            without_cert(request(path, &[]))
        } else {
            with_cert(request(path, &[]), &leaf)
        };
        filter.request(&mut one);
        assert!(
            !one.calls
                .iter()
                .any(|c| matches!(c, Call::IncrementMetric(..))),
            "{path}"
        );
    }
    filter.tick(&mut host);
    let increments: Vec<&Call> = host
        .calls
        .iter()
        .filter(|c| matches!(c, Call::IncrementMetric(..)))
        .collect();
    let stat = |name: &str| format!("client_cert_auth.{name}");
    assert_eq!(
        increments,
        [
            &Call::IncrementMetric(stat("passed"), 1),
            &Call::IncrementMetric(stat("forwarded"), 3),
            &Call::IncrementMetric(stat("excluded"), 1),
            &Call::IncrementMetric(stat("cache_hits"), 2),
            &Call::IncrementMetric(stat("cache_misses"), 1),
        ]
    );
    assert_eq!(host.metrics[&stat("forwarded")], 3);
    assert_eq!(host.metrics[&stat("cache_entries")], 1);
    // Nothing new: the next tick only sets the gauges.
    host.clear_calls();
    filter.tick(&mut host);
    assert!(
        host.calls
            .iter()
            .all(|c| matches!(c, Call::RecordMetric(..))),
        "{:?}",
        host.calls
    );
    assert_eq!(host.metrics[&stat("forwarded")], 3);
}

#[test]
fn only_a_vm_that_handled_a_request_sets_the_gauges() {
    // Envoy's main thread configures a VM of its own that never sees a request; every VM
    // sets the same gauges, so its empty cache must not overwrite a worker's.
    let filter = Filter::new(json!({}));
    let mut host = FakeHost::default().with_stats_of(&filter.configured);
    filter.tick(&mut host);
    assert!(
        !host
            .calls
            .iter()
            .any(|c| matches!(c, Call::RecordMetric(..))),
        "{:?}",
        host.calls
    );
    let leaf = Ca::new("glue CA").client("alice");
    filter.request(&mut with_cert(request("/a", &[]), &leaf));
    filter.tick(&mut host);
    assert_eq!(host.metrics["client_cert_auth.cache_entries"], 1);
    assert!(host.metrics.contains_key("client_cert_auth.memory_bytes"));
}

#[test]
fn a_denial_is_one_structured_log_line_and_one_counter() {
    let ca = Ca::new("glue CA");
    let expired = ca.client_between(
        "old",
        time::OffsetDateTime::now_utc() - time::Duration::days(10),
        time::OffsetDateTime::now_utc() - time::Duration::days(1),
    );
    let filter = Filter::new(json!({}));
    let mut host = with_cert(request("/orders?id=\"1\"", &[]), &expired);
    assert_eq!(filter.run(&mut host), Action::Pause);
    assert_eq!(host.reply.as_ref().unwrap().status, 401);
    let sha = hex_lower(&Sha256::digest(&expired.der));
    let denials = log_lines(&host, Level::Info, "denied");
    assert_eq!(denials.len(), 1, "{denials:?}");
    assert!(
        denials[0].starts_with(&format!(
            "client-cert-auth: denied status=401 reason=expired rule=- path=\"/orders?id=\\\"1\\\"\" cert_sha256={sha} detail=\"client certificate invalid (expired)"
        )),
        "{}",
        denials[0]
    );
    let denied: u64 = host
        .metrics
        .iter()
        .filter(|(name, _)| name.starts_with("client_cert_auth.denied."))
        .map(|(_, v)| *v)
        .sum();
    assert_eq!(denied, 1);
    assert_eq!(host.metrics["client_cert_auth.denied.expired"], 1);
}

/// `certificateSource: "header"` over the real glue: the peer is read only when the header is
/// there, a failing read is a 500 naming it, an untrusted peer's header is removed, ignored and
/// logged, and a trusted peer's is used and removed before the upstream.
#[test]
fn a_proxy_certificate_header_is_used_only_from_trusted_peers() {
    let ca = Ca::new("glue front CA");
    let leaf = ca.client("alice");
    let b64 = STANDARD.encode(&leaf.der);
    let filter = Filter::new(json!({
        "certificateSource": "header",
        "header": {"format": "cloudflare", "trustedProxies": ["10.0.0.0/8"]},
        "forward": {"arrClientCert": true}
    }));
    let source = "source.address";
    let cf = "Cf-Client-Cert-Der-Base64";
    assert!(
        logged(
            &filter.configured,
            Level::Warn,
            "only with use_remote_address: true"
        ),
        "the configuration warns about Envoy's setting"
    );

    let mut host = request("/", &[(cf, &b64)]).with_property(source, b"10.9.8.7:1234");
    assert_eq!(filter.run(&mut host), Action::Continue);
    assert_eq!(host.header(ARR), [b64.as_bytes()]);
    assert!(host.header(cf).is_empty(), "the source header is removed");

    let mut host = request("/", &[(cf, &b64)]).with_property(source, b"172.16.0.1:1234");
    assert_eq!(filter.run(&mut host), Action::Pause);
    assert_eq!(host.reply.as_ref().unwrap().status, 401);
    assert_logged(
        &host,
        Level::Info,
        "untrusted peer=\"172.16.0.1:1234\" sent the certificate header cf-client-cert-der-base64",
    );

    // No header: the peer is not asked for.
    let mut host = request("/", &[]).failing(&format!("property:{source}"));
    assert_eq!(filter.run(&mut host), Action::Pause);
    assert_eq!(host.reply.as_ref().unwrap().status, 401);
    // With the header, a failing read of the peer is a 500 naming it.
    let mut host = request("/", &[(cf, &b64)]).failing(&format!("property:{source}"));
    assert_eq!(filter.run(&mut host), Action::Pause);
    assert_eq!(host.reply.as_ref().unwrap().status, 500);
    assert!(host.logs(Level::Info).iter().any(|l| l.contains(&format!(
        "host call for {} failed",
        HostCall::SourceAddress.what()
    ))));

    // Sent twice by the trusted proxy: malformed, 401.
    let mut host = request("/", &[(cf, &b64), (cf, &b64)]).with_property(source, b"10.9.8.7:1234");
    assert_eq!(filter.run(&mut host), Action::Pause);
    assert_eq!(host.reply.as_ref().unwrap().status, 401);
    assert_logged(&host, Level::Info, "reason=malformed");
}
