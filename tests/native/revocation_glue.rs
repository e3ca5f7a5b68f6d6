//! Run-time revocation in the glue, over the recording fake host: CRL fetches shared between
//! VMs through shared data (one fetch per interval, a lease, backoff, once-per-streak logs, a
//! newer CRL taking effect at once) and requests that pause for an OCSP answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use client_cert_auth::{
    glue::Action, glue::Level, glue::Step, glue::handle_request_headers, glue::on_tick,
    glue::revocation::on_ocsp_response,
};
use client_cert_auth::{glue::fake::Call, glue::fake::FakeHost};
use serde_json::{Value, json};
use testkit::core::now;
use testkit::glue::{
    Shared, Vm, assert_logged, assert_sent, crl_source, http, http_500, log_lines, logged, ok,
    revocation_config, timeout, with_cert,
};
use testkit::openssl::ocsp_answer;
use testkit::pki::{Alg, Ca, Leaf, leaf};
use time::OffsetDateTime;

fn crl_config(ca: &Ca, refresh: u32) -> Value {
    let source = json!({"url": "http://crl.test/issuing.crl", "cluster": "crl_test", "refreshSeconds": refresh});
    revocation_config(&[ca], json!({ "crls": [source] }), json!({}))
}

fn next_week() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::days(7)
}

#[test]
fn a_crl_is_fetched_once_per_interval_for_all_vms_and_shared() {
    let ca = Ca::new("crl ca");
    let (good, revoked) = (leaf(&ca, "good", 1001), leaf(&ca, "revoked", 1002));
    let config = crl_config(&ca, 10);
    let mut shared = Shared::default();
    let t0 = now();
    // Nothing is sent while configuring; at the first timer the first VM takes the lease and
    // fetches, the second finds the lease held.
    let mut a = Vm::start(&config, t0, &mut shared);
    let mut b = Vm::start(&config, t0, &mut shared);
    assert_eq!((a.fetches_sent(), b.fetches_sent()), (0, 0));
    a.tick(t0, &mut shared);
    b.tick(t0, &mut shared);
    assert_eq!((a.fetches_sent(), b.fetches_sent()), (1, 0));
    let (_, _, headers, _) = &a.host.dispatched[0];
    assert_sent(
        headers,
        &[
            (":path", "/issuing.crl"),
            (":authority", "crl.test"),
            (":method", "GET"),
        ],
    );
    // Before any CRL, revocation is unknown: refused.
    assert_eq!(b.status(&good, t0), 401);
    a.answer_fetch(t0, &mut shared, ok(ca.crl(&[1002], next_week())));
    // B installs what A published on its next tick, without fetching.
    b.tick(t0 + 1, &mut shared);
    assert_eq!(b.fetches_sent(), 0);
    assert_eq!(b.status(&good, t0 + 1), 200);
    assert_eq!(b.status(&revoked, t0 + 1), 401);
    // Every second both tick; over 35 s the source is fetched once per 10 s, by one of them.
    for t in t0 + 2..t0 + 36 {
        for vm in [&mut a, &mut b] {
            let before = vm.fetches_sent();
            vm.tick(t, &mut shared);
            if vm.fetches_sent() > before {
                vm.answer_fetch(t, &mut shared, ok(ca.crl(&[1002], next_week())));
            }
        }
    }
    assert_eq!(
        a.fetches_sent() + b.fetches_sent(),
        1 + 3,
        "one at start, then at +10, +20, +30"
    );
    // A VM reads the shared CRL (megabytes, for a large one) once per new generation, not at
    // every timer: B installed four.
    let crl_reads = b
        .host
        .calls
        .iter()
        .filter(|c| matches!(c, Call::SharedData(key) if key.ends_with(".crls")))
        .count();
    assert_eq!(crl_reads, 4);
    // Successes without failures before them are not news.
    assert!(
        a.host
            .logs(Level::Info)
            .iter()
            .all(|l| !l.contains("fetched again")),
        "{:?}",
        a.host.logs(Level::Info)
    );
    // The gauges: the installed CRL's size.
    assert_eq!(b.metric("revocation.crl_0.entries"), 1);
}

