//! The compact store of fetched CRLs (`validation::revocation::crl_store`): structure, signature, CRL and
//! entry extensions, the sorted serials, malformed input, memory for 100,000 entries, and a
//! CRL made by the real OpenSSL (`openssl ca -gencrl`; needs `openssl` on PATH, never skipped).
//!
//! Most CRLs here are built by hand (the TBSCertList DER written field by field, then signed
//! with the CA's rcgen key), so that each rule can be broken on its own while the signature
//! still verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::ErrorKind;
use std::process::Command;
use std::time::Instant;

use client_cert_auth::{pem_to_der, sha256};
use client_cert_auth::{
    revocation::CompactCrl, revocation::CrlError, revocation::CrlOrder, revocation::CrlSigner,
    revocation::Scope, revocation::distribution_point_names, revocation::newer,
};
use client_cert_auth::{
    revocation::MAX_SLOTS_PER_CA, revocation::MAX_SLOTS_PER_SOURCE, revocation::SetEntry,
    revocation::SetRefusal, revocation::decode_set, revocation::encode_set, revocation::merge_set,
};
use testkit::der::{extension, seq, tlv};
use testkit::envoy::TempDir;
use testkit::pki::{Alg, Ca};
use time::{Duration, OffsetDateTime};

// ---------------------------------------------------------------------------------------------
// DER by hand (`testkit::der`, independent of the crate's encoder).

fn integer(contents: &[u8]) -> Vec<u8> {
    tlv(0x02, contents)
}

fn utc(text: &str) -> Vec<u8> {
    tlv(0x17, text.as_bytes())
}

/// ecdsa-with-SHA256, the algorithm of the test CAs' P-256 keys.
const ECDSA_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
/// ecdsa-with-SHA384: also valid for a P-256 key, so only the equality rule can refuse it.
const ECDSA_SHA384: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
];

const CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
const REASON_CODE: &[u8] = &[0x55, 0x1d, 0x15];
const INVALIDITY_DATE: &[u8] = &[0x55, 0x1d, 0x18];
const DELTA_CRL_INDICATOR: &[u8] = &[0x55, 0x1d, 0x1b];
const ISSUING_DISTRIBUTION_POINT: &[u8] = &[0x55, 0x1d, 0x1c];
const CERTIFICATE_ISSUER: &[u8] = &[0x55, 0x1d, 0x1d];
const AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1d, 0x23];
/// 1.3.6.1.4.1.99999.1, an extension nobody understands.
const PRIVATE: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d, 0x1f, 0x01];

fn reason(code: u8) -> Vec<u8> {
    extension(REASON_CODE, false, &tlv(0x0a, &[code]))
}

/// One revokedCertificates entry.
fn entry(serial: &[u8], extensions: &[Vec<u8>]) -> Vec<u8> {
    let list = if extensions.is_empty() {
        vec![]
    } else {
        seq(&extensions.iter().map(Vec::as_slice).collect::<Vec<_>>())
    };
    seq(&[&integer(serial), &utc("260101000000Z"), &list])
}

/// A TBSCertList, each field replaceable.
#[derive(Clone)]
struct Tbs {
    version: Option<Vec<u8>>,
    algorithm: Vec<u8>,
    issuer: Vec<u8>,
    this_update: Vec<u8>,
    next_update: Option<Vec<u8>>,
    entries: Option<Vec<Vec<u8>>>,
    extensions: Option<Vec<Vec<u8>>>,
    /// Appended inside the TBSCertList SEQUENCE.
    trailing: Vec<u8>,
}

impl Tbs {
    /// A v2 CRL of `ca` listing serials 1 and 2, with cRLNumber 7.
    fn of(ca: &TestCa) -> Tbs {
        Tbs {
            version: Some(integer(&[1])),
            algorithm: ECDSA_SHA256.to_vec(),
            issuer: ca.subject.clone(),
            this_update: utc("260101000000Z"),
            next_update: Some(utc("260108000000Z")),
            entries: Some(vec![entry(&[1], &[]), entry(&[2], &[])]),
            extensions: Some(vec![extension(CRL_NUMBER, false, &integer(&[7]))]),
            trailing: vec![],
        }
    }

    fn der(&self) -> Vec<u8> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        parts.extend(self.version.clone());
        parts.push(self.algorithm.clone());
        parts.push(self.issuer.clone());
        parts.push(self.this_update.clone());
        parts.extend(self.next_update.clone());
        if let Some(entries) = &self.entries {
            parts.push(tlv(0x30, &entries.concat()));
        }
        if let Some(extensions) = &self.extensions {
            parts.push(tlv(0xa0, &tlv(0x30, &extensions.concat())));
        }
        parts.push(self.trailing.clone());
        tlv(0x30, &parts.concat())
    }

    /// The CertificateList, signed by `ca` with the outer algorithm ecdsa-with-SHA256.
    fn signed(&self, ca: &TestCa) -> Vec<u8> {
        sign(ca, &self.der(), ECDSA_SHA256, 0)
    }
}

fn sign(ca: &TestCa, tbs: &[u8], algorithm: &[u8], unused_bits: u8) -> Vec<u8> {
    let signature = rcgen::SigningKey::sign(ca.ca.key(), tbs).unwrap();
    let mut bits = vec![unused_bits];
    bits.extend_from_slice(&signature);
    seq(&[tbs, algorithm, &tlv(0x03, &bits)])
}

