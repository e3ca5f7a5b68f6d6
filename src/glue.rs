//! The proxy-wasm glue: the only module that talks to the host. It gathers the inputs of a
//! request through fallible host calls, asks [`decide`], and applies the [`Decision`].

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use log::{debug, error, info, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType};

use crate::cache::VerdictCache;
use crate::config::Config;
use crate::decision::{Decision, DenyReason, FORWARDED_HEADER, PassReason, Request, decide};

const PEER_CERTIFICATE: [&str; 2] = ["connection", "peer_certificate"];

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    // Replaces the SDK's hook, which unwraps the result of its own log call.
    std::panic::set_hook(Box::new(|info| {
        let _ = hostcalls::log(LogLevel::Critical, &format!("client-cert-auth panicked: {info}"));
    }));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { config: None, cache: Rc::new(RefCell::new(VerdictCache::new(0))) })
    });
}}

struct Root {
    config: Option<Rc<Config>>,
    /// Verdicts by certificate, shared by every stream of this VM; a new configuration starts
    /// a new cache.
    cache: Rc<RefCell<VerdictCache>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        self.config = None;
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
                    "client-cert-auth: configured, mode {}, exclusion paths {:?}",
                    config.mode.name(),
                    exclusions
                );
                self.cache = Rc::new(RefCell::new(VerdictCache::new(config.cache_size)));
                self.config = Some(Rc::new(config));
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
            config: self.config.clone(),
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
    config: Option<Rc<Config>>,
    cache: Rc<RefCell<VerdictCache>>,
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Always first, in every mode and on every path: the upstream must only ever see the
        // value this filter sets. The host removes every copy, whatever its letter case.
        if hostcalls::set_map_value(MapType::HttpRequestHeaders, FORWARDED_HEADER, None).is_err() {
            return deny(&DenyReason::HostFailure(
                "removing the client's X-ARR-ClientCert",
            ));
        }
        let Some(config) = self.config.clone() else {
            return deny(&DenyReason::HostFailure("the plugin configuration"));
        };
        let Ok(mut cache) = self.cache.try_borrow_mut() else {
            return deny(&DenyReason::HostFailure("the verdict cache (busy)"));
        };
        let decision = match gather_and_decide(&config, &mut cache) {
            Ok(decision) => decision,
            Err(reason) => return deny(&reason),
        };
        match decision {
            Decision::Pass(reason) => {
                if let PassReason::InvalidCertificateExcluded(e) = &reason {
                    debug!(
                        "client-cert-auth: excluded path, invalid certificate not forwarded: {e}"
                    );
                }
                Action::Continue
            }
            Decision::Forward { arr_client_cert } => {
                match hostcalls::set_map_value(
                    MapType::HttpRequestHeaders,
                    FORWARDED_HEADER,
                    Some(&arr_client_cert),
                ) {
                    Ok(()) => Action::Continue,
                    Err(_) => deny(&DenyReason::HostFailure("setting X-ARR-ClientCert")),
                }
            }
            Decision::Deny(reason) => deny(&reason),
        }
    }
}

/// Reads what the decision needs, skipping host calls the configuration makes unnecessary.
fn gather_and_decide(config: &Config, cache: &mut VerdictCache) -> Result<Decision, DenyReason> {
    let path = if config.needs_path() {
        hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, ":path")
            .map_err(|_| DenyReason::HostFailure("the request path"))?
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let certificate = if config.needs_certificate() {
        hostcalls::get_property(PEER_CERTIFICATE.to_vec())
            .map_err(|_| DenyReason::HostFailure("connection.peer_certificate"))?
    } else {
        None
    };
    let started = if certificate.is_some() {
        Some(hostcalls::get_current_time().map_err(|_| DenyReason::HostFailure("the clock"))?)
    } else {
        None
    };
    let now = match started.map(|t| t.duration_since(UNIX_EPOCH)) {
        None => 0,
        Some(Ok(d)) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Some(Err(_)) => return Err(DenyReason::HostFailure("the clock (before 1970)")),
    };
    let misses = cache.misses();
    let decision = decide(
        config,
        &Request {
            path: &path,
            peer_certificate: certificate.as_deref(),
            now,
            chain: &[],
        },
        cache,
    );
    if cache.misses() != misses {
        log_first_sight(started, &decision, cache.len());
    }
    Ok(decision)
}

/// One line per certificate judged afresh (not per request): shows the cache working and what
/// the full check costs.
fn log_first_sight(started: Option<SystemTime>, decision: &Decision, cached: usize) {
    let elapsed = started
        .and_then(|s| hostcalls::get_current_time().ok()?.duration_since(s).ok())
        .map_or(0, |d| d.as_micros());
    let outcome = match decision {
        Decision::Forward { .. } => "accepted",
        _ => "not accepted",
    };
    info!(
        "client-cert-auth: verdict cache miss: certificate judged in {elapsed} us, {outcome} ({cached} cached)"
    );
}

/// Answers locally and stops the request.
fn deny(reason: &DenyReason) -> Action {
    let reply = reason.reply();
    info!("client-cert-auth: {}", reason.log_message());
    if let Err(status) = hostcalls::send_http_response(
        reply.status,
        vec![("content-type", "text/plain; charset=utf-8")],
        Some(reply.body.as_bytes()),
    ) {
        warn!("client-cert-auth: could not send the local reply: {status:?}");
    }
    Action::Pause
}
