//! APIM-style `<identity>` rules: every attribute of one identity must match, and at least one
//! identity must match. Values are normalized once, at configure time.

use std::fmt;

use crate::cert::{CertFacts, Dn, DnError, Serial, normalize_email};
use crate::config::RawIdentity;
use crate::text::pattern::Pattern;
use crate::text::{hex_decode, trim_ascii};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// One normalized attribute test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attr {
    /// `thumbprint`: the SHA-1 of the certificate's DER, 20 bytes.
    Thumbprint(Vec<u8>),
    /// `thumbprintSha256`: the SHA-256 of the certificate's DER, 32 bytes.
    ThumbprintSha256(Vec<u8>),
    /// `spkiSha256`: the SHA-256 of the SubjectPublicKeyInfo, 32 bytes.
    SpkiSha256(Vec<u8>),
    /// `serialNumber`: the configured serial, never negative.
    SerialNumber(Serial),
    /// `commonName`: the subject's most specific CN, trimmed of ASCII whitespace.
    CommonName(String),
    /// `subject`: the subject distinguished name, parsed.
    Subject(Dn),
    /// `subjectPattern`: a regular expression searched in the subject DN as nginx prints it.
    SubjectPattern(Pattern),
    /// `dnsName`: a DNS name SAN, lower-cased.
    DnsName(String),
    /// `uri`: a URI SAN, exact after trimming.
    Uri(String),
    /// `email`: an rfc822Name SAN, its domain lower-cased.
    Email(String),
    /// `issuerSubject`: the issuer distinguished name, parsed.
    IssuerSubject(Dn),
    /// `issuerThumbprint`: the SHA-1 of the issuing CA certificate the trust check found, 20
    /// bytes.
    IssuerThumbprint(Vec<u8>),
}

impl Attr {
    /// The attribute's name in the configuration.
    pub fn name(&self) -> &'static str {
        match self {
            Attr::Thumbprint(_) => "thumbprint",
            Attr::ThumbprintSha256(_) => "thumbprintSha256",
            Attr::SpkiSha256(_) => "spkiSha256",
            Attr::SerialNumber(_) => "serialNumber",
            Attr::CommonName(_) => "commonName",
            Attr::Subject(_) => "subject",
            Attr::SubjectPattern(_) => "subjectPattern",
            Attr::DnsName(_) => "dnsName",
            Attr::Uri(_) => "uri",
            Attr::Email(_) => "email",
            Attr::IssuerSubject(_) => "issuerSubject",
            Attr::IssuerThumbprint(_) => "issuerThumbprint",
        }
    }

    /// Whether anyone can put a matching value into a certificate of their own making: names,
    /// SANs, serials and issuer names can be written by whoever signs the certificate; a
    /// thumbprint or a key digest cannot be met without the certificate or its private key.
    pub fn is_forgeable(&self) -> bool {
        matches!(
            self,
            Attr::SerialNumber(_)
                | Attr::CommonName(_)
                | Attr::Subject(_)
                | Attr::SubjectPattern(_)
                | Attr::DnsName(_)
                | Attr::Uri(_)
                | Attr::Email(_)
                | Attr::IssuerSubject(_)
        )
    }
}

/// A compiled identity: all attributes must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity(pub Vec<Attr>);

