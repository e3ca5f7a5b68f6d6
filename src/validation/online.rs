//! Revocation at run time: CRLs fetched over HTTP and OCSP answers.
//!
//! This module holds the compiled `revocationSources` ([`OnlineSources`]), the revocation a VM
//! knows at a given moment ([`RevocationState`]: the CRLs installed, the OCSP answers kept) and
//! how the two give a certificate's status ([`online_status`]). Fetching, timers and shared
//! data are the glue's (`glue::revocation`); nothing here talks to the host.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::rc::Rc;

use std::cmp::Ordering;

use super::crl_store::{CompactCrl, CrlOrder, newer};
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
    /// Answers must echo the request's nonce (`requireNonce`).
    pub require_nonce: bool,
    /// The oldest producedAt and thisUpdate accepted, seconds before now (`maxAgeSeconds`).
    pub max_age_seconds: u32,
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
/// The default `maxAgeSeconds`: an answer produced (or dated) more than an hour ago is
/// refused, so a captured answer can be replayed for an hour at most.
pub const DEFAULT_OCSP_MAX_AGE_SECONDS: u32 = 3600;
/// The smallest `maxAgeSeconds`: a minute (clocks and responders are not exact).
pub const MIN_OCSP_MAX_AGE_SECONDS: u32 = 60;
/// The largest `maxAgeSeconds`: a week, the longest validity CAs give OCSP answers.
pub const MAX_OCSP_MAX_AGE_SECONDS: u32 = 604_800;
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
                require_nonce,
                max_age_seconds,
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
                    require_nonce: require_nonce.unwrap_or(false),
                    max_age_seconds: ranged(
                        field("maxAgeSeconds"),
                        *max_age_seconds,
                        DEFAULT_OCSP_MAX_AGE_SECONDS,
                        (MIN_OCSP_MAX_AGE_SECONDS, MAX_OCSP_MAX_AGE_SECONDS),
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

/// An installed fetched CRL, and when its source last served it.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The CRL.
    pub crl: Rc<CompactCrl>,
    /// When a fetch of its source last gave this CRL (or an equal one): what bounds how long
    /// a CRL without nextUpdate vouches.
    pub confirmed: i64,
    /// The Envoy accepted a newer CRL of the same slot (from another source, or under another
    /// configuration): this one still revokes what it lists, but vouches no more.
    pub superseded: bool,
}

/// A CRL without nextUpdate vouches for at most this many times its source's
/// `refreshSeconds` after the last fetch that gave it: one refresh, and one more for a fetch
/// that fails or comes late. After that it still revokes what it lists, but vouches for
/// nothing.
pub const NO_NEXT_UPDATE_REFRESHES: i64 = 2;

/// The most CRLs (slots: scopes) of one CA (issuer name and key) one source keeps. A source's
/// URL serves one CRL; the others are what an attacker replays there, and are bounded so
/// that another CA's CRLs can never crowd a CA's own out.
pub const MAX_SLOTS_PER_CA: usize = 4;

/// The most CRLs one source keeps, whatever their CAs (a bound on memory).
pub const MAX_SLOTS_PER_SOURCE: usize = 16;

/// When a source's set is full, an entry makes room only if it is stale: past its nextUpdate
/// (or without one) and not served by the source for this many times `refreshSeconds`.
pub const STALE_REFRESHES: i64 = 2;

/// One CRL in a source's shared set: its slot and order (so that any VM, whatever CAs it
/// trusts, can compare without verifying), when it was last served, and the bytes fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetEntry {
    /// [`CompactCrl::slot`].
    pub slot: [u8; 32],
    /// [`CompactCrl::authority`].
    pub authority: [u8; 32],
    /// nextUpdate (`None`: none).
    pub next_update: Option<i64>,
    /// The cRLNumber's contents (empty: none).
    pub number: Vec<u8>,
    /// thisUpdate.
    pub this_update: i64,
    /// When a fetch last gave it.
    pub confirmed: i64,
    /// The CRL as fetched (DER or PEM).
    pub bytes: Vec<u8>,
}

