//! The proxy-wasm glue: the only module that talks to the host. It gathers the inputs of a
//! request through fallible host calls, asks [`decide`], and applies the [`Decision`].

use std::rc::Rc;
use std::time::UNIX_EPOCH;

use log::{debug, error, info, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType};

use crate::config::Config;
use crate::decision::{Decision, DenyReason, FORWARDED_HEADER, PassReason, Request, decide};

const PEER_CERTIFICATE: [&str; 2] = ["connection", "peer_certificate"];

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    // Replaces the SDK's hook, which unwraps the result of its own log call.
    std::panic::set_hook(Box::new(|info| {
        let _ = hostcalls::log(LogLevel::Critical, &format!("client-cert-auth panicked: {info}"));
    }));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { config: None }) });
}}

struct Root {
    config: Option<Rc<Config>>,
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
        let decision = match gather_and_decide(&config) {
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
fn gather_and_decide(config: &Config) -> Result<Decision, DenyReason> {
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
    let now = if certificate.is_some() {
        let time =
            hostcalls::get_current_time().map_err(|_| DenyReason::HostFailure("the clock"))?;
        match time.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(_) => return Err(DenyReason::HostFailure("the clock (before 1970)")),
        }
    } else {
        0
    };
    Ok(decide(
        config,
        &Request {
            path: &path,
            peer_certificate: certificate.as_deref(),
            now,
        },
    ))
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
