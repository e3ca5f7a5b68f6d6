//! Decoding and checking the client's leaf certificate.
//!
//! The host hands us `connection.peer_certificate`: one PEM block, possibly percent-escaped.
//! Decoding is strict: anything but exactly one well-formed `CERTIFICATE` block whose DER
//! parses completely is an invalid certificate, never an absent one. Time is always passed in
//! (seconds since the Unix epoch); nothing here reads a clock.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_parser::extensions::GeneralName;

use crate::outcome::CertError;
use crate::text::trim_ascii;

mod dn;
mod pem;
mod xfcc;

pub use dn::{Attribute, Dn, DnError};
pub use pem::{der_from_property, pem_bundle, pem_to_der};
pub use xfcc::{Element, XfccError, envoy_url_encode, parse_single};

/// What identity rules can look at, extracted once per certificate.
#[derive(Debug, Clone, Default)]
pub struct CertFacts {
    /// SHA-1 of the certificate's DER, 20 bytes: the identity `thumbprint`.
    pub sha1: Vec<u8>,
    /// SHA-256 of the certificate's DER, 32 bytes: the identity `thumbprintSha256`.
    pub sha256: Vec<u8>,
    /// SHA-256 of the SubjectPublicKeyInfo, 32 bytes: the identity `spkiSha256`.
    pub spki_sha256: Vec<u8>,
    /// Without leading zero bytes.
    pub serial: Vec<u8>,
    /// Every subject common name, ASCII whitespace trimmed (`commonName` matches any of them).
    pub common_names: Vec<String>,
    /// The subject distinguished name, compared by the identity `subject`.
    pub subject: Dn,
    /// The issuer distinguished name as the certificate states it (identity `issuerSubject`).
    pub issuer: Dn,
    /// Lower case.
    pub dns_names: Vec<String>,
    /// URI subjectAltName entries, exactly as written (a SPIFFE ID, for example).
    pub uris: Vec<String>,
    /// Domain part lower case.
    pub emails: Vec<String>,
    /// SHA-1 of the issuing CA certificate, when the trust check found it.
    pub issuer_ca_sha1: Option<Vec<u8>>,
}

/// Serial numbers compare without leading zero bytes (DER adds one for the sign).
pub fn strip_leading_zeros(bytes: &[u8]) -> Vec<u8> {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes[first..].to_vec()
}

/// Email addresses: local part exact, domain ASCII case-insensitive.
pub fn normalize_email(value: &str) -> String {
    match value.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_ascii_lowercase()),
        None => value.to_string(),
    }
}

/// Which date checks apply, and how much clock skew is tolerated (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatePolicy {
    /// Refuse a certificate before its notBefore (`validateNotBefore`).
    pub not_before: bool,
    /// Refuse a certificate after its notAfter (`validateNotAfter`).
    pub not_after: bool,
    /// Seconds of clock skew both checks tolerate (`clockSkewSeconds`); never negative.
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
    /// The certificate's DER, exactly as presented: hashed, trust-checked and forwarded as is.
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
