//! Revocation at run time: CRLs fetched over HTTP and OCSP answers.
//!
//! This module holds the compiled `revocationSources` ([`OnlineSources`]), the revocation a VM
//! knows at a given moment ([`RevocationState`]: the CRLs installed, the OCSP answers kept) and
//! how the two give a certificate's status ([`online_status`]). Fetching, timers and shared
//! data are the glue's (`glue::revocation`); nothing here talks to the host.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::rc::Rc;

use super::crl_store::CompactCrl;
use super::ocsp::CertId;
use crate::config::{RawOcspSource, RawRevocationSources, RevocationFailure};
use crate::outcome::OcspQuery;

/// A URL the filter fetches from: `http://`, a host, a path. The module sends plain HTTP to the
/// cluster and cannot see the cluster's transport, so `https://` is refused rather than
/// pretended: TLS is the cluster's (a TLS transport socket), the URL says `http://`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host and port as written: the request's `:authority`.
    pub authority: String,
    /// Path and query (at least `/`): the request's `:path`.
    pub path: String,
}

impl HttpUrl {
    /// Parses `http://host[:port][/path][?query]`; no user information, no fragment, nothing
    /// that is not printable ASCII.
    pub fn parse(url: &str) -> Result<HttpUrl, String> {
        if url.is_empty() || !url.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "{url:?} is not a URL (printable ASCII without spaces)"
            ));
        }
        let lower = url.to_ascii_lowercase();
        let rest = if lower.starts_with("http://") {
            &url[7..]
        } else if lower.starts_with("https://") {
            return Err(format!(
                "{url:?} is an https:// URL, but the module sends plain HTTP to the cluster and \
                 cannot see whether the cluster speaks TLS: write http:// and give the cluster a \
                 TLS transport socket (the TLS is the cluster's)"
            ));
        } else {
            return Err(format!("{url:?} is not an http:// URL"));
        };
        if url.contains('#') {
            return Err(format!("{url:?} has a fragment"));
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        if authority.contains('@') {
            return Err(format!("{url:?} has user information"));
        }
        let port_ok = |port: &str| port.parse::<u16>().is_ok_and(|p| p > 0);
        let valid_port = match authority.strip_prefix('[') {
            // An IPv6 literal: `[addr]` or `[addr]:port`.
            Some(v6) => match v6.split_once(']') {
                Some((addr, "")) => !addr.is_empty(),
                Some((addr, rest)) => {
                    !addr.is_empty() && rest.strip_prefix(':').is_some_and(port_ok)
                }
                None => false,
            },
            None => match authority.split_once(':') {
                None => true,
                Some((host, port)) => !host.is_empty() && port_ok(port),
            },
        };
        if !valid_port {
            return Err(format!("{url:?} has a malformed port"));
        }
        let path = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        Ok(HttpUrl {
            authority: authority.to_string(),
            path,
        })
    }
}

/// One CRL fetched over HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlSource {
    /// Where from.
    pub url: HttpUrl,
    /// The URL as written (for logs).
    pub url_text: String,
    /// The Envoy cluster.
    pub cluster: String,
    /// Seconds between fetches.
    pub refresh_seconds: u32,
    /// The shared-data key prefix every VM of the Envoy uses for this source (URL and cluster
    /// hashed: the same source under another configuration shares the fetched copy).
    pub shared_key: String,
}

/// The OCSP responder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspSource {
    /// The Envoy cluster.
    pub cluster: String,
    /// The configured URL; `None`: the leaf's Authority Information Access OCSP URL.
    pub url: Option<HttpUrl>,
    /// How long a request waits, milliseconds.
    pub timeout_ms: u32,
    /// How long an answer is kept, seconds.
    pub cache_seconds: u32,
}

/// `revocationSources` and `revocationFailure`, compiled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OnlineSources {
    /// CRLs fetched over HTTP, in configuration order (their index names their stats).
    pub crls: Vec<CrlSource>,
    /// The OCSP responder, if any.
    pub ocsp: Option<OcspSource>,
    /// What no fresh status gives.
    pub failure: RevocationFailure,
}

