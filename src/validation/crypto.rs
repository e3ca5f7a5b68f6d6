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
//!
//! **Shared between the VMs of an Envoy.** Every worker runs its own VM, so a new certificate
//! would have its signature checked once per worker. What the memo holds is a fact about bytes,
//! true at every time, whatever a CRL or responder says: so the keys a VM verifies are
//! published in Envoy's shared data ([`SharedSignatures`]), and a VM about to judge a
//! certificate afresh first takes what the others verified ([`SignatureMemo::import`]). Only
//! signatures are shared, never a verdict: the dates, the path's other checks, revocation and
//! the identities are judged by each VM under its own configuration. The key names both of
//! webpki's algorithm identifiers (not a position in [`ALGORITHMS`]), so a module whose list
//! differs never reads a fact under another algorithm.
//!
//! **Only from the same configuration.** The shared value is kept under a key named after the
//! configuration and carries an HMAC keyed by a digest of the configuration's bytes: a VM takes
//! only what a VM that knows the same configuration wrote. Other wasm code of the same `vm_id`
//! (which can read and write this plugin's shared data, but not its configuration), a VM of
//! another configuration, or a value left by an older encoding, is ignored, and replaced at the
//! next write.

use std::collections::VecDeque;
use std::sync::Mutex;

use ring::digest;
use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

use crate::text::digest_map::DigestMap;

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
    sharing: Option<SharedSignatures>,
}

#[derive(Debug, Default)]
struct MemoEntries {
    known: DigestMap<()>,
    order: VecDeque<[u8; 32]>,
    hits: u64,
    /// Signatures actually verified (not answered by the memo).
    checks: u64,
    /// Keys verified here and not yet published to the other VMs (at most [`MEMO_CAPACITY`]).
    fresh: Vec<[u8; 32]>,
    /// The last shared value this VM knows to be its configuration's (verified, or written
    /// here): the same bytes again need no second HMAC check.
    verified: Vec<u8>,
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

    /// How many signatures this memo's algorithms actually verified (the memo did not know).
    pub fn checks(&self) -> u64 {
        self.inner.lock().map_or(0, |m| m.checks)
    }

    /// Where this memo's VMs share their signatures: `None` until [`SignatureMemo::share_as`]
    /// (a configuration read from bytes) and then never shared.
    pub fn sharing(&self) -> Option<&SharedSignatures> {
        self.sharing.as_ref()
    }

    /// Shares this memo's signatures with the VMs of the same configuration.
    pub fn share_as(&mut self, sharing: SharedSignatures) {
        self.sharing = Some(sharing);
    }

    /// Takes the keys verified by other VMs from the shared value `shared` (as
    /// [`SharedSignatures::merge`] writes it for this memo's configuration; anything else is
    /// ignored). Returns how many were new here. They are not published again.
    pub fn import(&self, shared: &[u8]) -> usize {
        let Some(keys) = self.authentic_keys(shared) else {
            return 0;
        };
        let Ok(mut m) = self.inner.lock() else {
            return 0;
        };
        let mut new = 0;
        for key in keys {
            if m.known.insert(key, ()).is_none() {
                m.order.push_back(key);
                new += 1;
            }
        }
        m.forget_oldest();
        new
    }

    /// The keys of `value` if it is this configuration's shared value: checked by its HMAC,
    /// once per distinct value.
    fn authentic_keys(&self, value: &[u8]) -> Option<Vec<[u8; 32]>> {
        let sharing = self.sharing.as_ref()?;
        let known = self.inner.lock().is_ok_and(|m| m.verified == value);
        let keys: Vec<[u8; 32]> = if known {
            sharing.unchecked_keys(value)?.collect()
        } else {
            let keys = sharing.keys(value)?.collect();
            if let Ok(mut m) = self.inner.lock() {
                m.verified = value.to_vec();
            }
            keys
        };
        Some(keys)
    }

    /// The shared value to write: `fresh` added to `current` (what shared data holds now;
    /// `None` when absent, a value not this configuration's starts afresh). `None` when nothing
    /// is new.
    pub fn merged(&self, current: Option<&[u8]>, fresh: &[[u8; 32]]) -> Option<Vec<u8>> {
        let keys = current
            .and_then(|c| self.authentic_keys(c))
            .unwrap_or_default();
        self.encode_merged(keys, fresh)
    }