// ---------------------------------------------------------------------------------------------
// CAs as signers.

struct TestCa {
    ca: Ca,
    der: Vec<u8>,
    subject: Vec<u8>,
    spki: Vec<u8>,
}

impl TestCa {
    fn new(common_name: &str) -> TestCa {
        TestCa::from(Ca::new(common_name))
    }

    fn from(ca: Ca) -> TestCa {
        let der = ca.der();
        let (subject, spki) = subject_and_spki(&der);
        TestCa {
            ca,
            der,
            subject,
            spki,
        }
    }

    fn signer(&self) -> CrlSigner<'_> {
        CrlSigner {
            subject: &self.subject,
            spki: &self.spki,
            id: sha256(&self.der),
            can_sign_crl: true,
        }
    }
}

fn subject_and_spki(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    (
        cert.subject().as_raw().to_vec(),
        cert.public_key().raw.to_vec(),
    )
}

fn parse(der: &[u8], ca: &TestCa) -> Result<CompactCrl, CrlError> {
    CompactCrl::parse(der, &[ca.signer()])
}

// ---------------------------------------------------------------------------------------------
// CRLs made by rcgen, every key algorithm.

#[test]
fn rcgen_crls_of_every_algorithm_parse_verify_and_list_their_serials() {
    let this_update = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let next_update = this_update + Duration::days(7);
    for alg in Alg::ALL {
        let ca = TestCa::from(Ca::root(&format!("CRL CA {alg:?}"), alg));
        let pem = ca
            .ca
            .crl_between(&[3, 0x80, 0x1001], this_update, next_update, 42);
        let der = pem_to_der(pem.as_bytes(), "X509 CRL").unwrap();
        for input in [pem.as_bytes(), der.as_slice()] {
            let crl = parse(input, &ca).unwrap_or_else(|e| panic!("{alg:?}: {e}"));
            assert_eq!(crl.issuer(), ca.subject.as_slice());
            assert_eq!(crl.signer(), sha256(&ca.der));
            assert_eq!(crl.this_update(), 1_800_000_000);
            assert_eq!(crl.next_update(), Some(1_800_000_000 + 7 * 86_400));
            assert_eq!(crl.number(), Some(&[42u8][..]));
            assert_eq!((crl.len(), crl.is_empty()), (3, false));
            assert!(crl.is_revoked(&[3]));
            assert!(crl.is_revoked(&[0x10, 0x01]));
            // 128 is `00 80` in DER; `80` alone is -128, another integer.
            assert!(crl.is_revoked(&[0x00, 0x80]));
            assert!(!crl.is_revoked(&[0x80]));
            // A redundant leading zero is the same integer.
            assert!(crl.is_revoked(&[0x00, 0x00, 0x03]));
            assert!(!crl.is_revoked(&[4]));
            assert!(!crl.is_revoked(&[]));
        }
    }
}

#[test]
fn an_empty_crl_without_next_update_or_version_or_extensions_parses() {
    let ca = TestCa::new("Empty CRL CA");
    let tbs = Tbs {
        version: None,
        next_update: None,
        entries: None,
        extensions: None,
        ..Tbs::of(&ca)
    };
    let crl = parse(&tbs.signed(&ca), &ca).unwrap();
    assert_eq!((crl.len(), crl.is_empty()), (0, true));
    assert_eq!((crl.next_update(), crl.number()), (None, None));
    assert!(!crl.is_revoked(&[1]));
    assert!(crl.memory_bytes() >= ca.subject.len());
}

// ---------------------------------------------------------------------------------------------
// Rule 1: structure.

