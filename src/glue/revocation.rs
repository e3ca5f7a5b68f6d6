//! Run-time revocation on the host: OCSP questions asked while a request waits, and CRLs
//! fetched on the root context's timer, shared by every VM of the Envoy.
//!
//! **OCSP.** When [`crate::decide`] says a certificate needs an OCSP answer, the request pauses,
//! the question goes to the responder's cluster ([`ask`]), and when the answer comes
//! ([`on_ocsp_response`]) it is verified, kept, and the request is decided again with it; a
//! request that cannot be asked (the call cannot be sent) is decided at once without it.
//!
//! **CRLs.** Every VM's timer ([`tick`]) looks at each source's entry in shared data: its
//! metadata (`<key>.meta`: generation, when fetched, nextUpdate, lease, failure streak, next
//! retry) and the CRL itself (`<key>.crl`). A VM installs a newer generation it finds; when the
//! source is due, the VM that wins the lease (a compare-and-swap on the metadata) fetches it
//! ([`on_fetch_response`]), verifies it, and publishes it for the others. So a source is fetched
//! once per interval for the whole Envoy, whatever the number of workers.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::headers::HeaderMap;
use super::host::{Host, HttpResponse, Level, SharedDataError};
use super::metrics::OcspResult;
use super::{Action, State};
use crate::decision::cache::VerdictCache;
use crate::outcome::OcspQuery;
use crate::validation::REJECTION_TTL;
use crate::validation::crl_store::CompactCrl;
use std::cmp::Ordering;

use crate::validation::crl_store::{CrlOrder, newer};
use crate::validation::ocsp::{self, CertId, Freshness, Issuer, Status};
use crate::validation::online::{
    CrlSource, Installed, OcspStatus, SetRefusal, decode_set, merge_set,
};

/// How long a CRL fetch may take, milliseconds.
pub const CRL_FETCH_TIMEOUT_MS: u32 = 10_000;
/// How long a fetch lease holds, seconds: the fetch's timeout and some slack. A VM that dies
/// while fetching blocks the source no longer than this.
pub const LEASE_SECONDS: i64 = 15;
/// The first retry after a failed fetch, seconds; it doubles with each failure in a row, up to
/// [`MAX_BACKOFF_SECONDS`] (and never beyond `refreshSeconds`).
pub const FIRST_BACKOFF_SECONDS: i64 = 2;
/// The longest wait between retries, seconds.
pub const MAX_BACKOFF_SECONDS: i64 = 300;
/// A CRL is fetched again this long before its nextUpdate (at most), seconds.
pub const NEAR_NEXT_UPDATE_SECONDS: i64 = 300;
/// Whatever its nextUpdate says, a CRL is not fetched again sooner than this after a success
/// (or `refreshSeconds`, if shorter), seconds: a CA that publishes late is not hammered.
pub const MIN_REFETCH_SECONDS: i64 = 60;

/// A request paused for an OCSP answer: the certificate's question it waits for (its
/// headers are kept with the question, in [`Questions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub(super) key: [u8; 32],
    pub(super) token: u32,
    pub(super) context: u32,
}

impl Waiting {
    /// The token of the HTTP call the request waits for (asked by it, or by the first request
    /// with the same certificate).
    pub fn token(&self) -> u32 {
        self.token
    }
}

/// The most requests of a VM that wait for one certificate's OCSP answer; one more is answered
/// 503 at once (never let through without the answer).
pub const MAX_WAITING_PER_CERTIFICATE: usize = 64;

/// The OCSP questions in flight on a VM, one per certificate, and the requests waiting for
/// each: concurrent first requests with one certificate send one question, not one each.
#[derive(Debug, Default)]
pub struct Questions {
    /// By CertID key (a flat vector: a handful in flight at a time).
    asked: Vec<([u8; 32], Asked)>,
}

#[derive(Debug)]
struct Asked {
    query: Box<OcspQuery>,
    nonce: [u8; 16],
    /// The call's token; `None` when the stream that sent it went away (Envoy cancels a
    /// stream's calls with it): asked again at the next tick, from the root context.
    token: Option<u32>,
    /// The context the call belongs to.
    owner: u32,
    /// The paused requests: their context and their headers as read.
    waiters: Vec<(u32, HeaderMap)>,
}

/// What a request that needs an OCSP answer does.
pub(super) enum Join {
    /// It waits (for its own question, or for the one in flight about the same certificate).
    Wait(Waiting),
    /// Too many requests already wait for this certificate.
    Busy,
    /// The question could not be sent: decide without the answer.
    Unsent(String),
}

impl Questions {
    fn get(&self, key: &[u8; 32]) -> Option<&Asked> {
        self.asked.iter().find(|(k, _)| k == key).map(|(_, a)| a)
    }

