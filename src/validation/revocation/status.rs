//! How the run-time sources give a certificate's status (a CRL that covers it, a fresh OCSP
//! answer, or a question to ask).

use std::cmp::Ordering;

use super::crl_set::{Installed, NO_NEXT_UPDATE_REFRESHES};
use super::crl_store::newer;
use super::ocsp::CertId;
use super::sources::OnlineSources;
use super::sources::{CrlSource, HttpUrl};
use super::state::{OcspStatus, RevocationState};

/// How long a certificate let through by a soft fail (`revocationFailure: allow`) keeps its
/// verdict before revocation is tried again, seconds.
pub const SOFT_FAIL_TTL: i64 = 30;

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

/// What to ask an OCSP responder about one certificate, and what to check its answer against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspQuery {
    /// The Envoy cluster the request goes through.
    pub cluster: String,
    /// The request's `:authority`: the responder URL's host.
    pub authority: String,
    /// The request's `:path`: the responder URL's path.
    pub path: String,
    /// How long to wait, milliseconds.
    pub timeout_ms: u32,
    /// How long an answer may be kept, seconds (and never beyond its nextUpdate).
    pub cache_seconds: u32,
    /// The answer must echo the nonce sent.
    pub require_nonce: bool,
    /// The oldest producedAt and thisUpdate accepted, seconds before now.
    pub max_age_seconds: u32,
    /// The leaf's notAfter, Unix seconds: a revocation is remembered until then.
    pub not_after: i64,
    /// Clock skew tolerated on the answer's times, seconds.
    pub skew: i64,
    /// The answer's key in the OCSP cache: SHA-256 of the CertID.
    pub key: [u8; 32],
    /// The issuer's subject Name, DER.
    pub issuer_subject: Vec<u8>,
    /// The issuer's SubjectPublicKeyInfo, DER.
    pub issuer_spki: Vec<u8>,
    /// The leaf's serialNumber INTEGER contents.
    pub serial: Vec<u8>,
}