/// A CA, its leaf "good" (serial 7), and a VM (refresh every 5 s) whose first fetch, now, was
/// answered with a CRL of the CA listing nothing; the Envoy's shared data, and now.
fn vouched_for() -> (Ca, Leaf, Vm, Shared, i64) {
    let ca = Ca::new("crl ca");
    let good = leaf(&ca, "good", 7);
    let t0 = now();
    let (a, shared) = Vm::fetched(&crl_config(&ca, 5), t0, ca.crl(&[], next_week()));
    (ca, good, a, shared, t0)
}

#[test]
fn a_newer_crl_revokes_a_cached_acceptance_at_once() {
    let (ca, good, mut a, mut shared, t0) = vouched_for();
    assert_eq!(a.status(&good, t0), 200);
    // Cached: the next request is a hit.
    assert_eq!(a.status(&good, t0 + 1), 200);
    assert_eq!(a.cache.borrow().len(), 1);
    // The CA revokes it; the next fetch installs the CRL and drops the cached acceptance.
    a.tick(t0 + 5, &mut shared);
    a.answer_fetch(t0 + 5, &mut shared, ok(ca.crl(&[7], next_week())));
    assert_eq!(a.status(&good, t0 + 5), 401);
}

#[test]
fn a_failed_fetch_keeps_the_last_crl_backs_off_and_is_logged_once_per_streak() {
    let (ca, good, mut a, mut shared, t0) = vouched_for();
    let warnings = |vm: &Vm| {
        let failed = "validation.revocationSources.crls[0] (http://crl.test/issuing.crl) failed";
        log_lines(&vm.host, Level::Warn, failed).len()
    };
    // Due at +5: the server answers 500, then a CRL by another CA (does not verify).
    a.tick(t0 + 5, &mut shared);
    assert_eq!(a.fetches_sent(), 2);
    a.answer_fetch(t0 + 5, &mut shared, http_500());
    assert_eq!(warnings(&a), 1);
    assert_logged(&a.host, Level::Warn, "HTTP 500");
    // Backoff: 2 s after the first failure, then 4 s.
    a.tick(t0 + 6, &mut shared);
    assert_eq!(a.fetches_sent(), 2, "no retry before the backoff");
    a.tick(t0 + 7, &mut shared);
    assert_eq!(a.fetches_sent(), 3);
    let stranger = Ca::new("another ca");
    a.answer_fetch(t0 + 7, &mut shared, ok(stranger.crl(&[], next_week())));
    assert_eq!(warnings(&a), 1, "once per streak");
    a.tick(t0 + 10, &mut shared);
    assert_eq!(a.fetches_sent(), 3, "4 s after the second failure");
    a.tick(t0 + 11, &mut shared);
    assert_eq!(a.fetches_sent(), 4);
    // Meanwhile the last good CRL still decides.
    assert_eq!(a.status(&good, t0 + 11), 200);
    a.answer_fetch(t0 + 11, &mut shared, ok(ca.crl(&[], next_week())));
    assert!(logged(
        &a.host,
        Level::Info,
        "fetched again after 2 failure(s)"
    ));
    a.tick(t0 + 12, &mut shared);
    assert_eq!(a.metric("revocation.crl_0.fetch_failed"), 2);
    assert_eq!(a.metric("revocation.crl_0.fetched"), 2);
}

#[test]
fn an_unknown_cluster_is_logged_once_naming_the_field_and_fails_closed() {
    let ca = Ca::new("crl ca");
    let good = leaf(&ca, "good", 3);
    let mut shared = Shared::default();
    let mut a = Vm::start(&crl_config(&ca, 60), now(), &mut shared);
    a.host = std::mem::take(&mut a.host).failing("dispatch:crl_test");
    for t in now()..now() + 8 {
        a.tick(t, &mut shared);
    }
    let lines = log_lines(&a.host, Level::Warn, "cannot send to cluster");
    assert_eq!(lines.len(), 1, "once per streak: {lines:?}");
    assert!(
        lines[0].contains("validation.revocationSources.crls[0] (http://crl.test/issuing.crl) failed: cannot send to cluster \"crl_test\"")
            && lines[0].contains("(validation.revocationSources.crls[0].cluster)"),
        "{}",
        lines[0]
    );
    // Retried with backoff (at +0, +2, +6), each counted.
    assert_eq!(a.fetches_sent(), 3);
    assert_eq!(a.metric("revocation.crl_0.fetch_failed"), 3);
    assert_eq!(a.status(&good, now()), 401);
}

