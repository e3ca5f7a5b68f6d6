//! OCSP (validation::revocation::ocsp): requests, and the verification of responses built here
//! by hand (DER written field by field with `testkit::der`, signed with rcgen keys) and by the
//! real `openssl ocsp` responder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use client_cert_auth::SignatureError;
use client_cert_auth::{
    revocation::ocsp::Answer, revocation::ocsp::CertId, revocation::ocsp::Freshness,
    revocation::ocsp::Issuer, revocation::ocsp::OcspError, revocation::ocsp::Status,
    revocation::ocsp::request, revocation::ocsp::verify_response,
};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, SerialNumber,
    SigningKey,
};
use sha1::{Digest, Sha1};
use testkit::core::now;
use testkit::der::{BASIC_OID, NONCE_OID, SHA1_OID, SHA256_OID, extension, gen_time, seq, tlv};
use testkit::envoy::TempDir;
use testkit::openssl::{ocsp_answer, openssl};
use testkit::pki::ca_params;
use time::{Duration, OffsetDateTime};

// ---------------------------------------------------------------------------------------------
// DER, by hand (`testkit::der`, independent of the crate's encoder).

fn sha1(data: &[u8]) -> Vec<u8> {
    Sha1::digest(data).to_vec()
}

// ---------------------------------------------------------------------------------------------
// Certificates.

#[derive(Clone, Copy, PartialEq)]
enum Alg {
    P256,
    Rsa,
}

fn key(alg: Alg) -> KeyPair {
    match alg {
        Alg::P256 => testkit::pki::Alg::EcdsaP256,
        Alg::Rsa => testkit::pki::Alg::Rsa2048,
    }
    .key()
}

/// The contents of the signatureAlgorithm of a key's signatures.
fn signature_algorithm(alg: Alg) -> Vec<u8> {
    match alg {
        Alg::P256 => rustls_pki_types::alg_id::ECDSA_SHA256.as_ref().to_vec(),
        Alg::Rsa => rustls_pki_types::alg_id::RSA_PKCS1_SHA256.as_ref().to_vec(),
    }
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

/// The parts of a certificate the tests need.
struct Parsed {
    subject: Vec<u8>,
    spki: Vec<u8>,
    key_bits: Vec<u8>,
    serial: Vec<u8>,
}

fn parse(der: &[u8]) -> Parsed {
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    Parsed {
        subject: cert.subject().as_raw().to_vec(),
        spki: cert.public_key().raw.to_vec(),
        key_bits: cert.public_key().subject_public_key.data.to_vec(),
        serial: cert.raw_serial().to_vec(),
    }
}

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    alg: Alg,
    der: Vec<u8>,
    pem: String,
}

impl Ca {
    fn new(common_name: &str, alg: Alg) -> Ca {
        let params = ca_params(dn(common_name));
        let key = key(alg);
        let cert = params.self_signed(&key).unwrap();
        Ca {
            params,
            key,
            alg,
            der: cert.der().to_vec(),
            pem: cert.pem(),
        }
    }

    fn parsed(&self) -> Parsed {
        parse(&self.der)
    }

    /// A certificate signed by this CA's key under the issuer name `issuer_name` (normally its
    /// own), adjusted by `adjust`.
    fn issue_as(
        &self,
        issuer_name: DistinguishedName,
        common_name: &str,
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> (Vec<u8>, KeyPair) {
        let mut issuer_params = self.params.clone();
        issuer_params.distinguished_name = issuer_name;
        let issuer = rcgen::Issuer::new(issuer_params, &self.key);
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = dn(common_name);
        params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(30);
        adjust(&mut params);
        let key = key(Alg::P256);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.der().to_vec(), key)
    }

