//! `make soak`: a long mixed workload through the real Envoy, checking every decision.
//!
//! Valid, expired, missing, spoofed and excluded requests, and many distinct certificates (more
//! than the verdict cache holds, so it churns), from several client threads. Reports requests,
//! wrong decisions (must be 0), 5xx from the filter (must be 0), and the module's memory
//! (`client_cert_auth.memory_bytes`) once the cache is full and at the end (must stay flat).
//! Usage: cargo run --release --example soak -- [REQUESTS] (default 3000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::envoy::{Call, ClientCert, Envoy, EnvoyOptions, Pki, curl};
use time::{Duration, OffsetDateTime};

const CACHE_SIZE: usize = 50;
const DISTINCT: usize = 150;
const THREADS: usize = 4;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Valid(usize),
    Expired,
    Missing,
    Spoofed,
    Excluded,
}

fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    let pki = Pki::new();
    let now = OffsetDateTime::now_utc();
    eprintln!("generating {DISTINCT} client certificates...");
    let valid: Vec<ClientCert> = (0..DISTINCT)
        .map(|i| pki.save(&format!("c{i}"), &pki.ca.client(&format!("client-{i}"))))
        .collect();
    let expired = pki.save(
        "expired",
        &pki.ca
            .client_between("old", now - Duration::days(9), now - Duration::days(1)),
    );
    let config = format!(
        r#"{{"clientCertMode": "Required", "clientCertExclusionPaths": "/public",
            "cacheSize": {CACHE_SIZE},
            "validation": {{"validateTrust": true, "trustedCaCertificates": [{ca}]}}}}"#,
        ca = serde_json::to_string(&pki.ca.cert_pem()).unwrap()
    );
    let envoy = Envoy::start(
        &pki,
        EnvoyOptions {
            plugin_config: Some(config),
            ..EnvoyOptions::default()
        },
    );
    let next = AtomicUsize::new(0);
    let wrong = AtomicUsize::new(0);
    let server_errors = AtomicUsize::new(0);
    let memory_when_full = Mutex::new(None::<u64>);
    let started = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= total {
                        break;
                    }
                    let kind = match n % 10 {
                        0 => Kind::Expired,
                        1 => Kind::Missing,
                        2 => Kind::Spoofed,
                        3 => Kind::Excluded,
                        _ => Kind::Valid(n % DISTINCT),
                    };
                    let call = match kind {
                        Kind::Valid(i) => Call::new("/app").cert(&valid[i]),
                        Kind::Expired => Call::new("/app").cert(&expired),
                        Kind::Missing => Call::new("/app"),
                        Kind::Spoofed => Call::new("/public/x").header("X-ARR-ClientCert: spoofed"),
                        Kind::Excluded => Call::new("/public/y"),
                    };
                    let r = curl(&envoy, &pki, &call);
                    if r.status >= 500 {
                        server_errors.fetch_add(1, Ordering::SeqCst);
                    }
                    let right = match kind {
                        Kind::Valid(i) => {
                            r.status == 200
                                && r.upstream_header("x-arr-clientcert")
                                    == vec![STANDARD.encode(&valid[i].der)]
                        }
                        Kind::Expired | Kind::Missing => r.status == 401,
                        Kind::Spoofed | Kind::Excluded => {
                            r.status == 200 && r.upstream_header("x-arr-clientcert").is_empty()
                        }
                    };
                    if !right {
                        wrong.fetch_add(1, Ordering::SeqCst);
                        eprintln!(
                            "WRONG {kind:?}: {} {}",
                            r.status,
                            r.body.lines().next().unwrap_or("")
                        );
                    }
                    if n == total / 4 {
                        *memory_when_full.lock().unwrap() = Some(envoy.gauge("memory_bytes"));
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    // The filter's stats reach Envoy from a one-second timer.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let memory_end = envoy.gauge("memory_bytes");
    let memory_full = memory_when_full.lock().unwrap().unwrap_or(0);
    let wrong = wrong.load(Ordering::SeqCst);
    let server_errors = server_errors.load(Ordering::SeqCst);
    println!(
        "soak: {total} requests in {:.1} s ({THREADS} clients)",
        elapsed.as_secs_f64()
    );
    println!(
        "  distinct certificates: {} (cache holds {CACHE_SIZE})",
        DISTINCT + 1
    );
    println!("  wrong decisions: {wrong}");
    println!("  5xx: {server_errors}");
    println!(
        "  cache: {} hits, {} misses, {} entries at the end",
        envoy.counter("client_cert_auth.cache_hits"),
        envoy.counter("client_cert_auth.cache_misses"),
        envoy.gauge("cache_entries")
    );
    println!(
        "  module memory: {memory_full} bytes after a quarter of the run, {memory_end} at the end"
    );
    let flat = memory_end <= memory_full;
    if wrong > 0 || server_errors > 0 || !flat {
        eprintln!("soak FAILED (wrong decisions, 5xx, or memory grew after the cache was full)");
        std::process::exit(1);
    }
}