    /// [`SignatureMemo::merged`] into the last value this VM read or wrote, without reading
    /// it again (written with the token of that read; a conflict falls back to `merged`).
    pub fn merged_into_known(&self, fresh: &[[u8; 32]]) -> Option<Vec<u8>> {
        let sharing = self.sharing.as_ref()?;
        let keys = self
            .inner
            .lock()
            .ok()
            .and_then(|m| sharing.unchecked_keys(&m.verified).map(Iterator::collect))
            .unwrap_or_default();
        self.encode_merged(keys, fresh)
    }

    fn encode_merged(&self, keys: Vec<[u8; 32]>, fresh: &[[u8; 32]]) -> Option<Vec<u8>> {
        let sharing = self.sharing.as_ref()?;
        let value = sharing.encode(merge_keys(keys, fresh)?);
        if let Ok(mut m) = self.inner.lock() {
            m.verified.clone_from(&value);
        }
        Some(value)
    }

    /// The keys verified here since the last call, to publish to the other VMs.
    pub fn take_fresh(&self) -> Vec<[u8; 32]> {
        self.inner
            .lock()
            .map_or_else(|_| Vec::new(), |mut m| std::mem::take(&mut m.fresh))
    }

    /// [`ALGORITHMS`], each answering from this memo first.
    pub fn algorithms(&self) -> [Memoized<'_>; ALGORITHMS.len()] {
        ALGORITHMS.map(
            |algorithm: &'static dyn SignatureVerificationAlgorithm| Memoized {
                algorithm,
                memo: self,
            },
        )
    }

    fn contains(&self, key: &[u8; 32]) -> bool {
        let Ok(mut m) = self.inner.lock() else {
            return false;
        };
        let found = m.known.contains_key(key);
        if found {
            m.hits += 1;
        }
        found
    }

    /// A signature verified here: remembered, and to be published.
    fn remember(&self, key: [u8; 32]) {
        let Ok(mut m) = self.inner.lock() else {
            return;
        };
        m.checks += 1;
        if m.known.insert(key, ()).is_none() {
            m.order.push_back(key);
            m.fresh.push(key);
            if m.fresh.len() > MEMO_CAPACITY {
                m.fresh.remove(0);
            }
        }
        m.forget_oldest();
    }
}

impl MemoEntries {
    fn forget_oldest(&mut self) {
        while self.order.len() > MEMO_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.known.remove(&old);
            }
        }
    }
}

/// Where the VMs of one configuration share the signatures they verified, and the proof that
/// a shared value was written by one of them.
#[derive(Clone)]
pub struct SharedSignatures {
    key: String,
    mac: ring::hmac::Key,
}

impl std::fmt::Debug for SharedSignatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSignatures")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// What a shared value starts with; then its HMAC (32 bytes), then keys of 32 bytes, oldest
/// first. The version is in it: another encoding is another value.
const SHARED_MAGIC: &[u8; 8] = b"ccasig2\0";

/// How many shared-data keys the configurations of one VM id spread over.
pub const SHARED_SLOTS: usize = 8;
const MAC_LEN: usize = 32;

