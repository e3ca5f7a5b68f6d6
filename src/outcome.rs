//! The outcome vocabulary: what the filter can decide about a request, and why. Every other
//! module speaks it; it imports only the text helpers, so it sits under everything else.
//!
//! [`Reason`] is the one list of denial reasons. Its name is what logs and metrics say, its
//! configuration key selects a reply in `responses`, and tables elsewhere (replies, counters)
//! are arrays indexed by it: nothing is looked up by position or by string.

use std::fmt;
use std::rc::Rc;

use crate::text::rfc3339;

/// A header to set: lower-case name, value (a safe header value: printable ASCII).
pub type Header = (Rc<str>, String);

/// Why a request is denied, as logs, metrics and the `responses` configuration name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// No certificate where one is required.
    Missing,
    /// The certificate does not decode (PEM, base64, DER, size, percent escapes).
    Malformed,
    /// `notAfter` has passed.
    Expired,
    /// `notBefore` has not come yet.
    NotYetValid,
    /// No valid path to a trusted CA.
    Untrusted,
    /// Every trusted path has more intermediate CAs than `validation.maxChainDepth` allows.
    ChainTooLong,
    /// Listed in its issuer's CRL.
    Revoked,
    /// Revocation is checked but no fresh status is known.
    RevocationUnknown,
    /// The key usage or extended key usage does not allow a client certificate (or a CA of the
    /// path cannot issue).
    WrongUsage,
    /// None of the identities that apply matches.
    IdentityNotMatched,
    /// `x-forwarded-client-cert` cannot be trusted.
    XfccUntrusted,
    /// A certificate was presented that the host does not show the filter.
    NotVisible,
    /// A host call the decision depends on failed: the filter fails closed.
    HostFailure,
}

impl Reason {
    /// How many reasons there are: the length of tables indexed by [`Reason::index`].
    pub const COUNT: usize = 13;

    /// Every reason, in index order.
    pub const ALL: [Reason; Reason::COUNT] = [
        Reason::Missing,
        Reason::Malformed,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::Untrusted,
        Reason::ChainTooLong,
        Reason::Revoked,
        Reason::RevocationUnknown,
        Reason::WrongUsage,
        Reason::IdentityNotMatched,
        Reason::XfccUntrusted,
        Reason::NotVisible,
        Reason::HostFailure,
    ];

