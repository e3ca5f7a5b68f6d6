//! Attacks on online revocation (issue 13), over the recording fake host: each test tries to get
//! a request through (forwarded, or passed) with less revocation checking than configured, and
//! asserts the safe behaviour. OCSP answers are built here by hand (DER) and signed with the
//! test CA's key, so a test can say exactly what a responder (or a stale replica of one) says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use client_cert_auth::envoy_url_encode;
use client_cert_auth::revocation::OcspStatus;
use client_cert_auth::revocation::ocsp::CertId;
use client_cert_auth::{
    glue::Action, glue::Level, glue::Step, glue::handle_request_headers,
    glue::revocation::MAX_WAITING_PER_CERTIFICATE, glue::revocation::on_ocsp_answer,
    glue::revocation::on_ocsp_response,
};
use client_cert_auth::{glue::fake::Call, glue::fake::FakeHost};
use rcgen::SerialNumber;
use serde_json::json;
use sha2::{Digest, Sha256};
use testkit::core::{hex_lower, now};
use testkit::glue::{
    Shared, Vm, assert_logged, crl_source, ocsp_config, ocsp_source, ocsp_vm, ok,
    revocation_config, timeout,
};
use testkit::ocsp::{Answer, Says};
use testkit::pki::{Ca, Leaf, leaf};
use time::OffsetDateTime;

fn next_week() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::days(7)
}

/// The key the filter keeps OCSP answers about `leaf` under.
fn ocsp_key(ca: &Ca, leaf: &Leaf) -> [u8; 32] {
    let ca_der = ca.der();
    let (_, issuer) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf.der).unwrap();
    CertId::new(
        issuer.subject().as_raw(),
        issuer.public_key().raw,
        cert.raw_serial(),
    )
    .unwrap()
    .key()
}

// ---------------------------------------------------------------------------------------------
// OCSP.

/// The control: a well-formed good answer forwards, a revoked one refuses.
#[test]
fn control_a_hand_made_answer_decides_the_waiting_request() {
    let (ca, vm, t) = ocsp_vm("deny", 300);
    let (good, revoked) = (leaf(&ca, "good", 0x51), leaf(&ca, "revoked", 0x52));
    let (host, waiting) = vm.waiting(&good, t);
    let response = Answer::dated(Says::Good, t - 60, Some(t + 3600)).to(&ca, &good, &host);
    assert_eq!(vm.answer(host, waiting, &response), 200);
    let (host, waiting) = vm.waiting(&revoked, t);
    let response =
        Answer::dated(Says::Revoked(None), t - 60, Some(t + 3600)).to(&ca, &revoked, &host);
    assert_eq!(vm.answer(host, waiting, &response), 401);
}

/// A "revoked" answer whose nextUpdate passed a few seconds ago (inside the clock skew, so it is
/// accepted) must revoke. It was kept until its nextUpdate, which is already past: the request
/// was decided again without it, and `revocationFailure: allow` let the revoked certificate
/// through as a soft fail.
#[test]
fn a_revoked_answer_whose_next_update_just_passed_still_revokes() {
    let (ca, vm, t) = ocsp_vm("allow", 300);
    let revoked = leaf(&ca, "revoked", 0x61);
    let (host, waiting) = vm.waiting(&revoked, t);
    let response =
        Answer::dated(Says::Revoked(None), t - 3600, Some(t - 10)).to(&ca, &revoked, &host);
    assert_eq!(vm.answer(host, waiting, &response), 401, "revoked");
    // And the next requests, in the next seconds: still refused, never let through.
    for dt in [1, 5, 30] {
        assert_eq!(vm.status(&revoked, t + dt), 401, "at +{dt}");
    }
}

/// `cacheSeconds: 0` and `allow`: a revoked answer decides the request that asked, and the
/// next second the certificate is not let through as a soft fail.
#[test]
fn with_cache_seconds_zero_a_revoked_answer_is_not_forgotten_at_the_next_second() {
    let (ca, vm, t) = ocsp_vm("allow", 0);
    let revoked = leaf(&ca, "revoked", 0x62);
    let (host, waiting) = vm.waiting(&revoked, t);
    let response =
        Answer::dated(Says::Revoked(None), t - 60, Some(t + 86_400)).to(&ca, &revoked, &host);
    assert_eq!(vm.answer(host, waiting, &response), 401);
    assert_ne!(vm.status(&revoked, t + 1), 200);
}

