//! The verdict cache: what a certificate was judged to be, keyed by the SHA-256 of its DER (of
//! its DER and each presented intermediate's, with a chain: see `decision::cache_key`),
//! bounded in entries, first in first out. A hit gives the ready-made header value, the leaf's
//! dates (checked again on every request) and the time-independent verdict, as long as the
//! verdict is fresh at the request's time; a stale entry counts as a miss and is replaced.

use std::collections::VecDeque;

use crate::text::digest_map::DigestMap;
use std::rc::Rc;

use crate::cert::CertFacts;
use crate::outcome::CertError;
use crate::outcome::Header;
use crate::validation::Verdict;
use crate::validation::revocation::crl_store::CompactCrl;
use crate::validation::revocation::{Installed, Judged, OcspQuery, RevocationState, RevokedEntry};

/// Entries kept when the configuration does not say (about 3 KB each).
pub const DEFAULT_CAPACITY: usize = 1024;

/// What is remembered about one certificate.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The leaf's `notBefore`, Unix seconds, checked again on every request.
    pub not_before: i64,
    /// The leaf's `notAfter`, Unix seconds, checked again on every request.
    pub not_after: i64,
    /// The headers to forward for this certificate (under the current configuration).
    pub headers: Rc<Vec<Header>>,
    /// The time-independent judgement (trust, revocation, EKU) and the window it holds in.
    pub verdict: Verdict,
    /// What identity rules look at (with the issuing CA's thumbprint when trust found one).
    pub facts: Rc<CertFacts>,
}

/// Verdicts by certificate SHA-256, at most `cacheSize` of them (one cache per worker), oldest
/// evicted first; counts its hits and misses.
#[derive(Debug)]
pub struct VerdictCache {
    capacity: usize,
    entries: DigestMap<Entry>,
    order: VecDeque<[u8; 32]>,
    hits: u64,
    misses: u64,
    /// The revocation this VM knows at run time (fetched CRLs, OCSP answers): kept beside the
    /// verdicts, since a newer status must be able to drop them.
    pub revocation: RevocationState,
}

impl VerdictCache {
    /// A cache of at most `capacity` entries; 0 turns caching off.
    pub fn new(capacity: usize) -> VerdictCache {
        VerdictCache {
            capacity,
            entries: DigestMap::new(),
            order: VecDeque::new(),
            hits: 0,
            misses: 0,
            revocation: RevocationState::default(),
        }
    }

    /// The entry for `key` if its verdict holds at `now`.
    pub fn get(&mut self, key: &[u8; 32], now: i64) -> Option<&Entry> {
        self.lookup(key, now, true)
    }

    /// Like [`VerdictCache::get`], but a miss is not counted (the caller will look again with
    /// the certificate in hand, and that lookup counts).
    pub fn peek(&mut self, key: &[u8; 32], now: i64) -> Option<&Entry> {
        self.lookup(key, now, false)
    }

    fn lookup(&mut self, key: &[u8; 32], now: i64, count_miss: bool) -> Option<&Entry> {
        match self.entries.get(key) {
            Some(e) if e.verdict.fresh_from <= now && now <= e.verdict.fresh_until => {
                self.hits += 1;
                Some(e)
            }
            _ => {
                if count_miss {
                    self.misses += 1;
                }
                None
            }
        }
    }

