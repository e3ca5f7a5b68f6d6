//! The soak workload: `make soak` (examples/soak.rs, a million requests) and its short version
//! in `make test` (tests/e2e/soak.rs).
//!
//! Envoy runs the filter (trust check on, `/public` excluded, a verdict cache smaller than the
//! number of valid certificates) in front of [`Checker`], an upstream that judges every request
//! that reaches it independently of the filter: the route adds `x-soak-peer-sha256`, the
//! SHA-256 of the certificate the TLS connection really carried, computed by Envoy's router
//! after every HTTP filter ran (so the module cannot touch it, and a client-sent copy is
//! removed first). The checker knows which certificates are valid (it was given them when
//! they were made) and answers 418 when what arrived is wrong: an `X-ARR-ClientCert` that is
//! not the connection's certificate, one for an invalid certificate or on a connection without
//! one, several of them, or a protected path reached without one.
//!
//! The load is oha (keep-alive, one process per stream of requests): several oha processes at
//! once ("lanes"), each running one stream after another. A stream is one kind of request, so
//! its status is known in advance (valid certificate 200, expired, untrusted or missing on a
//! protected path 401, excluded paths 200; forged headers on some), and the valid certificates
//! are taken in turn, so the cache, smaller than their number, keeps evicting. Every status
//! oha saw that is not the stream's expected one is a wrong decision.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::cases::{b64, sha256_hex};
use crate::envoy::{ClientCert, Envoy, EnvoyOptions, Pki, required_file};
use crate::pki::Ca;

/// Entries the filter's verdict cache holds.
pub const CACHE_SIZE: usize = 50;
/// Distinct valid client certificates, taken in turn: three times what the cache holds.
pub const DISTINCT: usize = 150;
/// The header the route adds: Envoy's SHA-256 of the connection's certificate.
const PEER_HEADER: &str = "x-soak-peer-sha256";

/// The oha binary: `$OHA_BIN`, else the one `make` installs into `.tools/`.
pub fn oha_bin() -> PathBuf {
    required_file(
        "OHA_BIN",
        ".tools/bin/oha",
        "run `make soak` or `make test` (they install oha 1.16.0 into .tools/), or set OHA_BIN",
    )
}

/// How much load, and how it is cut.
#[derive(Clone, Debug)]
pub struct Options {
    /// Requests in all.
    pub requests: usize,
    /// Requests per oha process.
    pub stream: usize,
    /// oha processes at once.
    pub lanes: usize,
    /// Print a line as each tenth of the streams is done.
    pub progress: bool,
}

impl Options {
    /// `requests` in streams sized so that even a short run goes through every valid
    /// certificate twice (at least 500 streams, six in ten with a valid certificate), up to
    /// 1,000 requests each.
    pub fn new(requests: usize) -> Options {
        Options {
            requests,
            stream: (requests / 500).clamp(20, 1000),
            lanes: 6,
            progress: false,
        }
    }
}

/// One kind of stream: what it sends and what must come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A valid certificate on a protected path: 200, forwarded (checked upstream).
    Valid,
    /// The same over HTTP/2.
    ValidHttp2,
    /// A valid certificate with forged `X-ARR-ClientCert` and peer headers: 200, the real one
    /// forwarded.
    ValidForged,
    /// A valid certificate on an excluded path, forged headers: 200, forwarded.
    ValidExcluded,
    /// An expired certificate on a protected path: 401.
    Expired,
    /// An expired certificate on an excluded path: 200, nothing forwarded.
    ExpiredExcluded,
    /// A certificate from a CA the filter does not trust: 401.
    Untrusted,
    /// No certificate, forged headers, protected path: 401.
    Missing,
    /// No certificate, forged headers, excluded path: 200, nothing forwarded.
    MissingExcluded,
}

impl Kind {
    /// The order streams are started in: six of ten carry a valid certificate.
    const CYCLE: [Kind; 10] = [
        Kind::Valid,
        Kind::Expired,
        Kind::ValidForged,
        Kind::Missing,
        Kind::ValidHttp2,
        Kind::Untrusted,
        Kind::ValidExcluded,
        Kind::Valid,
        Kind::ValidForged,
        Kind::MissingExcluded,
    ];

