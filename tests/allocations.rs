//! What a cache hit allocates, counted by a global allocator that counts per thread: the
//! per-request path must not allocate beyond what the host hands over (each allocation is a
//! call into the module's allocator on every request).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};

use client_cert_auth::glue::configure;
use client_cert_auth::glue::fake::FakeHost;
use client_cert_auth::{Config, Decision, Request, VerdictCache, decide};
use sha2::{Digest, Sha256};
use testkit::core::{hex_lower, now, on_request_headers};
use testkit::pki::Ca;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed on to the system allocator unchanged; only a thread-local
// counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (out, ALLOCATIONS.with(Cell::get) - before)
}

#[test]
fn a_cache_hit_allocates_only_the_digest_the_host_hands_over_with_paths_and_identities() {
    let leaf = Ca::new("alloc CA").client("alice");
    let digest = hex_lower(&Sha256::digest(&leaf.der));
    let configs = [
        r#"{"clientCertExclusionPaths": "/public;/healthz"}"#,
        r#"{"clientCertExclusionPaths": "/public", "validation": {"identities": [{"commonName": "alice"}]}}"#,
        r#"{"rules": [{"pathPrefix": "/api", "mode": "Required"}, {"pathPrefix": "/", "mode": "Optional"}]}"#,
    ];
    for json in configs {
        let config = Config::from_json(json.as_bytes()).unwrap();
        let mut cache = VerdictCache::new(16);
        let request = || Request {
            path: b"/api/orders/42?x=1",
            authority: b"api.example.com",
            peer_certificate: Some(leaf.cert_pem.as_bytes()),
            peer_digest: Some(digest.as_bytes()),
            now: now(),
            ..Request::default()
        };
        decide(&config, &mut request(), &mut cache);
        let mut hit = request();
        let (outcome, count) = allocations(|| decide(&config, &mut hit, &mut cache));
        assert!(
            matches!(outcome.decision, Decision::Forward { .. }),
            "{json}: {outcome:?}"
        );
        // The digest property, copied out of the request as the host's would be.
        assert_eq!(count, 1, "{json}");
    }
}

#[test]
fn a_cache_hit_through_the_glue_allocates_the_host_buffers_and_nothing_per_header() {
    let leaf = Ca::new("alloc CA").client("alice");
    let digest = hex_lower(&Sha256::digest(&leaf.der));
    let mut configured = FakeHost::default();
    let state = configure(
        &mut configured,
        br#"{"clientCertExclusionPaths": "/public;/healthz"}"#,
    )
    .unwrap();
    let cache = RefCell::new(VerdictCache::new(16));
    let count_for = |extra_headers: usize| {
        let mut headers: Vec<(String, Vec<u8>)> = vec![
            (":method".into(), b"GET".to_vec()),
            (":path".into(), b"/api".to_vec()),
            (":authority".into(), b"api.example.com".to_vec()),
        ];
        for i in 0..extra_headers {
            headers.push((format!("x-extra-{i}"), b"value".to_vec()));
        }
        let borrowed: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        let mut host = FakeHost::request(&borrowed, now())
            .with_property(
                "connection.sha256_peer_certificate_digest",
                digest.as_bytes(),
            )
            .with_property("connection.peer_certificate", leaf.cert_pem.as_bytes());
        on_request_headers(&mut host, Some(&state), &cache);
        let (_, count) = allocations(|| on_request_headers(&mut host, Some(&state), &cache));
        count
    };
    // The fake host's own bookkeeping allocates too; what matters is that the glue's count
    // does not grow with the number of headers (the map is read in place).
    count_for(1); // the first request of the VM also sets up what later ones reuse
    let counts: Vec<usize> = (1..24).map(count_for).collect();
    assert!(counts.iter().all(|&c| c == counts[0]), "{counts:?}");
}