impl SetEntry {
    /// What orders it in its slot.
    pub fn order(&self) -> CrlOrder<'_> {
        CrlOrder {
            number: (!self.number.is_empty()).then_some(self.number.as_slice()),
            this_update: self.this_update,
        }
    }
}

impl SetEntry {
    /// Whether it may make room: past its nextUpdate (or without one), and not served for
    /// [`STALE_REFRESHES`] x `refresh` seconds.
    pub fn stale(&self, now: i64, refresh: i64) -> bool {
        self.next_update.is_none_or(|next| now > next)
            && now.saturating_sub(self.confirmed) > STALE_REFRESHES.saturating_mul(refresh)
    }
}

/// A source's shared set: per entry the slot and the authority (32 bytes each), thisUpdate,
/// nextUpdate (`i64::MIN`: none) and confirmed (8 bytes each, big-endian), the number's length
/// (1 byte) and contents, the CRL's length (4 bytes) and bytes.
pub fn encode_set(entries: &[SetEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&e.slot);
        out.extend_from_slice(&e.authority);
        out.extend_from_slice(&e.this_update.to_be_bytes());
        out.extend_from_slice(&e.next_update.unwrap_or(i64::MIN).to_be_bytes());
        out.extend_from_slice(&e.confirmed.to_be_bytes());
        out.push(u8::try_from(e.number.len()).unwrap_or(0));
        out.extend_from_slice(e.number.get(..usize::from(u8::MAX)).unwrap_or(&e.number));
        out.extend_from_slice(&u32::try_from(e.bytes.len()).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&e.bytes);
    }
    out
}

/// Reads [`encode_set`]'s form; `None` when it is not that (truncated, or trailing bytes).
pub fn decode_set(mut bytes: &[u8]) -> Option<Vec<SetEntry>> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (bytes.get(..n)?, bytes.get(n..)?);
        *bytes = tail;
        Some(head)
    }
    let int = |b: &[u8]| -> Option<i64> { Some(i64::from_be_bytes(b.try_into().ok()?)) };
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let slot: [u8; 32] = take(&mut bytes, 32)?.try_into().ok()?;
        let authority: [u8; 32] = take(&mut bytes, 32)?.try_into().ok()?;
        let this_update = int(take(&mut bytes, 8)?)?;
        let next_update = Some(int(take(&mut bytes, 8)?)?).filter(|n| *n != i64::MIN);
        let confirmed = int(take(&mut bytes, 8)?)?;
        let n = usize::from(*take(&mut bytes, 1)?.first()?);
        let number = take(&mut bytes, n)?.to_vec();
        let len = u32::from_be_bytes(take(&mut bytes, 4)?.try_into().ok()?);
        let crl = take(&mut bytes, usize::try_from(len).ok()?)?.to_vec();
        entries.push(SetEntry {
            slot,
            authority,
            next_update,
            number,
            this_update,
            confirmed,
            bytes: crl,
        });
    }
    Some(entries)
}

/// Why a fetched CRL does not go into its source's set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetRefusal {
    /// The set holds a newer CRL of the same slot: the fetched one is a rollback.
    Older {
        /// thisUpdate of the one fetched.
        fetched: i64,
        /// thisUpdate of the newer one kept.
        kept: i64,
    },
    /// The set already holds [`MAX_SLOTS_PER_CA`] CRLs of the CA (or
    /// [`MAX_SLOTS_PER_SOURCE`] in all), none of them stale, each listing a revocation the
    /// fetched CRL does not.
    Full,
    /// The shared set does not decode.
    Corrupt,
}

