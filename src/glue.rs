//! The proxy-wasm glue: the only module that talks to the host. It gathers the inputs of a
//! request through fallible host calls, asks [`decide_detailed`], applies the [`Decision`],
//! and keeps Envoy's stats and log.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use log::{debug, error, info, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType};

use crate::cache::VerdictCache;
use crate::config::Config;
use crate::decision::{
    CacheUse, Decision, DenyReason, Outcome, Request, decide_detailed, decide_if_cached,
};
use crate::responses::REASONS;

const XFCC: &str = "x-forwarded-client-cert";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    // Replaces the SDK's hook, which unwraps the result of its own log call.
    std::panic::set_hook(Box::new(|info| {
        let _ = hostcalls::log(LogLevel::Critical, &format!("client-cert-auth panicked: {info}"));
    }));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root {
            state: None,
            cache: Rc::new(RefCell::new(VerdictCache::new(0))),
        })
    });
}}

/// Counter ids in Envoy's stats (names in the README). `None` where the host refused one.
#[derive(Debug, Default)]
struct Metrics {
    passed: Option<u32>,
    forwarded: Option<u32>,
    excluded: Option<u32>,
    cache_hits: Option<u32>,
    cache_misses: Option<u32>,
    /// Gauges, updated when a certificate is judged afresh (not on every request).
    cache_entries: Option<u32>,
    memory_bytes: Option<u32>,
    /// Indexed like [`REASONS`] minus the `invalid` class, then `host_failure`.
    denied: Vec<(&'static str, Option<u32>)>,
}

impl Metrics {
    fn define() -> Metrics {
        let counter = |name: &str| {
            hostcalls::define_metric(MetricType::Counter, &format!("client_cert_auth.{name}")).ok()
        };
        let mut denied: Vec<(&'static str, Option<u32>)> = REASONS
            .iter()
            .filter(|(key, _)| *key != "invalid")
            .map(|(_, name)| (*name, counter(&format!("denied.{name}"))))
            .collect();
        denied.push(("host_failure", counter("denied.host_failure")));
        let gauge = |name: &str| {
            hostcalls::define_metric(MetricType::Gauge, &format!("client_cert_auth.{name}")).ok()
        };
        Metrics {
            cache_entries: gauge("cache_entries"),
            memory_bytes: gauge("memory_bytes"),
            passed: counter("passed"),
            forwarded: counter("forwarded"),
            excluded: counter("excluded"),
            cache_hits: counter("cache_hits"),
            cache_misses: counter("cache_misses"),
            denied,
        }
    }

    fn bump(id: Option<u32>) {
        if let Some(id) = id {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }

    fn record(&self, outcome: &Outcome) {
        match &outcome.decision {
            Decision::Pass(_) => Metrics::bump(self.passed),
            Decision::Forward { .. } => Metrics::bump(self.forwarded),
            Decision::Deny(reason) => self.record_denied(reason),
        }
        if outcome.excluded {
            Metrics::bump(self.excluded);
        }
        match outcome.cache {
            CacheUse::Hit => Metrics::bump(self.cache_hits),
            CacheUse::Miss => Metrics::bump(self.cache_misses),
            CacheUse::NotConsulted => {}
        }
    }

    /// The cache size and the module's linear memory (which only grows): flat once the cache
    /// is full, if nothing leaks.
    fn record_memory(&self, cache_entries: usize) {
        let pages = core::arch::wasm32::memory_size(0);
        let set = |id: Option<u32>, value: usize| {
            if let Some(id) = id {
                let _ = hostcalls::record_metric(id, u64::try_from(value).unwrap_or(u64::MAX));
            }
        };
        set(self.cache_entries, cache_entries);
        set(self.memory_bytes, pages.saturating_mul(65_536));
    }

    fn record_denied(&self, reason: &DenyReason) {
        let name = reason.name();
        if let Some((_, id)) = self.denied.iter().find(|(n, _)| *n == name) {
            Metrics::bump(*id);
        }
    }
}

/// What a successful configuration gives every stream.
struct State {
    config: Config,
    metrics: Metrics,
}

struct Root {
    state: Option<Rc<State>>,
    /// Verdicts by certificate, shared by every stream of this VM; a new configuration starts
    /// a new cache.
    cache: Rc<RefCell<VerdictCache>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        self.state = None;
        // Follow the host's log level, so debug lines cost nothing unless asked for.
        if let Ok(level) = hostcalls::get_log_level() {
            proxy_wasm::set_log_level(level);
        }
        let bytes = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(status) => {
                error!("client-cert-auth: cannot read the plugin configuration: {status:?}");
                return false;
            }
        };
        match Config::from_json(&bytes) {
            Ok(config) => {
                let exclusions: Vec<&str> = config.exclusions.entries().collect();
                info!(
                    "client-cert-auth: configured, mode {}, exclusion paths {:?}, {} rule(s), certificate source {:?}",
                    config.mode.name(),
                    exclusions,
                    config.rules.len(),
                    config.source
                );
                self.cache = Rc::new(RefCell::new(VerdictCache::new(config.cache_size)));
                self.state = Some(Rc::new(State {
                    config,
                    metrics: Metrics::define(),
                }));
                true
            }
            Err(e) => {
                error!("client-cert-auth: invalid plugin configuration: {e}");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter {
            state: self.state.clone(),
            cache: Rc::clone(&self.cache),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Filter {
    /// `None` only if the host creates a stream without a successful configuration; every
    /// request is then denied.
    state: Option<Rc<State>>,
    cache: Rc<RefCell<VerdictCache>>,
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(state) = self.state.clone() else {
            return deny_unconfigured();
        };
        let config = &state.config;
        // Always first, in every mode and on every path: the upstream must only ever see the
        // values this filter sets. One call reads the header names; only names the filter can
        // set are then removed (the host removes every copy, whatever its letter case).
        let headers = match strip_client_headers(config) {
            Ok(headers) => headers,
            Err(_) => {
                return deny(
                    &state,
                    &DenyReason::HostFailure("removing client-sent headers"),
                    None,
                );
            }
        };
        let Ok(mut cache) = self.cache.try_borrow_mut() else {
            return deny(
                &state,
                &DenyReason::HostFailure("the verdict cache (busy)"),
                None,
            );
        };
        let (outcome, path) = match gather_and_decide(config, &headers, &mut cache) {
            Ok(result) => result,
            Err(reason) => return deny(&state, &reason, None),
        };
        if outcome.cache == CacheUse::Miss {
            state.metrics.record_memory(cache.len());
        }
        drop(cache);
        if config.strip_xfcc
            && hostcalls::set_map_value(MapType::HttpRequestHeaders, XFCC, None).is_err()
        {
            return deny(
                &state,
                &DenyReason::HostFailure("removing x-forwarded-client-cert"),
                None,
            );
        }
        state.metrics.record(&outcome);
        let headers = match &outcome.decision {
            Decision::Deny(reason) => {
                return deny(&state, reason, Some((&path, outcome.certificate_sha256)));
            }
            Decision::Forward { headers } => headers.as_slice(),
            Decision::Pass(_) => outcome.pass_headers.as_slice(),
        };
        for (name, value) in headers {
            if hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value)).is_err() {
                return deny(
                    &state,
                    &DenyReason::HostFailure("setting forwarded headers"),
                    None,
                );
            }
        }
        Action::Continue
    }
}

/// Removes every client-sent copy of a header this filter can set. Reading the header map once
/// costs one host call; removing each possible name blindly would cost one per name.
/// Returns the request's headers as they were before the strip: the decision reads the
/// pseudo-headers and XFCC from them, which saves a host call each (on Envoy, the first call
/// in a request that returns data costs microseconds; see BENCHMARKS.md).
fn strip_client_headers(config: &Config) -> Result<Headers, proxy_wasm::types::Status> {
    let present = hostcalls::get_map_bytes(MapType::HttpRequestHeaders)?;
    let mut removed: Vec<&str> = Vec::new();
    for (name, _) in &present {
        if config.forward.must_strip(name) && !removed.contains(&name.as_str()) {
            hostcalls::set_map_value(MapType::HttpRequestHeaders, name, None)?;
            removed.push(name);
        }
    }
    Ok(Headers(present))
}

/// The request headers, read once.
struct Headers(Vec<(String, Vec<u8>)>);

impl Headers {
    /// The value of a header; every copy joined with ", " when it was sent more than once
    /// (as HTTP allows for list-valued headers), so ambiguity stays visible to the decision.
    fn get(&self, name: &str) -> Option<Vec<u8>> {
        let mut values = self.0.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let first = values.next()?.1.clone();
        Some(values.fold(first, |mut acc, (_, v)| {
            acc.extend_from_slice(b", ");
            acc.extend_from_slice(v);
            acc
        }))
    }
}

fn property(path: &[&str], what: &'static str) -> Result<Option<Vec<u8>>, DenyReason> {
    hostcalls::get_property(path.to_vec()).map_err(|_| DenyReason::HostFailure(what))
}

/// Reads what the decision needs, skipping host calls the configuration makes unnecessary.
fn gather_and_decide(
    config: &Config,
    headers: &Headers,
    cache: &mut VerdictCache,
) -> Result<(Outcome, Vec<u8>), DenyReason> {
    let needs = config.needs();
    let path = if needs.path {
        headers.get(":path").unwrap_or_default()
    } else {
        Vec::new()
    };
    let method = if needs.method {
        headers.get(":method").unwrap_or_default()
    } else {
        Vec::new()
    };
    let authority = if needs.authority {
        headers.get(":authority").unwrap_or_default()
    } else {
        Vec::new()
    };
    // With the connection as the source, the certificate's digest (64 bytes) keys the verdict
    // cache; on a hit the certificate itself (1-2 KB of PEM) is never fetched.
    let digest = if needs.peer_certificate {
        property(
            &["connection", "sha256_peer_certificate_digest"],
            "connection.sha256_peer_certificate_digest",
        )?
        .filter(|d| !d.is_empty())
    } else {
        None
    };
    let now = if digest.is_some() { now_seconds()? } else { 0 };
    if let Some(digest) = &digest {
        let request = Request {
            path: &path,
            method: &method,
            authority: &authority,
            peer_digest: Some(digest),
            now,
            ..Request::default()
        };
        if let Some(outcome) = decide_if_cached(config, &request, cache) {
            return Ok((outcome, path));
        }
    }
    let certificate = if needs.peer_certificate {
        property(
            &["connection", "peer_certificate"],
            "connection.peer_certificate",
        )?
    } else {
        None
    };
    let xfcc = if needs.xfcc && certificate.is_none() {
        headers.get(XFCC)
    } else {
        None
    };
    // Whether a certificate was presented matters only when none is in hand.
    let active = needs.peer_certificate || needs.xfcc;
    let mtls = if active && (certificate.is_none() || xfcc.is_some()) {
        property(&["connection", "mtls"], "connection.mtls")?.map(|v| v.first() == Some(&1))
    } else {
        None
    };
    let peer_digest = match (&xfcc, digest) {
        (None, _) => None,
        (Some(_), Some(d)) => Some(d),
        (Some(_), None) => property(
            &["connection", "sha256_peer_certificate_digest"],
            "connection.sha256_peer_certificate_digest",
        )?,
    };
    let started = if certificate.is_some() || xfcc.is_some() {
        Some(hostcalls::get_current_time().map_err(|_| DenyReason::HostFailure("the clock"))?)
    } else {
        None
    };
    let now = match started.map(|t| t.duration_since(UNIX_EPOCH)) {
        None => now,
        Some(Ok(d)) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Some(Err(_)) => return Err(DenyReason::HostFailure("the clock (before 1970)")),
    };
    let outcome = decide_detailed(
        config,
        &Request {
            path: &path,
            method: &method,
            authority: &authority,
            peer_certificate: certificate.as_deref(),
            xfcc: xfcc.as_deref(),
            mtls,
            peer_digest: peer_digest.as_deref(),
            now,
            chain: &[],
        },
        cache,
    );
    if outcome.cache == CacheUse::Miss {
        log_first_sight(started, &outcome, cache.len());
    }
    Ok((outcome, path))
}

fn now_seconds() -> Result<i64, DenyReason> {
    let time = hostcalls::get_current_time().map_err(|_| DenyReason::HostFailure("the clock"))?;
    time.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .map_err(|_| DenyReason::HostFailure("the clock (before 1970)"))
}

thread_local! {
    /// The second of the last first-sight line at info level.
    static LAST_FIRST_SIGHT_LOG: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// One line per certificate judged afresh, showing the cache at work and what the full check
/// costs: at info level at most once a second (with more distinct certificates than the cache
/// holds it would otherwise be a line per request), every time at debug level. The
/// `cache_misses` counter counts them all.
fn log_first_sight(started: Option<SystemTime>, outcome: &Outcome, cached: usize) {
    let second = started
        .and_then(|s| s.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let info_due = LAST_FIRST_SIGHT_LOG.with(|last| {
        let due = second > last.get();
        if due {
            last.set(second);
        }
        due
    });
    if !info_due && !log::log_enabled!(log::Level::Debug) {
        return;
    }
    let elapsed = started
        .and_then(|s| hostcalls::get_current_time().ok()?.duration_since(s).ok())
        .map_or(0, |d| d.as_micros());
    let verdict = match &outcome.decision {
        Decision::Forward { .. } => "accepted",
        _ => "not accepted",
    };
    let line = format!(
        "client-cert-auth: verdict cache miss: certificate judged in {elapsed} us, {verdict} ({cached} cached)"
    );
    if info_due {
        info!("{line}");
    } else {
        debug!("{line}");
    }
}

/// Printable ASCII only, quotes and backslashes escaped, at most 256 bytes: safe in a log line.
fn log_safe(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(256) {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > 256 {
        out.push_str("...");
    }
    out
}

/// Answers locally, logs one structured line, and stops the request.
fn deny(state: &State, reason: &DenyReason, request: Option<(&[u8], Option<[u8; 32]>)>) -> Action {
    let reply = state.config.reply(reason);
    if request.is_none() {
        state.metrics.record_denied(reason);
    }
    let (path, sha256) = request.unwrap_or((b"", None));
    let sha256 = sha256.map_or_else(
        || "-".to_string(),
        |d| d.iter().map(|b| format!("{b:02x}")).collect(),
    );
    info!(
        "client-cert-auth: denied status={} reason={} path=\"{}\" cert_sha256={} detail=\"{}\"",
        reply.status,
        reason.name(),
        log_safe(path),
        sha256,
        log_safe(reason.describe().as_bytes())
    );
    let headers: Vec<(&str, &str)> = reply
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    if let Err(status) =
        hostcalls::send_http_response(reply.status, headers, Some(reply.body.as_bytes()))
    {
        warn!("client-cert-auth: could not send the local reply: {status:?}");
    }
    Action::Pause
}

/// No configuration reached this stream: fail closed with a 500.
fn deny_unconfigured() -> Action {
    error!("client-cert-auth: denied status=500 reason=host_failure detail=\"no configuration\"");
    let _ = hostcalls::send_http_response(
        500,
        vec![("content-type", "text/plain; charset=utf-8")],
        Some(b"client certificate check failed\n"),
    );
    Action::Pause
}
