//! Signature verification for `rustls-webpki`, implemented with the pure-Rust RustCrypto crates.
//!
//! webpki does path building, name-independent client-auth checks and CRLs, but leaves the
//! signature arithmetic to a backend. Its usual backends (`ring`, `aws-lc-rs`) compile C and
//! assembly, which needs a C compiler that targets wasm32; the RustCrypto crates (`rsa`, `p256`,
//! `p384`, `ed25519-dalek`, `sha2`) are plain Rust and build for `wasm32-wasip1` from crates.io
//! on a fresh machine with nothing else installed. Only verification is used, with public keys
//! and public data: constant-time concerns of the private-key operations do not apply.
//!
//! The set mirrors webpki's own defaults: ECDSA P-256/P-384 with SHA-256/SHA-384, Ed25519,
//! RSA PKCS#1 v1.5 with SHA-256/384/512 and RSA-PSS with SHA-256/384/512 (salt length equal to
//! the hash length, as webpki's algorithm identifiers require), RSA moduli of 2048 to 8192 bits.

use ed25519_dalek::Verifier;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::traits::PublicKeyParts;
use rustls_pki_types::{
    AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// Every algorithm the trust check accepts.
pub static ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    &Ecdsa(Curve::P256, Hash::Sha256),
    &Ecdsa(Curve::P256, Hash::Sha384),
    &Ecdsa(Curve::P384, Hash::Sha256),
    &Ecdsa(Curve::P384, Hash::Sha384),
    &Ed25519,
    &Rsa(Padding::Pkcs1, Hash::Sha256),
    &Rsa(Padding::Pkcs1, Hash::Sha384),
    &Rsa(Padding::Pkcs1, Hash::Sha512),
    &Rsa(Padding::Pss, Hash::Sha256),
    &Rsa(Padding::Pss, Hash::Sha384),
    &Rsa(Padding::Pss, Hash::Sha512),
];

#[derive(Debug, Clone, Copy)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(message).to_vec(),
            Hash::Sha384 => Sha384::digest(message).to_vec(),
            Hash::Sha512 => Sha512::digest(message).to_vec(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Curve {
    P256,
    P384,
}

#[derive(Debug)]
struct Ecdsa(Curve, Hash);

impl SignatureVerificationAlgorithm for Ecdsa {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let digest = self.1.digest(message);
        // The two curves' crates have the same shape but no common trait to name it by.
        macro_rules! verify {
            ($curve:ident) => {{
                let key = $curve::ecdsa::VerifyingKey::from_sec1_bytes(public_key)
                    .map_err(|_| InvalidSignature)?;
                let sig =
                    $curve::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
                key.verify_prehash(&digest, &sig)
                    .map_err(|_| InvalidSignature)
            }};
        }
        match self.0 {
            Curve::P256 => verify!(p256),
            Curve::P384 => verify!(p384),
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        match self.0 {
            Curve::P256 => alg_id::ECDSA_P256,
            Curve::P384 => alg_id::ECDSA_P384,
        }
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        match self.1 {
            Hash::Sha256 => alg_id::ECDSA_SHA256,
            Hash::Sha384 => alg_id::ECDSA_SHA384,
            Hash::Sha512 => alg_id::ECDSA_SHA512,
        }
    }
}

#[derive(Debug)]
struct Ed25519;

impl SignatureVerificationAlgorithm for Ed25519 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key: &[u8; 32] = public_key.try_into().map_err(|_| InvalidSignature)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(key).map_err(|_| InvalidSignature)?;
        let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &sig).map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ED25519
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ED25519
    }
}

#[derive(Debug, Clone, Copy)]
enum Padding {
    Pkcs1,
    Pss,
}

#[derive(Debug)]
struct Rsa(Padding, Hash);

const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

impl SignatureVerificationAlgorithm for Rsa {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key = rsa::PublicKey::from_pkcs1_der(public_key).map_err(|_| InvalidSignature)?;
        let bits = key.size() * 8;
        if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
            return Err(InvalidSignature);
        }
        let result = match (self.0, self.1) {
            (Padding::Pkcs1, Hash::Sha256) => key.pkcs1v15_verify::<Sha256>(message, signature),
            (Padding::Pkcs1, Hash::Sha384) => key.pkcs1v15_verify::<Sha384>(message, signature),
            (Padding::Pkcs1, Hash::Sha512) => key.pkcs1v15_verify::<Sha512>(message, signature),
            (Padding::Pss, Hash::Sha256) => key.pss_verify::<Sha256>(message, signature),
            (Padding::Pss, Hash::Sha384) => key.pss_verify::<Sha384>(message, signature),
            (Padding::Pss, Hash::Sha512) => key.pss_verify::<Sha512>(message, signature),
        };
        result.map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        match (self.0, self.1) {
            (Padding::Pkcs1, Hash::Sha256) => alg_id::RSA_PKCS1_SHA256,
            (Padding::Pkcs1, Hash::Sha384) => alg_id::RSA_PKCS1_SHA384,
            (Padding::Pkcs1, Hash::Sha512) => alg_id::RSA_PKCS1_SHA512,
            (Padding::Pss, Hash::Sha256) => alg_id::RSA_PSS_SHA256,
            (Padding::Pss, Hash::Sha384) => alg_id::RSA_PSS_SHA384,
            (Padding::Pss, Hash::Sha512) => alg_id::RSA_PSS_SHA512,
        }
    }
}
