//! Envoy stats: counters and gauges under `client_cert_auth.` (names in the README). Each
//! request counts once as passed, forwarded or denied (by reason), plus its cache use and
//! whether it was excluded.
//!
//! Counting costs no host call on the request path: counts accumulate in the module and
//! [`Metrics::flush`] hands them to Envoy from the root context's timer, once a
//! [`FLUSH_PERIOD_MS`] (a host call per counter that moved, not per request). The gauges are set
//! at the same time. Counts of the last period before a VM stops can be lost; nothing decides
//! on them.

use std::cell::Cell;

use super::host::{Host, MetricKind};
use crate::outcome::{CacheUse, Decision, DenyReason, Outcome, Reason};

/// How often the counts reach Envoy's stats, in milliseconds.
pub const FLUSH_PERIOD_MS: u64 = 1000;

/// One counter: its stat id (`None` where the host refused to define it; the filter runs on
/// without it) and the count not yet handed to the host.
#[derive(Debug, Default)]
struct Counter {
    id: Option<u32>,
    pending: Cell<u64>,
}

impl Counter {
    fn define(host: &mut impl Host, name: &str) -> Counter {
        Counter {
            id: host.define_metric(MetricKind::Counter, &format!("client_cert_auth.{name}")),
            pending: Cell::new(0),
        }
    }

    fn bump(&self) {
        self.pending.set(self.pending.get().saturating_add(1));
    }

    fn flush(&self, host: &mut impl Host) {
        let pending = self.pending.replace(0);
        if let (Some(id), true) = (self.id, pending > 0) {
            host.increment_metric(id, pending);
        }
    }
}

/// Stat ids and the counts not yet flushed.
#[derive(Debug)]
pub struct Metrics {
    passed: Counter,
    forwarded: Counter,
    excluded: Counter,
    cache_hits: Counter,
    cache_misses: Counter,
    /// `denied.<reason>`, indexed by [`Reason::index`].
    denied: [Counter; Reason::COUNT],
    /// Gauges, set at each flush by a VM that has handled a request.
    cache_entries: Option<u32>,
    memory_bytes: Option<u32>,
    /// Whether this VM has handled a request under this configuration. Every VM of the plugin
    /// sets the same gauges, and Envoy keeps the last value set: the main thread's VM, which
    /// only checks the configuration and never sees a request, would overwrite a worker's
    /// cache size and memory with its own (an empty cache) once a second.
    served: Cell<bool>,
}

impl Metrics {
    /// Defines every stat under `client_cert_auth.`, once, when a configuration is accepted.
    pub fn define(host: &mut impl Host) -> Metrics {
        let gauge = |host: &mut _, name: &str| Host::define_metric(host, MetricKind::Gauge, name);
        Metrics {
            cache_entries: gauge(host, "client_cert_auth.cache_entries"),
            memory_bytes: gauge(host, "client_cert_auth.memory_bytes"),
            passed: Counter::define(host, "passed"),
            forwarded: Counter::define(host, "forwarded"),
            excluded: Counter::define(host, "excluded"),
            cache_hits: Counter::define(host, "cache_hits"),
            cache_misses: Counter::define(host, "cache_misses"),
            denied: Reason::ALL
                .map(|reason| Counter::define(host, &format!("denied.{}", reason.name()))),
            served: Cell::new(false),
        }
    }

    /// A request reached this VM: from now on its flushes set the gauges.
    pub fn record_request(&self) {
        self.served.set(true);
    }

    fn counters(&self) -> impl Iterator<Item = &Counter> {
        [
            &self.passed,
            &self.forwarded,
            &self.excluded,
            &self.cache_hits,
            &self.cache_misses,
        ]
        .into_iter()
        .chain(self.denied.iter())
    }

    /// Whether the request was excluded, and how the cache served it.
    pub fn record_lookup(&self, outcome: &Outcome) {
        if outcome.excluded {
            self.excluded.bump();
        }
        match outcome.cache {
            CacheUse::Hit => self.cache_hits.bump(),
            CacheUse::Miss => self.cache_misses.bump(),
            CacheUse::NotConsulted => {}
        }
    }

    /// A request that went on to the upstream.
    pub fn record_decision(&self, decision: &Decision) {
        match decision {
            Decision::Pass(_) => self.passed.bump(),
            Decision::Forward { .. } => self.forwarded.bump(),
            Decision::Deny(reason) => self.record_denied(reason),
        }
    }

    /// A request answered locally.
    pub fn record_denied(&self, reason: &DenyReason) {
        self.denied[reason.reason().index()].bump();
    }

    /// Hands the accumulated counts to the host, and, once this VM has handled a request, sets
    /// the gauges: the cache size and the module's linear memory (which only grows), flat once
    /// the cache is full if nothing leaks.
    pub fn flush(&self, host: &mut impl Host, cache_entries: usize) {
        for counter in self.counters() {
            counter.flush(host);
        }
        if !self.served.get() {
            return;
        }
        if let Some(id) = self.cache_entries {
            host.record_metric(id, u64::try_from(cache_entries).unwrap_or(u64::MAX));
        }
        if let Some(id) = self.memory_bytes {
            let bytes = host.memory_bytes();
            host.record_metric(id, bytes);
        }
    }
}