/// The default `refreshSeconds`.
pub const DEFAULT_REFRESH_SECONDS: u32 = 3600;
/// The largest `refreshSeconds`: a week.
pub const MAX_REFRESH_SECONDS: u32 = 604_800;
/// The default `timeoutMs`.
pub const DEFAULT_OCSP_TIMEOUT_MS: u32 = 1000;
/// The smallest `timeoutMs`: below it hardly any responder answers in time, and under
/// `revocationFailure: allow` every certificate would pass unchecked.
pub const MIN_OCSP_TIMEOUT_MS: u32 = 100;
/// The largest `timeoutMs`.
pub const MAX_OCSP_TIMEOUT_MS: u32 = 30_000;
/// The default `cacheSeconds`.
pub const DEFAULT_OCSP_CACHE_SECONDS: u32 = 300;
/// The largest `cacheSeconds`: a day.
pub const MAX_OCSP_CACHE_SECONDS: u32 = 86_400;
/// How long a certificate let through by a soft fail (`revocationFailure: allow`) keeps its
/// verdict before revocation is tried again, seconds.
pub const SOFT_FAIL_TTL: i64 = 30;

/// A field of `revocationSources` that is not usable: its path and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The field, from `validation.` (`validation.revocationSources.crls[0].url`).
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

fn cluster_name(field: String, name: &str) -> Result<String, SourceError> {
    if name.is_empty() || name.len() > 255 || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SourceError {
            field,
            problem: format!("{name:?} is not an Envoy cluster name"),
        });
    }
    Ok(name.to_string())
}

fn ranged(
    field: String,
    value: Option<u32>,
    default: u32,
    range: (u32, u32),
    unit: &str,
) -> Result<u32, SourceError> {
    let value = value.unwrap_or(default);
    if value < range.0 || value > range.1 {
        return Err(SourceError {
            field,
            problem: format!("{value} is outside {} to {} {unit}", range.0, range.1),
        });
    }
    Ok(value)
}

impl OnlineSources {
    /// Compiles `revocationSources`; field paths start at `validation.revocationSources`.
    pub fn compile(
        raw: &RawRevocationSources,
        failure: RevocationFailure,
    ) -> Result<OnlineSources, SourceError> {
        let base = "validation.revocationSources";
        let mut crls = Vec::new();
        for (i, source) in raw.crls.iter().flatten().enumerate() {
            let field = |name: &str| format!("{base}.crls[{i}].{name}");
            let url = HttpUrl::parse(source.url.trim()).map_err(|problem| SourceError {
                field: field("url"),
                problem,
            })?;
            let cluster = cluster_name(field("cluster"), &source.cluster)?;
            let refresh_seconds = ranged(
                field("refreshSeconds"),
                source.refresh_seconds,
                DEFAULT_REFRESH_SECONDS,
                (1, MAX_REFRESH_SECONDS),
                "seconds",
            )?;
            let url_text = source.url.trim().to_string();
            if let Some(first) = crls
                .iter()
                .position(|c: &CrlSource| c.url == url && c.cluster == cluster)
            {
                return Err(SourceError {
                    field: field("url"),
                    problem: format!("the same URL and cluster as crls[{first}]"),
                });
            }
            let digest = crate::cert::sha256(format!("{cluster}\n{url_text}").as_bytes());
            crls.push(CrlSource {
                shared_key: format!(
                    "client_cert_auth.crl.{}",
                    crate::text::hex_lower(&digest[..12])
                ),
                url,
                url_text,
                cluster,
                refresh_seconds,
            });
        }
        let ocsp = match &raw.ocsp {
            None => None,
            Some(RawOcspSource {
                cluster,
                url,
                timeout_ms,
                cache_seconds,
            }) => {
                let field = |name: &str| format!("{base}.ocsp.{name}");
                Some(OcspSource {
                    cluster: cluster_name(field("cluster"), cluster)?,
                    url: url
                        .as_deref()
                        .map(|u| {
                            HttpUrl::parse(u.trim()).map_err(|problem| SourceError {
                                field: field("url"),
                                problem,
                            })
                        })
                        .transpose()?,
                    timeout_ms: ranged(
                        field("timeoutMs"),
                        *timeout_ms,
                        DEFAULT_OCSP_TIMEOUT_MS,
                        (MIN_OCSP_TIMEOUT_MS, MAX_OCSP_TIMEOUT_MS),
                        "milliseconds",
                    )?,
                    cache_seconds: ranged(
                        field("cacheSeconds"),
                        *cache_seconds,
                        DEFAULT_OCSP_CACHE_SECONDS,
                        (0, MAX_OCSP_CACHE_SECONDS),
                        "seconds",
                    )?,
                })
            }
        };
        if crls.is_empty() && ocsp.is_none() {
            return Err(SourceError {
                field: base.to_string(),
                problem: "names no source (crls or ocsp)".to_string(),
            });
        }
        Ok(OnlineSources {
            crls,
            ocsp,
            failure,
        })
    }
}

