//! The short version of `make soak`: the same workload (testkit/src/soak.rs) at 30,000
//! requests, still through more valid certificates than the verdict cache holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use testkit::soak::{Options, run};

#[test]
fn soak_short() {
    let report = run(&Options::new(30_000));
    report.print();
    let failures = report.failures();
    assert!(failures.is_empty(), "soak failed: {}", failures.join("; "));
}

/// The checker behind Envoy is only worth what it refuses: each way a wrong decision can reach
/// the upstream is answered 418.
#[test]
fn the_upstream_checker_refuses_every_wrong_arrival() {
    use std::collections::HashMap;

    use testkit::soak::judge;

    let valid: HashMap<String, String> = [
        ("aa".to_string(), "CERT-A".to_string()),
        ("bb".to_string(), "CERT-B".to_string()),
    ]
    .into();
    let arr = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let peer = |p: &str| vec![p.to_string()];
    // Right: the connection's valid certificate forwarded, or nothing on an excluded path.
    assert_eq!(
        judge("/app/1", &arr(&["CERT-A"]), &peer("aa"), &valid),
        Ok(())
    );
    assert_eq!(
        judge("/public/1", &arr(&["CERT-B"]), &peer("bb"), &valid),
        Ok(())
    );
    assert_eq!(judge("/public/1", &[], &peer(""), &valid), Ok(()));
    assert_eq!(judge("/public", &[], &peer("cc"), &valid), Ok(()));
    // Wrong.
    for (path, forwarded, connection) in [
        ("/app/1", vec![], "aa"),                   // protected, nothing forwarded
        ("/app/1", vec![], ""),                     // protected, no certificate at all
        ("/publicity", vec![], ""),                 // not under /public
        ("/app/1", vec!["forged"], "aa"),           // a client's forgery
        ("/public/1", vec!["forged"], ""),          // a forgery on an excluded path
        ("/app/1", vec!["CERT-B"], "aa"),           // another connection's certificate
        ("/app/1", vec!["CERT-A"], ""),             // a certificate on a connection without one
        ("/app/1", vec!["CERT-C"], "cc"),           // an invalid certificate forwarded
        ("/public/1", vec!["CERT-C"], "cc"),        // ... on an excluded path
        ("/app/1", vec!["CERT-A", "CERT-A"], "aa"), // twice
    ] {
        assert!(
            judge(path, &arr(&forwarded), &peer(connection), &valid).is_err(),
            "{path} {forwarded:?} {connection}"
        );
    }
    // Envoy's digest missing or doubled: the checker's own source is broken.
    assert!(judge("/app/1", &arr(&["CERT-A"]), &[], &valid).is_err());
    assert!(
        judge(
            "/app/1",
            &arr(&["CERT-A"]),
            &[peer("aa"), peer("aa")].concat(),
            &valid
        )
        .is_err()
    );
}
