//! What a fleet pays (issue 22): every Envoy worker runs its own VM of the module; the
//! signatures one worker verified are not verified again by the others.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use serde_json::json;
use testkit::envoy::{Call, Envoy, EnvoyOptions, Pki, curl};

/// The first-sight lines of the log: (worker thread, microseconds, signatures checked).
fn first_sights(log: &str) -> Vec<(String, u64, u64)> {
    log.lines()
        .filter(|l| l.contains("verdict cache miss: certificate judged in"))
        .map(|l| {
            let thread = l.split("][").nth(1).unwrap_or_default().to_string();
            let after = |marker: &str| -> u64 {
                let rest =
                    &l[l.find(marker).unwrap_or_else(|| panic!("{marker}: {l}")) + marker.len()..];
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("no number after {marker}: {l}"))
            };
            let checked = l
                .rsplit(", ")
                .next()
                .and_then(|t| t.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no signature count: {l}"));
            (thread, after("judged in "), checked)
        })
        .collect()
}

/// At `--concurrency 4`, connections spread over the workers: the certificate is judged
/// afresh once per worker (each has its own verdict cache), but its signature is checked by
/// the first worker only.
#[test]
fn at_four_workers_a_new_certificate_has_its_signature_checked_once() {
    let pki = Pki::new();
    let leaf = pki.ca.client("fleet client");
    let alice = pki.save("alice", &leaf);
    let config = json!({ "validation": { "trustedCaCertificates": [pki.ca.cert_pem()] } });
    let envoy = Envoy::start(
        &pki,
        EnvoyOptions {
            plugin_config: Some(config.to_string()),
            concurrency: Some(4),
            ..EnvoyOptions::default()
        },
    );
    // One connection per request (one curl each): the kernel spreads them over the workers.
    for _ in 0..24 {
        let response = curl(&envoy, &pki, &Call::new("/hello").cert(&alice));
        assert_eq!(response.status, 200, "{}", response.body);
    }
    let sights = first_sights(&envoy.log());
    let workers: BTreeMap<&str, (u64, u64)> = sights
        .iter()
        .map(|(t, us, n)| (t.as_str(), (*us, *n)))
        .collect();
    println!("first sight per worker (us, signatures checked): {workers:?}");
    assert!(
        workers.len() >= 2,
        "24 connections reached one worker only: {sights:?}"
    );
    let checked: u64 = sights.iter().map(|(_, _, n)| n).sum();
    assert_eq!(
        checked, 1,
        "one signature check in all, by the first worker: {sights:?}"
    );
}
