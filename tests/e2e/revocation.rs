//! End-to-end online revocation (issue 13): the built module in the real Envoy fetching CRLs and
//! asking OCSP through Envoy clusters (`dispatch_http_call`), against real servers the test
//! starts: a std-only HTTP file server (`testkit/src/online.rs`: CRLs, pre-made OCSP answers,
//! stalls, 500s) and OpenSSL's own OCSP responder (`openssl ocsp -port`) over a CA database
//! the test writes. Nothing of Envoy is mocked.
//!
//! What each forged OCSP answer really exercises:
//! - a live `openssl ocsp` signing with another CA's responder, with a CA-issued certificate
//!   lacking the OCSP-signing EKU, or with a corrupted signature (`-badsig`): the responder
//!   echoes the module's nonce and answers for the right certificate, so only the signer (or
//!   the signature) is wrong;
//! - a pre-made answer (file mode, served as fixed bytes) for another certificate: its request
//!   had no nonce, so it carries none, and its CertID is not the leaf's;
//! - a pre-made answer for the right certificate with a nonce of openssl's own: only the nonce
//!   differs from the module's request.
//!
//! Two controls go through the same port and must be accepted: the live responder signing as
//! the CA, and a pre-made CA-signed answer without a nonce for the right certificate (the
//! module checks a nonce only when the answer carries one). So each forgery is refused for its
//! one defect, not for being pre-made or served by the file server.
//!
//! A stale answer (thisUpdate/nextUpdate in the past) is not made here: `openssl ocsp` has no
//! flag for a past thisUpdate, and the shortest nextUpdate (`-nmin 1`) would cost a minute of
//! waiting. The native OCSP tests cover it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use rcgen::ExtendedKeyUsagePurpose;
use serde_json::{Value, json};
use testkit::envoy::{ClientCert, Envoy, EnvoyOptions, Pki, TempDir, free_port};
use testkit::online::{
    Behaviour, CRL_CLUSTER, CRL_FILE, CRL_PATH, CRL_URL, FileServer, IndexEntry, OCSP_CLUSTER,
    OCSP_PATH, OcspResponder, ask, counter_at_least, crl_der, crl_source, entry, expect_denied,
    expect_forwarded, leaf, ocsp_source, openssl_serial, plugin_config, premade_answer,
    revocation_options, save_ca_key, serve_crl, set_crl, write_index,
};
use testkit::openssl::openssl;
use testkit::pki::{Alg, Ca};

/// CRLs here are issued a minute before they are served.
const MINUTE: time::Duration = time::Duration::minutes(1);

/// How long the CRL tests wait for the first fetched CRL: it comes at the first timer, about a
/// second after the configuration is taken (`the_first_crl_is_fetched_about_a_second_after_start`
/// holds it to that); the slack is for a loaded machine.
const FIRST_CRL_WITHIN: Duration = Duration::from_secs(10);

/// A certificate of `ca` that may sign OCSP answers for it (`ocsp` true: EKU OCSPSigning,
/// else clientAuth only), saved as `<stem>.pem`/`.key`.
fn responder_cert(pki: &Pki, ca: &Ca, stem: &str, ocsp: bool) {
    let cert = ca.client_with(stem, Alg::EcdsaP256, |p| {
        p.extended_key_usages = if ocsp {
            vec![ExtendedKeyUsagePurpose::OcspSigning]
        } else {
            vec![ExtendedKeyUsagePurpose::ClientAuth]
        };
    });
    pki.save(stem, &cert);
}

/// The plugin configuration: Required, trust in the test CA, revocation from `sources`.
fn config(pki: &Pki, sources: Value, failure: &str) -> String {
    plugin_config(&[&pki.ca], sources, failure)
}

fn crl_sources(refresh_seconds: u64) -> Value {
    json!({ "crls": [crl_source(CRL_CLUSTER, CRL_URL, refresh_seconds)] })
}

fn ocsp_sources(timeout_ms: u32) -> Value {
    json!({ "ocsp": ocsp_source(timeout_ms, 300) })
}

/// [`revocation_options`] with one cluster.
fn options(config: String, cluster: &str, port: u16, concurrency: u32) -> EnvoyOptions {
    revocation_options(config, &[(cluster, port)], concurrency)
}