    /// The kind of the `n`th stream; every other cycle ends with an expired certificate on an
    /// excluded path instead of none.
    fn of_stream(n: usize) -> Kind {
        match Kind::CYCLE[n % Kind::CYCLE.len()] {
            Kind::MissingExcluded if (n / Kind::CYCLE.len()) % 2 == 1 => Kind::ExpiredExcluded,
            kind => kind,
        }
    }

    fn valid_cert(self) -> bool {
        matches!(
            self,
            Kind::Valid | Kind::ValidHttp2 | Kind::ValidForged | Kind::ValidExcluded
        )
    }

    fn excluded(self) -> bool {
        matches!(
            self,
            Kind::ValidExcluded | Kind::ExpiredExcluded | Kind::MissingExcluded
        )
    }

    fn forged(self) -> bool {
        matches!(
            self,
            Kind::ValidForged | Kind::ValidExcluded | Kind::Missing | Kind::MissingExcluded
        )
    }

    /// The filter counter each request of this kind must move (besides `excluded`).
    fn expected_counter(self) -> &'static str {
        match self {
            Kind::Expired | Kind::Untrusted | Kind::Missing => "denied",
            Kind::ExpiredExcluded | Kind::MissingExcluded => "passed",
            _ => "forwarded",
        }
    }

    fn expected_status(self) -> u16 {
        match self {
            Kind::Expired | Kind::Untrusted | Kind::Missing => 401,
            _ => 200,
        }
    }
}

/// What one kind of stream came to.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub requests: u64,
    pub wrong: u64,
    /// Every status seen, with its count.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests oha could not complete (connection errors, timeouts), by message.
    pub errors: BTreeMap<String, u64>,
}

/// The outcome of a soak run.
#[derive(Debug, Default)]
pub struct Report {
    pub requested: usize,
    pub streams: usize,
    pub lanes: usize,
    pub elapsed: Duration,
    pub by_kind: BTreeMap<Kind, Tally>,
    /// oha runs that failed outright (exit status, unreadable output).
    pub oha_failures: Vec<String>,
    /// Requests the checker judged, and those it found wrong, by reason.
    pub checked: u64,
    pub checker_wrong: BTreeMap<&'static str, u64>,
    pub distinct_valid_used: usize,
    /// `client_cert_auth.memory_bytes` when `cache_entries` first read full.
    pub memory_full: Option<u64>,
    pub memory_full_at: Option<Duration>,
    /// The baseline: the gauge at the first flush after every valid certificate had been
    /// through the filter once (the cache full, and the signature memo, which remembers each
    /// certificate's signature up to 256 of them, holding all of the working set), when no
    /// bounded structure of the module has anything left to grow into; memory must not grow
    /// past it.
    pub memory_warm: Option<u64>,
    pub memory_warm_at: Option<Duration>,
    pub memory_max: u64,
    pub memory_end: u64,
    /// When the memory gauge changed, and to what.
    pub memory_steps: Vec<(Duration, u64)>,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub cache_entries_end: u64,
    /// The filter's own counts: forwarded, passed, denied (all reasons), excluded.
    pub filter_counts: BTreeMap<String, u64>,
}

impl Report {
    pub fn answered(&self) -> u64 {
        self.by_kind
            .values()
            .map(|t| t.statuses.values().sum::<u64>())
            .sum()
    }
    pub fn wrong(&self) -> u64 {
        self.by_kind.values().map(|t| t.wrong).sum()
    }
    pub fn status_count(&self, pred: impl Fn(u16) -> bool) -> u64 {
        self.by_kind
            .values()
            .flat_map(|t| t.statuses.iter())
            .filter(|(s, _)| pred(**s))
            .map(|(_, n)| n)
            .sum()
    }
    pub fn server_errors(&self) -> u64 {
        self.status_count(|s| s >= 500)
    }
    pub fn errors(&self) -> u64 {
        self.by_kind.values().flat_map(|t| t.errors.values()).sum()
    }