    /// The position of this reason in [`Reason::ALL`], for tables indexed by reason.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name in logs and metrics (`denied.<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Reason::Missing => "missing",
            Reason::Malformed => "malformed",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::Untrusted => "untrusted",
            Reason::ChainTooLong => "chain_too_long",
            Reason::Revoked => "revoked",
            Reason::RevocationUnknown => "revocation_unknown",
            Reason::WrongUsage => "wrong_usage",
            Reason::IdentityNotMatched => "identity_not_matched",
            Reason::XfccUntrusted => "xfcc_untrusted",
            Reason::NotVisible => "not_visible",
            Reason::HostFailure => "host_failure",
        }
    }

    /// The key of this reason's reply in the `responses` object; `None` for
    /// [`Reason::HostFailure`], whose 500 reply is fixed.
    pub fn config_key(self) -> Option<&'static str> {
        Some(match self {
            Reason::Missing => "missing",
            Reason::Malformed => "malformed",
            Reason::Expired => "expired",
            Reason::NotYetValid => "notYetValid",
            Reason::Untrusted => "untrusted",
            Reason::ChainTooLong => "chain_too_long",
            Reason::Revoked => "revoked",
            Reason::RevocationUnknown => "revocationUnknown",
            Reason::WrongUsage => "wrongUsage",
            Reason::IdentityNotMatched => "identityNotMatched",
            Reason::XfccUntrusted => "xfccUntrusted",
            Reason::NotVisible => "notVisible",
            Reason::HostFailure => return None,
        })
    }

    /// Whether this reason belongs to the `invalid` class of replies: a certificate was
    /// presented and refused.
    pub fn is_invalid_certificate(self) -> bool {
        !matches!(self, Reason::Missing | Reason::HostFailure)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Certificates larger than this are refused before any decoding work (a real leaf is 1-2 KB;
/// Envoy's own header limit is 60 KB).
pub const MAX_CERTIFICATE_PEM_BYTES: usize = 64 * 1024;

/// Why a presented certificate is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    /// The certificate (peer property or XFCC `Cert`) is longer than
    /// [`MAX_CERTIFICATE_PEM_BYTES`]; refused before decoding (`malformed`).
    TooLarge {
        /// Its length in bytes, before percent-decoding.
        len: usize,
    },
    /// The certificate or chain is percent-escaped but an escape is broken (`malformed`).
    BadPercentEncoding,
    /// The text is not UTF-8 or not exactly one PEM block with the expected label (`malformed`).
    NotPem,
    /// More than one PEM block where one leaf certificate was expected (`malformed`).
    MultipleBlocks,
    /// The PEM body is empty or not valid standard base64 (`malformed`).
    BadBase64,
    /// The DER does not parse as an X.509 certificate, by x509-parser or webpki (`malformed`).
    Malformed {
        /// The parser's own words.
        detail: String,
    },
    /// A proxy's certificate header (`certificateSource: "header"`) does not decode as its
    /// format says: repeated, several certificates where one is expected, too many, not the
    /// encoding (`malformed`).
    BadHeader {
        /// The header, lower case.
        header: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The DER holds one certificate followed by more bytes (`malformed`).
    TrailingData {
        /// How many bytes follow the certificate.
        len: usize,
    },
    /// With `validateNotBefore` on, `notBefore` is later than now plus `clockSkewSeconds`
    /// (`not_yet_valid`).
    NotYetValid {
        /// The certificate's `notBefore`, Unix seconds.
        not_before: i64,
        /// The time of the check, Unix seconds.
        now: i64,
    },
    /// With `validateNotAfter` on, `notAfter` is earlier than now minus `clockSkewSeconds`
    /// (`expired`).
    Expired {
        /// The certificate's `notAfter`, Unix seconds.
        not_after: i64,
        /// The time of the check, Unix seconds.
        now: i64,
    },
    /// The trust check found no valid path to a trusted CA.
    Untrusted {
        /// What failed: webpki's error, or the filter's own check of the path.
        detail: String,
    },
    /// The trust check found paths to a trusted CA, but each has more intermediate CAs than
    /// `validation.maxChainDepth` allows (OpenSSL's verify depth, nginx's `ssl_verify_depth`).
    ChainTooLong {
        /// How many intermediates the shortest such path has.
        intermediates: usize,
        /// `validation.maxChainDepth`.
        max: u32,
    },
    /// The certificate is listed in its issuer's CRL.
    Revoked,
    /// Revocation was required but could not be decided (no CRL of the issuer, expired CRL).
    RevocationUnknown {
        /// Why no status is known: no CRL of the issuer, or its CRL not yet or no longer valid.
        detail: String,
    },
    /// The key usages do not allow it: an extended key usage without clientAuth, a leaf keyUsage
    /// without digitalSignature or keyAgreement, or a CA of the path without keyCertSign.
    WrongUsage {
        /// Which usage is missing: the EKU, or a `keyUsage` of the leaf or a CA of the path.
        detail: String,
    },
    /// No configured identity matches.
    IdentityNotMatched,
    /// The certificate came in `x-forwarded-client-cert` that cannot be trusted (see
    /// docs/certificate-sources.md, XFCC): wrong hash, no mTLS on the connection, a digest
    /// mismatch, ambiguity.
    XfccUntrusted {
        /// Which check failed, in words.
        detail: String,
    },
    /// The client presented a certificate (`connection.mtls`) that the host does not show the
    /// filter: an older Envoy without `connection.peer_certificate` and no XFCC configured.
    NotVisible {
        /// What is missing and which Envoy setting shows it.
        detail: String,
    },
}

impl CertError {
    /// The reason this error denies a request for.
    pub fn reason(&self) -> Reason {
        match self {
            CertError::TooLarge { .. }
            | CertError::BadPercentEncoding
            | CertError::NotPem
            | CertError::MultipleBlocks
            | CertError::BadBase64
            | CertError::Malformed { .. }
            | CertError::BadHeader { .. }
            | CertError::TrailingData { .. } => Reason::Malformed,
            CertError::NotYetValid { .. } => Reason::NotYetValid,
            CertError::Expired { .. } => Reason::Expired,
            CertError::Untrusted { .. } => Reason::Untrusted,
            CertError::ChainTooLong { .. } => Reason::ChainTooLong,
            CertError::Revoked => Reason::Revoked,
            CertError::RevocationUnknown { .. } => Reason::RevocationUnknown,
            CertError::WrongUsage { .. } => Reason::WrongUsage,
            CertError::IdentityNotMatched => Reason::IdentityNotMatched,
            CertError::XfccUntrusted { .. } => Reason::XfccUntrusted,
            CertError::NotVisible { .. } => Reason::NotVisible,
        }
    }

    /// The reason's name (`malformed`, `expired`, ...), as logs and metrics say it.
    pub fn kind(&self) -> &'static str {
        self.reason().name()
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
            CertError::BadHeader { header, detail } => {
                write!(f, "certificate header {header} is malformed: {detail}")
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
            CertError::ChainTooLong { intermediates, max } => write!(
                f,
                "certificate chain is too long: {intermediates} intermediate CA(s) between it and \
                 the trusted CA, more than validation.maxChainDepth {max} allows"
            ),
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

/// A host call whose failure makes the filter fail closed, named in the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCall {
    /// Reading the request header map.
    ReadHeaders,
    /// Removing a client-sent copy of a header the filter sets.
    RemoveClientHeaders,
    /// Removing `x-forwarded-client-cert` before the upstream.
    RemoveXfcc,
    /// Setting a forwarded header.
    SetHeaders,
    /// The property `connection.peer_certificate`.
    PeerCertificate,
    /// The property `connection.sha256_peer_certificate_digest`.
    PeerCertificateDigest,
    /// The property `connection.mtls`.
    Mtls,
    /// The property `xds.route_name`.
    RouteName,
    /// The property `source.address`.
    SourceAddress,
    /// The host clock.
    Clock,
    /// The host clock answered a time before 1970.
    ClockBefore1970,
    /// The verdict cache was already borrowed (a re-entrant call; cannot happen in Envoy).
    CacheBusy,
    /// The stream has no configuration.
    NoConfiguration,
}

impl HostCall {
    /// What failed, as the log line says it.
    pub fn what(self) -> &'static str {
        match self {
            HostCall::ReadHeaders => "reading the request headers",
            HostCall::RemoveClientHeaders => "removing client-sent headers",
            HostCall::RemoveXfcc => "removing x-forwarded-client-cert",
            HostCall::SetHeaders => "setting forwarded headers",
            HostCall::PeerCertificate => "connection.peer_certificate",
            HostCall::PeerCertificateDigest => "connection.sha256_peer_certificate_digest",
            HostCall::Mtls => "connection.mtls",
            HostCall::RouteName => "xds.route_name",
            HostCall::SourceAddress => "source.address",
            HostCall::Clock => "the clock",
            HostCall::ClockBefore1970 => "the clock (before 1970)",
            HostCall::CacheBusy => "the verdict cache (busy)",
            HostCall::NoConfiguration => "the plugin configuration (none reached this stream)",
        }
    }
}

/// What to do with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let the request through without a forwarded certificate.
    Pass(PassReason),
    /// Let the request through with these headers set (the forwarded certificate).
    Forward {
        /// The forwarded headers, as the `forward` configuration names and formats them.
        headers: Rc<Vec<Header>>,
    },
    /// Answer locally; the request never reaches the upstream.
    Deny(DenyReason),
}

impl Decision {
    /// What the filter did, in one word, as the filter state and the command-line tool say it:
    /// `pass`, `forward`, `deny`, or `would_deny` (a report-only pass).
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Pass(PassReason::ReportOnly(_)) => "would_deny",
            Decision::Pass(_) => "pass",
            Decision::Forward { .. } => "forward",
            Decision::Deny(_) => "deny",
        }
    }

    /// The reason a denial, or a report-only pass, is for; `None` for other passes and
    /// forwards.
    pub fn deny_reason(&self) -> Option<&DenyReason> {
        match self {
            Decision::Deny(reason) | Decision::Pass(PassReason::ReportOnly(reason)) => Some(reason),
            _ => None,
        }
    }

    /// The value this decision forwards in a header, if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        match self {
            Decision::Forward { headers } => headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }
}