/// An installed fetched CRL, and which copy it is.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The CRL.
    pub crl: Rc<CompactCrl>,
    /// The shared-data generation it came from.
    pub generation: u64,
}

/// What an OCSP answer (or the lack of one) said, kept for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcspStatus {
    /// Not revoked.
    Good,
    /// Revoked.
    Revoked,
    /// No usable answer: the responder said unknown, failed, timed out, or its answer did not
    /// verify. The text says which.
    NoAnswer(String),
}

#[derive(Debug, Clone)]
struct OcspEntry {
    status: OcspStatus,
    fresh_until: i64,
}

/// The largest number of OCSP answers a VM keeps.
pub const OCSP_CACHE_CAPACITY: usize = 4096;

/// The revocation a VM knows: fetched CRLs by source index, OCSP answers by CertID.
#[derive(Debug, Default)]
pub struct RevocationState {
    crls: Vec<Option<Installed>>,
    ocsp: BTreeMap<[u8; 32], OcspEntry>,
    ocsp_order: VecDeque<[u8; 32]>,
}

impl RevocationState {
    /// The CRL installed for source `index`.
    pub fn crl(&self, index: usize) -> Option<&Installed> {
        self.crls.get(index).and_then(Option::as_ref)
    }

    /// Installs a CRL for source `index`.
    pub fn install(&mut self, index: usize, installed: Installed) {
        if self.crls.len() <= index {
            self.crls.resize(index + 1, None);
        }
        self.crls[index] = Some(installed);
    }

    /// The OCSP status kept for a CertID key, if still fresh at `now`.
    pub fn ocsp(&self, key: &[u8; 32], now: i64) -> Option<&OcspStatus> {
        self.ocsp
            .get(key)
            .filter(|e| now <= e.fresh_until)
            .map(|e| &e.status)
    }

    /// Keeps an OCSP status until `fresh_until` (inclusive), evicting the oldest beyond
    /// [`OCSP_CACHE_CAPACITY`].
    pub fn record_ocsp(&mut self, key: [u8; 32], status: OcspStatus, fresh_until: i64) {
        if self
            .ocsp
            .insert(
                key,
                OcspEntry {
                    status,
                    fresh_until,
                },
            )
            .is_none()
        {
            self.ocsp_order.push_back(key);
        }
        while self.ocsp_order.len() > OCSP_CACHE_CAPACITY {
            if let Some(old) = self.ocsp_order.pop_front() {
                self.ocsp.remove(&old);
            }
        }
    }

    /// How many OCSP answers are kept.
    pub fn ocsp_len(&self) -> usize {
        self.ocsp.len()
    }
}

/// What a certificate's status depends on, so a newer CRL or OCSP answer that revokes it can
/// drop its cached verdict at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRef {
    /// The leaf's issuer Name, DER.
    pub issuer_name: Vec<u8>,
    /// SHA-256 of the issuing CA's SubjectPublicKeyInfo.
    pub issuer_id: [u8; 32],
    /// The leaf's serialNumber INTEGER contents.
    pub serial: Vec<u8>,
    /// The CertID key of its OCSP answers.
    pub ocsp_key: Option<[u8; 32]>,
}