    /// Why the run failed; empty when it passed.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let answered = self.answered();
        if answered != self.requested as u64 || self.errors() > 0 {
            failures.push(format!(
                "{answered} of {} requests answered, {} client errors",
                self.requested,
                self.errors()
            ));
        }
        if !self.oha_failures.is_empty() {
            failures.push(format!("{} oha runs failed", self.oha_failures.len()));
        }
        if self.wrong() > 0 {
            failures.push(format!("{} wrong decisions", self.wrong()));
        }
        if self.server_errors() > 0 {
            failures.push(format!("{} responses were 5xx", self.server_errors()));
        }
        let checker_wrong: u64 = self.checker_wrong.values().sum();
        if checker_wrong > 0 {
            failures.push(format!("the upstream checker found {checker_wrong} wrong"));
        }
        // Every 200 (and 418) came from the checker: Envoy answers nothing else locally here.
        let upstream = self.status_count(|s| s == 200 || s == 418);
        if self.checked != upstream {
            failures.push(format!(
                "the checker judged {} requests, clients saw {upstream} upstream answers",
                self.checked
            ));
        }
        if self.distinct_valid_used <= CACHE_SIZE {
            failures.push(format!(
                "only {} distinct valid certificates used: the cache ({CACHE_SIZE}) never had to evict",
                self.distinct_valid_used
            ));
        }
        // The filter's own counters (flushed after the run) agree with what the clients sent.
        let mut expected = BTreeMap::<String, u64>::new();
        for (kind, tally) in &self.by_kind {
            *expected
                .entry(kind.expected_counter().to_string())
                .or_default() += tally.requests;
            if kind.excluded() {
                *expected.entry("excluded".to_string()).or_default() += tally.requests;
            }
        }
        for (name, count) in &self.filter_counts {
            let want = expected.get(name).copied().unwrap_or(0);
            if *count != want {
                failures.push(format!(
                    "the filter counted {count} {name}, expected {want}"
                ));
            }
        }
        if self.memory_full.is_none() {
            failures.push("the cache never read full".to_string());
        }
        match self.memory_warm {
            None => failures.push(
                "the run ended before every valid certificate had been seen once: no memory baseline"
                    .to_string(),
            ),
            Some(warm) if self.memory_end > warm || self.memory_max > warm.max(self.memory_end) => {
                failures.push(format!(
                    "module memory grew after every certificate had been seen: {warm} -> {} bytes (at most {})",
                    self.memory_end, self.memory_max
                ))
            }
            Some(_) => {}
        }
        failures
    }

    pub fn print(&self) {
        let secs = self.elapsed.as_secs_f64();
        let answered = self.answered();
        println!(
            "soak: {answered} requests in {secs:.1} s ({:.0} requests/s), {} oha streams, {} at once",
            answered as f64 / secs.max(1e-9),
            self.streams,
            self.lanes
        );
        println!(
            "  certificates: {} distinct valid used (cache holds {CACHE_SIZE}), 1 expired, 1 untrusted",
            self.distinct_valid_used
        );
        println!(
            "  {:<16} {:>9} {:>7}  statuses",
            "stream kind", "requests", "wrong"
        );
        for (kind, tally) in &self.by_kind {
            let statuses: Vec<String> = tally
                .statuses
                .iter()
                .map(|(s, n)| format!("{s}x{n}"))
                .chain(tally.errors.iter().map(|(e, n)| format!("error {e:?}x{n}")))
                .collect();
            println!(
                "  {:<16} {:>9} {:>7}  {}",
                format!("{kind:?}"),
                tally.requests,
                tally.wrong,
                statuses.join(" ")
            );
        }
        println!("  wrong decisions: {}", self.wrong());
        println!("  5xx: {}", self.server_errors());
        println!("  client errors: {}", self.errors());
        println!(
            "  upstream checker: {} judged, {} wrong {:?}",
            self.checked,
            self.checker_wrong.values().sum::<u64>(),
            self.checker_wrong
        );
        println!(
            "  cache: {} hits, {} misses, {} entries at the end",
            self.cache_hits, self.cache_misses, self.cache_entries_end
        );
        let counts: Vec<String> = self
            .filter_counts
            .iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect();
        println!("  filter counters: {}", counts.join(", "));
        let at = |bytes: Option<u64>, t: Option<Duration>| match (bytes, t) {
            (Some(b), Some(t)) => format!("{b} bytes ({:.0} s in)", t.as_secs_f64()),
            _ => "never".to_string(),
        };
        println!(
            "  module memory: {} when the cache first read full, {} once every certificate had been seen (baseline), {} at most, {} at the end",
            at(self.memory_full, self.memory_full_at),
            at(self.memory_warm, self.memory_warm_at),
            self.memory_max,
            self.memory_end
        );
        let steps: Vec<String> = self
            .memory_steps
            .iter()
            .map(|(t, m)| format!("{m} at {:.0} s", t.as_secs_f64()))
            .collect();
        println!("  module memory gauge over the run: {}", steps.join(", "));
        for failure in &self.oha_failures {
            println!("  oha failed: {failure}");
        }
    }
}

