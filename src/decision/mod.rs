//! The decision: what the filter does with one request, in one place.
//!
//! [`decide`] is the only entry point. It asks for its inputs through the [`Inputs`] trait,
//! lazily and only as the configuration needs them: the request line for exclusions and rules,
//! then the connection's certificate digest (a cache hit decides from it alone), the
//! certificate itself only on a cache miss, and `x-forwarded-client-cert` and `connection.mtls`
//! only where the configured source needs them. The clock is read at most once. A failing input
//! becomes a denial ([`DenyReason::HostFailure`]) naming the call: the filter fails closed.
//!
//! The glue implements [`Inputs`] over the host; [`Request`] implements it over plain data for
//! the command-line tool, the fuzz targets and tests. Whatever the decision, the glue has
//! already removed every client-sent copy of the headers this filter sets before it asks.

use std::borrow::Cow;
use std::rc::Rc;

use rustls_pki_types::CertificateDer;

pub mod cache;
pub mod config;
mod outcome;

use crate::cert::front::{decode as decode_front, parse_peer};
use crate::cert::{
    LeafCertificate, check_dates, der_from_property, parse_single, pem_bundle, sha256, sha256_of,
};
use crate::config::Source;
use crate::outcome::{CertError, Decision, DenyReason, Header, HostCall, PassReason};
use crate::scope::rules::METHOD_OVERRIDE_HEADERS;
use crate::scope::{Mode, RequestLine, Scope, scope};
use crate::text::der::Reader as DerReader;
use crate::text::{hex_lower, hex_value, join_lines};
use crate::validation::revocation::OcspQuery;
use crate::validation::revocation::RevocationState;
use crate::validation::{Judgement, Verdict};
use cache::{Entry, VerdictCache};
pub use config::{Config, ConfigError, FrontSource, MAX_CACHE_SIZE};
pub use outcome::{CacheUse, Outcome};

/// The header Azure App Service uses to forward the client certificate (lower case, as the
/// host stores header names).
pub const FORWARDED_HEADER: &str = "x-arr-clientcert";

/// The header Envoy's connection manager writes the client certificate's details into.
pub const XFCC_HEADER: &str = "x-forwarded-client-cert";

/// A host property the decision may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    /// `connection.sha256_peer_certificate_digest`: hex SHA-256 of the peer certificate's DER.
    PeerCertificateDigest,
    /// `connection.peer_certificate`: the peer certificate, URL-encoded PEM (Envoy >= 1.38).
    PeerCertificate,
    /// `connection.mtls`: whether the client presented a certificate (one byte, 1 or 0).
    Mtls,
    /// `xds.route_name`: the name of the route Envoy chose for the request.
    RouteName,
    /// `source.address`: the immediate peer, `ip:port` (certificate source `header`).
    SourceAddress,
}

impl Property {
    /// The property's path in the host.
    pub fn path(self) -> [&'static str; 2] {
        match self {
            Property::PeerCertificateDigest => ["connection", "sha256_peer_certificate_digest"],
            Property::PeerCertificate => ["connection", "peer_certificate"],
            Property::Mtls => ["connection", "mtls"],
            Property::RouteName => ["xds", "route_name"],
            Property::SourceAddress => ["source", "address"],
        }
    }

    /// The host call that reads it, for a failure's log line.
    pub fn call(self) -> HostCall {
        match self {
            Property::PeerCertificateDigest => HostCall::PeerCertificateDigest,
            Property::PeerCertificate => HostCall::PeerCertificate,
            Property::Mtls => HostCall::Mtls,
            Property::RouteName => HostCall::RouteName,
            Property::SourceAddress => HostCall::SourceAddress,
        }
    }
}

