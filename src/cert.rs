//! Decoding and checking the client's leaf certificate.
//!
//! The host hands us `connection.peer_certificate`: one PEM block, possibly percent-escaped.
//! Decoding is strict: anything but exactly one well-formed `CERTIFICATE` block whose DER
//! parses completely is an invalid certificate, never an absent one. Time is always passed in
//! (seconds since the Unix epoch); nothing here reads a clock.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_parser::extensions::GeneralName;

use crate::dn::Dn;
use crate::identity::{CertFacts, normalize_email, strip_leading_zeros};
use crate::path::hex_value;
use crate::rfc3339;

/// Certificates larger than this are refused before any decoding work (a real leaf is 1-2 KB;
/// Envoy's own header limit is 60 KB).
pub const MAX_CERTIFICATE_PEM_BYTES: usize = 64 * 1024;

/// Why a presented certificate is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    TooLarge {
        len: usize,
    },
    BadPercentEncoding,
    NotPem,
    MultipleBlocks,
    BadBase64,
    Malformed {
        detail: String,
    },
    TrailingData {
        len: usize,
    },
    NotYetValid {
        not_before: i64,
        now: i64,
    },
    Expired {
        not_after: i64,
        now: i64,
    },
    /// The trust check found no valid path to a trusted CA.
    Untrusted {
        detail: String,
    },
    /// The certificate is listed in its issuer's CRL.
    Revoked,
    /// Revocation was required but could not be decided (no CRL of the issuer, expired CRL).
    RevocationUnknown {
        detail: String,
    },
    /// The extended key usage does not allow client authentication.
    WrongUsage {
        detail: String,
    },
    /// No configured identity matches.
    IdentityNotMatched,
    /// The certificate came in `x-forwarded-client-cert` that cannot be trusted (see the README's
    /// XFCC section): wrong hash, no mTLS on the connection, a digest mismatch, ambiguity.
    XfccUntrusted {
        detail: String,
    },
    /// The client presented a certificate (`connection.mtls`) that the host does not show the
    /// filter: an older Envoy without `connection.peer_certificate` and no XFCC configured.
    NotVisible {
        detail: String,
    },
}

impl CertError {
    /// A short stable name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            CertError::TooLarge { .. }
            | CertError::BadPercentEncoding
            | CertError::NotPem
            | CertError::MultipleBlocks
            | CertError::BadBase64
            | CertError::Malformed { .. }
            | CertError::TrailingData { .. } => "malformed",
            CertError::NotYetValid { .. } => "not_yet_valid",
            CertError::Expired { .. } => "expired",
            CertError::Untrusted { .. } => "untrusted",
            CertError::Revoked => "revoked",
            CertError::RevocationUnknown { .. } => "revocation_unknown",
            CertError::WrongUsage { .. } => "wrong_usage",
            CertError::IdentityNotMatched => "identity_not_matched",
            CertError::XfccUntrusted { .. } => "xfcc_untrusted",
            CertError::NotVisible { .. } => "not_visible",
        }
    }
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::TooLarge { len } => write!(
                f,
                "certificate is {len} bytes, more than the {MAX_CERTIFICATE_PEM_BYTES} accepted"
            ),
            CertError::BadPercentEncoding => {
                f.write_str("certificate has a malformed percent escape")
            }
            CertError::NotPem => f.write_str("certificate is not a single PEM CERTIFICATE block"),
            CertError::MultipleBlocks => {
                f.write_str("more than one PEM block where one leaf certificate was expected")
            }
            CertError::BadBase64 => f.write_str("certificate PEM body is not valid base64"),
            CertError::Malformed { detail } => {
                write!(f, "certificate DER does not parse: {detail}")
            }
            CertError::TrailingData { len } => {
                write!(f, "certificate DER is followed by {len} unexpected bytes")
            }
            CertError::NotYetValid { not_before, now } => write!(
                f,
                "certificate is not valid yet: notBefore {} is after now {}",
                rfc3339::format(*not_before),
                rfc3339::format(*now)
            ),
            CertError::Expired { not_after, now } => write!(
                f,
                "certificate has expired: notAfter {} is before now {}",
                rfc3339::format(*not_after),
                rfc3339::format(*now)
            ),
            CertError::Untrusted { detail } => {
                write!(f, "certificate does not chain to a trusted CA: {detail}")
            }
            CertError::Revoked => f.write_str("certificate is revoked by its issuer's CRL"),
            CertError::RevocationUnknown { detail } => {
                write!(f, "certificate revocation status is unknown: {detail}")
            }
            CertError::WrongUsage { detail } => {
                write!(
                    f,
                    "certificate is not allowed for client authentication: {detail}"
                )
            }
            CertError::IdentityNotMatched => {
                f.write_str("certificate matches none of the configured identities")
            }
            CertError::XfccUntrusted { detail } => {
                write!(f, "x-forwarded-client-cert cannot be trusted: {detail}")
            }
            CertError::NotVisible { detail } => {
                write!(
                    f,
                    "a client certificate was presented but is not visible to the filter: {detail}"
                )
            }
        }
    }
}

impl std::error::Error for CertError {}

/// Which date checks apply, and how much clock skew is tolerated (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatePolicy {
    pub not_before: bool,
    pub not_after: bool,
    pub skew: i64,
}

impl Default for DatePolicy {
    fn default() -> Self {
        DatePolicy {
            not_before: true,
            not_after: true,
            skew: 0,
        }
    }
}

