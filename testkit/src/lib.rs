//! The helpers every test, example and benchmark of client-cert-auth shares (a dev-only crate,
//! never published): test certificates ([`pki`]), the native core ([`core`]), the glue over
//! the recording fake host ([`glue`]), DER and OCSP answers by hand ([`der`], [`ocsp`]),
//! front-proxy encodings ([`front`]), the real Envoy and curl ([`envoy`]), case tables for the
//! Envoy suites ([`cases`]), the servers behind online revocation ([`online`]), the real OpenSSL
//! ([`openssl`]) and the soak workload ([`soak`]).

pub mod cases;
pub mod core;
pub mod der;
pub mod envoy;
pub mod front;
pub mod glue;
pub mod ocsp;
pub mod online;
pub mod openssl;
pub mod pki;
pub mod soak;