#[test]
fn the_structure_is_checked_field_by_field_and_nothing_may_trail() {
    let ca = TestCa::new("Structure CA");
    let base = Tbs::of(&ca);
    let good = base.signed(&ca);
    let crl = parse(&good, &ca).unwrap();
    assert_eq!(crl.this_update(), 1_767_225_600);
    assert_eq!(crl.next_update(), Some(1_767_225_600 + 7 * 86_400));

    let malformed = |der: &[u8], why: &str| match parse(der, &ca) {
        Err(CrlError::Malformed(_)) => {}
        other => panic!("{why}: {other:?}"),
    };
    let with = |change: &dyn Fn(&mut Tbs)| {
        let mut tbs = base.clone();
        change(&mut tbs);
        tbs.signed(&ca)
    };
    malformed(
        &with(&|t| t.version = Some(integer(&[0]))),
        "an explicit v1",
    );
    malformed(&with(&|t| t.version = Some(integer(&[2]))), "v3");
    malformed(
        &with(&|t| t.trailing = vec![0x05, 0x00]),
        "bytes in tbsCertList",
    );
    malformed(
        &with(&|t| t.this_update = tlv(0x04, b"260101000000Z")),
        "thisUpdate not a time",
    );
    malformed(
        &with(&|t| t.this_update = utc("261301000000Z")),
        "thisUpdate month 13",
    );
    malformed(
        &with(&|t| t.issuer = tlv(0x31, &[])),
        "the issuer is not a SEQUENCE",
    );
    malformed(
        &with(&|t| {
            t.entries = Some(vec![seq(&[
                &integer(&[1]),
                &utc("260101000000Z"),
                &seq(&[]),
                &[0x05, 0x00],
            ])])
        }),
        "bytes in an entry",
    );
    malformed(
        &with(&|t| t.entries = Some(vec![seq(&[&integer(&[1]), &tlv(0x04, b"x")])])),
        "a revocationDate that is not a time",
    );
    malformed(
        &with(&|t| t.entries = Some(vec![seq(&[&integer(&[]), &utc("260101000000Z")])])),
        "an empty serial",
    );
    malformed(
        &with(&|t| t.entries = Some(vec![seq(&[&tlv(0x04, &[1]), &utc("260101000000Z")])])),
        "a serial that is not an INTEGER",
    );
    malformed(
        &with(&|t| {
            t.extensions = Some(vec![extension(
                CRL_NUMBER,
                false,
                &[integer(&[7]), vec![0]].concat(),
            )])
        }),
        "bytes after the cRLNumber",
    );

    // The outer layers, with a signature that verifies.
    let tbs = base.der();
    let mut after = good.clone();
    after.push(0);
    malformed(&after, "a byte after the CertificateList");
    let inner_trailing = {
        let signature = rcgen::SigningKey::sign(ca.ca.key(), &tbs).unwrap();
        let bits = [&[0u8][..], &signature].concat();
        seq(&[&tbs, ECDSA_SHA256, &tlv(0x03, &bits), &[0x05, 0x00]])
    };
    malformed(&inner_trailing, "bytes after the signatureValue");
    malformed(
        &sign(&ca, &tbs, ECDSA_SHA256, 1),
        "a signature with unused bits",
    );

    // The algorithm inside tbsCertList must be the outer one, even one the key could use.
    let inner = Tbs {
        algorithm: ECDSA_SHA384.to_vec(),
        ..base.clone()
    };
    assert_eq!(
        parse(&inner.signed(&ca), &ca),
        Err(CrlError::AlgorithmMismatch)
    );
}

// ---------------------------------------------------------------------------------------------
// Rule 2: the signature and its signer.

