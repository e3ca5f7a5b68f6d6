//! The whole decision, for fuzzed paths, methods, hosts, certificates and XFCC values under a
//! configuration with exclusions, rules, XFCC and every forwarding format: never panics, and
//! never lets a certificate-less request through a path that a Required rule covers.
#![no_main]

use client_cert_auth::VerdictCache;
use client_cert_auth::Config;
use client_cert_auth::{Decision, Request, decide};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static CONFIG: Config = {
        let json = br#"{
            "clientCertMode": "Optional",
            "clientCertExclusionPaths": "/public;/healthz",
            "certificateSource": "auto",
            "rules": [
                {"pathPrefix": "/admin", "mode": "Required"},
                {"hosts": ["*.example.com"], "methods": ["POST"], "mode": "Required"},
                {"pathExact": "/open", "mode": "Ignore"}
            ],
            "forward": {"rfc9440": true, "infoHeaders": true}
        }"#;
        match Config::from_json(json) {
            Ok(c) => c,
            Err(e) => panic!("fuzz configuration: {e}"),
        }
    };
}

fuzz_target!(|data: &[u8]| {
    // Split the input into fields on 0xff bytes.
    let mut fields = data.split(|&b| b == 0xff);
    let path = fields.next().unwrap_or_default();
    let method = fields.next().unwrap_or_default();
    let authority = fields.next().unwrap_or_default();
    let cert = fields.next();
    let xfcc = fields.next();
    let mtls = fields.next().map(|f| f.first() == Some(&1));
    let mut cache = VerdictCache::new(4);
    let decision = CONFIG.with(|config| decide(
        config,
        &mut Request {
            path,
            method,
            authority,
            peer_certificate: cert,
            xfcc,
            mtls,
            peer_digest: None,
            route: None,
            method_override: None,
            now: 1_900_000_000,
            chain: &[],
            headers: &[],
            source_address: None,
        },
        &mut cache,
    ).decision);
    if cert.is_none() && xfcc.is_none() && matches!(decision, Decision::Pass(_)) {
        // A certificate-less pass must not be for anything under /admin.
        let text = String::from_utf8_lossy(path).to_ascii_lowercase();
        let p = text.split(['?', '#']).next().unwrap_or_default();
        assert!(!(p == "/admin" || p.starts_with("/admin/")), "passed {text:?} without a certificate");
    }
});
