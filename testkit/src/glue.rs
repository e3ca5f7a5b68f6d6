//! The glue over the recording fake host (`client_cert_auth::glue::fake`), for the native
//! tests: requests as Envoy presents them ([`request`], [`with_cert`]), a configured filter
//! ([`Filter`]), and for online revocation the VMs of one Envoy ([`Vm`]) sharing its data
//! ([`Shared`]): their timers, CRL fetches answered, and requests that wait for an OCSP answer.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use client_cert_auth::VerdictCache;
use client_cert_auth::envoy_url_encode;
use client_cert_auth::{
    glue::Action, glue::HttpResponse, glue::Level, glue::State, glue::Step, glue::configure,
    glue::handle_request_headers, glue::on_tick, glue::revocation::on_fetch_response,
    glue::revocation::on_ocsp_response,
};
use client_cert_auth::{glue::fake::Call, glue::fake::FakeHost};
use client_cert_auth::{glue::revocation::Fetches, glue::revocation::Waiting};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::cases::ARR;
use crate::core::{hex_lower, now, on_request_headers};
use crate::pki::{Ca, Leaf};

/// The connection properties Envoy shows for a client certificate.
pub const CERT: &str = "connection.peer_certificate";
pub const DIGEST: &str = "connection.sha256_peer_certificate_digest";
pub const MTLS: &str = "connection.mtls";

/// A request as Envoy presents it at `t`: the pseudo-headers (GET `path` on api.example.com)
/// and `extra` headers.
pub fn request_at(path: &str, extra: &[(&str, &str)], t: i64) -> FakeHost {
    let mut headers: Vec<(&str, &[u8])> = vec![
        (":method", b"GET"),
        (":path", path.as_bytes()),
        (":authority", b"api.example.com"),
    ];
    headers.extend(extra.iter().map(|(n, v)| (*n, v.as_bytes())));
    FakeHost::request(&headers, t)
}

/// [`request_at`] now.
pub fn request(path: &str, extra: &[(&str, &str)]) -> FakeHost {
    request_at(path, extra, now())
}

/// The connection properties Envoy shows for a client certificate.
pub fn with_cert(host: FakeHost, leaf: &Leaf) -> FakeHost {
    host.with_property(CERT, envoy_url_encode(&leaf.cert_pem).as_bytes())
        .with_property(DIGEST, hex_lower(&Sha256::digest(&leaf.der)).as_bytes())
        .with_property(MTLS, &[1])
}

/// A connection without a client certificate.
pub fn without_cert(host: FakeHost) -> FakeHost {
    host.with_property(MTLS, &[0])
}

/// Whether `host` logged a line containing `text` at `level`.
pub fn logged(host: &FakeHost, level: Level, text: &str) -> bool {
    host.logs(level).iter().any(|l| l.contains(text))
}

/// The lines `host` logged at `level` that contain `text`.
pub fn log_lines<'h>(host: &'h FakeHost, level: Level, text: &str) -> Vec<&'h str> {
    host.logs(level)
        .into_iter()
        .filter(|l| l.contains(text))
        .collect()
}

/// Asserts `host` logged a line containing `text` at `level`, showing its lines if not.
pub fn assert_logged(host: &FakeHost, level: Level, text: &str) {
    assert!(
        logged(host, level, text),
        "no {text:?} at {level:?} in {:?}",
        host.logs(level)
    );
}

/// Asserts a call the host dispatched carried each of these headers.
pub fn assert_sent(headers: &[(String, String)], expected: &[(&str, &str)]) {
    for (name, value) in expected {
        assert!(
            headers.contains(&(name.to_string(), value.to_string())),
            "no {name}: {value} in {headers:?}"
        );
    }
}

/// A configured filter: the state every stream shares, and the VM's verdict cache.
pub struct Filter {
    pub state: State,
    pub cache: RefCell<VerdictCache>,
    /// The host that configured it: it defined the stats.
    pub configured: FakeHost,
}

