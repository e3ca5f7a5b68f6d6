//! Run-time revocation on the host: the I/O of [`crate::validation::revocation`], which holds
//! every rule. OCSP questions are sent while a request waits, CRLs are fetched on the root
//! context's timer and shared by every VM of the Envoy through shared data.
//!
//! **OCSP.** When [`crate::decide`] says a certificate needs an OCSP answer, the request pauses,
//! the question goes to the responder's cluster ([`ask`]), and when the answer comes
//! ([`on_ocsp_answer`]) it is judged and learned by the revocation state, and every request
//! waiting for it is decided again with it; a request that cannot be asked (the call cannot be
//! sent) is decided at once without it.
//!
//! **CRLs.** Every VM's timer ([`tick`]) looks at each source's entry in shared data: its
//! metadata (`<key>.meta`, [`Meta`]) and its CRL set (`<key>.crls`). A VM installs a newer
//! generation it finds; when the source is due, the VM that wins the lease (a
//! compare-and-swap on the metadata) fetches it ([`on_fetch_response`]), verifies it, and
//! publishes it for the others. So a source is fetched once per interval for the whole Envoy,
//! whatever the number of workers.

use std::cell::RefCell;
use std::rc::Rc;

use super::headers::HeaderMap;
use super::host::{Host, HttpCall, HttpResponse, Level, cas_retry, cas_update, unix_seconds};
use super::metrics::OcspResult;
use super::{Action, State};
use crate::decision::cache::VerdictCache;
use crate::text::rfc3339;
use crate::validation::revocation::crl_store::{CompactCrl, CrlOrder};
use crate::validation::revocation::ocsp::{self, CertId};
use crate::validation::revocation::schedule::{CRL_FETCH_TIMEOUT_MS, Meta};
use crate::validation::revocation::shared::{
    Mark, REVOKED_GEN_KEY, REVOKED_KEY, crl_key, mark_key, meta_key, next_generation,
};
use crate::validation::revocation::state::{decode_revoked, merge_revoked};
use crate::validation::revocation::{
    AskError, CrlSource, FetchError, Installed, Judged, OcspQuery, OcspStatus, SetRefusal,
    decode_set, judge_answer, merge_set,
};

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
    /// The question could not be sent: decide without the answer (the query is handed back).
    Unsent(AskError, Box<OcspQuery>),
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
        return Join::Unsent(AskError::Busy, query);
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
        Err(why) => Join::Unsent(why, query),
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

/// Sends the OCSP question: a POST of the DER request with a fresh nonce.
pub(super) fn ask(host: &mut impl Host, query: &OcspQuery) -> Result<(u32, [u8; 16]), AskError> {
    let id = CertId::new(&query.issuer_subject, &query.issuer_spki, &query.serial)
        .ok_or(AskError::NoCertId)?;
    let mut nonce = [0u8; 16];
    host.random(&mut nonce)
        .map_err(|e| AskError::NoRandom(e.0))?;
    let body = ocsp::request(&id, Some(&nonce));
    let headers = [
        (":method", "POST"),
        (":path", query.path.as_str()),
        (":authority", query.authority.as_str()),
        ("content-type", "application/ocsp-request"),
        ("accept", "application/ocsp-response"),
    ];
    let token = host
        .dispatch_http_call(&HttpCall {
            cluster: &query.cluster,
            headers: &headers,
            body: &body,
            timeout_ms: query.timeout_ms,
        })
        .map_err(|e| AskError::Unsent {
            cluster: query.cluster.clone(),
            detail: e.0,
        })?;
    Ok((token, nonce))
}

