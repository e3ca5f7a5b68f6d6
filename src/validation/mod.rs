//! APIM-grade validation: dates, trust chain (rustls-webpki), revocation (CRLs), extended key
//! usage and identities. Everything that can be prepared is prepared at configure time; the
//! expensive part (signatures, path building, CRL lookups) runs once per certificate and its
//! result is cached by [`crate::decision::cache`].
//!
//! This module holds the entry points and what they return ([`Validation::judge`],
//! [`Validation::judge_online`], [`Verdict`], [`Judgement`]); `compile` turns the configuration
//! into the run-time form, `trust` builds and judges the path, and [`revocation`] holds everything about revocation,
//! including how its sources combine into one status.

use rustls_pki_types::CertificateDer;

use crate::cert::{CertFacts, DatePolicy, LeafCertificate};
use crate::config::RevocationFailure;
use crate::outcome::CertError;

mod compile;
pub mod crypto;
mod identity;
pub mod revocation;
mod trust;
use crypto::SignatureMemo;
use revocation::RevocationState;
use revocation::combine::RunTime;
use trust::Trust;

pub use compile::ValidationConfigError;
pub use identity::{Identity, IdentityError};

/// The compiled validation settings.
#[derive(Debug, Default)]
pub struct Validation {
    /// The date checks and clock skew, applied on every request, cache hits included.
    pub dates: DatePolicy,
    trust: Option<Trust>,
    /// `requireClientAuthEku`: the leaf must carry an extended key usage allowing clientAuth.
    pub require_client_auth_eku: bool,
    /// `validation.identities`: at least one must match where a rule has none of its own;
    /// empty means any certificate.
    pub identities: Vec<Identity>,
}

/// The time-independent part of a certificate's judgement, and the time window in which it
/// holds (the trust path's own validity; a rejected certificate is re-examined after
/// [`REJECTION_TTL`] seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `Ok` when the trust path, revocation and EKU checks passed; otherwise the first failure.
    pub result: Result<(), CertError>,
    /// Unix seconds from which the verdict holds: the latest notBefore of the path's CAs
    /// (`i64::MIN` without a trust check, and for a rejection).
    pub fresh_from: i64,
    /// Unix seconds up to which (inclusive) the verdict holds: the earliest notAfter of the
    /// path's CAs and nextUpdate of the CRLs; [`REJECTION_TTL`] after a rejection; `i64::MAX`
    /// without a trust check.
    pub fresh_until: i64,
    /// SHA-1 of the issuing CA certificate the trust check found.
    pub issuer_ca_sha1: Option<Vec<u8>>,
    /// With run-time revocation sources: what the status depends on, so a newer CRL or OCSP
    /// answer that revokes the certificate drops this verdict at once.
    pub revocation_ref: Option<std::rc::Rc<revocation::RevocationRef>>,
    /// Accepted without a fresh revocation status (`revocationFailure: allow`): why.
    pub soft_fail: Option<String>,
    /// The intermediates of the path the trust check verified (DER, the leaf's issuer first,
    /// the trusted CA excluded); `None` without the trust check. What the chain headers
    /// forward: the decision takes it out before the verdict is cached.
    pub path: Option<Vec<Vec<u8>>>,
}

/// A judgement that may need an OCSP answer first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// The verdict.
    Done(Verdict),
    /// The responder must be asked; `verdict` is what holds without its answer.
    Ask {
        /// The verdict without the answer (unknown revocation, or a soft fail).
        verdict: Verdict,
        /// What to ask.
        query: Box<revocation::OcspQuery>,
    },
}

impl Verdict {
    /// Accepted, for all time (no check beyond the dates).
    pub fn accepted() -> Verdict {
        Verdict {
            result: Ok(()),
            fresh_from: i64::MIN,
            fresh_until: i64::MAX,
            issuer_ca_sha1: None,
            revocation_ref: None,
            soft_fail: None,
            path: None,
        }
    }
}

/// The largest `clockSkewSeconds` accepted: one day.
pub const MAX_CLOCK_SKEW_SECONDS: u32 = 86_400;

/// How long a rejection stays cached, seconds.
pub const REJECTION_TTL: i64 = 60;

impl Validation {
    /// Whether judging a certificate needs more than its dates and identities.
    pub fn checks_beyond_dates(&self) -> bool {
        self.trust.is_some() || self.require_client_auth_eku
    }

    /// Whether `validateTrust` is on (which identities' `issuerThumbprint` needs).
    pub fn trust_enabled(&self) -> bool {
        self.trust.is_some()
    }