    fn get_mut(&mut self, key: &[u8; 32]) -> Option<&mut Asked> {
        self.asked
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, a)| a)
    }

    fn remove(&mut self, key: &[u8; 32]) -> Option<Asked> {
        let at = self.asked.iter().position(|(k, _)| k == key)?;
        Some(self.asked.swap_remove(at).1)
    }

    /// How many questions are in flight.
    pub fn len(&self) -> usize {
        self.asked.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.asked.is_empty()
    }

    /// How many requests wait for the question about `key`.
    pub fn waiting(&self, key: &[u8; 32]) -> usize {
        self.get(key).map_or(0, |a| a.waiters.len())
    }

    /// A stream went away: it waits no more. If it owned the call, the call is gone with it
    /// and the question is asked again at the next tick for those still waiting.
    pub fn leave(&mut self, waiting: &Waiting) {
        let Some(asked) = self.get_mut(&waiting.key) else {
            return;
        };
        asked
            .waiters
            .retain(|(context, _)| *context != waiting.context);
        if asked.owner == waiting.context {
            asked.token = None;
        }
        // A call still under way (another stream's, or the root's) is kept for its answer,
        // which is worth keeping even when no one waits for it any more.
        if asked.waiters.is_empty() && asked.token.is_none() {
            self.remove(&waiting.key);
        }
    }
}

/// Joins the question about the certificate in flight, or asks it.
pub(super) fn join_or_ask(
    host: &mut impl Host,
    questions: &RefCell<Questions>,
    query: Box<OcspQuery>,
    headers: &HeaderMap,
) -> Join {
    let context = host.context_id();
    let Ok(mut questions) = questions.try_borrow_mut() else {
        return Join::Unsent("the VM's OCSP questions are busy".to_string());
    };
    if let Some(asked) = questions.get_mut(&query.key) {
        if asked.waiters.len() >= MAX_WAITING_PER_CERTIFICATE {
            return Join::Busy;
        }
        asked.waiters.push((context, headers.clone()));
        return Join::Wait(Waiting {
            key: query.key,
            token: asked.token.unwrap_or(0),
            context,
        });
    }
    match ask(host, &query) {
        Ok((token, nonce)) => {
            let key = query.key;
            questions.asked.push((
                key,
                Asked {
                    query,
                    nonce,
                    token: Some(token),
                    owner: context,
                    waiters: vec![(context, headers.clone())],
                },
            ));
            Join::Wait(Waiting {
                key,
                token,
                context,
            })
        }
        Err(why) => Join::Unsent(why),
    }
}

/// At the root's tick: the questions whose call went away with the stream that sent it are
/// asked again, from the root context (which lives as long as the VM); those that cannot be
/// sent are decided at once without the answer.
pub(super) fn ask_orphans(host: &mut impl Host, state: &State, cache: &RefCell<VerdictCache>) {
    let orphans: Vec<[u8; 32]> = match state.questions.try_borrow() {
        Ok(q) => q
            .asked
            .iter()
            .filter(|(_, a)| a.token.is_none())
            .map(|(k, _)| *k)
            .collect(),
        Err(_) => return,
    };
    let root = host.context_id();
    for key in orphans {
        let sent = {
            let Ok(mut questions) = state.questions.try_borrow_mut() else {
                return;
            };
            let Some(asked) = questions.get_mut(&key) else {
                continue;
            };
            match ask(host, &asked.query) {
                Ok((token, nonce)) => {
                    asked.token = Some(token);
                    asked.nonce = nonce;
                    asked.owner = root;
                    Ok(())
                }
                Err(why) => Err(why),
            }
        };
        if let Err(why) = sent {
            let response = HttpResponse {
                status: None,
                body: Vec::new(),
            };
            answer(host, state, cache, key, None, &response, Some(why));
        }
    }
}

