//! What online revocation reads from the network before any signature vouches for it: OCSP
//! responses (parsed to find the signer, the answer, the nonce), CRLs (their outer structure,
//! up to the signature check), the URLs of the configuration, a certificate's CRL distribution
//! points, and what other VMs wrote in shared data (a source's CRL set, the revoked list).
//! Nothing may panic, an answer that verifies under a made-up key is impossible, and what
//! decodes encodes back to the same bytes.
#![no_main]

use client_cert_auth::{revocation::CompactCrl, revocation::CrlSigner, revocation::distribution_point_names};
use client_cert_auth::{revocation::ocsp::CertId, revocation::ocsp::Freshness, revocation::ocsp::Issuer, revocation::ocsp::verify_response};
use client_cert_auth::{revocation::decode_revoked, revocation::encode_revoked};
use client_cert_auth::{revocation::HttpUrl, revocation::decode_set, revocation::encode_set};
use libfuzzer_sys::fuzz_target;

/// `CN=Fuzz CA`.
const SUBJECT: &[u8] = &[
    0x30, 0x12, 0x31, 0x10, 0x30, 0x0e, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x07, b'F', b'u',
    b'z', b'z', b' ', b'C', b'A',
];

/// A P-256 SubjectPublicKeyInfo whose point is not on the curve: nothing verifies under it.
fn spki() -> Vec<u8> {
    let mut spki = vec![
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
    ];
    spki.extend_from_slice(&[0x5a; 64]);
    spki
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let spki = spki();
    match pick % 6 {
        0 => {
            let id = CertId::new(SUBJECT, &spki, &[0x01]).expect("a usable CertID");
            let issuer = Issuer {
                subject: SUBJECT,
                spki: &spki,
            };
            let fresh = Freshness {
                now: 1_800_000_000,
                skew: 5,
                max_age: 300,
                max_answer_age: 3600,
                require_nonce: pick & 0x80 != 0,
            };
            let answer = verify_response(rest, &id, &issuer, Some(b"0123456789abcdef"), &fresh);
            assert!(answer.is_err(), "nothing verifies under a key off the curve");
        }
        1 => {
            let signer = CrlSigner {
                subject: SUBJECT,
                spki: &spki,
                id: [7; 32],
                can_sign_crl: true,
            };
            assert!(CompactCrl::parse(rest, &[signer]).is_err());
        }
        3 => {
            if let Some(entries) = decode_set(rest) {
                assert_eq!(encode_set(&entries), rest, "a set re-encodes as read");
            }
        }
        4 => {
            let entries = decode_revoked(rest);
            assert_eq!(entries.len(), rest.len() / 40);
            assert_eq!(encode_revoked(&entries), rest[..rest.len() / 40 * 40]);
        }
        5 => {
            for name in distribution_point_names(rest) {
                assert!(!name.is_empty());
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(url) = HttpUrl::parse(text)
            {
                assert!(url.path.starts_with('/'));
                assert!(!url.authority.is_empty() && !url.authority.contains(['/', '@', '#']));
            }
        }
    }
});
