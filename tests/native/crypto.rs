//! The RustCrypto signature backend for webpki, algorithm by algorithm.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use client_cert_auth::ALGORITHMS;
use rsa::pkcs1::EncodeRsaPublicKey;
use rustls_pki_types::{AlgorithmIdentifier, SignatureVerificationAlgorithm, alg_id};
use sha2::{Sha256, Sha384, Sha512};

fn algorithm(id: AlgorithmIdentifier) -> &'static dyn SignatureVerificationAlgorithm {
    *ALGORITHMS
        .iter()
        .find(|a| a.signature_alg_id() == id)
        .unwrap_or_else(|| panic!("no algorithm for {id:?}"))
}

#[test]
fn rsa_pkcs1_and_pss_signatures_verify_and_tampering_is_detected() {
    let key = testkit::pki::rsa_key();
    let public = key.to_public_key().to_pkcs1_der().unwrap();
    let msg = b"to be signed";
    let cases = [
        (
            alg_id::RSA_PKCS1_SHA256,
            key.pkcs1v15_sign::<Sha256>(msg).unwrap(),
        ),
        (
            alg_id::RSA_PKCS1_SHA384,
            key.pkcs1v15_sign::<Sha384>(msg).unwrap(),
        ),
        (
            alg_id::RSA_PKCS1_SHA512,
            key.pkcs1v15_sign::<Sha512>(msg).unwrap(),
        ),
        (alg_id::RSA_PSS_SHA256, key.pss_sign::<Sha256>(msg).unwrap()),
        (alg_id::RSA_PSS_SHA384, key.pss_sign::<Sha384>(msg).unwrap()),
        (alg_id::RSA_PSS_SHA512, key.pss_sign::<Sha512>(msg).unwrap()),
    ];
    for (id, sig) in cases {
        let alg = algorithm(id);
        assert_eq!(alg.public_key_alg_id(), alg_id::RSA_ENCRYPTION);
        assert!(
            alg.verify_signature(public.as_bytes(), msg, &sig).is_ok(),
            "{id:?}"
        );
        assert!(
            alg.verify_signature(public.as_bytes(), b"other", &sig)
                .is_err(),
            "{id:?} message"
        );
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert!(
            alg.verify_signature(public.as_bytes(), msg, &bad).is_err(),
            "{id:?} signature"
        );
    }
    // PKCS#1 v1.5 and PSS are not interchangeable.
    let pss = key.pss_sign::<Sha256>(msg).unwrap();
    assert!(
        algorithm(alg_id::RSA_PKCS1_SHA256)
            .verify_signature(public.as_bytes(), msg, &pss)
            .is_err()
    );
}

#[test]
fn rsa_keys_below_2048_bits_are_refused() {
    let small = rsa::PrivateKey::new_unchecked(&mut getrandom::SysRng, 1024).unwrap();
    let public = small.to_public_key().to_pkcs1_der().unwrap();
    let sig = small.pkcs1v15_sign::<Sha256>(b"m").unwrap();
    assert!(
        algorithm(alg_id::RSA_PKCS1_SHA256)
            .verify_signature(public.as_bytes(), b"m", &sig)
            .is_err()
    );
}

#[test]
fn the_backend_covers_webpki_defaults_for_ecdsa_ed25519_and_rsa() {
    let mut pairs: Vec<(AlgorithmIdentifier, AlgorithmIdentifier)> = ALGORITHMS
        .iter()
        .map(|a| (a.public_key_alg_id(), a.signature_alg_id()))
        .collect();
    pairs.dedup();
    for expected in [
        (alg_id::ECDSA_P256, alg_id::ECDSA_SHA256),
        (alg_id::ECDSA_P256, alg_id::ECDSA_SHA384),
        (alg_id::ECDSA_P384, alg_id::ECDSA_SHA256),
        (alg_id::ECDSA_P384, alg_id::ECDSA_SHA384),
        (alg_id::ED25519, alg_id::ED25519),
    ] {
        assert!(pairs.contains(&expected), "{expected:?}");
    }
    assert_eq!(pairs.len(), ALGORITHMS.len(), "no duplicate algorithms");
}
