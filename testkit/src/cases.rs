//! Case tables for the suites that go through the real Envoy (`e2e.rs`, `adversarial.rs` of
//! `tests/e2e/`): a [`Case`] is one request and the [`Check`]s its response must pass; [`run`]
//! sends every case of a table, over the protocol given, and fails once with every failed case
//! labelled by the table, the protocol and the case. Also the forged headers those suites send, and the
//! encodings their expectations are written in.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use time::{Duration, OffsetDateTime};

use crate::envoy::{Call, ClientCert, Envoy, EnvoyOptions, Http, Pki, Response, curl};
use crate::pki::Ca;

/// The App Service header, as the upstream receives it.
pub const ARR: &str = "x-arr-clientcert";
/// The body of the default local reply for a missing certificate.
pub const REQUIRED: &str = "client certificate required";
/// The body of the default local reply for an invalid certificate.
pub const INVALID: &str = "client certificate invalid";

/// Standard base64 of DER, as `X-ARR-ClientCert` and `Client-Cert` carry it.
pub fn b64(der: &[u8]) -> String {
    STANDARD.encode(der)
}

/// Lower-case hex SHA-256, as the log lines carry a certificate's digest.
pub fn sha256_hex(der: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `X-ARR-ClientCert` forged in four letter cases.
pub const ARR_FORGERIES: [&str; 4] = [
    "X-ARR-ClientCert: forged",
    "x-arr-clientcert: forged-lower",
    "X-Arr-Clientcert: forged-mixed",
    "X-ARR-CLIENTCERT: forged-upper",
];

/// The call with every [`ARR_FORGERIES`] header added.
pub fn with_arr_forgeries(mut call: Call<'_>) -> Call<'_> {
    for forged in ARR_FORGERIES {
        call = call.header(forged);
    }
    call
}

/// Every header the filter can set, in one spelling each.
pub const FILTER_HEADERS: [&str; 7] = [
    "X-ARR-ClientCert",
    "Client-Cert",
    "Client-Cert-Chain",
    "X-Client-Cert-Subject",
    "X-Client-Cert-Verify",
    "X-Client-Cert-Sha256",
    "X-Client-Cert-Not-After",
];

/// The call with each of [`FILTER_HEADERS`] forged four times: as spelled, lower case, upper
/// case, and with `_` for `-` (CGI-style upstreams read `X_ARR_ClientCert` as
/// `X-ARR-ClientCert`). Every value starts with `forged`, for [`Check::NoForgedValue`].
pub fn with_filter_header_forgeries(mut call: Call<'_>) -> Call<'_> {
    for (i, name) in FILTER_HEADERS.iter().enumerate() {
        call = call.header(&format!("{name}: forged-{i}"));
        call = call.header(&format!("{}: forged-lower-{i}", name.to_ascii_lowercase()));
        call = call.header(&format!("{}: forged-upper-{i}", name.to_ascii_uppercase()));
        call = call.header(&format!(
            "{}: forged-underscore-{i}",
            name.replace('-', "_")
        ));
    }
    call
}

/// One thing a response must show. A case's checks run in order and stop at the first that
/// fails (a wrong status makes the rest meaningless).
#[derive(Clone, Debug)]
pub enum Check {
    /// The response status.
    Status(u16),
    /// The response status is one of these.
    StatusIn(&'static [u16]),
    /// The local reply's body, trimmed, is exactly this.
    Body(&'static str),
    /// The local reply's body is this JSON value.
    JsonBody(serde_json::Value),
    /// The body is not the echo upstream's answer: the request did not reach it.
    NotUpstream,
    /// The reply's `Location` header is exactly this.
    Location(&'static str),
    /// The upstream received exactly these values of the header, in order (none: absent).
    Header(&'static str, Vec<String>),
    /// The upstream received this path.
    Path(&'static str),
    /// No header value the upstream received starts with `forged`.
    NoForgedValue,
    /// The upstream received one `X-Client-Cert-Verify`: `NONE` or `FAILED:*`.
    VerifyNoneOrFailed,
    /// Only when the upstream answered (status 200): these checks.
    IfServed(Vec<Check>),
}

impl Check {
    fn verify(&self, r: &Response) -> Result<(), String> {
        match self {
            Check::Status(status) => expect(r.status == *status, || {
                format!("status {}, expected {status}", r.status)
            }),
            Check::StatusIn(statuses) => expect(statuses.contains(&r.status), || {
                format!("status {}, expected one of {statuses:?}", r.status)
            }),
            Check::Location(location) => expect(r.location == *location, || {
                format!("location {:?}, expected {location:?}", r.location)
            }),
            Check::Body(body) => expect(r.body.trim() == *body, || {
                format!("reply body {:?}, expected {body:?}", r.body.trim())
            }),
            Check::JsonBody(expected) => {
                let body: serde_json::Value = serde_json::from_str(&r.body)
                    .map_err(|e| format!("reply body is not JSON ({e})"))?;
                expect(body == *expected, || {
                    format!("reply body {body}, expected {expected}")
                })
            }
            Check::NotUpstream => expect(!r.body.contains("\"headers\""), || {
                "reached the upstream".to_string()
            }),
            Check::Header(name, expected) => {
                let seen = r.try_upstream_header(name)?;
                expect(seen == *expected, || {
                    format!("upstream saw {name}: {seen:?}, expected {expected:?}")
                })
            }
            Check::Path(path) => {
                let seen = r.try_upstream_path()?;
                expect(seen == *path, || {
                    format!("upstream saw path {seen:?}, expected {path:?} as sent")
                })
            }
            Check::NoForgedValue => {
                let forged: Vec<_> = r
                    .try_upstream_headers()?
                    .into_iter()
                    .filter(|(_, v)| v.starts_with("forged"))
                    .collect();
                expect(forged.is_empty(), || {
                    format!("forged headers arrived: {forged:?}")
                })
            }
            Check::VerifyNoneOrFailed => {
                let verify = r.try_upstream_header("x-client-cert-verify")?;
                expect(
                    verify == ["NONE"] || (verify.len() == 1 && verify[0].starts_with("FAILED:")),
                    || format!("x-client-cert-verify {verify:?}, expected NONE or FAILED:*"),
                )
            }
            Check::IfServed(checks) => {
                if r.status == 200 {
                    checks.iter().try_for_each(|c| c.verify(r))
                } else {
                    Ok(())
                }
            }
        }
    }
}

fn expect(ok: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(why()) }
}

/// Reached the upstream (200), which saw exactly this `X-ARR-ClientCert`, or none.
pub fn forwarded(cert: Option<&ClientCert>) -> Vec<Check> {
    vec![Check::Status(200), arr(cert)]
}

/// The upstream saw exactly this `X-ARR-ClientCert`, or none.
pub fn arr(cert: Option<&ClientCert>) -> Check {
    Check::Header(ARR, cert.map(|c| b64(&c.der)).into_iter().collect())
}

/// Answered locally with this status and body.
pub fn denied(status: u16, body: &'static str) -> Vec<Check> {
    vec![Check::Status(status), Check::Body(body)]
}

/// One request and what its response must show.
pub struct Case<'a> {
    pub what: String,
    pub call: Call<'a>,
    pub checks: Vec<Check>,
}

impl<'a> Case<'a> {
    pub fn new(what: impl Into<String>, call: Call<'a>, checks: Vec<Check>) -> Case<'a> {
        Case {
            what: what.into(),
            call,
            checks,
        }
    }

    /// One more check, after the others.
    pub fn and(mut self, check: Check) -> Case<'a> {
        self.checks.push(check);
        self
    }

    /// Why the response fails this case, if it does.
    pub fn failure(&self, r: &Response) -> Option<String> {
        self.checks.iter().find_map(|c| c.verify(r).err())
    }
}

/// HTTP/1.1 and HTTP/2: the tables run over both.
pub const PROTOCOLS: [Http; 2] = [Http::V1, Http::V2];

/// [`run`] over each of [`PROTOCOLS`] in turn.
pub fn run_both(envoy: &Envoy, pki: &Pki, label: &str, cases: &[Case<'_>]) {
    for http in PROTOCOLS {
        run(envoy, pki, http, label, cases);
    }
}

/// What the suites that run with Envoy's path normalization on and off call each run.
pub fn normalization_label(no_path_normalization: bool) -> String {
    format!(
        "normalization {}",
        if no_path_normalization { "off" } else { "on" }
    )
}

/// Envoy with `envoy.yaml`'s plugin configuration replaced by `json`.
pub fn plugin_options(json: impl Into<String>) -> EnvoyOptions {
    EnvoyOptions {
        plugin_config: Some(json.into()),
        ..EnvoyOptions::default()
    }
}

/// The client identities of the behaviour suites, issued by the test CA unless said.
pub struct Clients {
    pub valid: ClientCert,
    pub expired: ClientCert,
    pub not_yet_valid: ClientCert,
    /// Valid dates, issued by a CA Envoy does not trust: App Service forwards it all the same.
    pub other_ca: ClientCert,
}

/// A certificate of the test CA ("old") valid for `days` until yesterday, saved as `expired`.
pub fn expired(pki: &Pki, days: i64) -> ClientCert {
    let now = OffsetDateTime::now_utc();
    pki.save(
        "expired",
        &pki.ca
            .client_between("old", now - Duration::days(days), now - Duration::days(1)),
    )
}

/// [`Clients`], saved in the test's folder: alice (valid), one expired yesterday after a
/// month, one valid from tomorrow, and mallory of another CA.
pub fn clients(pki: &Pki) -> Clients {
    let now = OffsetDateTime::now_utc();
    let other = Ca::new("some other CA");
    Clients {
        valid: pki.save("valid", &pki.ca.client("alice")),
        expired: expired(pki, 30),
        not_yet_valid: pki.save(
            "notyet",
            &pki.ca
                .client_between("early", now + Duration::days(1), now + Duration::days(30)),
        ),
        other_ca: pki.save("other", &other.client("mallory")),
    }
}

/// Sends every case in order over `http` and checks its response; panics once, naming every
/// case that failed (`label`, the protocol, the case and what was wrong).
#[track_caller]
pub fn run(envoy: &Envoy, pki: &Pki, http: Http, label: &str, cases: &[Case<'_>]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let r = curl(envoy, pki, &case.call.clone().http(http));
            let why = case.failure(&r)?;
            Some(format!(
                "  {label} over {http:?}: {}: {why}\n    response: {}",
                case.what,
                shorten(&format!("{r:?}"))
            ))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Envoy's log contains every needle; panics naming each `(what, needle)` that is missing.
#[track_caller]
pub fn assert_log(log: &str, label: &str, expected: &[(&str, String)]) {
    let missing: Vec<String> = expected
        .iter()
        .filter(|(_, needle)| !log.contains(needle.as_str()))
        .map(|(what, needle)| format!("  {label}: {what}: no {needle:?}"))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} log lines missing:\n{}",
        missing.len(),
        expected.len(),
        missing.join("\n")
    );
}

/// The filter's counters are on Envoy's /stats page with these values (by the end of their
/// names); panics naming each one that differs.
#[track_caller]
pub fn assert_counters(envoy: &Envoy, label: &str, expected: &[(&str, u64)]) {
    // The filter hands its counts to Envoy from a timer, once a second: wait for the flush
    // that covers the requests sent (a few periods at most), then compare.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline
        && expected
            .iter()
            .any(|&(name, value)| envoy.counter(name) != value)
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let stats = envoy.stats("client_cert_auth");
    assert!(
        !stats.is_empty(),
        "{label}: no client_cert_auth counters on /stats"
    );
    let wrong: Vec<String> = expected
        .iter()
        .filter_map(|&(name, value)| {
            let seen = envoy.counter(name);
            (seen != value).then(|| format!("  {label}: {name} is {seen}, expected {value}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} counters wrong:\n{}\nall: {stats:?}",
        wrong.len(),
        expected.len(),
        wrong.join("\n")
    );
}

fn shorten(text: &str) -> String {
    const MAX: usize = 2000;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}… ({} bytes in all)", &text[..at], text.len()),
        None => text.to_string(),
    }
}