/// A leaf certificate that decoded cleanly, with everything the checks need, extracted once.
#[derive(Debug, Clone)]
pub struct LeafCertificate {
    pub der: Vec<u8>,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// What identity rules look at.
    pub facts: CertFacts,
    /// `None` without an EKU extension; otherwise whether it allows client authentication
    /// (clientAuth or anyExtendedKeyUsage).
    pub client_auth_eku: Option<bool>,
}

impl LeafCertificate {
    /// Decodes the value of `connection.peer_certificate`.
    pub fn from_property(raw: &[u8]) -> Result<LeafCertificate, CertError> {
        LeafCertificate::from_der(der_from_property(raw)?)
    }

    /// Parses DER; the whole input must be one certificate.
    pub fn from_der(der: Vec<u8>) -> Result<LeafCertificate, CertError> {
        let malformed = |detail: String| CertError::Malformed { detail };
        let (rest, cert) =
            x509_parser::parse_x509_certificate(&der).map_err(|e| malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertError::TrailingData { len: rest.len() });
        }
        let validity = cert.validity();
        let mut facts = CertFacts {
            sha1: Sha1::digest(&der).to_vec(),
            sha256: Sha256::digest(&der).to_vec(),
            spki_sha256: Sha256::digest(cert.public_key().raw).to_vec(),
            serial: strip_leading_zeros(cert.raw_serial()),
            common_names: cert
                .subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok().map(|s| trim_ascii(s).to_string()))
                .collect(),
            subject: Dn::from_x509(cert.subject()),
            issuer: Dn::from_x509(cert.issuer()),
            ..CertFacts::default()
        };
        let san = cert
            .subject_alternative_name()
            .map_err(|e| malformed(format!("subjectAltName: {e}")))?;
        for name in san.iter().flat_map(|ext| ext.value.general_names.iter()) {
            match name {
                GeneralName::DNSName(d) => facts.dns_names.push(d.to_ascii_lowercase()),
                GeneralName::URI(u) => facts.uris.push((*u).to_string()),
                GeneralName::RFC822Name(e) => facts.emails.push(normalize_email(e)),
                _ => {}
            }
        }
        let client_auth_eku = cert
            .extended_key_usage()
            .map_err(|e| malformed(format!("extendedKeyUsage: {e}")))?
            .map(|ext| ext.value.client_auth || ext.value.any);
        let not_before = validity.not_before.timestamp();
        let not_after = validity.not_after.timestamp();
        drop(cert);
        Ok(LeafCertificate {
            der,
            not_before,
            not_after,
            facts,
            client_auth_eku,
        })
    }

    /// Checks the validity period; both bounds are inclusive.
    pub fn check_dates(&self, now: i64) -> Result<(), CertError> {
        check_dates(self.not_before, self.not_after, now, DatePolicy::default())
    }

    /// The value Azure App Service forwards in `X-ARR-ClientCert`: standard base64 of the DER,
    /// padded, on one line.
    pub fn arr_header_value(&self) -> String {
        STANDARD.encode(&self.der)
    }
}

/// Trims ASCII whitespace only: a name padded with other Unicode spaces is another name.
pub(crate) fn trim_ascii(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// The date check on its own, so a cached verdict can apply it without the certificate.
pub fn check_dates(
    not_before: i64,
    not_after: i64,
    now: i64,
    policy: DatePolicy,
) -> Result<(), CertError> {
    if policy.not_before && now.saturating_add(policy.skew) < not_before {
        return Err(CertError::NotYetValid { not_before, now });
    }
    if policy.not_after && now.saturating_sub(policy.skew) > not_after {
        return Err(CertError::Expired { not_after, now });
    }
    Ok(())
}

/// Decodes the host's certificate property (PEM, maybe percent-escaped) to DER.
pub fn der_from_property(raw: &[u8]) -> Result<Vec<u8>, CertError> {
    if raw.len() > MAX_CERTIFICATE_PEM_BYTES {
        return Err(CertError::TooLarge { len: raw.len() });
    }
    if raw.contains(&b'%') {
        let unescaped = percent_decode(raw).ok_or(CertError::BadPercentEncoding)?;
        pem_to_der(&unescaped, "CERTIFICATE")
    } else {
        pem_to_der(raw, "CERTIFICATE")
    }
}

/// Strict PEM: one block with this label, surrounded by nothing but whitespace.
pub fn pem_to_der(pem: &[u8], label: &str) -> Result<Vec<u8>, CertError> {
    let text = std::str::from_utf8(pem).map_err(|_| CertError::NotPem)?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let body = text
        .strip_prefix("-----BEGIN ")
        .and_then(|t| t.strip_prefix(label))
        .and_then(|t| t.strip_prefix("-----"))
        .and_then(|t| t.strip_suffix("-----"))
        .and_then(|t| t.strip_suffix(label))
        .and_then(|t| t.strip_suffix("-----END "))
        .ok_or(CertError::NotPem)?;
    if body.contains("-----") {
        return Err(CertError::MultipleBlocks);
    }
    let compact: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(CertError::BadBase64);
    }
    STANDARD.decode(&compact).map_err(|_| CertError::BadBase64)
}

/// Decodes `%XX` escapes; a malformed escape fails.
pub(crate) fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let hi = hex_value(*input.get(i + 1)?)?;
            let lo = hex_value(*input.get(i + 2)?)?;
            out.push((hi << 4) | lo);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}
