//! A host made of plain data that records every call: the native tests drive the real glue
//! through it, and count what a request costs in host calls.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::headers::HeaderMap;
use super::host::{Host, HostError, HttpCall, Level, MetricKind, SharedDataError, Written};
use crate::output::Reply;

/// One recorded host call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// [`Host::request_headers`]: the one read of the request's header map.
    RequestHeaders,
    /// [`Host::remove_request_header`], with the name as the glue passed it.
    RemoveHeader(String),
    /// [`Host::set_request_header`]: the name and the value set.
    SetHeader(String, String),
    /// [`Host::property`], with the dotted path (`connection.peer_certificate`).
    Property(String),
    /// [`Host::clock`]: a read of the host time.
    Clock,
    /// [`Host::send_reply`], with the local reply's status.
    SendReply(u32),
    /// [`Host::set_filter_state`]: the name and the value (as text).
    SetFilterState(String, String),
    /// A line written at or above [`FakeHost::level`]: its level and text (lines below it
    /// are not recorded, and logging never fails).
    Log(Level, String),
    /// [`Host::define_metric`], with the stat's full name (`client_cert_auth.passed`).
    DefineMetric(String),
    /// [`Host::increment_metric`], with the counter's name (empty for an unknown id) and the
    /// amount added.
    IncrementMetric(String, u64),
    /// [`Host::record_metric`]: the gauge's name (empty for an unknown id) and the value.
    RecordMetric(String, u64),
    /// [`Host::dispatch_http_call`]: the cluster, the headers and the body.
    Dispatch(String, Vec<(String, String)>, Vec<u8>),
    /// [`Host::resume_request`].
    Resume,
    /// [`Host::set_effective_context`], with the context.
    SetEffectiveContext(u32),
    /// [`Host::shared_data`], with the key.
    SharedData(String),
    /// [`Host::set_shared_data`], with the key.
    SetSharedData(String),
    /// [`Host::random`].
    Random,
}

impl Call {
    /// The operation's name, the key of [`FakeHost::fail`].
    pub fn operation(&self) -> String {
        match self {
            Call::RequestHeaders => "request_headers".into(),
            Call::RemoveHeader(name) => format!("remove:{name}"),
            Call::SetHeader(name, _) => format!("set:{name}"),
            Call::Property(path) => format!("property:{path}"),
            Call::Clock => "clock".into(),
            Call::SendReply(_) => "send_reply".into(),
            Call::SetFilterState(name, _) => format!("set_filter_state:{name}"),
            Call::Log(..) => "log".into(),
            Call::DefineMetric(_) => "define_metric".into(),
            Call::IncrementMetric(..) => "increment_metric".into(),
            Call::RecordMetric(..) => "record_metric".into(),
            Call::Dispatch(cluster, ..) => format!("dispatch:{cluster}"),
            Call::Resume => "resume".into(),
            Call::SetEffectiveContext(_) => "set_effective_context".into(),
            Call::SharedData(key) => format!("shared_data:{key}"),
            Call::SetSharedData(key) => format!("set_shared_data:{key}"),
            Call::Random => "random".into(),
        }
    }

    /// Whether this call crosses into the host while a request is decided (log lines and
    /// stats are the host's too, but they are not inputs or outputs of the request).
    pub fn is_request_io(&self) -> bool {
        !matches!(
            self,
            Call::Log(..)
                | Call::DefineMetric(_)
                | Call::IncrementMetric(..)
                | Call::RecordMetric(..)
        )
    }
}

/// An HTTP call the glue dispatched: its token, cluster, headers and body.
pub type Dispatched = (u32, String, Vec<(String, String)>, Vec<u8>);