impl Filter {
    pub fn new(config: Value) -> Filter {
        let mut host = FakeHost::default();
        let state = configure(&mut host, config.to_string().as_bytes())
            .unwrap_or_else(|| panic!("refused: {:?}", host.logs(Level::Error)));
        let cache = RefCell::new(VerdictCache::new(state.config.cache_size));
        Filter {
            state,
            cache,
            configured: host,
        }
    }

    /// Runs one request through the glue, then the stats timer (counts reach the stats from
    /// it), on the same host.
    pub fn run(&self, host: &mut FakeHost) -> Action {
        let action = self.request(host);
        self.tick(host);
        action
    }

    /// Runs one request through the glue, and nothing else.
    pub fn request(&self, host: &mut FakeHost) -> Action {
        *host = std::mem::take(host).with_stats_of(&self.configured);
        on_request_headers(host, Some(&self.state), &self.cache)
    }

    /// The root context's timer.
    pub fn tick(&self, host: &mut FakeHost) {
        on_tick(host, &self.state, &self.cache);
    }
}

// ---------------------------------------------------------------------------------------------
// Online revocation: VMs of one Envoy, sharing data.

/// The shared data of one Envoy, carried from VM to VM as Envoy shares it between workers.
#[derive(Default)]
pub struct Shared(pub BTreeMap<String, (Vec<u8>, u32)>);

/// One VM: its configured state, verdict cache and fetches, and its host (the root context's).
pub struct Vm {
    pub state: State,
    pub cache: RefCell<VerdictCache>,
    pub fetches: Fetches,
    pub host: FakeHost,
}

/// What a request came to: the status (200 forwarded), whether it waited for an OCSP answer,
/// and what its context logged.
pub struct Decided {
    pub status: u32,
    pub asked: bool,
    pub logs: Vec<String>,
}

impl Decided {
    pub fn logged(&self, text: &str) -> bool {
        self.logs.iter().any(|l| l.contains(text))
    }

    /// Asserts a refusal (401) whose log says `reason=<reason>` and each of `details`; `what`
    /// names the case in the failure.
    pub fn assert_refused(&self, reason: &str, details: &[&str], what: &str) {
        assert_eq!(self.status, 401, "{what}: {:?}", self.logs);
        for text in [&format!("reason={reason}")[..]].iter().chain(details) {
            assert!(self.logged(text), "{what}: no {text:?} in {:?}", self.logs);
        }
    }
}

impl Vm {
    /// Configures a VM at `at` (Unix seconds) with the shared data `shared`, as Envoy's
    /// on_configure does (configure, then the first look at shared data); the errors it logged
    /// when it refuses the configuration.
    pub fn try_start(config: &Value, at: i64, shared: &mut Shared) -> Result<Vm, Vec<String>> {
        let mut host = FakeHost::request(&[], at);
        host.shared = std::mem::take(&mut shared.0);
        let Some(state) = configure(&mut host, config.to_string().as_bytes()) else {
            return Err(host
                .logs(Level::Error)
                .iter()
                .map(|s| s.to_string())
                .collect());
        };
        let cache = RefCell::new(VerdictCache::new(state.config.cache_size));
        let mut fetches = Fetches::default();
        fetches.start(&mut host, &state, &cache);
        shared.0 = std::mem::take(&mut host.shared);
        Ok(Vm {
            state,
            cache,
            fetches,
            host,
        })
    }

    /// [`Vm::try_start`] with a configuration that must be accepted.
    pub fn start(config: &Value, at: i64, shared: &mut Shared) -> Vm {
        Vm::try_start(config, at, shared).unwrap_or_else(|errors| panic!("{errors:?}"))
    }