/// Envoy has no "create if absent" (a write without a token always lands), so the metadata
/// exists from configure time and even the first lease is a compare-and-swap: a VM whose write
/// loses the race does not fetch, and cannot erase the winner's failure streak (which logged the
/// failure twice, seen in CI at one worker).
#[test]
fn even_the_first_lease_is_a_compare_and_swap() {
    let ca = Ca::new("crl ca");
    let mut shared = Shared::default();
    let mut a = Vm::start(&crl_config(&ca, 60), now(), &mut shared);
    assert!(
        shared.0.keys().any(|k| k.ends_with(".meta")),
        "configuring writes the source's metadata: {:?}",
        shared.0.keys().collect::<Vec<_>>()
    );
    // Another VM's write lands between this VM's read and its write.
    a.host.cas_conflicts = 1;
    a.tick(now(), &mut shared);
    assert_eq!(a.fetches_sent(), 0, "the lease was lost: no fetch");
    a.tick(now() + 1, &mut shared);
    assert_eq!(a.fetches_sent(), 1, "the next tick takes it");
}

fn ocsp_config(ca: &Ca, failure: &str) -> Value {
    let ocsp = json!({"cluster": "ocsp_test", "url": "http://ocsp.test/q", "timeoutMs": 700});
    revocation_config(
        &[ca],
        json!({ "ocsp": ocsp }),
        json!({ "revocationFailure": failure }),
    )
}

#[test]
fn a_request_waits_for_the_ocsp_responder_and_no_answer_follows_revocation_failure() {
    let ca = Ca::new("ocsp ca");
    let good = leaf(&ca, "good", 99);
    for (failure, expected) in [("deny", Some(401)), ("allow", None)] {
        let mut shared = Shared::default();
        let vm = Vm::start(&ocsp_config(&ca, failure), now(), &mut shared);
        let (mut host, step) = vm.request(&good, now());
        let Step::Wait(waiting) = step else {
            panic!("{failure}: the request should wait for OCSP");
        };
        // The question: a POST of a DER OCSPRequest to the responder, through its cluster.
        let (token, cluster, headers, body) = host.dispatched.last().cloned().unwrap();
        assert_eq!(
            waiting.token(),
            token,
            "the answer is matched by its call's token"
        );
        assert_eq!(cluster, "ocsp_test");
        assert_sent(
            &headers,
            &[
                (":method", "POST"),
                (":path", "/q"),
                (":authority", "ocsp.test"),
                ("content-type", "application/ocsp-request"),
            ],
        );
        assert_eq!(body.first(), Some(&0x30), "a DER SEQUENCE");
        assert_eq!(host.reply, None, "nothing answered while waiting");
        // No answer within timeoutMs.
        let action = on_ocsp_response(&mut host, &vm.state, &vm.cache, waiting, &timeout());
        match expected {
            Some(status) => {
                assert_eq!(action, Action::Pause, "{failure}");
                assert_eq!(host.reply.as_ref().map(|r| r.status), Some(status));
                assert_logged(&host, Level::Info, "reason=revocation_unknown");
                assert!(!host.calls.contains(&Call::Resume));
            }
            None => {
                assert_eq!(action, Action::Continue, "{failure}");
                assert_eq!(host.reply, None);
                assert!(
                    host.calls.contains(&Call::Resume),
                    "the paused request goes on"
                );
                assert_logged(&host, Level::Info, "revocation soft fail");
            }
        }
        assert_logged(
            &host,
            Level::Warn,
            "OCSP responder (cluster \"ocsp_test\"): no answer from the responder within 700 ms",
        );
    }
}

