//! Envoy stats: counters and gauges under `client_cert_auth.` (names in docs/operations.md). Each
//! request counts once as passed, forwarded, denied (by reason) or, under `reportOnly`, would
//! be denied (by reason), plus its cache use and whether it was excluded; a request a named
//! rule decided counts once more under `rule.<name>.`.
//!
//! Counting costs no host call on the request path: counts accumulate in the module and
//! [`Metrics::flush`] hands them to Envoy from the root context's timer, once a
//! [`FLUSH_PERIOD_MS`] (a host call per counter that moved, not per request). The gauges are set
//! at the same time. Counts of the last period before a VM stops can be lost; nothing decides
//! on them.

use std::cell::Cell;

use super::host::{Host, MetricKind};
use crate::decision::Config;
use crate::decision::{CacheUse, Outcome};
use crate::outcome::{Decision, DenyReason, PassReason, Reason};
use crate::validation::revocation::OcspStatus;

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
    fn new(id: Option<u32>) -> Counter {
        Counter {
            id,
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
    /// `would_deny.<reason>` (report only), indexed by [`Reason::index`].
    would_deny: [Counter; Reason::COUNT],
    /// `rule.<name>.*`, indexed like `rules`; an unnamed rule has none.
    rules: Vec<Option<RuleMetrics>>,
    /// Gauges, set at each flush by a VM that has handled a request.
    cache_entries: Option<u32>,
    memory_bytes: Option<u32>,
    /// Whether this VM has handled a request under this configuration. Every VM of the plugin
    /// sets the same gauges, and Envoy keeps the last value set: the main thread's VM, which
    /// only checks the configuration and never sees a request, would overwrite a worker's
    /// cache size and memory with its own (an empty cache) once a second.
    served: Cell<bool>,
    /// Run-time revocation: `revocation.*` (none without `revocationSources`).
    pub revocation: RevocationMetrics,
}

/// The stats of run-time revocation: per fetched CRL (`revocation.crl_<i>.*`, `i` its index in
/// `revocationSources.crls`), OCSP answers, and soft fails.
#[derive(Debug, Default)]
pub struct RevocationMetrics {
    crls: Vec<CrlMetrics>,
    /// `revocation.ocsp.good`, `.revoked`, `.unknown` (the responder does not know the
    /// certificate), `.failed` (no answer, an HTTP error, or an answer that did not verify).
    ocsp: Option<[Counter; 4]>,
    soft_fail: Option<Counter>,
}

/// What an OCSP exchange gave, for its counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspResult {
    /// A verified answer: not revoked.
    Good = 0,
    /// A verified answer: revoked.
    Revoked = 1,
    /// A verified answer: the responder does not know the certificate.
    Unknown = 2,
    /// No usable answer.
    Failed = 3,
}

impl OcspResult {
    /// The count an OCSP status adds to.
    pub fn of(status: &OcspStatus) -> OcspResult {
        match status {
            OcspStatus::Good => OcspResult::Good,
            OcspStatus::Revoked => OcspResult::Revoked,
            OcspStatus::Unknown => OcspResult::Unknown,
            OcspStatus::NoAnswer(_) => OcspResult::Failed,
        }
    }
}

#[derive(Debug)]
struct CrlMetrics {
    fetched: Counter,
    fetch_failed: Counter,
    entries: Option<u32>,
    age_seconds: Option<u32>,
}

impl RevocationMetrics {
    /// A CRL fetch succeeded (`fetched`) or failed (`fetch_failed`).
    pub fn record_fetch(&self, source: usize, ok: bool) {
        if let Some(m) = self.crls.get(source) {
            if ok {
                m.fetched.bump()
            } else {
                m.fetch_failed.bump()
            }
        }
    }

    /// An OCSP exchange ended.
    pub fn record_ocsp(&self, result: OcspResult) {
        if let Some(counters) = &self.ocsp {
            counters[result as usize].bump();
        }
    }

    /// A certificate let through without a fresh status.
    pub fn record_soft_fail(&self) {
        if let Some(c) = &self.soft_fail {
            c.bump();
        }
    }

    fn counters(&self) -> impl Iterator<Item = &Counter> {
        self.crls
            .iter()
            .flat_map(|m| [&m.fetched, &m.fetch_failed])
            .chain(self.ocsp.iter().flatten())
            .chain(self.soft_fail.iter())
    }

    /// Sets the CRL gauges: entries and age (seconds since thisUpdate) of each installed CRL.
    pub fn set_gauges(&self, host: &mut impl Host, crls: &[(usize, u64, u64)]) {
        for (source, entries, age) in crls {
            if let Some(m) = self.crls.get(*source) {
                if let Some(id) = m.entries {
                    host.record_metric(id, *entries);
                }
                if let Some(id) = m.age_seconds {
                    host.record_metric(id, *age);
                }
            }
        }
    }
}