    /// The first VM of an Envoy, started at `t`, whose first fetch (at its first tick, at `t`)
    /// is answered with `crl`; and the Envoy's shared data.
    pub fn fetched(config: &Value, t: i64, crl: impl AsRef<[u8]>) -> (Vm, Shared) {
        let mut shared = Shared::default();
        let mut vm = Vm::start(config, t, &mut shared);
        assert!(
            vm.tick_and_answer(t, &mut shared, crl),
            "the first tick fetches"
        );
        (vm, shared)
    }

    /// The clock at `t`, and the Envoy's shared data handed to this VM's host.
    pub fn at(&mut self, t: i64, shared: &mut Shared) {
        self.host.now = UNIX_EPOCH + Duration::from_secs(t as u64);
        self.host.shared = std::mem::take(&mut shared.0);
    }

    /// The shared data handed back to the Envoy.
    pub fn done(&mut self, shared: &mut Shared) {
        shared.0 = std::mem::take(&mut self.host.shared);
    }

    /// The root context's timer at `t`.
    pub fn tick(&mut self, t: i64, shared: &mut Shared) {
        self.at(t, shared);
        on_tick(&mut self.host, &self.state, &self.cache);
        self.fetches.tick(&mut self.host, &self.state, &self.cache);
        self.done(shared);
    }

    /// The answer to the fetch with this call token, at `t`.
    pub fn respond(&mut self, token: u32, t: i64, shared: &mut Shared, response: &HttpResponse) {
        self.at(t, shared);
        on_fetch_response(
            &mut self.host,
            &self.state,
            &self.cache,
            &mut self.fetches,
            token,
            response,
        );
        self.done(shared);
    }

    /// The answer to the last fetch this VM dispatched.
    pub fn answer_fetch(&mut self, t: i64, shared: &mut Shared, response: HttpResponse) {
        let token = self.host.dispatched.last().expect("a fetch was sent").0;
        self.respond(token, t, shared, &response);
    }

    /// The answer to the last fetch of the source whose path ends with `path`.
    pub fn answer_fetch_of(
        &mut self,
        path: &str,
        t: i64,
        shared: &mut Shared,
        response: HttpResponse,
    ) {
        let (token, ..) = self
            .host
            .dispatched
            .iter()
            .rev()
            .find(|(_, _, headers, _)| {
                headers
                    .iter()
                    .any(|(n, v)| n == ":path" && v.ends_with(path))
            })
            .cloned()
            .expect("a fetch of that source");
        self.respond(token, t, shared, &response);
    }

    /// Ticks at `t`; answers at once every CRL fetch this VM sent, with what `serve` gives for
    /// the fetch's path. Whether it fetched.
    pub fn tick_and_serve(
        &mut self,
        t: i64,
        shared: &mut Shared,
        serve: impl Fn(&str) -> HttpResponse,
    ) -> bool {
        let before = self.host.dispatched.len();
        self.tick(t, shared);
        let sent: Vec<_> = self.host.dispatched[before..].to_vec();
        for (token, _, headers, _) in &sent {
            let path = headers
                .iter()
                .find(|(name, _)| name == ":path")
                .map(|(_, value)| value.clone())
                .unwrap_or_default();
            self.respond(*token, t, shared, &serve(&path));
        }
        !sent.is_empty()
    }

    /// Ticks at `t`, answering any fetch with `response`. Whether it fetched.
    pub fn tick_and_respond(
        &mut self,
        t: i64,
        shared: &mut Shared,
        response: &HttpResponse,
    ) -> bool {
        self.tick_and_serve(t, shared, |_| response.clone())
    }

    /// Ticks at `t`, answering any fetch with 200 and `body`. Whether it fetched.
    pub fn tick_and_answer(&mut self, t: i64, shared: &mut Shared, body: impl AsRef<[u8]>) -> bool {
        self.tick_and_respond(t, shared, &ok(body.as_ref()))
    }