#[test]
fn a_responder_cluster_that_cannot_be_reached_decides_at_once_without_waiting() {
    let ca = Ca::new("ocsp ca");
    let good = leaf(&ca, "good", 5);
    let mut shared = Shared::default();
    let vm = Vm::start(&ocsp_config(&ca, "deny"), now(), &mut shared);
    let mut host = with_cert(
        FakeHost::request(
            &[(":method", b"GET"), (":path", b"/"), (":authority", b"a")],
            now(),
        )
        .failing("dispatch:ocsp_test"),
        &good,
    );
    let step = handle_request_headers(&mut host, Some(&vm.state), &vm.cache);
    assert!(matches!(step, Step::Done(Action::Pause)), "{step:?}");
    assert_eq!(host.reply.map(|r| r.status), Some(401));
}

#[test]
fn an_excluded_path_never_waits_for_ocsp_and_leaves_no_verdict_behind() {
    let ca = Ca::new("ocsp ca");
    let good = leaf(&ca, "good", 5);
    let mut config = ocsp_config(&ca, "deny");
    config["clientCertExclusionPaths"] = json!("/public");
    let mut shared = Shared::default();
    let vm = Vm::start(&config, now(), &mut shared);
    let (host, step) = vm.request_to("/public/x", &good, now());
    assert!(matches!(step, Step::Done(Action::Continue)), "{step:?}");
    assert!(host.dispatched.is_empty(), "no question asked");
    assert!(
        host.header("x-arr-clientcert").is_empty(),
        "not vouched for: not forwarded"
    );
    assert_eq!(
        vm.cache.borrow().len(),
        0,
        "the verdict without the answer is not kept"
    );
    // So the next request on a protected path asks, instead of a cached "unknown".
    let (_, step) = vm.request(&good, now());
    assert!(matches!(step, Step::Wait(_)), "{step:?}");
}

/// OpenSSL's own responder, in file mode: answers a request (DER) from a CA database.
struct OpensslResponder {
    dir: testkit::envoy::TempDir,
    ca: String,
    key: String,
    index: String,
}

impl OpensslResponder {
    /// `entries`: (serial, revoked) of the certificates the CA issued.
    fn new(ca: &Ca, entries: &[(u64, bool)]) -> OpensslResponder {
        let mut index = String::new();
        for (serial, revoked) in entries {
            let status = if *revoked {
                "R\t301231235959Z\t250101000000Z"
            } else {
                "V\t301231235959Z\t"
            };
            index.push_str(&format!(
                "{status}\t{serial:04X}\tunknown\t/CN=leaf{serial}\n"
            ));
        }
        OpensslResponder {
            dir: testkit::envoy::TempDir::new("ocsp-glue"),
            ca: ca.cert_pem(),
            key: ca.key().serialize_pem(),
            index,
        }
    }

    fn answer(&self, request: &[u8]) -> Vec<u8> {
        ocsp_answer(&self.dir.0, &self.ca, &self.key, &self.index, request, &[])
    }
}

#[test]
fn an_openssl_answer_decides_the_waiting_request_and_is_kept_and_a_replayed_one_is_refused() {
    let ca = Ca::new("ocsp ca");
    let (good, revoked) = (leaf(&ca, "good", 0x1001), leaf(&ca, "revoked", 0x1002));
    let responder = OpensslResponder::new(&ca, &[(0x1001, false), (0x1002, true)]);
    let mut shared = Shared::default();
    let vm = Vm::start(&ocsp_config(&ca, "deny"), now(), &mut shared);
    let answer = |vm: &Vm, leaf: &Leaf| -> (FakeHost, Action, Vec<u8>) {
        let (mut host, step) = vm.request(leaf, now());
        let Step::Wait(waiting) = step else {
            panic!("waits: {step:?}")
        };
        let body = responder.answer(&host.dispatched.last().unwrap().3);
        let response = ok(body.clone());
        let action = on_ocsp_response(&mut host, &vm.state, &vm.cache, waiting, &response);
        (host, action, body)
    };
    // Good: forwarded, and the paused request resumed.
    let (host, action, good_answer) = answer(&vm, &good);
    assert_eq!(action, Action::Continue);
    assert!(host.calls.contains(&Call::Resume));
    assert!(!host.header("x-arr-clientcert").is_empty(), "forwarded");
    // Kept: the next request with it is decided at once, without a question.
    assert_eq!(vm.status(&good, now()), 200);
    // Revoked: refused, with the reason.
    let (host, action, _) = answer(&vm, &revoked);
    assert_eq!(action, Action::Pause);
    assert_eq!(host.reply.as_ref().map(|r| r.status), Some(401));
    assert_logged(&host, Level::Info, "reason=revoked");
    // A replayed answer (the good one, for another question with another nonce) is refused.
    let fresh = Vm::start(&ocsp_config(&ca, "deny"), now(), &mut Shared::default());
    let (mut host, step) = fresh.request(&good, now());
    let Step::Wait(waiting) = step else { panic!() };
    let replayed = ok(good_answer);
    let action = on_ocsp_response(&mut host, &fresh.state, &fresh.cache, waiting, &replayed);
    assert_eq!(action, Action::Pause);
    assert_logged(&host, Level::Warn, "answer was refused");
    // The counters at the next flush.
    let mut stats = FakeHost::default().with_stats_of(&vm.host);
    on_tick(&mut stats, &vm.state, &vm.cache);
    assert_eq!(
        stats.metrics.get("client_cert_auth.revocation.ocsp.good"),
        Some(&1)
    );
    assert_eq!(
        stats
            .metrics
            .get("client_cert_auth.revocation.ocsp.revoked"),
        Some(&1)
    );
}