/// The answer to an OCSP question (or its absence), by the call's token, in whichever context
/// of the VM it arrives: judged and learned, then every request waiting for it is decided
/// again with it, and resumed or answered. The action returned is the one of the context the
/// host calls act on when it is called (`Continue` when no request of it waited); `None` when
/// no question has this token.
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
    unsent: Option<AskError>,
) -> Action {
    let Some(asked) = state.questions.try_borrow_mut().ok().and_then(|mut q| {
        let matches = q
            .get(&key)
            .is_some_and(|a| token.is_none() || a.token == token);
        if matches { q.remove(&key) } else { None }
    }) else {
        return Action::Pause;
    };
    let now = host.clock().map(unix_seconds).unwrap_or(0);
    let judged = match unsent {
        Some(why) => Judged::no_answer(why.to_string(), now),
        None => judge_answer(
            &asked.query,
            &asked.nonce,
            response.status,
            &response.body,
            now,
        ),
    };
    learn(host, state, cache, &asked.query, judged, now);
    // Every waiting request, each in its own context; the host's context is set back last.
    let here = host.context_id();
    let mut mine = Action::Continue;
    for (context, headers) in &asked.waiters {
        let switched =
            *context == host.context_id() || host.set_effective_context(*context).is_ok();
        if !switched {
            continue; // that stream is gone
        }
        let action = super::decide_again(host, state, cache, headers);
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

/// An OCSP exchange judged (or a question that could not be sent): counted, logged once per
/// streak, learned by the VM's revocation state, and a new revocation for good shared with
/// the other VMs.
pub(super) fn learn(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    query: &OcspQuery,
    judged: Judged,
    now: i64,
) {
    state
        .metrics
        .revocation
        .record_ocsp(OcspResult::of(&judged.status));
    match &judged.status {
        OcspStatus::NoAnswer(why) => log_streak(
            host,
            &state.ocsp_failing,
            true,
            &format!("OCSP responder (cluster {:?}): {why}", query.cluster),
        ),
        _ => log_streak(
            host,
            &state.ocsp_failing,
            false,
            "OCSP responder answers again",
        ),
    }
    let share = cache
        .try_borrow_mut()
        .ok()
        .and_then(|mut cache| cache.learn_ocsp(query.key, query, judged, now));
    if let Some(until) = share {
        publish_revoked(host, query.key, until, now);
    }
}

/// A question that could not be sent from a request: counted as failed, learned as no
/// answer (the request is decided without it), and logged once per streak.
pub(super) fn unsent(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    query: &OcspQuery,
    why: &AskError,
    now: i64,
) {
    state.metrics.revocation.record_ocsp(OcspResult::Failed);
    if let Ok(mut cache) = cache.try_borrow_mut() {
        cache.learn_ocsp(
            query.key,
            query,
            Judged::no_answer(why.to_string(), now),
            now,
        );
    }
    if !state.ocsp_failing.replace(true) {
        host.log(Level::Warn, &format!("client-cert-auth: OCSP: {why}"));
    }
}

/// Adds a certificate known revoked to the Envoy's shared list (a compare-and-swap, retried),
/// then bumps the list's generation so every VM reads it at its next tick.
fn publish_revoked(host: &mut impl Host, key: [u8; 32], until: i64, now: i64) {
    let written = cas_update(host, REVOKED_KEY, |bytes| {
        Some(merge_revoked(bytes.unwrap_or_default(), (key, until), now))
    });
    if written {
        cas_update(host, REVOKED_GEN_KEY, |bytes| Some(next_generation(bytes)));
    } else {
        host.log(
            Level::Warn,
            "client-cert-auth: OCSP: could not share a revoked answer with the other workers (shared data busy or failing); this worker keeps it",
        );
    }
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
    cache.learn_revoked(&decode_revoked(&bytes.unwrap_or_default()), now);
    *seen = Some(generation);
}

/// Logs the first failure of a streak (and the recovery after one), never each failure.
fn log_streak(host: &mut impl Host, failing: &std::cell::Cell<bool>, failed: bool, what: &str) {
    if failing.replace(failed) != failed {
        let level = if failed { Level::Warn } else { Level::Info };
        host.log(level, &format!("client-cert-auth: {what}"));
    }
}

/// The fetches this VM has under way, by call token.
#[derive(Debug, Default)]
pub struct Fetches {
    /// (A few entries at most, one per CRL source: a list, not a map, whose code would cost
    /// the module several KB per key and value type.)
    pending: Vec<(u32, usize)>,
    /// The generation of each source's shared set last read, by source index.
    read: Vec<(usize, u64)>,
    /// The generation of the shared list of revoked certificates last read.
    revoked_seen: Option<Vec<u8>>,
}

fn read_mark(host: &mut impl Host, slot: &[u8; 32]) -> Option<Mark> {
    match host.shared_data(&mark_key(slot)) {
        Ok((Some(bytes), _)) => Mark::parse(&bytes),
        _ => None,
    }
}

/// Whether the Envoy already accepted a newer CRL of this slot than `order`.
fn superseded(host: &mut impl Host, slot: &[u8; 32], order: &CrlOrder<'_>) -> bool {
    read_mark(host, slot).is_some_and(|mark| mark.supersedes(order))
}

/// Moves the slot's mark up to `order` (never down).
fn raise_mark(host: &mut impl Host, slot: &[u8; 32], order: &Mark) -> bool {
    let mut unchanged = false;
    let written = cas_update(host, &mark_key(slot), |bytes| {
        let raised = Mark::raised(bytes, &order.order());
        unchanged = raised.is_none();
        raised
    });
    written || unchanged
}

/// The field of a CRL source, for messages.
fn field(index: usize) -> String {
    format!("validation.revocationSources.crls[{index}]")
}

/// Source `index` of the configuration.
fn crl_source(state: &State, index: usize) -> Option<&CrlSource> {
    state.config.validation.online_sources()?.crls.get(index)
}

impl Fetches {
    /// At configure time: installs what shared data already holds for each source (a reload, or
    /// a worker that starts after another fetched). Nothing is sent from here: a request
    /// dispatched while Envoy loads its configuration is not delivered (measured: the connection
    /// opens and stays idle, holding a one-connection responder), so the first fetch is the first
    /// timer's, a second later, and a cluster Envoy does not have shows there (logged, naming the
    /// field, and counted; revocation stays unknown, which fails closed).
    pub fn start(&mut self, host: &mut impl Host, state: &State, cache: &RefCell<VerdictCache>) {
        let Some(sources) = state.config.validation.online_sources() else {
            return;
        };
        let now = host.clock().map(unix_seconds).unwrap_or(0);
        sync_revoked(host, cache, &mut self.revoked_seen, now);
        for index in 0..sources.crls.len() {
            let Some(source) = sources.crls.get(index) else {
                continue;
            };
            match host.shared_data(&meta_key(source)) {
                Ok((Some(bytes), _)) => {
                    let generation = Meta::parse(&bytes).generation;
                    install_published(host, state, cache, self, index, generation);
                }
                // Envoy has no "create if absent": a write without a token always lands. So the
                // empty metadata is written here, while every VM configures (all write the same
                // bytes), and the lease the first timer takes a second later is a real CAS. Were
                // it taken on absent metadata, two VMs could both win it, and the later one's
                // write could erase the other's failure streak (the failure logged twice).
                Ok((None, _)) => {
                    let _ = host.set_shared_data(
                        &meta_key(source),
                        Meta::default().encode().as_bytes(),
                        None,
                    );
                }
                Err(_) => {}
            }
        }
    }

    /// The root context's timer: every source is synchronised with shared data, and fetched when
    /// due (by the VM that wins the lease).
    pub fn tick(&mut self, host: &mut impl Host, state: &State, cache: &RefCell<VerdictCache>) {
        // Shared data is touched only by configurations with run-time sources (one with pasted
        // CRLs only needs no shared-data capability).
        let Some(sources) = state.config.validation.online_sources() else {
            return;
        };
        let Ok(now) = host.clock().map(unix_seconds) else {
            return;
        };
        // Certificates other workers (or an earlier configuration) learned are revoked: read by
        // every configuration with run-time sources, with an OCSP source or not.
        sync_revoked(host, cache, &mut self.revoked_seen, now);
        if sources.ocsp.is_some() {
            ask_orphans(host, state, cache);
        }
        for index in 0..sources.crls.len() {
            if let Some(Err(why)) = sync_source(host, state, cache, self, index, now) {
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
) -> Option<Result<u32, FetchError>> {
    let source = crl_source(state, index)?;
    let (bytes, cas) = host.shared_data(&meta_key(source)).ok()?;
    let mut meta = bytes.as_deref().map(Meta::parse).unwrap_or_default();
    install_published(host, state, cache, fetches, index, meta.generation);
    if fetches.pending.iter().any(|(_, i)| *i == index)
        || !meta.due(now, i64::from(source.refresh_seconds))
    {
        return None;
    }
    meta.lease(now);
    // The lease: only the VM whose write lands fetches. The metadata exists from configure
    // time (`start`), so this write carries a token; only if that write failed is it absent
    // here, and written without one.
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
        match host.dispatch_http_call(&HttpCall {
            cluster: &source.cluster,
            headers: &headers,
            body: &[],
            timeout_ms: CRL_FETCH_TIMEOUT_MS,
        }) {
            Ok(token) => {
                fetches.pending.push((token, index));
                Ok(token)
            }
            Err(e) => Err(FetchError::Unsent {
                cluster: source.cluster.clone(),
                detail: e.0,
                field: field(index),
            }),
        },
    )
}

/// Marks the CRLs of source `index` of which the Envoy accepted a newer one of the same slot
/// (from another source or configuration): they vouch no more (and still revoke).
fn supersede_older(host: &mut impl Host, cache: &RefCell<VerdictCache>, index: usize) {
    let orders = match cache.try_borrow() {
        Ok(c) => c.revocation.live_orders(index),
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
    let Some(source) = crl_source(state, index) else {
        return;
    };
    let seen = fetches
        .read
        .iter()
        .find(|(i, _)| *i == index)
        .map(|(_, g)| *g);
    if generation <= seen.unwrap_or(0) {
        return;
    }
    let Ok(mut cache) = cache.try_borrow_mut() else {
        return;
    };
    let Ok((Some(bytes), _)) = host.shared_data(&crl_key(source)) else {
        return;
    };
    match fetches.read.iter_mut().find(|(i, _)| *i == index) {
        Some((_, seen)) => *seen = generation,
        None => fetches.read.push((index, generation)),
    }
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
        if cache
            .revocation
            .has_newer(index, &entry.slot, &entry.order())
            || superseded(host, &entry.slot, &entry.order())
        {
            continue;
        }
        match CompactCrl::parse(&entry.bytes, &signers) {
            Ok(crl) if crl.slot() == entry.slot => {
                let entries = crl.len();
                let dropped = cache.install_crl(
                    index,
                    Installed {
                        crl: Rc::new(crl),
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
    let Some(at) = fetches.pending.iter().position(|(t, _)| *t == token) else {
        return; // the answer to a configure-time look at the OCSP cluster, or a stale token
    };
    let (_, index) = fetches.pending.swap_remove(at);
    let Some(source) = crl_source(state, index) else {
        return;
    };
    let now = host.clock().map(unix_seconds).unwrap_or(0);
    let crl = match fetched_crl(host, state, cache, response) {
        Ok(crl) => crl,
        Err(why) => {
            failed_fetch(host, state, index, now, &why);
            return;
        }
    };
    // The set first, then the metadata that announces it: a VM that sees the new generation
    // finds its CRL.
    let mut refusal = None;
    let covered = match cache.try_borrow() {
        Ok(c) => c.revocation.covered_by(index, &crl),
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
        failed_fetch(host, state, index, now, &FetchError::Refused(refusal));
        return;
    }
    if !written || !raise_mark(host, &crl.slot(), &Mark::of(&crl.order())) {
        failed_fetch(host, state, index, now, &FetchError::Unshared);
        return;
    }
    state.metrics.revocation.record_fetch(index, true);
    let mut published = None;
    let mut recovered = 0;
    let mut generation = 0;
    if cas_retry(host, &meta_key(source), 4, |bytes| {
        let mut meta = bytes.map(Meta::parse).unwrap_or_default();
        recovered = meta.published(now, crl.next_update());
        generation = meta.generation;
        Some(meta.encode().into_bytes())
    }) {
        published = Some(generation);
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

/// The CRL a fetch gave, verified under this configuration and checked against rollback: not
/// older than the newest of its slot this VM knows from any source, nor than the Envoy's mark
/// (the source's shared set, which holds the newest any VM accepted, is checked in the merge).
fn fetched_crl(
    host: &mut impl Host,
    state: &State,
    cache: &RefCell<VerdictCache>,
    response: &HttpResponse,
) -> Result<CompactCrl, FetchError> {
    let crl = match response.status {
        Some(200) => CompactCrl::parse(&response.body, &state.config.validation.crl_signers())
            .map_err(FetchError::Crl)?,
        Some(status) => return Err(FetchError::Status(status)),
        None => {
            return Err(FetchError::NoAnswer {
                timeout_ms: CRL_FETCH_TIMEOUT_MS,
            });
        }
    };
    if let Ok(c) = cache.try_borrow() {
        c.revocation.refuse_older(&crl)?;
    }
    match read_mark(host, &crl.slot()) {
        Some(mark) => mark.refuse_rollback(&crl).map(|()| crl),
        None => Ok(crl),
    }
}

/// Records a failed fetch in shared data (the streak, the next retry, the lease released),
/// counts it, and logs the first failure of a streak only.
fn failed_fetch(host: &mut impl Host, state: &State, index: usize, now: i64, why: &FetchError) {
    state.metrics.revocation.record_fetch(index, false);
    let Some(source) = crl_source(state, index) else {
        return;
    };
    let mut first = false;
    let mut next_update = None;
    let refresh = i64::from(source.refresh_seconds);
    cas_retry(host, &meta_key(source), 4, |bytes| {
        let mut meta = bytes.map(Meta::parse).unwrap_or_default();
        first = meta.failed(now, refresh);
        next_update = meta.next_update;
        Some(meta.encode().into_bytes())
    });
    if first {
        let keeping = match next_update {
            Some(next) => format!(
                "the last good CRL is used until its nextUpdate {}",
                rfc3339::format(next)
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
