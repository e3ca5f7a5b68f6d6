//! Exclusion matching: segment boundaries, case, query and fragment, and every bypass class.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use client_cert_auth::{ExclusionPaths, PathEntryError, canonicalize};

fn exclusions(entries: &[&str]) -> ExclusionPaths {
    let mut set = ExclusionPaths::default();
    for entry in entries {
        set.add(entry).unwrap();
    }
    set
}

#[test]
fn excluded_paths_match_whole_segments_case_insensitively() {
    let set = exclusions(&["/public", "/Api/Health/"]);
    let excluded = [
        "/public",
        "/public/",
        "/public/a/b.html",
        "/PUBLIC",
        "/Public/X",
        "/public?x=1",
        "/public?x=/../admin",
        "/public#frag",
        "/public/a?b#c",
        "/api/health",
        "/API/HEALTH/live",
        // Escapes after the excluded prefix: both readings (decoded, as written) are under it.
        "/public/%41dmin",
        "/public/a%20b",
        "/public/a.b/c",
        "/public/.well-known",
        // Found by the path fuzzer (its oracle was wrong): dots inside a segment are plain.
        "/public/publi..D",
        "/public/a..b",
        "/public/%2c%20x",
    ];
    for path in excluded {
        assert!(set.matches(path.as_bytes()), "{path} should be excluded");
    }
    let enforced = [
        "/",
        "",
        "/publicity",
        "/publi",
        "/pub",
        "/api",
        "/api/healthz",
        "/x/public",
        "public",
        "*",
        "https://host/public",
        "?/public",
    ];
    for path in enforced {
        assert!(!set.matches(path.as_bytes()), "{path} should be enforced");
    }
}

/// Every class from the reference's attack list: none may be excluded.
#[test]
fn ambiguous_paths_are_never_excluded() {
    let set = exclusions(&["/public"]);
    let attacks = [
        // dot segments, plain and encoded, with and without parameters
        "/public/../admin",
        "/public/./x",
        "/public/.",
        "/public/..",
        "/public/%2e%2e/admin",
        "/public/%2E%2E/admin",
        "/public/.%2e/admin",
        "/public/%2e./admin",
        "/public/%2e/x",
        "/public/..;/admin",
        "/public/..;x=1/admin",
        "/public;/../admin",
        "/public;x=1/x",
        "/public/%2e%2e%3b/admin",
        // encoded slashes and backslashes
        "/public%2f..%2fadmin",
        "/public%2F..%2Fadmin",
        "/public/..%2fadmin",
        "/public%2fx",
        "/public\\..\\admin",
        "/public\\x",
        "/public%5c..%5cadmin",
        "/public%5Cx",
        // escapes of ordinary characters: decoded, the path is under /public; as written (a
        // router or server that does not decode), it is not
        "/%70ublic",
        "/%70ublic/x",
        "/pub%6Cic/x",
        "/%50UBLIC/x",
        // double encoding
        "/public/%252e%252e/admin",
        "/public/%25",
        // overlong UTF-8 and other non-ASCII
        "/public/%c0%ae%c0%ae/admin",
        "/public/%c0%af",
        "/public/\u{00e9}",
        // repeated slashes
        "//public",
        "//public/x",
        "/public//x",
        // control characters and spaces, raw and encoded (an encoded space is plain)
        "/public/a b",
        "/public /x",
        "/public%00/x",
        "/public/%0a",
        "/public/\t",
        // malformed escapes
        "/public/%",
        "/public/%g0",
        "/public/%2",
        // encoded query or fragment delimiters
        "/public%3fx",
        "/public%23x",
        // spellings servers fold together: trailing dots and spaces (Windows), NTFS alternate
        // streams, 8.3 short names
        "/public./x",
        "/public%2e/x",
        "/public/x.",
        "/public/a.b/...",
        "/public/a..",
        "/public%20/x",
        "/public/x%20",
        "/public::$DATA/x",
        "/public/x::$DATA",
        "/public/x:$i30:$INDEX_ALLOCATION",
        "/public/x%3a%3a%24DATA",
        "/PUBLIC~1/x",
        "/public/ADMINI~1",
    ];
    for path in attacks {
        assert!(
            !set.matches(path.as_bytes()),
            "{path:?} must not be excluded"
        );
    }
    // Raw bytes that are not UTF-8 at all.
    assert!(!set.matches(b"/public/\xc0\xae\xc0\xae/admin"));
    assert!(!set.matches(b"/public/\xff"));
}

#[test]
fn folded_spellings_are_refused_as_entries_and_plain_look_alikes_stay_plain() {
    for entry in ["/public.", "/public%20", "/a::$DATA", "/ADMINI~1"] {
        assert_eq!(
            ExclusionPaths::default().add(entry),
            Err(PathEntryError::Ambiguous),
            "{entry}"
        );
    }
    // Dots, colons and tildes inside a segment are fine where no server folds them.
    let set = exclusions(&["/public"]);
    for path in [
        "/public/v1.2/x",
        "/public/a.b",
        "/public/items:batchGet",
        "/public/~user",
        "/public/a~b",
    ] {
        assert!(set.matches(path.as_bytes()), "{path}");
    }
}

#[test]
fn root_exclusion_covers_every_plain_path_but_not_ambiguous_ones() {
    let set = exclusions(&["/"]);
    for path in ["/", "/a", "/a/b?c"] {
        assert!(set.matches(path.as_bytes()), "{path}");
    }
    for path in ["/a/../b", "*", "//x"] {
        assert!(!set.matches(path.as_bytes()), "{path}");
    }
}

#[test]
fn no_exclusions_match_nothing() {
    let set = ExclusionPaths::default();
    assert!(!set.matches(b"/"));
    assert!(!set.matches(b"/public"));
}

#[test]
fn canonical_form_is_lower_case_and_decoded() {
    for (raw, expected) in [
        ("/A/B", Some("/a/b")),
        ("/a%2Db", Some("/a-b")),
        ("/a/", Some("/a/")),
        ("/a?q", Some("/a")),
        ("/a%2e", None),
        ("/a%2eb", Some("/a.b")),
        ("/a/%2e", None),
        ("/a//b", None),
        ("", None),
    ] {
        assert_eq!(canonicalize(raw.as_bytes()).as_deref(), expected, "{raw}");
    }
}