/// DER of an Authority Information Access extension value with one OCSP URL.
fn aia(url: &str) -> Vec<u8> {
    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        assert!(contents.len() < 128);
        [&[tag, contents.len() as u8][..], contents].concat()
    }
    let ocsp_method = tlv(0x06, &[0x2b, 6, 1, 5, 5, 7, 0x30, 1]);
    let location = tlv(0x86, url.as_bytes());
    tlv(0x30, &tlv(0x30, &[ocsp_method, location].concat()))
}

#[test]
fn without_a_configured_url_the_question_goes_to_the_leafs_aia_url_through_the_cluster() {
    let ca = Ca::new("ocsp ca");
    let with_aia = ca.client_with("aia", Alg::EcdsaP256, |p| {
        p.custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 5, 5, 7, 1, 1],
                aia("http://ocsp.issuer.test:8080/check"),
            ));
    });
    let without_aia = leaf(&ca, "no-aia", 12);
    let mut config = ocsp_config(&ca, "deny");
    config["validation"]["revocationSources"]["ocsp"] = json!({"cluster": "ocsp_test"});
    let vm = Vm::start(&config, now(), &mut Shared::default());
    let (host, step) = vm.request(&with_aia, now());
    assert!(matches!(step, Step::Wait(_)), "{step:?}");
    let (_, cluster, headers, _) = host.dispatched.last().cloned().unwrap();
    assert_eq!(
        cluster, "ocsp_test",
        "the configured cluster, whatever the URL's host"
    );
    assert_sent(
        &headers,
        &[(":authority", "ocsp.issuer.test:8080"), (":path", "/check")],
    );
    // No URL anywhere: nothing to ask, revocation unknown, refused at once.
    let (host, step) = vm.request(&without_aia, now());
    assert!(matches!(step, Step::Done(Action::Pause)), "{step:?}");
    assert!(host.dispatched.is_empty());
    assert_logged(&host, Level::Info, "no responder URL");
}

fn two_ca_config(first: &Ca, second: &Ca) -> Value {
    let crls = [
        crl_source("http://crl.test/first.crl"),
        crl_source("http://crl.test/second.crl"),
    ];
    revocation_config(&[first, second], json!({ "crls": crls }), json!({}))
}

