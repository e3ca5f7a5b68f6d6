//! The seam between the filter and its host: everything the glue asks of Envoy, as one trait.
//! The wasm build implements it with the proxy-wasm host calls; `super::fake::FakeHost`
//! implements it over plain data and records every call, for native tests.

use std::time::SystemTime;

use super::headers::HeaderMap;
use crate::output::Reply;

/// A host call failed; the text says how (the host's status), for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError(pub String);

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "host call failed: {}", self.0)
    }
}

impl std::error::Error for HostError {}

/// Log levels, as proxy-wasm numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// 0: the finest; the filter writes nothing at this level.
    Trace,
    /// 1: detail worth having when asked for, such as every verdict-cache miss.
    Debug,
    /// 2: the configuration taken, and one line per denied request.
    Info,
    /// 3: something went wrong that the request survives, such as an unsent local reply.
    Warn,
    /// 4: the filter cannot work: a refused configuration, or a stream without one.
    Error,
    /// 5: the module itself failed (a panic).
    Critical,
}

/// The kinds of Envoy stats the filter defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Only ever incremented: requests passed, forwarded, denied by reason, cache hits.
    Counter,
    /// Set to a current value: cache entries, linear memory bytes.
    Gauge,
}

/// What the host does with the request after the filter has seen its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Continue to the upstream.
    Continue,
    /// Stop: the filter answered locally.
    Pause,
}

/// The answer to an HTTP call the module dispatched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The `:status`; `None` when there was no answer (timeout, connection failure, reset).
    pub status: Option<u16>,
    /// The body.
    pub body: Vec<u8>,
}

/// An HTTP request sent through an Envoy cluster ([`Host::dispatch_http_call`]).
#[derive(Debug, Clone, Copy)]
pub struct HttpCall<'a> {
    /// The Envoy cluster.
    pub cluster: &'a str,
    /// The request headers, pseudo-headers included.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body (empty: none).
    pub body: &'a [u8],
    /// How long to wait for the answer, milliseconds.
    pub timeout_ms: u32,
}

/// Whether a shared-data write happened ([`Host::set_shared_data`]).
pub type Written = Result<(), SharedDataError>;

/// Why a shared-data write did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedDataError {
    /// Another VM wrote the key since it was read (compare-and-swap mismatch).
    CasMismatch,
    /// The host refused, with its status.
    Failed(String),
}

impl std::fmt::Display for SharedDataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SharedDataError::CasMismatch => f.write_str("shared data changed since it was read"),
            SharedDataError::Failed(status) => write!(f, "shared data refused: {status}"),
        }
    }
}

impl std::error::Error for SharedDataError {}

/// Every host call the glue makes. Calls that can fail return `Result`; the glue fails closed
/// on each failure and names the call in its log line.
pub trait Host {
    /// Every request header, in order, one entry per copy.
    fn request_headers(&mut self) -> Result<HeaderMap, HostError>;
    /// Removes every copy of a request header, whatever its letter case.
    fn remove_request_header(&mut self, name: &str) -> Result<(), HostError>;
    /// Sets a request header, replacing every copy.
    fn set_request_header(&mut self, name: &str, value: &str) -> Result<(), HostError>;
    /// A host property; `Ok(None)` when the host has no value.
    fn property(&mut self, path: &[&str]) -> Result<Option<Vec<u8>>, HostError>;
    /// The host clock.
    fn clock(&mut self) -> Result<SystemTime, HostError>;
    /// Answers the request locally.
    fn send_reply(&mut self, reply: &Reply) -> Result<(), HostError>;
    /// Sets a value in the request's filter state, as proxy-wasm `set_property([name], value)`
    /// does: Envoy stores it as `wasm.<name>`, which `%FILTER_STATE(wasm.<name>:PLAIN)%` prints
    /// in the access log. Only the module can write it; no request header reaches it.
    fn set_filter_state(&mut self, name: &str, value: &[u8]) -> Result<(), HostError>;
    /// Whether a line at this level would be logged (so the glue can skip formatting it).
    fn log_enabled(&self, level: Level) -> bool;
    /// Writes one line to the host's log.
    fn log(&mut self, level: Level, message: &str);
    /// Defines a stat; `None` where the host refuses (the filter then runs without it).
    fn define_metric(&mut self, kind: MetricKind, name: &str) -> Option<u32>;
    /// Adds `delta` to a counter.
    fn increment_metric(&mut self, id: u32, delta: u64);
    /// Sets a gauge.
    fn record_metric(&mut self, id: u32, value: u64);
    /// The size of the module's linear memory, in bytes.
    fn memory_bytes(&self) -> u64;
    /// Sends an HTTP request through an Envoy cluster; the answer comes later to the context
    /// that sent it, with the returned token. Fails at once when the cluster is unknown.
    fn dispatch_http_call(&mut self, call: &HttpCall<'_>) -> Result<u32, HostError>;
    /// Lets a paused request go on to the upstream.
    fn resume_request(&mut self) -> Result<(), HostError>;
    /// A value every VM of the plugin's VM id shares, with its compare-and-swap token;
    /// `(None, None)` when absent.
    fn shared_data(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostError>;
    /// Writes a shared value; with `cas`, only if nobody wrote it since that token.
    fn set_shared_data(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> Written;
    /// Fills `out` with random bytes (OCSP nonces).
    fn random(&mut self, out: &mut [u8]) -> Result<(), HostError>;
    /// The context (stream, or the root) the host calls act on now.
    fn context_id(&self) -> u32;
    /// Makes another context of this VM the one later host calls act on: a paused stream
    /// answered by the OCSP question another stream asked.
    fn set_effective_context(&mut self, context: u32) -> Result<(), HostError>;
}

/// Unix seconds of a host clock reading (0 before the epoch).
pub fn unix_seconds(time: std::time::SystemTime) -> i64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Reads `key`, hands its value to `change`, writes what it returns under the value's
/// compare-and-swap token; retried on a conflict, at most `tries` times. Whether a write
/// landed (`change` returning `None` writes nothing).
pub fn cas_retry(
    host: &mut impl Host,
    key: &str,
    tries: usize,
    mut change: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
) -> bool {
    cas_loop(host, key, tries, &mut change)
}

/// What [`cas_retry`] does to a value: the new value to write, or `None` to write nothing.
type Change<'a> = dyn FnMut(Option<&[u8]>) -> Option<Vec<u8>> + 'a;

/// The body of [`cas_retry`], one copy whatever the caller's `change` (~500 bytes each).
fn cas_loop(host: &mut impl Host, key: &str, tries: usize, change: &mut Change<'_>) -> bool {
    for _ in 0..tries {
        let Ok((bytes, cas)) = host.shared_data(key) else {
            return false;
        };
        let Some(value) = change(bytes.as_deref()) else {
            return false;
        };
        match host.set_shared_data(key, &value, cas) {
            Ok(()) => return true,
            Err(SharedDataError::CasMismatch) => continue,
            Err(SharedDataError::Failed(_)) => return false,
        }
    }
    false
}

/// [`cas_retry`] with 8 tries.
pub fn cas_update(
    host: &mut impl Host,
    key: &str,
    change: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
) -> bool {
    cas_retry(host, key, 8, change)
}