#[test]
fn the_signature_must_verify_with_a_configured_ca_of_the_issuers_name_that_may_sign_crls() {
    let ca = TestCa::new("Signing CA");
    let other = TestCa::new("Another CA");
    let der = Tbs::of(&ca).signed(&ca);

    // Nobody of that name: the message names the issuer.
    for signers in [vec![], vec![other.signer()]] {
        let e = CompactCrl::parse(&der, &signers).unwrap_err();
        assert!(matches!(e, CrlError::UnknownIssuer { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("CN=Signing CA") && text.contains("is not a configured CA"),
            "{text}"
        );
    }

    // A namesake with another key: its key is tried and refused.
    let namesake = TestCa::new("Signing CA");
    assert_eq!(namesake.subject, ca.subject, "the same Name DER");
    let e = CompactCrl::parse(&der, &[namesake.signer()]).unwrap_err();
    assert!(matches!(e, CrlError::Signature { .. }), "{e:?}");
    assert!(e.to_string().contains("does not verify"), "{e}");

    // Both: the one that verifies is kept, in either order.
    for signers in [
        [namesake.signer(), ca.signer()],
        [ca.signer(), namesake.signer()],
    ] {
        let crl = CompactCrl::parse(&der, &signers).unwrap();
        assert_eq!(crl.signer(), sha256(&ca.der));
        assert_ne!(crl.signer(), sha256(&namesake.der));
    }

    // The right key, but its certificate may not sign CRLs.
    let no_crl_sign = CrlSigner {
        can_sign_crl: false,
        ..ca.signer()
    };
    let e = CompactCrl::parse(&der, &[no_crl_sign]).unwrap_err();
    assert!(matches!(e, CrlError::NotCrlSigner { .. }), "{e:?}");
    assert!(e.to_string().contains("cRLSign"), "{e}");

    // A changed tbsCertList (serial 2 becomes 3) under the old signature.
    let mut tampered = der.clone();
    let at = tampered
        .windows(3)
        .position(|w| w == [0x02, 0x01, 0x02])
        .unwrap();
    tampered[at + 2] = 3;
    let e = parse(&tampered, &ca).unwrap_err();
    assert!(matches!(e, CrlError::Signature { .. }), "{e:?}");
}

// ---------------------------------------------------------------------------------------------
// Rule 3: CRL extensions.

fn with_extensions(ca: &TestCa, extensions: Vec<Vec<u8>>) -> Result<CompactCrl, CrlError> {
    let tbs = Tbs {
        extensions: Some(extensions),
        ..Tbs::of(ca)
    };
    parse(&tbs.signed(ca), ca)
}

/// An issuingDistributionPoint with the given fields (already tagged).
fn idp(fields: &[&[u8]]) -> Vec<u8> {
    extension(ISSUING_DISTRIBUTION_POINT, true, &seq(fields))
}

#[test]
fn crl_extensions_delta_partial_scope_and_unknown_critical_ones_are_refused() {
    let ca = TestCa::new("Extensions CA");
    let number = extension(CRL_NUMBER, false, &integer(&[0x01, 0x00]));

    let crl = with_extensions(&ca, vec![number.clone()]).unwrap();
    assert_eq!(crl.number(), Some(&[0x01, 0x00][..]));

    let delta = extension(DELTA_CRL_INDICATOR, true, &integer(&[5]));
    let e = with_extensions(&ca, vec![number.clone(), delta]).unwrap_err();
    assert_eq!(e, CrlError::Delta);
    assert_eq!(e.to_string(), "delta CRLs are not supported");

    // A distribution point (fullName URI) and onlyContainsUserCerts are fine.
    let uri = tlv(0x86, b"http://crl.example/ca.crl");
    let distribution_point = tlv(0xa0, &tlv(0xa0, &uri));
    let user_only = tlv(0x81, &[0xff]);
    let crl = with_extensions(
        &ca,
        vec![number.clone(), idp(&[&distribution_point, &user_only])],
    )
    .unwrap();
    assert!(crl.is_revoked(&[1]));

    for (field, name) in [
        (tlv(0x82, &[0xff]), "onlyContainsCACerts"),
        (tlv(0x83, &[0x07, 0x80]), "onlySomeReasons"),
        (tlv(0x84, &[0xff]), "indirectCRL"),
        (tlv(0x85, &[0xff]), "onlyContainsAttributeCerts"),
    ] {
        let e = with_extensions(
            &ca,
            vec![number.clone(), idp(&[&distribution_point, &field])],
        )
        .unwrap_err();
        assert_eq!(e, CrlError::PartialScope(name));
        assert!(e.to_string().contains(name), "{e}");
    }
    // A field out of place is malformed, not ignored.
    let e = with_extensions(&ca, vec![idp(&[&user_only, &distribution_point])]).unwrap_err();
    assert!(matches!(e, CrlError::Malformed(_)), "{e:?}");

    // Unknown: refused when critical, ignored otherwise.
    let e = with_extensions(&ca, vec![extension(PRIVATE, true, &[0x05, 0x00])]).unwrap_err();
    assert_eq!(
        e,
        CrlError::UnsupportedCritical {
            oid: "1.3.6.1.4.1.99999.1".into(),
            entry: false
        }
    );
    assert!(e.to_string().contains("1.3.6.1.4.1.99999.1"), "{e}");
    let aki = extension(AUTHORITY_KEY_ID, false, &seq(&[&tlv(0x80, &[1; 20])]));
    let crl = with_extensions(
        &ca,
        vec![aki, extension(PRIVATE, false, &[0x05, 0x00]), number],
    )
    .unwrap();
    assert_eq!(crl.number(), Some(&[0x01, 0x00][..]));
}

// ---------------------------------------------------------------------------------------------
// Rule 4: entry extensions.

fn with_entries(ca: &TestCa, entries: Vec<Vec<u8>>) -> Result<CompactCrl, CrlError> {
    let tbs = Tbs {
        entries: Some(entries),
        ..Tbs::of(ca)
    };
    parse(&tbs.signed(ca), ca)
}

#[test]
fn entry_extensions_indirect_entries_and_unknown_critical_ones_are_refused() {
    let ca = TestCa::new("Entries CA");
    let invalidity = extension(INVALIDITY_DATE, false, &tlv(0x18, b"20251231000000Z"));
    let crl = with_entries(
        &ca,
        vec![
            entry(&[1], &[reason(1), invalidity]), // keyCompromise
            entry(&[2], &[reason(8)]),             // removeFromCRL
            entry(&[3], &[reason(6)]),             // certificateHold
            entry(&[4], &[extension(PRIVATE, false, &[0x05, 0x00])]),
        ],
    )
    .unwrap();
    assert!(crl.is_revoked(&[1]));
    assert!(!crl.is_revoked(&[2]), "removeFromCRL is no revocation");
    assert!(crl.is_revoked(&[3]));
    assert!(crl.is_revoked(&[4]));
    assert_eq!(crl.len(), 3);

    let issuer = extension(CERTIFICATE_ISSUER, true, &seq(&[&tlv(0xa4, &ca.subject)]));
    let e = with_entries(&ca, vec![entry(&[1], &[]), entry(&[2], &[issuer])]).unwrap_err();
    assert_eq!(e, CrlError::IndirectEntry);
    assert!(e.to_string().contains("indirect"), "{e}");

    let e = with_entries(
        &ca,
        vec![entry(&[1], &[extension(PRIVATE, true, &[0x05, 0x00])])],
    )
    .unwrap_err();
    assert_eq!(
        e,
        CrlError::UnsupportedCritical {
            oid: "1.3.6.1.4.1.99999.1".into(),
            entry: true
        }
    );

    let e = with_entries(
        &ca,
        vec![entry(
            &[1],
            &[extension(REASON_CODE, false, &integer(&[1]))],
        )],
    )
    .unwrap_err();
    assert!(
        matches!(e, CrlError::Malformed(_)),
        "a reasonCode not ENUMERATED: {e:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Rule 5: compact, sorted serials.

#[test]
fn serials_of_any_length_in_any_order_with_duplicates_are_all_found() {
    let ca = TestCa::new("Serials CA");
    let serials: Vec<Vec<u8>> = vec![
        vec![0x7f, 0xff, 0xff],
        vec![5],
        vec![0x00, 0x80],
        vec![0x12, 0x34],
        vec![5],
        vec![0x80], // -128
        vec![0x01; 20],
        vec![0x00],
        vec![0x00, 0x00, 0x09], // not minimal: the integer 9
        vec![0x12, 0x33],
    ];
    let crl = with_entries(&ca, serials.iter().map(|s| entry(s, &[])).collect()).unwrap();
    assert_eq!(crl.len(), serials.len(), "duplicates are kept");
    for serial in &serials {
        assert!(crl.is_revoked(serial), "{serial:02x?}");
    }
    assert!(crl.is_revoked(&[9]));
    for absent in [
        &[6u8][..],
        &[0x12, 0x35],
        &[0x7f, 0xff, 0xfe],
        &[0x81],
        &[0x00, 0x81],
        &[0x01; 19],
        &[0x01; 21],
        &[0xff, 0xff],
    ] {
        assert!(!crl.is_revoked(absent), "{absent:02x?}");
    }
    // Heap: the issuer, the number, 1+1+2+2+3+20+1+1+2+1 = 34 serial bytes, 10 offsets.
    assert_eq!(crl.memory_bytes(), ca.subject.len() + 1 + 34 + 10 * 4);
}

// ---------------------------------------------------------------------------------------------
// Rule 6: malformed input never panics.

#[test]
fn truncated_and_corrupted_crls_are_refused_without_panicking() {
    let ca = TestCa::new("Robust CA");
    let uri = tlv(0x86, b"http://crl.example/ca.crl");
    let tbs = Tbs {
        entries: Some(vec![
            entry(&[1], &[reason(1)]),
            entry(&[0x00, 0x80], &[reason(8)]),
            entry(
                &[0x02; 20],
                &[extension(
                    INVALIDITY_DATE,
                    false,
                    &tlv(0x18, b"20251231000000Z"),
                )],
            ),
        ]),
        extensions: Some(vec![
            extension(CRL_NUMBER, false, &integer(&[7])),
            idp(&[&tlv(0xa0, &tlv(0xa0, &uri)), &tlv(0x81, &[0xff])]),
        ]),
        ..Tbs::of(&ca)
    };
    let der = tbs.signed(&ca);
    let pem = format!(
        "-----BEGIN X509 CRL-----\n{}\n-----END X509 CRL-----\n",
        base64_encode(&der)
    );
    assert!(parse(&der, &ca).is_ok());
    assert!(parse(pem.as_bytes(), &ca).is_ok());
    for len in 0..der.len() {
        assert!(parse(&der[..len], &ca).is_err(), "truncated to {len}");
    }
    for len in 0..pem.len() - 1 {
        let _ = parse(&pem.as_bytes()[..len], &ca);
    }
    let mut accepted_flips = 0;
    for at in 0..der.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = der.clone();
            bad[at] ^= mask;
            // Any change outside the signature is inside tbsCertList or the outer algorithm:
            // it can only be accepted if the signature still verifies, which it must not.
            if parse(&bad, &ca).is_ok() {
                accepted_flips += 1;
            }
        }
    }
    assert_eq!(accepted_flips, 0);
    assert_eq!(
        parse(
            b"-----BEGIN X509 CRL-----\n!!\n-----END X509 CRL-----\n",
            &ca
        ),
        Err(CrlError::NotPem)
    );
    let two = format!("{pem}{pem}");
    assert_eq!(parse(two.as_bytes(), &ca), Err(CrlError::NotPem));
    assert!(parse(b"", &ca).is_err());
}

fn base64_encode(der: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(der)
}

// ---------------------------------------------------------------------------------------------
// Rule 7: memory for 100,000 entries.

/// A 20-byte serial (DER INTEGER contents, positive and minimal) for `i`.
fn serial20(i: u64) -> Vec<u8> {
    let digest = sha256(&i.to_be_bytes());
    let mut serial = digest[..20].to_vec();
    serial[0] = (serial[0] & 0x7f) | 0x01;
    serial
}

#[test]
fn a_crl_of_100000_entries_takes_at_most_30_bytes_an_entry() {
    const ENTRIES: u64 = 100_000;
    let ca = TestCa::new("Big CA");
    let date = utc("260101000000Z");
    let mut list = Vec::with_capacity(4_000_000);
    for i in 0..ENTRIES {
        list.extend_from_slice(&seq(&[&integer(&serial20(i)), &date]));
    }
    let tbs = Tbs {
        entries: Some(vec![list]),
        ..Tbs::of(&ca)
    };
    let der = tbs.signed(&ca);

    let started = Instant::now();
    let crl = parse(&der, &ca).unwrap();
    let elapsed = started.elapsed();
    eprintln!(
        "CRL of {ENTRIES} entries, {} bytes of DER: parsed and verified in {:.1} ms \
         (this build's profile), {} heap bytes ({:.1} per entry)",
        der.len(),
        elapsed.as_secs_f64() * 1000.0,
        crl.memory_bytes(),
        crl.memory_bytes() as f64 / ENTRIES as f64
    );
    assert_eq!(crl.len(), ENTRIES as usize);
    for i in [0, ENTRIES / 2, ENTRIES - 1] {
        assert!(crl.is_revoked(&serial20(i)), "entry {i}");
    }
    for i in [ENTRIES, ENTRIES + 1, u64::MAX] {
        assert!(!crl.is_revoked(&serial20(i)), "serial of {i}");
    }
    let mut near = serial20(ENTRIES / 2);
    near[19] ^= 1;
    assert!(!crl.is_revoked(&near));
    assert!(
        crl.memory_bytes() <= 30 * ENTRIES as usize,
        "{} bytes for {ENTRIES} entries",
        crl.memory_bytes()
    );
}

// ---------------------------------------------------------------------------------------------
// Interop: a CRL made by OpenSSL.

const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
x509_extensions = v3_ca
prompt = no

[dn]
O = client-cert-auth interop
CN = OpenSSL CRL CA

[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[ca]
default_ca = CA_default

[CA_default]
database = index.txt
crlnumber = crlnumber
default_md = sha256
default_crl_days = 1
crl_extensions = crl_ext

[crl_ext]
authorityKeyIdentifier = keyid:always
";

fn openssl(dir: &TempDir, args: &[&str]) {
    match Command::new("openssl")
        .args(args)
        .current_dir(&dir.0)
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "openssl is not on PATH: this interop test makes a CRL with `openssl ca -gencrl` \
             and does not skip; install it (apt-get install openssl)"
        ),
        Err(e) => panic!("cannot run openssl ({e}); install it (apt-get install openssl)"),
    }
}

#[test]
fn a_crl_made_by_openssl_parses_and_verifies_in_pem_and_der() {
    let dir = TempDir::new("crl-store-openssl");
    dir.write("openssl.cnf", OPENSSL_CNF);
    // Serial 1001 revoked (keyCompromise), 2002 taken off hold (removeFromCRL), 3003 valid.
    dir.write(
        "index.txt",
        "R\t300101000000Z\t260101000000Z,keyCompromise\t1001\tunknown\t/CN=revoked\n\
         R\t300101000000Z\t260101000000Z,removeFromCRL\t2002\tunknown\t/CN=unheld\n\
         V\t300101000000Z\t\t3003\tunknown\t/CN=valid\n",
    );
    dir.write("crlnumber", "1000\n");
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-config",
            "openssl.cnf",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
        ],
    );
    openssl(
        &dir,
        &[
            "ca",
            "-config",
            "openssl.cnf",
            "-gencrl",
            "-keyfile",
            "ca.key",
            "-cert",
            "ca.pem",
            "-out",
            "crl.pem",
            "-batch",
        ],
    );
    openssl(
        &dir,
        &[
            "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der",
        ],
    );

    let ca_pem = std::fs::read(dir.0.join("ca.pem")).unwrap();
    let ca_der = pem_to_der(&ca_pem, "CERTIFICATE").unwrap();
    let (subject, spki) = subject_and_spki(&ca_der);
    let signer = CrlSigner {
        subject: &subject,
        spki: &spki,
        id: sha256(&ca_der),
        can_sign_crl: true,
    };
    let pem = std::fs::read(dir.0.join("crl.pem")).unwrap();
    let der = std::fs::read(dir.0.join("crl.der")).unwrap();
    assert_eq!(pem_to_der(&pem, "X509 CRL").unwrap(), der);
    for input in [&pem, &der] {
        let crl = CompactCrl::parse(input, &[signer]).unwrap();
        assert_eq!(crl.issuer(), subject.as_slice());
        assert_eq!(crl.signer(), sha256(&ca_der));
        assert_eq!(crl.number(), Some(&[0x10, 0x00][..]));
        assert_eq!(crl.next_update(), Some(crl.this_update() + 86_400));
        assert!(crl.is_revoked(&[0x10, 0x01]));
        assert!(!crl.is_revoked(&[0x20, 0x02]), "removeFromCRL");
        assert!(!crl.is_revoked(&[0x30, 0x03]));
        assert_eq!(crl.len(), 1);
    }
    // Another CA of the same name does not verify it.
    let namesake = TestCa::new("OpenSSL CRL CA");
    let e = CompactCrl::parse(
        &der,
        &[CrlSigner {
            subject: &subject,
            ..namesake.signer()
        }],
    )
    .unwrap_err();
    assert!(matches!(e, CrlError::Signature { .. }), "{e:?}");
}

