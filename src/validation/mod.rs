//! APIM-grade validation: dates, trust chain (rustls-webpki), revocation (CRLs), extended key
//! usage and identities. Everything that can be prepared is prepared at configure time; the
//! expensive part (signatures, path building, CRL lookups) runs once per certificate and its
//! result is cached by [`crate::decision::cache`].

use std::fmt;

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, OwnedCertRevocationList,
    RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};

use crate::cert::{CertFacts, DatePolicy, LeafCertificate, pem_to_der, sha1};
use crate::config::{RawValidation, RevocationFailure};
use crate::outcome::CertError;
use crate::text::rfc3339;

pub mod crypto;
pub mod revocation;
use crypto::SignatureMemo;
use online::RevocationState;
use revocation as online;
use revocation::{crl_store, ocsp};
use rustls_pki_types::SignatureVerificationAlgorithm;
mod identity;

pub use identity::{Attr, Identity, IdentityError};

/// Why the `validation` object was refused. [`ValidationConfigError::field`] names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidationConfigError {
    /// `validateTrust` is true but `trustedCaCertificates` is empty: nothing could be trusted.
    TrustWithoutCa,
    /// `validateRevocation` without `validateTrust`: a CRL is checked against the issuer the
    /// trust check finds.
    RevocationWithoutTrust,
    /// `validateRevocation` is true but neither `crls` nor `revocationSources` is given: no
    /// revocation could be decided.
    RevocationWithoutCrl,
    /// `revocationSources` or `revocationFailure` is given but `validateRevocation` is not true:
    /// it would be silently ignored.
    SourcesWithoutRevocation {
        /// `revocationSources` or `revocationFailure`.
        field: &'static str,
    },
    /// A field of `revocationSources` is not usable.
    Sources(online::SourceError),
    /// `crls` are given but `validateRevocation` is not true: they would be silently ignored.
    CrlsWithoutRevocation,
    /// `trustedCaCertificates` are given with `validateTrust: false`: a contradiction. Trusted
    /// CAs turn the trust check on unless it is switched off, and it is never silently off.
    CasWithoutTrust,
    /// `intermediateCertificates` are given but the trust check is off: they would be ignored.
    IntermediatesWithoutTrust,
    /// `clockSkewSeconds` is more than [`MAX_CLOCK_SKEW_SECONDS`]: the date checks would mean
    /// little.
    ClockSkew {
        /// The value given.
        value: u32,
    },
    /// A certificate of `trustedCaCertificates` or `intermediateCertificates` is not one PEM
    /// certificate that parses, or a CA is not usable as a trust anchor.
    Certificate {
        /// The list at fault: `trustedCaCertificates` or `intermediateCertificates`.
        field: &'static str,
        /// The certificate's position in that list, from 0.
        index: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// An entry of `crls` is not one PEM `X509 CRL` block, does not parse, or has trailing
    /// bytes.
    Crl {
        /// The CRL's position in `crls`, from 0.
        index: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// An entry of `validation.identities` is not usable.
    Identity {
        /// The identity's position in `identities`, from 0.
        index: usize,
        /// Which attribute is at fault, and why.
        problem: IdentityError,
    },
}

impl ValidationConfigError {
    /// The configuration path of the field at fault.
    pub fn field(&self) -> String {
        match self {
            ValidationConfigError::TrustWithoutCa => "validation.trustedCaCertificates".into(),
            ValidationConfigError::RevocationWithoutTrust => "validation.validateRevocation".into(),
            ValidationConfigError::RevocationWithoutCrl
            | ValidationConfigError::CrlsWithoutRevocation => "validation.crls".into(),
            ValidationConfigError::SourcesWithoutRevocation { field } => {
                format!("validation.{field}")
            }
            ValidationConfigError::Sources(e) => e.field.clone(),
            ValidationConfigError::CasWithoutTrust => "validation.validateTrust".into(),
            ValidationConfigError::IntermediatesWithoutTrust => {
                "validation.intermediateCertificates".into()
            }
            ValidationConfigError::ClockSkew { .. } => "validation.clockSkewSeconds".into(),
            ValidationConfigError::Certificate { field, index, .. } => {
                format!("validation.{field}[{index}]")
            }
            ValidationConfigError::Crl { index, .. } => format!("validation.crls[{index}]"),
            ValidationConfigError::Identity { index, problem } => match problem.attribute() {
                Some(attr) => format!("validation.identities[{index}].{attr}"),
                None => format!("validation.identities[{index}]"),
            },
        }
    }
}

impl fmt::Display for ValidationConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field();
        match self {
            ValidationConfigError::TrustWithoutCa => {
                write!(
                    f,
                    "{field}: validateTrust is true but no trusted CA certificate is configured"
                )
            }
            ValidationConfigError::RevocationWithoutTrust => write!(
                f,
                "{field}: validateRevocation needs validateTrust (a CRL is checked against the issuer the trust check finds)"
            ),
            ValidationConfigError::RevocationWithoutCrl => {
                write!(
                    f,
                    "{field}: validateRevocation is true but no CRL or revocationSources is configured"
                )
            }
            ValidationConfigError::SourcesWithoutRevocation { .. } => write!(
                f,
                "{field}: given but validateRevocation is not true, so it would be ignored"
            ),
            ValidationConfigError::Sources(e) => e.fmt(f),
            ValidationConfigError::CrlsWithoutRevocation => write!(
                f,
                "{field}: CRLs are configured but validateRevocation is not true, so they would be ignored"
            ),
            ValidationConfigError::CasWithoutTrust => write!(
                f,
                "{field}: false contradicts the configured trustedCaCertificates (they turn the trust check on; remove them to turn it off)"
            ),
            ValidationConfigError::IntermediatesWithoutTrust => write!(
                f,
                "{field}: intermediate certificates are configured but the trust check is off, so they would be ignored"
            ),
            ValidationConfigError::ClockSkew { value } => write!(
                f,
                "{field}: {value} is more than the {MAX_CLOCK_SKEW_SECONDS} seconds (one day) allowed"
            ),
            ValidationConfigError::Certificate { problem, .. } => write!(f, "{field}: {problem}"),
            ValidationConfigError::Crl { problem, .. } => write!(f, "{field}: {problem}"),
            ValidationConfigError::Identity { problem, .. } => write!(f, "{field}: {problem}"),
        }
    }
}

