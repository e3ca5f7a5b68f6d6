//! Certificate decoding (PEM, percent escapes, DER, extensions) never panics, a decoded
//! certificate's forwarded value is base64 of exactly its DER, and the crate's certificate
//! reader (`src/cert/x509.rs`) agrees with x509-parser, which the module used before: it never
//! accepts a certificate x509-parser refused, never reads other facts from one both accept,
//! and may only refuse (stricter) what x509-parser accepted (`tests/native/x509_oracle.rs`).
#![no_main]

use client_cert_auth::{LeafCertificate, pem_to_der};
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/native/x509_oracle.rs"]
mod x509_oracle;

fuzz_target!(|data: &[u8]| {
    if let Ok(leaf) = LeafCertificate::from_property(data) {
        let header = leaf.arr_header_value();
        assert!(header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='));
    }
    // Raw DER too, the shape a fuzzer explores best, against x509-parser.
    if let Err(disagreement) = x509_oracle::compare(data) {
        panic!("the reader and x509-parser disagree: {disagreement}");
    }
    let _ = pem_to_der(data, "X509 CRL");
});
