//! The glue: the only code that talks to the host, through the [`Host`] trait.
//!
//! A request goes through three steps, always the same: remove every client-sent copy of the
//! headers this filter sets, ask [`decide`], apply the outcome (set headers, or answer
//! locally). Stats and one structured log line per denial follow from the outcome. The wasm
//! build runs this over Envoy's host calls (`wasm.rs`); native tests run it over
//! `fake::FakeHost` (native builds only), which records every call.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::time::{SystemTime, UNIX_EPOCH};

/// A recording host for native tests (not in the wasm module).
#[cfg(not(target_arch = "wasm32"))]
pub mod fake;
mod headers;
mod host;
mod metrics;
pub mod revocation;
mod signatures;
#[cfg(target_arch = "wasm32")]
mod wasm;

use crate::decision::{CacheUse, Outcome};
use crate::decision::{Config, Inputs, Property, XFCC_HEADER, cache::VerdictCache, decide};
use crate::outcome::{Decision, DenyReason, HostCall, PassReason};
use crate::output::Reply;
use crate::text::{hex_lower, join_lines, log_safe, push_hex_lower};
use crate::validation::revocation::OcspQuery;
pub use headers::HeaderMap;
pub use host::{
    Action, Host, HostError, HttpCall, HttpResponse, Level, MetricKind, SharedDataError, Written,
    unix_seconds,
};
use metrics::Metrics;

/// What a successful configuration gives every stream of the VM.
pub struct State {
    /// The compiled configuration every request of the VM is decided by.
    pub config: Config,
    metrics: Metrics,
    /// The second of the last first-sight line at info level.
    last_first_sight_log: Cell<i64>,
    /// Whether the OCSP responder is failing (its failures are logged once per streak).
    ocsp_failing: Cell<bool>,
    /// The OCSP questions in flight on this VM, and the requests waiting for them.
    pub questions: RefCell<revocation::Questions>,
    /// What this VM last took of the signatures the other VMs verified.
    signatures_seen: signatures::Seen,
}

/// Reads and compiles the plugin configuration. `None` (after an error line naming the field)
/// makes the host refuse the configuration: the filter never runs half-configured.
pub fn configure(host: &mut impl Host, bytes: &[u8]) -> Option<State> {
    match Config::from_json(bytes) {
        Ok(config) => {
            let exclusions: Vec<&str> = config.exclusions.entries().collect();
            host.log(
                Level::Info,
                &format!(
                    "client-cert-auth: configured, mode {}, exclusion paths {:?}, {} rule(s), certificate source {:?}{}",
                    config.mode.name(),
                    exclusions,
                    config.rules.len(),
                    config.source,
                    if config.report_only {
                        ", report only (nothing is denied unless a rule says so)"
                    } else {
                        ""
                    }
                ),
            );
            if let Some(front) = &config.front {
                host.log(
                    Level::Warn,
                    &format!(
                        "client-cert-auth: certificateSource header: {} is trusted from the peers of header.trustedProxies by Envoy's source.address, which is the socket peer only with use_remote_address: true on the connection manager; without it Envoy takes it from X-Forwarded-For and any client can claim a trusted proxy's address",
                        front.name
                    ),
                );
            }
            let metrics = Metrics::define(host, &config);
            Some(State {
                config,
                metrics,
                last_first_sight_log: Cell::new(0),
                ocsp_failing: Cell::new(false),
                questions: RefCell::new(revocation::Questions::default()),
                signatures_seen: signatures::Seen::default(),
            })
        }
        Err(e) => {
            host.log(
                Level::Error,
                &format!("client-cert-auth: invalid plugin configuration: {e}"),
            );
            None
        }
    }
}

/// What a request's headers led to.
#[derive(Debug)]
pub enum Step {
    /// Decided: go on, or stop (answered locally).
    Done(Action),
    /// Paused for an OCSP answer: the host hands the answer to [`on_ocsp_answer`] (tests may
    /// use [`on_ocsp_response`] with this).
    Wait(revocation::Waiting),
}