fn unix(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Sends the OCSP question: a POST of the DER request with a fresh nonce. `Err` says why it
/// could not be sent.
pub(super) fn ask(host: &mut impl Host, query: &OcspQuery) -> Result<(u32, [u8; 16]), String> {
    let id = CertId::new(&query.issuer_subject, &query.issuer_spki, &query.serial)
        .ok_or_else(|| "the issuer's key is not usable for a CertID".to_string())?;
    let mut nonce = [0u8; 16];
    host.random(&mut nonce)
        .map_err(|e| format!("no random bytes for the nonce: {}", e.0))?;
    let body = ocsp::request(&id, Some(&nonce));
    let headers = [
        (":method", "POST"),
        (":path", query.path.as_str()),
        (":authority", query.authority.as_str()),
        ("content-type", "application/ocsp-request"),
        ("accept", "application/ocsp-response"),
    ];
    let token = host
        .dispatch_http_call(&query.cluster, &headers, &body, query.timeout_ms)
        .map_err(|e| {
            format!(
                "cannot send to cluster {:?} ({}): is the cluster defined in Envoy (validation.revocationSources.ocsp.cluster), and the proxy_http_call capability allowed?",
                query.cluster, e.0
            )
        })?;
    Ok((token, nonce))
}

/// What an OCSP exchange says, verified: the status, until when it may be kept, the count it
/// adds to, and whether it is a revocation to remember for good.
struct Judged {
    status: OcspStatus,
    until: i64,
    result: OcspResult,
    permanent: bool,
}

/// The CRLReason of a revocation that may be lifted.
const CERTIFICATE_HOLD: u8 = 6;

fn judge_answer(query: &OcspQuery, nonce: &[u8], response: &HttpResponse, now: i64) -> Judged {
    let failed = |why: String| Judged {
        status: OcspStatus::NoAnswer(why),
        until: now,
        result: OcspResult::Failed,
        permanent: false,
    };
    let body = match response.status {
        Some(200) => &response.body,
        Some(status) => return failed(format!("the responder answered HTTP {status}")),
        None => {
            return failed(format!(
                "no answer from the responder within {} ms (timeout, or the connection failed)",
                query.timeout_ms
            ));
        }
    };
    let Some(id) = CertId::new(&query.issuer_subject, &query.issuer_spki, &query.serial) else {
        return failed("the issuer's key is not usable for a CertID".to_string());
    };
    let issuer = Issuer {
        subject: &query.issuer_subject,
        spki: &query.issuer_spki,
    };
    let cache_seconds = i64::from(query.cache_seconds);
    let fresh = Freshness {
        now,
        skew: query.skew.max(5),
        max_age: cache_seconds.max(60),
        max_answer_age: i64::from(query.max_age_seconds),
        require_nonce: query.require_nonce,
    };
    // A refusal is kept at least as long as the refusal it causes: a revoked answer whose
    // nextUpdate has just passed (accepted within the skew), or a `cacheSeconds` of 0 and a
    // clock that turns before the request is decided again, would otherwise be forgotten at
    // once, and the request decided without it.
    let at_least_a_rejection = |until: i64| until.max(now.saturating_add(REJECTION_TTL));
    match ocsp::verify_response(body, &id, &issuer, Some(nonce), &fresh) {
        Ok(answer) => {
            let until = answer
                .next_update
                .map_or(now.saturating_add(cache_seconds), |next| {
                    next.min(now.saturating_add(cache_seconds))
                });
            match answer.status {
                Status::Good => Judged {
                    status: OcspStatus::Good,
                    until,
                    result: OcspResult::Good,
                    permanent: false,
                },
                // A revocation does not come back (RFC 5280 3.3): remembered until the
                // certificate expires. A hold may be lifted: kept like any answer.
                Status::Revoked { reason, .. } => Judged {
                    status: OcspStatus::Revoked,
                    until: at_least_a_rejection(until),
                    result: OcspResult::Revoked,
                    permanent: reason != Some(CERTIFICATE_HOLD),
                },
                // The responder's own word that it does not know the serial: a refusal, not
                // an outage (APIM and OpenSSL refuse it too).
                Status::Unknown => Judged {
                    status: OcspStatus::Unknown,
                    until: at_least_a_rejection(until),
                    result: OcspResult::Unknown,
                    permanent: false,
                },
            }
        }
        Err(e) => failed(format!("the responder's answer was refused: {e}")),
    }
}

/// The answer to an OCSP question (or its absence), by the call's token, in whichever context
/// of the VM it arrives: verified and kept, then every request waiting for it is decided
/// again with it, and resumed or answered. The action returned is the one of the context the
/// host calls act on when it is called (`Continue` when no request of it waited).
pub fn on_ocsp_answer(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    token: u32,
    response: &HttpResponse,
) -> Option<Action> {
    let key = state.questions.try_borrow().ok().and_then(|q| {
        q.asked
            .iter()
            .find(|(_, a)| a.token == Some(token))
            .map(|(k, _)| *k)
    })?;
    Some(answer(host, state, cache, key, Some(token), response, None))
}

/// [`on_ocsp_answer`] for the request that waits: tests and callers that hold the
/// [`Waiting`] a paused request was given.
pub fn on_ocsp_response(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    waiting: Waiting,
    response: &HttpResponse,
) -> Action {
    on_ocsp_answer(host, state, cache, waiting.token, response).unwrap_or(Action::Pause)
}

fn answer(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    key: [u8; 32],
    token: Option<u32>,
    response: &HttpResponse,
    unsent: Option<String>,
) -> Action {
    let Some(asked) = state.questions.try_borrow_mut().ok().and_then(|mut q| {
        let matches = q
            .get(&key)
            .is_some_and(|a| token.is_none() || a.token == token);
        if matches { q.remove(&key) } else { None }
    }) else {
        return Action::Pause;
    };
    let now = host.clock().map(unix).unwrap_or(0);
    let judged = match unsent {
        Some(why) => Judged {
            status: OcspStatus::NoAnswer(why),
            until: now,
            result: OcspResult::Failed,
            permanent: false,
        },
        None => judge_answer(&asked.query, &asked.nonce, response, now),
    };
    state.metrics.revocation.record_ocsp(judged.result);
    if let OcspStatus::NoAnswer(why) = &judged.status {
        log_streak(
            host,
            &state.ocsp_failing,
            true,
            &format!("OCSP responder (cluster {:?}): {why}", asked.query.cluster),
        );
    } else {
        log_streak(
            host,
            &state.ocsp_failing,
            false,
            "OCSP responder answers again",
        );
    }
    let mut publish = false;
    if let Ok(mut cache) = cache.try_borrow_mut() {
        if judged.status != OcspStatus::Good && !matches!(judged.status, OcspStatus::NoAnswer(_)) {
            cache.drop_on_ocsp(&key);
        }
        if judged.permanent {
            let until = asked
                .query
                .not_after
                .saturating_add(asked.query.skew.max(0));
            publish = cache.revocation.record_revoked(key, until, now);
        } else {
            cache
                .revocation
                .record_ocsp(key, judged.status, judged.until, now);
        }
    }
    if publish {
        publish_revoked(host, cache, key, asked.query.not_after, now);
    }
    // Every waiting request, each in its own context; the host's context is set back last.
    let here = host.context_id();
    let mut mine = Action::Continue;
    for (context, headers) in &asked.waiters {
        let switched =
            *context == host.context_id() || host.set_effective_context(*context).is_ok();
        if !switched {
            continue; // that stream is gone
        }
        let action = super::decide_and_apply(host, state, cache, headers, false, None);
        if action == Action::Continue
            && let Err(e) = host.resume_request()
        {
            host.log(
                Level::Warn,
                &format!("client-cert-auth: could not resume the request: {}", e.0),
            );
        }
        if *context == here {
            mine = action;
        }
    }
    if host.context_id() != here {
        let _ = host.set_effective_context(here);
    }
    mine
}

/// The shared-data key of the certificates known revoked by OCSP, for every VM and
/// configuration of the Envoy (a CertID names the issuer's name and key, so an entry means
/// the same under any configuration), and of its generation (written after it, read every tick).
const REVOKED_KEY: &str = "client_cert_auth.ocsp.revoked";
const REVOKED_GEN_KEY: &str = "client_cert_auth.ocsp.revoked.gen";

/// Adds a certificate known revoked to the Envoy's shared list (a compare-and-swap, retried),
/// then bumps the list's generation so every VM reads it at its next tick.
fn publish_revoked(
    host: &mut impl Host,
    cache: &RefCell<VerdictCache>,
    key: [u8; 32],
    not_after: i64,
    now: i64,
) {
    let until = match cache.try_borrow() {
        Ok(c) => c
            .revocation
            .revoked_entries(now)
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(not_after, |(_, u)| *u),
        Err(_) => not_after,
    };
    let written = cas_update(host, REVOKED_KEY, |bytes| {
        Some(crate::validation::online::merge_revoked(
            bytes.unwrap_or_default(),
            (key, until),
            now,
        ))
    });
    if written {
        cas_update(host, REVOKED_GEN_KEY, |bytes| {
            let generation: u64 = bytes
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            Some(generation.wrapping_add(1).to_string().into_bytes())
        });
    } else {
        host.log(
            Level::Warn,
            "client-cert-auth: OCSP: could not share a revoked answer with the other workers (shared data busy or failing); this worker keeps it",
        );
    }
}

/// Reads `key`, hands its value to `change`, writes what it returns under the value's
/// compare-and-swap token; retried on a conflict, at most 8 times. Whether a write landed.
fn cas_update(
    host: &mut impl Host,
    key: &str,
    mut change: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
) -> bool {
    for _ in 0..8 {
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

/// Installs the certificates other VMs learned are revoked, when the shared list changed
/// since this VM last read it.
pub(super) fn sync_revoked(
    host: &mut impl Host,
    cache: &RefCell<VerdictCache>,
    seen: &mut Option<Vec<u8>>,
    now: i64,
) {
    let Ok((Some(generation), _)) = host.shared_data(REVOKED_GEN_KEY) else {
        return;
    };
    if seen.as_deref() == Some(generation.as_slice()) {
        return;
    }
    let Ok((bytes, _)) = host.shared_data(REVOKED_KEY) else {
        return;
    };
    let Ok(mut cache) = cache.try_borrow_mut() else {
        return;
    };
    for (key, until) in crate::validation::online::decode_revoked(&bytes.unwrap_or_default()) {
        if until >= now && cache.revocation.record_revoked(key, until, now) {
            cache.drop_on_ocsp(&key);
        }
    }
    *seen = Some(generation);
}

/// Logs the first failure of a streak (and the recovery after one), never each failure.
fn log_streak(host: &mut impl Host, failing: &std::cell::Cell<bool>, failed: bool, what: &str) {
    if failing.replace(failed) != failed {
        let level = if failed { Level::Warn } else { Level::Info };
        host.log(level, &format!("client-cert-auth: {what}"));
    }
}

/// The metadata of a fetched CRL in shared data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Meta {
    /// Increments with every CRL published; 0: none yet.
    generation: u64,
    /// When the current CRL was fetched.
    fetched: i64,
    /// Its nextUpdate.
    next_update: Option<i64>,
    /// A fetch is under way until then.
    lease_until: i64,
    /// Failed fetches in a row.
    failures: u32,
    /// No new attempt before then.
    retry_at: i64,
}

impl Meta {
    fn parse(bytes: &[u8]) -> Meta {
        let mut meta = Meta::default();
        for field in String::from_utf8_lossy(bytes).split(' ') {
            let Some((k, v)) = field.split_once('=') else {
                continue;
            };
            match k {
                "gen" => meta.generation = v.parse().unwrap_or(0),
                "fetched" => meta.fetched = v.parse().unwrap_or(0),
                "next" => meta.next_update = v.parse().ok(),
                "lease" => meta.lease_until = v.parse().unwrap_or(0),
                "fails" => meta.failures = v.parse().unwrap_or(0),
                "retry" => meta.retry_at = v.parse().unwrap_or(0),
                _ => {}
            }
        }
        meta
    }

    fn encode(&self) -> String {
        format!(
            "gen={} fetched={} next={} lease={} fails={} retry={}",
            self.generation,
            self.fetched,
            self.next_update
                .map_or_else(|| "-".to_string(), |n| n.to_string()),
            self.lease_until,
            self.failures,
            self.retry_at
        )
    }

    /// Whether a fetch should start now.
    fn due(&self, now: i64, refresh: i64) -> bool {
        if now < self.lease_until || now < self.retry_at {
            return false;
        }
        if self.generation == 0 {
            return true;
        }
        let mut due_at = self.fetched.saturating_add(refresh);
        if let Some(next) = self.next_update {
            due_at = due_at.min(next.saturating_sub(NEAR_NEXT_UPDATE_SECONDS.min(refresh / 2)));
        }
        due_at = due_at.max(
            self.fetched
                .saturating_add(MIN_REFETCH_SECONDS.min(refresh)),
        );
        now >= due_at
    }
}

/// The wait before the next attempt after `failures` failed fetches in a row.
fn backoff(failures: u32, refresh: i64) -> i64 {
    let doubled = FIRST_BACKOFF_SECONDS.saturating_mul(1i64 << failures.saturating_sub(1).min(20));
    doubled.min(MAX_BACKOFF_SECONDS).min(refresh).max(1)
}

/// The fetches this VM has under way, by call token.
#[derive(Debug, Default)]
pub struct Fetches {
    pending: BTreeMap<u32, usize>,
    /// The generation of each source's shared set last read.
    read: BTreeMap<usize, u64>,
    /// The generation of the shared list of revoked certificates last read.
    revoked_seen: Option<Vec<u8>>,
}

fn meta_key(source: &CrlSource) -> String {
    format!("{}.meta", source.shared_key)
}

fn crl_key(source: &CrlSource) -> String {
    format!("{}.crls", source.shared_key)
}

/// The Envoy-wide key of the newest CRL accepted for a slot (issuer, key and scope), from any
/// source and under any configuration: the rollback guard's reference, so that a fresh VM, a
/// reload, another cluster or URL for the same CA never brings an older CRL back.
fn mark_key(slot: &[u8; 32]) -> String {
    format!(
        "client_cert_auth.crlmark.{}",
        crate::text::hex_lower(&slot[..16])
    )
}

/// The newest CRL accepted for a slot: its cRLNumber (empty: none) and thisUpdate.
struct Mark {
    number: Vec<u8>,
    this_update: i64,
}

impl Mark {
    fn of(order: &CrlOrder<'_>) -> Mark {
        Mark {
            number: order.number.unwrap_or_default().to_vec(),
            this_update: order.this_update,
        }
    }

    fn order(&self) -> CrlOrder<'_> {
        CrlOrder {
            number: (!self.number.is_empty()).then_some(self.number.as_slice()),
            this_update: self.this_update,
        }
    }

    fn encode(&self) -> Vec<u8> {
        format!(
            "{}:{}",
            crate::text::hex_lower(&self.number),
            self.this_update
        )
        .into_bytes()
    }

    fn parse(bytes: &[u8]) -> Option<Mark> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (number, this_update) = text.split_once(':')?;
        Some(Mark {
            number: crate::text::hex_decode(number.as_bytes())?,
            this_update: this_update.parse().ok()?,
        })
    }
}

