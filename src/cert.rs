//! Decoding and checking the client's leaf certificate.
//!
//! The host hands us `connection.peer_certificate`: one PEM block, possibly percent-escaped.
//! Decoding is strict: anything but exactly one well-formed `CERTIFICATE` block whose DER
//! parses completely is an invalid certificate, never an absent one. Time is always passed in
//! (seconds since the Unix epoch); nothing here reads a clock.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::path::hex_value;

const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const PEM_END: &str = "-----END CERTIFICATE-----";

/// Certificates larger than this are refused before any decoding work (a real leaf is 1-2 KB;
/// Envoy's own header limit is 60 KB).
pub const MAX_CERTIFICATE_PEM_BYTES: usize = 64 * 1024;

/// Why a presented certificate is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    TooLarge { len: usize },
    BadPercentEncoding,
    NotPem,
    MultipleBlocks,
    BadBase64,
    Malformed { detail: String },
    TrailingData { len: usize },
    NotYetValid { not_before: i64, now: i64 },
    Expired { not_after: i64, now: i64 },
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
                "certificate is not valid yet: notBefore {not_before} is after now {now} (Unix seconds)"
            ),
            CertError::Expired { not_after, now } => write!(
                f,
                "certificate has expired: notAfter {not_after} is before now {now} (Unix seconds)"
            ),
        }
    }
}

impl std::error::Error for CertError {}

/// A leaf certificate that decoded cleanly, with what the decision needs from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafCertificate {
    pub der: Vec<u8>,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
}

impl LeafCertificate {
    /// Decodes the value of `connection.peer_certificate`.
    pub fn from_property(raw: &[u8]) -> Result<LeafCertificate, CertError> {
        if raw.len() > MAX_CERTIFICATE_PEM_BYTES {
            return Err(CertError::TooLarge { len: raw.len() });
        }
        let unescaped;
        let pem = if raw.contains(&b'%') {
            unescaped = percent_decode(raw).ok_or(CertError::BadPercentEncoding)?;
            unescaped.as_slice()
        } else {
            raw
        };
        let der = pem_to_der(pem)?;
        LeafCertificate::from_der(der)
    }

    /// Parses DER; the whole input must be one certificate.
    pub fn from_der(der: Vec<u8>) -> Result<LeafCertificate, CertError> {
        let (rest, cert) =
            x509_parser::parse_x509_certificate(&der).map_err(|e| CertError::Malformed {
                detail: e.to_string(),
            })?;
        if !rest.is_empty() {
            return Err(CertError::TrailingData { len: rest.len() });
        }
        let validity = cert.validity();
        let not_before = validity.not_before.timestamp();
        let not_after = validity.not_after.timestamp();
        Ok(LeafCertificate {
            der,
            not_before,
            not_after,
        })
    }

    /// Checks the validity period; both bounds are inclusive.
    pub fn check_dates(&self, now: i64) -> Result<(), CertError> {
        if now < self.not_before {
            return Err(CertError::NotYetValid {
                not_before: self.not_before,
                now,
            });
        }
        if now > self.not_after {
            return Err(CertError::Expired {
                not_after: self.not_after,
                now,
            });
        }
        Ok(())
    }

    /// The value Azure App Service forwards in `X-ARR-ClientCert`: standard base64 of the DER,
    /// padded, on one line.
    pub fn arr_header_value(&self) -> String {
        STANDARD.encode(&self.der)
    }
}

/// Strict PEM: one `CERTIFICATE` block, surrounded by nothing but whitespace.
fn pem_to_der(pem: &[u8]) -> Result<Vec<u8>, CertError> {
    let text = std::str::from_utf8(pem).map_err(|_| CertError::NotPem)?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let body = text
        .strip_prefix(PEM_BEGIN)
        .and_then(|t| t.strip_suffix(PEM_END))
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
fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
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