impl RevocationRef {
    /// Whether this CRL revokes the certificate.
    pub fn revoked_by(&self, crl: &CompactCrl) -> bool {
        crl.issuer() == self.issuer_name.as_slice()
            && crl.signer() == self.issuer_id
            && crl.is_revoked(&self.serial)
    }
}

/// The CA that issued the leaf, as the revocation sources need it.
#[derive(Debug, Clone)]
pub struct IssuerInfo {
    /// Its subject Name, DER.
    pub subject: Vec<u8>,
    /// Its SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
    /// SHA-256 of its SubjectPublicKeyInfo (which CRLs apply: those of its name and key).
    pub id: [u8; 32],
}

/// The leaf, as the revocation sources need it.
#[derive(Debug, Clone)]
pub struct LeafRef<'a> {
    /// Its issuer Name, DER.
    pub issuer_name: &'a [u8],
    /// Its serialNumber INTEGER contents.
    pub serial: &'a [u8],
    /// Its Authority Information Access OCSP URL, if any.
    pub ocsp_url: Option<&'a str>,
}

/// What the run-time sources say about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnlineStatus {
    /// A source says it is revoked.
    Revoked,
    /// The sources that vouch for it, and until when (the earliest of their fresh periods);
    /// `None` when none does, with why each did not.
    Known {
        /// Until when (inclusive) the sources that vouched hold; `None`: none vouched.
        vouched_until: Option<i64>,
        /// Why each source that did not vouch did not.
        unknown: Vec<String>,
        /// The OCSP responder was asked and gave no usable answer: whatever the other sources
        /// say, it is to be asked again soon ([`SOFT_FAIL_TTL`]).
        ocsp_failed: bool,
        /// The OCSP responder's answer is not known: the question to ask. The rest of the
        /// status is what holds without the answer.
        ask: Option<Box<OcspQuery>>,
    },
}

