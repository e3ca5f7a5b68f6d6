//! Envoy stats: counters and gauges under `client_cert_auth.` (names in the README). Each
//! request counts once as passed, forwarded, denied (by reason) or, under `reportOnly`, would
//! be denied (by reason), plus its cache use and whether it was excluded; a request a named
//! rule decided counts once more under `rule.<name>.`.

use super::host::{Host, MetricKind};
use crate::decision::Config;
use crate::outcome::{CacheUse, Decision, DenyReason, Outcome, PassReason, Reason};

/// Stat ids; `None` where the host refused to define one (the filter runs on without it).
#[derive(Debug)]
pub struct Metrics {
    passed: Option<u32>,
    forwarded: Option<u32>,
    excluded: Option<u32>,
    cache_hits: Option<u32>,
    cache_misses: Option<u32>,
    /// Gauges, updated when a certificate is judged afresh (not on every request).
    cache_entries: Option<u32>,
    memory_bytes: Option<u32>,
    /// `denied.<reason>`, indexed by [`Reason::index`].
    denied: [Option<u32>; Reason::COUNT],
    /// `would_deny.<reason>` (report only), indexed by [`Reason::index`].
    would_deny: [Option<u32>; Reason::COUNT],
    /// `rule.<name>.*`, indexed like `rules`; an unnamed rule has none.
    rules: Vec<Option<RuleMetrics>>,
}

/// The counters of one named rule: `rule.<name>.passed`, `.forwarded`, `.denied.<reason>` and
/// `.would_deny.<reason>`.
#[derive(Debug)]
struct RuleMetrics {
    passed: Option<u32>,
    forwarded: Option<u32>,
    denied: [Option<u32>; Reason::COUNT],
    would_deny: [Option<u32>; Reason::COUNT],
}

impl Metrics {
    /// Defines every stat under `client_cert_auth.`, once, when a configuration is accepted.
    pub fn define(host: &mut impl Host, config: &Config) -> Metrics {
        let mut define = |kind: MetricKind, name: &str| {
            host.define_metric(kind, &format!("client_cert_auth.{name}"))
        };
        let rules = config
            .rules
            .iter()
            .map(|rule| {
                let name = rule.name.as_deref()?;
                Some(RuleMetrics {
                    passed: define(MetricKind::Counter, &format!("rule.{name}.passed")),
                    forwarded: define(MetricKind::Counter, &format!("rule.{name}.forwarded")),
                    denied: Reason::ALL.map(|reason| {
                        define(
                            MetricKind::Counter,
                            &format!("rule.{name}.denied.{}", reason.name()),
                        )
                    }),
                    would_deny: Reason::ALL.map(|reason| {
                        define(
                            MetricKind::Counter,
                            &format!("rule.{name}.would_deny.{}", reason.name()),
                        )
                    }),
                })
            })
            .collect();
        Metrics {
            cache_entries: define(MetricKind::Gauge, "cache_entries"),
            memory_bytes: define(MetricKind::Gauge, "memory_bytes"),
            passed: define(MetricKind::Counter, "passed"),
            forwarded: define(MetricKind::Counter, "forwarded"),
            excluded: define(MetricKind::Counter, "excluded"),
            cache_hits: define(MetricKind::Counter, "cache_hits"),
            cache_misses: define(MetricKind::Counter, "cache_misses"),
            denied: Reason::ALL
                .map(|reason| define(MetricKind::Counter, &format!("denied.{}", reason.name()))),
            would_deny: Reason::ALL.map(|reason| {
                define(
                    MetricKind::Counter,
                    &format!("would_deny.{}", reason.name()),
                )
            }),
            rules,
        }
    }

    fn bump(host: &mut impl Host, id: Option<u32>) {
        if let Some(id) = id {
            host.increment_metric(id);
        }
    }

    /// Whether the request was excluded, and how the cache served it.
    pub fn record_lookup(&self, host: &mut impl Host, outcome: &Outcome) {
        if outcome.excluded {
            Metrics::bump(host, self.excluded);
        }
        match outcome.cache {
            CacheUse::Hit => Metrics::bump(host, self.cache_hits),
            CacheUse::Miss => Metrics::bump(host, self.cache_misses),
            CacheUse::NotConsulted => {}
        }
    }

    /// A request that went on to the upstream, decided by the rule at index `rule` (`None`:
    /// `clientCertMode`).
    pub fn record_decision(&self, host: &mut impl Host, decision: &Decision, rule: Option<usize>) {
        let named = self.rule(rule);
        match decision {
            Decision::Pass(PassReason::ReportOnly(reason)) => {
                let i = reason.reason().index();
                Metrics::bump(host, self.would_deny[i]);
                Metrics::bump(host, named.and_then(|r| r.would_deny[i]));
            }
            Decision::Pass(_) => {
                Metrics::bump(host, self.passed);
                Metrics::bump(host, named.and_then(|r| r.passed));
            }
            Decision::Forward { .. } => {
                Metrics::bump(host, self.forwarded);
                Metrics::bump(host, named.and_then(|r| r.forwarded));
            }
            Decision::Deny(reason) => self.record_denied(host, reason, rule),
        }
    }

    /// A request answered locally, decided by the rule at index `rule`.
    pub fn record_denied(&self, host: &mut impl Host, reason: &DenyReason, rule: Option<usize>) {
        let i = reason.reason().index();
        Metrics::bump(host, self.denied[i]);
        Metrics::bump(host, self.rule(rule).and_then(|r| r.denied[i]));
    }

    fn rule(&self, index: Option<usize>) -> Option<&RuleMetrics> {
        self.rules.get(index?)?.as_ref()
    }

    /// The cache size and the module's linear memory (which only grows): flat once the cache
    /// is full, if nothing leaks.
    pub fn record_memory(&self, host: &mut impl Host, cache_entries: usize) {
        if let Some(id) = self.cache_entries {
            host.record_metric(id, u64::try_from(cache_entries).unwrap_or(u64::MAX));
        }
        if let Some(id) = self.memory_bytes {
            let bytes = host.memory_bytes();
            host.record_metric(id, bytes);
        }
    }
}