    /// What was understood, one line per setting, for `client-cert-auth lint`.
    pub fn describe(&self) -> Vec<String> {
        let on = |b: bool| if b { "on" } else { "off" };
        let mut lines = vec![
            format!(
                "dates: notBefore {}, notAfter {}, clock skew {} s",
                on(self.dates.not_before),
                on(self.dates.not_after),
                self.dates.skew
            ),
            match &self.trust {
                None => "trust: off (any issuer, as App Service)".to_string(),
                Some(t) => format!(
                    "trust: on, {} trusted CA(s), {} configured intermediate(s), {}",
                    t.anchors.len(),
                    t.intermediates.len(),
                    match t.max_chain_depth {
                        None => "any chain depth".to_string(),
                        Some(max) => format!("at most {max} intermediate(s) (maxChainDepth)"),
                    }
                ),
            },
            match self.trust.as_ref().and_then(|t| t.revocation.as_ref()) {
                None => "revocation: off".to_string(),
                Some(r) => format!(
                    "revocation: on, leaf only; {} configured CRL(s), {} fetched CRL(s), OCSP {}; no fresh status {}",
                    r.crls.len(),
                    r.online.as_ref().map_or(0, |o| o.crls.len()),
                    if r.online.as_ref().is_some_and(|o| o.ocsp.is_some()) {
                        "on"
                    } else {
                        "off"
                    },
                    match r.failure {
                        RevocationFailure::Deny => "denies",
                        RevocationFailure::Allow => "lets the certificate through (soft fail)",
                    }
                ),
            },
            format!(
                "client-auth EKU: {}",
                if self.require_client_auth_eku {
                    "required"
                } else if self.trust.is_some() {
                    "must allow clientAuth when the extension is present (RFC 5280)"
                } else {
                    "not checked"
                }
            ),
        ];
        if self.identities.is_empty() {
            lines.push("identities: any".to_string());
        } else {
            lines.push(format!(
                "identities: {} (at least one must match; all attributes of one)",
                self.identities.len()
            ));
        }
        lines
    }

    /// The expensive, time-independent part: trust path, revocation and EKU. Identities are
    /// matched per request ([`Validation::identities_match`]), since rules may choose others.
    /// `chain` adds intermediates presented with the certificate (e.g. XFCC `Chain`).
    /// The leaf's own dates are not judged here (they are checked on every request); the
    /// path is evaluated at `now`, clamped into the leaf's validity so that a disabled date
    /// check on the leaf does not fail the chain.
    pub fn judge(&self, leaf: &LeafCertificate, chain: &[CertificateDer<'_>], now: i64) -> Verdict {
        match self.judge_online(leaf, chain, now, &RevocationState::default()) {
            Judgement::Done(verdict) | Judgement::Ask { verdict, .. } => verdict,
        }
    }

    /// [`Validation::judge`] with the revocation a VM knows at run time (fetched CRLs, OCSP
    /// answers): when the OCSP responder must be asked, the judgement says what to ask and what
    /// holds without the answer.
    pub fn judge_online(
        &self,
        leaf: &LeafCertificate,
        chain: &[CertificateDer<'_>],
        now: i64,
        state: &RevocationState,
    ) -> Judgement {
        let mut verdict = Verdict::accepted();
        let mut trusted = None;
        if let Some(trust) = &self.trust {
            match trust.check(leaf, chain, now) {
                Ok(path) => {
                    verdict.issuer_ca_sha1 = Some(path.issuer_sha1.clone());
                    verdict.fresh_from = path.fresh_from;
                    verdict.fresh_until = path.fresh_until;
                    verdict.path = Some(path.intermediates.clone());
                    trusted = Some((trust, path));
                }
                Err(e) => return Judgement::Done(rejected(e, now)),
            }
        }
        if self.require_client_auth_eku && leaf.client_auth_eku != Some(true) {
            let detail = match leaf.client_auth_eku {
                None => "no extendedKeyUsage extension, and requireClientAuthEku is set",
                Some(_) => "extendedKeyUsage does not include clientAuth",
            };
            return Judgement::Done(rejected(
                CertError::WrongUsage {
                    detail: detail.to_string(),
                },
                now,
            ));
        }
        // Revocation last: an OCSP question is asked only for a certificate that passed the rest.
        match trusted {
            Some((trust, path)) => match &trust.revocation {
                Some(revocation) => {
                    let at = RunTime {
                        now,
                        skew: self.dates.skew,
                        state,
                    };
                    revocation.judge(trust, path, leaf, verdict, &at)
                }
                None => Judgement::Done(verdict),
            },
            None => Judgement::Done(verdict),
        }
    }

    /// The run-time revocation sources, when configured.
    pub fn online_sources(&self) -> Option<&revocation::OnlineSources> {
        self.trust
            .as_ref()
            .and_then(|t| t.revocation.as_ref())
            .and_then(|r| r.online.as_ref())
    }

    /// The memo of verified signatures (see [`crypto`]), when the trust check is on.
    pub fn signature_memo(&self) -> Option<&SignatureMemo> {
        self.trust.as_ref().map(|t| &t.memo)
    }

    /// Shares the signatures this configuration's VMs verify (see [`crypto`]).
    pub fn share_signatures(&mut self, sharing: crypto::SharedSignatures) {
        if let Some(trust) = &mut self.trust {
            trust.memo.share_as(sharing);
        }
    }

    /// Every list must be met (a list is met when it is empty or one of its identities
    /// matches): the rules' own `lists`, and the global `validation.identities` when `global`.
    pub fn identities_match(&self, lists: &[&[Identity]], global: bool, facts: &CertFacts) -> bool {
        let met = |list: &[Identity]| list.is_empty() || list.iter().any(|id| id.matches(facts));
        (!global || met(&self.identities)) && lists.iter().all(|list| met(list))
    }
}

fn rejected(e: CertError, now: i64) -> Verdict {
    Verdict {
        result: Err(e),
        fresh_from: i64::MIN,
        fresh_until: now.saturating_add(REJECTION_TTL),
        issuer_ca_sha1: None,
        revocation_ref: None,
        soft_fail: None,
        path: None,
    }
}
