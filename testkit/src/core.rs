//! Helpers for the native tests of the core: configurations from JSON, and requests decided
//! with plain data.

use client_cert_auth::{Config, Outcome, Request, VerdictCache, decide};
use time::OffsetDateTime;

/// A configuration that must compile.
pub fn config(v: serde_json::Value) -> Config {
    Config::from_json(v.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

/// The current time, Unix seconds.
pub fn now() -> i64 {
    crate::pki::unix(OffsetDateTime::now_utc())
}

/// Decides one request with a fresh cache.
pub fn decide_fresh(config: &Config, mut request: Request<'_>) -> Outcome {
    decide(config, &mut request, &mut VerdictCache::new(8))
}

/// Decides a request for `path` with this certificate (PEM) from the connection, at `now`.
pub fn run_at(config: &Config, path: &str, pem: Option<&str>, now: i64) -> Outcome {
    decide_fresh(
        config,
        Request {
            path: path.as_bytes(),
            peer_certificate: pem.map(str::as_bytes),
            now,
            ..Request::default()
        },
    )
}

/// Lower-case hex, as Envoy writes digests.
pub fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Upper-case hex, as the informational headers write serials and thumbprints.
pub fn hex_upper(bytes: &[u8]) -> String {
    hex_lower(bytes).to_ascii_uppercase()
}

/// The reason a decision denies for, if it denies.
pub fn denied_for(decision: &client_cert_auth::Decision) -> Option<client_cert_auth::Reason> {
    match decision {
        client_cert_auth::Decision::Deny(reason) => Some(reason.reason()),
        _ => None,
    }
}

/// A request's headers decided at once: the action. A request that waits for an OCSP answer
/// fails the test (use `glue::handle_request_headers` and its `Step::Wait` for those).
pub fn on_request_headers(
    host: &mut impl client_cert_auth::glue::Host,
    state: Option<&client_cert_auth::glue::State>,
    cache: &std::cell::RefCell<VerdictCache>,
) -> client_cert_auth::glue::Action {
    match client_cert_auth::glue::handle_request_headers(host, state, cache) {
        client_cert_auth::glue::Step::Done(action) => action,
        client_cert_auth::glue::Step::Wait(waiting) => {
            panic!(
                "the request waits for an OCSP answer (call {})",
                waiting.token()
            )
        }
    }
}

/// nginx's `$ssl_client_escaped_cert` of a PEM: `ngx_escape_uri(.., NGX_ESCAPE_URI_COMPONENT)`,
/// which keeps only letters, digits and `-._~` (so base64's `+`, `/` and `=` are escaped too).
pub fn nginx_escaped(pem: &str) -> String {
    pem.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