/// `cacheSeconds: 0` with an answer whose nextUpdate is a day away: the good answer is not kept
/// beyond the second it came in (the responder is asked again).
#[test]
fn with_cache_seconds_zero_a_far_next_update_does_not_keep_a_good_answer() {
    let (ca, vm, t) = ocsp_vm("deny", 0);
    let good = leaf(&ca, "good", 0x63);
    let (host, waiting) = vm.waiting(&good, t);
    let response = Answer::dated(Says::Good, t - 60, Some(t + 86_400)).to(&ca, &good, &host);
    assert_eq!(vm.answer(host, waiting, &response), 200);
    assert_eq!(vm.status(&good, t + 1), 0, "asked again");
}

/// Two first requests for the same certificate ask concurrently (no coalescing). The first
/// answer says revoked; the second comes from a replica of the responder that has not heard of
/// the revocation yet (good, with the right nonce, an older thisUpdate). The good answer must
/// not replace the revoked one: neither the second request nor a later one (after the cached
/// rejection's minute) may pass.
#[test]
fn a_good_answer_after_a_revoked_one_for_the_same_certificate_does_not_unrevoke_it() {
    // Two concurrent first requests with one certificate: since issue 20 they share one
    // question (a second, concurrent answer about it cannot arrive on one VM), and the revoked
    // answer decides both; afterwards nothing lets the certificate through.
    let ca = Ca::new("ocsp ca");
    let target = leaf(&ca, "target", 0x64);
    for cache_size in [1024, 0] {
        let t = now();
        let mut config = ocsp_config(&ca, "deny", 300);
        config["cacheSize"] = json!(cache_size);
        let vm = Vm::start(&config, t, &mut Shared::default());
        let (host_1, waiting_1) = vm.waiting(&target, t);
        let (host_2, waiting_2) = vm.waiting_in(&target, t, 2);
        assert!(host_2.dispatched.is_empty(), "one question per certificate");
        assert_eq!(waiting_2.token(), waiting_1.token());
        let revoked =
            Answer::dated(Says::Revoked(None), t - 10, Some(t + 3600)).to(&ca, &target, &host_1);
        let mut host_1 = host_1;
        assert_eq!(
            on_ocsp_response(&mut host_1, &vm.state, &vm.cache, waiting_1, &revoked),
            Action::Pause,
            "cache {cache_size}"
        );
        // The second request was decided in its own context, refused.
        let calls = &host_1.calls;
        let switched = calls
            .iter()
            .position(|c| matches!(c, Call::SetEffectiveContext(2)))
            .expect("the second request's context");
        assert!(
            calls[switched..]
                .iter()
                .any(|c| matches!(c, Call::SendReply(401))),
            "cache {cache_size}: {calls:?}"
        );
        // A good answer to a new question cannot arise: none is asked, and none undoes it.
        for dt in [1, 61, 120, 86_400] {
            assert_ne!(
                vm.status(&target, t + dt),
                200,
                "cache {cache_size}: at +{dt}"
            );
        }
        vm.cache.borrow_mut().revocation.record_ocsp(
            ocsp_key(&ca, &target),
            OcspStatus::Good,
            t + 3600,
            t,
        );
        assert_ne!(vm.status(&target, t + 2), 200, "a later good is ignored");
    }
}

/// The responder's HTTP 200 with an HTML page, or a huge garbage body, is no answer: refused
/// under `deny`.
#[test]
fn a_200_with_html_or_a_huge_body_is_no_answer() {
    let ca = Ca::new("ocsp ca");
    let target = leaf(&ca, "target", 0x65);
    let t = now();
    for body in [
        b"<html><body>OK</body></html>".to_vec(),
        vec![0x30; 8 << 20],
    ] {
        let vm = Vm::start(&ocsp_config(&ca, "deny", 300), t, &mut Shared::default());
        let (host, waiting) = vm.waiting(&target, t);
        assert_eq!(vm.answer(host, waiting, &ok(body)), 401);
    }
}

