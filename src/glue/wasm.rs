//! The proxy-wasm entry points: Envoy's host calls behind the [`Host`] trait, and the root and
//! HTTP contexts that hand each request to [`super::handle_request_headers`]. Nothing here decides.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel, MapType, MetricType};

use super::headers::HeaderMap;
use super::host::{
    Action, Host, HostError, HttpCall, HttpResponse, Level, MetricKind, SharedDataError, Written,
};
use super::revocation::{Fetches, Waiting, on_fetch_response, on_ocsp_answer};
use super::{State, Step, TICK_PERIOD_MS, configure, handle_request_headers, on_tick};
use crate::decision::cache::VerdictCache;
use crate::output::Reply;

proxy_wasm::main! {{
    // Replaces the SDK's hook, which unwraps the result of its own log call.
    std::panic::set_hook(Box::new(|info| {
        let _ = hostcalls::log(LogLevel::Critical, &format!("client-cert-auth panicked: {info}"));
    }));
    proxy_wasm::set_root_context(|context| -> Box<dyn RootContext> {
        Box::new(Root {
            shared: Shared {
                state: None,
                cache: Rc::new(RefCell::new(VerdictCache::new(0))),
                level: Level::Info,
            },
            fetches: Fetches::default(),
            context,
        })
    });
}}

// The ABI call behind the SDK's `get_map_bytes`, declared here to keep the host's buffer as it
// is (see `super::headers`) and to get its status as a number: the SDK panics on a status it
// does not expect, and turns it into an enum first.
#[link(wasm_import_module = "env")]
#[allow(clashing_extern_declarations)]
unsafe extern "C" {
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
    fn proxy_get_shared_data(
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
        return_cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
    fn proxy_set_effective_context(context_id: u32) -> u32;
}

// The ABI's status numbers the calls below look at.
const STATUS_OK: u32 = 0;
const STATUS_NOT_FOUND: u32 = 1;
const STATUS_CAS_MISMATCH: u32 = 8;

/// A shared value and its compare-and-swap token, through the ABI directly: the SDK's wrapper
/// panics on a status it does not expect (a capability the restriction list does not allow
/// answers 10), and a panic would take the VM down.
fn get_shared_data(key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostError> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    let mut cas: u32 = 0;
    // SAFETY: the host writes a pointer, a length and a token into the three locations, which
    // live until the call returns; the key is read for `key.len()` bytes.
    let status =
        unsafe { proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas) };
    match status {
        STATUS_OK => {
            let cas = (cas != 0).then_some(cas);
            if data.is_null() {
                return Ok((None, cas));
            }
            // SAFETY: as in `request_header_bytes`: the host allocated `size` bytes through the
            // module's allocator and hands their ownership over.
            Ok((Some(unsafe { Vec::from_raw_parts(data, size, size) }), cas))
        }
        STATUS_NOT_FOUND => Ok((None, None)),
        other => Err(HostError(format!(
            "status {other} (is proxy_get_shared_data allowed by the capability restriction?)"
        ))),
    }
}

fn set_shared_data(key: &str, value: &[u8], cas: Option<u32>) -> Result<(), SharedDataError> {
    // SAFETY: the host reads the key and the value for their lengths during the call.
    let status = unsafe {
        proxy_set_shared_data(
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
            cas.unwrap_or(0),
        )
    };
    match status {
        STATUS_OK => Ok(()),
        STATUS_CAS_MISMATCH => Err(SharedDataError::CasMismatch),
        other => Err(SharedDataError::Failed(format!(
            "status {other} (is proxy_set_shared_data allowed by the capability restriction?)"
        ))),
    }
}

/// The request's header map, serialized, exactly as the host wrote it.
fn request_header_bytes() -> Result<Vec<u8>, HostError> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes a pointer and a length into the two locations, which live until
    // the call returns; `MapType::HttpRequestHeaders` is the ABI's number for request headers.
    let status = unsafe {
        proxy_get_header_map_pairs(MapType::HttpRequestHeaders as u32, &mut data, &mut size)
    };
    if status != 0 {
        return Err(HostError(format!("status {status}")));
    }
    if data.is_null() || size == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: the host allocated the buffer through the module's `proxy_on_memory_allocate`
    // (the SDK's: a boxed slice of exactly `size` bytes from the global allocator) and gives up
    // ownership of it, as the SDK's own `get_map_bytes` relies on.
    Ok(unsafe { Vec::from_raw_parts(data, size, size) })
}

thread_local! {
    /// Stat ids by kind and name, for the life of the VM. Envoy hands out a new id on every
    /// `define_metric` call, even for a name it already has, and keeps every id (and its map
    /// entry) until the VM goes: defining the same stats again on each configuration would grow
    /// Envoy's memory with every reload (~30 KB a reload with 20 named rules, measured). So
    /// each name is defined once per VM, and a new configuration reuses its id.
    /// A list: a few dozen names, looked up at configure time only.
    static METRIC_IDS: RefCell<Vec<((bool, String), u32)>> = const { RefCell::new(Vec::new()) };
}