fn read_mark(host: &mut impl Host, slot: &[u8; 32]) -> Option<Mark> {
    match host.shared_data(&mark_key(slot)) {
        Ok((Some(bytes), _)) => Mark::parse(&bytes),
        _ => None,
    }
}

/// Whether the Envoy already accepted a newer CRL of this slot than `order`.
fn superseded(host: &mut impl Host, slot: &[u8; 32], order: &CrlOrder<'_>) -> bool {
    read_mark(host, slot).is_some_and(|mark| newer(&mark.order(), order) == Ordering::Greater)
}

/// Moves the slot's mark up to `order` (never down).
fn raise_mark(host: &mut impl Host, slot: &[u8; 32], order: &CrlOrder<'_>) -> bool {
    let mut unchanged = false;
    let written = cas_update(host, &mark_key(slot), |bytes| {
        let known = bytes.and_then(Mark::parse);
        if known
            .as_ref()
            .is_some_and(|m| newer(&m.order(), order) != Ordering::Less)
        {
            unchanged = true;
            return None;
        }
        Some(Mark::of(order).encode())
    });
    written || unchanged
}

/// The field of a CRL source, for messages.
fn field(index: usize) -> String {
    format!("validation.revocationSources.crls[{index}]")
}

/// At configure time: installs what shared data already holds for each source (a reload, or
/// a worker that starts after another fetched). Nothing is sent from here: a request
/// dispatched while Envoy loads its configuration is not delivered (measured: the connection
/// opens and stays idle, holding a one-connection responder), so the first fetch is the first
/// timer's, a second later, and a cluster Envoy does not have shows there (logged, naming the
/// field, and counted; revocation stays unknown, which fails closed).
pub fn start(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    fetches: &mut Fetches,
) {
    let Some(sources) = state.config.validation.online_sources() else {
        return;
    };
    let now = host.clock().map(unix).unwrap_or(0);
    sync_revoked(host, cache, &mut fetches.revoked_seen, now);
    for index in 0..sources.crls.len() {
        let Some(source) = sources.crls.get(index) else {
            continue;
        };
        if let Ok((Some(bytes), _)) = host.shared_data(&meta_key(source)) {
            let generation = Meta::parse(&bytes).generation;
            install_published(host, state, cache, fetches, index, generation);
        }
    }
}

