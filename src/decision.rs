//! The decision: what the filter does with one request. This is the contract between the pure
//! core and the host glue; the glue gathers the inputs, calls [`decide`] and applies the result.
//!
//! Whatever the decision, the glue has already removed from the request every header this
//! filter can set ([`crate::forward::Forward::strip_list`]) before it asks.

use std::rc::Rc;

use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use crate::cache::{Entry, VerdictCache};
use crate::cert::{
    CertError, LeafCertificate, check_dates, der_from_property, pem_to_der, percent_decode,
};
use crate::config::{Config, Mode, Source};
use crate::forward::Header;
use crate::path::canonicalize;
use crate::path::hex_value;
use crate::responses::Reply;
use crate::rules::{Selection, request_host, select};
use crate::validation::Verdict;
use crate::xfcc;

/// The header Azure App Service uses to forward the client certificate (lower case, as the
/// host stores header names).
pub const FORWARDED_HEADER: &str = "x-arr-clientcert";

/// What the glue knows about one request. Fields the configuration does not need may be left
/// at their defaults (see [`Config::needs`]).
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
    /// The host's clock, Unix seconds.
    pub now: i64,
    /// Intermediate certificates presented with the leaf (DER), used by the trust check
    /// beside the configured ones.
    pub chain: &'a [Vec<u8>],
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
            now: 0,
            chain: &[],
        }
    }
}

/// What to do with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let the request through without a forwarded certificate.
    Pass(PassReason),
    /// Let the request through with these headers set (the forwarded certificate).
    Forward { headers: Rc<Vec<Header>> },
    /// Answer locally; the request never reaches the upstream.
    Deny(DenyReason),
}

impl Decision {
    /// The value this decision forwards in a header, if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        match self {
            Decision::Forward { headers } => headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }
}

/// Why a request passes without a certificate header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassReason {
    Disabled,
    NoCertificateOptional,
    NoCertificateExcluded,
    InvalidCertificateExcluded(CertError),
}

impl PassReason {
    /// One sentence for logs and the command-line tool.
    pub fn describe(&self) -> String {
        match self {
            PassReason::Disabled => "client certificates are disabled".to_string(),
            PassReason::NoCertificateOptional => {
                "no client certificate, and the mode makes it optional".to_string()
            }
            PassReason::NoCertificateExcluded => {
                "no client certificate, on an excluded path".to_string()
            }
            PassReason::InvalidCertificateExcluded(e) => {
                format!("excluded path; the invalid certificate is not forwarded ({e})")
            }
        }
    }
}

/// Why a request is denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// `Required` mode, not excluded, and the client presented no certificate.
    CertificateRequired,
    /// The client presented a certificate that is not acceptable.
    CertificateInvalid(CertError),
    /// The host did not answer a call the decision depends on; failing closed.
    HostFailure(&'static str),
}

impl DenyReason {
    /// The reason's name in logs and metrics (`missing`, `expired`, ..., `host_failure`).
    pub fn name(&self) -> &'static str {
        match self {
            DenyReason::CertificateRequired => "missing",
            DenyReason::CertificateInvalid(e) => e.kind(),
            DenyReason::HostFailure(_) => "host_failure",
        }
    }

    /// Why, in one sentence.
    pub fn describe(&self) -> String {
        match self {
            DenyReason::CertificateRequired => {
                "client certificate required but none was presented".to_string()
            }
            DenyReason::CertificateInvalid(e) => {
                format!("client certificate invalid ({}): {e}", e.kind())
            }
            DenyReason::HostFailure(what) => {
                format!("failing closed because the host call for {what} failed")
            }
        }
    }
}

/// Whether the verdict came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    NotConsulted,
    Hit,
    Miss,
}

/// The decision with what logs and metrics need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub decision: Decision,
    /// Headers to set on a pass (the informational verification header).
    pub pass_headers: Vec<Header>,
    /// SHA-256 of the presented certificate's DER, when one was decoded.
    pub certificate_sha256: Option<[u8; 32]>,
    pub excluded: bool,
    pub cache: CacheUse,
}

/// Which request inputs the configuration needs, so the glue can skip host calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub path: bool,
    pub method: bool,
    pub authority: bool,
    pub peer_certificate: bool,
    pub xfcc: bool,
}

impl Config {
    /// The request inputs the decision reads under this configuration.
    pub fn needs(&self) -> Needs {
        let active = self.enabled
            && (self.mode != Mode::Disabled || self.rules.iter().any(|r| r.mode != Mode::Disabled));
        Needs {
            path: active && (!self.exclusions.is_empty() || !self.rules.is_empty()),
            method: active && self.rules.iter().any(|r| r.uses_method()),
            authority: active && self.rules.iter().any(|r| r.uses_host()),
            peer_certificate: active && self.source != Source::Xfcc,
            xfcc: active && self.source != Source::Connection,
        }
    }

