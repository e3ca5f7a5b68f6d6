//! APIM-style `<identity>` rules: every attribute of one identity must match, and at least one
//! identity must match. Values are normalized once, at configure time.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::dn::{Dn, DnError};

/// One identity as written in the configuration (APIM's attribute names, camelCase).
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawIdentity {
    /// SHA-1 of the certificate's DER, hex; case, colons and spaces ignored.
    pub thumbprint: Option<String>,
    /// SHA-256 of the certificate's DER, hex.
    pub thumbprint_sha256: Option<String>,
    /// Base64 of the SHA-256 of the SubjectPublicKeyInfo (Envoy's `verify_certificate_spki`).
    pub spki_sha256: Option<String>,
    /// Serial number, hex; case, colons, spaces and leading zeros ignored.
    pub serial_number: Option<String>,
    /// Subject common name, exact.
    pub common_name: Option<String>,
    /// Subject DN (see [`crate::dn`] for the rule).
    pub subject: Option<String>,
    /// A DNS name SAN entry (ASCII case-insensitive).
    pub dns_name: Option<String>,
    /// A URI SAN entry, exact.
    pub uri: Option<String>,
    /// An email (rfc822Name) SAN entry; the domain part is case-insensitive.
    pub email: Option<String>,
    /// Issuer DN.
    pub issuer_subject: Option<String>,
    /// SHA-1 of the issuing CA certificate found by the trust check, hex.
    pub issuer_thumbprint: Option<String>,
}

/// One normalized attribute test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attr {
    Thumbprint(Vec<u8>),
    ThumbprintSha256(Vec<u8>),
    SpkiSha256(Vec<u8>),
    SerialNumber(Vec<u8>),
    CommonName(String),
    Subject(Dn),
    DnsName(String),
    Uri(String),
    Email(String),
    IssuerSubject(Dn),
    IssuerThumbprint(Vec<u8>),
}

/// A compiled identity: all attributes must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity(pub Vec<Attr>);

/// Why an identity was refused at configure time. `attribute` is the camelCase field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityError {
    NoAttributes,
    Hex {
        attribute: &'static str,
        value: String,
        expected_len: Option<usize>,
    },
    Base64 {
        attribute: &'static str,
        value: String,
    },
    Empty {
        attribute: &'static str,
    },
    Dn {
        attribute: &'static str,
        value: String,
        problem: DnError,
    },
    IssuerThumbprintNeedsTrust,
}

impl IdentityError {
    /// The attribute the error is about, for the field path in messages.
    pub fn attribute(&self) -> Option<&'static str> {
        match self {
            IdentityError::Hex { attribute, .. }
            | IdentityError::Base64 { attribute, .. }
            | IdentityError::Empty { attribute }
            | IdentityError::Dn { attribute, .. } => Some(attribute),
            IdentityError::IssuerThumbprintNeedsTrust => Some("issuerThumbprint"),
            IdentityError::NoAttributes => None,
        }
    }
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityError::NoAttributes => {
                f.write_str("an identity needs at least one attribute (it would match anything)")
            }
            IdentityError::Hex {
                value,
                expected_len: Some(n),
                ..
            } => write!(
                f,
                "{value:?} is not {n} hex digits (case, ':' and spaces are ignored)"
            ),
            IdentityError::Hex { value, .. } => write!(f, "{value:?} is not hexadecimal"),
            IdentityError::Base64 { value, .. } => {
                write!(f, "{value:?} is not the base64 of a 32-byte SHA-256 digest")
            }
            IdentityError::Empty { .. } => f.write_str("is empty"),
            IdentityError::Dn { value, problem, .. } => write!(f, "{value:?} {problem}"),
            IdentityError::IssuerThumbprintNeedsTrust => f.write_str(
                "needs validation.validateTrust: the issuing CA is the one the trust check finds",
            ),
        }
    }
}

fn hex(attribute: &'static str, value: &str, len: Option<usize>) -> Result<Vec<u8>, IdentityError> {
    let err = || IdentityError::Hex {
        attribute,
        value: value.to_string(),
        expected_len: len.map(|n| n * 2),
    };
    let digits: Vec<u8> = value
        .bytes()
        .filter(|b| !matches!(b, b':' | b' '))
        .collect();
    if digits.is_empty() || !digits.len().is_multiple_of(2) {
        return Err(err());
    }
    let mut out = Vec::with_capacity(digits.len() / 2);
    for pair in digits.chunks(2) {
        let hi = crate::path::hex_value(pair[0]).ok_or_else(err)?;
        let lo = crate::path::hex_value(pair[1]).ok_or_else(err)?;
        out.push((hi << 4) | lo);
    }
    if len.is_some_and(|n| n != out.len()) {
        return Err(err());
    }
    Ok(out)
}

/// Serial numbers compare without leading zero bytes (DER adds one for the sign).
pub fn strip_leading_zeros(bytes: &[u8]) -> Vec<u8> {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes[first..].to_vec()
}

