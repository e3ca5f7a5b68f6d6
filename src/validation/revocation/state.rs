//! The revocation a VM knows at a given moment: the CRLs installed, the OCSP answers kept, the
//! certificates known revoked for good.

use std::cmp::Ordering;
use std::collections::VecDeque;

use crate::text::digest_map::DigestMap;

use super::crl_set::Installed;
use super::crl_store::{CompactCrl, CrlOrder, newer};

/// What an OCSP answer (or the lack of one) said, kept for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcspStatus {
    /// Not revoked.
    Good,
    /// Revoked. Kept for good (until the certificate expires) unless the revocation is a
    /// `certificateHold`, the one that may be lifted.
    Revoked,
    /// The responder said it does not know the certificate: an answer that says no, refused
    /// whatever `revocationFailure` says.
    Unknown,
    /// No usable answer: the responder failed, timed out, or its answer did not verify. The
    /// text says which.
    NoAnswer(String),
}

#[derive(Debug, Clone)]
struct OcspEntry {
    status: OcspStatus,
    fresh_until: i64,
}

/// The largest number of OCSP answers a VM keeps.
pub const OCSP_CACHE_CAPACITY: usize = 4096;

/// The largest number of certificates known revoked by OCSP a VM (and the Envoy's shared
/// data) keeps: 40 bytes each. Beyond it the one that expires first is forgotten first.
pub const REVOKED_CAPACITY: usize = 4096;

/// One certificate known revoked by OCSP: its CertID key and when it expires (after which no
/// one can use it anyway).
pub type RevokedEntry = ([u8; 32], i64);

/// The revocation a VM knows: fetched CRLs by source index, OCSP answers by CertID.
#[derive(Debug, Default)]
pub struct RevocationState {
    /// Per source, its CRLs (one per slot).
    crls: Vec<Vec<Installed>>,
    ocsp: DigestMap<OcspEntry>,
    ocsp_order: VecDeque<[u8; 32]>,
    /// Certificates an OCSP responder said are revoked (not on hold), until they expire: a
    /// revocation does not come back, and no later "good" or missing answer undoes it. Sorted
    /// by key (a flat vector: few entries, rarely written, read by binary search).
    revoked: Vec<RevokedEntry>,
}

const REVOKED: OcspStatus = OcspStatus::Revoked;

impl RevocationState {
    /// The CRLs installed for source `index`, one per slot.
    pub fn crls(&self, index: usize) -> &[Installed] {
        self.crls.get(index).map_or(&[], Vec::as_slice)
    }

    /// The newest CRL of `slot` installed from any source.
    pub fn newest(&self, slot: &[u8; 32]) -> Option<&Installed> {
        self.crls
            .iter()
            .flatten()
            .filter(|i| i.crl.slot() == *slot)
            .max_by(|a, b| newer(&a.crl.order(), &b.crl.order()))
    }

    /// Installs a CRL for source `index`, in its slot: never over a newer one of the slot
    /// (refused: `false`); over an equal one only its `confirmed` moves on.
    pub fn install(&mut self, index: usize, installed: Installed) -> bool {
        if self.crls.len() <= index {
            self.crls.resize(index + 1, Vec::new());
        }
        let Some(list) = self.crls.get_mut(index) else {
            return false;
        };
        let slot = installed.crl.slot();
        match list.iter_mut().find(|i| i.crl.slot() == slot) {
            Some(kept) => match newer(&installed.crl.order(), &kept.crl.order()) {
                Ordering::Less => false,
                Ordering::Equal => {
                    kept.confirmed = kept.confirmed.max(installed.confirmed);
                    true
                }
                Ordering::Greater => {
                    *kept = installed;
                    true
                }
            },
            None => {
                list.push(installed);
                true
            }
        }
    }

    /// Marks source `index`'s CRL of `slot` superseded (see [`Installed::superseded`]).
    pub fn supersede(&mut self, index: usize, slot: &[u8; 32]) {
        if let Some(list) = self.crls.get_mut(index) {
            for installed in list.iter_mut().filter(|i| i.crl.slot() == *slot) {
                installed.superseded = true;
            }
        }
    }

    /// Moves on the `confirmed` of source `index`'s CRL of `slot` when it is the same CRL as
    /// `order` says. Whether one was.
    pub fn confirm(
        &mut self,
        index: usize,
        slot: &[u8; 32],
        order: &CrlOrder<'_>,
        at: i64,
    ) -> bool {
        let Some(list) = self.crls.get_mut(index) else {
            return false;
        };
        match list
            .iter_mut()
            .find(|i| i.crl.slot() == *slot && newer(&i.crl.order(), order) == Ordering::Equal)
        {
            Some(kept) => {
                kept.confirmed = kept.confirmed.max(at);
                true
            }
            None => false,
        }
    }

