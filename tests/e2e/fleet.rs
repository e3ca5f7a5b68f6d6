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

fn leb(bytes: &[u8], pos: &mut usize) -> u64 {
    let (mut value, mut shift) = (0u64, 0);
    loop {
        let byte = bytes[*pos];
        *pos += 1;
        value |= u64::from(byte & 0x7F) << shift;
        shift += 7;
        if byte < 0x80 {
            return value;
        }
    }
}

/// The module's sections, in file order: (id, contents).
fn sections(wasm: &[u8]) -> Vec<(u8, &[u8])> {
    assert_eq!(&wasm[..4], b"\0asm", "not a wasm module");
    let (mut pos, mut out) = (8, Vec::new());
    while pos < wasm.len() {
        let id = wasm[pos];
        pos += 1;
        let size = leb(wasm, &mut pos) as usize;
        out.push((id, &wasm[pos..pos + size]));
        pos += size;
    }
    out
}

/// The module's initial linear memory and its stack, read from the file: the memory section's
/// initial pages, and the initial value of the first global (`__stack_pointer`, which wasm-ld
/// sets to the top of the stack it places first).
fn initial_memory_and_stack(wasm: &[u8]) -> (u64, u64) {
    let (mut memory, mut stack) = (None, None);
    for (id, body) in sections(wasm) {
        let mut p = 0;
        match id {
            5 => {
                let _count = leb(body, &mut p);
                let _flags = leb(body, &mut p);
                memory = Some(leb(body, &mut p) * 65536);
            }
            6 if stack.is_none() => {
                let _count = leb(body, &mut p);
                assert_eq!(body[p + 2], 0x41, "the first global starts at an i32.const");
                p += 3;
                // A positive value below 2^31 is its LEB128 encoding as signed.
                stack = Some(leb(body, &mut p));
            }
            _ => {}
        }
    }
    (
        memory.expect("a memory section"),
        stack.expect("a global section"),
    )
}

/// Every worker holds the module and its linear memory: the module's size stays under the
/// Makefile's ceiling (`MAX_WASM_BYTES`, lowered as the module shrinks), and the linear
/// memory it starts with under 6 pages, of which the stack (build.rs) is 256 KiB, not Rust's
/// default of 1 MiB.
#[test]
fn the_module_stays_within_its_size_and_initial_memory_ceilings() {
    let path = testkit::envoy::wasm_module();
    let wasm = std::fs::read(&path).unwrap();
    let makefile = std::fs::read_to_string(testkit::envoy::repo().join("Makefile")).unwrap();
    let ceiling: usize = makefile
        .lines()
        .find_map(|l| l.strip_prefix("MAX_WASM_BYTES ?= "))
        .and_then(|v| v.trim().parse().ok())
        .expect("MAX_WASM_BYTES in the Makefile");
    assert!(
        wasm.len() <= ceiling,
        "{}: {} bytes, over the ceiling of {ceiling}",
        path.display(),
        wasm.len()
    );
    let (initial, stack) = initial_memory_and_stack(&wasm);
    assert!(stack <= 256 * 1024, "stack of {stack} bytes: see build.rs");
    assert!(
        initial <= 6 * 65536,
        "initial linear memory {initial} bytes (stack {stack}), over 6 pages"
    );
}

/// The module Envoy loads carries no custom sections: no function names, no DWARF, no
/// producers. V8 never compiles them, but they are not free: the same code with its names and
/// the standard library's debug information (the release profile without `strip`, 3.5 MB)
/// cost 7.2 MiB per VM above the no-op module against 2.9 (docs/performance.md).
#[test]
fn the_module_carries_no_custom_sections() {
    let path = testkit::envoy::wasm_module();
    let wasm = std::fs::read(&path).unwrap();
    let all = sections(&wasm);
    assert!(
        all.iter()
            .any(|(id, body)| *id == 10 && body.len() > 100_000),
        "no code section of the filter's size in {}",
        path.display()
    );
    let custom: Vec<String> = all
        .iter()
        .filter(|(id, _)| *id == 0)
        .map(|(_, body)| {
            let mut p = 0;
            let len = leb(body, &mut p) as usize;
            let name = String::from_utf8_lossy(&body[p..p + len]);
            format!("{name} ({} bytes)", body.len())
        })
        .collect();
    assert!(
        custom.is_empty(),
        "{} carries custom sections {custom:?}: keep `strip = true` in Cargo.toml's release \
         profile",
        path.display()
    );
}