/// A trusted CA, with what webpki does not keep: its validity and thumbprint.
#[derive(Debug, Clone)]
struct Anchor {
    anchor: TrustAnchor<'static>,
    /// False when its keyUsage lacks keyCertSign: it cannot issue.
    can_issue: bool,
    /// Its basicConstraints pathLenConstraint: how many intermediates may follow it.
    max_intermediates: Option<u32>,
    sha1: Vec<u8>,
    not_before: i64,
    not_after: i64,
    /// What revocation needs of it as an issuer (and as a CRL signer).
    issuer: CaKey,
}

/// A configured CA as the revocation sources need it: as the leaf's issuer (OCSP CertID, which
/// CRL applies) and as a CRL signer.
#[derive(Debug, Clone)]
struct CaKey {
    info: online::IssuerInfo,
    /// False when it has a keyUsage without cRLSign.
    can_sign_crl: bool,
}

impl CaKey {
    fn of(der: &[u8]) -> Option<CaKey> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let can_sign_crl = match cert.key_usage() {
            Ok(Some(ku)) => ku.value.crl_sign(),
            Ok(None) => true,
            Err(_) => false,
        };
        Some(CaKey {
            info: online::IssuerInfo {
                subject: cert.subject().as_raw().to_vec(),
                spki: cert.public_key().raw.to_vec(),
                // The key, not the certificate: a CRL under this name signed with this key is
                // the CA's own list, whichever of its certificates (renewed, cross-signed, or
                // presented by the client) the path went through.
                id: crate::cert::sha256(cert.public_key().raw),
            },
            can_sign_crl,
        })
    }
}

#[derive(Debug)]
struct Crl {
    crl: CertRevocationList<'static>,
    /// thisUpdate, Unix seconds: before it the CRL is not valid yet.
    this_update: i64,
    /// nextUpdate, Unix seconds (None: no nextUpdate in the CRL).
    next_update: Option<i64>,
    /// The issuer's name, DER.
    issuer: Vec<u8>,
}