/// The counters of one named rule: `rule.<name>.passed`, `.forwarded`, `.denied.<reason>` and
/// `.would_deny.<reason>`.
#[derive(Debug)]
struct RuleMetrics {
    passed: Counter,
    forwarded: Counter,
    denied: [Counter; Reason::COUNT],
    would_deny: [Counter; Reason::COUNT],
}

impl RuleMetrics {
    fn counters(&self) -> impl Iterator<Item = &Counter> {
        [&self.passed, &self.forwarded]
            .into_iter()
            .chain(self.denied.iter())
            .chain(self.would_deny.iter())
    }
}

impl Metrics {
    /// Defines every stat under `client_cert_auth.`, once, when a configuration is accepted.
    pub fn define(host: &mut impl Host, config: &Config) -> Metrics {
        let mut stat = |kind: MetricKind, name: &str| {
            host.define_metric(kind, &format!("client_cert_auth.{name}"))
        };
        let cache_entries = stat(MetricKind::Gauge, "cache_entries");
        let memory_bytes = stat(MetricKind::Gauge, "memory_bytes");
        let mut counter = |name: &str| Counter::new(stat(MetricKind::Counter, name));
        let rules = config
            .rules
            .iter()
            .map(|rule| {
                let name = rule.name.as_deref()?;
                Some(RuleMetrics {
                    passed: counter(&format!("rule.{name}.passed")),
                    forwarded: counter(&format!("rule.{name}.forwarded")),
                    denied: Reason::ALL
                        .map(|reason| counter(&format!("rule.{name}.denied.{}", reason.name()))),
                    would_deny: Reason::ALL.map(|reason| {
                        counter(&format!("rule.{name}.would_deny.{}", reason.name()))
                    }),
                })
            })
            .collect();
        let passed = counter("passed");
        let forwarded = counter("forwarded");
        let excluded = counter("excluded");
        let cache_hits = counter("cache_hits");
        let cache_misses = counter("cache_misses");
        let denied = Reason::ALL.map(|reason| counter(&format!("denied.{}", reason.name())));
        let would_deny =
            Reason::ALL.map(|reason| counter(&format!("would_deny.{}", reason.name())));
        let revocation = match config.validation.online_sources() {
            None => RevocationMetrics::default(),
            Some(sources) => RevocationMetrics {
                crls: (0..sources.crls.len())
                    .map(|i| CrlMetrics {
                        fetched: counter(&format!("revocation.crl_{i}.fetched")),
                        fetch_failed: counter(&format!("revocation.crl_{i}.fetch_failed")),
                        entries: None,
                        age_seconds: None,
                    })
                    .collect(),
                ocsp: sources.ocsp.as_ref().map(|_| {
                    ["good", "revoked", "unknown", "failed"]
                        .map(|name| counter(&format!("revocation.ocsp.{name}")))
                }),
                soft_fail: Some(counter("revocation.soft_fail")),
            },
        };
        let mut revocation = revocation;
        for (i, m) in revocation.crls.iter_mut().enumerate() {
            m.entries = host.define_metric(
                MetricKind::Gauge,
                &format!("client_cert_auth.revocation.crl_{i}.entries"),
            );
            m.age_seconds = host.define_metric(
                MetricKind::Gauge,
                &format!("client_cert_auth.revocation.crl_{i}.age_seconds"),
            );
        }
        Metrics {
            cache_entries,
            memory_bytes,
            passed,
            forwarded,
            excluded,
            cache_hits,
            cache_misses,
            denied,
            would_deny,
            rules,
            served: Cell::new(false),
            revocation,
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
        .chain(self.would_deny.iter())
        .chain(self.rules.iter().flatten().flat_map(RuleMetrics::counters))
        .chain(self.revocation.counters())
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

    /// A request that went on to the upstream, decided by the rule at index `rule` (`None`:
    /// `clientCertMode`).
    pub fn record_decision(&self, decision: &Decision, rule: Option<usize>) {
        let named = self.rule(rule);
        match decision {
            Decision::Pass(PassReason::ReportOnly(reason)) => {
                let i = reason.reason().index();
                self.would_deny[i].bump();
                if let Some(r) = named {
                    r.would_deny[i].bump();
                }
            }
            Decision::Pass(_) => {
                self.passed.bump();
                if let Some(r) = named {
                    r.passed.bump();
                }
            }
            Decision::Forward { .. } => {
                self.forwarded.bump();
                if let Some(r) = named {
                    r.forwarded.bump();
                }
            }
            Decision::Deny(reason) => self.record_denied(reason, rule),
        }
    }

    /// A request answered locally, decided by the rule at index `rule`.
    pub fn record_denied(&self, reason: &DenyReason, rule: Option<usize>) {
        let i = reason.reason().index();
        self.denied[i].bump();
        if let Some(r) = self.rule(rule) {
            r.denied[i].bump();
        }
    }

    fn rule(&self, index: Option<usize>) -> Option<&RuleMetrics> {
        self.rules.get(index?)?.as_ref()
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
