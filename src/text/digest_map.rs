//! A map keyed by 32-byte digests, with one ordered index behind every value type.
//!
//! The verdict cache, the OCSP answers and the signature memo are each keyed by a SHA-256
//! digest. A `BTreeMap` per value type instantiates its insert, remove and rebalancing code once
//! per type, some 9 KB of module each; here the one `BTreeMap<[u8; 32], u32>` holds the order
//! and the values live in a slot list, so only that list's few lines are generic. Ordered (not
//! hashed) on purpose: keys a client can choose by the certificate it sends cannot pile into one
//! bucket.

use std::collections::BTreeMap;

/// Values of type `V` by 32-byte key.
#[derive(Debug)]
pub struct DigestMap<V> {
    index: BTreeMap<[u8; 32], u32>,
    slots: Vec<Option<V>>,
    /// Slots emptied by a removal, reused before the list grows.
    free: Vec<u32>,
}

impl<V> Default for DigestMap<V> {
    fn default() -> Self {
        DigestMap::new()
    }
}

impl<V> DigestMap<V> {
    /// An empty map.
    pub const fn new() -> DigestMap<V> {
        DigestMap {
            index: BTreeMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// The value under `key`.
    pub fn get(&self, key: &[u8; 32]) -> Option<&V> {
        let slot = *self.index.get(key)?;
        self.slots.get(slot as usize)?.as_ref()
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &[u8; 32]) -> bool {
        self.get(key).is_some()
    }

    /// Puts `value` under `key`; returns the value it replaced.
    pub fn insert(&mut self, key: [u8; 32], value: V) -> Option<V> {
        if let Some(&slot) = self.index.get(&key)
            && let Some(place) = self.slots.get_mut(slot as usize)
        {
            return place.replace(value);
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                if let Some(place) = self.slots.get_mut(slot as usize) {
                    *place = Some(value);
                }
                slot
            }
            None => {
                // u32 slots: the maps are bounded far below 4 billion entries.
                let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                self.slots.push(Some(value));
                slot
            }
        };
        self.index.insert(key, slot);
        None
    }

    /// Takes the value under `key` out.
    pub fn remove(&mut self, key: &[u8; 32]) -> Option<V> {
        let slot = self.index.remove(key)?;
        let value = self.slots.get_mut(slot as usize)?.take();
        self.free.push(slot);
        value
    }

    /// Keeps only the values for which `keep` says so.
    pub fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        let (slots, free) = (&mut self.slots, &mut self.free);
        self.index.retain(|_, slot| {
            let Some(place) = slots.get_mut(*slot as usize) else {
                return false;
            };
            if place.as_ref().is_some_and(&mut keep) {
                return true;
            }
            *place = None;
            free.push(*slot);
            false
        });
    }

    /// How many keys have a value.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn insert_get_replace_remove() {
        let mut m = DigestMap::new();
        assert_eq!(m.insert(key(1), "a"), None);
        assert_eq!(m.insert(key(2), "b"), None);
        assert_eq!(m.get(&key(1)), Some(&"a"));
        assert_eq!(m.insert(key(1), "c"), Some("a"));
        assert_eq!(m.get(&key(1)), Some(&"c"));
        assert_eq!(m.len(), 2);
        assert_eq!(m.remove(&key(1)), Some("c"));
        assert_eq!(m.remove(&key(1)), None);
        assert!(!m.contains_key(&key(1)));
        assert!(m.contains_key(&key(2)));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn removed_slots_are_reused_and_values_stay_with_their_keys() {
        let mut m = DigestMap::new();
        for n in 0..100u8 {
            m.insert(key(n), u32::from(n));
        }
        for n in (0..100u8).step_by(2) {
            assert_eq!(m.remove(&key(n)), Some(u32::from(n)));
        }
        for n in 100..150u8 {
            m.insert(key(n), u32::from(n));
        }
        // The 50 removals left 50 slots; the 50 new values took them.
        assert_eq!(m.slots.len(), 100);
        for n in 0..150u8 {
            let expected = (n % 2 == 1 || n >= 100).then_some(u32::from(n));
            assert_eq!(m.get(&key(n)).copied(), expected, "key {n}");
        }
        assert_eq!(m.len(), 100);
    }

    #[test]
    fn retain_drops_what_it_is_told_and_frees_the_slots() {
        let mut m = DigestMap::new();
        for n in 0..10u8 {
            m.insert(key(n), n);
        }
        m.retain(|v| v % 3 == 0);
        assert_eq!(m.len(), 4);
        for n in 0..10u8 {
            assert_eq!(m.contains_key(&key(n)), n % 3 == 0, "key {n}");
        }
        assert_eq!(m.free.len(), 6);
        m.insert(key(20), 20);
        assert_eq!(m.slots.len(), 10);
        assert_eq!(m.get(&key(20)), Some(&20));
        assert!(!m.is_empty());
    }
}