    /// The CRL fetches this VM sent (to the cluster `crl_test`).
    pub fn fetches_sent(&self) -> usize {
        self.host
            .calls
            .iter()
            .filter(|c| matches!(c, Call::Dispatch(cluster, ..) if cluster == "crl_test"))
            .count()
    }

    /// Whether this VM's root context logged a warning containing `text`.
    pub fn warned(&self, text: &str) -> bool {
        logged(&self.host, Level::Warn, text)
    }

    /// A metric of this VM (flushed at its ticks), 0 when it has none.
    pub fn metric(&self, name: &str) -> u64 {
        self.host
            .metrics
            .get(&format!("client_cert_auth.{name}"))
            .copied()
            .unwrap_or(0)
    }

    /// A request for `path` with `leaf` from the connection at `t`, on the stream of this
    /// context id: its host and first step.
    pub fn request_in(&self, path: &str, leaf: &Leaf, t: i64, context: u32) -> (FakeHost, Step) {
        let mut host = with_cert(request_at(path, &[], t), leaf);
        host.context = context;
        let step = handle_request_headers(&mut host, Some(&self.state), &self.cache);
        (host, step)
    }

    /// [`Vm::request_in`] on context 1.
    pub fn request_to(&self, path: &str, leaf: &Leaf, t: i64) -> (FakeHost, Step) {
        self.request_in(path, leaf, t, 1)
    }

    /// [`Vm::request_to`] `/api`.
    pub fn request(&self, leaf: &Leaf, t: i64) -> (FakeHost, Step) {
        self.request_to("/api", leaf, t)
    }

    /// The status a request for `/api` with `leaf` gets at `t`: 200 when it goes on forwarded
    /// (the certificate header is set), a reply's status, or 0 when it waits for OCSP.
    pub fn status(&self, leaf: &Leaf, t: i64) -> u32 {
        match self.request(leaf, t) {
            (host, Step::Done(action)) => status_of(&host, action),
            (_, Step::Wait(_)) => 0,
        }
    }

    /// A request that waits: its host and what it waits for.
    pub fn waiting(&self, leaf: &Leaf, t: i64) -> (FakeHost, Waiting) {
        self.waiting_in(leaf, t, 1)
    }

    /// [`Vm::waiting`] on the stream of this context id.
    pub fn waiting_in(&self, leaf: &Leaf, t: i64, context: u32) -> (FakeHost, Waiting) {
        match self.request_in("/api", leaf, t, context) {
            (host, Step::Wait(waiting)) => (host, waiting),
            (_, step) => panic!("the request should wait for OCSP: {step:?}"),
        }
    }

    /// Gives a waiting request its answer; 200 when it goes on forwarded, else the reply's
    /// status.
    pub fn answer(&self, mut host: FakeHost, waiting: Waiting, response: &HttpResponse) -> u32 {
        let action = on_ocsp_response(&mut host, &self.state, &self.cache, waiting, response);
        status_of(&host, action)
    }

    /// A request with `leaf` at `t`. If it waits for OCSP, the responder answers with what
    /// `responder` makes of the question (the request's host, whose last dispatch is it).
    pub fn decide_with(
        &self,
        leaf: &Leaf,
        t: i64,
        responder: impl FnOnce(&FakeHost) -> HttpResponse,
    ) -> Decided {
        self.decide_in(leaf, t, &mut Shared::default(), responder)
    }

    /// [`Vm::decide_with`] with the Envoy's shared data, which the request's context reads and
    /// writes as any context of the VM does.
    pub fn decide_in(
        &self,
        leaf: &Leaf,
        t: i64,
        shared: &mut Shared,
        responder: impl FnOnce(&FakeHost) -> HttpResponse,
    ) -> Decided {
        let mut host = with_cert(request_at("/api", &[], t), leaf);
        host.shared = std::mem::take(&mut shared.0);
        let (action, asked) =
            match handle_request_headers(&mut host, Some(&self.state), &self.cache) {
                Step::Done(action) => (action, false),
                Step::Wait(waiting) => {
                    let response = responder(&host);
                    let action =
                        on_ocsp_response(&mut host, &self.state, &self.cache, waiting, &response);
                    (action, true)
                }
            };
        let status = status_of(&host, action);
        shared.0 = std::mem::take(&mut host.shared);
        Decided {
            status,
            asked,
            logs: host
                .logs(Level::Info)
                .iter()
                .map(|l| l.to_string())
                .collect(),
        }
    }