/// The status of a leaf from the fetched CRLs and the OCSP answers kept. A missing OCSP answer
/// is a question to ask (`ask`), beside what the other sources say: whether anyone can wait
/// for it is the caller's business.
pub fn online_status(
    sources: &OnlineSources,
    state: &RevocationState,
    leaf: &LeafRef<'_>,
    issuer: &IssuerInfo,
    now: i64,
    skew: i64,
) -> OnlineStatus {
    let mut vouched_until: Option<i64> = None;
    let mut unknown = Vec::new();
    let mut ocsp_failed = false;
    let mut vouch =
        |until: i64| vouched_until = Some(vouched_until.map_or(until, |v| v.min(until)));
    for (i, source) in sources.crls.iter().enumerate() {
        let Some(installed) = state.crl(i) else {
            unknown.push(format!("the CRL {} is not fetched yet", source.url_text));
            continue;
        };
        let crl = &installed.crl;
        // A CRL of another CA (or of a namesake with another key) says nothing about this leaf.
        if crl.issuer() != leaf.issuer_name || crl.signer() != issuer.id {
            continue;
        }
        if crl.is_revoked(leaf.serial) {
            return OnlineStatus::Revoked;
        }
        if now < crl.this_update() {
            unknown.push(format!(
                "the CRL {} is not valid before {}",
                source.url_text,
                crate::text::rfc3339::format(crl.this_update())
            ));
            continue;
        }
        match crl.next_update() {
            Some(next) if now > next => unknown.push(format!(
                "the CRL {} expired at {} and no newer one was fetched",
                source.url_text,
                crate::text::rfc3339::format(next)
            )),
            next => vouch(next.unwrap_or(i64::MAX)),
        }
    }
    if let Some(ocsp) = &sources.ocsp {
        let Some(id) = CertId::new(&issuer.subject, &issuer.spki, leaf.serial) else {
            unknown.push("OCSP: the issuer's key is not usable for a CertID".to_string());
            return OnlineStatus::Known {
                vouched_until,
                unknown,
                ocsp_failed: false,
                ask: None,
            };
        };
        let key = id.key();
        let mut ask = None;
        match state.ocsp(&key, now) {
            Some(OcspStatus::Good) => {
                // The answer's own freshness is its entry's; the verdict holds at most as long.
                let until = state.ocsp.get(&key).map_or(now, |e| e.fresh_until);
                vouch(until);
            }
            Some(OcspStatus::Revoked) => return OnlineStatus::Revoked,
            Some(OcspStatus::NoAnswer(why)) => {
                unknown.push(format!("OCSP: {why}"));
                ocsp_failed = true;
            }
            None => {
                let url = match (&ocsp.url, leaf.ocsp_url) {
                    (Some(url), _) => Some(url.clone()),
                    (None, Some(aia)) => HttpUrl::parse(aia)
                        .map_err(|why| {
                            unknown.push(format!("OCSP: the certificate's OCSP URL {why}"))
                        })
                        .ok(),
                    (None, None) => None,
                };
                match url {
                    None => unknown.push(
                        "OCSP: no responder URL (none configured, and the certificate has no usable Authority Information Access OCSP URL)"
                            .to_string(),
                    ),
                    Some(url) => {
                        unknown.push(
                            "OCSP: no answer yet (asked by a request that can wait for it)"
                                .to_string(),
                        );
                        ask = Some(Box::new(OcspQuery {
                            cluster: ocsp.cluster.clone(),
                            authority: url.authority,
                            path: url.path,
                            timeout_ms: ocsp.timeout_ms,
                            cache_seconds: ocsp.cache_seconds,
                            skew,
                            key,
                            issuer_subject: issuer.subject.clone(),
                            issuer_spki: issuer.spki.clone(),
                            serial: leaf.serial.to_vec(),
                        }));
                    }
                }
            }
        }
        return OnlineStatus::Known {
            vouched_until,
            unknown,
            ocsp_failed,
            ask,
        };
    }
    OnlineStatus::Known {
        vouched_until,
        unknown,
        ocsp_failed,
        ask: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_give_authority_and_path() {
        let u = HttpUrl::parse("http://crl.contoso.test/issuing.crl").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.path.as_str()),
            ("crl.contoso.test", "/issuing.crl")
        );
        let u = HttpUrl::parse("HTTP://ocsp.test:8443").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.path.as_str()),
            ("ocsp.test:8443", "/")
        );
        for https in ["https://ocsp.test/", "HTTPS://ocsp.test:8443"] {
            let why = HttpUrl::parse(https).unwrap_err();
            assert!(why.contains("is an https:// URL"), "{why}");
        }
        let u = HttpUrl::parse("http://[::1]:80/x?y=1").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.path.as_str()),
            ("[::1]:80", "/x?y=1")
        );
        let u = HttpUrl::parse("http://[::1]/crl").unwrap();
        assert_eq!(u.authority, "[::1]");
        let u = HttpUrl::parse("http://h?q").unwrap();
        assert_eq!(u.path, "/?q");
        for bad in [
            "",
            "ftp://x/",
            "http:///x",
            "http://user@host/",
            "http://host:0/",
            "http://host:99999/",
            "http://host:/",
            "http://host/a b",
            "http://host/#frag",
            "http://::1/",
            "http://[]/",
            "http://[::1]:/",
            "http://[::1]x/",
            "http://[::1/",
            "http://:80/",
            "crl.contoso.test/issuing.crl",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_ocsp_cache_is_bounded_and_answers_only_while_fresh() {
        let mut state = RevocationState::default();
        state.record_ocsp([1; 32], OcspStatus::Good, 100);
        assert_eq!(state.ocsp(&[1; 32], 100), Some(&OcspStatus::Good));
        assert_eq!(state.ocsp(&[1; 32], 101), None);
        for i in 0..OCSP_CACHE_CAPACITY + 5 {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i as u64).to_be_bytes());
            state.record_ocsp(key, OcspStatus::Revoked, 1000);
        }
        assert_eq!(state.ocsp_len(), OCSP_CACHE_CAPACITY);
        assert_eq!(state.ocsp(&[1; 32], 50), None, "the oldest went first");
    }
}
