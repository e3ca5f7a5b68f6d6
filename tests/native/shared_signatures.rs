//! Signatures shared between the VMs of an Envoy (issue 22): a certificate one worker judged
//! has its signatures checked by no other worker of the same configuration, while everything
//! else (dates, the path, the identities, revocation) is still judged by each VM. What one
//! configuration's VMs share, another configuration's never take. Fake hosts share Envoy's
//! data as Envoy's workers do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use client_cert_auth::glue::fake::{Call, FakeHost};
use client_cert_auth::glue::{Action, Level, Step, handle_request_headers};
use serde_json::{Value, json};
use testkit::core::now;
use testkit::glue::{Shared, Vm, request_at, with_cert};
use testkit::pki::{Ca, Leaf, leaf, pem_of};
use time::{Duration, OffsetDateTime};

const PREFIX: &str = "client-cert-auth.signatures.v2.";

/// The shared-data keys of signatures, one per configuration that published.
fn keys(shared: &Shared) -> Vec<String> {
    shared
        .0
        .keys()
        .filter(|k| k.starts_with(PREFIX))
        .cloned()
        .collect()
}

/// The one configuration's shared value.
fn value(shared: &Shared) -> Vec<u8> {
    let keys = keys(shared);
    assert_eq!(keys.len(), 1, "{keys:?}");
    shared.0[&keys[0]].0.clone()
}

fn trusting(cas: &[&Ca], extra: Value) -> Value {
    let mut validation = json!({
        "trustedCaCertificates": cas.iter().map(|c| c.cert_pem()).collect::<Vec<_>>(),
    });
    if let Value::Object(fields) = extra {
        for (name, value) in fields {
            validation[name] = value;
        }
    }
    json!({ "validation": validation })
}

/// One request of `vm` with `leaf` at `t`, over the Envoy's shared data.
fn request(vm: &Vm, leaf: &Leaf, t: i64, shared: &mut Shared) -> (FakeHost, bool) {
    let mut host = with_cert(request_at("/api", &[], t), leaf);
    host.level = Level::Debug;
    host.shared = std::mem::take(&mut shared.0);
    let step = handle_request_headers(&mut host, Some(&vm.state), &vm.cache);
    shared.0 = std::mem::take(&mut host.shared);
    (host, matches!(step, Step::Done(Action::Continue)))
}

/// The signatures the request's first sight checked, from its log line.
fn checked(host: &FakeHost) -> usize {
    let line = host
        .logs(Level::Debug)
        .into_iter()
        .find(|l| l.contains("verdict cache miss"))
        .unwrap_or_else(|| panic!("no first-sight line: {:?}", host.logs(Level::Debug)))
        .to_string();
    let count = line
        .rsplit(", ")
        .next()
        .and_then(|tail| tail.split(' ').next())
        .and_then(|n| n.parse().ok());
    count.unwrap_or_else(|| panic!("no signature count in {line}"))
}

fn writes(host: &FakeHost) -> usize {
    host.calls
        .iter()
        .filter(|c| matches!(c, Call::SetSharedData(k) if k.starts_with(PREFIX)))
        .count()
}

#[test]
fn a_certificate_judged_by_one_vm_costs_the_next_vm_no_signature_check() {
    let root = Ca::new("shared root");
    let issuing = root.intermediate("shared issuing", testkit::pki::Alg::EcdsaP256);
    let alice = leaf(&issuing, "alice", 1);
    let bob = leaf(&issuing, "bob", 2);
    let config = trusting(
        &[&root],
        json!({"intermediateCertificates": [issuing.cert_pem()]}),
    );
    let mut shared = Shared::default();
    let (a, b) = (
        Vm::start(&config, now(), &mut shared),
        Vm::start(&config, now(), &mut shared),
    );
    // A: both signatures of the path (the leaf's and the intermediate's), published once.
    let (host, passed) = request(&a, &alice, now(), &mut shared);
    assert!(passed);
    assert_eq!(checked(&host), 2);
    assert_eq!(writes(&host), 1);
    // B, another worker: the same certificate is judged (its own verdict cache is empty)
    // without a signature check, and nothing is written.
    let (host, passed) = request(&b, &alice, now(), &mut shared);
    assert!(passed, "{:?}", host.logs(Level::Debug));
    assert_eq!(checked(&host), 0, "B took A's checks");
    assert_eq!(writes(&host), 0, "nothing new to publish");
    // A new leaf under the same intermediate: on B, only the leaf's own signature.
    let (host, _) = request(&b, &bob, now(), &mut shared);
    assert_eq!(checked(&host), 1);
    // ... which A then takes: B's publication merged with A's.
    let (host, passed) = request(&a, &bob, now(), &mut shared);
    assert!(passed);
    assert_eq!(checked(&host), 0);
    assert_eq!(
        value(&shared).len(),
        8 + 32 + 3 * 32,
        "three signatures, each once"
    );
}