/// Envoy, through the proxy-wasm host calls.
struct Envoy {
    /// The host's log level, read at configure time: lines below it are not even formatted.
    level: Level,
    /// The context the host calls act on.
    context: u32,
}

fn failed(status: proxy_wasm::types::Status) -> HostError {
    HostError(format!("{status:?}"))
}

fn level_of(level: LogLevel) -> Level {
    match level {
        LogLevel::Trace => Level::Trace,
        LogLevel::Debug => Level::Debug,
        LogLevel::Info => Level::Info,
        LogLevel::Warn => Level::Warn,
        LogLevel::Error => Level::Error,
        LogLevel::Critical => Level::Critical,
    }
}

impl Host for Envoy {
    fn request_headers(&mut self) -> Result<HeaderMap, HostError> {
        let bytes = request_header_bytes()?;
        HeaderMap::from_host(bytes)
            .ok_or_else(|| HostError("the header map is not well formed".into()))
    }

    fn remove_request_header(&mut self, name: &str) -> Result<(), HostError> {
        hostcalls::set_map_value(MapType::HttpRequestHeaders, name, None).map_err(failed)
    }

    fn set_request_header(&mut self, name: &str, value: &str) -> Result<(), HostError> {
        hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value)).map_err(failed)
    }

    fn property(&mut self, path: &[&str]) -> Result<Option<Vec<u8>>, HostError> {
        hostcalls::get_property(path.to_vec()).map_err(failed)
    }

    fn clock(&mut self) -> Result<SystemTime, HostError> {
        hostcalls::get_current_time().map_err(failed)
    }

    fn send_reply(&mut self, reply: &Reply) -> Result<(), HostError> {
        let headers: Vec<(&str, &str)> = reply
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        hostcalls::send_http_response(reply.status, headers, Some(reply.body.as_bytes()))
            .map_err(failed)
    }

    fn set_filter_state(&mut self, name: &str, value: &[u8]) -> Result<(), HostError> {
        hostcalls::set_property(vec![name], Some(value)).map_err(failed)
    }

    fn log_enabled(&self, level: Level) -> bool {
        level >= self.level
    }

    fn log(&mut self, level: Level, message: &str) {
        if !self.log_enabled(level) {
            return;
        }
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
            Level::Critical => LogLevel::Critical,
        };
        let _ = hostcalls::log(level, message);
    }

    fn define_metric(&mut self, kind: MetricKind, name: &str) -> Option<u32> {
        let key = (kind == MetricKind::Counter, name.to_string());
        if let Some(id) = METRIC_IDS.with(|ids| {
            ids.borrow()
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, id)| *id)
        }) {
            return Some(id);
        }
        let metric_type = match kind {
            MetricKind::Counter => MetricType::Counter,
            MetricKind::Gauge => MetricType::Gauge,
        };
        let id = hostcalls::define_metric(metric_type, name).ok()?;
        METRIC_IDS.with(|ids| ids.borrow_mut().push((key, id)));
        Some(id)
    }

    fn increment_metric(&mut self, id: u32, delta: u64) {
        let _ = hostcalls::increment_metric(id, i64::try_from(delta).unwrap_or(i64::MAX));
    }

    fn record_metric(&mut self, id: u32, value: u64) {
        let _ = hostcalls::record_metric(id, value);
    }

    fn memory_bytes(&self) -> u64 {
        let pages = core::arch::wasm32::memory_size(0);
        u64::try_from(pages)
            .unwrap_or(u64::MAX)
            .saturating_mul(65_536)
    }

    fn dispatch_http_call(&mut self, call: &HttpCall<'_>) -> Result<u32, HostError> {
        hostcalls::dispatch_http_call(
            call.cluster,
            call.headers.to_vec(),
            (!call.body.is_empty()).then_some(call.body),
            Vec::new(),
            Duration::from_millis(u64::from(call.timeout_ms)),
        )
        .map_err(failed)
    }

    fn resume_request(&mut self) -> Result<(), HostError> {
        hostcalls::resume_http_request().map_err(failed)
    }

    fn shared_data(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostError> {
        get_shared_data(key)
    }

    fn set_shared_data(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> Written {
        set_shared_data(key, value, cas)
    }

    fn context_id(&self) -> u32 {
        self.context
    }

    fn set_effective_context(&mut self, context: u32) -> Result<(), HostError> {
        // Directly: the SDK's wrapper panics on any status but BadArgument (a stream that is
        // gone).
        // SAFETY: a plain call with a number.
        match unsafe { proxy_set_effective_context(context) } {
            STATUS_OK => {
                self.context = context;
                Ok(())
            }
            other => Err(HostError(format!("status {other}"))),
        }
    }

    fn random(&mut self, out: &mut [u8]) -> Result<(), HostError> {
        use ring::rand::SecureRandom;
        ring::rand::SystemRandom::new()
            .fill(out)
            .map_err(|_| HostError("the system's random source failed".into()))
    }
}

/// The answer to an HTTP call this context dispatched, as the host hands it over.
fn http_call_response(num_headers: usize, body_size: usize) -> HttpResponse {
    let status = if num_headers == 0 {
        None
    } else {
        hostcalls::get_map_value(MapType::HttpCallResponseHeaders, ":status")
            .ok()
            .flatten()
            .and_then(|s| s.parse::<u16>().ok())
    };
    let body = if body_size == 0 {
        Vec::new()
    } else {
        hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size)
            .ok()
            .flatten()
            .unwrap_or_default()
    };
    HttpResponse { status, body }
}