/// Where the decision gets what it knows about a request. Every method is called only when the
/// configuration and the answers so far need it, and at most once per request, except
/// [`Inputs::header`], which reads a snapshot the glue took anyway.
pub trait Inputs {
    /// A request header as the client sent it (before the filter removed anything); every copy
    /// joined with `", "` when it was sent more than once, so ambiguity stays visible.
    fn header(&self, name: &str) -> Option<Cow<'_, [u8]>>;
    /// How many lines of a request header the client sent (any letter case): a certificate
    /// header sent twice is malformed, not joined. By default one if [`Inputs::header`] has it.
    fn header_count(&self, name: &str) -> usize {
        usize::from(self.header(name).is_some())
    }
    /// A host property; `Ok(None)` when the host has no value for it.
    fn property(&mut self, property: Property) -> Result<Option<Vec<u8>>, HostCall>;
    /// The host clock, Unix seconds.
    fn now(&mut self) -> Result<i64, HostCall>;
    /// Whether the caller can ask an OCSP responder and wait for its answer (the glue, on a
    /// request's first pass). When false, a missing answer is an unknown status. False by
    /// default.
    fn may_wait(&self) -> bool {
        false
    }
    /// Intermediate certificates (DER) presented beside the leaf outside the connection, for
    /// the trust check (the command-line tool's `--chain`). None by default.
    fn presented_chain(&self) -> &[Vec<u8>] {
        &[]
    }
    /// The signatures other VMs of this Envoy verified, as they share them under `key` (see
    /// [`crate::validation::crypto`]), read when a certificate is about to be judged afresh;
    /// `None` when there is nothing new since the last read. None by default.
    fn shared_signatures(&mut self, key: &str) -> Option<Vec<u8>> {
        let _ = key;
        None
    }
}

/// A request as plain data, for the command-line tool, the fuzz targets and tests.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The `:path` pseudo-header, raw bytes.
    pub path: &'a [u8],
    /// The `:method` pseudo-header.
    pub method: &'a [u8],
    /// The `:authority` pseudo-header (host, maybe with a port).
    pub authority: &'a [u8],
    /// The value of `connection.peer_certificate`; `None` when absent.
    pub peer_certificate: Option<&'a [u8]>,
    /// The `x-forwarded-client-cert` header; `None` when absent.
    pub xfcc: Option<&'a [u8]>,
    /// `connection.mtls`: whether the client presented a certificate; `None` when unknown.
    pub mtls: Option<bool>,
    /// `connection.sha256_peer_certificate_digest` (hex); `None` when unavailable.
    pub peer_digest: Option<&'a [u8]>,
    /// `xds.route_name`; `None` when the route has no name.
    pub route: Option<&'a [u8]>,
    /// A method-override header (`X-HTTP-Method-Override` and the like), if one was sent.
    pub method_override: Option<&'a [u8]>,
    /// The clock, Unix seconds.
    pub now: i64,
    /// Intermediate certificates presented with the leaf (DER), used by the trust check
    /// beside the configured ones.
    pub chain: &'a [Vec<u8>],
    /// Other request headers, `(name, value)`, one entry per line sent (a proxy's certificate
    /// header, for `certificateSource: "header"`).
    pub headers: &'a [(&'a str, &'a [u8])],
    /// `source.address`, the immediate peer (`ip:port`); `None` when unknown.
    pub source_address: Option<&'a [u8]>,
}

impl Default for Request<'_> {
    fn default() -> Self {
        Request {
            path: b"/",
            method: b"GET",
            authority: b"",
            peer_certificate: None,
            xfcc: None,
            mtls: None,
            peer_digest: None,
            route: None,
            method_override: None,
            now: 0,
            chain: &[],
            headers: &[],
            source_address: None,
        }
    }
}

impl Inputs for Request<'_> {
    fn header(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        let value = match name {
            ":path" => Some(self.path),
            ":method" => Some(self.method),
            ":authority" => Some(self.authority),
            XFCC_HEADER => self.xfcc,
            "x-http-method-override" => self.method_override,
            _ => None,
        };
        match value {
            Some(value) => Some(Cow::Borrowed(value)),
            None => join_lines(
                self.headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| *v),
            ),
        }
    }

    fn header_count(&self, name: &str) -> usize {
        let extra = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count();
        extra.max(usize::from(self.header(name).is_some()))
    }

    fn property(&mut self, property: Property) -> Result<Option<Vec<u8>>, HostCall> {
        Ok(match property {
            Property::PeerCertificateDigest => self.peer_digest.map(<[u8]>::to_vec),
            Property::PeerCertificate => self.peer_certificate.map(<[u8]>::to_vec),
            Property::Mtls => self.mtls.map(|m| vec![u8::from(m)]),
            Property::RouteName => self.route.map(<[u8]>::to_vec),
            Property::SourceAddress => self.source_address.map(<[u8]>::to_vec),
        })
    }

    fn now(&mut self) -> Result<i64, HostCall> {
        Ok(self.now)
    }

    fn presented_chain(&self) -> &[Vec<u8>] {
        self.chain
    }
}