impl fmt::Display for SetRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetRefusal::Older { fetched, kept } => write!(
                f,
                "the CRL fetched (thisUpdate {}) is older than the one of the same issuer and scope already known (thisUpdate {}, by cRLNumber then thisUpdate): refused as a rollback",
                crate::text::rfc3339::format(*fetched),
                crate::text::rfc3339::format(*kept)
            ),
            SetRefusal::Full => write!(
                f,
                "the source already holds {MAX_SLOTS_PER_CA} CRLs of other scopes of this CA (or {MAX_SLOTS_PER_SOURCE} in all), each listing a revocation this one does not, none stale yet (past nextUpdate and not served for {STALE_REFRESHES} x refreshSeconds): a CRL of a new scope is refused until one is"
            ),
            SetRefusal::Corrupt => f.write_str("the shared copy of the source does not decode"),
        }
    }
}

/// The set with a fetched CRL in its slot: a newer one replaces the slot's, an equal one only
/// renews its `confirmed`, an older one is refused; a CRL of another slot never replaces a
/// live one (a CRL of another CA served at this source's URL adds to the set, it does not
/// take this CA's CRL out). A new slot beyond the bounds takes the place of the stale entry
/// served least recently (of the same CA when that CA's bound is the one reached), or of one
/// whose every revocation the fetched CRL lists too (`lists_all`, asked of a slot: so no
/// revocation is lost), or is refused. `refresh` is the source's `refreshSeconds`.
pub fn merge_set(
    shared: Option<&[u8]>,
    crl: &CompactCrl,
    bytes: &[u8],
    now: i64,
    refresh: i64,
    lists_all: impl Fn(&[u8; 32]) -> bool,
) -> Result<Vec<u8>, SetRefusal> {
    let mut entries = match shared {
        None => Vec::new(),
        Some(b) => decode_set(b).ok_or(SetRefusal::Corrupt)?,
    };
    let fetched = SetEntry {
        slot: crl.slot(),
        authority: crl.authority(),
        next_update: crl.next_update(),
        number: crl.number().unwrap_or_default().to_vec(),
        this_update: crl.this_update(),
        confirmed: now,
        bytes: bytes.to_vec(),
    };
    let same_ca = entries
        .iter()
        .filter(|e| e.authority == fetched.authority)
        .count();
    let full = entries.iter().all(|e| e.slot != fetched.slot)
        && (same_ca >= MAX_SLOTS_PER_CA || entries.len() >= MAX_SLOTS_PER_SOURCE);
    if full {
        // Room from the stale entry served least recently: of this CA when its bound is the
        // one reached, else of any.
        let this_ca = same_ca >= MAX_SLOTS_PER_CA;
        let victim = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                (!this_ca || e.authority == fetched.authority)
                    && (e.stale(now, refresh) || lists_all(&e.slot))
            })
            .min_by_key(|(_, e)| e.confirmed)
            .map(|(i, _)| i);
        match victim {
            Some(i) => {
                entries.remove(i);
            }
            None => return Err(SetRefusal::Full),
        }
    }
    match entries.iter_mut().find(|e| e.slot == fetched.slot) {
        Some(kept) => match newer(&fetched.order(), &kept.order()) {
            Ordering::Less => {
                return Err(SetRefusal::Older {
                    fetched: fetched.this_update,
                    kept: kept.this_update,
                });
            }
            Ordering::Equal => kept.confirmed = kept.confirmed.max(now),
            Ordering::Greater => *kept = fetched,
        },
        None => entries.push(fetched),
    }
    Ok(encode_set(&entries))
}

/// What an OCSP answer (or the lack of one) said, kept for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcspStatus {
    /// Not revoked.
    Good,
    /// Revoked. Kept for good (until the certificate expires) unless the revocation is a
    /// `certificateHold`, the one that may be lifted.
    Revoked,
    /// The responder said it does not know the certificate: an answer that says no, refused
    /// whatever `revocationFailure` says.
    Unknown,
    /// No usable answer: the responder failed, timed out, or its answer did not verify. The
    /// text says which.
    NoAnswer(String),
}

#[derive(Debug, Clone)]
struct OcspEntry {
    status: OcspStatus,
    fresh_until: i64,
}

/// The largest number of OCSP answers a VM keeps.
pub const OCSP_CACHE_CAPACITY: usize = 4096;