/// The fake host. Set the request and connection, run the glue, then read `calls`, `headers`,
/// `reply`, `logs` and `metrics`.
#[derive(Debug, Clone)]
pub struct FakeHost {
    /// The request headers, as the host holds them (changed by removals and sets).
    pub headers: Vec<(String, Vec<u8>)>,
    /// Properties by dotted path (`connection.peer_certificate`).
    pub properties: BTreeMap<String, Vec<u8>>,
    /// The clock.
    pub now: SystemTime,
    /// Operations (see [`Call::operation`]) that fail.
    pub fail: Vec<String>,
    /// The log level: lines below it are not logged.
    pub level: Level,
    /// Every call, in order.
    pub calls: Vec<Call>,
    /// The local reply, if one was sent.
    pub reply: Option<Reply>,
    /// Stats by name, with their values.
    pub metrics: BTreeMap<String, u64>,
    /// The filter state the glue set, by name (as text).
    pub filter_state: BTreeMap<String, String>,
    /// Shared data, by key: the value and its compare-and-swap token. Tests share it between
    /// hosts (VMs) by copying it across.
    pub shared: BTreeMap<String, (Vec<u8>, u32)>,
    /// The HTTP calls dispatched, in order, with their tokens.
    pub dispatched: Vec<Dispatched>,
    /// How many of the next compare-and-swap writes fail as if another VM had written the key
    /// between the read and the write.
    pub cas_conflicts: u32,
    /// The context host calls act on (1 unless a test or [`Host::set_effective_context`]
    /// says otherwise).
    pub context: u32,
    metric_names: Vec<String>,
    next_token: u32,
    next_cas: u32,
}

impl Default for FakeHost {
    fn default() -> Self {
        FakeHost {
            headers: Vec::new(),
            properties: BTreeMap::new(),
            now: UNIX_EPOCH,
            fail: Vec::new(),
            level: Level::Info,
            calls: Vec::new(),
            reply: None,
            metrics: BTreeMap::new(),
            filter_state: BTreeMap::new(),
            shared: BTreeMap::new(),
            dispatched: Vec::new(),
            cas_conflicts: 0,
            context: 1,
            metric_names: Vec::new(),
            // Tokens are the host's numbers; none is 0 or 1, so a token mixed up with a count
            // or a flag shows.
            next_token: 1000,
            next_cas: 1,
        }
    }
}