/// Why a request passes without a certificate header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassReason {
    /// The filter is off, or the mode that applies is `Ignore`.
    Disabled,
    /// No certificate, and the mode that applies makes it optional.
    NoCertificateOptional,
    /// No certificate, on an excluded path.
    NoCertificateExcluded,
    /// An invalid certificate on an excluded path: passed, never forwarded.
    InvalidCertificateExcluded(CertError),
    /// `reportOnly` applies and the request would have been denied for this reason: passed,
    /// never forwarded, counted and logged as a would-deny. Never a host failure: what the
    /// filter could not read, it does not vouch for (see docs/operations.md, "Rollout").
    ReportOnly(DenyReason),
}

impl PassReason {
    /// One sentence for logs and the command-line tool.
    pub fn describe(&self) -> String {
        match self {
            PassReason::Disabled => "client certificates are disabled".to_string(),
            PassReason::NoCertificateOptional => {
                "no client certificate, and the mode makes it optional".to_string()
            }
            PassReason::NoCertificateExcluded => {
                "no client certificate, on an excluded path".to_string()
            }
            PassReason::InvalidCertificateExcluded(e) => {
                format!("excluded path; the invalid certificate is not forwarded ({e})")
            }
            PassReason::ReportOnly(reason) => {
                format!("report only, would deny: {}", reason.describe())
            }
        }
    }
}

