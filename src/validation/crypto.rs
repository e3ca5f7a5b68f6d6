//! Signature verification for `rustls-webpki`: *ring*'s algorithms, behind a bounded memo of
//! the signatures already verified.
//!
//! webpki does path building, name-independent client-auth checks and CRLs, and leaves the
//! signature arithmetic to a backend. *ring* is webpki's own backend: a few times faster than
//! the pure-Rust RustCrypto crates this module used before (RSA and P-256 in the module, see
//! BENCHMARKS.md) and about 200 KB smaller in the module. Its C and assembly parts need a C
//! compiler that targets wasm32; `make` installs Zig from PyPI (`ziglang`) into the project's
//! virtualenv and `tools/zig-cc` hands it to cargo (`.cargo/config.toml`), so a fresh machine
//! builds the module through `make` with nothing else installed. Only verification is used,
//! with public keys and public data.
//!
//! The set is webpki's default: ECDSA P-256/P-384 with SHA-256/SHA-384, Ed25519, RSA PKCS#1
//! v1.5 with SHA-256/384/512 and RSA-PSS with SHA-256/384/512, RSA moduli of 2048 to 8192 bits.
//!
//! **The memo.** A new leaf under an intermediate already seen needs the intermediate's own
//! signature again (webpki verifies the whole path every time). Verifying a signature is a pure
//! function of (algorithm, public key, message, signature), so a positive result can be
//! remembered: the memo keeps the SHA-256 of those four (the message is the whole signed
//! `tbsCertificate`, so a certificate that copies a real signature over other contents has
//! another key), at most [`MEMO_CAPACITY`] of them, oldest forgotten first. A failed
//! verification is never remembered. Hashing the ~1 KB message costs a few microseconds; the
//! signature it saves costs a hundred or more.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;

use ring::digest;
use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

/// Every algorithm the trust check accepts (webpki's defaults, implemented by *ring*).
pub static ALGORITHMS: [&dyn SignatureVerificationAlgorithm; 11] = [
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// Signatures remembered as verified, per VM (a few hundred intermediates and CRL issuers is
/// far more than any deployment has; each entry is 32 bytes).
pub const MEMO_CAPACITY: usize = 256;

/// The SHA-256 of every signature verified, bounded, first in first out.
#[derive(Debug, Default)]
pub struct SignatureMemo {
    inner: Mutex<MemoEntries>,
}

#[derive(Debug, Default)]
struct MemoEntries {
    known: BTreeSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
    hits: u64,
}

impl SignatureMemo {
    /// An empty memo.
    pub fn new() -> SignatureMemo {
        SignatureMemo::default()
    }

    /// How many signatures are remembered.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |m| m.known.len())
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many verifications the memo answered.
    pub fn hits(&self) -> u64 {
        self.inner.lock().map_or(0, |m| m.hits)
    }

    /// [`ALGORITHMS`], each answering from this memo first.
    pub fn algorithms(&self) -> [Memoized<'_>; ALGORITHMS.len()] {
        let mut index = 0;
        ALGORITHMS.map(|algorithm: &'static dyn SignatureVerificationAlgorithm| {
            index += 1;
            Memoized {
                algorithm,
                id: u8::try_from(index).unwrap_or(u8::MAX),
                memo: self,
            }
        })
    }

    fn contains(&self, key: &[u8; 32]) -> bool {
        let Ok(mut m) = self.inner.lock() else {
            return false;
        };
        let found = m.known.contains(key);
        if found {
            m.hits += 1;
        }
        found
    }

    fn remember(&self, key: [u8; 32]) {
        let Ok(mut m) = self.inner.lock() else {
            return;
        };
        if m.known.insert(key) {
            m.order.push_back(key);
        }
        while m.order.len() > MEMO_CAPACITY {
            if let Some(old) = m.order.pop_front() {
                m.known.remove(&old);
            }
        }
    }
}

/// One of [`ALGORITHMS`] behind the memo.
#[derive(Debug)]
pub struct Memoized<'m> {
    algorithm: &'static dyn SignatureVerificationAlgorithm,
    /// Which algorithm, in the key: the same bytes under another algorithm are another check.
    id: u8,
    memo: &'m SignatureMemo,
}

impl Memoized<'_> {
    fn key(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> [u8; 32] {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(&[self.id]);
        // Lengths first, so no two splits of the same bytes give the same key.
        for part in [public_key, message, signature] {
            ctx.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
        }
        for part in [public_key, message, signature] {
            ctx.update(part);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        key
    }
}

impl SignatureVerificationAlgorithm for Memoized<'_> {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key = self.key(public_key, message, signature);
        if self.memo.contains(&key) {
            return Ok(());
        }
        self.algorithm
            .verify_signature(public_key, message, signature)?;
        self.memo.remember(key);
        Ok(())
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.algorithm.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.algorithm.signature_alg_id()
    }
}

/// Why a signature outside a certificate path (an OCSP response, a CRL) was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The public key is not a well-formed SubjectPublicKeyInfo.
    BadKey,
    /// No algorithm of [`ALGORITHMS`] has this signature algorithm for this kind of key.
    UnsupportedAlgorithm,
    /// The signature does not verify.
    Invalid,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureError::BadKey => "the signer's public key is not well formed",
            SignatureError::UnsupportedAlgorithm => {
                "the signature algorithm is not supported for the signer's key"
            }
            SignatureError::Invalid => "the signature does not verify",
        })
    }
}

