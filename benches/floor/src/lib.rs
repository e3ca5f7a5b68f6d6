//! The floor probe: the host calls of the Azure behaviour, with no logic between them.
//!
//! Per request, on a certificate seen before (the filter's cache-hit path):
//! 1. read `:path` by name (exclusion paths need it),
//! 2. read `connection.sha256_peer_certificate_digest` (the verdict cache's key),
//! 3. remove the client's `x-arr-clientcert`,
//! 4. set `x-arr-clientcert` to the certificate's base64 DER, remembered by digest (on the first
//!    request of a certificate the probe reads `connection.peer_certificate` once, as any
//!    filter must).
//!
//! The plugin configuration adds calls, one word each, so one module measures what each
//! costs side by side: `clock` (read the host clock, as the date checks need), `underscores`
//! (also remove `x_arr_clientcert`, `x-arr_clientcert` and `x_arr-clientcert`, which upstreams
//! that map `_` to `-` would read as the same header), `map` (read the whole header map instead
//! of `:path` by name), `counter` (increment one counter), `state` (write the decision to the
//! filter state with one `set_property`, as the access log needs).
//! A request without a certificate is answered 401, as the behaviour requires.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, MapType, MetricType};

#[derive(Default, Clone, Copy)]
struct Calls {
    clock: bool,
    underscores: bool,
    map: bool,
    state: bool,
    counter: Option<u32>,
}

type Values = Rc<RefCell<HashMap<Vec<u8>, String>>>;

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { calls: Calls::default(), values: Values::default() })
    });
}}

struct Root {
    calls: Calls,
    values: Values,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _: usize) -> bool {
        let config = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        let config = String::from_utf8_lossy(&config);
        self.calls.clock = config.contains("clock");
        self.calls.underscores = config.contains("underscores");
        self.calls.map = config.contains("map");
        self.calls.state = config.contains("state");
        if config.contains("counter") {
            self.calls.counter =
                hostcalls::define_metric(MetricType::Counter, "floor_probe.requests").ok();
        }
        true
    }

    fn create_http_context(&self, _: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Probe {
            calls: self.calls,
            values: Rc::clone(&self.values),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Probe {
    calls: Calls,
    values: Values,
}

impl Context for Probe {}

const HEADER: &str = "x-arr-clientcert";
const VARIANTS: [&str; 3] = ["x_arr_clientcert", "x-arr_clientcert", "x_arr-clientcert"];

impl HttpContext for Probe {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let path = if self.calls.map {
            hostcalls::get_map(MapType::HttpRequestHeaders)
                .ok()
                .and_then(|m| m.into_iter().find(|(n, _)| n == ":path").map(|(_, v)| v))
        } else {
            hostcalls::get_map_value(MapType::HttpRequestHeaders, ":path")
                .ok()
                .flatten()
        };
        let digest = hostcalls::get_property(vec!["connection", "sha256_peer_certificate_digest"])
            .ok()
            .flatten();
        if self.calls.clock {
            let _ = hostcalls::get_current_time();
        }
        let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, HEADER, None);
        if self.calls.underscores {
            for name in VARIANTS {
                let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, None);
            }
        }
        if let Some(id) = self.calls.counter {
            let _ = hostcalls::increment_metric(id, 1);
        }
        if path.is_some_and(|p| p.starts_with("/public")) {
            return Action::Continue;
        }
        let Some(digest) = digest else {
            let _ =
                hostcalls::send_http_response(401, vec![], Some(b"client certificate required\n"));
            return Action::Pause;
        };
        let mut values = self.values.borrow_mut();
        if !values.contains_key(&digest) {
            let pem = hostcalls::get_property(vec!["connection", "peer_certificate"])
                .ok()
                .flatten()
                .unwrap_or_default();
            let body: String = String::from_utf8_lossy(&pem)
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect();
            values.insert(digest.clone(), body);
        }
        if let Some(value) = values.get(&digest) {
            let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, HEADER, Some(value));
        }
        if self.calls.state {
            let mut line = b"decision=forward reason=- rule=- sha256=".to_vec();
            line.extend_from_slice(&digest);
            let _ = hostcalls::set_property(vec!["client_cert_auth"], Some(&line));
        }
        Action::Continue
    }
}