/// One request's headers, in order: strip what the client must not send, decide, then either
/// apply the outcome or ask the OCSP responder and wait. `state` is `None` only if the host
/// creates a stream without a successful configuration; the request is then refused with a
/// 500.
pub fn handle_request_headers(
    host: &mut impl Host,
    state: Option<&State>,
    cache: &RefCell<VerdictCache>,
) -> Step {
    let Some(state) = state else {
        return Step::Done(deny_unconfigured(host));
    };
    state.metrics.record_request();
    // Always first, in every mode and on every path: the upstream must only ever see the
    // values this filter sets.
    let headers = match strip_client_headers(host, &state.config) {
        Ok(headers) => headers,
        Err(call) => return Step::Done(refuse(host, state, &Outcome::host_failure(call), b"")),
    };
    #[cfg(feature = "test-panic")]
    crash_on_demand(&headers);
    let mut decided = match decide_request(host, state, cache, &headers, true) {
        Ok(decided) => decided,
        Err(action) => return Step::Done(action),
    };
    let Some(query) = decided.ask.take() else {
        return Step::Done(apply_outcome(host, state, cache, &headers, &decided));
    };
    match revocation::join_or_ask(host, &state.questions, query, &headers) {
        revocation::Join::Wait(waiting) => Step::Wait(waiting),
        revocation::Join::Busy => Step::Done(busy(host, &headers)),
        revocation::Join::Unsent(why, query) => {
            // Not asked: decided without the answer, which is what the outcome says.
            let now = decided.started.map_or(0, unix_seconds);
            revocation::unsent(host, state, cache, &query, &why, now);
            Step::Done(apply_outcome(host, state, cache, &headers, &decided))
        }
    }
}

/// A request that waited for an OCSP answer, decided again now that the answer is known (its
/// headers as read before the strip): no question is asked this time.
pub(crate) fn decide_again(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    headers: &HeaderMap,
) -> Action {
    match decide_request(host, state, cache, headers, false) {
        Ok(decided) => apply_outcome(host, state, cache, headers, &decided),
        Err(action) => action,
    }
}

/// A request decided: the outcome, the question to ask first (when it may wait), and when the
/// decision read the clock.
struct Decided {
    outcome: Outcome,
    ask: Option<Box<OcspQuery>>,
    started: Option<SystemTime>,
}

/// Decides with the request's headers (as read before the strip). `may_wait`: an OCSP
/// question may be asked. `Err` is the request refused (the cache is busy).
fn decide_request(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    headers: &HeaderMap,
    may_wait: bool,
) -> Result<Decided, Action> {
    let Ok(mut cache) = cache.try_borrow_mut() else {
        let path = header(headers, ":path").unwrap_or_default();
        return Err(refuse(
            host,
            state,
            &Outcome::host_failure(HostCall::CacheBusy),
            &path,
        ));
    };
    let mut inputs = HostInputs {
        host: &mut *host,
        headers,
        started: None,
        may_wait,
        signatures_seen: &state.signatures_seen,
    };
    let mut outcome = decide(&state.config, &mut inputs, &mut cache);
    let started = inputs.started;
    if outcome.signature_checks > 0 {
        signatures::publish(host, state);
    }
    let ask = outcome.ocsp_query.take().filter(|_| may_wait);
    Ok(Decided {
        outcome,
        ask,
        started,
    })
}

/// Too many requests already wait for this certificate's OCSP answer: 503, never a pass.
fn busy(host: &mut impl Host, headers: &HeaderMap) -> Action {
    let path = header(headers, ":path").unwrap_or_default();
    host.log(
        Level::Warn,
        &format!(
            "client-cert-auth: denied status=503 reason=revocation_busy detail=\"{} requests already wait for this certificate's OCSP answer\" path=\"{}\"",
            revocation::MAX_WAITING_PER_CERTIFICATE,
            log_safe(&path)
        ),
    );
    let _ = host.set_filter_state(
        DECISION_STATE,
        b"decision=deny reason=revocation_busy rule=- sha256=-",
    );
    let _ = host.send_reply(&Reply::revocation_busy());
    Action::Pause
}

