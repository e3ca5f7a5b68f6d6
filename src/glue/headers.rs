//! The request's header map as the host hands it over: one buffer in the proxy-wasm
//! serialization, read in place.
//!
//! The SDK's `get_map_bytes` copies every name into a `String` and every value into a `Vec`:
//! two allocations per header, on every request, only for the glue to look at a few of them.
//! This keeps the one buffer the host wrote and walks it. The layout: the number of headers
//! (u32, little endian), then for each a name length and a value length (u32 each), then for
//! each its name and its value, each followed by a NUL byte.

/// A request's headers, in the host's order, one entry per copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderMap {
    bytes: Vec<u8>,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    let word: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(word)).ok()
}

impl HeaderMap {
    /// Takes the host's serialization; `None` when it is not well formed (every length must
    /// fit the buffer, every name and value be followed by NUL, nothing left over), so that
    /// reading it later cannot fail. An empty buffer is an empty map.
    pub fn from_host(bytes: Vec<u8>) -> Option<HeaderMap> {
        if bytes.is_empty() {
            return Some(HeaderMap::default());
        }
        let count = u32_at(&bytes, 0)?;
        let mut data = count.checked_mul(8)?.checked_add(4)?;
        for i in 0..count {
            for len in [u32_at(&bytes, 4 + 8 * i)?, u32_at(&bytes, 8 + 8 * i)?] {
                let end = data.checked_add(len)?;
                if bytes.get(end) != Some(&0) {
                    return None;
                }
                data = end + 1;
            }
        }
        (data == bytes.len()).then_some(HeaderMap { bytes })
    }

    /// Serializes `pairs` the way the host does (for the fake host and tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> HeaderMap {
        let pairs: Vec<(&str, &[u8])> = pairs.into_iter().collect();
        let size = 4 + pairs
            .iter()
            .map(|(n, v)| 8 + n.len() + v.len() + 2)
            .sum::<usize>();
        let mut bytes = Vec::with_capacity(size);
        let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
        bytes.extend_from_slice(&len(pairs.len()));
        for (name, value) in &pairs {
            bytes.extend_from_slice(&len(name.len()));
            bytes.extend_from_slice(&len(value.len()));
        }
        for (name, value) in &pairs {
            for part in [name.as_bytes(), value] {
                bytes.extend_from_slice(part);
                bytes.push(0);
            }
        }
        HeaderMap { bytes }
    }

    /// The serialization, as the host would hand it over.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Every (name, value), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let count = u32_at(&self.bytes, 0).unwrap_or(0);
        let mut data = 4 + 8 * count;
        (0..count).map_while(move |i| {
            let name_len = u32_at(&self.bytes, 4 + 8 * i)?;
            let value_len = u32_at(&self.bytes, 8 + 8 * i)?;
            let name = self.bytes.get(data..data + name_len)?;
            let value_at = data + name_len + 1;
            let value = self.bytes.get(value_at..value_at + value_len)?;
            data = value_at + value_len + 1;
            Some((name, value))
        })
    }

    /// How many entries (copies) there are.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_host_serialization_is_read_in_place() {
        let map =
            HeaderMap::from_pairs([(":path", b"/a".as_slice()), ("x-a", b""), ("X-A", b"two")]);
        let read = HeaderMap::from_host(map.bytes.clone()).unwrap();
        let pairs: Vec<(&[u8], &[u8])> = read.iter().collect();
        assert_eq!(
            pairs,
            [
                (b":path".as_slice(), b"/a".as_slice()),
                (b"x-a", b""),
                (b"X-A", b"two")
            ]
        );
        assert_eq!(read.len(), 3);
        assert_eq!(HeaderMap::from_host(Vec::new()).unwrap().len(), 0);
        assert!(HeaderMap::from_pairs([]).is_empty());
    }

    #[test]
    fn a_malformed_serialization_is_refused() {
        let good = HeaderMap::from_pairs([("a", b"b".as_slice()), ("cc", b"dd")]).bytes;
        assert!(HeaderMap::from_host(good.clone()).is_some());
        // Truncated anywhere, or with a byte more, or a NUL missing, or a length too long.
        for cut in 1..good.len() {
            assert!(
                HeaderMap::from_host(good[..cut].to_vec()).is_none(),
                "{cut}"
            );
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(HeaderMap::from_host(longer).is_none());
        let mut no_nul = good.clone();
        let last = no_nul.len() - 1;
        no_nul[last] = b'x';
        assert!(HeaderMap::from_host(no_nul).is_none());
        let mut huge = good.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(HeaderMap::from_host(huge).is_none());
        let mut count = good;
        count[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(HeaderMap::from_host(count).is_none());
    }
}