/// The root context's timer: every source is synchronised with shared data, and fetched when
/// due (by the VM that wins the lease).
pub fn tick(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    fetches: &mut Fetches,
) {
    // Shared data is touched only by configurations with run-time sources (one with pasted
    // CRLs only needs no shared-data capability).
    let Some(sources) = state.config.validation.online_sources() else {
        return;
    };
    let Ok(now) = host.clock().map(unix) else {
        return;
    };
    // Certificates other workers (or an earlier configuration) learned are revoked: read by
    // every configuration with run-time sources, with an OCSP source or not.
    sync_revoked(host, cache, &mut fetches.revoked_seen, now);
    if sources.ocsp.is_some() {
        ask_orphans(host, state, cache);
    }
    for index in 0..sources.crls.len() {
        if let Some(Err(why)) = sync_source(host, state, cache, fetches, index, now) {
            failed_fetch(host, state, index, now, &why);
        }
        supersede_older(host, cache, index);
    }
    // The gauges: entries and age of each installed CRL.
    if let Ok(cache) = cache.try_borrow() {
        let installed: Vec<(usize, u64, u64)> = (0..sources.crls.len())
            .filter_map(|i| {
                let crls = cache.revocation.crls(i);
                let latest = crls.iter().map(|c| c.crl.this_update()).max()?;
                Some((
                    i,
                    crls.iter().map(|c| c.crl.len() as u64).sum(),
                    u64::try_from(now.saturating_sub(latest)).unwrap_or(0),
                ))
            })
            .collect();
        state.metrics.revocation.set_gauges(host, &installed);
    }
}