    /// The OCSP status known for a CertID key at `now`: revoked for good, or an answer kept
    /// and still fresh.
    pub fn ocsp(&self, key: &[u8; 32], now: i64) -> Option<&OcspStatus> {
        if self.revoked_until(key).is_some_and(|until| now <= until) {
            return Some(&REVOKED);
        }
        self.ocsp
            .get(key)
            .filter(|e| now <= e.fresh_until)
            .map(|e| &e.status)
    }

    /// Until when (inclusive) the kept answer about `key` holds, if one is kept.
    pub fn ocsp_fresh_until(&self, key: &[u8; 32]) -> Option<i64> {
        self.ocsp.get(key).map(|e| e.fresh_until)
    }

    /// Keeps an OCSP status until `fresh_until` (inclusive), evicting the oldest beyond
    /// [`OCSP_CACHE_CAPACITY`]. A revoked answer still fresh (a hold) is not replaced by
    /// anything but another revoked one: revoked wins, as between sources.
    pub fn record_ocsp(&mut self, key: [u8; 32], status: OcspStatus, fresh_until: i64, now: i64) {
        if status != OcspStatus::Revoked && self.ocsp(&key, now) == Some(&OcspStatus::Revoked) {
            return;
        }
        if self
            .ocsp
            .insert(
                key,
                OcspEntry {
                    status,
                    fresh_until,
                },
            )
            .is_none()
        {
            self.ocsp_order.push_back(key);
        }
        while self.ocsp_order.len() > OCSP_CACHE_CAPACITY {
            if let Some(old) = self.ocsp_order.pop_front() {
                self.ocsp.remove(&old);
            }
        }
    }

    /// Remembers that the certificate of CertID `key` is revoked, until `until` (its notAfter):
    /// whatever is asked or answered later. Bounded by [`REVOKED_CAPACITY`]: the entries that
    /// expire first go first, expired ones before all. Returns whether it was not known yet.
    pub fn record_revoked(&mut self, key: [u8; 32], until: i64, now: i64) -> bool {
        let known = match self.revoked.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(at) => {
                let Some(entry) = self.revoked.get_mut(at) else {
                    return false;
                };
                if entry.1 >= until {
                    return false;
                }
                entry.1 = until;
                true
            }
            Err(at) => {
                self.revoked.insert(at, (key, until));
                false
            }
        };
        self.ocsp.remove(&key);
        self.ocsp_order.retain(|k| *k != key);
        if self.revoked.len() > REVOKED_CAPACITY {
            self.revoked.retain(|(_, until)| *until >= now);
        }
        while self.revoked.len() > REVOKED_CAPACITY {
            let first = self
                .revoked
                .iter()
                .enumerate()
                .min_by_key(|(_, (k, until))| (*until, *k))
                .map(|(i, _)| i);
            match first {
                Some(i) => self.revoked.remove(i),
                None => break,
            };
        }
        !known
    }

    /// Whether any certificate is known revoked by OCSP (so a configuration without an OCSP
    /// source still looks its leaves up).
    pub fn knows_revocations(&self) -> bool {
        !self.revoked.is_empty()
    }

    /// Until when the certificate of CertID `key` is known revoked.
    pub(super) fn revoked_until(&self, key: &[u8; 32]) -> Option<i64> {
        self.revoked
            .binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .and_then(|at| self.revoked.get(at))
            .map(|(_, until)| *until)
    }

    /// The certificates known revoked by OCSP and not expired at `now`.
    pub fn revoked_entries(&self, now: i64) -> Vec<RevokedEntry> {
        self.revoked
            .iter()
            .filter(|(_, until)| *until >= now)
            .copied()
            .collect()
    }

    /// How many OCSP answers are kept.
    pub fn ocsp_len(&self) -> usize {
        self.ocsp.len()
    }
}

/// The shared-data form of a list of certificates known revoked: 40 bytes each, the CertID
/// key then the expiry (big-endian seconds).
pub fn encode_revoked(entries: &[RevokedEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 40);
    for (key, until) in entries {
        out.extend_from_slice(key);
        out.extend_from_slice(&until.to_be_bytes());
    }
    out
}

/// Reads [`encode_revoked`]'s form; a trailing partial entry is ignored.
pub fn decode_revoked(bytes: &[u8]) -> Vec<RevokedEntry> {
    bytes
        .chunks_exact(40)
        .map(|chunk| {
            let mut key = [0u8; 32];
            key.copy_from_slice(&chunk[..32]);
            let mut until = [0u8; 8];
            until.copy_from_slice(&chunk[32..]);
            (key, i64::from_be_bytes(until))
        })
        .collect()
}

/// A shared list with one more entry, expired entries left out and bounded as
/// [`RevocationState::record_revoked`] bounds a VM's: what a VM publishes.
pub fn merge_revoked(shared: &[u8], entry: RevokedEntry, now: i64) -> Vec<u8> {
    let mut state = RevocationState::default();
    for (key, until) in decode_revoked(shared) {
        state.record_revoked(key, until, now);
    }
    state.record_revoked(entry.0, entry.1, now);
    encode_revoked(&state.revoked_entries(now))
}

