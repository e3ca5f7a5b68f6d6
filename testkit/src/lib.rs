//! The helpers every test, example and benchmark of client-cert-auth shares (a dev-only crate,
//! never published): test certificates ([`pki`]), the real Envoy and curl ([`envoy`]), case
//! tables for the Envoy suites ([`cases`]), the native core ([`core`]), front-proxy encodings
//! ([`front`]), the servers behind online revocation ([`online`]) and the soak workload
//! ([`soak`]).

pub mod cases;
pub mod core;
pub mod envoy;
pub mod front;
pub mod online;
pub mod pki;
pub mod soak;