    /// A request that must not wait for OCSP (no OCSP configured, or decided without asking).
    pub fn decide(&self, leaf: &Leaf, t: i64) -> Decided {
        self.decide_with(leaf, t, |_| panic!("the request waited for OCSP"))
    }
}

/// 200 when the request goes on forwarded (asserted: the certificate header is set), else the
/// status of the reply it was given.
fn status_of(host: &FakeHost, action: Action) -> u32 {
    match action {
        Action::Continue => {
            assert!(!host.header(ARR).is_empty(), "forwarded");
            200
        }
        Action::Pause => host.reply.as_ref().expect("a reply").status,
    }
}

/// An answer with this status and body.
pub fn http(status: u16, body: impl Into<Vec<u8>>) -> HttpResponse {
    HttpResponse {
        status: Some(status),
        body: body.into(),
    }
}

/// 200 with this body.
pub fn ok(body: impl Into<Vec<u8>>) -> HttpResponse {
    http(200, body)
}

/// 500 with an empty body.
pub fn http_500() -> HttpResponse {
    http(500, Vec::new())
}

/// No answer at all (a timeout, a reset).
pub fn timeout() -> HttpResponse {
    HttpResponse {
        status: None,
        body: Vec::new(),
    }
}

/// A CRL source at `url` through the cluster `crl_test`, refreshed every minute.
pub fn crl_source(url: &str) -> Value {
    json!({"url": url, "cluster": "crl_test", "refreshSeconds": 60})
}

/// Trusts `cas` and checks revocation, with these run-time `sources` (`revocationSources`);
/// the fields of `extra` (`revocationFailure`, pasted `crls`...) are added to `validation`.
pub fn revocation_config(cas: &[&Ca], sources: Value, extra: Value) -> Value {
    let mut validation = json!({
        "trustedCaCertificates": cas.iter().map(|c| c.cert_pem()).collect::<Vec<_>>(),
        "validateRevocation": true,
        "revocationSources": sources
    });
    if let Value::Object(fields) = extra {
        for (name, value) in fields {
            validation[name] = value;
        }
    }
    json!({ "validation": validation })
}

/// The OCSP responder of these tests (cluster `ocsp_test`), its answers kept `cache_seconds`.
pub fn ocsp_source(cache_seconds: u32) -> Value {
    json!({"cluster": "ocsp_test", "url": "http://ocsp.test/q", "cacheSeconds": cache_seconds})
}

/// Trusts `ca`, asks its OCSP responder ([`ocsp_source`]) and keeps answers `cache_seconds`,
/// with 30 s of clock skew and `revocationFailure` as given.
pub fn ocsp_config(ca: &Ca, failure: &str, cache_seconds: u32) -> Value {
    revocation_config(
        &[ca],
        json!({ "ocsp": ocsp_source(cache_seconds) }),
        json!({"clockSkewSeconds": 30, "revocationFailure": failure}),
    )
}

/// The CA "ocsp ca" and a VM (of an Envoy of its own) asking its responder ([`ocsp_config`]),
/// started now; and now.
pub fn ocsp_vm(failure: &str, cache_seconds: u32) -> (Ca, Vm, i64) {
    let ca = Ca::new("ocsp ca");
    let t = now();
    let vm = Vm::start(
        &ocsp_config(&ca, failure, cache_seconds),
        t,
        &mut Shared::default(),
    );
    (ca, vm, t)
}