/// What the trust check needs of a CA certificate on a path, read once.
#[derive(Debug, Clone)]
struct CaFacts {
    /// Its keyUsage, where it has one, includes keyCertSign.
    cert_sign_key_usage: Option<bool>,
    not_before: i64,
    not_after: i64,
}

impl CaFacts {
    fn of(cert: &LeafCertificate) -> CaFacts {
        CaFacts {
            cert_sign_key_usage: cert.cert_sign_key_usage,
            not_before: cert.not_before,
            not_after: cert.not_after,
        }
    }
}

/// Revocation settings: the configured CRLs and the run-time sources.
#[derive(Debug)]
struct Revocation {
    crls: Vec<Crl>,
    online: Option<online::OnlineSources>,
    failure: RevocationFailure,
}

#[derive(Debug)]
struct Trust {
    anchors: Vec<Anchor>,
    intermediates: Vec<CertificateDer<'static>>,
    /// The configured intermediates' facts, in the order of `intermediates`: a path through
    /// them is judged without parsing them again.
    intermediate_facts: Vec<CaFacts>,
    /// The configured intermediates as issuers, in the order of `intermediates`.
    intermediate_keys: Vec<CaKey>,
    revocation: Option<Revocation>,
    /// Signatures of the paths already verified (see [`crypto`]): a new leaf under a known
    /// intermediate costs one signature check, not the whole path.
    memo: SignatureMemo,
}

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
    pub revocation_ref: Option<std::rc::Rc<online::RevocationRef>>,
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
        query: Box<online::OcspQuery>,
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

fn parse_certificate(
    field: &'static str,
    index: usize,
    pem: &str,
) -> Result<(CertificateDer<'static>, LeafCertificate), ValidationConfigError> {
    let err = |problem: String| ValidationConfigError::Certificate {
        field,
        index,
        problem,
    };
    let der = pem_to_der(pem.as_bytes(), "CERTIFICATE").map_err(|e| err(e.to_string()))?;
    let parsed = LeafCertificate::from_der(der.clone()).map_err(|e| err(e.to_string()))?;
    Ok((CertificateDer::from(der), parsed))
}