// ---------------------------------------------------------------------------------------------
// Issue 20: partitions, the order of a slot's CRLs, and a source's shared set.

/// A CRLDistributionPoints extension value naming these URIs, one point each (and, with
/// `indirect`, a cRLIssuer on each).
fn cdp(uris: &[&str], indirect: bool) -> Vec<u8> {
    let points: Vec<Vec<u8>> = uris
        .iter()
        .map(|u| {
            let name = tlv(0xa0, &tlv(0xa0, &tlv(0x86, u.as_bytes())));
            let issuer = if indirect {
                tlv(0xa2, &tlv(0xa4, &seq(&[])))
            } else {
                vec![]
            };
            seq(&[&name, &issuer])
        })
        .collect();
    let refs: Vec<&[u8]> = points.iter().map(Vec::as_slice).collect();
    seq(&refs)
}

#[test]
fn a_partition_covers_only_the_certificates_naming_its_distribution_point() {
    let ca = TestCa::new("Shard CA");
    let number = extension(CRL_NUMBER, false, &integer(&[3]));
    let shard = |uri: &[u8]| tlv(0xa0, &tlv(0xa0, &tlv(0x86, uri)));
    let shard_1 = with_extensions(
        &ca,
        vec![number.clone(), idp(&[&shard(b"http://crl.test/1.crl")])],
    )
    .unwrap();
    let names = |uris: &[&str]| distribution_point_names(&cdp(uris, false));
    assert!(shard_1.covers(&names(&["http://crl.test/1.crl"])));
    assert!(shard_1.covers(&names(&["ldap://x/", "http://crl.test/1.crl"])));
    assert!(!shard_1.covers(&names(&["http://crl.test/2.crl"])));
    assert!(!shard_1.covers(&[]), "a leaf without distribution points");
    // Names compare exactly, byte for byte.
    assert!(!shard_1.covers(&names(&["HTTP://crl.test/1.crl"])));
    // A point with a cRLIssuer names an indirect CRL: it is not the issuer's shard.
    assert!(!shard_1.covers(&distribution_point_names(&cdp(
        &["http://crl.test/1.crl"],
        true
    ))));
    assert!(matches!(shard_1.scope(), Scope::Partition(n) if n.len() == 1));
    // A complete CRL covers every certificate, with or without distribution points.
    let complete = with_extensions(&ca, vec![number.clone()]).unwrap();
    assert_eq!(complete.scope(), &Scope::Complete);
    assert!(complete.covers(&[]) && complete.covers(&names(&["http://crl.test/2.crl"])));
    // A partition named relative to the issuer covers nothing.
    let relative = with_extensions(
        &ca,
        vec![number.clone(), idp(&[&tlv(0xa0, &tlv(0xa1, &[]))])],
    )
    .unwrap();
    assert_eq!(relative.scope(), &Scope::Relative);
    assert!(!relative.covers(&names(&["http://crl.test/1.crl"])));
    // Shards, and a complete CRL, are three slots; the same shard again is the same slot.
    let again =
        with_extensions(&ca, vec![number, idp(&[&shard(b"http://crl.test/1.crl")])]).unwrap();
    assert_eq!(again.slot(), shard_1.slot());
    assert_ne!(shard_1.slot(), complete.slot());
    assert_ne!(relative.slot(), complete.slot());
    // Two issuingDistributionPoint extensions are malformed.
    let two = with_extensions(
        &ca,
        vec![
            idp(&[&shard(b"http://crl.test/1.crl")]),
            idp(&[&shard(b"http://crl.test/2.crl")]),
        ],
    );
    assert!(matches!(two, Err(CrlError::Malformed(_))), "{two:?}");
    // Malformed distribution points give no names (and never panic).
    assert!(distribution_point_names(b"\x30\x03\x30\x01").is_empty());
    assert!(distribution_point_names(&[]).is_empty());
}