    /// The reply for a denial.
    pub fn reply(&self, reason: &DenyReason) -> &Reply {
        self.responses.reply(reason)
    }
}

/// Decides what happens to one request. `cache` remembers certificates already judged.
pub fn decide(config: &Config, request: &Request<'_>, cache: &mut VerdictCache) -> Decision {
    decide_detailed(config, request, cache).decision
}

/// A presented certificate, decoded from its source.
struct Presented {
    der: Vec<u8>,
    chain: Vec<Vec<u8>>,
}

/// What the request's path, host and method decide before any certificate is looked at.
struct Scope<'c> {
    excluded: bool,
    selection: Selection<'c>,
}

fn empty_outcome() -> Outcome {
    Outcome {
        decision: Decision::Pass(PassReason::Disabled),
        pass_headers: Vec::new(),
        certificate_sha256: None,
        excluded: false,
        cache: CacheUse::NotConsulted,
    }
}

/// `Err` holds the outcome when no certificate can matter (disabled, or a disabled rule).
fn scope<'c>(config: &'c Config, request: &Request<'_>) -> Result<Scope<'c>, Outcome> {
    if !config.enabled {
        return Err(empty_outcome());
    }
    let needs = config.needs();
    let canonical = if needs.path {
        canonicalize(request.path)
    } else {
        None
    };
    let excluded = config.exclusions.matches_canonical(canonical.as_deref());
    let host = if needs.authority {
        request_host(request.authority)
    } else {
        Some(String::new())
    };
    let selection = select(
        &config.rules,
        config.mode,
        canonical.as_deref(),
        host.as_deref(),
        request.method,
    );
    if selection.mode == Mode::Disabled {
        return Err(empty_outcome());
    }
    Ok(Scope {
        excluded,
        selection,
    })
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
        if config
            .validation
            .identities_match(&scope.selection.identities, &entry.facts)
        {
            Ok(())
        } else {
            Err(CertError::IdentityNotMatched)
        }
    });
    let decision = match checked {
        Ok(()) => Decision::Forward {
            headers: Rc::clone(&entry.headers),
        },
        Err(e) => invalid(e, scope.excluded),
    };
    Outcome {
        pass_headers: pass_headers(config, &decision),
        decision,
        certificate_sha256: Some(certificate_sha256),
        excluded: scope.excluded,
        cache,
    }
}

/// The fast path: decide from the connection's certificate digest
/// (`connection.sha256_peer_certificate_digest`) and the verdict cache alone, without the
/// certificate itself. `None` when the certificate is needed (no digest, XFCC source, or not
/// cached); then call [`decide_detailed`] with it. The digest is SHA-256 of the DER, the very
/// key the cache uses for a certificate presented without a chain.
pub fn decide_if_cached(
    config: &Config,
    request: &Request<'_>,
    cache: &mut VerdictCache,
) -> Option<Outcome> {
    if config.source == Source::Xfcc || request.peer_certificate.is_some() {
        return None;
    }
    let key = hex32(request.peer_digest?)?;
    let scope = match scope(config, request) {
        Ok(scope) => scope,
        Err(outcome) => return Some(outcome),
    };
    let entry = cache.peek(&key, request.now)?;
    Some(finish(
        config,
        &scope,
        entry,
        request.now,
        key,
        CacheUse::Hit,
    ))
}

