//! `make soak`: a million mixed requests through the real Envoy, every decision checked.
//!
//! The workload is in `testkit/src/soak.rs` (shared with the short run of `make test`): oha
//! streams with valid certificates (more distinct ones than the verdict cache holds, so it
//! churns), expired, untrusted and missing ones, forged headers and excluded paths, against an
//! upstream that compares what it received with the connection's real certificate as Envoy
//! saw it. Fails on any wrong decision, any 5xx, any client error, or module memory
//! (`client_cert_auth.memory_bytes`) growing after the cache was first full.
//! Usage: cargo run --release --example soak -- [REQUESTS (default 1000000)] [PER_STREAM]
//! (needs the built module, Envoy and oha: `make soak` provides them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use testkit::soak::{Options, run};

fn main() {
    let mut args = std::env::args().skip(1);
    let requests = args
        .next()
        .map(|n| n.parse().expect("REQUESTS is a number"))
        .unwrap_or(1_000_000);
    let mut options = Options::new(requests);
    if let Some(stream) = args.next() {
        options.stream = stream.parse().expect("PER_STREAM is a number");
    }
    options.progress = true;
    eprintln!(
        "soak: {requests} requests, {} per oha stream, {} streams at once...",
        options.stream, options.lanes
    );
    let report = run(&options);
    report.print();
    let failures = report.failures();
    if !failures.is_empty() {
        eprintln!("soak FAILED: {}", failures.join("; "));
        std::process::exit(1);
    }
    println!("soak passed");
}