#[test]
fn crls_of_a_slot_are_ordered_by_number_then_this_update() {
    let order = |number: Option<&'static [u8]>, this_update| CrlOrder {
        number,
        this_update,
    };
    use std::cmp::Ordering::*;
    assert_eq!(
        newer(&order(Some(&[2]), 0), &order(Some(&[1]), 99)),
        Greater
    );
    assert_eq!(newer(&order(Some(&[1]), 99), &order(Some(&[2]), 0)), Less);
    // Numbers are integers: 0x0100 is after 0xff (a redundant leading zero is ignored).
    assert_eq!(
        newer(&order(Some(&[1, 0]), 0), &order(Some(&[0, 0xff]), 0)),
        Greater
    );
    assert_eq!(
        newer(&order(Some(&[0, 5]), 7), &order(Some(&[5]), 7)),
        Equal
    );
    // Equal numbers, or a number missing on either side: thisUpdate decides.
    assert_eq!(newer(&order(Some(&[2]), 5), &order(Some(&[2]), 4)), Greater);
    assert_eq!(newer(&order(None, 5), &order(Some(&[9]), 4)), Greater);
    assert_eq!(newer(&order(Some(&[9]), 4), &order(None, 5)), Less);
}

#[test]
fn a_sources_set_keeps_one_crl_per_slot_and_never_goes_back() {
    let x = TestCa::new("Set CA X");
    let y = TestCa::new("Set CA Y");
    let crl_of = |ca: &TestCa, number: u8, this_update: &str, serials: &[u8]| {
        let tbs = Tbs {
            this_update: utc(this_update),
            entries: Some(serials.iter().map(|s| entry(&[*s], &[])).collect()),
            extensions: Some(vec![extension(CRL_NUMBER, false, &integer(&[number]))]),
            ..Tbs::of(ca)
        };
        let der = tbs.signed(ca);
        let crl = CompactCrl::parse(&der, &[x.signer(), y.signer()]).unwrap();
        (crl, der)
    };
    let (x2, x2_der) = crl_of(&x, 2, "260101000000Z", &[7]);
    let set = merge_set(None, &x2, &x2_der, 100, 60, |_| false).unwrap();
    // Y's genuine, newer CRL at X's URL goes beside X's, not over it.
    let (y9, y9_der) = crl_of(&y, 9, "260105000000Z", &[]);
    let set = merge_set(Some(&set), &y9, &y9_der, 200, 60, |_| false).unwrap();
    let entries = decode_set(&set).unwrap();
    assert_eq!(entries.len(), 2);
    assert!(
        entries
            .iter()
            .any(|e| e.slot == x2.slot() && e.bytes == x2_der)
    );
    // X's older CRL (lower number, even with a later thisUpdate) is a rollback.
    let (x1, x1_der) = crl_of(&x, 1, "260107000000Z", &[]);
    assert!(matches!(
        merge_set(Some(&set), &x1, &x1_der, 300, 60, |_| false),
        Err(SetRefusal::Older { .. })
    ));
    // The same CRL again renews its confirmation only.
    let renewed =
        decode_set(&merge_set(Some(&set), &x2, &x2_der, 400, 60, |_| false).unwrap()).unwrap();
    let x_entry = renewed.iter().find(|e| e.slot == x2.slot()).unwrap();
    assert_eq!((x_entry.confirmed, &x_entry.bytes), (400, &x2_der));
    // A newer one replaces it.
    let (x3, x3_der) = crl_of(&x, 3, "260102000000Z", &[7, 8]);
    let replaced =
        decode_set(&merge_set(Some(&set), &x3, &x3_der, 500, 60, |_| false).unwrap()).unwrap();
    assert_eq!(replaced.len(), 2);
    assert!(
        replaced
            .iter()
            .any(|e| e.bytes == x3_der && e.confirmed == 500)
    );
    // What does not decode is refused.
    assert_eq!(
        merge_set(Some(b"garbage"), &x2, &x2_der, 1, 60, |_| false),
        Err(SetRefusal::Corrupt)
    );
    // Bounds: four scopes of one CA, sixteen CRLs in all. Another CA's CRLs never crowd a
    // CA's own out; a new scope takes the place of a stale entry only (past its nextUpdate
    // and not served for 2 x refreshSeconds), the one served least recently.
    let filler = |i: usize, authority: [u8; 32], next_update: Option<i64>, confirmed| SetEntry {
        slot: [i as u8; 32],
        authority,
        next_update,
        number: vec![1],
        this_update: 0,
        confirmed,
        bytes: vec![0x30, 0x00],
    };
    let others: Vec<SetEntry> = (0..MAX_SLOTS_PER_SOURCE - 1)
        .map(|i| filler(i, [0xee; 32], Some(10_000), 1000))
        .collect();
    let with_x = merge_set(Some(&encode_set(&others)), &x2, &x2_der, 1000, 60, |_| {
        false
    })
    .unwrap();
    assert_eq!(decode_set(&with_x).unwrap().len(), MAX_SLOTS_PER_SOURCE);
    // Full in all, nothing stale: a CRL of yet another scope is refused...
    assert_eq!(
        merge_set(Some(&with_x), &y9, &y9_der, 1000, 60, |_| false),
        Err(SetRefusal::Full)
    );
    // ...until an entry is stale; then the least recently served stale one makes room.
    let mut aged = decode_set(&with_x).unwrap();
    aged[3].confirmed = 900;
    aged[5].confirmed = 800;
    let later = 10_000 + 121; // past the fillers' nextUpdate, 2 x 60 s after they were served
    let merged = decode_set(
        &merge_set(Some(&encode_set(&aged)), &y9, &y9_der, later, 60, |_| false).unwrap(),
    )
    .unwrap();
    assert_eq!(merged.len(), MAX_SLOTS_PER_SOURCE);
    assert!(
        merged.iter().all(|e| e.slot != [5u8; 32]),
        "the least recently served went"
    );
    assert!(merged.iter().any(|e| e.slot == [3u8; 32]));
    assert!(merged.iter().any(|e| e.slot == y9.slot()));
    assert!(
        merged.iter().any(|e| e.slot == x2.slot()),
        "X's own CRL stays"
    );
    // Four scopes of X: a fifth of X is refused while they are live, whatever else is there.
    let xs: Vec<SetEntry> = (0..MAX_SLOTS_PER_CA)
        .map(|i| filler(100 + i, x2.authority(), Some(10_000), 1000))
        .collect();
    assert_eq!(
        merge_set(Some(&encode_set(&xs)), &x2, &x2_der, 1000, 60, |_| false),
        Err(SetRefusal::Full)
    );
    // Y's CRL still goes in beside them.
    assert!(merge_set(Some(&encode_set(&xs)), &y9, &y9_der, 1000, 60, |_| false).is_ok());
    // One of X's whose every revocation the fetched CRL lists too makes room: nothing lost.
    let merged = decode_set(
        &merge_set(Some(&encode_set(&xs)), &x2, &x2_der, 1000, 60, |slot| {
            *slot == [101u8; 32]
        })
        .unwrap(),
    )
    .unwrap();
    assert!(merged.iter().any(|e| e.slot == x2.slot()));
    assert!(merged.iter().all(|e| e.slot != [101u8; 32]));
    // Which CRL lists every serial of another.
    assert!(x3.lists_all_of(&x2) && !x2.lists_all_of(&x3) && x2.lists_all_of(&y9));
    // A stale one of X's makes room for X's.
    let mut xs_aged = xs.clone();
    xs_aged[2].confirmed = 0;
    xs_aged[2].next_update = None;
    let merged = decode_set(
        &merge_set(Some(&encode_set(&xs_aged)), &x2, &x2_der, 1000, 60, |_| {
            false
        })
        .unwrap(),
    )
    .unwrap();
    assert!(merged.iter().any(|e| e.slot == x2.slot()));
    assert!(merged.iter().all(|e| e.slot != [102u8; 32]));
    // An entry without nextUpdate is stale after 2 x refreshSeconds unserved; one with a
    // nextUpdate not before that passes too.
    let e = filler(1, [0; 32], None, 1000);
    assert!(!e.stale(1120, 60) && e.stale(1121, 60));
    let e = filler(1, [0; 32], Some(2000), 1000);
    assert!(!e.stale(2000, 60) && e.stale(2001, 60));
    let full: Vec<SetEntry> = (0..MAX_SLOTS_PER_SOURCE)
        .map(|i| filler(i, [i as u8; 32], Some(i as i64), i as i64))
        .collect();
    assert_eq!(decode_set(&encode_set(&full)).unwrap(), full);
}