/// Decides what happens to one request. `cache` remembers certificates already judged.
pub fn decide(config: &Config, inputs: &mut impl Inputs, cache: &mut VerdictCache) -> Outcome {
    match decide_or_fail(config, inputs, cache) {
        Ok(outcome) => outcome,
        Err(call) => Outcome::host_failure(call),
    }
}

/// The inputs of one request, each read at most once.
struct Reader<'i, I: Inputs> {
    inputs: &'i mut I,
    now: Option<i64>,
}

impl<I: Inputs> Reader<'_, I> {
    fn now(&mut self) -> Result<i64, HostCall> {
        match self.now {
            Some(now) => Ok(now),
            None => {
                let now = self.inputs.now()?;
                self.now = Some(now);
                Ok(now)
            }
        }
    }
}

fn decide_or_fail(
    config: &Config,
    inputs: &mut impl Inputs,
    cache: &mut VerdictCache,
) -> Result<Outcome, HostCall> {
    let needs = config.needs;
    if !config.enabled {
        return Ok(Outcome::without_certificate(
            Decision::Pass(PassReason::Disabled),
            false,
        ));
    }
    let route = if needs.route {
        inputs.property(Property::RouteName)?
    } else {
        None
    };
    let scope = {
        let read = |name: &str, needed: bool| {
            needed
                .then(|| inputs.header(name))
                .flatten()
                .unwrap_or(Cow::Borrowed(&[]))
        };
        let path = read(":path", needs.path);
        let method = read(":method", needs.method);
        let method_overridden = needs.method
            && METHOD_OVERRIDE_HEADERS
                .iter()
                .any(|name| inputs.header(name).is_some());
        let authority = read(":authority", needs.authority);
        scope(
            &config.exclusions,
            &config.rules,
            config.mode,
            config.report_only,
            RequestLine {
                path: &path,
                method: &method,
                method_overridden,
                authority: &authority,
                route: route.as_deref(),
            },
            needs.path,
            needs.authority,
        )
    };
    if scope.selection.mode == Mode::Disabled {
        return Ok(Outcome {
            rule: scope.selection.rule,
            ..Outcome::without_certificate(Decision::Pass(PassReason::Disabled), false)
        });
    }
    let mut reader = Reader { inputs, now: None };

    // A proxy in front of Envoy: the certificate is in its header, if the peer may send it.
    if let Some(front) = &config.front {
        let (presented, untrusted_peer) = match read_front(front, reader.inputs)? {
            Ok(FrontRead::Absent) => (None, None),
            Ok(FrontRead::Untrusted(peer)) => (None, Some(peer)),
            Ok(FrontRead::Presented(presented)) => (Some(presented), None),
            Err(e) => return Ok(early(config, &scope, invalid(e, scope.excluded))),
        };
        let mut outcome = match presented {
            None => without_certificate(config, &scope),
            Some(presented) => {
                let now = reader.now()?;
                judge(config, &scope, presented, now, cache, reader.inputs)
            }
        };
        outcome.untrusted_peer = untrusted_peer;
        return Ok(outcome);
    }

    // Host call on the hot path: the certificate's digest (64 hex digits), the verdict
    // cache's key. It is the cheapest way to know which certificate this connection carries:
    // on a hit the certificate itself (1-2 KB of PEM) is never fetched.
    let digest = if needs.peer_certificate {
        reader.inputs.property(Property::PeerCertificateDigest)?
    } else {
        None
    };
    let digest_key = digest
        .as_deref()
        .filter(|_| reader.inputs.presented_chain().is_empty())
        .and_then(digest_key);
    if let Some(key) = digest_key {
        // Host call on the hot path: the clock. A cached verdict is time-independent, but
        // the leaf's dates (and the path's, and the CRLs') are checked against the time of
        // every request, hit or not; a clock cached from a timer could accept a certificate
        // after its notAfter.
        let now = reader.now()?;
        if let Some(entry) = cache.peek(&key, now) {
            return Ok(finish(config, &scope, entry, now, key, CacheUse::Hit));
        }
    }

    let certificate = if needs.peer_certificate {
        reader.inputs.property(Property::PeerCertificate)?
    } else {
        None
    };
    let xfcc = if needs.xfcc && certificate.is_none() {
        reader.inputs.header(XFCC_HEADER).map(Cow::into_owned)
    } else {
        None
    };
    // Whether a certificate was presented matters only when none is in hand, or when XFCC
    // claims one.
    let mtls = if certificate.is_none() || xfcc.is_some() {
        reader
            .inputs
            .property(Property::Mtls)?
            .map(|v| v.first() == Some(&1))
    } else {
        None
    };
    // XFCC must describe this connection's certificate: compare with its digest.
    let peer_digest = match (&xfcc, needs.peer_certificate) {
        (None, _) => None,
        (Some(_), true) => digest,
        (Some(_), false) => reader.inputs.property(Property::PeerCertificateDigest)?,
    };
    let presented = match presented_certificate(
        config.source,
        certificate.as_deref(),
        xfcc.as_deref(),
        mtls,
        peer_digest.as_deref(),
        reader.inputs.presented_chain(),
    ) {
        Ok(presented) => presented,
        Err(e) => return Ok(early(config, &scope, invalid(e, scope.excluded))),
    };
    let Some(presented) = presented else {
        return Ok(without_certificate(config, &scope));
    };
    let now = reader.now()?;
    Ok(judge(config, &scope, presented, now, cache, reader.inputs))
}

