//! The XFCC parser never panics; an accepted element has unique keys.
#![no_main]

use client_cert_auth::parse_single;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(element) = parse_single(data) {
        for key in ["by", "hash", "cert", "chain", "subject", "uri", "dns"] {
            let _ = element.get(key);
        }
    }
});