#[test]
fn two_sources_are_kept_apart_in_shared_data_and_a_restarted_vm_installs_them_at_once() {
    let (first, second) = (Ca::new("first ca"), Ca::new("second ca"));
    let (good1, revoked1) = (leaf(&first, "good1", 21), leaf(&first, "revoked1", 22));
    let (good2, revoked2) = (leaf(&second, "good2", 31), leaf(&second, "revoked2", 32));
    let config = two_ca_config(&first, &second);
    let mut shared = Shared::default();
    let t0 = now();
    let mut a = Vm::start(&config, t0, &mut shared);
    a.tick(t0, &mut shared);
    assert_eq!(a.fetches_sent(), 2, "both sources");
    a.answer_fetch_of(
        "/first.crl",
        t0,
        &mut shared,
        ok(first.crl(&[22], next_week())),
    );
    a.answer_fetch_of(
        "/second.crl",
        t0,
        &mut shared,
        ok(second.crl(&[32], next_week())),
    );
    let check = |vm: &Vm| {
        assert_eq!(vm.status(&good1, t0), 200);
        assert_eq!(vm.status(&revoked1, t0), 401);
        assert_eq!(vm.status(&good2, t0), 200);
        assert_eq!(vm.status(&revoked2, t0), 401);
    };
    check(&a);
    // A VM configured later (a worker starting, or a reload) installs both from shared data
    // while configuring, before its first timer.
    let c = Vm::start(&config, t0, &mut shared);
    assert_eq!(c.fetches_sent(), 0);
    check(&c);
}

/// A VM of a CA's CRL source (refreshed every `refresh` seconds) whose first tick, now, sent
/// the fetch (not answered yet); the Envoy's shared data, and now.
fn fetch_sent(refresh: u32) -> (Vm, Shared, i64) {
    let ca = Ca::new("crl ca");
    let mut shared = Shared::default();
    let t0 = now();
    let mut a = Vm::start(&crl_config(&ca, refresh), t0, &mut shared);
    a.tick(t0, &mut shared);
    assert_eq!(a.fetches_sent(), 1);
    (a, shared, t0)
}

#[test]
fn a_vm_never_has_two_fetches_of_a_source_under_way() {
    let (mut a, mut shared, t0) = fetch_sent(5);
    // No answer yet (Envoy times a call out after 10 s; here it has not); the lease runs out.
    for t in t0 + 1..t0 + 40 {
        a.tick(t, &mut shared);
    }
    assert_eq!(a.fetches_sent(), 1, "the pending fetch is waited for");
}

#[test]
fn a_revoked_answer_on_another_worker_drops_an_acceptance_kept_here() {
    // Concurrent first requests with one certificate share one question on a VM (issue 20),
    // so the race this guards against is between workers: A kept an acceptance from a "good"
    // answer, B is then answered "revoked"; A learns it from shared data at its next tick.
    let ca = Ca::new("ocsp ca");
    let cert = leaf(&ca, "flip", 0x1001);
    let says_good = OpensslResponder::new(&ca, &[(0x1001, false)]);
    let says_revoked = OpensslResponder::new(&ca, &[(0x1001, true)]);
    let mut shared = Shared::default();
    let t0 = now();
    let mut a = Vm::start(&ocsp_config(&ca, "deny"), t0, &mut shared);
    let b = Vm::start(&ocsp_config(&ca, "deny"), t0, &mut shared);
    let (mut first, Step::Wait(first_wait)) = a.request(&cert, t0) else {
        panic!("waits")
    };
    let good = says_good.answer(&first.dispatched.last().unwrap().3);
    let action = on_ocsp_response(&mut first, &a.state, &a.cache, first_wait, &ok(good));
    assert_eq!(action, Action::Continue);
    assert_eq!(a.cache.borrow().len(), 1, "the acceptance is kept");
    // B's question about the same certificate, answered "revoked", through the Envoy's shared
    // data.
    let (mut second, Step::Wait(second_wait)) = b.request(&cert, t0) else {
        panic!("waits")
    };
    second.shared = std::mem::take(&mut shared.0);
    let revoked = says_revoked.answer(&second.dispatched.last().unwrap().3);
    let action = on_ocsp_response(&mut second, &b.state, &b.cache, second_wait, &ok(revoked));
    shared.0 = std::mem::take(&mut second.shared);
    assert_eq!(action, Action::Pause);
    // Until A's next tick its kept acceptance holds (a second at most); then it goes, and the
    // next request is refused without a question.
    a.tick(t0 + 1, &mut shared);
    assert_eq!(a.cache.borrow().len(), 0, "the acceptance went");
    let (host, step) = a.request(&cert, t0 + 1);
    assert!(matches!(step, Step::Done(Action::Pause)), "{step:?}");
    assert!(host.dispatched.is_empty(), "no question");
    assert_eq!(a.status(&cert, t0 + 2), 401);
}