/// The decision for a request that presents no certificate.
fn without_certificate(config: &Config, scope: &Scope<'_>) -> Outcome {
    let decision = if scope.excluded {
        Decision::Pass(PassReason::NoCertificateExcluded)
    } else if scope.selection.mode == Mode::Required {
        Decision::Deny(DenyReason::CertificateRequired)
    } else {
        Decision::Pass(PassReason::NoCertificateOptional)
    };
    early(config, scope, decision)
}

/// What a proxy's certificate header gave.
enum FrontRead {
    /// The request carries no certificate header.
    Absent,
    /// The header came from a peer not in `trustedProxies` (its `source.address`): ignored.
    Untrusted(String),
    /// The certificate (and chain) from a trusted peer's header.
    Presented(Presented),
}

/// Reads the certificate header of a proxy in front of Envoy: the peer is only asked for when
/// the header is there, and the header is only decoded when the peer is trusted.
fn read_front(
    front: &FrontSource,
    inputs: &mut impl Inputs,
) -> Result<Result<FrontRead, CertError>, HostCall> {
    let lines = inputs.header_count(&front.name);
    let chain_lines = front.chain_name.map_or(0, |n| inputs.header_count(n));
    if lines == 0 && chain_lines == 0 {
        return Ok(Ok(FrontRead::Absent));
    }
    // Host call, only when the request carries the header: the immediate peer, whom the
    // header is trusted from or not.
    let peer = inputs.property(Property::SourceAddress)?;
    let trusted = peer
        .as_deref()
        .and_then(parse_peer)
        .is_some_and(|address| front.trusted.iter().any(|c| c.contains(&address)));
    if !trusted {
        let peer = peer.map_or_else(
            || "unknown".to_string(),
            |p| String::from_utf8_lossy(&p).into_owned(),
        );
        return Ok(Ok(FrontRead::Untrusted(peer)));
    }
    let malformed = |header: &str, detail: String| {
        Ok(Err(CertError::BadHeader {
            header: header.to_string(),
            detail,
        }))
    };
    if lines > 1 {
        return malformed(&front.name, format!("sent {lines} times"));
    }
    if let Some(chain_name) = front.chain_name
        && chain_lines > 1
    {
        return malformed(chain_name, format!("sent {chain_lines} times"));
    }
    let Some(value) = inputs.header(&front.name) else {
        return malformed(&front.name, "absent beside its chain header".to_string());
    };
    let chain = front.chain_name.and_then(|n| inputs.header(n));
    Ok(
        decode_front(front.format, &front.name, &value, chain.as_deref()).map(|(der, chain)| {
            let mut chain = chain;
            chain.extend(inputs.presented_chain().iter().cloned());
            FrontRead::Presented(Presented { der, chain })
        }),
    )
}