impl SharedSignatures {
    /// The sharing of a configuration read from `configuration` (its exact bytes) by this
    /// build of the module: the HMAC key is a digest of both (a later version that checks more
    /// never takes what an older one wrote), the shared-data key one of [`SHARED_SLOTS`]
    /// picked by a digest of that. A bounded set of keys, because shared data has no delete and
    /// every configuration pushed would otherwise leave its value behind; two live
    /// configurations in one slot only take turns (each ignores the other's value).
    pub fn of_configuration(configuration: &[u8]) -> SharedSignatures {
        let identity = crate::cert::sha256_of(&[
            b"client-cert-auth configuration v1\0",
            env!("CARGO_PKG_VERSION").as_bytes(),
            b"\0",
            configuration,
        ]);
        let name = crate::cert::sha256_of(&[b"client-cert-auth shared signatures v1\0", &identity]);
        let slot = name.first().map_or(0, |b| usize::from(*b) % SHARED_SLOTS);
        SharedSignatures {
            key: format!("client-cert-auth.signatures.v2.{slot}"),
            mac: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &identity),
        }
    }

    /// The shared-data key.
    pub fn key(&self) -> &str {
        &self.key
    }

    fn tag(&self, keys: &[u8]) -> ring::hmac::Tag {
        let mut ctx = ring::hmac::Context::with_key(&self.mac);
        ctx.update(SHARED_MAGIC);
        ctx.update(keys);
        ctx.sign()
    }

    /// The tag and the keys of a value in this encoding (whole keys, at most
    /// [`MEMO_CAPACITY`]), its HMAC not checked.
    fn parts(value: &[u8]) -> Option<(&[u8], &[u8])> {
        let rest = value.strip_prefix(SHARED_MAGIC.as_slice())?;
        let (tag, keys) = rest.split_at_checked(MAC_LEN)?;
        (keys.len() % 32 == 0 && keys.len() / 32 <= MEMO_CAPACITY).then_some((tag, keys))
    }

    /// The keys of a value already known to be authentic.
    fn unchecked_keys<'v>(&self, value: &'v [u8]) -> Option<impl Iterator<Item = [u8; 32]> + 'v> {
        let (_, keys) = Self::parts(value)?;
        Some(keys.chunks_exact(32).filter_map(|k| k.try_into().ok()))
    }

    /// The keys of a shared value, `None` unless it is exactly this encoding, whole keys, and
    /// its HMAC is this configuration's.
    fn keys<'v>(&self, value: &'v [u8]) -> Option<impl Iterator<Item = [u8; 32]> + 'v> {
        let (tag, keys) = Self::parts(value)?;
        ring::hmac::verify(&self.mac, &[SHARED_MAGIC.as_slice(), keys].concat(), tag).ok()?;
        Some(keys.chunks_exact(32).filter_map(|k| k.try_into().ok()))
    }

    /// The shared value with `fresh` added to `current` (what shared data holds, if anything):
    /// keys already there are not repeated, the newest [`MEMO_CAPACITY`] are kept. `None` when
    /// nothing is new (no write needed). A `current` that is not this configuration's value
    /// starts afresh.
    pub fn merge(&self, current: Option<&[u8]>, fresh: &[[u8; 32]]) -> Option<Vec<u8>> {
        let keys = current
            .and_then(|c| self.keys(c))
            .map(Iterator::collect)
            .unwrap_or_default();
        Some(self.encode(merge_keys(keys, fresh)?))
    }

    /// The value holding `keys` (the newest [`MEMO_CAPACITY`] of them), with its HMAC.
    fn encode(&self, keys: Vec<[u8; 32]>) -> Vec<u8> {
        let kept = keys
            .get(keys.len().saturating_sub(MEMO_CAPACITY)..)
            .unwrap_or_default();
        let mut body = Vec::with_capacity(32 * kept.len());
        for key in kept {
            body.extend_from_slice(key);
        }
        let tag = self.tag(&body);
        let mut value = Vec::with_capacity(SHARED_MAGIC.len() + MAC_LEN + body.len());
        value.extend_from_slice(SHARED_MAGIC);
        value.extend_from_slice(tag.as_ref());
        value.extend_from_slice(&body);
        value
    }
}

/// `keys` with those of `fresh` not already there appended, in order; `None` when none is new.
fn merge_keys(mut keys: Vec<[u8; 32]>, fresh: &[[u8; 32]]) -> Option<Vec<[u8; 32]>> {
    let before = keys.len();
    // Inserted one by one: collecting a set sorts, and a sort of 32-byte keys would add
    // 20 KB of code to the module.
    let mut known = DigestMap::new();
    for key in &keys {
        known.insert(*key, ());
    }
    for key in fresh {
        if known.insert(*key, ()).is_none() {
            keys.push(*key);
        }
    }
    (keys.len() > before).then_some(keys)
}

/// One of [`ALGORITHMS`] behind the memo.
#[derive(Debug)]
pub struct Memoized<'m> {
    algorithm: &'static dyn SignatureVerificationAlgorithm,
    memo: &'m SignatureMemo,
}

