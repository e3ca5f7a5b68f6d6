//! What a CRL fetch or an OCSP question can fail with, and whether a fetched CRL may be
//! accepted (the rollback guards). The glue sends and reads; the reasons are here, typed.

use std::fmt;

use super::crl_set::SetRefusal;
use super::crl_store::{CompactCrl, CrlError, newer};
use super::shared::Mark;
use super::state::RevocationState;
use crate::text::rfc3339;

/// Why a CRL fetch gave nothing to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The request could not be sent through the cluster.
    Unsent {
        /// The Envoy cluster.
        cluster: String,
        /// The host's error.
        detail: String,
        /// The configuration field of the source.
        field: String,
    },
    /// The server answered with another status than 200.
    Status(u16),
    /// No answer within the timeout (or the connection failed).
    NoAnswer {
        /// The timeout, milliseconds.
        timeout_ms: u32,
    },
    /// The body is not a CRL this configuration accepts.
    Crl(CrlError),
    /// The source's set refuses it (older than the set's, or the set is full).
    Refused(SetRefusal),
    /// The Envoy accepted a newer CRL of the same slot before (the mark).
    Rollback {
        /// thisUpdate of the one fetched.
        fetched: i64,
        /// thisUpdate of the mark.
        mark: i64,
    },
    /// Shared data did not take the CRL.
    Unshared,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Unsent {
                cluster,
                detail,
                field,
            } => write!(
                f,
                "cannot send to cluster {cluster:?} ({detail}): is the cluster defined in Envoy ({field}.cluster), and the proxy_http_call capability allowed?"
            ),
            FetchError::Status(status) => write!(f, "the server answered HTTP {status}"),
            FetchError::NoAnswer { timeout_ms } => write!(
                f,
                "no answer within {timeout_ms} ms (timeout, or the connection failed)"
            ),
            FetchError::Crl(e) => e.fmt(f),
            FetchError::Refused(e) => e.fmt(f),
            FetchError::Rollback { fetched, mark } => write!(
                f,
                "the CRL fetched (thisUpdate {}) is older than one this Envoy already accepted for the same issuer and scope (thisUpdate {}, by cRLNumber then thisUpdate, from any source or configuration): refused as a rollback",
                rfc3339::format(*fetched),
                rfc3339::format(*mark)
            ),
            FetchError::Unshared => f.write_str("cannot share the CRL (shared data)"),
        }
    }
}

impl std::error::Error for FetchError {}

/// Why an OCSP question was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskError {
    /// The issuer's key cannot make a CertID.
    NoCertId,
    /// The host gave no random bytes for the nonce.
    NoRandom(String),
    /// The VM's questions are in use (a re-entrant call).
    Busy,
    /// The request could not be sent through the cluster.
    Unsent {
        /// The Envoy cluster.
        cluster: String,
        /// The host's error.
        detail: String,
    },
}

impl fmt::Display for AskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AskError::NoCertId => f.write_str("the issuer's key is not usable for a CertID"),
            AskError::NoRandom(e) => write!(f, "no random bytes for the nonce: {e}"),
            AskError::Busy => f.write_str("the VM's OCSP questions are busy"),
            AskError::Unsent { cluster, detail } => write!(
                f,
                "cannot send to cluster {cluster:?} ({detail}): is the cluster defined in Envoy (validation.revocationSources.ocsp.cluster), and the proxy_http_call capability allowed?"
            ),
        }
    }
}

impl std::error::Error for AskError {}

impl RevocationState {
    /// Refuses a CRL just fetched that is older than the newest of its slot this VM has from
    /// any source (the first rollback guard; then the Envoy's mark, [`Mark::refuse_rollback`],
    /// and the source's shared set, [`super::crl_set::merge_set`]).
    pub fn refuse_older(&self, crl: &CompactCrl) -> Result<(), FetchError> {
        match self.newest(&crl.slot()) {
            Some(kept) if newer(&crl.order(), &kept.crl.order()) == std::cmp::Ordering::Less => {
                Err(FetchError::Refused(SetRefusal::Older {
                    fetched: crl.this_update(),
                    kept: kept.crl.this_update(),
                }))
            }
            _ => Ok(()),
        }
    }

    /// The slots of source `index` a fetched CRL may take the place of without a revocation
    /// lost: those whose every serial it lists too.
    pub fn covered_by(&self, index: usize, crl: &CompactCrl) -> Vec<[u8; 32]> {
        self.crls(index)
            .iter()
            .filter(|i| crl.lists_all_of(&i.crl))
            .map(|i| i.crl.slot())
            .collect()
    }

    /// The slots and orders of source `index`'s CRLs not yet superseded.
    pub fn live_orders(&self, index: usize) -> Vec<([u8; 32], Mark)> {
        self.crls(index)
            .iter()
            .filter(|i| !i.superseded)
            .map(|i| (i.crl.slot(), Mark::of(&i.crl.order())))
            .collect()
    }

    /// Whether this VM has a CRL of `slot` from source `index` newer than `order`.
    pub fn has_newer(
        &self,
        index: usize,
        slot: &[u8; 32],
        order: &super::crl_store::CrlOrder<'_>,
    ) -> bool {
        self.crls(index).iter().any(|i| {
            i.crl.slot() == *slot && newer(&i.crl.order(), order) == std::cmp::Ordering::Greater
        })
    }
}

impl Mark {
    /// Refuses a CRL just fetched that is older than the newest the Envoy accepted for its
    /// slot, from any source or configuration.
    pub fn refuse_rollback(&self, crl: &CompactCrl) -> Result<(), FetchError> {
        if self.supersedes(&crl.order()) {
            return Err(FetchError::Rollback {
                fetched: crl.this_update(),
                mark: self.this_update,
            });
        }
        Ok(())
    }
}
