//! Revocation, in one place: every rule about whether a certificate is revoked, and all the
//! state a VM keeps about it. Nothing here talks to the host; the glue (`glue::revocation`)
//! only sends what this module says to send, reads and writes shared data, and hands the
//! answers back.
//!
//! | file | what it holds |
//! |---|---|
//! | [`sources`] | the compiled `revocationSources`: CRL URLs, the OCSP responder, their timings |
//! | [`crl_store`] | a CRL verified and kept compactly: issuer, scope, order, the revoked serials |
//! | [`ocsp`] | the OCSP request, and the verification of the responder's answer |
//! | `configured` | the pasted CRLs, compiled, and the status they give a leaf |
//! | `combine` | the configured (pasted) CRLs and the run-time sources combined for one path |
//! | [`status`] | what the run-time sources say of one certificate, or the question to ask |
//! | [`answers`] | what a verified OCSP answer means: its status, how long it is kept, whether for good |
//! | [`state`] | what a VM knows: installed CRLs, OCSP answers, certificates revoked for good |
//! | [`fetch`] | what a fetch or a question fails with, and the rollback guards of a fetched CRL |
//! | [`crl_set`] | a source's CRLs shared by every VM of the Envoy, merged without rollback |
//! | [`schedule`] | when a source is fetched again: refresh, nextUpdate, lease and backoff |
//! | [`shared`] | the layout of shared data: keys, the fetch metadata, the rollback marks |

pub mod answers;
pub(in crate::validation) mod combine;
pub(in crate::validation) mod configured;
pub mod crl_set;
pub mod crl_store;
pub mod fetch;
pub mod ocsp;
pub mod schedule;
pub mod shared;
pub mod sources;
pub mod state;
pub mod status;

pub use answers::{Judged, Learned, judge_answer};
pub use crl_set::{Installed, SetEntry, SetRefusal, decode_set, encode_set, merge_set};
pub use fetch::{AskError, FetchError};
pub use sources::{CrlSource, HttpUrl, OcspSource, OnlineSources, SourceError, UrlError};
pub use state::{OcspStatus, RevocationRef, RevocationState, RevokedEntry};
pub use status::{IssuerInfo, LeafRef, OcspQuery, OnlineStatus, SOFT_FAIL_TTL, online_status};