fn hex32(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.chunks(2).enumerate() {
        out[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Some(out)
}

/// [`decide`], with what the glue needs for logs, metrics and the verification header.
pub fn decide_detailed(
    config: &Config,
    request: &Request<'_>,
    cache: &mut VerdictCache,
) -> Outcome {
    let scope = match scope(config, request) {
        Ok(scope) => scope,
        Err(outcome) => return outcome,
    };
    let excluded = scope.excluded;
    let early = |decision: Decision| Outcome {
        pass_headers: pass_headers(config, &decision),
        decision,
        certificate_sha256: None,
        excluded,
        cache: CacheUse::NotConsulted,
    };
    let presented = match presented_certificate(config.source, request) {
        Ok(p) => p,
        Err(e) => return early(invalid(e, excluded)),
    };
    let Some(presented) = presented else {
        return early(if excluded {
            Decision::Pass(PassReason::NoCertificateExcluded)
        } else if scope.selection.mode == Mode::Required {
            Decision::Deny(DenyReason::CertificateRequired)
        } else {
            Decision::Pass(PassReason::NoCertificateOptional)
        });
    };

    // The key covers the presented chain too: another chain may give another verdict.
    let leaf_sha256: [u8; 32] = Sha256::digest(&presented.der).into();
    let key: [u8; 32] = if presented.chain.is_empty() {
        leaf_sha256
    } else {
        let mut hasher = Sha256::new();
        hasher.update(&presented.der);
        for intermediate in &presented.chain {
            hasher.update(intermediate);
        }
        hasher.finalize().into()
    };
    if let Some(entry) = cache.get(&key, request.now) {
        return finish(
            config,
            &scope,
            entry,
            request.now,
            leaf_sha256,
            CacheUse::Hit,
        );
    }
    match judge_afresh(config, presented, request.now) {
        Ok(entry) => {
            let outcome = finish(
                config,
                &scope,
                &entry,
                request.now,
                leaf_sha256,
                CacheUse::Miss,
            );
            cache.insert(key, entry);
            outcome
        }
        Err(e) => Outcome {
            certificate_sha256: Some(leaf_sha256),
            cache: CacheUse::Miss,
            ..early(invalid(e, excluded))
        },
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

/// Parses the certificate and does the expensive checks, once per certificate.
fn judge_afresh(config: &Config, presented: Presented, now: i64) -> Result<Entry, CertError> {
    let leaf = LeafCertificate::from_der(presented.der)?;
    let verdict = if config.validation.checks_beyond_dates() {
        let chain: Vec<CertificateDer<'_>> = presented
            .chain
            .iter()
            .map(|c| CertificateDer::from(c.as_slice()))
            .collect();
        config.validation.judge(&leaf, &chain, now)
    } else {
        Verdict::accepted()
    };
    let mut facts = leaf.facts.clone();
    facts.issuer_ca_sha1 = verdict.issuer_ca_sha1.clone();
    Ok(Entry {
        not_before: leaf.not_before,
        not_after: leaf.not_after,
        headers: Rc::new(config.forward.headers_for(&leaf, &presented.chain)),
        verdict,
        facts: Rc::new(facts),
    })
}

/// The certificate from the configured source; `Ok(None)` when the client presented none.
fn presented_certificate(source: Source, r: &Request<'_>) -> Result<Option<Presented>, CertError> {
    let from_connection = |raw: &[u8]| -> Result<Option<Presented>, CertError> {
        let der = der_from_property(raw)?;
        Ok(Some(Presented {
            der,
            chain: r.chain.to_vec(),
        }))
    };
    match (source, r.peer_certificate) {
        (Source::Connection | Source::Auto, Some(raw)) => return from_connection(raw),
        (Source::Connection, None) => {
            return if r.mtls == Some(true) {
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
    from_xfcc(r)
}

fn from_xfcc(r: &Request<'_>) -> Result<Option<Presented>, CertError> {
    let untrusted = |detail: &str| CertError::XfccUntrusted {
        detail: detail.to_string(),
    };
    let Some(value) = r.xfcc else {
        return if r.mtls == Some(true) {
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
    if r.mtls != Some(true) {
        return Err(untrusted(
            "present on a connection without a client certificate, so the connection manager \
             did not write it (forward_client_cert_details must be SANITIZE_SET)",
        ));
    }
    let element = xfcc::parse_single(value).map_err(|e| untrusted(&e.to_string()))?;
    let cert = element
        .get("cert")
        .ok_or_else(|| untrusted("no Cert key (set_current_client_cert_details cert: true)"))?;
    let der = der_from_property(cert.as_bytes())?;
    let digest = hex_lower(&Sha256::digest(&der));
    if element
        .get("hash")
        .is_some_and(|hash| !hash.eq_ignore_ascii_case(&digest))
    {
        return Err(untrusted("its Hash is not the SHA-256 of its Cert"));
    }
    if r.peer_digest
        .is_some_and(|peer| !peer.eq_ignore_ascii_case(digest.as_bytes()))
    {
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
    chain.extend(r.chain.iter().cloned());
    Ok(Some(Presented { der, chain }))
}

/// The certificates of a (maybe percent-escaped) PEM bundle, as DER.
fn pem_bundle(text: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let decoded;
    let text = if text.contains('%') {
        decoded = percent_decode(text.as_bytes()).ok_or(CertError::BadPercentEncoding)?;
        std::str::from_utf8(&decoded).map_err(|_| CertError::NotPem)?
    } else {
        text
    };
    text.split_inclusive("-----END CERTIFICATE-----")
        .filter(|block| !block.trim().is_empty())
        .map(|block| pem_to_der(block.as_bytes(), "CERTIFICATE"))
        .collect()
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
