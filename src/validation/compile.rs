//! The `validation` object compiled into its run-time form: every CA, intermediate, CRL and
//! identity parsed and checked once, at configure time.

use std::fmt;

use rustls_pki_types::CertificateDer;
use webpki::{CertRevocationList, OwnedCertRevocationList};

use super::crypto::SignatureMemo;
use super::revocation;
use super::revocation::configured::{Crl, Revocation};
use super::trust::{Anchor, CaFacts, CaKey, Trust};
use super::{Identity, IdentityError, MAX_CLOCK_SKEW_SECONDS, Validation};
use crate::cert::x509::{self, Certificate};
use crate::cert::{DatePolicy, LeafCertificate, pem_to_der};
use crate::config::RawValidation;
use crate::outcome::CertError;

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
    Sources(revocation::SourceError),
    /// `crls` are given but `validateRevocation` is not true: they would be silently ignored.
    CrlsWithoutRevocation,
    /// `trustedCaCertificates` are given with `validateTrust: false`: a contradiction. Trusted
    /// CAs turn the trust check on unless it is switched off, and it is never silently off.
    CasWithoutTrust,
    /// `intermediateCertificates` are given but the trust check is off: they would be ignored.
    IntermediatesWithoutTrust,
    /// `maxChainDepth` is given but the trust check is off: there is no chain to count.
    DepthWithoutTrust {
        /// The value given.
        value: u32,
    },
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
            ValidationConfigError::DepthWithoutTrust { .. } => "validation.maxChainDepth".into(),
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
            ValidationConfigError::DepthWithoutTrust { value } => write!(
                f,
                "{field}: {value} is given but the trust check is off, so there is no chain to count"
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

impl std::error::Error for ValidationConfigError {}

impl CaKey {
    /// What revocation needs of a CA, from its parsed certificate.
    pub(super) fn of(cert: &Certificate<'_>) -> CaKey {
        // A keyUsage that does not decode never gets here: the certificate is refused.
        let can_sign_crl = cert.key_usage.is_none_or(|ku| ku.crl_sign());
        CaKey {
            info: revocation::IssuerInfo {
                subject: cert.subject.raw.to_vec(),
                spki: cert.spki.to_vec(),
                // The key, not the certificate: a CRL under this name signed with this key is
                // the CA's own list, whichever of its certificates (renewed, cross-signed, or
                // presented by the client) the path went through.
                id: crate::cert::sha256(cert.spki),
            },
            can_sign_crl,
        }
    }
}

impl CaFacts {
    pub(super) fn of(cert: &LeafCertificate) -> CaFacts {
        CaFacts {
            cert_sign_key_usage: cert.cert_sign_key_usage,
            not_before: cert.not_before,
            not_after: cert.not_after,
        }
    }
}

/// A configured CA certificate, read in one parse.
struct ParsedCa {
    der: CertificateDer<'static>,
    /// Its dates, key usage and thumbprint, as a leaf's are read.
    cert: LeafCertificate,
    /// What revocation needs of it.
    key: CaKey,
    /// Its basicConstraints pathLenConstraint.
    max_intermediates: Option<u32>,
}

fn parse_certificate(
    field: &'static str,
    index: usize,
    pem: &str,
) -> Result<ParsedCa, ValidationConfigError> {
    let err = |problem: String| ValidationConfigError::Certificate {
        field,
        index,
        problem,
    };
    let der = pem_to_der(pem.as_bytes(), "CERTIFICATE").map_err(|e| err(e.to_string()))?;
    let (cert, (key, max_intermediates)) = LeafCertificate::from_der_with(der.clone(), |cert| {
        // A basicConstraints that does not decode, or appears twice, refuses the certificate
        // (x509-parser's reading left the CA without a pathLenConstraint then).
        let max_intermediates = cert.basic_constraints.and_then(|bc| bc.path_len);
        (CaKey::of(cert), max_intermediates)
    })
    .map_err(|e| err(e.to_string()))?;
    Ok(ParsedCa {
        der: CertificateDer::from(der),
        cert,
        key,
        max_intermediates,
    })
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
            .map(|sources| revocation::OnlineSources::compile(sources, failure))
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
        if let Some(value) = raw.max_chain_depth.filter(|_| !trust_enabled) {
            return Err(ValidationConfigError::DepthWithoutTrust { value });
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
            let ca = parse_certificate(field, index, pem)?;
            let anchor = webpki::anchor_from_trusted_cert(&ca.der)
                .map_err(|e| ValidationConfigError::Certificate {
                    field,
                    index,
                    problem: format!("not usable as a trust anchor: {e:?}"),
                })?
                .to_owned();
            anchors.push(Anchor {
                issuer: ca.key,
                anchor,
                can_issue: ca.cert.cert_sign_key_usage != Some(false),
                max_intermediates: ca.max_intermediates,
                sha1: ca.cert.facts.sha1.clone(),
                not_before: ca.cert.not_before,
                not_after: ca.cert.not_after,
            });
        }
        let mut intermediates = Vec::new();
        let mut intermediate_facts = Vec::new();
        let mut intermediate_keys = Vec::new();
        for (index, pem) in raw.intermediate_certificates.iter().flatten().enumerate() {
            let ca = parse_certificate("intermediateCertificates", index, pem)?;
            intermediate_facts.push(CaFacts::of(&ca.cert));
            intermediate_keys.push(ca.key);
            intermediates.push(ca.der);
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
            let parsed = x509::crl_header(&der).map_err(|e| {
                err(match e {
                    x509::ParseError::Malformed(e) => format!("does not parse: {e}"),
                    x509::ParseError::Trailing(_) => "has trailing bytes after the CRL".into(),
                })
            })?;
            let (this_update, next_update) = (parsed.this_update, parsed.next_update);
            let issuer = parsed.issuer.to_vec();
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
            max_chain_depth: raw.max_chain_depth,
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