/// Why an identity was refused at configure time. `attribute` is the camelCase field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityError {
    /// An identity (in `validation.identities` or a rule's `identities`) sets no attribute.
    NoAttributes,
    /// `thumbprint`, `thumbprintSha256`, `issuerThumbprint` or `serialNumber` is not
    /// hexadecimal, or not of the digest's length.
    Hex {
        /// The attribute's configuration name.
        attribute: &'static str,
        /// The value as configured.
        value: String,
        /// How many hex digits a digest needs (40 or 64); `None` for `serialNumber`.
        expected_len: Option<usize>,
    },
    /// `spkiSha256` is not the standard base64 of 32 bytes.
    Base64 {
        /// The attribute's configuration name.
        attribute: &'static str,
        /// The value as configured.
        value: String,
    },
    /// `commonName`, `dnsName`, `uri` or `email` is empty after trimming ASCII whitespace.
    Empty {
        /// The attribute's configuration name.
        attribute: &'static str,
    },
    /// `subject` or `issuerSubject` does not parse as a distinguished name.
    Dn {
        /// The attribute's configuration name.
        attribute: &'static str,
        /// The value as configured.
        value: String,
        /// What is wrong with it.
        problem: DnError,
    },
    /// `subjectPattern` is not a regular expression this filter can match.
    Pattern {
        /// The attribute's configuration name.
        attribute: &'static str,
        /// The value as configured.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
    /// `issuerThumbprint` is set but `validation.validateTrust` is off: without the trust check
    /// there is no issuing CA to compare.
    IssuerThumbprintNeedsTrust,
}

impl IdentityError {
    /// The attribute the error is about, for the field path in messages.
    pub fn attribute(&self) -> Option<&'static str> {
        match self {
            IdentityError::Hex { attribute, .. }
            | IdentityError::Base64 { attribute, .. }
            | IdentityError::Empty { attribute }
            | IdentityError::Dn { attribute, .. }
            | IdentityError::Pattern { attribute, .. } => Some(attribute),
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
            IdentityError::Pattern { value, problem, .. } => {
                write!(f, "{value:?} is not a usable regular expression: {problem}")
            }
            IdentityError::IssuerThumbprintNeedsTrust => f.write_str(
                "needs validation.validateTrust: the issuing CA is the one the trust check finds",
            ),
        }
    }
}

impl std::error::Error for IdentityError {}

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
    let out = hex_decode(&digits)
        .filter(|out| !out.is_empty())
        .ok_or_else(err)?;
    if len.is_some_and(|n| n != out.len()) {
        return Err(err());
    }
    Ok(out)
}