impl Validation {
    /// Checks the `validation` object's consistency and parses every CA, intermediate, CRL
    /// and identity now, used or not, so a typo never waits for the day it matters.
    pub fn compile(raw: &RawValidation) -> Result<Validation, ValidationConfigError> {
        let skew = raw.clock_skew_seconds.unwrap_or(0);
        if skew > MAX_CLOCK_SKEW_SECONDS {
            return Err(ValidationConfigError::ClockSkew { value: skew });
        }
        let dates = DatePolicy {
            not_before: raw.validate_not_before.unwrap_or(true),
            not_after: raw.validate_not_after.unwrap_or(true),
            skew: i64::from(skew),
        };
        let revocation = raw.validate_revocation.unwrap_or(false);
        let cas = raw.trusted_ca_certificates.as_deref().unwrap_or_default();
        let crls = raw.crls.as_deref().unwrap_or_default();
        if !revocation {
            if raw.revocation_sources.is_some() {
                return Err(ValidationConfigError::SourcesWithoutRevocation {
                    field: "revocationSources",
                });
            }
            if raw.revocation_failure.is_some() {
                return Err(ValidationConfigError::SourcesWithoutRevocation {
                    field: "revocationFailure",
                });
            }
        }
        let failure = raw.revocation_failure.unwrap_or_default();
        let online = raw
            .revocation_sources
            .as_ref()
            .map(|sources| online::OnlineSources::compile(sources, failure))
            .transpose()
            .map_err(ValidationConfigError::Sources)?;
        // Trusted CAs mean the trust check is on (API Management's validate-trust defaults to
        // true); switching it off beside them is a contradiction, never a silent "off".
        let trust_enabled = match raw.validate_trust {
            Some(false) if !cas.is_empty() => return Err(ValidationConfigError::CasWithoutTrust),
            Some(on) => on,
            None => !cas.is_empty(),
        };
        let intermediates_given = raw
            .intermediate_certificates
            .as_ref()
            .is_some_and(|list| !list.is_empty());
        if intermediates_given && !trust_enabled {
            return Err(ValidationConfigError::IntermediatesWithoutTrust);
        }
        if trust_enabled && cas.is_empty() {
            return Err(ValidationConfigError::TrustWithoutCa);
        }
        if revocation && !trust_enabled {
            return Err(ValidationConfigError::RevocationWithoutTrust);
        }
        if revocation && crls.is_empty() && online.is_none() {
            return Err(ValidationConfigError::RevocationWithoutCrl);
        }
        if !revocation && !crls.is_empty() {
            return Err(ValidationConfigError::CrlsWithoutRevocation);
        }

        // Every certificate and CRL is parsed now, even where unused, so a typo never waits
        // for the day it matters.
        let mut anchors = Vec::new();
        for (index, pem) in cas.iter().enumerate() {
            let field = "trustedCaCertificates";
            let (der, parsed) = parse_certificate(field, index, pem)?;
            let anchor = webpki::anchor_from_trusted_cert(&der)
                .map_err(|e| ValidationConfigError::Certificate {
                    field,
                    index,
                    problem: format!("not usable as a trust anchor: {e:?}"),
                })?
                .to_owned();
            let max_intermediates =
                x509_parser::parse_x509_certificate(&der)
                    .ok()
                    .and_then(|(_, cert)| {
                        cert.basic_constraints()
                            .ok()
                            .flatten()
                            .and_then(|bc| bc.value.path_len_constraint)
                    });
            let issuer = CaKey::of(&der).ok_or_else(|| ValidationConfigError::Certificate {
                field,
                index,
                problem: "does not parse".to_string(),
            })?;
            anchors.push(Anchor {
                issuer,
                anchor,
                can_issue: parsed.cert_sign_key_usage != Some(false),
                max_intermediates,
                sha1: sha1(&der).to_vec(),
                not_before: parsed.not_before,
                not_after: parsed.not_after,
            });
        }
        let mut intermediates = Vec::new();
        let mut intermediate_facts = Vec::new();
        let mut intermediate_keys = Vec::new();
        for (index, pem) in raw.intermediate_certificates.iter().flatten().enumerate() {
            let field = "intermediateCertificates";
            let (der, parsed) = parse_certificate(field, index, pem)?;
            let key = CaKey::of(&der).ok_or_else(|| ValidationConfigError::Certificate {
                field,
                index,
                problem: "does not parse".to_string(),
            })?;
            intermediates.push(der);
            intermediate_facts.push(CaFacts::of(&parsed));
            intermediate_keys.push(key);
        }
        let mut compiled_crls = Vec::new();
        for (index, pem) in crls.iter().enumerate() {
            let err = |problem: String| ValidationConfigError::Crl { index, problem };
            let der = pem_to_der(pem.as_bytes(), "X509 CRL").map_err(|e| {
                err(match e {
                    CertError::NotPem | CertError::MultipleBlocks => {
                        "is not a single PEM X509 CRL block".to_string()
                    }
                    other => other.to_string(),
                })
            })?;
            let (rest, parsed) = x509_parser::parse_x509_crl(&der)
                .map_err(|e| err(format!("does not parse: {e}")))?;
            if !rest.is_empty() {
                return Err(err("has trailing bytes after the CRL".into()));
            }
            let next_update = parsed.next_update().map(|t| t.timestamp());
            let this_update = parsed.last_update().timestamp();
            let issuer = parsed.issuer().as_raw().to_vec();
            let crl = OwnedCertRevocationList::from_der(&der)
                .map_err(|e| err(format!("not usable: {e:?}")))?;
            compiled_crls.push(Crl {
                crl: CertRevocationList::Owned(crl),
                this_update,
                next_update,
                issuer,
            });
        }
        let identities = compile_each(&raw.identities, |index, raw_identity| {
            Identity::compile(raw_identity, trust_enabled)
                .map_err(|problem| ValidationConfigError::Identity { index, problem })
        })?;
        let trust = trust_enabled.then_some(Trust {
            anchors,
            intermediates,
            intermediate_facts,
            intermediate_keys,
            revocation: revocation.then_some(Revocation {
                crls: compiled_crls,
                online,
                failure,
            }),
            memo: SignatureMemo::new(),
        });
        Ok(Validation {
            dates,
            trust,
            require_client_auth_eku: raw.require_client_auth_eku.unwrap_or(false),
            identities,
        })
    }

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
                    "trust: on, {} trusted CA(s), {} configured intermediate(s)",
                    t.anchors.len(),
                    t.intermediates.len()
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
            match self.check_trust(trust, leaf, chain, now) {
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
                    self.revocation(trust, revocation, path, leaf, now, state, verdict)
                }
                None => Judgement::Done(verdict),
            },
            None => Judgement::Done(verdict),
        }
    }

    /// Revocation from every source: revoked when any source says so; known when at least one
    /// fresh source vouches; otherwise `revocationFailure` decides.
    #[allow(clippy::too_many_arguments)]
    fn revocation(
        &self,
        trust: &Trust,
        revocation: &Revocation,
        path: TrustedPath,
        leaf: &LeafCertificate,
        now: i64,
        state: &RevocationState,
        mut verdict: Verdict,
    ) -> Judgement {
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
        let needs_leaf = revocation.online.is_some() || state.knows_revocations();
        let issuer = match &path.issuer {
            _ if !needs_leaf => None,
            PathIssuer::Anchor(i) => trust.anchors.get(*i).map(|a| a.issuer.info.clone()),
            PathIssuer::Intermediate(der) => trust
                .intermediates
                .iter()
                .position(|c| c.as_ref() == der.as_slice())
                .and_then(|i| trust.intermediate_keys.get(i))
                .map(|k| k.info.clone())
                .or_else(|| CaKey::of(der).map(|k| k.info)),
        };
        let parsed = if needs_leaf {
            x509_parser::parse_x509_certificate(&leaf.der).ok()
        } else {
            None
        };
        // A certificate an OCSP responder of this Envoy said is revoked stays refused under any
        // configuration that checks revocation, with OCSP configured or not (a reload that
        // drops `ocsp` does not undo a revocation).
        if let (Some(issuer), Some((_, cert))) = (&issuer, &parsed)
            && state.knows_revocations()
            && ocsp::CertId::new(&issuer.subject, &issuer.spki, cert.raw_serial())
                .is_some_and(|id| state.ocsp(&id.key(), now) == Some(&online::OcspStatus::Revoked))
        {
            return Judgement::Done(rejected(CertError::Revoked, now));
        }
        if let Some(online) = &revocation.online {
            match (issuer, parsed) {
                (Some(issuer), Some((_, cert))) => {
                    let ocsp_url = ocsp_url(&cert);
                    let distribution_points: Vec<Vec<u8>> = cert
                        .extensions()
                        .iter()
                        .find(|e| {
                            e.oid == x509_parser::oid_registry::OID_X509_EXT_CRL_DISTRIBUTION_POINTS
                        })
                        .map(|e| crl_store::distribution_point_names(e.value))
                        .unwrap_or_default();
                    let leaf_ref = online::LeafRef {
                        issuer_name: cert.issuer().as_raw(),
                        serial: cert.raw_serial(),
                        ocsp_url: ocsp_url.as_deref(),
                        not_after: leaf.not_after,
                        distribution_points: &distribution_points,
                    };
                    verdict.revocation_ref = Some(std::rc::Rc::new(online::RevocationRef {
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
                    match online::online_status(
                        online,
                        state,
                        &leaf_ref,
                        &issuer,
                        now,
                        self.dates.skew,
                    ) {
                        online::OnlineStatus::Revoked => {
                            return Judgement::Done(rejected(CertError::Revoked, now));
                        }
                        online::OnlineStatus::Refused(detail) => {
                            let mut rejection =
                                rejected(CertError::RevocationUnknown { detail }, now);
                            rejection.revocation_ref = verdict.revocation_ref;
                            return Judgement::Done(rejection);
                        }
                        online::OnlineStatus::Known {
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
                _ => unknown.push("the certificate or its issuer does not parse".to_string()),
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
                        .min(now.saturating_add(online::SOFT_FAIL_TTL));
                }
                verdict
            }
            None => {
                let detail = if unknown.is_empty() {
                    "no source covers the certificate's issuer".to_string()
                } else {
                    unknown.join("; ")
                };
                match revocation.failure {
                    RevocationFailure::Deny => {
                        let mut rejection = rejected(CertError::RevocationUnknown { detail }, now);
                        // A newer CRL drops this rejection too (see `RevocationRef`).
                        rejection.revocation_ref = verdict.revocation_ref;
                        rejection
                    }
                    RevocationFailure::Allow => {
                        verdict.fresh_until = verdict
                            .fresh_until
                            .min(now.saturating_add(online::SOFT_FAIL_TTL));
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

    /// The run-time revocation sources, when configured.
    pub fn online_sources(&self) -> Option<&online::OnlineSources> {
        self.trust
            .as_ref()
            .and_then(|t| t.revocation.as_ref())
            .and_then(|r| r.online.as_ref())
    }

    /// The memo of verified signatures (see [`crypto`]), when the trust check is on.
    pub fn signature_memo(&self) -> Option<&SignatureMemo> {
        self.trust.as_ref().map(|t| &t.memo)
    }

    /// Every list must be met (a list is met when it is empty or one of its identities
    /// matches): the rules' own `lists`, and the global `validation.identities` when `global`.
    pub fn identities_match(&self, lists: &[&[Identity]], global: bool, facts: &CertFacts) -> bool {
        let met = |list: &[Identity]| list.is_empty() || list.iter().any(|id| id.matches(facts));
        (!global || met(&self.identities)) && lists.iter().all(|list| met(list))
    }

    fn check_trust(
        &self,
        trust: &Trust,
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
        let mut intermediates: Vec<CertificateDer<'_>> = trust.intermediates.clone();
        intermediates.extend(chain.iter().cloned());
        let anchors: Vec<TrustAnchor<'_>> =
            trust.anchors.iter().map(|a| a.anchor.clone()).collect();
        let memoized = trust.memo.algorithms();
        let algorithms: Vec<&dyn SignatureVerificationAlgorithm> = memoized
            .iter()
            .map(|a| a as &dyn SignatureVerificationAlgorithm)
            .collect();
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
                None,
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
        let (anchor_subject, anchor_spki, path) = verify(None, true).map_err(map_webpki_error)?;

        // webpki does not judge the trust anchor's own dates, nor key usage; we do.
        let anchor_index = trust
            .anchors
            .iter()
            .position(|a| {
                *a.anchor.subject == *anchor_subject
                    && *a.anchor.subject_public_key_info == *anchor_spki
            })
            .ok_or_else(|| CertError::Untrusted {
                detail: "the trust anchor found is not a configured one".into(),
            })?;
        let anchor = &trust.anchors[anchor_index];
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
        // The path runs from the leaf's issuer up to the anchor.
        for (i, der) in path.iter().enumerate() {
            if i == 0 {
                issuer_sha1 = sha1(der).to_vec();
            }
            // A configured intermediate was read at configure time; one the client presented
            // is read now.
            let known = trust
                .intermediates
                .iter()
                .position(|c| c.as_ref() == der.as_slice())
                .and_then(|i| trust.intermediate_facts.get(i).cloned());
            let parsed = match known {
                Some(facts) => facts,
                None => CaFacts::of(&LeafCertificate::from_der(der.clone())?),
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
        let configured_crls = match &trust.revocation {
            Some(r) if !r.crls.is_empty() => {
                Some(revocation_status(&r.crls, leaf, now, |crl, enforce| {
                    verify(Some(crl), enforce).map(|_| ())
                })?)
            }
            _ => None,
        };
        let issuer = match path.first() {
            Some(der) => PathIssuer::Intermediate(der.clone()),
            None => PathIssuer::Anchor(anchor_index),
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

/// Revocation against every configured CRL of the leaf's issuer: revoked when any of them lists
/// it, whatever their order, even one outside its validity period (a revocation is permanent;
/// an old list that names the certificate is still the CA's word); not revoked only when at
/// least one CRL valid now (between its thisUpdate and nextUpdate) vouches for it. `verify`
/// checks the path with one CRL (its signature, its issuer, its entry for the leaf), its
/// nextUpdate enforced or not. Returns until when the vouching holds (the earliest
/// `nextUpdate` of the CRLs that vouched; `None`: none did) and why not.
fn revocation_status(
    crls: &[Crl],
    leaf: &LeafCertificate,
    now: i64,
    verify: impl Fn(&CertRevocationList<'_>, bool) -> Result<(), webpki::Error>,
) -> Result<(Option<i64>, String), CertError> {
    let leaf_issuer = x509_parser::parse_x509_certificate(&leaf.der)
        .map(|(_, c)| c.issuer().as_raw().to_vec())
        .unwrap_or_default();
    let mut vouched_until: Option<i64> = None;
    let mut unknown = "no CRL of the certificate's issuer is configured".to_string();
    for crl in crls.iter().filter(|crl| crl.issuer == leaf_issuer) {
        let outside = now < crl.this_update || crl.next_update.is_some_and(|next| now > next);
        if outside && verify(&crl.crl, false) == Err(webpki::Error::CertRevoked) {
            return Err(CertError::Revoked);
        }
        if now < crl.this_update {
            unknown = format!(
                "the issuer's CRL is not valid before {}",
                rfc3339::format(crl.this_update)
            );
            continue;
        }
        if let Some(next) = crl.next_update.filter(|next| now > *next) {
            unknown = format!("the issuer's CRL expired at {}", rfc3339::format(next));
            continue;
        }
        match verify(&crl.crl, true) {
            Ok(()) => {
                let until = crl.next_update.unwrap_or(i64::MAX);
                vouched_until = Some(vouched_until.map_or(until, |v| v.min(until)));
            }
            Err(webpki::Error::CertRevoked) => return Err(CertError::Revoked),
            Err(e) => unknown = format!("{e:?}"),
        }
    }
    Ok((vouched_until, unknown))
}

/// Compiles every element of an optional list, with its index for the error.
fn compile_each<T, R, E>(
    list: &Option<Vec<T>>,
    compile: impl Fn(usize, &T) -> Result<R, E>,
) -> Result<Vec<R>, E> {
    list.iter()
        .flatten()
        .enumerate()
        .map(|(index, item)| compile(index, item))
        .collect()
}

struct TrustedPath {
    /// The path's intermediates, the leaf's issuer first.
    intermediates: Vec<Vec<u8>>,
    issuer_sha1: Vec<u8>,
    fresh_from: i64,
    fresh_until: i64,
    /// What the configured CRLs say: until when they vouch (`None`: none did), and why not.
    configured_crls: Option<(Option<i64>, String)>,
    /// The CA that issued the leaf.
    issuer: PathIssuer,
}

/// The leaf's issuer on a trusted path.
enum PathIssuer {
    /// A configured trusted CA, by index.
    Anchor(usize),
    /// An intermediate (configured or presented), its DER.
    Intermediate(Vec<u8>),
}

/// The leaf's Authority Information Access OCSP URL: the first `http://` one, otherwise the
/// first `https://` one (which the OCSP source refuses, saying why).
fn ocsp_url(cert: &x509_parser::certificate::X509Certificate<'_>) -> Option<String> {
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    let urls: Vec<&str> = cert
        .extensions()
        .iter()
        .filter_map(|ext| match ext.parsed_extension() {
            ParsedExtension::AuthorityInfoAccess(aia) => Some(aia),
            _ => None,
        })
        .flat_map(|aia| aia.accessdescs.iter())
        .filter_map(
            |d| match (&d.access_location, d.access_method.to_id_string().as_str()) {
                (GeneralName::URI(uri), "1.3.6.1.5.5.7.48.1") => Some(*uri),
                _ => None,
            },
        )
        .collect();
    let with_scheme = |scheme: &str| {
        urls.iter()
            .find(|u| {
                u.get(..scheme.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
            })
            .map(|u| (*u).to_string())
    };
    with_scheme("http://").or_else(|| with_scheme("https://"))
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