/// Installs a newer generation of source `index` if shared data has one, then starts a fetch
/// if the source is due and this VM wins the lease. `Some(Err)` when a fetch could not be sent.
fn sync_source(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    fetches: &mut Fetches,
    index: usize,
    now: i64,
) -> Option<Result<u32, String>> {
    let source = state.config.validation.online_sources()?.crls.get(index)?;
    let (bytes, cas) = host.shared_data(&meta_key(source)).ok()?;
    let mut meta = bytes.as_deref().map(Meta::parse).unwrap_or_default();
    install_published(host, state, cache, fetches, index, meta.generation);
    if fetches.pending.values().any(|i| *i == index)
        || !meta.due(now, i64::from(source.refresh_seconds))
    {
        return None;
    }
    meta.lease_until = now.saturating_add(LEASE_SECONDS);
    // The lease: only the VM whose write lands fetches. Absent metadata (the first VM ever)
    // is written without a token.
    host.set_shared_data(&meta_key(source), meta.encode().as_bytes(), cas)
        .ok()?;
    let headers = [
        (":method", "GET"),
        (":path", source.url.path.as_str()),
        (":authority", source.url.authority.as_str()),
        (
            "accept",
            "application/pkix-crl, application/x-pkcs7-crl, */*",
        ),
    ];
    Some(
        match host.dispatch_http_call(&source.cluster, &headers, &[], CRL_FETCH_TIMEOUT_MS) {
            Ok(token) => {
                fetches.pending.insert(token, index);
                Ok(token)
            }
            Err(e) => Err(format!(
                "cannot send to cluster {:?} ({}): is the cluster defined in Envoy ({}.cluster), and the proxy_http_call capability allowed?",
                source.cluster,
                e.0,
                field(index)
            )),
        },
    )
}

/// Marks the CRLs of source `index` of which the Envoy accepted a newer one of the same slot
/// (from another source or configuration): they vouch no more (and still revoke).
fn supersede_older(host: &mut impl Host, cache: &RefCell<VerdictCache>, index: usize) {
    let orders: Vec<([u8; 32], Mark)> = match cache.try_borrow() {
        Ok(c) => c
            .revocation
            .crls(index)
            .iter()
            .filter(|i| !i.superseded)
            .map(|i| (i.crl.slot(), Mark::of(&i.crl.order())))
            .collect(),
        Err(_) => return,
    };
    for (slot, order) in orders {
        if superseded(host, &slot, &order.order())
            && let Ok(mut cache) = cache.try_borrow_mut()
        {
            cache.revocation.supersede(index, &slot);
        }
    }
}