/// What the root context hands every stream of the VM.
#[derive(Clone)]
struct Shared {
    /// `None` until a configuration succeeded.
    state: Option<Rc<State>>,
    /// Verdicts by certificate, shared by every stream of this VM; a new configuration starts
    /// a new cache.
    cache: Rc<RefCell<VerdictCache>>,
    level: Level,
}

/// The VM's root context: the shared state it hands every stream, the CRL fetches under way.
struct Root {
    shared: Shared,
    fetches: Fetches,
    context: u32,
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        let response = http_call_response(num_headers, body_size);
        self.with_host(|host, state, cache, fetches| {
            // An OCSP question asked again from here (its stream went away), or a CRL fetch.
            if on_ocsp_answer(host, state, cache, token_id, &response).is_none() {
                on_fetch_response(host, state, cache, fetches, token_id, &response);
            }
        });
    }
}

impl Root {
    /// Runs `f` with the host as this root context, when a configuration succeeded.
    fn with_host(
        &mut self,
        f: impl FnOnce(&mut Envoy, &State, &RefCell<VerdictCache>, &mut Fetches),
    ) {
        let Root {
            shared,
            fetches,
            context,
        } = self;
        if let Some(state) = shared.state.as_deref() {
            let mut host = Envoy {
                level: shared.level,
                context: *context,
            };
            f(&mut host, state, &shared.cache, fetches);
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        // The counts of the configuration being replaced reach the stats first.
        self.on_tick();
        let shared = &mut self.shared;
        shared.state = None;
        // Follow the host's log level, so debug lines cost nothing unless asked for.
        if let Ok(level) = hostcalls::get_log_level() {
            shared.level = level_of(level);
        }
        let mut host = Envoy {
            level: shared.level,
            context: self.context,
        };
        let bytes = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(status) => {
                host.log(
                    Level::Error,
                    &format!("client-cert-auth: cannot read the plugin configuration: {status:?}"),
                );
                return false;
            }
        };
        let Some(state) = configure(&mut host, &bytes) else {
            return false;
        };
        shared.cache = Rc::new(RefCell::new(VerdictCache::new(state.config.cache_size)));
        // Run-time revocation: what other VMs already fetched (the first fetch is the timer's).
        self.fetches = Fetches::default();
        self.fetches.start(&mut host, &state, &shared.cache);
        shared.state = Some(Rc::new(state));
        // The stats flush (see `super::metrics`). Without a timer the counts would never
        // reach Envoy: refuse rather than run with stats that silently stay at zero.
        if let Err(status) = hostcalls::set_tick_period(Duration::from_millis(TICK_PERIOD_MS)) {
            host.log(
                Level::Error,
                &format!("client-cert-auth: cannot set the stats timer: {status:?}"),
            );
            return false;
        }
        true
    }

    fn on_tick(&mut self) {
        self.with_host(|host, state, cache, fetches| {
            on_tick(host, state, cache);
            fetches.tick(host, state, cache);
        });
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter {
            shared: self.shared.clone(),
            waiting: None,
            context: context_id,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// A stream: the VM's shared state, and the OCSP question it waits for, if any.
struct Filter {
    shared: Shared,
    waiting: Option<Waiting>,
    context: u32,
}

impl Filter {
    fn host(&self) -> Envoy {
        Envoy {
            level: self.shared.level,
            context: self.context,
        }
    }
}

impl Context for Filter {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        let response = http_call_response(num_headers, body_size);
        let mut host = self.host();
        let Some(state) = self.shared.state.as_deref() else {
            return;
        };
        // The answer to this stream's question, which every request waiting for the same
        // certificate's answer gets too (each in its own context).
        if on_ocsp_answer(&mut host, state, &self.shared.cache, token_id, &response).is_some() {
            self.waiting = None;
        }
    }
}

impl HttpContext for Filter {
    fn on_http_request_headers(
        &mut self,
        _num_headers: usize,
        _end_of_stream: bool,
    ) -> proxy_wasm::types::Action {
        let mut host = self.host();
        match handle_request_headers(&mut host, self.shared.state.as_deref(), &self.shared.cache) {
            Step::Done(Action::Continue) => proxy_wasm::types::Action::Continue,
            Step::Done(Action::Pause) => proxy_wasm::types::Action::Pause,
            Step::Wait(waiting) => {
                self.waiting = Some(waiting);
                proxy_wasm::types::Action::Pause
            }
        }
    }
}

impl Drop for Filter {
    /// A stream that goes away while it waits (the client reset it) waits no more; if its call
    /// carried the question, the question is asked again for the others at the next tick.
    fn drop(&mut self) {
        if let (Some(waiting), Some(state)) = (&self.waiting, self.shared.state.as_deref())
            && let Ok(mut questions) = state.questions.try_borrow_mut()
        {
            questions.leave(waiting);
        }
    }
}