/// The largest number of certificates known revoked by OCSP a VM (and the Envoy's shared
/// data) keeps: 40 bytes each. Beyond it the one that expires first is forgotten first.
pub const REVOKED_CAPACITY: usize = 4096;

/// One certificate known revoked by OCSP: its CertID key and when it expires (after which no
/// one can use it anyway).
pub type RevokedEntry = ([u8; 32], i64);

/// The revocation a VM knows: fetched CRLs by source index, OCSP answers by CertID.
#[derive(Debug, Default)]
pub struct RevocationState {
    /// Per source, its CRLs (one per slot).
    crls: Vec<Vec<Installed>>,
    ocsp: BTreeMap<[u8; 32], OcspEntry>,
    ocsp_order: VecDeque<[u8; 32]>,
    /// Certificates an OCSP responder said are revoked (not on hold), until they expire: a
    /// revocation does not come back, and no later "good" or missing answer undoes it. Sorted
    /// by key (a flat vector: few entries, rarely written, read by binary search).
    revoked: Vec<RevokedEntry>,
}

const REVOKED: OcspStatus = OcspStatus::Revoked;

impl RevocationState {
    /// The CRLs installed for source `index`, one per slot.
    pub fn crls(&self, index: usize) -> &[Installed] {
        self.crls.get(index).map_or(&[], Vec::as_slice)
    }

    /// The newest CRL of `slot` installed from any source.
    pub fn newest(&self, slot: &[u8; 32]) -> Option<&Installed> {
        self.crls
            .iter()
            .flatten()
            .filter(|i| i.crl.slot() == *slot)
            .max_by(|a, b| newer(&a.crl.order(), &b.crl.order()))
    }

    /// Installs a CRL for source `index`, in its slot: never over a newer one of the slot
    /// (refused: `false`); over an equal one only its `confirmed` moves on.
    pub fn install(&mut self, index: usize, installed: Installed) -> bool {
        if self.crls.len() <= index {
            self.crls.resize(index + 1, Vec::new());
        }
        let Some(list) = self.crls.get_mut(index) else {
            return false;
        };
        let slot = installed.crl.slot();
        match list.iter_mut().find(|i| i.crl.slot() == slot) {
            Some(kept) => match newer(&installed.crl.order(), &kept.crl.order()) {
                Ordering::Less => false,
                Ordering::Equal => {
                    kept.confirmed = kept.confirmed.max(installed.confirmed);
                    true
                }
                Ordering::Greater => {
                    *kept = installed;
                    true
                }
            },
            None => {
                list.push(installed);
                true
            }
        }
    }

    /// Marks source `index`'s CRL of `slot` superseded (see [`Installed::superseded`]).
    pub fn supersede(&mut self, index: usize, slot: &[u8; 32]) {
        if let Some(list) = self.crls.get_mut(index) {
            for installed in list.iter_mut().filter(|i| i.crl.slot() == *slot) {
                installed.superseded = true;
            }
        }
    }

    /// Moves on the `confirmed` of source `index`'s CRL of `slot` when it is the same CRL as
    /// `order` says. Whether one was.
    pub fn confirm(
        &mut self,
        index: usize,
        slot: &[u8; 32],
        order: &CrlOrder<'_>,
        at: i64,
    ) -> bool {
        let Some(list) = self.crls.get_mut(index) else {
            return false;
        };
        match list
            .iter_mut()
            .find(|i| i.crl.slot() == *slot && newer(&i.crl.order(), order) == Ordering::Equal)
        {
            Some(kept) => {
                kept.confirmed = kept.confirmed.max(at);
                true
            }
            None => false,
        }
    }

    /// The OCSP status known for a CertID key at `now`: revoked for good, or an answer kept
    /// and still fresh.
    pub fn ocsp(&self, key: &[u8; 32], now: i64) -> Option<&OcspStatus> {
        if self.revoked_until(key).is_some_and(|until| now <= until) {
            return Some(&REVOKED);
        }
        self.ocsp
            .get(key)
            .filter(|e| now <= e.fresh_until)
            .map(|e| &e.status)
    }