#[test]
fn a_failed_fetch_is_recorded_even_when_another_vm_writes_the_metadata_meanwhile() {
    let (mut a, mut shared, t0) = fetch_sent(60);
    // The first write of the failure meets another VM's write: read again, write again.
    a.host.cas_conflicts = 1;
    a.answer_fetch(t0, &mut shared, http(503, Vec::new()));
    let meta = String::from_utf8(
        shared
            .0
            .iter()
            .find(|(k, _)| k.ends_with(".meta"))
            .unwrap()
            .1
            .0
            .clone(),
    )
    .unwrap();
    assert!(
        meta.contains("fails=1") && meta.contains(&format!("retry={}", t0 + 2)),
        "{meta}"
    );
    a.tick(t0 + 1, &mut shared);
    assert_eq!(a.fetches_sent(), 1, "backing off");
}

fn at(t: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t).unwrap()
}

#[test]
fn a_fetched_crl_vouches_from_its_this_update_to_its_next_update_inclusive() {
    let ca = Ca::new("crl ca");
    let cert = leaf(&ca, "edge", 0x61);
    let mut config = crl_config(&ca, 3600);
    config["cacheSize"] = json!(0);
    let t0 = now();
    let mut shared = Shared::default();
    let mut vm = Vm::start(&config, t0, &mut shared);
    vm.tick(t0, &mut shared);
    vm.answer_fetch(
        t0,
        &mut shared,
        ok(ca.crl_between(&[], at(t0 + 10), at(t0 + 20), 1)),
    );
    for (t, status) in [
        (t0 + 9, 401),
        (t0 + 10, 200),
        (t0 + 20, 200),
        (t0 + 21, 401),
    ] {
        assert_eq!(
            vm.status(&cert, t),
            status,
            "at thisUpdate{:+} s",
            t - t0 - 10
        );
    }
}

#[test]
fn a_namesake_cas_crl_neither_revokes_nor_vouches_and_another_cas_crl_keeps_cached_verdicts() {
    // Two trusted CAs with the same name and different keys; the only source is the second's.
    let (first, namesake) = (Ca::new("same name"), Ca::new("same name"));
    let (listed, unlisted) = (leaf(&first, "listed", 0x55), leaf(&first, "unlisted", 0x56));
    let mut config = crl_config(&first, 3600);
    config["validation"]["trustedCaCertificates"] = json!([first.cert_pem(), namesake.cert_pem()]);
    config["cacheSize"] = json!(0);
    let t0 = now();
    let mut shared = Shared::default();
    let mut vm = Vm::start(&config, t0, &mut shared);
    vm.tick(t0, &mut shared);
    vm.answer_fetch(t0, &mut shared, ok(namesake.crl(&[0x55], next_week())));
    // Not revoked by the namesake's list (refused as unknown, not as revoked)...
    let (host, _) = vm.request(&listed, t0);
    assert_logged(&host, Level::Info, "reason=revocation_unknown");
    // ...and not vouched for by it either.
    assert_eq!(vm.status(&unlisted, t0), 401);

    // With the first CA's own CRL, an acceptance is cached; a newer CRL of another CA that
    // lists the same serial leaves it (and other CRLs of the same CA that do not list it too).
    let other = Ca::new("other ca");
    let mut config = two_ca_config(&first, &other);
    config["validation"]["revocationSources"]["crls"][0]["refreshSeconds"] = json!(5);
    config["validation"]["revocationSources"]["crls"][1]["refreshSeconds"] = json!(5);
    let mut shared = Shared::default();
    let mut vm = Vm::start(&config, t0, &mut shared);
    vm.tick(t0, &mut shared);
    vm.answer_fetch_of(
        "/first.crl",
        t0,
        &mut shared,
        ok(first.crl(&[], next_week())),
    );
    vm.answer_fetch_of(
        "/second.crl",
        t0,
        &mut shared,
        ok(other.crl(&[], next_week())),
    );
    assert_eq!(vm.status(&unlisted, t0), 200);
    assert_eq!(vm.cache.borrow().len(), 1);
    vm.tick(t0 + 5, &mut shared);
    vm.answer_fetch_of(
        "/second.crl",
        t0 + 5,
        &mut shared,
        ok(other.crl(&[0x56], next_week())),
    );
    vm.answer_fetch_of(
        "/first.crl",
        t0 + 5,
        &mut shared,
        ok(first.crl(&[0x99], next_week())),
    );
    assert_eq!(vm.cache.borrow().len(), 1, "the acceptance stays cached");
    assert_eq!(vm.status(&unlisted, t0 + 5), 200);
}