/// Why a request is denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// `Required` mode, not excluded, and the client presented no certificate.
    CertificateRequired,
    /// The client presented a certificate that is not acceptable.
    CertificateInvalid(CertError),
    /// The host did not answer a call the decision depends on; failing closed.
    HostFailure(HostCall),
}

impl DenyReason {
    /// The reason, for reply and counter tables.
    pub fn reason(&self) -> Reason {
        match self {
            DenyReason::CertificateRequired => Reason::Missing,
            DenyReason::CertificateInvalid(e) => e.reason(),
            DenyReason::HostFailure(_) => Reason::HostFailure,
        }
    }

    /// The reason's name in logs and metrics (`missing`, `expired`, ..., `host_failure`).
    pub fn name(&self) -> &'static str {
        self.reason().name()
    }

    /// Why, in one sentence.
    pub fn describe(&self) -> String {
        match self {
            DenyReason::CertificateRequired => {
                "client certificate required but none was presented".to_string()
            }
            DenyReason::CertificateInvalid(e) => {
                format!("client certificate invalid ({}): {e}", e.kind())
            }
            DenyReason::HostFailure(call) => {
                format!(
                    "failing closed because the host call for {} failed",
                    call.what()
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_index_name_and_key() {
        for (i, reason) in Reason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), i, "{reason:?}");
            assert_eq!(reason.to_string(), reason.name(), "logs say the name");
        }
        let mut names: Vec<&str> = Reason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Reason::COUNT);
        let keys: Vec<&str> = Reason::ALL.iter().filter_map(|r| r.config_key()).collect();
        assert_eq!(
            keys.len(),
            Reason::COUNT - 1,
            "only host_failure has no reply key"
        );
        assert_eq!(Reason::HostFailure.config_key(), None);
    }

    #[test]
    fn each_pass_and_denial_says_why_in_a_sentence() {
        let passes = [
            (PassReason::Disabled, "client certificates are disabled"),
            (
                PassReason::NoCertificateOptional,
                "no client certificate, and the mode makes it optional",
            ),
            (
                PassReason::NoCertificateExcluded,
                "no client certificate, on an excluded path",
            ),
            (
                PassReason::InvalidCertificateExcluded(CertError::Revoked),
                "excluded path; the invalid certificate is not forwarded \
                 (certificate is revoked by its issuer's CRL)",
            ),
        ];
        for (reason, sentence) in passes {
            assert_eq!(reason.describe(), sentence, "{reason:?}");
        }
        let denials = [
            (
                DenyReason::CertificateRequired,
                "client certificate required but none was presented",
            ),
            (
                DenyReason::CertificateInvalid(CertError::Revoked),
                "client certificate invalid (revoked): certificate is revoked by its issuer's CRL",
            ),
            (
                DenyReason::HostFailure(HostCall::Mtls),
                "failing closed because the host call for connection.mtls failed",
            ),
        ];
        for (reason, sentence) in denials {
            assert_eq!(reason.describe(), sentence, "{reason:?}");
        }
    }

    #[test]
    fn the_invalid_class_is_every_refused_certificate() {
        let invalid: Vec<Reason> = Reason::ALL
            .into_iter()
            .filter(|r| r.is_invalid_certificate())
            .collect();
        assert_eq!(invalid.len(), Reason::COUNT - 2);
        assert!(!invalid.contains(&Reason::Missing));
        assert!(!invalid.contains(&Reason::HostFailure));
    }

    #[test]
    fn errors_map_to_their_reasons() {
        let cases = [
            (CertError::TooLarge { len: 1 }, Reason::Malformed),
            (CertError::BadPercentEncoding, Reason::Malformed),
            (CertError::NotPem, Reason::Malformed),
            (CertError::MultipleBlocks, Reason::Malformed),
            (CertError::BadBase64, Reason::Malformed),
            (CertError::TrailingData { len: 1 }, Reason::Malformed),
            (
                CertError::NotYetValid {
                    not_before: 1,
                    now: 0,
                },
                Reason::NotYetValid,
            ),
            (
                CertError::Expired {
                    not_after: 0,
                    now: 1,
                },
                Reason::Expired,
            ),
            (CertError::Revoked, Reason::Revoked),
            (
                CertError::ChainTooLong {
                    intermediates: 2,
                    max: 1,
                },
                Reason::ChainTooLong,
            ),
            (CertError::IdentityNotMatched, Reason::IdentityNotMatched),
        ];
        for (error, reason) in cases {
            assert_eq!(error.reason(), reason, "{error:?}");
            assert_eq!(
                DenyReason::CertificateInvalid(error.clone()).reason(),
                reason
            );
        }
        assert_eq!(DenyReason::CertificateRequired.reason(), Reason::Missing);
        assert_eq!(
            DenyReason::HostFailure(HostCall::Clock).name(),
            "host_failure"
        );
    }
}
