//! Revocation: the configured CRLs, the fetched CRLs and the OCSP responder combined into one
//! status for the leaf of a trusted path.

use super::RevocationState;
use super::configured::Revocation;
use super::{crl_store, ocsp};
use crate::cert::LeafCertificate;
use crate::config::RevocationFailure;
use crate::outcome::CertError;
use crate::validation::trust::{PathIssuer, Trust, TrustedPath};
use crate::validation::{Judgement, Validation, Verdict, rejected};

/// What revocation is judged with beside the certificate: the time, the clock skew tolerated,
/// and what this VM knows at run time (fetched CRLs, OCSP answers).
pub(in crate::validation) struct RunTime<'a> {
    pub(in crate::validation) now: i64,
    pub(in crate::validation) skew: i64,
    pub(in crate::validation) state: &'a RevocationState,
}

impl Revocation {
    /// Revocation from every source: revoked when any source says so; known when at least one
    /// fresh source vouches; otherwise `revocationFailure` decides. `verdict` is what holds
    /// so far for `leaf`, on the `path` of `trust`.
    pub(in crate::validation) fn judge(
        &self,
        trust: &Trust,
        path: TrustedPath,
        leaf: &LeafCertificate,
        mut verdict: Verdict,
        at: &RunTime<'_>,
    ) -> Judgement {
        let (now, state) = (at.now, at.state);
        let mut vouched: Option<i64> = None;
        let mut unknown: Vec<String> = Vec::new();
        let mut vouch = |until: i64| vouched = Some(vouched.map_or(until, |v: i64| v.min(until)));
        match path.configured_crls {
            Some((Some(until), _)) => vouch(until),
            Some((None, detail)) => unknown.push(detail),
            None => {}
        }
        let mut query = None;
        let mut retry_soon = false;
        let needs_issuer = self.online.is_some() || state.knows_revocations();
        let issuer = match &path.issuer {
            _ if !needs_issuer => None,
            PathIssuer::Anchor(i) => trust.anchors.get(*i).map(|a| &a.issuer.info),
            PathIssuer::Intermediate(i) => trust.intermediate_keys.get(*i).map(|k| &k.info),
            PathIssuer::Presented(key) => key.as_ref().map(|k| &k.info),
        };
        // A certificate an OCSP responder of this Envoy said is revoked stays refused under any
        // configuration that checks revocation, with OCSP configured or not (a reload that
        // drops `ocsp` does not undo a revocation).
        if let Some(issuer) = issuer
            && state.knows_revocations()
            && ocsp::CertId::new(&issuer.subject, &issuer.spki, &leaf.raw_serial)
                .is_some_and(|id| state.ocsp(&id.key(), now) == Some(&super::OcspStatus::Revoked))
        {
            return Judgement::Done(rejected(CertError::Revoked, now));
        }
        if let Some(online) = &self.online {
            match issuer {
                Some(issuer) => {
                    let ocsp_url = ocsp_url(leaf);
                    let distribution_points: Vec<Vec<u8>> = leaf
                        .crl_distribution_points
                        .as_deref()
                        .map(crl_store::distribution_point_names)
                        .unwrap_or_default();
                    let leaf_ref = super::LeafRef {
                        issuer_name: leaf.issuer_name.der(),
                        serial: &leaf.raw_serial,
                        ocsp_url,
                        not_after: leaf.not_after,
                        distribution_points: &distribution_points,
                    };
                    verdict.revocation_ref = Some(std::rc::Rc::new(super::RevocationRef {
                        issuer_name: leaf_ref.issuer_name.to_vec(),
                        issuer_id: issuer.id,
                        serial: leaf_ref.serial.to_vec(),
                        ocsp_key: online
                            .ocsp
                            .as_ref()
                            .and_then(|_| {
                                ocsp::CertId::new(&issuer.subject, &issuer.spki, leaf_ref.serial)
                            })
                            .map(|id| id.key()),
                    }));
                    match super::online_status(online, state, &leaf_ref, issuer, now, at.skew) {
                        super::OnlineStatus::Revoked => {
                            return Judgement::Done(rejected(CertError::Revoked, now));
                        }
                        super::OnlineStatus::Refused(detail) => {
                            let mut rejection =
                                rejected(CertError::RevocationUnknown { detail }, now);
                            rejection.revocation_ref = verdict.revocation_ref;
                            return Judgement::Done(rejection);
                        }
                        super::OnlineStatus::Known {
                            vouched_until,
                            unknown: why,
                            ocsp_failed,
                            ask,
                        } => {
                            if let Some(until) = vouched_until {
                                vouch(until);
                            }
                            retry_soon = ocsp_failed;
                            unknown.extend(why);
                            query = ask;
                        }
                    }
                }
                None => unknown.push("the certificate or its issuer does not parse".to_string()),
            }
        }
        let fallback = match vouched {
            Some(until) => {
                verdict.fresh_until = verdict.fresh_until.min(until);
                // Vouched for by other sources while the OCSP responder failed: the responder
                // is asked again soon, not only at the CRL's nextUpdate.
                if retry_soon {
                    verdict.fresh_until = verdict
                        .fresh_until
                        .min(now.saturating_add(super::SOFT_FAIL_TTL));
                }
                verdict
            }
            None => {
                let detail = if unknown.is_empty() {
                    "no source covers the certificate's issuer".to_string()
                } else {
                    unknown.join("; ")
                };
                match self.failure {
                    RevocationFailure::Deny => {
                        let mut rejection = rejected(CertError::RevocationUnknown { detail }, now);
                        // A newer CRL drops this rejection too (see `RevocationRef`).
                        rejection.revocation_ref = verdict.revocation_ref;
                        rejection
                    }
                    RevocationFailure::Allow => {
                        verdict.fresh_until = verdict
                            .fresh_until
                            .min(now.saturating_add(super::SOFT_FAIL_TTL));
                        verdict.soft_fail = Some(detail);
                        verdict
                    }
                }
            }
        };
        match query {
            Some(query) => Judgement::Ask {
                verdict: fallback,
                query,
            },
            None => Judgement::Done(fallback),
        }
    }
}

impl Validation {
    /// The CAs a fetched CRL may be signed by: every configured trusted CA and intermediate.
    pub fn crl_signers(&self) -> Vec<crl_store::CrlSigner<'_>> {
        let Some(trust) = &self.trust else {
            return Vec::new();
        };
        trust
            .anchors
            .iter()
            .map(|a| &a.issuer)
            .chain(trust.intermediate_keys.iter())
            .map(|k| crl_store::CrlSigner {
                subject: &k.info.subject,
                spki: &k.info.spki,
                id: k.info.id,
                can_sign_crl: k.can_sign_crl,
            })
            .collect()
    }
}

/// The leaf's Authority Information Access OCSP URL: the first `http://` one, otherwise the
/// first `https://` one (which the OCSP source refuses, saying why).
fn ocsp_url(leaf: &LeafCertificate) -> Option<&str> {
    let with_scheme = |scheme: &str| {
        leaf.ocsp_urls
            .iter()
            .find(|u| {
                u.get(..scheme.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
            })
            .map(String::as_str)
    };
    with_scheme("http://").or_else(|| with_scheme("https://"))
}