/// Envoy (two workers) fetching the test CA's CRL from `port` every `refresh` seconds, under
/// `deny`.
fn crl_envoy(pki: &Pki, refresh: u64, port: u16) -> Envoy {
    Envoy::start(
        pki,
        options(
            config(pki, crl_sources(refresh), "deny"),
            CRL_CLUSTER,
            port,
            2,
        ),
    )
}

/// Envoy (one worker) with the OCSP cluster on a free port nothing listens on yet (the test
/// starts its responder there later), never one of Envoy's own ports.
fn envoy_with_ocsp_port(pki: &Pki, config: String) -> (Envoy, u16) {
    loop {
        let port = free_port();
        let envoy = Envoy::start(pki, options(config.clone(), OCSP_CLUSTER, port, 1));
        if port != envoy.port && port != envoy.admin_port {
            return (envoy, port);
        }
    }
}

/// Asks with `cert` until it is forwarded (the first CRL arrives about a second after the
/// configuration is taken); until then every answer must be a `revocation_unknown` refusal.
/// Returns how long it took.
fn until_forwarded(
    envoy: &Envoy,
    pki: &Pki,
    cert: &ClientCert,
    within: Duration,
    server: &FileServer,
) -> Duration {
    let start = Instant::now();
    loop {
        let outcome = ask(envoy, pki, cert);
        if outcome.forwarded(cert) {
            return start.elapsed();
        }
        assert!(
            outcome.denied("revocation_unknown"),
            "before the CRL is fetched a good leaf may only be refused as revocation_unknown: {outcome:?}"
        );
        assert!(
            start.elapsed() < within,
            "a good leaf was not forwarded within {within:?}: {outcome:?}; the CRL server saw {:?}",
            server
                .seen()
                .iter()
                .map(|s| format!("{} {} host {}", s.method, s.path, s.host))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn crl_fetched_through_a_cluster_revokes_and_a_swapped_crl_takes_effect_without_envoy() {
    let refresh: u64 = 2;
    let pki = Pki::new();
    let good = leaf(&pki, "good", 0x1001);
    let revoked = leaf(&pki, "revoked", 0x1002);
    let newcomer = leaf(&pki, "newcomer", 0x1003);
    let (files, server) = serve_crl("crl", &crl_der(&pki.ca, &[0x1002], 1, MINUTE));
    let envoy = crl_envoy(&pki, refresh, server.port);
    until_forwarded(&envoy, &pki, &good, FIRST_CRL_WITHIN, &server);
    let seen = server.seen();
    assert!(!seen.is_empty(), "the CRL server was never asked");
    for s in &seen {
        assert!(
            s.method == "GET" && s.path == CRL_PATH && s.host == "crl.test",
            "a CRL fetch is GET {CRL_PATH} with authority crl.test (the URL's), got {} {} host {:?}",
            s.method,
            s.path,
            s.host
        );
    }
    // Fresh connections (curl makes one per request) land on either worker: both must have it.
    // The worker that did not fetch installs the published CRL at its next timer, within a
    // second of the other.
    std::thread::sleep(Duration::from_millis(1500));
    for round in 0..4 {
        expect_forwarded(&envoy, &pki, &good, &format!("good leaf, round {round}"));
        expect_denied(
            &envoy,
            &pki,
            &revoked,
            "revoked",
            &format!("leaf in the CRL, round {round}"),
        );
    }

    // The CA revokes the good leaf: a new CRL (number 2) is served; Envoy is not touched.
    set_crl(&files, &crl_der(&pki.ca, &[0x1002, 0x1001], 2, MINUTE));
    // It applies within refreshSeconds plus a second (the other worker installs it on its next
    // second): here, six refusals in a row on fresh connections within refreshSeconds + 2 s.
    let swapped = Instant::now();
    let limit = Duration::from_secs(refresh + 2);
    let mut refused_in_a_row = 0;
    while refused_in_a_row < 6 {
        let outcome = ask(&envoy, &pki, &good);
        if outcome.denied("revoked") {
            refused_in_a_row += 1;
        } else {
            refused_in_a_row = 0;
            assert!(
                outcome.forwarded(&good),
                "until the new CRL is in use the good leaf forwards: {outcome:?}"
            );
        }
        assert!(
            swapped.elapsed() < limit,
            "the swapped CRL did not take effect on every worker within {limit:?} (refreshSeconds \
             {refresh}): {outcome:?}; fetches at {:?} s from the swap",
            server
                .seen()
                .iter()
                .map(|s| s.at.duration_since(swapped).as_secs_f32())
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = swapped.elapsed();
    for round in 0..4 {
        expect_denied(
            &envoy,
            &pki,
            &good,
            "revoked",
            &format!("good leaf after the new CRL ({took:?} after the swap), round {round}"),
        );
        expect_denied(
            &envoy,
            &pki,
            &revoked,
            "revoked",
            &format!("still in the new CRL, round {round}"),
        );
    }
    expect_forwarded(
        &envoy,
        &pki,
        &newcomer,
        "a leaf first seen under the new CRL, not in it",
    );
    // The served CRL disappears (404) and the server then fails (500): the CRL in use stays in
    // use (its nextUpdate is a day away), nothing is let through or refused for it.
    std::fs::remove_file(files.0.join(CRL_FILE)).unwrap();
    let asked = server.seen().len();
    std::thread::sleep(Duration::from_secs(refresh + 1));
    server.set_behaviour(Behaviour::Fail);
    std::thread::sleep(Duration::from_secs(refresh + 1));
    assert!(
        server.seen().len() >= asked + 2,
        "the module kept fetching (404, then 500): {} fetches before, {} after",
        asked,
        server.seen().len()
    );
    expect_denied(&envoy, &pki, &good, "revoked", "after failed fetches");
    expect_forwarded(&envoy, &pki, &newcomer, "after failed fetches");
    assert!(counter_at_least(&envoy, "revocation.crl_0.fetched", 2) >= 2);
    assert!(counter_at_least(&envoy, "revocation.crl_0.fetch_failed", 2) >= 2);
}

#[test]
fn crl_is_fetched_once_per_interval_for_all_workers() {
    let refresh: u64 = 3;
    let window = Duration::from_secs(10);
    let pki = Pki::new();
    let good = leaf(&pki, "good", 0x1101);
    let (_files, server) = serve_crl("crl-count", &crl_der(&pki.ca, &[], 1, MINUTE));
    let envoy = crl_envoy(&pki, refresh, server.port);
    until_forwarded(&envoy, &pki, &good, FIRST_CRL_WITHIN, &server);
    let first = server.seen()[0].at;
    // The first forward came from one worker; the other installs the CRL from shared data on
    // its next tick, and until then still says "not fetched yet" (seen on a loaded machine).
    std::thread::sleep(Duration::from_millis(1200));
    // Requests keep both workers busy meanwhile.
    while first.elapsed() < window + Duration::from_millis(500) {
        expect_forwarded(&envoy, &pki, &good, "good leaf while counting fetches");
        std::thread::sleep(Duration::from_millis(300));
    }
    let times: Vec<f32> = server
        .seen()
        .iter()
        .filter(|s| s.path == CRL_PATH)
        .map(|s| s.at.duration_since(first).as_secs_f32())
        .filter(|&t| t < window.as_secs_f32())
        .collect();
    let intervals = window.as_secs() as usize / refresh as usize;
    eprintln!("CRL fetches in the {window:?} after the first: at {times:?} s");
    assert!(
        (2..=intervals + 2).contains(&times.len()),
        "with 2 workers and refreshSeconds {refresh}, {window:?} should see about {} fetches \
         (one per interval for the whole Envoy), at least 2 and at most {}; saw {} at {times:?} s",
        intervals + 1,
        intervals + 2,
        times.len()
    );
}

/// The first fetch comes about a second after the configuration is taken (the first timer).
/// (It once came after ~16 s: a fetch sent while Envoy loaded its configuration was never
/// delivered, and its lease kept the workers from fetching.)
#[test]
fn the_first_crl_is_fetched_about_a_second_after_start() {
    let pki = Pki::new();
    let good = leaf(&pki, "good", 0x1201);
    let (_files, server) = serve_crl("crl-first", &crl_der(&pki.ca, &[], 1, MINUTE));
    let envoy = crl_envoy(&pki, 3600, server.port);
    let took = until_forwarded(&envoy, &pki, &good, Duration::from_secs(5), &server);
    assert_eq!(
        server.count("GET", CRL_PATH),
        1,
        "one fetch at start (refreshSeconds 3600), forwarded after {took:?}"
    );
}

/// An OCSP responder that is up before Envoy starts must be asked like any other. (It once was
/// not: a cluster probe sent at start never reached the responder but left a connection open
/// on which `openssl ocsp`, one connection at a time, waited; nothing is sent at start now.)
#[test]
fn an_ocsp_responder_already_running_when_envoy_starts_is_not_blocked() {
    let o = ocsp_pki();
    let pki = &o.pki;
    let port = free_port();
    let responder = OcspResponder::start(&pki.dir.0, port, "ca", &[]);
    let envoy = Envoy::start(
        pki,
        options(
            config(pki, ocsp_sources(2000), "deny"),
            OCSP_CLUSTER,
            port,
            1,
        ),
    );
    let outcome = ask(&envoy, pki, &o.good);
    assert!(
        outcome.forwarded(&o.good),
        "good leaf, responder up before Envoy: expected 200 with X-ARR-ClientCert upstream, got \
         {outcome:?}. Responder log:\n{}",
        responder.log()
    );
}

/// The OCSP test PKI: the CA's key, leaves `good` (0x2001), `revoked` (0x2002, revoked in the
/// database) and `unknown` (0x2003, not in it), and a delegated responder `responder` (EKU
/// OCSPSigning, issued by the CA).
struct OcspPki {
    pki: Pki,
    good: ClientCert,
    revoked: ClientCert,
    unknown: ClientCert,
}

fn ocsp_pki() -> OcspPki {
    let pki = Pki::new();
    save_ca_key(&pki);
    responder_cert(&pki, &pki.ca, "responder", true);
    let good = leaf(&pki, "good", 0x2001);
    let revoked = leaf(&pki, "revoked", 0x2002);
    let unknown = leaf(&pki, "unknown", 0x2003);
    write_index(
        &pki.dir.0,
        &[entry(&pki, "good", false), entry(&pki, "revoked", true)],
    );
    OcspPki {
        pki,
        good,
        revoked,
        unknown,
    }
}

fn ocsp_through_openssl_responder(signer: &str) {
    let o = ocsp_pki();
    let pki = &o.pki;
    let (envoy, port) = envoy_with_ocsp_port(pki, config(pki, ocsp_sources(2000), "deny"));
    // The responder starts after Envoy here; the case of one already running is
    // `an_ocsp_responder_already_running_when_envoy_starts_is_not_blocked`.
    let responder = OcspResponder::start(&pki.dir.0, port, signer, &[]);
    let outcome = ask(&envoy, pki, &o.good);
    assert!(
        outcome.forwarded(&o.good),
        "good leaf, first sight (asks OCSP): expected 200 with X-ARR-ClientCert upstream, got \
         {outcome:?}. Responder log:\n{}",
        responder.log()
    );
    assert_eq!(
        responder.requests(),
        1,
        "one OCSP request for the good leaf. Responder log:\n{}",
        responder.log()
    );
    expect_forwarded(&envoy, pki, &o.good, "good leaf again");
    assert_eq!(
        responder.requests(),
        1,
        "the answer is kept (cacheSeconds 300): no second request. Responder log:\n{}",
        responder.log()
    );
    expect_denied(
        &envoy,
        pki,
        &o.revoked,
        "revoked",
        "leaf the responder says is revoked",
    );
    expect_denied(
        &envoy,
        pki,
        &o.unknown,
        "revocation_unknown",
        "leaf the responder does not know (status unknown)",
    );
    expect_denied(&envoy, pki, &o.revoked, "revoked", "revoked leaf again");
    assert_eq!(counter_at_least(&envoy, "revocation.ocsp.good", 1), 1);
    assert_eq!(counter_at_least(&envoy, "revocation.ocsp.revoked", 1), 1);
    assert_eq!(counter_at_least(&envoy, "revocation.ocsp.unknown", 1), 1);
    assert_eq!(counter_at_least(&envoy, "revocation.ocsp.failed", 0), 0);
}

#[test]
fn ocsp_answers_signed_by_the_ca_forward_good_and_refuse_revoked() {
    ocsp_through_openssl_responder("ca");
}

#[test]
fn ocsp_answers_of_a_delegated_responder_forward_good_and_refuse_revoked() {
    ocsp_through_openssl_responder("responder");
}

#[test]
fn forged_stalled_failing_and_absent_ocsp_responders_refuse_with_deny() {
    let o = ocsp_pki();
    let pki = &o.pki;
    let dir = &pki.dir.0;
    // Signers that must not be accepted: another CA's OCSP responder, and a certificate of
    // the CA without the OCSP-signing EKU.
    let other = Ca::new("some other CA");
    pki.dir.write("other-ca.pem", &other.cert_pem());
    responder_cert(pki, &other, "other-responder", true);
    responder_cert(pki, &pki.ca, "no-eku", false);
    // Fresh leaves, one per case (no answer of an earlier case can be reused), all valid in
    // the database: a forged "good" is what an attacker would want.
    let stems = [
        "control",
        "other-signer",
        "no-eku-signer",
        "bad-signature",
        "other-cert",
        "wrong-nonce",
        "stalled",
        "failing",
        "absent",
        "answered-for",
        "premade-ok",
    ];
    let leaves: Vec<ClientCert> = stems
        .iter()
        .zip(0x3001..)
        .map(|(stem, serial)| leaf(pki, stem, serial))
        .collect();
    let cert = |stem: &str| &leaves[stems.iter().position(|s| *s == stem).unwrap()];
    let entries: Vec<IndexEntry> = stems.iter().map(|s| entry(pki, s, false)).collect();
    write_index(dir, &entries);

    let timeout_ms = 500;
    let (envoy, port) = envoy_with_ocsp_port(pki, config(pki, ocsp_sources(timeout_ms), "deny"));

    // Control: the CA's own answers through this port are accepted.
    {
        let responder = OcspResponder::start(dir, port, "ca", &[]);
        expect_forwarded(&envoy, pki, cert("control"), "control, answered by the CA");
        assert_eq!(responder.requests(), 1, "{}", responder.log());
    }
    for (stem, signer, extra, what) in [
        (
            "other-signer",
            "other-responder",
            &[][..],
            "answer signed by another CA's OCSP responder",
        ),
        (
            "no-eku-signer",
            "no-eku",
            &[][..],
            "answer signed by a certificate of the CA without the OCSP-signing EKU",
        ),
        (
            "bad-signature",
            "ca",
            &["-badsig"][..],
            "answer of the CA with a corrupted signature",
        ),
    ] {
        let responder = OcspResponder::start(dir, port, signer, extra);
        expect_denied(&envoy, pki, cert(stem), "revocation_unknown", what);
        assert!(
            responder.requests() >= 1,
            "{what}: the responder was not asked. Its log:\n{}",
            responder.log()
        );
    }

    // Pre-made answers, served as fixed bytes by the file server on the same port.
    let other_cert = TempDir::new("ocsp-other-cert");
    let answer = premade_answer(dir, "answered-for", "ca", "ca", false, "other-cert.der");
    std::fs::write(other_cert.0.join("ocsp"), answer).unwrap();
    let wrong_nonce = TempDir::new("ocsp-wrong-nonce");
    let answer = premade_answer(dir, "wrong-nonce", "ca", "ca", true, "wrong-nonce.der");
    std::fs::write(wrong_nonce.0.join("ocsp"), answer).unwrap();
    let premade_ok = TempDir::new("ocsp-premade-ok");
    let answer = premade_answer(dir, "premade-ok", "ca", "ca", false, "premade-ok.der");
    std::fs::write(premade_ok.0.join("ocsp"), answer).unwrap();
    // Control: a pre-made answer without a nonce, for the right certificate, signed by the CA,
    // is accepted (a nonce is checked only when the answer carries one); so each forgery below
    // is refused for its one defect.
    let server = FileServer::start_on(&premade_ok.0, port);
    expect_forwarded(
        &envoy,
        pki,
        cert("premade-ok"),
        "control: a pre-made CA-signed answer without a nonce for the right certificate",
    );
    server.set_root(&other_cert.0);
    expect_denied(
        &envoy,
        pki,
        cert("other-cert"),
        "revocation_unknown",
        "a CA-signed answer (no nonce) for another certificate",
    );
    let posts = server.seen();
    assert_eq!(posts.len(), 2, "one OCSP request per leaf: {posts:?}");
    let post = &posts[1];
    assert!(
        post.method == "POST"
            && post.path == OCSP_PATH
            && post.host == "ocsp.test"
            && post.content_type == "application/ocsp-request",
        "the OCSP request is a POST of application/ocsp-request to {OCSP_PATH} with authority \
         ocsp.test: {} {} host {:?} content-type {:?}",
        post.method,
        post.path,
        post.host,
        post.content_type
    );
    // openssl reads the request the module sent: the leaf's serial, and a nonce.
    std::fs::write(dir.join("module-request.der"), &post.body).unwrap();
    let text = openssl(dir, &["ocsp", "-reqin", "module-request.der", "-req_text"]);
    let serial = openssl_serial(dir, &dir.join("other-cert.pem"));
    assert!(
        text.contains(&format!("Serial Number: {serial}")) && text.contains("OCSP Nonce"),
        "the module's OCSP request names the leaf's serial {serial} and carries a nonce:\n{text}"
    );
    server.set_root(&wrong_nonce.0);
    expect_denied(
        &envoy,
        pki,
        cert("wrong-nonce"),
        "revocation_unknown",
        "a CA-signed answer for the right certificate with another nonce",
    );

    server.set_behaviour(Behaviour::Stall);
    let outcome = ask(&envoy, pki, cert("stalled"));
    assert!(
        outcome.denied("revocation_unknown") && outcome.took < Duration::from_secs(3),
        "a responder that never answers: 401 after timeoutMs {timeout_ms}, well within 3 s; got {outcome:?}"
    );
    server.set_behaviour(Behaviour::Fail);
    expect_denied(
        &envoy,
        pki,
        cert("failing"),
        "revocation_unknown",
        "responder answering 500",
    );
    drop(server);
    let outcome = ask(&envoy, pki, cert("absent"));
    assert!(
        outcome.denied("revocation_unknown") && outcome.took < Duration::from_secs(3),
        "no responder (port closed): 401 revocation_unknown at once; got {outcome:?}"
    );
    // Good: the two controls. Failed: three bad signers, two pre-made forgeries, the stall,
    // the 500 and the closed port.
    assert_eq!(counter_at_least(&envoy, "revocation.ocsp.good", 2), 2);
    assert_eq!(counter_at_least(&envoy, "revocation.ocsp.failed", 8), 8);
    assert_eq!(
        counter_at_least(&envoy, "denied.revocation_unknown", 8),
        8,
        "every refusal is revocation_unknown"
    );
}

#[test]
fn with_allow_an_absent_responder_lets_good_leaves_through_but_never_revoked_ones() {
    let o = ocsp_pki();
    let pki = &o.pki;
    let (envoy, port) = envoy_with_ocsp_port(pki, config(pki, ocsp_sources(500), "allow"));
    // Nothing listens on the port: soft fail.
    let outcome = ask(&envoy, pki, &o.good);
    assert!(
        outcome.status == 200 && outcome.upstream_arr.is_some(),
        "revocationFailure allow, responder down: the request passes to the upstream; got {outcome:?}"
    );
    assert!(
        outcome.forwarded(&o.good),
        "a soft-failed certificate is accepted, so forwarded: {outcome:?}"
    );
    // The responder comes up and says `revoked`: refused even with allow.
    let responder = OcspResponder::start(&pki.dir.0, port, "ca", &[]);
    expect_denied(
        &envoy,
        pki,
        &o.revoked,
        "revoked",
        "a leaf the responder says is revoked, under allow",
    );
    assert!(responder.requests() >= 1, "{}", responder.log());
    assert_eq!(counter_at_least(&envoy, "revocation.soft_fail", 1), 1);
}

#[test]
fn unusable_revocation_sources_keep_envoy_from_starting() {
    let pki = Pki::new();
    let cases = [
        (
            json!({"crls": [{"url": "ftp://crl.test/issuing.crl", "cluster": CRL_CLUSTER}]}),
            "validation.revocationSources.crls[0].url",
            "is not an http:// URL",
        ),
        (
            json!({"crls": [{"url": "https://crl.test/issuing.crl", "cluster": CRL_CLUSTER}]}),
            "validation.revocationSources.crls[0].url",
            "is an https:// URL, but the module sends plain HTTP to the cluster",
        ),
        (
            json!({"crls": [{"url": "http:///issuing.crl", "cluster": CRL_CLUSTER}]}),
            "validation.revocationSources.crls[0].url",
            "has no host",
        ),
        (
            json!({"ocsp": {"url": "http://ocsp.test/#x", "cluster": OCSP_CLUSTER}}),
            "validation.revocationSources.ocsp.url",
            "has a fragment",
        ),
    ];
    for (sources, field, problem) in cases {
        let config = config(&pki, sources.clone(), "deny");
        let what = format!("revocationSources {sources}");
        let options = options(config, CRL_CLUSTER, free_port(), 1);
        let failure = Envoy::refused(&pki, options, &what);
        assert!(
            failure.log.contains(&format!("{field}: ")) && failure.log.contains(problem),
            "{sources}: the log must name {field} and say {problem:?}. Log:\n{}",
            failure.log
        );
    }
}

/// A cluster Envoy does not have cannot be seen while Envoy loads the configuration (only a
/// request would tell, and one sent then is not delivered): it shows at the first fetch, as one
/// warning naming the field, the fetch_failed counter, and refusals as revocation_unknown.
#[test]
fn a_cluster_envoy_does_not_have_is_named_in_the_log_and_fails_closed() {
    let pki = Pki::new();
    let good = leaf(&pki, "good", 0x1301);
    let config = config(
        &pki,
        json!({"crls": [{"url": CRL_URL, "cluster": "no_such_cluster", "refreshSeconds": 60}]}),
        "deny",
    );
    let envoy = Envoy::start(&pki, options(config, CRL_CLUSTER, free_port(), 1));
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let log = envoy.log();
        if let Some(line) = log
            .lines()
            .find(|l| l.contains("cannot send to cluster \"no_such_cluster\""))
        {
            break line.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no warning about the cluster. Log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        line.contains("validation.revocationSources.crls[0].cluster"),
        "the warning names the field: {line}"
    );
    expect_denied(
        &envoy,
        &pki,
        &good,
        "revocation_unknown",
        "no CRL can be fetched",
    );
    assert!(counter_at_least(&envoy, "revocation.crl_0.fetch_failed", 1) >= 1);
    let warnings = envoy
        .log()
        .lines()
        .filter(|l| l.contains("cannot send to cluster"))
        .count();
    assert_eq!(warnings, 1, "once per failure streak");
}

/// A CRL of 100,000 entries (about 2.4 MB of DER with these serials) travels through Envoy's
/// HTTP call, shared data and every worker: the leaf it lists is refused, the one it does not is
/// forwarded, and the gauges show its size; the module's memory is printed (and bounded).
#[test]
fn a_crl_of_100000_entries_is_fetched_shared_and_enforced() {
    let pki = Pki::new();
    let good = leaf(&pki, "good", 0x7000_0001);
    let revoked = leaf(&pki, "revoked", 0x5000_0000);
    // Serials 0x50000000 - 50000 .. + 50000: the revoked leaf sits in the middle.
    let serials: Vec<u64> = (0..100_000u64).map(|i| 0x5000_0000 - 50_000 + i).collect();
    let der = crl_der(&pki.ca, &serials, 1, MINUTE);
    eprintln!(
        "CRL of {} entries: {} bytes of DER",
        serials.len(),
        der.len()
    );
    let (_files, server) = serve_crl("crl-big", &der);
    let envoy = crl_envoy(&pki, 3600, server.port);
    until_forwarded(&envoy, &pki, &good, FIRST_CRL_WITHIN, &server);
    std::thread::sleep(Duration::from_millis(1500));
    for round in 0..3 {
        expect_denied(&envoy, &pki, &revoked, "revoked", &format!("round {round}"));
        expect_forwarded(&envoy, &pki, &good, &format!("round {round}"));
    }
    assert_eq!(
        counter_at_least(&envoy, "revocation.crl_0.entries", 100_000),
        100_000
    );
    assert_eq!(
        server.count("GET", CRL_PATH),
        1,
        "fetched once for both workers"
    );
    let memory = counter_at_least(&envoy, "memory_bytes", 1);
    eprintln!("module linear memory after installing it: {memory} bytes");
    assert!(
        memory < 32 << 20,
        "a worker's memory with a 100,000-entry CRL: {memory} bytes"
    );
}
