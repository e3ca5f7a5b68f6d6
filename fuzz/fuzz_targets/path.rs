//! Path canonicalization: never panics, is idempotent, and never excludes a path that holds a
//! dot segment, a backslash, a `;` or an encoded separator.
#![no_main]

use client_cert_auth::{ExclusionPaths, canonicalize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(canonical) = canonicalize(data) {
        assert!(canonical.starts_with('/'));
        assert!(canonical.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
        assert!(!canonical.bytes().any(|b| b.is_ascii_uppercase()));
        assert!(!canonical.contains("//") && !canonical.contains('\\') && !canonical.contains(';'));
        for segment in canonical.split('/') {
            assert!(segment != "." && segment != "..", "{canonical:?}");
        }
        // Idempotent, unless decoding produced a new escape (`%2541` -> `%41`), which the
        // second round refuses or decodes further: never to a different plain path.
        // (A decoded space is plain in a canonical path, but a raw space in a request is not.)
        if !canonical.contains(['%', ' ']) {
            assert_eq!(canonicalize(canonical.as_bytes()).as_deref(), Some(canonical.as_str()));
        }
    }
    let mut root = ExclusionPaths::default();
    if root.add("/public").is_ok() && root.matches(data) {
        let raw = String::from_utf8_lossy(data).to_ascii_lowercase();
        let path = raw.split(['?', '#']).next().unwrap_or_default();
        let dots = path.replace("%2e", ".");
        assert!(
            !dots.split('/').any(|seg| seg == "." || seg == ".."),
            "excluded a path with a dot segment: {raw:?}"
        );
        assert!(!path.contains("%2f") && !path.contains("%5c") && !path.contains('\\'), "{raw:?}");
        assert!(!path.contains(';'), "{raw:?}");
    }
});