#[test]
fn what_is_shared_never_decides_for_another_configuration_a_later_time_or_a_revocation() {
    let ca = Ca::new("shared ca");
    let stranger = Ca::new("another ca");
    let t = now();
    let expires = OffsetDateTime::from_unix_timestamp(t + 3600).unwrap();
    let alice = ca.client_between(
        "alice",
        OffsetDateTime::now_utc() - Duration::days(1),
        expires,
    );
    let mut shared = Shared::default();
    let a = Vm::start(&trusting(&[&ca], json!({})), t, &mut shared);
    let (host, passed) = request(&a, &alice, t, &mut shared);
    assert!(passed && checked(&host) == 1);
    assert_eq!(keys(&shared).len(), 1);
    // A VM trusting another CA: no path, whatever the shared signatures say.
    let other = Vm::start(&trusting(&[&stranger], json!({})), t, &mut shared);
    let (host, passed) = request(&other, &alice, t, &mut shared);
    assert!(!passed, "{:?}", host.logs(Level::Debug));
    // A VM whose configuration asks for another identity.
    let bob_only = Vm::start(
        &trusting(&[&ca], json!({"identities": [{"commonName": "bob"}]})),
        t,
        &mut shared,
    );
    let (host, passed) = request(&bob_only, &alice, t, &mut shared);
    assert!(!passed);
    assert_eq!(
        checked(&host),
        1,
        "another configuration takes nothing from the first"
    );
    assert!(
        host.logs(Level::Info)
            .iter()
            .any(|l| l.contains("identity"))
    );
    // A VM of the same configuration, after the certificate expired.
    let later = Vm::start(&trusting(&[&ca], json!({})), t, &mut shared);
    let (host, passed) = request(&later, &alice, t + 7200, &mut shared);
    assert!(!passed);
    assert!(host.logs(Level::Info).iter().any(|l| l.contains("expired")));
    // A VM with a CRL that revokes a certificate the first VM accepted.
    let carol = leaf(&ca, "carol", 0x77);
    assert!(request(&a, &carol, t, &mut shared).1);
    let crl = ca.crl(&[0x77], OffsetDateTime::now_utc() + Duration::days(7));
    let revoking = Vm::start(
        &trusting(&[&ca], json!({"validateRevocation": true, "crls": [crl]})),
        t,
        &mut shared,
    );
    let (host, passed) = request(&revoking, &carol, t, &mut shared);
    assert!(!passed);
    assert!(host.logs(Level::Info).iter().any(|l| l.contains("revoked")));
}

#[test]
fn a_forged_or_foreign_shared_value_is_ignored_and_a_tampered_signature_still_refused() {
    let ca = Ca::new("shared ca");
    let alice = ca.client("alice");
    let bob = ca.client("bob");
    let config = trusting(&[&ca], json!({}));
    // What the VMs of this configuration and of another one publish.
    let mut shared = Shared::default();
    let a = Vm::start(&config, now(), &mut shared);
    assert!(request(&a, &alice, now(), &mut shared).1);
    let key = keys(&shared).remove(0);
    let genuine = shared.0[&key].0.clone();
    let mut elsewhere = Shared::default();
    let other = Vm::start(
        &trusting(&[&ca], json!({"requireClientAuthEku": true})),
        now(),
        &mut elsewhere,
    );
    assert!(request(&other, &alice, now(), &mut elsewhere).1);
    let foreign = value(&elsewhere);
    assert_ne!(foreign, genuine);
    // Forged values: bytes that are not the encoding, the genuine value with a key appended or
    // a byte changed (the HMAC no longer matches), the other configuration's value copied
    // under this one's key, the first encoding (no HMAC).
    let mut appended = genuine.clone();
    appended.extend_from_slice(&[0xAB; 32]);
    let mut flipped = genuine.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let forgeries = [
        b"garbage".to_vec(),
        appended,
        flipped,
        foreign,
        [b"ccasig1\0".as_slice(), &[0xAB; 32]].concat(),
    ];
    for forged in forgeries {
        let mut shared = Shared::default();
        shared.0.insert(key.clone(), (forged.clone(), 1));
        let vm = Vm::start(&config, now(), &mut shared);
        let (host, passed) = request(&vm, &alice, now(), &mut shared);
        assert!(passed);
        assert_eq!(checked(&host), 1, "checked itself: {forged:?}");
        // The forged value is replaced by a well-formed one.
        assert_eq!(shared.0[&key].0.len(), 8 + 32 + 32);
    }
    // The genuine value is taken: bob's signature, verified by A, is not checked again.
    assert!(request(&a, &bob, now(), &mut shared).1);
    let b = Vm::start(&config, now(), &mut shared);
    let (host, passed) = request(&b, &bob, now(), &mut shared);
    assert!(passed && checked(&host) == 0);
    // A certificate whose signature was altered matches no shared key: refused.
    let mut der = alice.der.clone();
    let last = der.len() - 1;
    der[last] ^= 1;
    let tampered = Leaf {
        cert_pem: pem_of(&der),
        key_pem: String::new(),
        der,
    };
    let (host, passed) = request(&b, &tampered, now(), &mut shared);
    assert!(!passed, "{:?}", host.logs(Level::Debug));
}

#[test]
fn two_vms_writing_at_once_keep_both_signatures() {
    let ca = Ca::new("shared ca");
    let (alice, bob) = (ca.client("alice"), ca.client("bob"));
    let config = trusting(&[&ca], json!({}));
    let mut shared = Shared::default();
    let (a, b) = (
        Vm::start(&config, now(), &mut shared),
        Vm::start(&config, now(), &mut shared),
    );
    assert!(request(&a, &alice, now(), &mut shared).1);
    // B's write conflicts with another worker's once: it reads again and merges.
    let mut host = with_cert(request_at("/api", &[], now()), &bob);
    host.shared = std::mem::take(&mut shared.0);
    host.cas_conflicts = 1;
    let step = handle_request_headers(&mut host, Some(&b.state), &b.cache);
    assert!(matches!(step, Step::Done(Action::Continue)));
    assert_eq!(writes(&host), 2, "one refused, one landed");
    shared.0 = std::mem::take(&mut host.shared);
    assert_eq!(value(&shared).len(), 8 + 32 + 2 * 32);
}
