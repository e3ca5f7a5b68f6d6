//! The configuration parser never panics; whatever it accepts satisfies its invariants.
#![no_main]

use client_cert_auth::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = Config::from_json(data) {
        // Every accepted exclusion entry is canonical: it survives another round unchanged.
        for entry in config.exclusions.entries() {
            let mut again = client_cert_auth::ExclusionPaths::default();
            assert!(again.add(entry).is_ok(), "accepted entry {entry:?} does not re-parse");
            assert_eq!(again.entries().next(), Some(entry));
        }
        assert!(config.cache_size <= client_cert_auth::MAX_CACHE_SIZE);
    }
});