/// Logs and counts what the decision says, then applies it: the request goes on with the
/// headers set, or is answered locally.
fn apply_outcome(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    headers: &HeaderMap,
    decided: &Decided,
) -> Action {
    let outcome = &decided.outcome;
    let path = header(headers, ":path").unwrap_or_default();
    if let (Some(peer), Some(front)) = (&outcome.untrusted_peer, &state.config.front) {
        host.log(
            Level::Info,
            &format!(
                "client-cert-auth: untrusted peer=\"{}\" sent the certificate header {}: removed and ignored (not in header.trustedProxies) path=\"{}\"",
                log_safe(peer.as_bytes()),
                front.name,
                log_safe(&path)
            ),
        );
    }
    if let Some(why) = &outcome.soft_fail {
        state.metrics.revocation.record_soft_fail();
        host.log(
            Level::Info,
            &format!(
                "client-cert-auth: revocation soft fail (revocationFailure allow): certificate let through without a fresh status: {}",
                log_safe(why.as_bytes())
            ),
        );
    }
    state.metrics.record_lookup(outcome);
    if outcome.cache == CacheUse::Miss {
        let cached = cache.try_borrow().map_or(0, |c| c.len());
        log_first_sight(host, state, decided.started, outcome, cached);
    }
    match apply(host, state, outcome) {
        Ok(Action::Continue) => {
            state
                .metrics
                .record_decision(&outcome.decision, outcome.rule);
            if let Decision::Pass(PassReason::ReportOnly(reason)) = &outcome.decision {
                log_decision(
                    host,
                    state,
                    "would deny (report only)",
                    reason,
                    outcome,
                    &path,
                );
            }
            let (decision, reason) = decision_fields(&outcome.decision);
            publish(host, &state.config, decision, reason, outcome);
            Action::Continue
        }
        Ok(Action::Pause) => refuse(host, state, outcome, &path),
        Err(call) => refuse(host, state, &Outcome::host_failure(call), &path),
    }
}

/// The root context's timer: hands the counts accumulated since the last tick to the host's
/// stats, and sets the gauges (see [`metrics`]). A busy cache (a request in progress on this
/// VM, which cannot happen between callbacks) only leaves the cache gauge as it was.
pub fn on_tick(host: &mut impl Host, state: &State, cache: &RefCell<VerdictCache>) {
    let entries = cache.try_borrow().map_or(0, |c| c.len());
    state.metrics.flush(host, entries);
}

/// How often [`on_tick`] should run, in milliseconds.
pub const TICK_PERIOD_MS: u64 = metrics::FLUSH_PERIOD_MS;

/// The request header that makes a `test-panic` build panic.
#[cfg(feature = "test-panic")]
pub const TEST_PANIC_HEADER: &str = "x-client-cert-auth-test-panic";

/// TEST ONLY (feature `test-panic`): panics when the request carries [`TEST_PANIC_HEADER`], as
/// a bug would, so the end-to-end tests can crash the VM on demand. A release build has no
/// such path (the feature is off, and a test checks the header's name is not in the module).
#[cfg(feature = "test-panic")]
#[allow(clippy::panic)]
fn crash_on_demand(headers: &HeaderMap) {
    if header(headers, TEST_PANIC_HEADER).is_some() {
        panic!("client-cert-auth: crashing on demand ({TEST_PANIC_HEADER}, test-panic build)");
    }
}

/// Sets what a passing or forwarding outcome sets; `Pause` for a denial (nothing is set).
fn apply(host: &mut impl Host, state: &State, outcome: &Outcome) -> Result<Action, HostCall> {
    let headers = match &outcome.decision {
        Decision::Deny(_) => return Ok(Action::Pause),
        Decision::Forward { headers } => headers.as_slice(),
        Decision::Pass(_) => outcome.pass_headers.as_slice(),
    };
    if state.config.strip_xfcc {
        host.remove_request_header(XFCC_HEADER)
            .map_err(|_| HostCall::RemoveXfcc)?;
    }
    // Host call on the hot path: the forwarded header (set replaces every client copy).
    for (name, value) in headers {
        host.set_request_header(name, value)
            .map_err(|_| HostCall::SetHeaders)?;
    }
    Ok(Action::Continue)
}

/// Removes every client-sent copy of a header this filter can set, and returns the request's
/// headers as they were before: the decision reads the pseudo-headers and XFCC from them,
/// which saves a host call each. One call reads the map; only names the filter can set are
/// then removed (the host removes every copy, whatever its letter case).
///
/// Host call on the hot path: the header map. Reading `:path` by name is about as cheap (the
/// floor probe's variants in BENCHMARKS.md), but the names to strip include every spelling
/// with `_` for `-` of a dozen headers (upstreams that map `_` to `-` read them as the same),
/// which removal by name would turn into dozens of calls on every request; with the map, a
/// removal happens only for a header actually sent. Repeated copies of a header (XFCC,
/// method overrides) are visible only in the map, and must be (a repeated header is
/// ambiguous, never ignored).
fn strip_client_headers(host: &mut impl Host, config: &Config) -> Result<HeaderMap, HostCall> {
    let present = host.request_headers().map_err(|_| HostCall::ReadHeaders)?;
    let mut removed: Vec<&[u8]> = Vec::new();
    for (name, _) in present.iter() {
        if removed.contains(&name) {
            continue;
        }
        // A name that is not UTF-8 is not one the filter sets.
        let Ok(name_text) = std::str::from_utf8(name) else {
            continue;
        };
        if config.forward.must_strip(name_text) {
            host.remove_request_header(name_text)
                .map_err(|_| HostCall::RemoveClientHeaders)?;
            removed.push(name);
        }
    }
    Ok(present)
}