impl std::error::Error for SignatureError {}

/// Verifies `signature` over `message` with the key of a SubjectPublicKeyInfo (`spki`, its whole
/// DER), under the signature algorithm `signature_algorithm` (the contents of its
/// AlgorithmIdentifier SEQUENCE, as webpki compares them). The algorithm must be one of
/// [`ALGORITHMS`] and fit the key's algorithm; the key's BIT STRING must have no unused bits.
pub fn verify_signature(
    signature_algorithm: &[u8],
    spki: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    use crate::text::der::{Reader, tag};
    let mut outer = Reader::new(spki);
    let mut info = outer
        .nested(tag::SEQUENCE, "spki")
        .map_err(|_| SignatureError::BadKey)?;
    if !outer.is_empty() {
        return Err(SignatureError::BadKey);
    }
    let key_algorithm = info
        .expect(tag::SEQUENCE, "algorithm")
        .map_err(|_| SignatureError::BadKey)?;
    let bits = info
        .expect(tag::BIT_STRING, "key")
        .map_err(|_| SignatureError::BadKey)?;
    let key = match bits.contents.split_first() {
        Some((0, key)) if info.is_empty() => key,
        _ => return Err(SignatureError::BadKey),
    };
    let algorithm = ALGORITHMS
        .iter()
        .find(|a| {
            a.signature_alg_id().as_ref() == signature_algorithm
                && a.public_key_alg_id().as_ref() == key_algorithm.contents
        })
        .ok_or(SignatureError::UnsupportedAlgorithm)?;
    algorithm
        .verify_signature(key, message, signature)
        .map_err(|_| SignatureError::Invalid)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// An algorithm that counts its calls and accepts one exact (key, message, signature).
    #[derive(Debug)]
    struct Counting(std::sync::atomic::AtomicUsize);

    impl SignatureVerificationAlgorithm for Counting {
        fn verify_signature(&self, k: &[u8], m: &[u8], s: &[u8]) -> Result<(), InvalidSignature> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if (k, m, s) == (b"key".as_slice(), b"message".as_slice(), b"sig".as_slice()) {
                Ok(())
            } else {
                Err(InvalidSignature)
            }
        }
        fn public_key_alg_id(&self) -> AlgorithmIdentifier {
            rustls_pki_types::alg_id::ED25519
        }
        fn signature_alg_id(&self) -> AlgorithmIdentifier {
            rustls_pki_types::alg_id::ED25519
        }
    }

    static COUNTING: Counting = Counting(std::sync::atomic::AtomicUsize::new(0));

    fn calls() -> usize {
        COUNTING.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[test]
    fn a_verified_signature_is_answered_from_the_memo_and_a_failed_one_never_is() {
        let memo = SignatureMemo::new();
        let alg = Memoized {
            algorithm: &COUNTING,
            id: 1,
            memo: &memo,
        };
        let before = calls();
        assert!(alg.verify_signature(b"key", b"message", b"sig").is_ok());
        assert!(alg.verify_signature(b"key", b"message", b"sig").is_ok());
        assert_eq!(calls() - before, 1, "the second check came from the memo");
        assert_eq!((memo.len(), memo.hits()), (1, 1));
        // Failures are asked every time and never remembered.
        for _ in 0..2 {
            assert!(alg.verify_signature(b"key", b"other", b"sig").is_err());
        }
        assert_eq!(calls() - before, 3);
        assert_eq!(memo.len(), 1);
        // The same bytes under another algorithm id, or split differently, are other keys.
        let other = Memoized {
            algorithm: &COUNTING,
            id: 2,
            memo: &memo,
        };
        assert_ne!(
            alg.key(b"key", b"message", b"sig"),
            other.key(b"key", b"message", b"sig")
        );
        assert_ne!(
            alg.key(b"key", b"message", b"sig"),
            alg.key(b"keym", b"essage", b"sig")
        );
    }

    #[test]
    fn the_memo_forgets_the_oldest_beyond_its_capacity() {
        let memo = SignatureMemo::new();
        for i in 0..MEMO_CAPACITY + 10 {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i as u64).to_be_bytes());
            memo.remember(key);
        }
        assert_eq!(memo.len(), MEMO_CAPACITY);
        assert!(!memo.contains(&[0u8; 32]), "the first one went");
        let mut last = [0u8; 32];
        last[..8].copy_from_slice(&((MEMO_CAPACITY + 9) as u64).to_be_bytes());
        assert!(memo.contains(&last));
    }

    #[test]
    fn every_algorithm_is_wrapped_in_order() {
        let memo = SignatureMemo::new();
        let wrapped = memo.algorithms();
        for (w, a) in wrapped.iter().zip(ALGORITHMS) {
            assert_eq!(w.signature_alg_id(), a.signature_alg_id());
            assert_eq!(w.public_key_alg_id(), a.public_key_alg_id());
        }
        let ids: BTreeSet<u8> = wrapped.iter().map(|w| w.id).collect();
        assert_eq!(ids.len(), ALGORITHMS.len(), "ids are distinct");
    }
}