fn text(attribute: &'static str, value: &str) -> Result<String, IdentityError> {
    let v = trim_ascii(value);
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

impl Identity {
    /// True when every attribute can be forged in a self-signed certificate: without the
    /// trust check, such an identity proves nothing about who holds the key.
    pub fn is_forgeable(&self) -> bool {
        self.0.iter().all(Attr::is_forgeable)
    }

    /// Its `subjectPattern`s that are not anchored at both ends (see
    /// [`Pattern::is_anchored`]), as written.
    pub fn unanchored_patterns(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|a| match a {
            Attr::SubjectPattern(p) if !p.is_anchored() => Some(p.source()),
            _ => None,
        })
    }

    /// Whether it searches the subject with a `subjectPattern`.
    pub fn has_subject_pattern(&self) -> bool {
        self.0.iter().any(|a| matches!(a, Attr::SubjectPattern(_)))
    }

    /// Normalizes one configured identity; `trust_enabled` is `validation.validateTrust`.
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
            attrs.push(Attr::SerialNumber(Serial::positive(&hex(
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
        if let Some(v) = &raw.subject_pattern {
            let pattern = Pattern::compile(v).map_err(|problem| IdentityError::Pattern {
                attribute: "subjectPattern",
                value: v.clone(),
                problem: problem.to_string(),
            })?;
            // A pattern that matches the empty string (`""`, `x*`, `^CN=bob$|`) is found in
            // every subject, unless anchored at both ends, where it admits an empty subject:
            // an identity that says nothing, refused like `{}`.
            if pattern.is_match("") {
                return Err(IdentityError::Pattern {
                    attribute: "subjectPattern",
                    value: v.clone(),
                    problem: "it matches the empty string, so it would match any subject; \
                              write what the subject must contain"
                        .to_string(),
                });
            }
            attrs.push(Attr::SubjectPattern(pattern));
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
            Attr::CommonName(v) => facts.common_name.as_ref() == Some(v),
            Attr::Subject(v) => &facts.subject == v,
            Attr::SubjectPattern(p) => facts.pattern_match(p),
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A pattern that matches the empty string is found in every subject: refused, as an
    /// identity with no attribute is. An anchored pattern that needs text is kept.
    #[test]
    fn a_subject_pattern_that_matches_the_empty_string_is_refused() {
        let compile = |pattern: &str| {
            Identity::compile(
                &crate::config::RawIdentity {
                    subject_pattern: Some(pattern.to_string()),
                    ..Default::default()
                },
                false,
            )
        };
        for pattern in ["", "|", "()", "x*", "^", "$", "^CN=bob$|", "^$"] {
            let problem = match compile(pattern) {
                Err(IdentityError::Pattern { problem, .. }) => problem,
                other => format!("not refused: {other:?}"),
            };
            assert!(problem.contains("empty string"), "{pattern:?}: {problem}");
        }
        for pattern in ["^CN=bob$", "CN=bob", "^CN=[a-z]+,"] {
            assert!(compile(pattern).is_ok(), "{pattern:?}");
        }
    }

    /// A subject pattern is searched once per certificate and pattern (a search costs up to
    /// the program times the subject's length): a cached certificate's next requests take the
    /// remembered result, another pattern is searched on its own.
    #[test]
    fn a_subject_pattern_is_searched_once_per_certificate() {
        let admins = Pattern::compile("^CN=alice,OU=admins(,|$)").unwrap();
        let anyone = Pattern::compile("CN=").unwrap();
        let facts = CertFacts {
            subject_dn: "CN=alice,OU=admins".into(),
            ..CertFacts::default()
        };
        let identity = |p: &Pattern| Identity(vec![Attr::SubjectPattern(p.clone())]);
        assert!(identity(&admins).matches(&facts));
        assert_eq!(facts.pattern_results.borrow().len(), 1);
        // Were it searched again it would not match: the result is the one remembered.
        let mut changed = facts.clone();
        changed.subject_dn = "CN=mallory".into();
        assert!(identity(&admins).matches(&changed));
        assert!(identity(&anyone).matches(&changed));
        assert_eq!(changed.pattern_results.borrow().len(), 2);
        // The same source compiled again is another pattern (another configuration).
        let again = Pattern::compile("^CN=alice,OU=admins(,|$)").unwrap();
        assert!(!identity(&again).matches(&changed));
    }

    /// What `lint` says about identities: each attribute's configuration name, and whether a
    /// self-signed certificate of anyone's making can meet it.
    #[test]
    fn attributes_know_their_names_and_which_anyone_can_forge() {
        let dn = Dn::parse("CN=a").unwrap();
        let table = [
            (Attr::Thumbprint(vec![0; 20]), "thumbprint", false),
            (
                Attr::ThumbprintSha256(vec![0; 32]),
                "thumbprintSha256",
                false,
            ),
            (Attr::SpkiSha256(vec![0; 32]), "spkiSha256", false),
            (
                Attr::SerialNumber(Serial::positive(&[1])),
                "serialNumber",
                true,
            ),
            (Attr::CommonName("a".into()), "commonName", true),
            (Attr::Subject(dn.clone()), "subject", true),
            (Attr::DnsName("a.test".into()), "dnsName", true),
            (Attr::Uri("spiffe://a".into()), "uri", true),
            (Attr::Email("a@b.test".into()), "email", true),
            (Attr::IssuerSubject(dn), "issuerSubject", true),
            (
                Attr::IssuerThumbprint(vec![0; 20]),
                "issuerThumbprint",
                false,
            ),
        ];
        for (attr, name, forgeable) in table {
            assert_eq!(attr.name(), name);
            assert_eq!(attr.is_forgeable(), forgeable, "{name}");
        }
        let names = Identity(vec![
            Attr::CommonName("a".into()),
            Attr::DnsName("a.test".into()),
        ]);
        let pinned = Identity(vec![
            Attr::CommonName("a".into()),
            Attr::Thumbprint(vec![0; 20]),
        ]);
        assert!(names.is_forgeable());
        assert!(
            !pinned.is_forgeable(),
            "one attribute anyone cannot meet is enough"
        );
    }
}
