//! What an OCSP exchange means once verified: the status, how long it is kept, and whether it
//! is a revocation to remember for good; and how a VM's [`RevocationState`] takes it in.

use super::ocsp::{self, CertId, Freshness, Issuer, Status};
use super::state::{OcspStatus, RevocationState};
use super::status::OcspQuery;
use crate::validation::REJECTION_TTL;

/// The CRLReason of a revocation that may be lifted.
const CERTIFICATE_HOLD: u8 = 6;

/// An OCSP exchange judged: the status, until when it may be kept, and whether it is a
/// revocation to remember for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// What the answer says (or why there is none).
    pub status: OcspStatus,
    /// Until when it may be kept, Unix seconds.
    pub until: i64,
    /// A revocation that does not come back: remembered until the certificate expires.
    pub permanent: bool,
}

impl Judged {
    /// No usable answer, for the reason given: kept no longer than now.
    pub fn no_answer(why: String, now: i64) -> Judged {
        Judged {
            status: OcspStatus::NoAnswer(why),
            until: now,
            permanent: false,
        }
    }
}

/// Judges the responder's answer to `query` (HTTP `status` and `body`; `None`: no answer),
/// asked with `nonce`, at `now`.
pub fn judge_answer(
    query: &OcspQuery,
    nonce: &[u8],
    status: Option<u16>,
    body: &[u8],
    now: i64,
) -> Judged {
    let failed = |why: String| Judged::no_answer(why, now);
    match status {
        Some(200) => {}
        Some(status) => return failed(format!("the responder answered HTTP {status}")),
        None => {
            return failed(format!(
                "no answer from the responder within {} ms (timeout, or the connection failed)",
                query.timeout_ms
            ));
        }
    }
    let Some(id) = CertId::new(&query.issuer_subject, &query.issuer_spki, &query.serial) else {
        return failed("the issuer's key is not usable for a CertID".to_string());
    };
    let issuer = Issuer {
        subject: &query.issuer_subject,
        spki: &query.issuer_spki,
    };
    let cache_seconds = i64::from(query.cache_seconds);
    let fresh = Freshness {
        now,
        skew: query.skew.max(5),
        max_age: cache_seconds.max(60),
        max_answer_age: i64::from(query.max_age_seconds),
        require_nonce: query.require_nonce,
    };
    // A refusal is kept at least as long as the refusal it causes: a revoked answer whose
    // nextUpdate has just passed (accepted within the skew), or a `cacheSeconds` of 0 and a
    // clock that turns before the request is decided again, would otherwise be forgotten at
    // once, and the request decided without it.
    let at_least_a_rejection = |until: i64| until.max(now.saturating_add(REJECTION_TTL));
    match ocsp::verify_response(body, &id, &issuer, Some(nonce), &fresh) {
        Ok(answer) => {
            let until = answer
                .next_update
                .map_or(now.saturating_add(cache_seconds), |next| {
                    next.min(now.saturating_add(cache_seconds))
                });
            match answer.status {
                Status::Good => Judged {
                    status: OcspStatus::Good,
                    until,
                    permanent: false,
                },
                // A revocation does not come back (RFC 5280 3.3): remembered until the
                // certificate expires. A hold may be lifted: kept like any answer.
                Status::Revoked { reason, .. } => Judged {
                    status: OcspStatus::Revoked,
                    until: at_least_a_rejection(until),
                    permanent: reason != Some(CERTIFICATE_HOLD),
                },
                // The responder's own word that it does not know the serial: a refusal, not
                // an outage (APIM and OpenSSL refuse it too).
                Status::Unknown => Judged {
                    status: OcspStatus::Unknown,
                    until: at_least_a_rejection(until),
                    permanent: false,
                },
            }
        }
        Err(e) => failed(format!("the responder's answer was refused: {e}")),
    }
}

/// What taking an answer in changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Learned {
    /// The cached verdicts that depend on this certificate's OCSP answers must go: the answer
    /// says no (revoked or unknown).
    pub drop_verdicts: bool,
    /// A revocation for good, not known before: share it with the other VMs, with this expiry.
    pub share_until: Option<i64>,
}

impl RevocationState {
    /// Takes in the judged answer to `query` (CertID key `key`) at `now`: a permanent
    /// revocation is remembered until the certificate's notAfter (plus the skew), anything
    /// else as an answer kept until `judged.until` (a revocation already known wins over it).
    pub fn learn(&mut self, key: [u8; 32], query: &OcspQuery, judged: Judged, now: i64) -> Learned {
        let drop_verdicts = matches!(judged.status, OcspStatus::Revoked | OcspStatus::Unknown);
        if judged.permanent {
            let until = query.not_after.saturating_add(query.skew.max(0));
            let share_until = self.record_revoked(key, until, now).then(|| {
                self.revoked_until(&key)
                    .filter(|u| *u >= now)
                    .unwrap_or(query.not_after)
            });
            Learned {
                drop_verdicts,
                share_until,
            }
        } else {
            self.record_ocsp(key, judged.status, judged.until, now);
            Learned {
                drop_verdicts,
                share_until: None,
            }
        }
    }
}