/// A revoked certificate (the OCSP answer kept) on an excluded path and under `Optional`: the
/// request may pass (that is what exclusion means) but the certificate is never forwarded.
#[test]
fn a_revoked_certificate_is_never_forwarded_on_an_excluded_path_or_in_optional_mode() {
    let ca = Ca::new("ocsp ca");
    let revoked = leaf(&ca, "revoked", 0x66);
    let t = now();
    let mut config = ocsp_config(&ca, "allow", 300);
    config["clientCertExclusionPaths"] = json!("/public");
    config["clientCertMode"] = json!("Optional");
    let vm = Vm::start(&config, t, &mut Shared::default());
    let (host, waiting) = vm.waiting(&revoked, t);
    let response =
        Answer::dated(Says::Revoked(None), t - 60, Some(t + 3600)).to(&ca, &revoked, &host);
    assert_eq!(
        vm.answer(host, waiting, &response),
        401,
        "Optional still refuses"
    );
    for dt in [0, 1, 61, 200] {
        let (host, step) = vm.request_to("/public/x", &revoked, t + dt);
        assert!(matches!(step, Step::Done(Action::Continue)), "{step:?}");
        assert!(
            host.header("x-arr-clientcert").is_empty(),
            "at +{dt}: a revoked certificate is not forwarded"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fetched CRLs.

const A_CRL: &str = "http://crl.test/a.crl";

/// Trusts `ca`, with the one CRL source [`A_CRL`]; `extra` added to `validation`.
fn a_crl_config(ca: &Ca, extra: serde_json::Value) -> serde_json::Value {
    revocation_config(&[ca], json!({"crls": [crl_source(A_CRL)]}), extra)
}

/// The control: a newer CRL replaces an older one, and an older one after it is refused.
#[test]
fn control_an_older_crl_after_a_newer_one_is_refused() {
    let ca = Ca::new("crl ca");
    let target = leaf(&ca, "target", 0x71);
    let t = now();
    let day = time::Duration::days(1);
    let now_t = OffsetDateTime::now_utc();
    let old = ca.crl_between(&[], now_t - 2 * day, now_t + 5 * day, 1);
    let new = ca.crl_between(&[0x71], now_t - day, now_t + 6 * day, 2);
    let (mut vm, mut shared) = Vm::fetched(&a_crl_config(&ca, json!({})), t, &new);
    assert_eq!(vm.status(&target, t), 401);
    assert!(vm.tick_and_answer(t + 60, &mut shared, &old));
    assert_eq!(vm.status(&target, t + 61), 401, "the rollback is refused");
}

/// Two plugin configurations share a CRL source (same URL and cluster, so the same shared-data
/// key) but trust different CAs: A trusts the issuing CA X; B trusts X and another CA Y. After
/// X's newest CRL (which revokes the certificate), the server (or anyone on the path of a
/// plain-http CRL) answers B's fetches with CRLs of Y (older, then newer than X's) and X's
/// older CRL, from before the revocation. B publishes what verifies under its configuration;
/// A must never install a CRL of X older than the one it uses.
#[test]
fn a_crl_published_by_another_configuration_cannot_roll_back_this_one() {
    let x = Ca::new("issuing ca x");
    let y = Ca::new("other ca y");
    let target = leaf(&x, "target", 0x72);
    let t = now();
    let day = time::Duration::days(1);
    let now_t = OffsetDateTime::now_utc();
    let x_old = x.crl_between(&[], now_t - 3 * day, now_t + 4 * day, 1);
    let x_new = x.crl_between(&[0x72], now_t - day, now_t + 6 * day, 2);
    let y_older = y.crl_between(&[], now_t - 10 * day, now_t + 20 * day, 1);
    let y_newer = y.crl_between(&[], now_t - time::Duration::hours(1), now_t + 20 * day, 2);
    let config = |cas: &[&Ca]| {
        let sources = json!({"crls": [crl_source("http://crl.test/x.crl")]});
        revocation_config(cas, sources, json!({}))
    };
    let mut shared = Shared::default();
    let mut a = Vm::start(&config(&[&x]), t, &mut shared);
    let mut b = Vm::start(&config(&[&x, &y]), t, &mut shared);
    assert!(a.tick_and_answer(t, &mut shared, &x_new));
    b.tick(t + 1, &mut shared);
    assert_eq!(a.status(&target, t + 1), 401, "revoked by X's newest CRL");
    // From now on B wins every lease (it ticks first) and the attacker answers.
    let mut bodies = [&y_older, &x_old, &y_newer, &x_old].into_iter();
    let mut body = bodies.next();
    for dt in 2..2000 {
        let Some(current) = body else { break };
        if b.tick_and_answer(t + dt, &mut shared, current) {
            body = bodies.next();
        }
        a.tick(t + dt, &mut shared);
        assert_eq!(a.status(&target, t + dt), 401, "A at +{dt}");
    }
    assert!(body.is_none(), "every attacker answer was fetched");
}

/// A fetched CRL and the pasted `crls` together: a fresh fetched CRL that does not list the
/// certificate cannot hide a pasted CRL (valid now) that does, and the other way round.
#[test]
fn a_pasted_crl_and_a_fetched_one_cannot_hide_each_others_revocation() {
    let ca = Ca::new("crl ca");
    let target = leaf(&ca, "target", 0x73);
    let t = now();
    let lists = ca.crl(&[0x73], next_week());
    let clean = ca.crl(&[], next_week());
    for (pasted, fetched) in [(&lists, &clean), (&clean, &lists)] {
        let config = a_crl_config(&ca, json!({ "crls": [pasted] }));
        let (vm, _) = Vm::fetched(&config, t, fetched);
        assert_eq!(vm.status(&target, t), 401);
    }
}

/// `revocationFailure: allow` with a CRL server that answers garbage after a good CRL that lists
/// the certificate: the listed certificate is never let through, even after the CRL expired
/// (a fetched CRL that lists a certificate still revokes it).
#[test]
fn with_allow_a_listed_certificate_never_passes_whatever_the_server_answers_next() {
    let ca = Ca::new("crl ca");
    let target = leaf(&ca, "target", 0x74);
    let t = now();
    let now_t = OffsetDateTime::now_utc();
    let lists = ca.crl_between(
        &[0x74],
        now_t - time::Duration::hours(2),
        now_t + time::Duration::minutes(2),
        1,
    );
    let config = a_crl_config(&ca, json!({"revocationFailure": "allow"}));
    let (mut vm, mut shared) = Vm::fetched(&config, t, &lists);
    for dt in 1..400 {
        vm.tick_and_answer(t + dt, &mut shared, "<html>garbage</html>");
        if dt % 50 == 0 {
            assert_eq!(vm.status(&target, t + dt), 401, "at +{dt}");
        }
    }
}

/// Design question, left open: a pasted CRL that expired "neither revokes nor vouches"
/// (README), so under `revocationFailure: allow` a certificate it lists passes as a soft fail,
/// where a fetched CRL that expired still revokes what it lists.
#[test]

fn with_allow_an_expired_pasted_crl_still_revokes_what_it_lists() {
    let ca = Ca::new("crl ca");
    let target = leaf(&ca, "target", 0x75);
    let now_t = OffsetDateTime::now_utc();
    let expired = ca.crl_between(
        &[0x75],
        now_t - time::Duration::days(8),
        now_t - time::Duration::days(1),
        1,
    );
    let config = a_crl_config(
        &ca,
        json!({"crls": [expired], "revocationFailure": "allow"}),
    );
    let vm = Vm::start(&config, now(), &mut Shared::default());
    assert_eq!(vm.status(&target, now()), 401);
}

/// Design question, left open: with both a fetched CRL and OCSP, a responder that fails once
/// (timeout) leaves an acceptance vouched by the CRL alone, and that verdict is cached until
/// the CRL's nextUpdate: OCSP is not asked again for that certificate for days, whereas a
/// *good* OCSP answer keeps the verdict only `cacheSeconds`. A revocation the responder knows
/// then takes effect only when the CA's next CRL lists it.
#[test]

fn an_ocsp_failure_does_not_keep_a_crl_vouched_acceptance_beyond_cache_seconds() {
    let ca = Ca::new("both ca");
    let target = leaf(&ca, "target", 0x76);
    let t = now();
    let sources = json!({"crls": [crl_source(A_CRL)], "ocsp": ocsp_source(60)});
    let config = revocation_config(&[&ca], sources, json!({}));
    let (vm, _) = Vm::fetched(&config, t, ca.crl(&[], next_week()));
    let (host, waiting) = vm.waiting(&target, t);
    assert_eq!(vm.answer(host, waiting, &timeout()), 200, "the CRL vouches");
    // Later than cacheSeconds: the responder should be asked again.
    assert_eq!(vm.status(&target, t + 120), 0, "asked again");
}

/// The issuing CA's certificate was renewed with the same name and key; the configuration still
/// names the old (expired) one, which signs the fetched CRL's verification, while the client
/// presents the renewed one in XFCC's Chain, so the path goes through it. The CRL, issued under
/// that name and signed with that key, is the CA's own list for the leaf (RFC 5280): it must
/// revoke it, not be set aside as "another CA's" (which under `allow` let the revoked
/// certificate through as a soft fail).
#[test]
fn a_crl_applies_to_a_leaf_whose_path_goes_through_a_renewed_certificate_of_its_ca() {
    use rcgen::{
        BasicConstraints, CertificateParams, CertificateRevocationListParams,
        ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams,
    };
    let now_t = OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let ca_params_named = |name: &str, from: OffsetDateTime, to: OffsetDateTime| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = testkit::pki::name(name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p.not_before = from;
        p.not_after = to;
        p
    };
    let root_params = ca_params_named("renewal root", now_t - 2 * day, now_t + 900 * day);
    let root_key = KeyPair::generate().unwrap();
    let root = root_params.self_signed(&root_key).unwrap();
    let root_issuer = rcgen::Issuer::new(root_params, root_key);
    let ca_params = |from, to| ca_params_named("renewed issuing ca", from, to);
    let i_key_pem = KeyPair::generate().unwrap().serialize_pem();
    let i_key = KeyPair::from_pem(&i_key_pem).unwrap();
    let old = ca_params(now_t - 400 * day, now_t - day)
        .signed_by(&i_key, &root_issuer)
        .unwrap();
    let new_params = ca_params(now_t - 2 * day, now_t + 400 * day);
    let new = new_params.signed_by(&i_key, &root_issuer).unwrap();
    let i_issuer = rcgen::Issuer::new(new_params, KeyPair::from_pem(&i_key_pem).unwrap());
    let mut leaf_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf_params.distinguished_name = testkit::pki::name("renewal leaf");
    leaf_params.serial_number = Some(SerialNumber::from(0x81u64));
    leaf_params.not_before = now_t - day;
    leaf_params.not_after = now_t + 300 * day;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf_params.signed_by(&leaf_key, &i_issuer).unwrap();
    let crl = CertificateRevocationListParams {
        this_update: now_t - time::Duration::hours(1),
        next_update: now_t + 6 * day,
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(0x81u64),
            revocation_time: now_t - time::Duration::hours(2),
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&i_issuer)
    .unwrap()
    .pem()
    .unwrap();
    let config = json!({
        "certificateSource": "xfcc",
        "validation": {
            "trustedCaCertificates": [root.pem()],
            "intermediateCertificates": [old.pem()],
            "validateRevocation": true,
            "revocationSources": {"crls": [crl_source("http://crl.test/i.crl")]},
            "revocationFailure": "allow"
        }
    });
    let t = now();
    let mut shared = Shared::default();
    let mut vm = Vm::start(&config, t, &mut shared);
    assert!(vm.tick_and_answer(t, &mut shared, &crl));
    let leaf_pem = leaf_cert.pem();
    let xfcc = format!(
        "Cert=\"{}\";Chain=\"{}\"",
        envoy_url_encode(&leaf_pem),
        envoy_url_encode(&format!("{leaf_pem}{}", new.pem()))
    );
    let mut host = FakeHost::request(
        &[
            (":method", b"GET"),
            (":path", b"/api"),
            (":authority", b"api.example.com"),
            ("x-forwarded-client-cert", xfcc.as_bytes()),
        ],
        t,
    )
    .with_property(
        "connection.sha256_peer_certificate_digest",
        hex_lower(&Sha256::digest(leaf_cert.der())).as_bytes(),
    )
    .with_property("connection.mtls", &[1]);
    let step = handle_request_headers(&mut host, Some(&vm.state), &vm.cache);
    assert!(
        matches!(step, Step::Done(Action::Pause)),
        "refused, not let through: {step:?} {:?}",
        host.logs(Level::Info)
    );
    assert_logged(&host, Level::Info, "reason=revoked");
}

// ---------------------------------------------------------------------------------------------
// Coalescing (issue 20, item 12): concurrent first requests with one certificate.

/// Sixty concurrent first requests with one certificate (sixty streams of one HTTP/2
/// connection) send one question; its answer decides all sixty, each in its own context.
#[test]
fn concurrent_first_requests_with_one_certificate_send_one_question() {
    let (ca, vm, t) = ocsp_vm("deny", 300);
    let target = leaf(&ca, "target", 0x71);
    let (first_host, first) = vm.waiting(&target, t);
    assert_eq!(first_host.dispatched.len(), 1);
    for context in 2..=60 {
        match vm.request_in("/api", &target, t, context) {
            (host, Step::Wait(waiting)) => {
                assert!(host.dispatched.is_empty(), "stream {context} asked again");
                assert_eq!(waiting.token(), first.token());
            }
            (_, step) => panic!("stream {context} should wait: {step:?}"),
        }
    }
    assert_eq!(vm.state.questions.borrow().len(), 1);
    let response = Answer::dated(Says::Good, t - 10, Some(t + 3600)).to(&ca, &target, &first_host);
    let mut host = first_host;
    assert_eq!(
        on_ocsp_response(&mut host, &vm.state, &vm.cache, first, &response),
        Action::Continue
    );
    // Each of the 59 others: switched into, then resumed.
    let mut resumed = 0;
    let mut current = 1;
    for call in &host.calls {
        match call {
            Call::SetEffectiveContext(c) => current = *c,
            Call::Resume => {
                resumed += 1;
                assert!(current >= 1, "resumed in a context");
            }
            _ => {}
        }
    }
    assert_eq!(resumed, 60, "every waiting request resumed");
    assert_eq!(host.context, 1, "the answering context is set back");
    assert!(vm.state.questions.borrow().is_empty());
    // The answer is kept: the next request is decided at once.
    assert_eq!(vm.status(&target, t + 1), 200);
}

/// Beyond the bound of requests waiting for one certificate, the next gets a 503 at once
/// (under `allow` too): never let through without the answer, never one more question.
#[test]
fn beyond_the_bound_of_waiting_requests_a_request_is_told_to_retry_never_let_through() {
    let (ca, vm, t) = ocsp_vm("allow", 300);
    let target = leaf(&ca, "target", 0x72);
    let (_first_host, _first) = vm.waiting(&target, t);
    for context in 2..=MAX_WAITING_PER_CERTIFICATE as u32 {
        assert!(matches!(
            vm.request_in("/api", &target, t, context).1,
            Step::Wait(_)
        ));
    }
    let (host, step) = vm.request_in("/api", &target, t, 1000);
    assert!(matches!(step, Step::Done(Action::Pause)), "{step:?}");
    let reply = host.reply.clone().expect("a reply");
    assert_eq!(reply.status, 503);
    assert!(reply.headers.contains(&("retry-after".into(), "1".into())));
    assert!(host.header("x-arr-clientcert").is_empty());
    assert!(host.dispatched.is_empty());
    assert_logged(&host, Level::Warn, "reason=revocation_busy");
}

/// The stream that carried the question goes away (the client reset it; Envoy cancels its
/// call): the others still waiting are not left hanging. The next tick asks again, from the
/// root context, and its answer decides them.
#[test]
fn when_the_asking_stream_goes_away_the_question_is_asked_again_for_the_others() {
    let ca = Ca::new("ocsp ca");
    let target = leaf(&ca, "target", 0x73);
    let t = now();
    let mut shared = Shared::default();
    let mut vm = Vm::start(&ocsp_config(&ca, "deny", 300), t, &mut shared);
    let (_gone_host, gone) = vm.waiting(&target, t);
    let (_host_2, second) = vm.waiting_in(&target, t, 2);
    vm.state.questions.borrow_mut().leave(&gone);
    assert_eq!(
        vm.state.questions.borrow().waiting(&ocsp_key(&ca, &target)),
        1
    );
    // The root's tick (context 0) asks again.
    vm.host.context = 0;
    let before = vm.host.dispatched.len();
    vm.tick(t + 1, &mut shared);
    assert_eq!(vm.host.dispatched.len(), before + 1, "asked again");
    let token = vm.host.dispatched.last().unwrap().0;
    let _ = second;
    let response =
        Answer::dated(Says::Revoked(None), t - 10, Some(t + 3600)).to(&ca, &target, &vm.host);
    let action = on_ocsp_answer(&mut vm.host, &vm.state, &vm.cache, token, &response);
    assert_eq!(
        action,
        Some(Action::Continue),
        "the root itself did not wait"
    );
    let calls = &vm.host.calls;
    let switched = calls
        .iter()
        .position(|c| matches!(c, Call::SetEffectiveContext(2)))
        .expect("the waiting request's context");
    assert!(
        calls[switched..]
            .iter()
            .any(|c| matches!(c, Call::SendReply(401))),
        "{calls:?}"
    );
    assert_eq!(vm.host.context, 0, "set back to the root");
    // An answer to a call no question waits for changes nothing.
    assert_eq!(
        on_ocsp_answer(&mut vm.host, &vm.state, &vm.cache, token + 7, &response),
        None
    );
    // Everyone gone, nothing in flight: nothing is kept.
    assert!(vm.state.questions.borrow().is_empty());
}
