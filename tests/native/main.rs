//! The native tests: the library and its glue over the recording fake host, in this process,
//! without Envoy, the wasm module or any other program (`make check` runs them). One test
//! binary for the whole folder, so the library is linked once; a file here is a module, run
//! alone with `cargo test --test native <file>::` (e.g. `cargo test --test native glue::`).
//!
//! The shared helpers (certificates, configurations, requests) are the `testkit` crate
//! (`testkit/`). Tests that drive the real Envoy are in `tests/e2e/`, those of the command-line
//! tool and the repository's files in `tests/tools/`.

mod cert;
mod config;
mod crl_store;
mod crypto;
mod decision;
mod dn;
mod forward;
mod front;
mod glue;
mod ocsp;
mod path;
mod revocation_attacks;
mod revocation_glue;
mod revocation_holes;
mod rollout;
mod rules;
mod shared_signatures;
mod validation;
mod x509_diff;
mod x509_oracle;
mod xfcc;