    fn issue(
        &self,
        common_name: &str,
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> (Vec<u8>, KeyPair) {
        self.issue_as(self.params.distinguished_name.clone(), common_name, adjust)
    }

    /// A leaf with this serial.
    fn leaf(&self, serial: u64) -> Parsed {
        let (der, _) = self.issue("leaf", |p| {
            p.serial_number = Some(SerialNumber::from(serial));
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        });
        parse(&der)
    }

    /// A responder certificate with the OCSPSigning EKU.
    fn responder(&self) -> (Vec<u8>, KeyPair) {
        self.issue("ocsp responder", |p| {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Responses.

/// The CertID of a leaf under an issuer, encoded here (SHA-1 with NULL parameters).
fn cert_id_der(issuer: &Parsed, serial: &[u8]) -> Vec<u8> {
    cert_id_as(&[&tlv(0x06, SHA1_OID), &tlv(0x05, &[])], issuer, serial)
}

/// A CertID whose hashAlgorithm has these elements (OID, parameters), its hashes SHA-1's
/// whatever it says.
fn cert_id_as(hash_algorithm: &[&[u8]], issuer: &Parsed, serial: &[u8]) -> Vec<u8> {
    seq(&[
        &seq(hash_algorithm),
        &tlv(0x04, &sha1(&issuer.subject)),
        &tlv(0x04, &sha1(&issuer.key_bits)),
        &tlv(0x02, serial),
    ])
}

#[derive(Clone)]
struct Single {
    cert_id: Vec<u8>,
    /// The certStatus element.
    status: Vec<u8>,
    this_update: i64,
    next_update: Option<i64>,
    /// Extension elements.
    extensions: Vec<Vec<u8>>,
}

fn good() -> Vec<u8> {
    vec![0x80, 0x00]
}

fn revoked(at: i64) -> Vec<u8> {
    tlv(0xa1, &[gen_time(at), tlv(0xa0, &tlv(0x0a, &[1]))].concat())
}

fn unknown() -> Vec<u8> {
    vec![0x82, 0x00]
}

struct Response<'k> {
    status: u8,
    response_type: Vec<u8>,
    /// The responderID element.
    responder_id: Vec<u8>,
    produced_at: i64,
    singles: Vec<Single>,
    extensions: Vec<Vec<u8>>,
    certs: Vec<Vec<u8>>,
    signer: &'k KeyPair,
    algorithm: Vec<u8>,
    break_signature: bool,
}

fn by_name(subject: &[u8]) -> Vec<u8> {
    tlv(0xa1, subject)
}

fn by_key(key_bits: &[u8]) -> Vec<u8> {
    tlv(0xa2, &tlv(0x04, &sha1(key_bits)))
}

impl Response<'_> {
    fn build(&self) -> Vec<u8> {
        let singles: Vec<Vec<u8>> = self
            .singles
            .iter()
            .map(|s| {
                let next = s
                    .next_update
                    .map(|t| tlv(0xa0, &gen_time(t)))
                    .unwrap_or_default();
                let ext = if s.extensions.is_empty() {
                    vec![]
                } else {
                    tlv(0xa1, &tlv(0x30, &s.extensions.concat()))
                };
                seq(&[&s.cert_id, &s.status, &gen_time(s.this_update), &next, &ext])
            })
            .collect();
        let ext = if self.extensions.is_empty() {
            vec![]
        } else {
            tlv(0xa1, &tlv(0x30, &self.extensions.concat()))
        };
        let tbs = seq(&[
            &self.responder_id,
            &gen_time(self.produced_at),
            &tlv(0x30, &singles.concat()),
            &ext,
        ]);
        let mut signature = self.signer.sign(&tbs).unwrap();
        if self.break_signature {
            let last = signature.len() - 1;
            signature[last] ^= 1;
        }
        let certs = if self.certs.is_empty() {
            vec![]
        } else {
            tlv(0xa0, &tlv(0x30, &self.certs.concat()))
        };
        let basic = seq(&[
            &tbs,
            &tlv(0x30, &self.algorithm),
            &tlv(0x03, &[&[0][..], &signature].concat()),
            &certs,
        ]);
        let bytes = seq(&[&tlv(0x06, &self.response_type), &tlv(0x04, &basic)]);
        seq(&[&tlv(0x0a, &[self.status]), &tlv(0xa0, &bytes)])
    }
}

/// A CA, a leaf of it and what `verify_response` needs, with a default response: good, signed
/// by the CA (byName), thisUpdate an hour ago, nextUpdate in a day.
struct Fixture {
    ca: Ca,
    issuer: Parsed,
    leaf: Parsed,
    id: CertId,
    now: i64,
}

impl Fixture {
    fn new(alg: Alg) -> Fixture {
        let ca = Ca::new("OCSP test CA", alg);
        let issuer = ca.parsed();
        let leaf = ca.leaf(0x1001);
        let id = CertId::new(&issuer.subject, &issuer.spki, &leaf.serial).unwrap();
        Fixture {
            ca,
            issuer,
            leaf,
            id,
            now: now(),
        }
    }

    fn single(&self, status: Vec<u8>) -> Single {
        Single {
            cert_id: cert_id_der(&self.issuer, &self.leaf.serial),
            status,
            this_update: self.now - 3600,
            next_update: Some(self.now + 86_400),
            extensions: vec![],
        }
    }

    /// The default answer's good single response, about `cert_id`.
    fn single_about(&self, cert_id: Vec<u8>) -> Single {
        Single {
            cert_id,
            ..self.single(good())
        }
    }

    /// The default response, signed by the delegated responder `cert` with `key` (byName), the
    /// certificate in the response.
    fn delegated<'k>(&'k self, cert: Vec<u8>, key: &'k KeyPair) -> Response<'k> {
        Response {
            responder_id: by_name(&parse(&cert).subject),
            certs: vec![cert],
            signer: key,
            ..self.response()
        }
    }

    fn response(&self) -> Response<'_> {
        Response {
            status: 0,
            response_type: BASIC_OID.to_vec(),
            responder_id: by_name(&self.issuer.subject),
            produced_at: self.now - 60,
            singles: vec![self.single(good())],
            extensions: vec![],
            certs: vec![],
            signer: &self.ca.key,
            algorithm: signature_algorithm(self.ca.alg),
            break_signature: false,
        }
    }

    fn fresh(&self) -> Freshness {
        Freshness {
            now: self.now,
            skew: 300,
            max_age: 7 * 86_400,
            max_answer_age: 30 * 86_400,
            require_nonce: false,
        }
    }

    fn verify(&self, der: &[u8], nonce: Option<&[u8]>) -> Result<Answer, OcspError> {
        self.verify_at(der, nonce, &self.fresh())
    }

    fn verify_at(
        &self,
        der: &[u8],
        nonce: Option<&[u8]>,
        fresh: &Freshness,
    ) -> Result<Answer, OcspError> {
        let issuer = Issuer {
            subject: &self.issuer.subject,
            spki: &self.issuer.spki,
        };
        verify_response(der, &self.id, &issuer, nonce, fresh)
    }

    fn status(&self, der: &[u8]) -> Status {
        self.verify(der, None).unwrap().status
    }
}

// ---------------------------------------------------------------------------------------------
// Accepted answers.

#[test]
fn good_signed_by_the_issuer_by_name_and_by_key_p256_and_rsa() {
    for alg in [Alg::P256, Alg::Rsa] {
        let f = Fixture::new(alg);
        let answer = f.verify(&f.response().build(), None).unwrap();
        assert_eq!(
            answer,
            Answer {
                status: Status::Good,
                this_update: f.now - 3600,
                next_update: Some(f.now + 86_400),
                produced_at: f.now - 60,
            }
        );
        let by_key = Response {
            responder_id: by_key(&f.issuer.key_bits),
            ..f.response()
        };
        assert_eq!(f.status(&by_key.build()), Status::Good);
    }
}

#[test]
fn revoked_with_its_time_and_unknown() {
    let f = Fixture::new(Alg::P256);
    let at = f.now - 10 * 86_400;
    let r = Response {
        singles: vec![f.single(revoked(at))],
        ..f.response()
    };
    assert_eq!(
        f.status(&r.build()),
        Status::Revoked {
            at,
            reason: Some(1)
        }
    );
    let r = Response {
        singles: vec![f.single(unknown())],
        ..f.response()
    };
    assert_eq!(f.status(&r.build()), Status::Unknown);
}

#[test]
fn good_signed_by_a_delegated_responder_with_the_eku() {
    let f = Fixture::new(Alg::P256);
    let (cert, key) = f.ca.responder();
    let responder = parse(&cert);
    for id in [by_name(&responder.subject), by_key(&responder.key_bits)] {
        let r = Response {
            responder_id: id,
            certs: vec![cert.clone()],
            signer: &key,
            algorithm: signature_algorithm(Alg::P256),
            ..f.response()
        };
        assert_eq!(f.status(&r.build()), Status::Good);
    }
    // An unrelated certificate in front of it is passed over.
    let (other, _) = Ca::new("bystander", Alg::P256).responder();
    let r = Response {
        responder_id: by_name(&responder.subject),
        certs: vec![other, cert],
        signer: &key,
        ..f.response()
    };
    assert_eq!(f.status(&r.build()), Status::Good);
}

// ---------------------------------------------------------------------------------------------
// Rule 1: status and type.

#[test]
fn a_status_other_than_successful_is_refused_by_name() {
    let f = Fixture::new(Alg::P256);
    for (status, name) in [
        (1, "malformedRequest"),
        (2, "internalError"),
        (3, "tryLater"),
        (5, "sigRequired"),
        (6, "unauthorized"),
    ] {
        // The responder sends the status alone; with the bytes it must be refused all the same.
        let bare = seq(&[&tlv(0x0a, &[status])]);
        let full = Response {
            status,
            ..f.response()
        }
        .build();
        for der in [bare, full] {
            let e = f.verify(&der, None).unwrap_err();
            assert_eq!(e, OcspError::ResponseStatus { status });
            assert!(e.to_string().contains(name), "{e}");
        }
    }
}

#[test]
fn a_response_type_other_than_basic_is_refused() {
    let f = Fixture::new(Alg::P256);
    let r = Response {
        response_type: vec![0x2b, 6, 1, 5, 5, 7, 0x30, 1, 9],
        ..f.response()
    };
    assert_eq!(
        f.verify(&r.build(), None),
        Err(OcspError::NotBasic {
            oid: "1.3.6.1.5.5.7.48.1.9".into()
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Rule 2: the signer.

#[test]
fn a_broken_signature_is_refused() {
    let f = Fixture::new(Alg::P256);
    let r = Response {
        break_signature: true,
        ..f.response()
    };
    assert_eq!(
        f.verify(&r.build(), None),
        Err(OcspError::Signature(SignatureError::Invalid))
    );
    // Named as the issuer but signed by another key.
    let stranger = key(Alg::P256);
    let r = Response {
        signer: &stranger,
        ..f.response()
    };
    assert_eq!(
        f.verify(&r.build(), None),
        Err(OcspError::Signature(SignatureError::Invalid))
    );
    // A delegated responder's response signed by another key.
    let (cert, _) = f.ca.responder();
    let r = f.delegated(cert, &stranger);
    assert_eq!(
        f.verify(&r.build(), None),
        Err(OcspError::Signature(SignatureError::Invalid))
    );
}

#[test]
fn a_responder_id_naming_someone_else_is_refused() {
    let f = Fixture::new(Alg::P256);
    let other = Ca::new("someone else", Alg::P256).parsed();
    for id in [by_name(&other.subject), by_key(&other.key_bits)] {
        let r = Response {
            responder_id: id,
            ..f.response()
        };
        assert_eq!(f.verify(&r.build(), None), Err(OcspError::UnknownResponder));
    }
}

#[test]
fn a_delegated_responder_without_the_eku_is_refused() {
    let f = Fixture::new(Alg::P256);
    for ekus in [vec![], vec![ExtendedKeyUsagePurpose::ClientAuth]] {
        let (cert, key) =
            f.ca.issue("not a responder", |p| p.extended_key_usages = ekus);
        let r = f.delegated(cert, &key);
        let e = f.verify(&r.build(), None).unwrap_err();
        assert_eq!(e, OcspError::NotOcspSigner);
        assert!(e.to_string().contains("OCSPSigning"));
    }
}

#[test]
fn a_responder_certificate_of_another_ca_is_refused() {
    let f = Fixture::new(Alg::P256);
    // Another CA, another name.
    let (cert, key) = Ca::new("another CA", Alg::P256).responder();
    // Another CA with the very same name (another key): only the signature tells.
    let (twin, twin_key) = Ca::new("OCSP test CA", Alg::P256).responder();
    // The issuer's own key, under another issuer name: only the name tells.
    let (renamed, renamed_key) = f.ca.issue_as(dn("not the issuer"), "ocsp responder", |p| {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
    });
    for (cert, key) in [(cert, key), (twin, twin_key), (renamed, renamed_key)] {
        let r = f.delegated(cert, &key);
        let e = f.verify(&r.build(), None).unwrap_err();
        assert_eq!(e, OcspError::NotDelegated);
        assert_eq!(
            e.to_string(),
            "the responder's answer is signed by a certificate the issuer did not delegate"
        );
    }
}

#[test]
fn a_delegated_responder_outside_its_validity_is_refused() {
    let f = Fixture::new(Alg::P256);
    let t = OffsetDateTime::now_utc();
    for (from, to) in [
        (t - Duration::days(30), t - Duration::days(1)),
        (t + Duration::days(1), t + Duration::days(30)),
    ] {
        let (cert, key) = f.ca.issue("ocsp responder", |p| {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
            p.not_before = from;
            p.not_after = to;
        });
        let r = f.delegated(cert, &key);
        let der = r.build();
        assert!(
            matches!(
                f.verify(&der, None),
                Err(OcspError::ResponderExpired { .. })
            ),
            "{from} {to}"
        );
        // Within the skew of its dates, it is accepted, up to the skew's last second.
        let lenient = Freshness {
            skew: 2 * 86_400,
            ..f.fresh()
        };
        assert!(f.verify_at(&der, None, &lenient).is_ok());
        let distance = if to < t {
            f.now - to.unix_timestamp()
        } else {
            from.unix_timestamp() - f.now
        };
        let exact = Freshness {
            skew: distance,
            ..f.fresh()
        };
        assert!(f.verify_at(&der, None, &exact).is_ok(), "skew {distance}");
        let short = Freshness {
            skew: distance - 1,
            ..f.fresh()
        };
        assert!(
            f.verify_at(&der, None, &short).is_err(),
            "skew {}",
            distance - 1
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Rule 3: the answer about our certificate.

#[test]
fn an_answer_only_about_another_certificate_is_refused() {
    let f = Fixture::new(Alg::P256);
    let other_serial = f.single_about(cert_id_der(&f.issuer, &[0x10, 0x02]));
    let other_issuer = f.single_about(cert_id_der(
        &Ca::new("other", Alg::P256).parsed(),
        &f.leaf.serial,
    ));
    let sha256_id = f.single_about(cert_id_as(
        &[&tlv(0x06, SHA256_OID), &tlv(0x05, &[])],
        &f.issuer,
        &f.leaf.serial,
    ));
    let odd_parameters = f.single_about(cert_id_as(
        &[&tlv(0x06, SHA1_OID), &tlv(0x04, &[])],
        &f.issuer,
        &f.leaf.serial,
    ));
    for single in [
        other_serial.clone(),
        other_issuer,
        sha256_id,
        odd_parameters,
    ] {
        let r = Response {
            singles: vec![single],
            ..f.response()
        };
        assert_eq!(f.verify(&r.build(), None), Err(OcspError::NoAnswer));
    }
    // Answers about others are skipped when ours is there.
    let r = Response {
        singles: vec![
            Single {
                status: revoked(f.now - 60),
                ..other_serial
            },
            f.single(good()),
        ],
        ..f.response()
    };
    assert_eq!(f.status(&r.build()), Status::Good);
    // A CertID hashAlgorithm without the NULL parameters is still SHA-1.
    let absent = Single {
        cert_id: seq(&[
            &seq(&[&tlv(0x06, SHA1_OID)]),
            &tlv(0x04, &sha1(&f.issuer.subject)),
            &tlv(0x04, &sha1(&f.issuer.key_bits)),
            &tlv(0x02, &f.leaf.serial),
        ]),
        ..f.single(unknown())
    };
    let r = Response {
        singles: vec![absent],
        ..f.response()
    };
    assert_eq!(f.status(&r.build()), Status::Unknown);
    // Two answers about ours: ambiguous.
    let r = Response {
        singles: vec![f.single(good()), f.single(revoked(f.now - 60))],
        ..f.response()
    };
    assert_eq!(f.verify(&r.build(), None), Err(OcspError::AmbiguousAnswer));
}

// ---------------------------------------------------------------------------------------------
// Rule 4: the nonce.

#[test]
fn the_nonce_must_be_the_one_sent_when_the_response_carries_one() {
    let f = Fixture::new(Alg::P256);
    let sent = b"0123456789abcdef";
    let with = |value: Vec<u8>| {
        Response {
            extensions: vec![extension(NONCE_OID, false, &value)],
            ..f.response()
        }
        .build()
    };
    let rfc8954 = with(tlv(0x04, sent));
    let bare = with(sent.to_vec());
    assert_eq!(f.verify(&rfc8954, Some(sent)).unwrap().status, Status::Good);
    assert_eq!(f.verify(&bare, Some(sent)).unwrap().status, Status::Good);
    for der in [&rfc8954, &bare] {
        assert_eq!(
            f.verify(der, Some(b"fedcba9876543210")),
            Err(OcspError::NonceMismatch)
        );
    }
    assert_eq!(
        f.verify(&with(tlv(0x04, b"other")), Some(sent)),
        Err(OcspError::NonceMismatch)
    );
    // Not sent: whatever the response carries is not compared.
    assert!(f.verify(&rfc8954, None).is_ok());
    // Sent, but the responder gives none (a cached response): fresh, so accepted.
    assert!(f.verify(&f.response().build(), Some(sent)).is_ok());
    // ... and when stale, refused by the freshness rules.
    let stale = Response {
        singles: vec![Single {
            this_update: f.now - 2 * 86_400,
            next_update: Some(f.now - 86_400),
            ..f.single(good())
        }],
        ..f.response()
    };
    assert!(matches!(
        f.verify(&stale.build(), Some(sent)),
        Err(OcspError::Expired { .. })
    ));
}

#[test]
fn with_require_nonce_an_answer_without_the_nonce_is_refused() {
    // The replay of issue 20: a "good" answer captured before the revocation carries no
    // nonce (or another one); with requireNonce it is refused, whatever its dates say.
    let f = Fixture::new(Alg::P256);
    let sent = b"0123456789abcdef";
    let strict = Freshness {
        require_nonce: true,
        ..f.fresh()
    };
    let without = f.response().build();
    assert_eq!(
        f.verify_at(&without, Some(sent), &strict),
        Err(OcspError::NonceMissing)
    );
    assert_eq!(
        f.verify_at(&without, None, &strict),
        Err(OcspError::NonceMissing),
        "nothing sent cannot satisfy requireNonce"
    );
    let echoed = Response {
        extensions: vec![extension(NONCE_OID, false, &tlv(0x04, sent))],
        ..f.response()
    }
    .build();
    assert_eq!(
        f.verify_at(&echoed, Some(sent), &strict).unwrap().status,
        Status::Good
    );
    assert!(
        f.verify_at(&echoed, None, &strict).is_err(),
        "an echoed nonce without one sent is no proof of freshness"
    );
    assert!(
        OcspError::NonceMissing
            .to_string()
            .contains("ocsp.requireNonce")
    );
}

#[test]
fn an_answer_produced_or_dated_before_max_answer_age_is_refused_whatever_its_next_update() {
    // A day-long "good" answer captured an hour before the revocation is replayed: its
    // nextUpdate is in the future, but producedAt and thisUpdate are older than the bound.
    let f = Fixture::new(Alg::P256);
    let fresh = Freshness {
        max_answer_age: 3600,
        ..f.fresh()
    };
    let at = |produced: i64, this: i64| {
        Response {
            produced_at: produced,
            singles: vec![Single {
                this_update: this,
                next_update: Some(f.now + 86_400),
                ..f.single(good())
            }],
            ..f.response()
        }
        .build()
    };
    for (produced, this, field) in [(3601, 10, "producedAt"), (10, 3601, "thisUpdate")] {
        assert_eq!(
            f.verify_at(&at(f.now - produced, f.now - this), None, &fresh),
            Err(OcspError::Stale {
                field,
                at: f.now - 3601,
                max_age: 3600,
                now: f.now
            })
        );
    }
    // The bound is inclusive.
    assert!(
        f.verify_at(&at(f.now - 3600, f.now - 3600), None, &fresh)
            .is_ok()
    );
    let text = f
        .verify_at(&at(f.now - 7200, f.now - 10), None, &fresh)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("producedAt") && text.contains("ocsp.maxAgeSeconds"),
        "{text}"
    );
}

#[test]
fn a_revoked_answer_carries_its_reason() {
    let f = Fixture::new(Alg::P256);
    let at = f.now - 86_400;
    let hold = tlv(0xa1, &[gen_time(at), tlv(0xa0, &tlv(0x0a, &[6]))].concat());
    let r = Response {
        singles: vec![f.single(hold)],
        ..f.response()
    };
    assert_eq!(
        f.status(&r.build()),
        Status::Revoked {
            at,
            reason: Some(6)
        }
    );
    let bare = tlv(0xa1, &gen_time(at));
    let r = Response {
        singles: vec![f.single(bare)],
        ..f.response()
    };
    assert_eq!(f.status(&r.build()), Status::Revoked { at, reason: None });
    // A reason that is not one ENUMERATED octet is malformed.
    let long = tlv(
        0xa1,
        &[gen_time(at), tlv(0xa0, &tlv(0x0a, &[0, 6]))].concat(),
    );
    let r = Response {
        singles: vec![f.single(long)],
        ..f.response()
    };
    assert!(f.verify(&r.build(), None).is_err());
}

// ---------------------------------------------------------------------------------------------
// Rule 5: freshness.

fn dated(f: &Fixture, this_update: i64, next_update: Option<i64>) -> Vec<u8> {
    Response {
        singles: vec![Single {
            this_update,
            next_update,
            ..f.single(good())
        }],
        ..f.response()
    }
    .build()
}

#[test]
fn a_stale_answer_is_refused_naming_the_times() {
    let f = Fixture::new(Alg::P256);
    let e = f
        .verify(&dated(&f, f.now - 86_400, Some(f.now - 301)), None)
        .unwrap_err();
    assert_eq!(
        e,
        OcspError::Expired {
            next_update: f.now - 301,
            now: f.now
        }
    );
    let text = e.to_string();
    assert!(
        text.contains("expired at") && text.contains("now is"),
        "{text}"
    );
    // Within the skew, up to its last second.
    assert!(
        f.verify(&dated(&f, f.now - 86_400, Some(f.now - 299)), None)
            .is_ok()
    );
    assert!(
        f.verify(&dated(&f, f.now - 86_400, Some(f.now - 300)), None)
            .is_ok()
    );
}

#[test]
fn a_this_update_in_the_future_is_refused() {
    let f = Fixture::new(Alg::P256);
    assert_eq!(
        f.verify(&dated(&f, f.now + 301, Some(f.now + 86_400)), None),
        Err(OcspError::NotYetValid {
            this_update: f.now + 301,
            now: f.now
        })
    );
    assert!(
        f.verify(&dated(&f, f.now + 299, Some(f.now + 86_400)), None)
            .is_ok()
    );
    assert!(
        f.verify(&dated(&f, f.now + 300, Some(f.now + 86_400)), None)
            .is_ok()
    );
}

#[test]
fn without_next_update_the_answer_must_be_younger_than_max_age() {
    let f = Fixture::new(Alg::P256);
    let max_age = f.fresh().max_age;
    assert_eq!(
        f.verify(&dated(&f, f.now - max_age - 1, None), None),
        Err(OcspError::TooOld {
            this_update: f.now - max_age - 1,
            max_age,
            now: f.now
        })
    );
    let answer = f
        .verify(&dated(&f, f.now - max_age + 1, None), None)
        .unwrap();
    assert_eq!(answer.next_update, None);
    assert!(f.verify(&dated(&f, f.now - max_age, None), None).is_ok());
    // The same old thisUpdate is fine when a nextUpdate vouches for now.
    assert!(
        f.verify(&dated(&f, f.now - max_age - 1, Some(f.now + 60)), None)
            .is_ok()
    );
}

// ---------------------------------------------------------------------------------------------
// Rule 6: critical extensions.

#[test]
fn an_unknown_critical_extension_is_refused() {
    let f = Fixture::new(Alg::P256);
    let odd = [0x2b, 6, 1, 4, 1, 0x82, 0x37, 0x63];
    let response_level = |critical| Response {
        extensions: vec![extension(&odd, critical, &[0x05, 0x00])],
        ..f.response()
    };
    let single_level = |critical| Response {
        singles: vec![Single {
            extensions: vec![extension(&odd, critical, &[0x05, 0x00])],
            ..f.single(good())
        }],
        ..f.response()
    };
    for r in [response_level(true), single_level(true)] {
        let e = f.verify(&r.build(), None).unwrap_err();
        assert_eq!(
            e,
            OcspError::UnknownCriticalExtension {
                oid: "1.3.6.1.4.1.311.99".into()
            }
        );
    }
    for r in [response_level(false), single_level(false)] {
        assert!(f.verify(&r.build(), None).is_ok());
    }
    // The nonce is known, critical or not.
    let r = Response {
        extensions: vec![extension(NONCE_OID, true, &tlv(0x04, b"n"))],
        ..f.response()
    };
    assert!(f.verify(&r.build(), Some(b"n")).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Rule 7: malformed input.

#[test]
fn truncated_or_altered_responses_are_errors_never_panics() {
    let f = Fixture::new(Alg::P256);
    let (cert, key) = f.ca.responder();
    let r = Response {
        responder_id: by_name(&parse(&cert).subject),
        certs: vec![cert],
        signer: &key,
        extensions: vec![extension(NONCE_OID, false, &tlv(0x04, b"nonce"))],
        singles: vec![
            Single {
                cert_id: cert_id_der(&f.issuer, &[0x77]),
                ..f.single(unknown())
            },
            f.single(revoked(f.now - 100)),
        ],
        ..f.response()
    };
    let der = r.build();
    let expected = f.verify(&der, Some(b"nonce")).unwrap();
    for len in 0..der.len() {
        assert!(
            f.verify(&der[..len], Some(b"nonce")).is_err(),
            "truncated at {len}"
        );
    }
    let mut accepted = 0;
    for i in 0..der.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut altered = der.clone();
            altered[i] ^= flip;
            if let Ok(answer) = f.verify(&altered, Some(b"nonce")) {
                // Only bytes outside what is signed and checked could ever be changed this way.
                assert_eq!(answer, expected, "byte {i} ^ {flip:#x}");
                accepted += 1;
            }
        }
    }
    assert_eq!(accepted, 0, "every byte is checked");
    // Trailing data, and junk.
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(matches!(
        f.verify(&trailing, None),
        Err(OcspError::Malformed(_))
    ));
    for junk in [
        &b""[..],
        b"\x30\x80",
        b"\x30\x03\x0a\x01",
        b"not DER at all",
    ] {
        assert!(matches!(f.verify(junk, None), Err(OcspError::Malformed(_))));
    }
}

// ---------------------------------------------------------------------------------------------
// Requests and the cache key.

#[test]
fn cert_id_hashes_the_issuer_name_and_key_bits() {
    let f = Fixture::new(Alg::P256);
    assert_eq!(f.id.issuer_name_hash.to_vec(), sha1(&f.issuer.subject));
    assert_eq!(f.id.issuer_key_hash.to_vec(), sha1(&f.issuer.key_bits));
    assert_eq!(f.id.serial, f.leaf.serial);
    assert_eq!(f.id.to_der(), cert_id_der(&f.issuer, &f.leaf.serial));
    let other = CertId {
        serial: vec![0x10, 0x02],
        ..f.id.clone()
    };
    assert_ne!(f.id.key(), other.key());
    assert_eq!(f.id.key(), f.id.clone().key());
}

// ---------------------------------------------------------------------------------------------
// Interoperability with OpenSSL.

/// `openssl ocsp` as the responder, for one request, answered from an index.
fn openssl_answer(dir: &TempDir, ca: &Ca, index: &str, req: &[u8], extra: &[&str]) -> Vec<u8> {
    ocsp_answer(&dir.0, &ca.pem, &ca.key.serialize_pem(), index, req, extra)
}

#[test]
fn openssl_parses_our_request_and_answers_good_and_revoked() {
    let dir = TempDir::new("ocsp-interop");
    for alg in [Alg::P256, Alg::Rsa] {
        let f = Fixture::new(alg);
        let revoked_leaf = f.ca.leaf(0x1002);
        let index = "V\t360101000000Z\t\t1001\tunknown\t/CN=leaf\n\
                     R\t360101000000Z\t240102030405Z\t1002\tunknown\t/CN=leaf\n";
        let nonce = b"0123456789abcdef";

        // Our request, as OpenSSL reads it.
        let req = request(&f.id, Some(nonce));
        std::fs::write(dir.0.join("req.der"), &req).unwrap();
        let text = openssl(
            &dir.0,
            &["ocsp", "-reqin", "req.der", "-req_text", "-noverify"],
        );
        assert!(text.contains("Serial Number: 1001"), "{text}");
        assert!(text.contains("Hash Algorithm: sha1"), "{text}");
        assert!(text.contains("OCSP Nonce"), "{text}");
        assert!(text.contains("30313233343536373839616263646566"), "{text}");

        let issuer = Issuer {
            subject: &f.issuer.subject,
            spki: &f.issuer.spki,
        };
        for extra in [&[][..], &["-resp_key_id"]] {
            // Good, with the nonce echoed (another nonce is refused, so it was there).
            let resp = openssl_answer(&dir, &f.ca, index, &req, extra);
            let answer = verify_response(&resp, &f.id, &issuer, Some(nonce), &f.fresh()).unwrap();
            assert_eq!(answer.status, Status::Good);
            assert!(answer.next_update.is_some());
            assert_eq!(
                verify_response(&resp, &f.id, &issuer, Some(b"another nonce"), &f.fresh()),
                Err(OcspError::NonceMismatch)
            );

            // Revoked, with OpenSSL's revocation time.
            let id = CertId::new(&f.issuer.subject, &f.issuer.spki, &revoked_leaf.serial).unwrap();
            let resp = openssl_answer(&dir, &f.ca, index, &request(&id, None), extra);
            let answer = verify_response(&resp, &id, &issuer, None, &f.fresh()).unwrap();
            assert_eq!(
                answer.status,
                Status::Revoked {
                    at: 1_704_164_645,
                    reason: None
                }
            );
            // The answer is about that serial only.
            assert_eq!(
                verify_response(&resp, &f.id, &issuer, None, &f.fresh()),
                Err(OcspError::NoAnswer)
            );
        }
    }
}