/// Installs what source `index`'s shared set holds that this VM does not have yet, when the
/// set's generation is newer than the one last read: per slot, a newer CRL is verified and
/// installed, an equal one only renews its `confirmed`, an older one is left alone.
fn install_published(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    fetches: &mut Fetches,
    index: usize,
    generation: u64,
) {
    let Some(source) = state
        .config
        .validation
        .online_sources()
        .and_then(|s| s.crls.get(index))
    else {
        return;
    };
    if generation <= fetches.read.get(&index).copied().unwrap_or(0) {
        return;
    }
    let Ok(mut cache) = cache.try_borrow_mut() else {
        return;
    };
    let Ok((Some(bytes), _)) = host.shared_data(&crl_key(source)) else {
        return;
    };
    fetches.read.insert(index, generation);
    let Some(entries) = decode_set(&bytes) else {
        host.log(
            Level::Warn,
            &format!(
                "client-cert-auth: {} ({}): the shared copy does not decode; fetching again",
                field(index),
                source.url_text
            ),
        );
        return;
    };
    let signers = state.config.validation.crl_signers();
    let mut refused = Vec::new();
    for entry in &entries {
        if cache
            .revocation
            .confirm(index, &entry.slot, &entry.order(), entry.confirmed)
        {
            continue;
        }
        let known_newer = cache.revocation.crls(index).iter().any(|i| {
            i.crl.slot() == entry.slot
                && newer(&i.crl.order(), &entry.order()) == std::cmp::Ordering::Greater
        });
        if known_newer || superseded(host, &entry.slot, &entry.order()) {
            continue;
        }
        match CompactCrl::parse(&entry.bytes, &signers) {
            Ok(crl) if crl.slot() == entry.slot => {
                let crl = Rc::new(crl);
                let dropped = cache.drop_on_crl(&crl);
                let entries = crl.len();
                cache.revocation.install(
                    index,
                    Installed {
                        crl,
                        confirmed: entry.confirmed,
                        superseded: false,
                    },
                );
                host.log(
                    Level::Debug,
                    &format!(
                        "client-cert-auth: {} ({}): CRL generation {generation} installed, {entries} entries, {dropped} cached verdict(s) dropped",
                        field(index),
                        source.url_text,
                    ),
                );
            }
            Ok(_) => refused.push("its slot is not the one the set names".to_string()),
            Err(e) => refused.push(e.to_string()),
        }
    }
    // CRLs of CAs another configuration trusts are expected in a shared set; a set none of
    // whose CRLs verifies here is worth a warning.
    if !refused.is_empty() && cache.revocation.crls(index).is_empty() {
        host.log(
            Level::Warn,
            &format!(
                "client-cert-auth: {} ({}): the shared CRL does not verify under this configuration: {}",
                field(index),
                source.url_text,
                refused.join("; ")
            ),
        );
    }
}

/// A fetch answered (or failed): a CRL that verifies is published for every VM and installed
/// here; anything else keeps the last good CRL and schedules a retry.
pub fn on_fetch_response(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    fetches: &mut Fetches,
    token: u32,
    response: &HttpResponse,
) {
    let Some(index) = fetches.pending.remove(&token) else {
        return; // the answer to a configure-time look at the OCSP cluster, or a stale token
    };
    let Some(source) = state
        .config
        .validation
        .online_sources()
        .and_then(|s| s.crls.get(index))
    else {
        return;
    };
    let now = host.clock().map(unix).unwrap_or(0);
    let parsed = match response.status {
        Some(200) => {
            let signers = state.config.validation.crl_signers();
            CompactCrl::parse(&response.body, &signers).map_err(|e| e.to_string())
        }
        Some(status) => Err(format!("the server answered HTTP {status}")),
        None => Err(format!(
            "no answer within {} ms (timeout, or the connection failed)",
            CRL_FETCH_TIMEOUT_MS
        )),
    };
    // The rollback guard, against the newest CRL of the slot this VM knows from any source,
    // then (in the merge) against the source's shared set, which holds the newest any VM of
    // the Envoy, under any configuration, accepted.
    let parsed = parsed.and_then(|crl| {
        let kept = cache.try_borrow().ok().and_then(|c| {
            c.revocation
                .newest(&crl.slot())
                .map(|i| i.crl.this_update())
        });
        match cache.try_borrow().ok().and_then(|c| {
            c.revocation
                .newest(&crl.slot())
                .map(|i| newer(&crl.order(), &i.crl.order()))
        }) {
            Some(std::cmp::Ordering::Less) => Err(SetRefusal::Older {
                fetched: crl.this_update(),
                kept: kept.unwrap_or_default(),
            }
            .to_string()),
            _ => Ok(crl),
        }
    });
    let parsed = parsed.and_then(|crl| match read_mark(host, &crl.slot()) {
        Some(mark) if newer(&crl.order(), &mark.order()) == Ordering::Less => Err(format!(
            "the CRL fetched (thisUpdate {}) is older than one this Envoy already accepted for the same issuer and scope (thisUpdate {}, by cRLNumber then thisUpdate, from any source or configuration): refused as a rollback",
            crate::text::rfc3339::format(crl.this_update()),
            crate::text::rfc3339::format(mark.this_update)
        )),
        _ => Ok(crl),
    });
    let crl = match parsed {
        Ok(crl) => crl,
        Err(why) => {
            failed_fetch(host, state, index, now, &why);
            return;
        }
    };
    // The set first, then the metadata that announces it: a VM that sees the new generation
    // finds its CRL.
    let mut refusal = None;
    // A slot the fetched CRL may take the place of without a revocation lost: one this VM has
    // installed from the source whose every serial the fetched CRL lists too.
    let covered: Vec<[u8; 32]> = match cache.try_borrow() {
        Ok(c) => c
            .revocation
            .crls(index)
            .iter()
            .filter(|i| crl.lists_all_of(&i.crl))
            .map(|i| i.crl.slot())
            .collect(),
        Err(_) => Vec::new(),
    };
    let lists_all = |slot: &[u8; 32]| covered.contains(slot);
    let written = cas_update(host, &crl_key(source), |shared| {
        let refresh = i64::from(source.refresh_seconds);
        match merge_set(shared, &crl, &response.body, now, refresh, lists_all) {
            Ok(set) => Some(set),
            Err(SetRefusal::Corrupt) => {
                merge_set(None, &crl, &response.body, now, refresh, lists_all).ok()
            }
            Err(e) => {
                refusal = Some(e);
                None
            }
        }
    });
    if let Some(refusal) = refusal {
        failed_fetch(host, state, index, now, &refusal.to_string());
        return;
    }
    if !written || !raise_mark(host, &crl.slot(), &crl.order()) {
        failed_fetch(
            host,
            state,
            index,
            now,
            "cannot share the CRL (shared data)",
        );
        return;
    }
    state.metrics.revocation.record_fetch(index, true);
    let mut published = None;
    let mut recovered = 0;
    for _ in 0..4 {
        let Ok((bytes, cas)) = host.shared_data(&meta_key(source)) else {
            break;
        };
        let mut meta = bytes.as_deref().map(Meta::parse).unwrap_or_default();
        recovered = meta.failures;
        meta.generation += 1;
        meta.fetched = now;
        meta.next_update = crl.next_update();
        meta.lease_until = 0;
        meta.failures = 0;
        meta.retry_at = 0;
        match host.set_shared_data(&meta_key(source), meta.encode().as_bytes(), cas) {
            Ok(()) => {
                published = Some(meta.generation);
                break;
            }
            Err(SharedDataError::CasMismatch) => continue,
            Err(SharedDataError::Failed(_)) => break,
        }
    }
    if recovered > 0 {
        host.log(
            Level::Info,
            &format!(
                "client-cert-auth: {} ({}): fetched again after {recovered} failure(s)",
                field(index),
                source.url_text
            ),
        );
    }
    if let Some(generation) = published {
        install_published(host, state, cache, fetches, index, generation);
    }
}