    /// Remembers `entry` under `key`, evicting the oldest entries beyond the capacity; a stale
    /// entry is replaced in place. Does nothing when caching is off.
    pub fn insert(&mut self, key: [u8; 32], entry: Entry) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.insert(key, entry).is_some() {
            return; // replaced a stale entry in place; its place in the order stays
        }
        self.order.push_back(key);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.entries.remove(&old);
            }
        }
    }

    /// Drops the verdicts a newly installed CRL changes: acceptances of the certificates it
    /// revokes, and refusals for an unknown revocation status (the CRL may be what they lacked).
    /// Returns how many went.
    pub fn drop_on_crl(&mut self, crl: &CompactCrl) -> usize {
        self.drop_where(|verdict| {
            let Some(reference) = &verdict.revocation_ref else {
                return false;
            };
            match &verdict.result {
                Ok(()) => reference.revoked_by(crl),
                Err(CertError::RevocationUnknown { .. }) => true,
                Err(_) => false,
            }
        })
    }

    /// Drops the verdicts that rest on the OCSP status of the CertID `key` (a new answer about
    /// it arrived). Returns how many went.
    pub fn drop_on_ocsp(&mut self, key: &[u8; 32]) -> usize {
        self.drop_where(|verdict| {
            verdict
                .revocation_ref
                .as_ref()
                .is_some_and(|r| r.ocsp_key.as_ref() == Some(key))
        })
    }

    fn drop_where(&mut self, doomed: impl Fn(&Verdict) -> bool) -> usize {
        let before = self.entries.len();
        self.entries.retain(|entry| !doomed(&entry.verdict));
        if self.entries.len() != before {
            let entries = &self.entries;
            self.order.retain(|key| entries.contains_key(key));
        }
        before - self.entries.len()
    }

    /// Takes in a judged OCSP answer to `query` (CertID key `key`): the revocation state
    /// learns it, and the verdicts that depend on the certificate's OCSP answers go when it
    /// says no. Returns the expiry to share with the other VMs for a revocation for good not
    /// known before.
    pub fn learn_ocsp(
        &mut self,
        key: [u8; 32],
        query: &OcspQuery,
        judged: Judged,
        now: i64,
    ) -> Option<i64> {
        let learned = self.revocation.learn(key, query, judged, now);
        if learned.drop_verdicts {
            self.drop_on_ocsp(&key);
        }
        learned.share_until
    }

    /// Takes in the certificates other VMs learned are revoked (those not expired at `now`),
    /// dropping the verdicts of each one not known before.
    pub fn learn_revoked(&mut self, entries: &[RevokedEntry], now: i64) {
        for &(key, until) in entries {
            if until >= now && self.revocation.record_revoked(key, until, now) {
                self.drop_on_ocsp(&key);
            }
        }
    }

    /// Installs a CRL of source `index`, after dropping the cached verdicts it revokes;
    /// returns how many were dropped.
    pub fn install_crl(&mut self, index: usize, installed: Installed) -> usize {
        let dropped = self.drop_on_crl(&installed.crl);
        self.revocation.install(index, installed);
        dropped
    }

    /// How many entries the cache holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Lookups ([`VerdictCache::get`] and [`VerdictCache::peek`]) that found a fresh entry.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// [`VerdictCache::get`] lookups that found no fresh entry.
    pub fn misses(&self) -> u64 {
        self.misses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry whose verdict holds from 100 to 200 inclusive.
    fn entry() -> Entry {
        Entry {
            not_before: 0,
            not_after: 1000,
            headers: Rc::new(Vec::new()),
            verdict: Verdict {
                fresh_from: 100,
                fresh_until: 200,
                ..Verdict::accepted()
            },
            facts: Rc::new(CertFacts::default()),
        }
    }

    #[test]
    fn a_verdict_is_fresh_from_its_first_to_its_last_second_inclusive() {
        let key = [7; 32];
        for (now, fresh) in [
            (i64::MIN, false),
            (99, false),
            (100, true),
            (150, true),
            (200, true),
            (201, false),
        ] {
            let mut cache = VerdictCache::new(4);
            cache.insert(key, entry());
            assert_eq!(cache.peek(&key, now).is_some(), fresh, "peek at {now}");
            assert_eq!(cache.get(&key, now).is_some(), fresh, "get at {now}");
            // get counts a hit or a miss; peek counts hits only.
            let hits = if fresh { 2 } else { 0 };
            let misses = if fresh { 0 } else { 1 };
            assert_eq!((cache.hits(), cache.misses()), (hits, misses), "at {now}");
        }
        let mut cache = VerdictCache::new(4);
        assert!(cache.get(&key, 150).is_none(), "absent");
        assert!(cache.peek(&key, 150).is_none(), "absent");
        assert_eq!((cache.hits(), cache.misses()), (0, 1));
    }

    #[test]
    fn the_oldest_entry_goes_first_and_a_replaced_entry_keeps_its_place() {
        let (a, b, c) = ([1; 32], [2; 32], [3; 32]);
        let mut cache = VerdictCache::new(2);
        assert!(cache.is_empty());
        cache.insert(a, entry());
        assert!(!cache.is_empty());
        cache.insert(b, entry());
        // Replacing `a` (a stale verdict judged again) neither grows the cache nor moves `a`.
        cache.insert(a, entry());
        assert_eq!(cache.len(), 2);
        cache.insert(c, entry());
        assert_eq!(cache.len(), 2);
        let present = |cache: &mut VerdictCache, key| cache.peek(key, 150).is_some();
        assert!(!present(&mut cache, &a), "the oldest went");
        assert!(present(&mut cache, &b));
        assert!(present(&mut cache, &c));
    }

    #[test]
    fn a_cache_of_no_entries_keeps_nothing() {
        let mut cache = VerdictCache::new(0);
        cache.insert([1; 32], entry());
        assert_eq!(cache.len(), 0);
        assert!(cache.is_empty());
        assert!(cache.get(&[1; 32], 150).is_none());
    }
}
