//! The decision: what the filter does with one request. This is the contract between the pure
//! core and the host glue; the glue gathers the inputs, calls [`decide`] and applies the result.
//!
//! Whatever the decision, the glue has already removed every client-sent copy of
//! [`FORWARDED_HEADER`] before it asks.

use std::rc::Rc;

use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use crate::cache::{Entry, VerdictCache};
use crate::cert::{CertError, LeafCertificate, check_dates, der_from_property};
use crate::config::{Config, Mode};
use crate::validation::Verdict;

/// The header Azure App Service uses to forward the client certificate (lower case, as the
/// host stores header names).
pub const FORWARDED_HEADER: &str = "x-arr-clientcert";

/// What the glue knows about one request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The `:path` pseudo-header, raw bytes.
    pub path: &'a [u8],
    /// The value of `connection.peer_certificate`; `None` when the client presented none.
    pub peer_certificate: Option<&'a [u8]>,
    /// The host's clock, Unix seconds.
    pub now: i64,
    /// Intermediate certificates presented with the leaf (DER), used by the trust check
    /// beside the configured ones.
    pub chain: &'a [Vec<u8>],
}

/// What to do with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let the request through without a forwarded certificate.
    Pass(PassReason),
    /// Let the request through with `X-ARR-ClientCert` set to this value.
    Forward { arr_client_cert: Rc<str> },
    /// Answer locally; the request never reaches the upstream.
    Deny(DenyReason),
}

/// Why a request passes without a certificate header (for debug logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassReason {
    Disabled,
    NoCertificateOptional,
    NoCertificateExcluded,
    InvalidCertificateExcluded(CertError),
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
    HostFailure(&'static str),
}

/// The local reply for a denied request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub status: u32,
    pub body: &'static str,
}

impl DenyReason {
    /// Maps every deny reason to its reply, in one place.
    pub fn reply(&self) -> Reply {
        match self {
            DenyReason::CertificateRequired => Reply {
                status: 401,
                body: "client certificate required\n",
            },
            DenyReason::CertificateInvalid(_) => Reply {
                status: 401,
                body: "client certificate invalid\n",
            },
            DenyReason::HostFailure(_) => Reply {
                status: 500,
                body: "client certificate check failed\n",
            },
        }
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
            DenyReason::HostFailure(what) => {
                format!("failing closed because the host call for {what} failed")
            }
        }
    }

    /// The sentence written to the host log at info level.
    pub fn log_message(&self) -> String {
        format!("denied ({}): {}", self.reply().status, self.describe())
    }
}

impl Config {
    /// Whether the decision needs the request path at all (lets the glue skip a host call).
    pub fn needs_path(&self) -> bool {
        self.mode != Mode::Disabled && !self.exclusions.is_empty()
    }

    /// Whether the decision needs the peer certificate at all.
    pub fn needs_certificate(&self) -> bool {
        self.mode != Mode::Disabled
    }
}

/// Decides what happens to one request. `cache` remembers certificates already judged.
pub fn decide(config: &Config, request: &Request<'_>, cache: &mut VerdictCache) -> Decision {
    if config.mode == Mode::Disabled {
        return Decision::Pass(PassReason::Disabled);
    }
    let excluded = config.exclusions.matches(request.path);
    let Some(raw) = request.peer_certificate else {
        return if excluded {
            Decision::Pass(PassReason::NoCertificateExcluded)
        } else if config.mode == Mode::Required {
            Decision::Deny(DenyReason::CertificateRequired)
        } else {
            Decision::Pass(PassReason::NoCertificateOptional)
        };
    };
    match judge_certificate(config, raw, request.chain, request.now, cache) {
        Ok(arr_client_cert) => Decision::Forward { arr_client_cert },
        Err(e) if excluded => Decision::Pass(PassReason::InvalidCertificateExcluded(e)),
        Err(e) => Decision::Deny(DenyReason::CertificateInvalid(e)),
    }
}

/// Judges a presented certificate: the header value to forward, or why it is invalid. The
/// expensive part comes from the cache when it can; the dates are checked every time.
fn judge_certificate(
    config: &Config,
    raw: &[u8],
    chain: &[Vec<u8>],
    now: i64,
    cache: &mut VerdictCache,
) -> Result<Rc<str>, CertError> {
    let der = der_from_property(raw)?;
    // The key covers the presented chain too: another chain may give another verdict.
    let mut hasher = Sha256::new();
    hasher.update(&der);
    for intermediate in chain {
        hasher.update(intermediate);
    }
    let key: [u8; 32] = hasher.finalize().into();
    let entry = match cache.get(&key, now) {
        Some(entry) => entry.clone(),
        None => {
            let leaf = LeafCertificate::from_der(der)?;
            let verdict = if config.validation.checks_beyond_dates() {
                let chain: Vec<CertificateDer<'_>> = chain
                    .iter()
                    .map(|c| CertificateDer::from(c.as_slice()))
                    .collect();
                config.validation.judge(&leaf, &chain, now)
            } else {
                Verdict {
                    result: Ok(()),
                    fresh_from: i64::MIN,
                    fresh_until: i64::MAX,
                }
            };
            let entry = Entry {
                not_before: leaf.not_before,
                not_after: leaf.not_after,
                header: Rc::from(leaf.arr_header_value()),
                verdict,
            };
            cache.insert(key, entry.clone());
            entry
        }
    };
    check_dates(
        entry.not_before,
        entry.not_after,
        now,
        config.validation.dates,
    )?;
    entry.verdict.result?;
    Ok(entry.header)
}