/// Records a failed fetch in shared data (the streak, the next retry, the lease released),
/// counts it, and logs the first failure of a streak only.
fn failed_fetch(host: &mut impl Host, state: &State, index: usize, now: i64, why: &str) {
    state.metrics.revocation.record_fetch(index, false);
    let Some(source) = state
        .config
        .validation
        .online_sources()
        .and_then(|s| s.crls.get(index))
    else {
        return;
    };
    let mut first = false;
    let mut next_update = None;
    for _ in 0..4 {
        let Ok((bytes, cas)) = host.shared_data(&meta_key(source)) else {
            break;
        };
        let mut meta = bytes.as_deref().map(Meta::parse).unwrap_or_default();
        first = meta.failures == 0;
        meta.failures = meta.failures.saturating_add(1);
        meta.retry_at =
            now.saturating_add(backoff(meta.failures, i64::from(source.refresh_seconds)));
        meta.lease_until = 0;
        next_update = meta.next_update;
        match host.set_shared_data(&meta_key(source), meta.encode().as_bytes(), cas) {
            Err(SharedDataError::CasMismatch) => continue,
            _ => break,
        }
    }
    if first {
        let keeping = match next_update {
            Some(next) => format!(
                "the last good CRL is used until its nextUpdate {}",
                crate::text::rfc3339::format(next)
            ),
            None => {
                "no CRL of this source yet: revocation is unknown for its certificates".to_string()
            }
        };
        host.log(
            Level::Warn,
            &format!(
                "client-cert-auth: {} ({}) failed: {why}; {keeping}; retrying with backoff (logged once until it works again)",
                field(index),
                source.url_text
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips() {
        let meta = Meta {
            generation: 7,
            fetched: 100,
            next_update: Some(5000),
            lease_until: 115,
            failures: 2,
            retry_at: 120,
        };
        assert_eq!(Meta::parse(meta.encode().as_bytes()), meta);
        assert_eq!(Meta::parse(b"garbage"), Meta::default());
    }

    #[test]
    fn a_source_is_due_first_at_once_then_each_refresh_and_before_next_update() {
        let fresh = Meta::default();
        assert!(fresh.due(0, 3600));
        let fetched = Meta {
            generation: 1,
            fetched: 1000,
            next_update: Some(1000 + 86_400),
            ..Meta::default()
        };
        assert!(!fetched.due(1000 + 3599, 3600));
        assert!(fetched.due(1000 + 3600, 3600));
        // A nextUpdate sooner than the refresh brings the fetch forward...
        let near = Meta {
            next_update: Some(1000 + 1000),
            ..fetched.clone()
        };
        assert!(!near.due(1000 + 699, 3600));
        assert!(near.due(1000 + 700, 3600));
        // ...but never sooner than a minute after the last success.
        let late = Meta {
            next_update: Some(1000),
            ..fetched.clone()
        };
        assert!(!late.due(1000 + 59, 3600));
        assert!(late.due(1000 + 60, 3600));
        // With a short refresh the margin before nextUpdate is half of it (here 50 s).
        let short = Meta {
            next_update: Some(1000 + 120),
            ..fetched.clone()
        };
        assert!(!short.due(1000 + 69, 100));
        assert!(short.due(1000 + 70, 100));
        // A lease held, or a retry not yet due, waits.
        let leased = Meta {
            lease_until: 5000,
            ..fetched.clone()
        };
        assert!(!leased.due(4999, 3600));
        assert!(leased.due(5000, 3600));
        let backing_off = Meta {
            retry_at: 9000,
            ..fetched
        };
        assert!(!backing_off.due(8999, 3600));
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling_and_the_refresh() {
        assert_eq!(
            (1..=10).map(|f| backoff(f, 3600)).collect::<Vec<_>>(),
            vec![2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
        );
        assert_eq!(backoff(5, 10), 10);
        assert_eq!(backoff(1, 1), 1);
    }
}