impl FakeHost {
    /// A request with these headers, at this time (Unix seconds).
    pub fn request(headers: &[(&str, &[u8])], now: i64) -> FakeHost {
        FakeHost {
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_string(), v.to_vec()))
                .collect(),
            now: UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or(0)),
            ..FakeHost::default()
        }
    }

    /// Sets a property (`connection.mtls` is one byte, 1 or 0).
    pub fn with_property(mut self, path: &str, value: &[u8]) -> FakeHost {
        self.properties.insert(path.to_string(), value.to_vec());
        self
    }

    /// Makes an operation fail (see [`Call::operation`]).
    pub fn failing(mut self, operation: &str) -> FakeHost {
        self.fail.push(operation.to_string());
        self
    }

    /// The values of a request header now (after the filter's removals and sets).
    pub fn header(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    /// The logged lines at or above a level.
    pub fn logs(&self, level: Level) -> Vec<&str> {
        self.calls
            .iter()
            .filter_map(|c| match c {
                Call::Log(l, line) if *l >= level => Some(line.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The calls that read or change the request, in order.
    pub fn request_io(&self) -> Vec<&Call> {
        self.calls.iter().filter(|c| c.is_request_io()).collect()
    }

    /// Takes the stats defined on the host that configured the filter (stat ids are global in
    /// Envoy), all at zero.
    pub fn with_stats_of(mut self, configured: &FakeHost) -> FakeHost {
        self.metric_names = configured.metric_names.clone();
        self.metrics = configured
            .metric_names
            .iter()
            .map(|n| (n.clone(), 0))
            .collect();
        self
    }

    /// Forgets the calls so far (for example those of configuring).
    pub fn clear_calls(&mut self) {
        self.calls.clear();
    }

    fn call(&mut self, call: Call) -> Result<(), HostError> {
        let operation = call.operation();
        self.calls.push(call);
        if self.fail.contains(&operation) {
            Err(HostError(format!("{operation} fails (fake host)")))
        } else {
            Ok(())
        }
    }

    fn metric_name(&self, id: u32) -> String {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.metric_names.get(i))
            .cloned()
            .unwrap_or_default()
    }
}

impl Host for FakeHost {
    fn request_headers(&mut self) -> Result<HeaderMap, HostError> {
        self.call(Call::RequestHeaders)?;
        // Through the host's serialization, as Envoy hands it over.
        let map =
            HeaderMap::from_pairs(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())));
        HeaderMap::from_host(map.into_bytes()).ok_or_else(|| HostError("malformed map".into()))
    }

    fn remove_request_header(&mut self, name: &str) -> Result<(), HostError> {
        self.call(Call::RemoveHeader(name.to_string()))?;
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        Ok(())
    }

    fn set_request_header(&mut self, name: &str, value: &str) -> Result<(), HostError> {
        self.call(Call::SetHeader(name.to_string(), value.to_string()))?;
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers
            .push((name.to_string(), value.as_bytes().to_vec()));
        Ok(())
    }

    fn property(&mut self, path: &[&str]) -> Result<Option<Vec<u8>>, HostError> {
        let path = path.join(".");
        self.call(Call::Property(path.clone()))?;
        Ok(self.properties.get(&path).cloned())
    }

    fn clock(&mut self) -> Result<SystemTime, HostError> {
        self.call(Call::Clock)?;
        Ok(self.now)
    }

    fn send_reply(&mut self, reply: &Reply) -> Result<(), HostError> {
        self.call(Call::SendReply(reply.status))?;
        self.reply = Some(reply.clone());
        Ok(())
    }

    fn set_filter_state(&mut self, name: &str, value: &[u8]) -> Result<(), HostError> {
        let value = String::from_utf8_lossy(value).into_owned();
        self.call(Call::SetFilterState(name.to_string(), value.clone()))?;
        self.filter_state.insert(name.to_string(), value);
        Ok(())
    }

    fn log_enabled(&self, level: Level) -> bool {
        level >= self.level
    }

    fn log(&mut self, level: Level, message: &str) {
        if self.log_enabled(level) {
            self.calls.push(Call::Log(level, message.to_string()));
        }
    }

    fn define_metric(&mut self, _kind: MetricKind, name: &str) -> Option<u32> {
        self.call(Call::DefineMetric(name.to_string())).ok()?;
        let id = u32::try_from(self.metric_names.len()).ok()?;
        self.metric_names.push(name.to_string());
        self.metrics.insert(name.to_string(), 0);
        Some(id)
    }

    fn increment_metric(&mut self, id: u32, delta: u64) {
        let name = self.metric_name(id);
        if self
            .call(Call::IncrementMetric(name.clone(), delta))
            .is_ok()
        {
            *self.metrics.entry(name).or_default() += delta;
        }
    }

    fn record_metric(&mut self, id: u32, value: u64) {
        let name = self.metric_name(id);
        if self.call(Call::RecordMetric(name.clone(), value)).is_ok() {
            self.metrics.insert(name, value);
        }
    }

    fn memory_bytes(&self) -> u64 {
        0
    }

    fn dispatch_http_call(&mut self, call: &HttpCall<'_>) -> Result<u32, HostError> {
        let HttpCall {
            cluster,
            headers,
            body,
            ..
        } = *call;
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
            .collect();
        self.call(Call::Dispatch(
            cluster.to_string(),
            headers.clone(),
            body.to_vec(),
        ))?;
        let token = self.next_token;
        self.next_token += 1;
        self.dispatched
            .push((token, cluster.to_string(), headers, body.to_vec()));
        Ok(token)
    }

    fn resume_request(&mut self) -> Result<(), HostError> {
        self.call(Call::Resume)
    }

    fn context_id(&self) -> u32 {
        self.context
    }

    fn set_effective_context(&mut self, context: u32) -> Result<(), HostError> {
        self.call(Call::SetEffectiveContext(context))?;
        self.context = context;
        Ok(())
    }

    fn shared_data(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostError> {
        self.call(Call::SharedData(key.to_string()))?;
        Ok(match self.shared.get(key) {
            Some((value, cas)) => (Some(value.clone()), Some(*cas)),
            None => (None, None),
        })
    }

    fn set_shared_data(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> Written {
        self.call(Call::SetSharedData(key.to_string()))
            .map_err(|HostError(e)| SharedDataError::Failed(e))?;
        if cas.is_some() && self.cas_conflicts > 0 {
            self.cas_conflicts -= 1;
            return Err(SharedDataError::CasMismatch);
        }
        // Envoy's rule: a token must match the key's current one; no token always writes.
        if let Some(cas) = cas
            && self
                .shared
                .get(key)
                .is_some_and(|(_, current)| *current != cas)
        {
            return Err(SharedDataError::CasMismatch);
        }
        self.next_cas += 1;
        self.shared
            .insert(key.to_string(), (value.to_vec(), self.next_cas));
        Ok(())
    }

    fn random(&mut self, out: &mut [u8]) -> Result<(), HostError> {
        self.call(Call::Random)?;
        // Distinct on every call of every fake host of the process (never random, never
        // repeated), so two questions never share a nonce.
        static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = n.to_be_bytes()[i % 8] ^ (i as u8);
        }
        Ok(())
    }
}
