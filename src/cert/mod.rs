//! Decoding and checking the client's leaf certificate.
//!
//! The host hands us `connection.peer_certificate`: one PEM block, possibly percent-escaped.
//! Decoding is strict: anything but exactly one well-formed `CERTIFICATE` block whose DER
//! parses completely is an invalid certificate, never an absent one. Time is always passed in
//! (seconds since the Unix epoch); nothing here reads a clock.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::outcome::CertError;
use crate::text::trim_ascii;

mod dn;
pub mod front;
mod pem;
pub mod x509;
mod xfcc;

pub use dn::{Dn, DnError, EncodedName};
pub use pem::{der_from_property, pem_bundle, pem_encode, pem_to_der};
pub use xfcc::{XfccError, envoy_url_encode, parse_single};

/// The SHA-256 of `data` (certificate thumbprints, the verdict cache's key).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha256_of(&[data])
}

/// The SHA-256 of the concatenation of `parts`, without concatenating them.
pub fn sha256_of(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The SHA-1 of `data`: the certificate thumbprint Azure and API Management show.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let mut out = [0u8; 20];
    out.copy_from_slice(digest.as_ref());
    out
}

/// What identity rules can look at, extracted once per certificate.
#[derive(Debug, Clone, Default)]
pub struct CertFacts {
    /// SHA-1 of the certificate's DER, 20 bytes: the identity `thumbprint`.
    pub sha1: Vec<u8>,
    /// SHA-256 of the certificate's DER, 32 bytes: the identity `thumbprintSha256`.
    pub sha256: Vec<u8>,
    /// SHA-256 of the SubjectPublicKeyInfo, 32 bytes: the identity `spkiSha256`.
    pub spki_sha256: Vec<u8>,
    /// The serial number as a signed integer ([`Serial`]).
    pub serial: Serial,
    /// The most specific subject common name: the last CN attribute of the subject, as .NET's
    /// simple name (`DC=com, DC=contoso, CN=Users, CN=mallory` is `mallory`), ASCII whitespace
    /// trimmed. `None` without a CN.
    pub common_name: Option<String>,
    /// The subject distinguished name, compared by the identity `subject`.
    pub subject: Dn,
    /// The subject as nginx's `$ssl_client_s_dn` prints it ([`EncodedName::openssl_rfc2253`]),
    /// what `subjectPattern` searches.
    pub subject_dn: String,
    /// The result of each `subjectPattern` searched in [`CertFacts::subject_dn`] so far, by
    /// pattern id: a search costs up to the pattern's program times the subject's length, so a
    /// cached certificate pays it once, not on every request.
    pub pattern_results: std::cell::RefCell<Vec<(usize, bool)>>,
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

impl CertFacts {
    /// Whether `pattern` matches the subject as nginx prints it, searched once per pattern.
    pub fn pattern_match(&self, pattern: &crate::text::pattern::Pattern) -> bool {
        if let Ok(results) = self.pattern_results.try_borrow()
            && let Some((_, found)) = results.iter().find(|(id, _)| *id == pattern.id())
        {
            return *found;
        }
        let found = pattern.is_match(&self.subject_dn);
        if let Ok(mut results) = self.pattern_results.try_borrow_mut() {
            results.push((pattern.id(), found));
        }
        found
    }
}

/// A serial number: a signed integer (DER INTEGER, two's complement). Two serials are equal
/// only when they are the same integer, sign included: a negative serial never equals a
/// positive one, however its bytes are written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Serial {
    /// True for a negative serial (RFC 5280 forbids them; some CAs issued them anyway).
    pub negative: bool,
    /// The magnitude, big-endian, without leading zero bytes (empty for zero).
    pub magnitude: Vec<u8>,
}

impl Serial {
    /// The serial of a certificate: the content octets of its DER INTEGER.
    pub fn from_der_integer(content: &[u8]) -> Serial {
        let negative = content.first().is_some_and(|b| b & 0x80 != 0);
        let magnitude = if negative {
            // Two's complement: invert and add one.
            let mut m: Vec<u8> = content.iter().map(|b| !b).collect();
            for byte in m.iter_mut().rev() {
                let (sum, carry) = byte.overflowing_add(1);
                *byte = sum;
                if !carry {
                    break;
                }
            }
            m
        } else {
            content.to_vec()
        };
        Serial {
            negative,
            magnitude: strip_leading_zeros(&magnitude),
        }
    }

    /// A non-negative serial from its magnitude (as configured: hex digits).
    pub fn positive(magnitude: &[u8]) -> Serial {
        Serial {
            negative: false,
            magnitude: strip_leading_zeros(magnitude),
        }
    }

