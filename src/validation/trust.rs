//! The trust check: the path from the leaf to a configured CA (rustls-webpki), and what webpki
//! leaves out (the trust anchor's dates, key usage and path length constraint, the CA
//! certificates' dates now).

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use std::cell::Cell;

use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, RevocationCheckDepth,
    RevocationOptionsBuilder, UnknownStatusPolicy, VerifiedPath,
};

use super::crypto::SignatureMemo;
use super::revocation;
use super::revocation::configured::{Revocation, revocation_status};

use crate::cert::{LeafCertificate, sha1};
use crate::outcome::CertError;

/// A condition on a whole path, which webpki asks before it accepts one.
type PathCheck<'a> = dyn Fn(&VerifiedPath<'_>) -> Result<(), webpki::Error> + 'a;

/// A trusted CA, with what webpki does not keep: its validity and thumbprint.
#[derive(Debug, Clone)]
pub(super) struct Anchor {
    pub(super) anchor: TrustAnchor<'static>,
    /// False when its keyUsage lacks keyCertSign: it cannot issue.
    pub(super) can_issue: bool,
    /// Its basicConstraints pathLenConstraint: how many intermediates may follow it.
    pub(super) max_intermediates: Option<u32>,
    pub(super) sha1: Vec<u8>,
    pub(super) not_before: i64,
    pub(super) not_after: i64,
    /// What revocation needs of it as an issuer (and as a CRL signer).
    pub(super) issuer: CaKey,
}

/// A configured CA as the revocation sources need it: as the leaf's issuer (OCSP CertID, which
/// CRL applies) and as a CRL signer.
#[derive(Debug, Clone)]
pub(super) struct CaKey {
    pub(super) info: revocation::IssuerInfo,
    /// False when it has a keyUsage without cRLSign.
    pub(super) can_sign_crl: bool,
}

/// What the trust check needs of a CA certificate on a path, read once.
#[derive(Debug, Clone)]
pub(super) struct CaFacts {
    /// Its keyUsage, where it has one, includes keyCertSign.
    pub(super) cert_sign_key_usage: Option<bool>,
    pub(super) not_before: i64,
    pub(super) not_after: i64,
}

#[derive(Debug)]
pub(super) struct Trust {
    pub(super) anchors: Vec<Anchor>,
    pub(super) intermediates: Vec<CertificateDer<'static>>,
    /// The configured intermediates' facts, in the order of `intermediates`: a path through
    /// them is judged without parsing them again.
    pub(super) intermediate_facts: Vec<CaFacts>,
    /// The configured intermediates as issuers, in the order of `intermediates`.
    pub(super) intermediate_keys: Vec<CaKey>,
    /// `maxChainDepth`: the most intermediates a path may have (OpenSSL's verify depth).
    pub(super) max_chain_depth: Option<u32>,
    pub(super) revocation: Option<Revocation>,
    /// Signatures of the paths already verified (see [`crypto`]): a new leaf under a known
    /// intermediate costs one signature check, not the whole path.
    pub(super) memo: SignatureMemo,
}