/// The cache key of a connection digest: its 32 bytes, when it is 64 hex digits.
fn digest_key(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(text.chunks_exact(2)) {
        *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Some(key)
}

/// Whether `der` is exactly one DER element, nothing after it (what a certificate is before
/// it is parsed).
fn one_der_element(der: &[u8]) -> bool {
    let mut reader = DerReader::new(der);
    reader.any().is_ok() && reader.is_empty()
}

/// What a verdict cache key of a leaf with a chain starts with: no certificate does (a DER
/// certificate starts with its SEQUENCE tag, 0x30), so no key of a chain is the key of a leaf
/// alone (the SHA-256 of its DER, as Envoy's connection digest gives it).
const CHAIN_KEY_TAG: &[u8] = b"client-cert-auth verdict key: leaf and chain\0";

/// The verdict cache key of a leaf (its SHA-256) and the chain presented with it: the leaf's
/// own SHA-256 without a chain, otherwise the SHA-256 of [`CHAIN_KEY_TAG`] and the SHA-256 of
/// each certificate in order. Every part has a fixed length, so no other split of the same
/// bytes into certificates (one certificate whose bytes are the leaf and the intermediate back
/// to back, say) gives the same key.
fn cache_key(leaf_sha256: &[u8; 32], chain: &[Vec<u8>]) -> [u8; 32] {
    if chain.is_empty() {
        return *leaf_sha256;
    }
    let hashes: Vec<[u8; 32]> = chain.iter().map(|c| sha256(c)).collect();
    let mut parts: Vec<&[u8]> = Vec::with_capacity(hashes.len() + 2);
    parts.push(CHAIN_KEY_TAG);
    parts.push(leaf_sha256);
    parts.extend(hashes.iter().map(|h| h.as_slice()));
    sha256_of(&parts)
}

/// A decision taken before any certificate was judged.
fn early(config: &Config, scope: &Scope<'_>, decision: Decision) -> Outcome {
    let decision = reported(scope, decision);
    Outcome {
        pass_headers: pass_headers(config, &decision),
        rule: scope.selection.rule,
        ..Outcome::without_certificate(decision, scope.excluded)
    }
}

/// Under `reportOnly`, a refusal becomes a pass that says what it would have been. A host
/// failure stays a denial: the filter does not vouch for what it could not read.
fn reported(scope: &Scope<'_>, decision: Decision) -> Decision {
    match decision {
        Decision::Deny(reason)
            if scope.selection.report_only && !matches!(reason, DenyReason::HostFailure(_)) =>
        {
            Decision::Pass(PassReason::ReportOnly(reason))
        }
        decision => decision,
    }
}

/// Judges a presented certificate, from the cache when it holds a fresh verdict.
fn judge(
    config: &Config,
    scope: &Scope<'_>,
    presented: Presented,
    now: i64,
    cache: &mut VerdictCache,
    inputs: &mut impl Inputs,
) -> Outcome {
    let leaf_sha256 = sha256(&presented.der);
    // Malformed is decided before the cache: bytes that are not exactly one DER element (a
    // leaf with trailing data) never look a verdict up; the full parse below refuses them, so
    // they leave none behind either.
    let framed = one_der_element(&presented.der);
    let key = cache_key(&leaf_sha256, &presented.chain);
    if framed && let Some(entry) = cache.get(&key, now) {
        return finish(config, scope, entry, now, leaf_sha256, CacheUse::Hit);
    }
    // What the other VMs verified first: a signature checked by one worker is not checked
    // again by the others.
    let memo = config.validation.signature_memo();
    if let Some(memo) = memo
        && framed
        && let Some(sharing) = memo.sharing()
        && let Some(shared) = inputs.shared_signatures(sharing.key())
    {
        memo.import(&shared);
    }
    let checks_before = memo.map_or(0, |m| m.checks());
    let judged = judge_afresh(config, presented, now, &cache.revocation);
    let signature_checks = memo.map_or(0, |m| m.checks().saturating_sub(checks_before));
    let may_wait = inputs.may_wait();
    match judged {
        Ok((entry, query)) => {
            let mut outcome = finish(config, scope, &entry, now, leaf_sha256, CacheUse::Miss);
            outcome.soft_fail = entry.verdict.soft_fail.clone();
            outcome.signature_checks = signature_checks;
            match query {
                // A verdict without the OCSP answer is never remembered: the answer decides.
                // The request waits for it when the caller can wait and the path is not
                // excluded (an excluded request never waits: it goes on, without the
                // certificate unless another source vouched for it).
                Some(query) => {
                    if may_wait && !scope.excluded {
                        outcome.ocsp_query = Some(query);
                    }
                }
                None => cache.insert(key, entry),
            }
            outcome
        }
        Err(e) => Outcome {
            certificate_sha256: Some(leaf_sha256),
            cache: CacheUse::Miss,
            signature_checks,
            ..early(config, scope, invalid(e, scope.excluded))
        },
    }
}

/// The per-request checks on a judged certificate: dates, the verdict, the identities.
fn finish(
    config: &Config,
    scope: &Scope<'_>,
    entry: &Entry,
    now: i64,
    certificate_sha256: [u8; 32],
    cache: CacheUse,
) -> Outcome {
    let checked = check_dates(
        entry.not_before,
        entry.not_after,
        now,
        config.validation.dates,
    )
    .and_then(|()| entry.verdict.result.clone())
    .and_then(|()| {
        if config.validation.identities_match(
            &scope.selection.identities,
            scope.selection.global_identities,
            &entry.facts,
        ) {
            Ok(())
        } else {
            Err(CertError::IdentityNotMatched)
        }
    });
    let decision = match checked {
        Ok(()) => Decision::Forward {
            headers: Rc::clone(&entry.headers),
        },
        Err(e) => reported(scope, invalid(e, scope.excluded)),
    };
    Outcome {
        pass_headers: pass_headers(config, &decision),
        decision,
        certificate_sha256: Some(certificate_sha256),
        excluded: scope.excluded,
        cache,
        rule: scope.selection.rule,
        untrusted_peer: None,
        ocsp_query: None,
        soft_fail: None,
        signature_checks: 0,
    }
}

fn invalid(e: CertError, excluded: bool) -> Decision {
    if excluded {
        Decision::Pass(PassReason::InvalidCertificateExcluded(e))
    } else {
        Decision::Deny(DenyReason::CertificateInvalid(e))
    }
}

fn pass_headers(config: &Config, decision: &Decision) -> Vec<Header> {
    match decision {
        Decision::Pass(reason) => config.forward.pass_headers(reason),
        _ => Vec::new(),
    }
}

/// Parses the certificate and does the expensive checks, once per certificate; with the OCSP
/// question to ask first when the answer is not known and the caller can wait.
fn judge_afresh(
    config: &Config,
    presented: Presented,
    now: i64,
    revocation: &RevocationState,
) -> Result<(Entry, Option<Box<OcspQuery>>), CertError> {
    let leaf = LeafCertificate::from_der(presented.der)?;
    let (mut verdict, query) = if config.validation.checks_beyond_dates() {
        let chain: Vec<CertificateDer<'_>> = presented
            .chain
            .iter()
            .map(|c| CertificateDer::from(c.as_slice()))
            .collect();
        match config
            .validation
            .judge_online(&leaf, &chain, now, revocation)
        {
            Judgement::Done(verdict) => (verdict, None),
            Judgement::Ask { verdict, query } => (verdict, Some(query)),
        }
    } else {
        (Verdict::accepted(), None)
    };
    let mut facts = leaf.facts.clone();
    facts.issuer_ca_sha1 = verdict.issuer_ca_sha1.clone();
    // What `subjectPattern` searches, printed once per certificate (only where one is
    // configured).
    if config.subject_patterns {
        facts.subject_dn = leaf.subject_name.openssl_rfc2253();
    }
    // The chain headers carry the path the trust check verified, never what else the client
    // appended; without the trust check, the chain as presented (documented as unverified).
    let path = verdict.path.take();
    let chain = path.as_deref().unwrap_or(&presented.chain);
    Ok((
        Entry {
            not_before: leaf.not_before,
            not_after: leaf.not_after,
            headers: Rc::new(config.forward.headers_for(&leaf, chain)),
            verdict,
            facts: Rc::new(facts),
        },
        query,
    ))
}

/// A presented certificate, decoded from its source.
struct Presented {
    der: Vec<u8>,
    chain: Vec<Vec<u8>>,
}

/// The certificate from the configured source; `Ok(None)` when the client presented none.
fn presented_certificate(
    source: Source,
    certificate: Option<&[u8]>,
    xfcc: Option<&[u8]>,
    mtls: Option<bool>,
    peer_digest: Option<&[u8]>,
    chain: &[Vec<u8>],
) -> Result<Option<Presented>, CertError> {
    match (source, certificate) {
        (Source::Connection | Source::Auto, Some(raw)) => {
            return Ok(Some(Presented {
                der: der_from_property(raw)?,
                chain: chain.to_vec(),
            }));
        }
        (Source::Connection, None) => {
            return if mtls == Some(true) {
                Err(CertError::NotVisible {
                    detail: "connection.mtls is true but connection.peer_certificate is absent \
                             (Envoy older than 1.38?); set certificateSource to xfcc or auto with \
                             forward_client_cert_details SANITIZE_SET"
                        .to_string(),
                })
            } else {
                Ok(None)
            };
        }
        _ => {}
    }
    from_xfcc(xfcc, mtls, peer_digest, chain)
}

fn from_xfcc(
    xfcc: Option<&[u8]>,
    mtls: Option<bool>,
    peer_digest: Option<&[u8]>,
    presented_chain: &[Vec<u8>],
) -> Result<Option<Presented>, CertError> {
    let untrusted = |detail: &str| CertError::XfccUntrusted {
        detail: detail.to_string(),
    };
    let Some(value) = xfcc else {
        return if mtls == Some(true) {
            Err(CertError::NotVisible {
                detail: "connection.mtls is true but there is no x-forwarded-client-cert: set \
                         forward_client_cert_details SANITIZE_SET with \
                         set_current_client_cert_details cert: true"
                    .to_string(),
            })
        } else {
            Ok(None)
        };
    };
    // With SANITIZE_SET, Envoy removes XFCC from connections without a client certificate;
    // one present there was not written by this proxy's connection manager.
    if mtls != Some(true) {
        return Err(untrusted(
            "present on a connection without a client certificate, so the connection manager \
             did not write it (forward_client_cert_details must be SANITIZE_SET)",
        ));
    }
    let element = parse_single(value).map_err(|e| untrusted(&e.to_string()))?;
    let cert = element
        .get("cert")
        .ok_or_else(|| untrusted("no Cert key (set_current_client_cert_details cert: true)"))?;
    let der = der_from_property(cert.as_bytes())?;
    let digest = hex_lower(&sha256(&der));
    if element
        .get("hash")
        .is_some_and(|hash| !hash.eq_ignore_ascii_case(&digest))
    {
        return Err(untrusted("its Hash is not the SHA-256 of its Cert"));
    }
    if peer_digest.is_some_and(|peer| !peer.eq_ignore_ascii_case(digest.as_bytes())) {
        return Err(untrusted(
            "its Cert is not the certificate of this connection (digest mismatch)",
        ));
    }
    let mut chain = Vec::new();
    if let Some(bundle) = element.get("chain") {
        for der_block in pem_bundle(bundle)? {
            if der_block != der {
                chain.push(der_block);
            }
        }
    }
    chain.extend(presented_chain.iter().cloned());
    Ok(Some(Presented { der, chain }))
}