    /// Until when (inclusive) the kept answer about `key` holds, if one is kept.
    pub fn ocsp_fresh_until(&self, key: &[u8; 32]) -> Option<i64> {
        self.ocsp.get(key).map(|e| e.fresh_until)
    }

    /// Keeps an OCSP status until `fresh_until` (inclusive), evicting the oldest beyond
    /// [`OCSP_CACHE_CAPACITY`]. A revoked answer still fresh (a hold) is not replaced by
    /// anything but another revoked one: revoked wins, as between sources.
    pub fn record_ocsp(&mut self, key: [u8; 32], status: OcspStatus, fresh_until: i64, now: i64) {
        if status != OcspStatus::Revoked && self.ocsp(&key, now) == Some(&OcspStatus::Revoked) {
            return;
        }
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

    /// Remembers that the certificate of CertID `key` is revoked, until `until` (its notAfter):
    /// whatever is asked or answered later. Bounded by [`REVOKED_CAPACITY`]: the entries that
    /// expire first go first, expired ones before all. Returns whether it was not known yet.
    pub fn record_revoked(&mut self, key: [u8; 32], until: i64, now: i64) -> bool {
        let known = match self.revoked.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(at) => {
                let Some(entry) = self.revoked.get_mut(at) else {
                    return false;
                };
                if entry.1 >= until {
                    return false;
                }
                entry.1 = until;
                true
            }
            Err(at) => {
                self.revoked.insert(at, (key, until));
                false
            }
        };
        self.ocsp.remove(&key);
        self.ocsp_order.retain(|k| *k != key);
        if self.revoked.len() > REVOKED_CAPACITY {
            self.revoked.retain(|(_, until)| *until >= now);
        }
        while self.revoked.len() > REVOKED_CAPACITY {
            let first = self
                .revoked
                .iter()
                .enumerate()
                .min_by_key(|(_, (k, until))| (*until, *k))
                .map(|(i, _)| i);
            match first {
                Some(i) => self.revoked.remove(i),
                None => break,
            };
        }
        !known
    }

    /// Whether any certificate is known revoked by OCSP (so a configuration without an OCSP
    /// source still looks its leaves up).
    pub fn knows_revocations(&self) -> bool {
        !self.revoked.is_empty()
    }

    /// Until when the certificate of CertID `key` is known revoked.
    fn revoked_until(&self, key: &[u8; 32]) -> Option<i64> {
        self.revoked
            .binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .and_then(|at| self.revoked.get(at))
            .map(|(_, until)| *until)
    }

    /// The certificates known revoked by OCSP and not expired at `now`.
    pub fn revoked_entries(&self, now: i64) -> Vec<RevokedEntry> {
        self.revoked
            .iter()
            .filter(|(_, until)| *until >= now)
            .copied()
            .collect()
    }

    /// How many OCSP answers are kept.
    pub fn ocsp_len(&self) -> usize {
        self.ocsp.len()
    }
}

/// The shared-data form of a list of certificates known revoked: 40 bytes each, the CertID
/// key then the expiry (big-endian seconds).
pub fn encode_revoked(entries: &[RevokedEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 40);
    for (key, until) in entries {
        out.extend_from_slice(key);
        out.extend_from_slice(&until.to_be_bytes());
    }
    out
}

/// Reads [`encode_revoked`]'s form; a trailing partial entry is ignored.
pub fn decode_revoked(bytes: &[u8]) -> Vec<RevokedEntry> {
    bytes
        .chunks_exact(40)
        .map(|chunk| {
            let mut key = [0u8; 32];
            key.copy_from_slice(&chunk[..32]);
            let mut until = [0u8; 8];
            until.copy_from_slice(&chunk[32..]);
            (key, i64::from_be_bytes(until))
        })
        .collect()
}

