//! What [`super::decide`] returns: the decision with what the glue's logs, metrics and OCSP
//! questions need.

use crate::outcome::{Decision, DenyReason, Header, HostCall};
use crate::validation::revocation::OcspQuery;

/// Whether the verdict came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// No certificate was looked at.
    NotConsulted,
    /// The certificate's verdict was in the cache.
    Hit,
    /// The certificate was judged afresh.
    Miss,
}

/// The decision with what logs and metrics need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What to do with the request.
    pub decision: Decision,
    /// Headers to set on a pass (the informational verification header).
    pub pass_headers: Vec<Header>,
    /// SHA-256 of the presented certificate's DER, when one was decoded.
    pub certificate_sha256: Option<[u8; 32]>,
    /// Whether the path lies under an exclusion.
    pub excluded: bool,
    /// Whether the certificate's verdict came from the cache.
    pub cache: CacheUse,
    /// The index in `rules` of the rule whose mode decided; `None` for `clientCertMode` (and
    /// for decisions taken before any rule was looked at).
    pub rule: Option<usize>,
    /// With `certificateSource: "header"`: the immediate peer (`source.address`) that sent the
    /// certificate header without being in `header.trustedProxies`; the header was ignored.
    pub untrusted_peer: Option<String>,
    /// The certificate's revocation status needs an OCSP answer not known yet: the glue asks
    /// the responder, waits, and decides again. Until then `decision` is what the request gets
    /// without the answer (`revocation_unknown`, or a soft fail), so a caller that cannot ask
    /// (the command-line tool) still fails closed.
    pub ocsp_query: Option<Box<OcspQuery>>,
    /// The certificate was let through without a fresh revocation status
    /// (`revocationFailure: allow`): why, for the log and the `revocation.soft_fail` counter.
    /// Only on the request that judged it (not on cache hits).
    pub soft_fail: Option<String>,
    /// On a first sight: the signatures the trust check actually verified (those this VM or
    /// another VM of the Envoy had verified before are not checked again).
    pub signature_checks: u64,
}

impl Outcome {
    /// An outcome that looked at no certificate.
    pub fn without_certificate(decision: Decision, excluded: bool) -> Outcome {
        Outcome {
            decision,
            pass_headers: Vec::new(),
            certificate_sha256: None,
            excluded,
            cache: CacheUse::NotConsulted,
            rule: None,
            untrusted_peer: None,
            ocsp_query: None,
            soft_fail: None,
            signature_checks: 0,
        }
    }

    /// A host call failed: deny, failing closed.
    pub fn host_failure(call: HostCall) -> Outcome {
        Outcome::without_certificate(Decision::Deny(DenyReason::HostFailure(call)), false)
    }
}