/// A header's value; every copy joined with ", " when it was sent more than once (as HTTP
/// allows for list-valued headers), so ambiguity stays visible to the decision.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<Cow<'h, [u8]>> {
    join_lines(lines(headers, name))
}

/// The lines of header `name` (any case), in order.
fn lines<'h>(headers: &'h HeaderMap, name: &str) -> impl Iterator<Item = &'h [u8]> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v)
}

/// The decision's inputs over the host: headers from the snapshot, properties and the clock by
/// host call. Remembers when the clock was first read, for the first-sight log line.
struct HostInputs<'h, H: Host> {
    host: &'h mut H,
    headers: &'h HeaderMap,
    started: Option<SystemTime>,
    may_wait: bool,
    signatures_seen: &'h signatures::Seen,
}

impl<H: Host> Inputs for HostInputs<'_, H> {
    fn header(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        header(self.headers, name)
    }

    fn header_count(&self, name: &str) -> usize {
        lines(self.headers, name).count()
    }

    fn property(&mut self, property: Property) -> Result<Option<Vec<u8>>, HostCall> {
        self.host
            .property(&property.path())
            .map_err(|_| property.call())
    }

    fn may_wait(&self) -> bool {
        self.may_wait
    }

    fn shared_signatures(&mut self, key: &str) -> Option<Vec<u8>> {
        signatures::read(self.host, self.signatures_seen, key)
    }

    fn now(&mut self) -> Result<i64, HostCall> {
        let time = self.host.clock().map_err(|_| HostCall::Clock)?;
        self.started.get_or_insert(time);
        time.duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .map_err(|_| HostCall::ClockBefore1970)
    }
}

/// One line per certificate judged afresh, showing the cache at work and what the full check
/// costs: at info level at most once a second (with more distinct certificates than the cache
/// holds it would otherwise be a line per request), every time at debug level. The
/// `cache_misses` counter counts them all.
fn log_first_sight(
    host: &mut impl Host,
    state: &State,
    started: Option<SystemTime>,
    outcome: &Outcome,
    cached: usize,
) {
    let second = started.map_or(0, unix_seconds);
    let info_due = second > state.last_first_sight_log.get();
    if info_due {
        state.last_first_sight_log.set(second);
    } else if !host.log_enabled(Level::Debug) {
        return;
    }
    let elapsed = started
        .and_then(|s| host.clock().ok()?.duration_since(s).ok())
        .map_or(0, |d| d.as_micros());
    let verdict = match &outcome.decision {
        Decision::Forward { .. } => "accepted",
        _ => "not accepted",
    };
    host.log(
        if info_due { Level::Info } else { Level::Debug },
        &format!(
            "client-cert-auth: verdict cache miss: certificate judged in {elapsed} us, {verdict} ({cached} cached), {} signature(s) checked",
            outcome.signature_checks
        ),
    );
}

/// Answers locally with the reply for the outcome's denial, counts it, logs one structured
/// line, and stops the request.
fn refuse(host: &mut impl Host, state: &State, outcome: &Outcome, path: &[u8]) -> Action {
    let reason = match &outcome.decision {
        Decision::Deny(reason) => reason,
        // Only denials are refused; anything else here is a bug, and fails closed.
        _ => &DenyReason::HostFailure(HostCall::SetHeaders),
    };
    state.metrics.record_denied(reason, outcome.rule);
    log_decision(host, state, "denied", reason, outcome, path);
    publish(host, &state.config, "deny", reason.name(), outcome);
    let reply = state.config.reply(reason);
    if let Err(HostError(status)) = host.send_reply(reply) {
        host.log(
            Level::Warn,
            &format!("client-cert-auth: could not send the local reply: {status}"),
        );
    }
    Action::Pause
}