impl Trust {
    /// The path from `leaf` to a configured CA, through the configured intermediates and those
    /// of `chain`, judged at `now`; with what the configured CRLs say of the leaf.
    pub(super) fn check(
        &self,
        leaf: &LeafCertificate,
        chain: &[CertificateDer<'_>],
        now: i64,
    ) -> Result<TrustedPath, CertError> {
        let der = CertificateDer::from(leaf.der.as_slice());
        let ee = EndEntityCert::try_from(&der).map_err(|e| CertError::Malformed {
            detail: format!("{e:?}"),
        })?;
        let at = now.clamp(leaf.not_before, leaf.not_after.max(leaf.not_before));
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(at).unwrap_or(0),
        ));
        let mut intermediates: Vec<CertificateDer<'_>> = self.intermediates.clone();
        intermediates.extend(chain.iter().cloned());
        let anchors: Vec<TrustAnchor<'_>> = self.anchors.iter().map(|a| a.anchor.clone()).collect();
        let memoized = self.memo.algorithms();
        let algorithms: Vec<&dyn SignatureVerificationAlgorithm> = memoized
            .iter()
            .map(|a| a as &dyn SignatureVerificationAlgorithm)
            .collect();
        // `maxChainDepth` is a condition of path building, not a judgement of the one path
        // found: webpki tries anchors before intermediates at each step (OpenSSL's
        // trusted-first) and, when this refuses a path, goes on to the next candidate, so a
        // short path is found wherever one exists. The shortest refused path is remembered for
        // the reason.
        let max_depth = self
            .max_chain_depth
            .map(|max| (max, usize::try_from(max).unwrap_or(usize::MAX)));
        let too_long: Cell<Option<usize>> = Cell::new(None);
        let depth_check = |path: &VerifiedPath<'_>| -> Result<(), webpki::Error> {
            let n = path.intermediate_certificates().count();
            match max_depth {
                Some((_, max)) if n > max => {
                    too_long.set(Some(too_long.get().map_or(n, |m| m.min(n))));
                    Err(webpki::Error::PathLenConstraintViolated)
                }
                _ => Ok(()),
            }
        };
        let depth_check: Option<&PathCheck<'_>> = max_depth.is_some().then_some(&depth_check);
        // One path verification; `crl` adds revocation against that one CRL, its nextUpdate
        // enforced or not (`enforce_expiry`).
        let verify = |crl: Option<&CertRevocationList<'_>>, enforce_expiry: bool| {
            let crls: Vec<&CertRevocationList<'_>> = crl.into_iter().collect();
            // The builder refuses only an empty list, which is exactly "no revocation".
            let revocation = RevocationOptionsBuilder::new(&crls).ok().map(|options| {
                options
                    .with_depth(RevocationCheckDepth::EndEntity)
                    .with_status_policy(UnknownStatusPolicy::Deny)
                    .with_expiration_policy(if enforce_expiry {
                        ExpirationPolicy::Enforce
                    } else {
                        ExpirationPolicy::Ignore
                    })
                    .build()
            });
            ee.verify_for_usage(
                &algorithms,
                &anchors,
                &intermediates,
                time,
                KeyUsage::client_auth(),
                revocation,
                depth_check,
            )
            .map(|path| {
                (
                    path.anchor().subject.to_vec(),
                    path.anchor().subject_public_key_info.to_vec(),
                    path.intermediate_certificates()
                        .map(|c| c.der().to_vec())
                        .collect::<Vec<_>>(),
                )
            })
        };
        let (anchor_subject, anchor_spki, path) = verify(None, true).map_err(|e| {
            // Paths to a trusted CA existed and were refused only for their length: that is
            // the reason, whatever else other candidates failed on.
            match (too_long.get(), max_depth) {
                (Some(intermediates), Some((max, _))) => {
                    CertError::ChainTooLong { intermediates, max }
                }
                _ => map_webpki_error(e),
            }
        })?;

        // webpki does not judge the trust anchor's own dates, nor key usage; we do.
        let anchor_index = self
            .anchors
            .iter()
            .position(|a| {
                *a.anchor.subject == *anchor_subject
                    && *a.anchor.subject_public_key_info == *anchor_spki
            })
            .ok_or_else(|| CertError::Untrusted {
                detail: "the trust anchor found is not a configured one".into(),
            })?;
        let anchor = &self.anchors[anchor_index];
        let cannot_issue = |what: &str| CertError::WrongUsage {
            detail: format!("{what} has a keyUsage without keyCertSign, so it cannot issue"),
        };
        if !anchor.can_issue {
            return Err(cannot_issue("the trusted CA"));
        }
        // webpki leaves the trust anchor's own path length constraint out; OpenSSL applies it.
        if anchor
            .max_intermediates
            .is_some_and(|max| path.len() > usize::try_from(max).unwrap_or(usize::MAX))
        {
            return Err(CertError::Untrusted {
                detail: format!(
                    "{} intermediate(s) under a trusted CA whose pathLenConstraint allows {}",
                    path.len(),
                    anchor.max_intermediates.unwrap_or_default()
                ),
            });
        }
        let mut fresh_from = anchor.not_before;
        let mut fresh_until = anchor.not_after;
        let mut issuer_sha1 = anchor.sha1.clone();
        let mut issuer = PathIssuer::Anchor(anchor_index);
        // The path runs from the leaf's issuer up to the anchor.
        for (i, der) in path.iter().enumerate() {
            if i == 0 {
                issuer_sha1 = sha1(der).to_vec();
            }
            // A configured intermediate was read at configure time; one the client presented
            // is read now, with its key when it issued the leaf and revocation will ask.
            let configured = self
                .intermediates
                .iter()
                .position(|c| c.as_ref() == der.as_slice())
                .and_then(|k| self.intermediate_facts.get(k).map(|facts| (k, facts)));
            let parsed = match configured {
                Some((k, facts)) => {
                    if i == 0 {
                        issuer = PathIssuer::Intermediate(k);
                    }
                    facts.clone()
                }
                None => {
                    let wants_key = i == 0 && self.revocation.is_some();
                    let (cert, key) = LeafCertificate::from_der_with(der.clone(), |cert| {
                        wants_key.then(|| CaKey::of(cert))
                    })?;
                    if i == 0 {
                        issuer = PathIssuer::Presented(key);
                    }
                    CaFacts::of(&cert)
                }
            };
            if parsed.cert_sign_key_usage == Some(false) {
                return Err(cannot_issue("an intermediate CA of the path"));
            }
            fresh_from = fresh_from.max(parsed.not_before);
            fresh_until = fresh_until.min(parsed.not_after);
        }
        if leaf.client_key_usage == Some(false) {
            return Err(CertError::WrongUsage {
                detail: "keyUsage allows neither digitalSignature nor keyAgreement".into(),
            });
        }
        // webpki judged the path at `at`, which differs from `now` only when a leaf date check
        // is off or the skew allows; the CA certificates and the issuer's CRL must still be
        // valid now.
        if now < fresh_from || now > fresh_until {
            return Err(CertError::Untrusted {
                detail: "a CA certificate of the path is outside its validity period".into(),
            });
        }
        let configured_crls = match &self.revocation {
            Some(r) if !r.crls.is_empty() => {
                Some(revocation_status(&r.crls, leaf, now, |crl, enforce| {
                    verify(Some(crl), enforce).map(|_| ())
                })?)
            }
            _ => None,
        };
        Ok(TrustedPath {
            intermediates: path,
            issuer_sha1,
            fresh_from,
            fresh_until,
            configured_crls,
            issuer,
        })
    }
}