/// Runs the workload and reports; never panics on a wrong answer (the report says it).
pub fn run(options: &Options) -> Report {
    let oha = oha_bin();
    let pki = Pki::new();
    let now = OffsetDateTime::now_utc();
    let valid: Vec<ClientCert> = (0..DISTINCT)
        .map(|i| {
            pki.save(
                &format!("valid-{i}"),
                &pki.ca.client(&format!("soak client {i}")),
            )
        })
        .collect();
    let expired = pki.save(
        "expired",
        &pki.ca.client_between(
            "soak expired",
            now - time::Duration::days(9),
            now - time::Duration::days(1),
        ),
    );
    let rogue = Ca::new("soak rogue CA");
    let untrusted = pki.save("untrusted", &rogue.client("soak untrusted"));

    let checker = Checker::start(
        valid
            .iter()
            .map(|c| (sha256_hex(&c.der), b64(&c.der)))
            .collect(),
    );
    let config = format!(
        r#"{{"clientCertMode": "Required", "clientCertExclusionPaths": "/public",
            "cacheSize": {CACHE_SIZE},
            "validation": {{"validateTrust": true, "trustedCaCertificates": [{ca}]}}}}"#,
        ca = serde_json::to_string(&pki.ca.cert_pem()).unwrap()
    );
    // Envoy's router adds the connection's certificate digest after every HTTP filter ran,
    // having removed any copy the client sent; empty when there is no certificate.
    let routes = format!(
        r#"virtual_hosts:
- name: soak
  domains: ["*"]
  routes:
  - match: {{ prefix: "/" }}
    route: {{ cluster: echo }}
    request_headers_to_remove: ["{PEER_HEADER}"]
    request_headers_to_add:
    - header: {{ key: "{PEER_HEADER}", value: "%DOWNSTREAM_PEER_FINGERPRINT_256%" }}
      append_action: OVERWRITE_IF_EXISTS_OR_ADD
      keep_empty_value: true
"#
    );
    let envoy = Envoy::start(
        &pki,
        EnvoyOptions {
            plugin_config: Some(config),
            route_config: Some(routes),
            upstream_port: Some(checker.port),
            ..EnvoyOptions::default()
        },
    );

    let stream_size = options.stream.max(1);
    let streams = options.requests.div_ceil(stream_size);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let next_valid = AtomicUsize::new(0);
    // The first stream of each valid certificate, done; when the last one is, the time.
    let first_cycle_done = AtomicUsize::new(0);
    let warm_at = Mutex::new(None::<Duration>);
    let finished = AtomicBool::new(false);
    let by_kind = Mutex::new(BTreeMap::<Kind, Tally>::new());
    let oha_failures = Mutex::new(Vec::new());
    let samples = Mutex::new(Vec::<(Duration, u64, u64)>::new());
    let started = Instant::now();
    std::thread::scope(|s| {
        // The filter's gauges, as often as the filter flushes them (each second).
        s.spawn(|| {
            while !finished.load(Ordering::SeqCst) {
                let stats = envoy.stats("client_cert_auth");
                let entries = stat(&stats, "client_cert_auth.cache_entries");
                let memory = stat(&stats, "client_cert_auth.memory_bytes");
                samples
                    .lock()
                    .unwrap()
                    .push((started.elapsed(), entries, memory));
                for _ in 0..2 {
                    if finished.load(Ordering::SeqCst) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        let lanes: Vec<_> = (0..options.lanes.max(1))
            .map(|_| {
                s.spawn(|| {
                    loop {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        if n >= streams {
                            break;
                        }
                        let requests = stream_size.min(options.requests - n * stream_size);
                        let kind = Kind::of_stream(n);
                        let valid_n = kind
                            .valid_cert()
                            .then(|| next_valid.fetch_add(1, Ordering::SeqCst));
                        let cert = if let Some(v) = valid_n {
                            Some(&valid[v % DISTINCT])
                        } else {
                            match kind {
                                Kind::Expired | Kind::ExpiredExcluded => Some(&expired),
                                Kind::Untrusted => Some(&untrusted),
                                _ => None,
                            }
                        };
                        let result = run_oha(&oha, &envoy, &pki, kind, cert, n, requests);
                        let mut by_kind = by_kind.lock().unwrap();
                        let tally = by_kind.entry(kind).or_default();
                        tally.requests += requests as u64;
                        match result {
                            Ok((statuses, errors)) => {
                                let answered: u64 = statuses.values().sum();
                                let right =
                                    statuses.get(&kind.expected_status()).copied().unwrap_or(0);
                                tally.wrong += answered - right;
                                if answered != right {
                                    eprintln!(
                                        "WRONG stream {n} ({kind:?}, expected {}): {statuses:?}",
                                        kind.expected_status()
                                    );
                                }
                                for (s, c) in statuses {
                                    *tally.statuses.entry(s).or_default() += c;
                                }
                                for (e, c) in errors {
                                    *tally.errors.entry(e).or_default() += c;
                                }
                            }
                            Err(why) => oha_failures
                                .lock()
                                .unwrap()
                                .push(format!("stream {n} ({kind:?}): {why}")),
                        }
                        drop(by_kind);
                        if valid_n.is_some_and(|v| v < DISTINCT)
                            && first_cycle_done.fetch_add(1, Ordering::SeqCst) + 1 == DISTINCT
                        {
                            *warm_at.lock().unwrap() = Some(started.elapsed());
                        }
                        let d = done.fetch_add(1, Ordering::SeqCst) + 1;
                        if options.progress && d * 10 / streams != (d - 1) * 10 / streams {
                            eprintln!(
                                "  {d}/{streams} streams, {:.0} s",
                                started.elapsed().as_secs_f64()
                            );
                        }
                    }
                })
            })
            .collect();
        for lane in lanes {
            lane.join().unwrap();
        }
        finished.store(true, Ordering::SeqCst);
    });
    let elapsed = started.elapsed();
    // The filter's stats reach Envoy from a one-second timer: wait for a flush after the last
    // request (the decisions counted add up to the requests sent), up to ten seconds.
    let sent = options.requests as u64;
    let mut stats = Vec::new();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(500));
        stats = envoy.stats("client_cert_auth");
        let decided: u64 = stats
            .iter()
            .filter(|(n, _)| {
                n.ends_with("client_cert_auth.forwarded")
                    || n.ends_with("client_cert_auth.passed")
                    || n.contains("client_cert_auth.denied.")
            })
            .map(|(_, v)| v)
            .sum();
        if decided >= sent {
            // One more flush period, so the gauges are from after the run too.
            std::thread::sleep(Duration::from_millis(1200));
            stats = envoy.stats("client_cert_auth");
            break;
        }
    }
    let samples = samples.into_inner().unwrap();
    let first_full = samples
        .iter()
        .find(|(_, entries, _)| *entries >= CACHE_SIZE as u64);
    // The first reading at least a flush period (and some slack) after the first cycle.
    let warm = warm_at.into_inner().unwrap().and_then(|at| {
        samples
            .iter()
            .find(|(t, _, _)| *t >= at + Duration::from_millis(1300))
    });
    let filter_counts = ["forwarded", "passed", "excluded"]
        .iter()
        .map(|name| {
            (
                name.to_string(),
                stat(&stats, &format!("client_cert_auth.{name}")),
            )
        })
        .chain(std::iter::once((
            "denied".to_string(),
            stats
                .iter()
                .filter(|(n, _)| n.contains("client_cert_auth.denied."))
                .map(|(_, v)| v)
                .sum(),
        )))
        .collect();
    let tally = checker.tally();
    Report {
        requested: options.requests,
        streams,
        lanes: options.lanes.max(1),
        elapsed,
        by_kind: by_kind.into_inner().unwrap(),
        oha_failures: oha_failures.into_inner().unwrap(),
        checked: tally.0,
        checker_wrong: tally.1,
        distinct_valid_used: next_valid.load(Ordering::SeqCst).min(DISTINCT),
        memory_full: first_full.map(|(_, _, m)| *m),
        memory_full_at: first_full.map(|(t, _, _)| *t),
        memory_warm: warm.map(|(_, _, m)| *m),
        memory_warm_at: warm.map(|(t, _, _)| *t),
        memory_max: samples.iter().map(|(_, _, m)| *m).max().unwrap_or(0),
        memory_end: stat(&stats, "client_cert_auth.memory_bytes"),
        memory_steps: samples.iter().fold(
            Vec::new(),
            |mut steps: Vec<(Duration, u64)>, (t, _, m)| {
                if steps.last().is_none_or(|(_, last)| last != m) {
                    steps.push((*t, *m));
                }
                steps
            },
        ),
        cache_hits: stat(&stats, "client_cert_auth.cache_hits"),
        cache_misses: stat(&stats, "client_cert_auth.cache_misses"),
        cache_entries_end: stat(&stats, "client_cert_auth.cache_entries"),
        filter_counts,
    }
}

/// A stat's value from an admin `/stats` reading, by the end of its name (0 when absent).
fn stat(stats: &[(String, u64)], suffix: &str) -> u64 {
    stats
        .iter()
        .find(|(n, _)| n.ends_with(suffix))
        .map_or(0, |(_, v)| *v)
}

/// Statuses and client errors, by count.
type OhaCounts = (BTreeMap<u16, u64>, BTreeMap<String, u64>);

/// One oha process: `requests` requests of one kind over keep-alive connections.
fn run_oha(
    oha: &PathBuf,
    envoy: &Envoy,
    pki: &Pki,
    kind: Kind,
    cert: Option<&ClientCert>,
    n: usize,
    requests: usize,
) -> Result<OhaCounts, String> {
    let path = if kind.excluded() {
        format!("/public/{n}")
    } else {
        format!("/app/{n}")
    };
    let mut cmd = Command::new(oha);
    cmd.args([
        "--no-tui",
        "--output-format",
        "json",
        "--worker-threads",
        "1",
    ])
    .args(["-t", "10s", "-n", &requests.to_string()])
    .arg("--cacert")
    .arg(pki.dir.0.join("ca.pem"));
    if kind == Kind::ValidHttp2 {
        cmd.args(["--http2", "-c", "2", "-p", "4"]);
    } else {
        cmd.args(["-c", "4"]);
    }
    if let Some(cert) = cert {
        cmd.arg("--cert")
            .arg(&cert.cert)
            .arg("--key")
            .arg(&cert.key);
    }
    if kind.forged() {
        cmd.args(["-H", "X-ARR-ClientCert: forged"])
            .args(["-H", &format!("{PEER_HEADER}: forged")]);
    }
    cmd.arg(format!("{}{path}", envoy.url()));
    let output = cmd.output().map_err(|e| format!("running oha: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "oha exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "oha's output is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    let counts = |key: &str| -> Vec<(String, u64)> {
        json[key]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let statuses = counts("statusCodeDistribution")
        .into_iter()
        .map(|(k, v)| {
            k.parse::<u16>()
                .map(|s| (s, v))
                .map_err(|_| format!("oha status {k:?}"))
        })
        .collect::<Result<_, _>>()?;
    let errors = counts("errorDistribution").into_iter().collect();
    Ok((statuses, errors))
}

/// Wrong answers the checker counts, by reason.
type Wrong = Mutex<BTreeMap<&'static str, u64>>;

/// The upstream: an HTTP/1.1 keep-alive server, a thread per connection, that judges what the
/// filter let through against the connection's real certificate.
pub struct Checker {
    pub port: u16,
    checked: Arc<AtomicU64>,
    wrong: Arc<Wrong>,
}

impl Checker {
    /// `valid`: lower-case hex SHA-256 of each valid certificate's DER -> its DER in base64.
    pub fn start(valid: HashMap<String, String>) -> Checker {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the checker");
        let port = listener.local_addr().expect("the checker's port").port();
        let checked = Arc::new(AtomicU64::new(0));
        let wrong: Arc<Wrong> = Arc::default();
        let valid = Arc::new(valid);
        {
            let (checked, wrong) = (checked.clone(), wrong.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let (valid, checked, wrong) = (valid.clone(), checked.clone(), wrong.clone());
                    std::thread::spawn(move || {
                        let _ = serve(stream, &valid, &checked, &wrong);
                    });
                }
            });
        }
        Checker {
            port,
            checked,
            wrong,
        }
    }

    /// Requests judged, and the wrong ones by reason.
    pub fn tally(&self) -> (u64, BTreeMap<&'static str, u64>) {
        (
            self.checked.load(Ordering::SeqCst),
            self.wrong.lock().unwrap().clone(),
        )
    }
}

/// One upstream connection: requests in turn, each judged and answered.
fn serve(
    stream: TcpStream,
    valid: &HashMap<String, String>,
    checked: &AtomicU64,
    wrong: &Wrong,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split(' ').nth(1).unwrap_or("").to_string();
        let mut arr = Vec::new();
        let mut peer = Vec::new();
        let mut length = 0u64;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("x-arr-clientcert") {
                arr.push(value.to_string());
            } else if name.eq_ignore_ascii_case(PEER_HEADER) {
                // Envoy writes no certificate as an empty value (or `-` in older formatters).
                let digest = if value == "-" { "" } else { value };
                peer.push(digest.to_ascii_lowercase().replace(':', ""));
            } else if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            }
        }
        std::io::copy(&mut (&mut reader).take(length), &mut std::io::sink())?;
        checked.fetch_add(1, Ordering::SeqCst);
        let response = match judge(&path, &arr, &peer, valid) {
            Ok(()) => "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n".to_string(),
            Err(reason) => {
                let mut wrong = wrong.lock().unwrap();
                let count = wrong.entry(reason).or_default();
                *count += 1;
                if *count <= 3 {
                    eprintln!("CHECKER: {reason}: {path}, X-ARR-ClientCert {arr:?}, peer {peer:?}");
                }
                format!(
                    "HTTP/1.1 418 Wrong\r\ncontent-length: {}\r\n\r\n{reason}\n",
                    reason.len() + 1
                )
            }
        };
        writer.write_all(response.as_bytes())?;
    }
}

/// Whether what reached the upstream is right, knowing only the path, the `X-ARR-ClientCert`
/// values, Envoy's digest of the connection's certificate and the valid certificates.
pub fn judge(
    path: &str,
    arr: &[String],
    peer: &[String],
    valid: &HashMap<String, String>,
) -> Result<(), &'static str> {
    let excluded = path == "/public" || path.starts_with("/public/");
    let [peer] = peer else {
        return Err("not exactly one x-soak-peer-sha256 (the checker's source is broken)");
    };
    match arr {
        [] if excluded => Ok(()),
        [] => Err("a protected path reached the upstream without X-ARR-ClientCert"),
        [_] if peer.is_empty() => Err("X-ARR-ClientCert on a connection without a certificate"),
        [forwarded] => match valid.get(peer) {
            None => Err("X-ARR-ClientCert for a certificate that is not valid"),
            Some(expected) if expected == forwarded => Ok(()),
            Some(_) => Err("X-ARR-ClientCert is not the connection's certificate"),
        },
        _ => Err("several X-ARR-ClientCert"),
    }
}