/// A shared list with one more entry, expired entries left out and bounded as
/// [`RevocationState::record_revoked`] bounds a VM's: what a VM publishes.
pub fn merge_revoked(shared: &[u8], entry: RevokedEntry, now: i64) -> Vec<u8> {
    let mut state = RevocationState::default();
    for (key, until) in decode_revoked(shared) {
        state.record_revoked(key, until, now);
    }
    state.record_revoked(entry.0, entry.1, now);
    encode_revoked(&state.revoked_entries(now))
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
    /// Its notAfter, Unix seconds: how long a revocation of it must be remembered.
    pub not_after: i64,
    /// The names of its CRL distribution points (see
    /// [`super::crl_store::distribution_point_names`]): which partitioned CRLs cover it.
    pub distribution_points: &'a [Vec<u8>],
}

/// What the run-time sources say about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnlineStatus {
    /// A source says it is revoked.
    Revoked,
    /// A source answered, and its answer is no (the OCSP responder does not know the
    /// certificate): refused as `revocation_unknown` whatever `revocationFailure` says.
    Refused(String),
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
    // Any CRL of the leaf's issuer (name and key) that lists it revokes it, whatever its
    // scope or age: a CA does not list a serial of its own that it did not revoke. Only a CRL
    // whose scope covers the leaf vouches, and of each slot only the newest known.
    let mut newest: Vec<(&Installed, &CrlSource)> = Vec::new();
    for (i, source) in sources.crls.iter().enumerate() {
        let installed = state.crls(i);
        if installed.is_empty() {
            unknown.push(format!("the CRL {} is not fetched yet", source.url_text));
            continue;
        }
        let mut partitions_elsewhere = false;
        for entry in installed {
            let crl = &entry.crl;
            // A CRL of another CA (or of a namesake with another key) says nothing about it.
            if crl.issuer() != leaf.issuer_name || crl.signer() != issuer.id {
                continue;
            }
            if crl.is_revoked(leaf.serial) {
                return OnlineStatus::Revoked;
            }
            if !crl.covers(leaf.distribution_points) {
                partitions_elsewhere = true;
                continue;
            }
            if entry.superseded {
                unknown.push(format!(
                    "the CRL {} is older than one this Envoy accepted for the same issuer and scope",
                    source.url_text
                ));
                continue;
            }
            let slot = crl.slot();
            match newest.iter_mut().find(|(kept, _)| kept.crl.slot() == slot) {
                None => newest.push((entry, source)),
                Some(best) => {
                    let better = match newer(&crl.order(), &best.0.crl.order()) {
                        Ordering::Greater => true,
                        Ordering::Equal => entry.confirmed > best.0.confirmed,
                        Ordering::Less => false,
                    };
                    if better {
                        *best = (entry, source);
                    }
                }
            }
        }
        if partitions_elsewhere && !newest.iter().any(|(_, s)| std::ptr::eq(*s, source)) {
            unknown.push(format!(
                "the CRLs of {} are partitions (issuingDistributionPoint) that do not cover the certificate's CRL distribution points",
                source.url_text
            ));
        }
    }
    for (entry, source) in &newest {
        let crl = &entry.crl;
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
            Some(next) => vouch(next),
            None => {
                let limit = entry.confirmed.saturating_add(
                    NO_NEXT_UPDATE_REFRESHES.saturating_mul(i64::from(source.refresh_seconds)),
                );
                if now > limit {
                    unknown.push(format!(
                        "the CRL {} has no nextUpdate and was last fetched at {}: it vouches for at most {NO_NEXT_UPDATE_REFRESHES} x refreshSeconds after a fetch",
                        source.url_text,
                        crate::text::rfc3339::format(entry.confirmed)
                    ));
                } else {
                    vouch(limit);
                }
            }
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
                let until = state.ocsp_fresh_until(&key).unwrap_or(now);
                vouch(until);
            }
            Some(OcspStatus::Revoked) => return OnlineStatus::Revoked,
            Some(OcspStatus::Unknown) => {
                return OnlineStatus::Refused(
                    "the OCSP responder does not know the certificate (certStatus unknown)"
                        .to_string(),
                );
            }
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
                            require_nonce: ocsp.require_nonce,
                            max_age_seconds: ocsp.max_age_seconds,
                            not_after: leaf.not_after,
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
    fn a_revocation_is_kept_until_expiry_and_no_later_answer_undoes_it() {
        let mut state = RevocationState::default();
        assert!(state.record_revoked([3; 32], 5000, 100));
        assert!(
            !state.record_revoked([3; 32], 4000, 100),
            "known, not shortened"
        );
        assert_eq!(state.revoked_entries(100), vec![([3; 32], 5000)]);
        state.record_ocsp([3; 32], OcspStatus::Good, 9000, 100);
        state.record_ocsp([3; 32], OcspStatus::NoAnswer("down".into()), 9000, 100);
        assert_eq!(state.ocsp(&[3; 32], 4999), Some(&OcspStatus::Revoked));
        assert_eq!(state.ocsp(&[3; 32], 5000), Some(&OcspStatus::Revoked));
        // The answers that came while it was revoked were not even kept; after the certificate
        // expired, nothing can use it and the entry may go.
        assert_eq!(state.ocsp(&[3; 32], 5001), None);
        assert!(state.revoked_entries(5001).is_empty());
        // A hold (kept as a plain answer) is not replaced by a good one while it holds.
        state.record_ocsp([4; 32], OcspStatus::Revoked, 200, 100);
        state.record_ocsp([4; 32], OcspStatus::Good, 9000, 150);
        assert_eq!(state.ocsp(&[4; 32], 150), Some(&OcspStatus::Revoked));
        state.record_ocsp([4; 32], OcspStatus::Good, 9000, 201);
        assert_eq!(state.ocsp(&[4; 32], 201), Some(&OcspStatus::Good));
    }

    #[test]
    fn the_revoked_list_is_bounded_expired_first_then_the_first_to_expire() {
        let mut state = RevocationState::default();
        let key = |i: usize| {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&(i as u64).to_be_bytes());
            k
        };
        state.record_revoked(key(0), 50, 0); // expires first
        for i in 1..REVOKED_CAPACITY {
            state.record_revoked(key(i), 1000 + i as i64, 0);
        }
        state.record_revoked(key(99_999), 10, 0);
        assert_eq!(state.revoked_entries(0).len(), REVOKED_CAPACITY);
        assert!(
            state
                .revoked_entries(0)
                .iter()
                .all(|(k, _)| *k != key(99_999))
        );
        // At a time the first has expired, it goes before any live one.
        state.record_revoked(key(100_000), 99_999, 60);
        let live = state.revoked_entries(60);
        assert_eq!(live.len(), REVOKED_CAPACITY);
        assert!(live.iter().all(|(k, _)| *k != key(0)));
        assert!(live.iter().any(|(k, _)| *k == key(100_000)));
        // The shared form round-trips and merges.
        let bytes = encode_revoked(&live);
        assert_eq!(decode_revoked(&bytes), live);
        let merged = decode_revoked(&merge_revoked(&bytes[..80], (key(7), 7777), 60));
        assert_eq!(merged.len(), 3);
        assert!(merged.contains(&(key(7), 7777)));
    }

    #[test]
    fn the_ocsp_cache_is_bounded_and_answers_only_while_fresh() {
        let mut state = RevocationState::default();
        state.record_ocsp([1; 32], OcspStatus::Good, 100, 0);
        assert_eq!(state.ocsp(&[1; 32], 100), Some(&OcspStatus::Good));
        assert_eq!(state.ocsp(&[1; 32], 101), None);
        for i in 0..OCSP_CACHE_CAPACITY + 5 {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i as u64).to_be_bytes());
            state.record_ocsp(key, OcspStatus::Revoked, 1000, 0);
        }
        assert_eq!(state.ocsp_len(), OCSP_CACHE_CAPACITY);
        assert_eq!(state.ocsp(&[1; 32], 50), None, "the oldest went first");
    }
}