/// What a certificate's status depends on, so a newer CRL or OCSP answer that revokes it can
/// drop its cached verdict at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRef {
    /// The leaf's issuer Name, DER.
    pub issuer_name: Vec<u8>,
    /// SHA-256 of the issuing CA's SubjectPublicKeyInfo.
    pub issuer_id: [u8; 32],
    /// The leaf's serialNumber INTEGER contents.
    pub serial: Vec<u8>,
    /// The CertID key of its OCSP answers.
    pub ocsp_key: Option<[u8; 32]>,
}

impl RevocationRef {
    /// Whether this CRL revokes the certificate.
    pub fn revoked_by(&self, crl: &CompactCrl) -> bool {
        crl.issuer() == self.issuer_name.as_slice()
            && crl.signer() == self.issuer_id
            && crl.is_revoked(&self.serial)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_revocation_is_kept_until_expiry_and_no_later_answer_undoes_it() {
        let mut state = RevocationState::default();
        assert!(state.record_revoked([3; 32], 5000, 100));
        assert!(
            !state.record_revoked([3; 32], 4000, 100),
            "known, not shortened"
        );
        assert_eq!(state.revoked_entries(100), vec![([3; 32], 5000)]);
        state.record_ocsp([3; 32], OcspStatus::Good, 9000, 100);
        state.record_ocsp([3; 32], OcspStatus::NoAnswer("down".into()), 9000, 100);
        assert_eq!(state.ocsp(&[3; 32], 4999), Some(&OcspStatus::Revoked));
        assert_eq!(state.ocsp(&[3; 32], 5000), Some(&OcspStatus::Revoked));
        // The answers that came while it was revoked were not even kept; after the certificate
        // expired, nothing can use it and the entry may go.
        assert_eq!(state.ocsp(&[3; 32], 5001), None);
        assert!(state.revoked_entries(5001).is_empty());
        // A hold (kept as a plain answer) is not replaced by a good one while it holds.
        state.record_ocsp([4; 32], OcspStatus::Revoked, 200, 100);
        state.record_ocsp([4; 32], OcspStatus::Good, 9000, 150);
        assert_eq!(state.ocsp(&[4; 32], 150), Some(&OcspStatus::Revoked));
        state.record_ocsp([4; 32], OcspStatus::Good, 9000, 201);
        assert_eq!(state.ocsp(&[4; 32], 201), Some(&OcspStatus::Good));
    }

    #[test]
    fn the_revoked_list_is_bounded_expired_first_then_the_first_to_expire() {
        let mut state = RevocationState::default();
        let key = |i: usize| {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&(i as u64).to_be_bytes());
            k
        };
        state.record_revoked(key(0), 50, 0); // expires first
        for i in 1..REVOKED_CAPACITY {
            state.record_revoked(key(i), 1000 + i as i64, 0);
        }
        state.record_revoked(key(99_999), 10, 0);
        assert_eq!(state.revoked_entries(0).len(), REVOKED_CAPACITY);
        assert!(
            state
                .revoked_entries(0)
                .iter()
                .all(|(k, _)| *k != key(99_999))
        );
        // At a time the first has expired, it goes before any live one.
        state.record_revoked(key(100_000), 99_999, 60);
        let live = state.revoked_entries(60);
        assert_eq!(live.len(), REVOKED_CAPACITY);
        assert!(live.iter().all(|(k, _)| *k != key(0)));
        assert!(live.iter().any(|(k, _)| *k == key(100_000)));
        // The shared form round-trips and merges.
        let bytes = encode_revoked(&live);
        assert_eq!(decode_revoked(&bytes), live);
        let merged = decode_revoked(&merge_revoked(&bytes[..80], (key(7), 7777), 60));
        assert_eq!(merged.len(), 3);
        assert!(merged.contains(&(key(7), 7777)));
    }

    #[test]
    fn the_ocsp_cache_is_bounded_and_answers_only_while_fresh() {
        let mut state = RevocationState::default();
        state.record_ocsp([1; 32], OcspStatus::Good, 100, 0);
        assert_eq!(state.ocsp(&[1; 32], 100), Some(&OcspStatus::Good));
        assert_eq!(state.ocsp(&[1; 32], 101), None);
        for i in 0..OCSP_CACHE_CAPACITY + 5 {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i as u64).to_be_bytes());
            state.record_ocsp(key, OcspStatus::Revoked, 1000, 0);
        }
        assert_eq!(state.ocsp_len(), OCSP_CACHE_CAPACITY);
        assert_eq!(state.ocsp(&[1; 32], 50), None, "the oldest went first");
    }
}