/// One structured line at info level for a denial (`what` = `denied`) or a report-only pass
/// (`would deny (report only)`): the status the reply has (or would have), the reason, the
/// rule, the path, the certificate's SHA-256 and the reason in words.
fn log_decision(
    host: &mut impl Host,
    state: &State,
    what: &str,
    reason: &DenyReason,
    outcome: &Outcome,
    path: &[u8],
) {
    let sha256 = outcome
        .certificate_sha256
        .map_or_else(|| "-".to_string(), |d| hex_lower(&d));
    host.log(
        Level::Info,
        &format!(
            "client-cert-auth: {what} status={} reason={} rule={} path=\"{}\" cert_sha256={} detail=\"{}\"",
            state.config.reply(reason).status,
            reason.name(),
            state.config.rule_label(outcome.rule),
            log_safe(path),
            sha256,
            log_safe(reason.describe().as_bytes())
        ),
    );
}

/// The filter state name of the decision: Envoy stores it as `wasm.client_cert_auth`.
pub const DECISION_STATE: &str = "client_cert_auth";

/// The decision as one compact line for the filter state:
/// `decision=<pass|forward|deny|would_deny> reason=<reason|-> rule=<name|rules[i]|-> sha256=<hex|->`,
/// from the decision's label and reason ([`decision_fields`]). Every token comes from the
/// filter (reason names, validated rule names, hex), never from the request, so a client
/// cannot forge a field or add one.
pub fn decision_state(config: &Config, decision: &str, reason: &str, outcome: &Outcome) -> String {
    // Built by appending into one buffer (no formatting machinery, one allocation): this runs
    // on every request.
    let rule = config.rule_label(outcome.rule);
    let parts = [
        "decision=",
        decision,
        " reason=",
        reason,
        " rule=",
        &rule,
        " sha256=",
    ];
    let mut value = String::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + 64);
    for part in parts {
        value.push_str(part);
    }
    match &outcome.certificate_sha256 {
        Some(digest) => push_hex_lower(&mut value, digest),
        None => value.push('-'),
    }
    value
}

/// The filter-state label and reason of a decision that went on to the upstream (or was
/// denied): a denial's or would-deny's reason name; for a pass, why it passed: `disabled`,
/// `optional` (no certificate, optional mode) or `excluded`; `-` for a forward.
pub fn decision_fields(decision: &Decision) -> (&'static str, &'static str) {
    let reason = match decision {
        Decision::Deny(reason) | Decision::Pass(PassReason::ReportOnly(reason)) => reason.name(),
        Decision::Pass(PassReason::Disabled) => "disabled",
        Decision::Pass(PassReason::NoCertificateOptional) => "optional",
        Decision::Pass(
            PassReason::NoCertificateExcluded | PassReason::InvalidCertificateExcluded(_),
        ) => "excluded",
        Decision::Forward { .. } => "-",
    };
    (decision.label(), reason)
}

/// Leaves the decision in the filter state for the access log and tracing. One host call per
/// request, with one compact value, on purpose: four properties (decision, reason, rule,
/// digest) would cost four boundary crossings (~0.3 us each on V8) on a path being trimmed to
/// the minimum of host calls, and an access log splits one value as easily. A failure is
/// logged and changes nothing: the decision stands whether or not it can be shown.
fn publish(host: &mut impl Host, config: &Config, decision: &str, reason: &str, outcome: &Outcome) {
    let value = decision_state(config, decision, reason, outcome);
    if let Err(HostError(status)) = host.set_filter_state(DECISION_STATE, value.as_bytes()) {
        host.log(
            Level::Warn,
            &format!("client-cert-auth: could not set the filter state: {status}"),
        );
    }
}

/// No configuration reached this stream: fail closed with a 500.
fn deny_unconfigured(host: &mut impl Host) -> Action {
    host.log(
        Level::Error,
        &format!(
            "client-cert-auth: denied status=500 reason=host_failure detail=\"{}\"",
            DenyReason::HostFailure(HostCall::NoConfiguration).describe()
        ),
    );
    let _ = host.set_filter_state(
        DECISION_STATE,
        b"decision=deny reason=host_failure rule=- sha256=-",
    );
    let _ = host.send_reply(&Reply::host_failure());
    Action::Pause
}