#[test]
fn a_crl_that_vouches_still_decides_while_the_ocsp_question_is_not_asked() {
    let ca = Ca::new("both ca");
    let cert = leaf(&ca, "both", 0x71);
    let mut config = crl_config(&ca, 3600);
    config["validation"]["revocationSources"]["ocsp"] =
        json!({"cluster": "ocsp_test", "url": "http://ocsp.test/q"});
    config["clientCertExclusionPaths"] = json!("/public");
    let t0 = now();
    let mut shared = Shared::default();
    let mut vm = Vm::start(&config, t0, &mut shared);
    vm.tick(t0, &mut shared);
    vm.answer_fetch(t0, &mut shared, ok(ca.crl(&[], next_week())));
    // On an excluded path nothing waits: the CRL vouches, the certificate is forwarded, and
    // the verdict (without OCSP's word) is not kept.
    let (host, step) = vm.request_to("/public/x", &cert, t0);
    assert!(matches!(step, Step::Done(Action::Continue)), "{step:?}");
    assert!(
        !host.header("x-arr-clientcert").is_empty(),
        "forwarded on the CRL's word"
    );
    assert!(host.dispatched.is_empty());
    assert_eq!(vm.cache.borrow().len(), 0);
    // On a protected path the responder is asked all the same (OCSP is configured).
    let (_, step) = vm.request(&cert, t0);
    assert!(matches!(step, Step::Wait(_)), "{step:?}");
}

/// Issue 20: an `https://` OCSP URL in the leaf's Authority Information Access is refused at
/// run time, the reason in the log, rather than asked over the cluster as plain HTTP (the
/// module cannot see whether the cluster speaks TLS). An `http://` one beside it is used.
#[test]
fn an_https_aia_url_is_refused_not_asked_in_plaintext() {
    let ca = Ca::new("ocsp ca");
    let aia_leaf = |name: &str, ext: Vec<u8>| {
        ca.client_with(name, Alg::EcdsaP256, |p| {
            p.custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 5, 5, 7, 1, 1],
                    ext,
                ));
        })
    };
    let https_only = aia_leaf("https-aia", aia("https://ocsp.issuer.test/check"));
    // Two access descriptions: https first, then http.
    let both = {
        let https = aia("https://ocsp.issuer.test/tls");
        let http = aia("http://ocsp.issuer.test/plain");
        // Each is SEQUENCE { SEQUENCE {...} }: join the inner descriptions.
        let inner = [&https[2..], &http[2..]].concat();
        let mut ext = vec![0x30, inner.len() as u8];
        ext.extend(inner);
        aia_leaf("both-aia", ext)
    };
    let mut config = ocsp_config(&ca, "deny");
    config["validation"]["revocationSources"]["ocsp"] = json!({"cluster": "ocsp_test"});
    let vm = Vm::start(&config, now(), &mut Shared::default());
    let (host, step) = vm.request(&https_only, now());
    assert!(host.dispatched.is_empty(), "{:?}", host.dispatched);
    assert!(matches!(step, Step::Done(Action::Pause)), "{step:?}");
    let logs = host.logs(Level::Info);
    assert!(
        logs.iter().any(|l| l.contains("reason=revocation_unknown")
            && l.contains("the certificate's OCSP URL")
            && l.contains("https://ocsp.issuer.test/check")
            && l.contains("is an https:// URL")),
        "{logs:?}"
    );
    let (host, step) = vm.request(&both, now());
    assert!(matches!(step, Step::Wait(_)), "{step:?}");
    let (_, _, headers, _) = host.dispatched.last().cloned().unwrap();
    assert_sent(&headers, &[(":path", "/plain")]);
}