impl Memoized<'_> {
    /// The memo's key: the same bytes under another algorithm (its signature or its key
    /// algorithm identifier) are another check.
    fn key(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> [u8; 32] {
        let mut ctx = digest::Context::new(&digest::SHA256);
        let signature_alg = self.algorithm.signature_alg_id();
        let key_alg = self.algorithm.public_key_alg_id();
        let parts = [
            signature_alg.as_ref(),
            key_alg.as_ref(),
            public_key,
            message,
            signature,
        ];
        // Lengths first, so no two splits of the same bytes give the same key.
        for part in parts {
            ctx.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
        }
        for part in parts {
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
    use std::collections::BTreeSet;

    /// An algorithm that counts its calls and accepts one exact (key, message, signature).
    #[derive(Debug)]
    struct Counting(std::sync::atomic::AtomicUsize, AlgorithmIdentifier);

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
            self.1
        }
    }

    // One counting algorithm per test (tests run in parallel).
    static COUNTING: Counting = Counting(
        std::sync::atomic::AtomicUsize::new(0),
        rustls_pki_types::alg_id::ED25519,
    );
    static SHARED: Counting = Counting(
        std::sync::atomic::AtomicUsize::new(0),
        rustls_pki_types::alg_id::ED25519,
    );
    static OTHER: Counting = Counting(
        std::sync::atomic::AtomicUsize::new(0),
        rustls_pki_types::alg_id::ECDSA_SHA256,
    );

    fn calls(of: &Counting) -> usize {
        of.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn key(i: usize) -> [u8; 32] {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&(i as u64).to_be_bytes());
        key
    }

    #[test]
    fn a_verified_signature_is_answered_from_the_memo_and_a_failed_one_never_is() {
        let memo = SignatureMemo::new();
        let alg = Memoized {
            algorithm: &COUNTING,
            memo: &memo,
        };
        let before = calls(&COUNTING);
        assert!(alg.verify_signature(b"key", b"message", b"sig").is_ok());
        assert!(alg.verify_signature(b"key", b"message", b"sig").is_ok());
        assert_eq!(
            calls(&COUNTING) - before,
            1,
            "the second check came from the memo"
        );
        assert_eq!((memo.len(), memo.hits(), memo.checks()), (1, 1, 1));
        // Failures are asked every time and never remembered.
        for _ in 0..2 {
            assert!(alg.verify_signature(b"key", b"other", b"sig").is_err());
        }
        assert_eq!(calls(&COUNTING) - before, 3);
        assert_eq!(memo.len(), 1);
        // The same bytes under another algorithm identifier, or split differently, are other
        // keys.
        let other = Memoized {
            algorithm: &OTHER,
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
            memo.remember(key(i));
        }
        assert_eq!(memo.len(), MEMO_CAPACITY);
        assert!(!memo.contains(&key(0)), "the first one went");
        assert!(memo.contains(&key(MEMO_CAPACITY + 9)));
        assert_eq!(
            memo.take_fresh().len(),
            MEMO_CAPACITY,
            "fresh keys are bounded"
        );
    }

    #[test]
    fn a_signature_verified_by_one_vm_is_not_checked_again_by_another() {
        let (a, b) = (SignatureMemo::new(), SignatureMemo::new());
        let before = calls(&SHARED);
        let on_a = Memoized {
            algorithm: &SHARED,
            memo: &a,
        };
        assert!(on_a.verify_signature(b"key", b"message", b"sig").is_ok());
        let fresh = a.take_fresh();
        assert_eq!(fresh.len(), 1);
        assert!(a.take_fresh().is_empty(), "published once");
        let sharing = SharedSignatures::of_configuration(b"{}");
        let shared = sharing.merge(None, &fresh).unwrap();
        assert_eq!(
            b.import(&shared),
            0,
            "a memo that does not share takes nothing"
        );
        let mut b = b;
        b.share_as(sharing.clone());
        assert_eq!(b.import(&shared), 1);
        assert_eq!(b.import(&shared), 0, "already known");
        assert!(
            b.take_fresh().is_empty(),
            "imported keys are not published again"
        );
        let on_b = Memoized {
            algorithm: &SHARED,
            memo: &b,
        };
        assert!(on_b.verify_signature(b"key", b"message", b"sig").is_ok());
        assert_eq!(calls(&SHARED) - before, 1, "B took A's check");
        assert_eq!(b.checks(), 0);
        // A fact under one algorithm is no fact under another.
        let other_on_b = Memoized {
            algorithm: &OTHER,
            memo: &b,
        };
        assert!(
            other_on_b
                .verify_signature(b"key", b"message", b"sig")
                .is_ok()
        );
        assert_eq!(b.checks(), 1, "checked: another algorithm's key");
    }

    #[test]
    fn the_shared_value_merges_without_repeats_keeps_the_newest_and_ignores_what_is_not_its_encoding()
     {
        let sharing = SharedSignatures::of_configuration(b"{\"clientCertMode\": \"Required\"}");
        let first = sharing.merge(None, &[key(1), key(2), key(1)]).unwrap();
        assert_eq!(first.len(), 8 + 32 + 64, "a key sent twice is written once");
        assert_eq!(sharing.merge(Some(&first), &[key(2)]), None, "nothing new");
        // Two VMs that verified the same certificate: the second adds nothing.
        let both = sharing.merge(Some(&first), &[key(2), key(3)]).unwrap();
        assert_eq!(both.len(), 8 + 32 + 96);
        // Bounded: the oldest go first.
        let many: Vec<[u8; 32]> = (10..10 + MEMO_CAPACITY).map(key).collect();
        let full = sharing.merge(Some(&both), &many).unwrap();
        assert_eq!(full.len(), 8 + 32 + 32 * MEMO_CAPACITY);
        let mut memo = SignatureMemo::new();
        memo.share_as(sharing.clone());
        assert_eq!(memo.import(&full), MEMO_CAPACITY);
        assert!(!memo.contains(&key(1)) && memo.contains(&key(10 + MEMO_CAPACITY - 1)));
        // Forged or foreign values: a key added or a byte changed without the HMAC, a
        // partial key, too many keys, another configuration's value, another encoding.
        let mut added = first.clone();
        added.extend_from_slice(&key(99));
        let mut flipped = first.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let mut partial = first.clone();
        partial.pop();
        let mut too_many = full.clone();
        too_many.extend_from_slice(&key(99_999));
        let other = SharedSignatures::of_configuration(b"{}")
            .merge(None, &[key(5)])
            .unwrap();
        let old_encoding = [b"ccasig1\0".as_slice(), &[0u8; 32]].concat();
        for bad in [
            added,
            flipped,
            partial,
            too_many,
            other,
            old_encoding,
            Vec::new(),
        ] {
            let mut memo = SignatureMemo::new();
            memo.share_as(sharing.clone());
            assert_eq!(memo.import(&bad), 0, "{bad:?}");
            // ... and replaced by the next write.
            let written = sharing.merge(Some(&bad), &[key(7)]).unwrap();
            assert_eq!(written, sharing.merge(None, &[key(7)]).unwrap());
            assert_eq!(sharing.merge(Some(&bad), &[]), None);
        }
        // Configurations spread over a bounded set of keys (shared data has no delete).
        let keys: BTreeSet<String> = (0..200)
            .map(|i| {
                SharedSignatures::of_configuration(format!("{{\"cacheSize\": {i}}}").as_bytes())
                    .key()
                    .to_string()
            })
            .collect();
        assert_eq!(keys.len(), SHARED_SLOTS, "{keys:?}");
        assert!(
            keys.iter()
                .all(|k| k.starts_with("client-cert-auth.signatures.v2."))
        );
    }

    /// The merge written without reading again builds on the last value this VM took or
    /// wrote, and only on a value that was this configuration's.
    #[test]
    fn the_merge_into_the_known_value_keeps_what_was_taken_and_never_a_forgery() {
        let sharing = SharedSignatures::of_configuration(b"{}");
        let mut memo = SignatureMemo::new();
        memo.share_as(sharing.clone());
        let genuine = sharing.merge(None, &[key(1), key(2)]).unwrap();
        assert_eq!(memo.import(&genuine), 2);
        assert_eq!(
            memo.merged_into_known(&[key(3)]),
            sharing.merge(Some(&genuine), &[key(3)])
        );
        // Its own write is the known value now; the same bytes import as authentic.
        let written = memo.merged_into_known(&[key(4)]).unwrap();
        assert_eq!(
            written,
            sharing
                .merge(None, &[key(1), key(2), key(3), key(4)])
                .unwrap()
        );
        assert_eq!(
            SignatureMemo::import(&memo, &written),
            2,
            "keys 3 and 4 were not known"
        );
        // A forgery (the genuine value with a key appended) is neither taken nor built on.
        let mut forged = written.clone();
        forged.extend_from_slice(&key(99));
        assert_eq!(memo.import(&forged), 0);
        let next = memo.merged_into_known(&[key(5)]).unwrap();
        assert!(
            !next.windows(32).any(|w| w == key(99)),
            "the forged key was kept"
        );
        assert_eq!(
            memo.merged(Some(&forged), &[key(6)]),
            sharing.merge(None, &[key(6)])
        );
    }

    #[test]
    fn every_algorithm_is_wrapped_in_order_with_distinct_keys() {
        let memo = SignatureMemo::new();
        let wrapped = memo.algorithms();
        for (w, a) in wrapped.iter().zip(ALGORITHMS) {
            assert_eq!(w.signature_alg_id(), a.signature_alg_id());
            assert_eq!(w.public_key_alg_id(), a.public_key_alg_id());
        }
        let keys: BTreeSet<[u8; 32]> = wrapped.iter().map(|w| w.key(b"k", b"m", b"s")).collect();
        assert_eq!(
            keys.len(),
            ALGORITHMS.len(),
            "keys are distinct per algorithm"
        );
    }
}
