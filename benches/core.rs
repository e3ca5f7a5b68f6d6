//! Micro benchmarks of the core, natively (`cargo bench --bench core`, part of `make bench`):
//! the decision on a cache hit, the full judgement of RSA-2048, P-256 and Ed25519 leaves with the
//! trust check, path canonicalization and XFCC parsing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use testkit::pki;

use client_cert_auth::canonicalize;
use client_cert_auth::{Config, Outcome, Request, VerdictCache, decide};
use client_cert_auth::{envoy_url_encode, parse_single};
use divan::{Bencher, black_box};
use sha2::{Digest, Sha256};

fn main() {
    divan::main();
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn azure() -> Config {
    Config::from_json(
        br#"{"clientCertMode": "Required", "clientCertExclusionPaths": "/public;/healthz"}"#,
    )
    .unwrap()
}

/// A cache hit through the connection digest: what most requests cost in the module.
#[divan::bench]
fn decision_cache_hit_by_digest(bencher: Bencher) {
    let config = azure();
    let leaf = pki::Ca::new("bench").client("alice");
    let digest: String = Sha256::digest(&leaf.der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut cache = VerdictCache::new(16);
    let now = now();
    let first = Request {
        path: b"/api/orders?id=1",
        peer_certificate: Some(leaf.cert_pem.as_bytes()),
        now,
        ..Request::default()
    };
    decide(&config, &mut first.clone(), &mut cache);
    let hit = Request {
        path: b"/api/orders?id=1",
        peer_digest: Some(digest.as_bytes()),
        now,
        ..Request::default()
    };
    bencher.bench_local(|| decide(&config, &mut black_box(hit), &mut cache));
}

/// A cache hit with the certificate in hand (decoding the PEM and hashing the DER).
#[divan::bench]
fn decision_cache_hit_with_pem(bencher: Bencher) {
    let config = azure();
    let leaf = pki::Ca::new("bench").client("alice");
    let mut cache = VerdictCache::new(16);
    let request = Request {
        path: b"/api/orders?id=1",
        peer_certificate: Some(leaf.cert_pem.as_bytes()),
        now: now(),
        ..Request::default()
    };
    decide(&config, &mut request.clone(), &mut cache);
    bencher.bench_local(|| decide(&config, &mut black_box(request), &mut cache));
}

/// First sight: parse, chain check (signature verification) and identities, no cache.
fn bench_alg(alg: &str) -> pki::Alg {
    match alg {
        "rsa2048" => pki::Alg::Rsa2048,
        "p256" => pki::Alg::EcdsaP256,
        _ => pki::Alg::Ed25519,
    }
}

fn trust_config(root: &pki::Ca, intermediates: &[&pki::Ca]) -> Config {
    let json = serde_json::json!({"validation": {
        "validateTrust": true,
        "trustedCaCertificates": [root.cert_pem()],
        "intermediateCertificates": intermediates.iter().map(|c| c.cert_pem()).collect::<Vec<_>>(),
        "identities": [{"commonName": "alice"}, {"commonName": "bob"}]
    }});
    Config::from_json(json.to_string().as_bytes()).unwrap()
}

fn judge_once(config: &Config, leaf: &pki::Leaf) -> Outcome {
    let request = Request {
        peer_certificate: Some(leaf.cert_pem.as_bytes()),
        now: now(),
        ..Request::default()
    };
    decide(config, &mut black_box(request), &mut VerdictCache::new(0))
}

/// A leaf straight under the root, on a fresh configuration each time (nothing remembered).
#[divan::bench(args = ["rsa2048", "p256", "ed25519"])]
fn first_sight_with_trust(bencher: Bencher, alg: &str) {
    let alg = bench_alg(alg);
    let root = pki::Ca::root("bench root", alg);
    let leaf = root.client_with("alice", alg, |_| {});
    bencher
        .with_inputs(|| trust_config(&root, &[]))
        .bench_local_values(|config| judge_once(&config, &leaf));
}

/// A new leaf under an intermediate: `cold`, the intermediate not seen yet (two signatures);
/// `warm`, another leaf under it already judged (its signature remembered: one signature).
#[divan::bench(args = ["rsa2048/cold", "rsa2048/warm", "p256/cold", "p256/warm"])]
fn first_sight_under_intermediate(bencher: Bencher, case: &str) {
    let (alg, warm) = case.split_once('/').unwrap();
    let alg = bench_alg(alg);
    let root = pki::Ca::root("bench root", alg);
    let inter = root.intermediate("bench issuing", alg);
    let earlier = inter.client_with("bob", alg, |_| {});
    let leaf = inter.client_with("alice", alg, |_| {});
    let warm = warm == "warm";
    bencher
        .with_inputs(|| {
            let config = trust_config(&root, &[&inter]);
            if warm {
                judge_once(&config, &earlier);
            }
            config
        })
        .bench_local_values(|config| judge_once(&config, &leaf));
}

#[divan::bench(args = ["/api/orders/42?x=1", "/public/a/b/c/d/e/f.html", "/public/%2e%2e/admin"])]
fn path_canonicalization(path: &str) -> Option<String> {
    canonicalize(black_box(path.as_bytes()))
}

#[divan::bench]
fn xfcc_parsing(bencher: Bencher) {
    let leaf = pki::Ca::new("bench").client("alice");
    let cert = envoy_url_encode(&leaf.cert_pem);
    let value = format!(
        "By=spiffe://cluster.local/ns/a/sa/b;Hash={};Cert=\"{cert}\";Subject=\"CN=alice,O=demo\";URI=;DNS=a.example",
        "ab".repeat(32)
    );
    bencher.bench_local(|| parse_single(black_box(value.as_bytes())));
}