fn text(attribute: &'static str, value: &str) -> Result<String, IdentityError> {
    let v = crate::cert::trim_ascii(value);
    if v.is_empty() {
        return Err(IdentityError::Empty { attribute });
    }
    Ok(v.to_string())
}

fn dn(attribute: &'static str, value: &str) -> Result<Dn, IdentityError> {
    Dn::parse(value).map_err(|problem| IdentityError::Dn {
        attribute,
        value: value.to_string(),
        problem,
    })
}

/// Email addresses: local part exact, domain ASCII case-insensitive.
pub fn normalize_email(value: &str) -> String {
    match value.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_ascii_lowercase()),
        None => value.to_string(),
    }
}

impl Identity {
    pub fn compile(raw: &RawIdentity, trust_enabled: bool) -> Result<Identity, IdentityError> {
        let mut attrs = Vec::new();
        if let Some(v) = &raw.thumbprint {
            attrs.push(Attr::Thumbprint(hex("thumbprint", v, Some(20))?));
        }
        if let Some(v) = &raw.thumbprint_sha256 {
            attrs.push(Attr::ThumbprintSha256(hex(
                "thumbprintSha256",
                v,
                Some(32),
            )?));
        }
        if let Some(v) = &raw.spki_sha256 {
            let bytes = STANDARD
                .decode(v.trim())
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or_else(|| IdentityError::Base64 {
                    attribute: "spkiSha256",
                    value: v.clone(),
                })?;
            attrs.push(Attr::SpkiSha256(bytes));
        }
        if let Some(v) = &raw.serial_number {
            attrs.push(Attr::SerialNumber(strip_leading_zeros(&hex(
                "serialNumber",
                v,
                None,
            )?)));
        }
        if let Some(v) = &raw.common_name {
            attrs.push(Attr::CommonName(text("commonName", v)?));
        }
        if let Some(v) = &raw.subject {
            attrs.push(Attr::Subject(dn("subject", v)?));
        }
        if let Some(v) = &raw.dns_name {
            attrs.push(Attr::DnsName(text("dnsName", v)?.to_ascii_lowercase()));
        }
        if let Some(v) = &raw.uri {
            attrs.push(Attr::Uri(text("uri", v)?));
        }
        if let Some(v) = &raw.email {
            attrs.push(Attr::Email(normalize_email(&text("email", v)?)));
        }
        if let Some(v) = &raw.issuer_subject {
            attrs.push(Attr::IssuerSubject(dn("issuerSubject", v)?));
        }
        if let Some(v) = &raw.issuer_thumbprint {
            if !trust_enabled {
                return Err(IdentityError::IssuerThumbprintNeedsTrust);
            }
            attrs.push(Attr::IssuerThumbprint(hex(
                "issuerThumbprint",
                v,
                Some(20),
            )?));
        }
        if attrs.is_empty() {
            return Err(IdentityError::NoAttributes);
        }
        Ok(Identity(attrs))
    }

    /// True when every attribute matches the facts.
    pub fn matches(&self, facts: &CertFacts) -> bool {
        self.0.iter().all(|attr| match attr {
            Attr::Thumbprint(v) => facts.sha1 == v.as_slice(),
            Attr::ThumbprintSha256(v) => facts.sha256 == v.as_slice(),
            Attr::SpkiSha256(v) => facts.spki_sha256 == v.as_slice(),
            Attr::SerialNumber(v) => &facts.serial == v,
            Attr::CommonName(v) => facts.common_names.iter().any(|cn| cn == v),
            Attr::Subject(v) => &facts.subject == v,
            Attr::DnsName(v) => facts.dns_names.iter().any(|d| d == v),
            Attr::Uri(v) => facts.uris.iter().any(|u| u == v),
            Attr::Email(v) => facts.emails.iter().any(|e| e == v),
            Attr::IssuerSubject(v) => &facts.issuer == v,
            Attr::IssuerThumbprint(v) => facts
                .issuer_ca_sha1
                .as_ref()
                .is_some_and(|t| t.as_slice() == v.as_slice()),
        })
    }
}

/// What identity rules can look at, extracted once per certificate.
#[derive(Debug, Clone, Default)]
pub struct CertFacts {
    pub sha1: Vec<u8>,
    pub sha256: Vec<u8>,
    pub spki_sha256: Vec<u8>,
    /// Without leading zero bytes.
    pub serial: Vec<u8>,
    pub common_names: Vec<String>,
    pub subject: Dn,
    pub issuer: Dn,
    /// Lower case.
    pub dns_names: Vec<String>,
    pub uris: Vec<String>,
    /// Domain part lower case.
    pub emails: Vec<String>,
    /// SHA-1 of the issuing CA certificate, when the trust check found it.
    pub issuer_ca_sha1: Option<Vec<u8>>,
}