pub(super) struct TrustedPath {
    /// The path's intermediates, the leaf's issuer first.
    pub(super) intermediates: Vec<Vec<u8>>,
    pub(super) issuer_sha1: Vec<u8>,
    pub(super) fresh_from: i64,
    pub(super) fresh_until: i64,
    /// What the configured CRLs say: until when they vouch (`None`: none did), and why not.
    pub(super) configured_crls: Option<(Option<i64>, String)>,
    /// The CA that issued the leaf.
    pub(super) issuer: PathIssuer,
}

/// The leaf's issuer on a trusted path.
pub(super) enum PathIssuer {
    /// A configured trusted CA, by index.
    Anchor(usize),
    /// A configured intermediate, by index.
    Intermediate(usize),
    /// An intermediate the client presented: its key, read with it when revocation is checked.
    Presented(Option<CaKey>),
}

/// Maps webpki's verdicts onto the filter's reasons, keeping webpki's words as detail.
fn map_webpki_error(e: webpki::Error) -> CertError {
    use webpki::Error as W;
    let detail = format!("{e:?}");
    match e {
        W::CertRevoked => CertError::Revoked,
        W::UnknownRevocationStatus | W::CrlExpired { .. } => {
            CertError::RevocationUnknown { detail }
        }
        W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => CertError::WrongUsage { detail },
        W::BadDer | W::BadDerTime | W::TrailingData(_) => CertError::Malformed { detail },
        _ => CertError::Untrusted { detail },
    }
}
