//! The wasm module's stack size. Rust's wasm32 default is 1 MiB of linear memory per VM, and
//! every Envoy worker runs a VM; the module's deepest paths (configuration parsing, path
//! building, an 8192-bit RSA signature) need far less. The stack sits first in linear memory
//! (wasm-ld's layout for Rust), so an overflow runs below address 0 and traps: the VM fails
//! closed, it never overwrites data. `tests/tools/repo.rs` guards the module's initial memory;
//! the end-to-end suite passes with a quarter of this stack (BENCHMARKS.md, "Memory").
const STACK_BYTES: u32 = 256 * 1024;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        let stack = std::env::var("CLIENT_CERT_AUTH_STACK_BYTES")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(STACK_BYTES);
        println!("cargo::rerun-if-env-changed=CLIENT_CERT_AUTH_STACK_BYTES");
        println!("cargo::rustc-link-arg-cdylib=-zstack-size={stack}");
    }
}