    /// Upper-case hex of the magnitude, with `-` in front of a negative serial.
    pub fn to_hex(&self) -> String {
        let digits = crate::text::hex_upper(&self.magnitude);
        let digits = if digits.is_empty() {
            "00".to_string()
        } else {
            digits
        };
        if self.negative {
            format!("-{digits}")
        } else {
            digits
        }
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> Vec<u8> {
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

/// A subjectAltName entry of a kind the checks or the forwarded headers read, as the
/// certificate writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    /// A `dNSName`.
    Dns(String),
    /// An `rfc822Name` (an email address).
    Email(String),
    /// A `uniformResourceIdentifier`.
    Uri(String),
    /// An `iPAddress`: 4 or 16 bytes (other lengths kept as they are).
    Ip(Vec<u8>),
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
    /// `None` without an EKU extension; otherwise whether it lists clientAuth. As webpki and
    /// OpenSSL's `sslclient` purpose, anyExtendedKeyUsage alone does not allow a client.
    pub client_auth_eku: Option<bool>,
    /// `None` without a keyUsage extension; otherwise whether it allows what a TLS client key
    /// does: digitalSignature or keyAgreement (RFC 5280 4.2.1.3, OpenSSL's `sslclient`).
    pub client_key_usage: Option<bool>,
    /// `None` without a keyUsage extension; otherwise whether it allows keyCertSign, which a
    /// CA certificate needs to issue (RFC 5280 6.1.4 (n)).
    pub cert_sign_key_usage: Option<bool>,
    /// The subject Name as encoded, for the headers that print it.
    pub subject_name: EncodedName,
    /// The issuer Name as encoded: which CRLs are the issuer's, what an OCSP question names,
    /// the headers that print it.
    pub issuer_name: EncodedName,
    /// The serialNumber INTEGER's contents as encoded (CRL entries and OCSP CertIDs name the
    /// certificate by them).
    pub raw_serial: Vec<u8>,
    /// The Authority Information Access OCSP URLs, in order, as written.
    pub ocsp_urls: Vec<String>,
    /// The value (DER) of the cRLDistributionPoints extension, when there is one: its names
    /// are read only where run-time CRL sources need them.
    pub crl_distribution_points: Option<Vec<u8>>,
    /// The subjectAltName entries of the kinds [`San`] keeps, in order, as written.
    pub sans: Vec<San>,
}

impl LeafCertificate {
    /// Decodes the value of `connection.peer_certificate`.
    pub fn from_property(raw: &[u8]) -> Result<LeafCertificate, CertError> {
        LeafCertificate::from_der(der_from_property(raw)?)
    }

    /// Parses DER; the whole input must be one certificate.
    pub fn from_der(der: Vec<u8>) -> Result<LeafCertificate, CertError> {
        LeafCertificate::read(der, &mut |_| {})
    }

    /// [`LeafCertificate::from_der`], handing the parsed certificate to `more` as well, for what
    /// a caller needs of it beyond a leaf's facts (a CA's key and constraints) without parsing
    /// it again. `more` runs only on a certificate that decoded cleanly.
    pub fn from_der_with<T>(
        der: Vec<u8>,
        more: impl FnOnce(&x509::Certificate<'_>) -> T,
    ) -> Result<(LeafCertificate, T), CertError> {
        let (mut more, mut out) = (Some(more), None);
        let leaf = LeafCertificate::read(der, &mut |cert| out = more.take().map(|f| f(cert)))?;
        match out {
            Some(out) => Ok((leaf, out)),
            // `read` calls back on every certificate it returns.
            None => Err(CertError::Malformed {
                detail: "certificate not read".to_string(),
            }),
        }
    }

    /// The one body of [`LeafCertificate::from_der_with`], not generic: each caller's `more`
    /// would otherwise bring a copy of it into the module (~3 KB each).
    fn read(
        der: Vec<u8>,
        more: &mut dyn FnMut(&x509::Certificate<'_>),
    ) -> Result<LeafCertificate, CertError> {
        let cert = match x509::Certificate::parse(&der) {
            Ok(cert) => cert,
            Err(x509::ParseError::Trailing(len)) => return Err(CertError::TrailingData { len }),
            Err(x509::ParseError::Malformed(e)) => {
                return Err(CertError::Malformed {
                    detail: e.0.to_string(),
                });
            }
        };
        let mut facts = CertFacts {
            sha1: sha1(&der).to_vec(),
            sha256: sha256(&der).to_vec(),
            spki_sha256: sha256(cert.spki).to_vec(),
            serial: Serial::from_der_integer(cert.serial),
            // A CN that is not a string cannot be the most specific name one matches against:
            // then there is no common name to match, never an earlier one.
            common_name: cert
                .subject
                .common_names()
                .last()
                .and_then(|cn| cn.as_str().map(|s| trim_ascii(s).to_string())),
            subject: Dn::from_name(&cert.subject),
            issuer: Dn::from_name(&cert.issuer),
            ..CertFacts::default()
        };
        let sans = cert.sans.clone().unwrap_or_default();
        for name in &sans {
            match name {
                San::Dns(d) => facts.dns_names.push(d.to_ascii_lowercase()),
                San::Uri(u) => facts.uris.push(u.clone()),
                San::Email(e) => facts.emails.push(normalize_email(e)),
                San::Ip(_) => {}
            }
        }
        let client_auth_eku = cert.extended_key_usage.map(|eku| eku.client_auth);
        let client_key_usage = cert
            .key_usage
            .map(|ku| ku.digital_signature() || ku.key_agreement());
        let cert_sign_key_usage = cert.key_usage.map(|ku| ku.key_cert_sign());
        let subject_name = EncodedName::of(&cert.subject);
        let issuer_name = EncodedName::of(&cert.issuer);
        let raw_serial = cert.serial.to_vec();
        let ocsp_urls = cert.ocsp_urls.iter().map(|u| (*u).to_string()).collect();
        let crl_distribution_points = cert.crl_distribution_points.map(<[u8]>::to_vec);
        let (not_before, not_after) = (cert.not_before, cert.not_after);
        more(&cert);
        drop(cert);
        let leaf = LeafCertificate {
            der,
            not_before,
            not_after,
            facts,
            client_auth_eku,
            client_key_usage,
            cert_sign_key_usage,
            subject_name,
            issuer_name,
            raw_serial,
            ocsp_urls,
            crl_distribution_points,
            sans,
        };
        Ok(leaf)
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
