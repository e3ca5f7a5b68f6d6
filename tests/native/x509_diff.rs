//! The crate's certificate reader (`src/cert/x509.rs`) against x509-parser, which the module
//! used before: every fact and every name printer equal on many certificates (built by rcgen,
//! and built field by field for what rcgen cannot write: multi-valued RDNs, negative serials,
//! every string type, every GeneralName kind), and on their mutations the new reader never
//! accepts what x509-parser refused nor reads different facts (`x509_oracle::compare`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rcgen::string::{BmpString, Ia5String, PrintableString, TeletexString, UniversalString};
use rcgen::{
    CertificateParams, CrlDistributionPoint, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose, OtherNameValue, SanType, SerialNumber,
};
use time::OffsetDateTime;

use crate::x509_oracle::{Agreement, compare, new_facts};

fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

fn attr(oid: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
    seq(&[tlv(0x06, oid), tlv(tag, value)])
}

/// One attribute to write: OID contents, value tag, value contents.
type Attr<'a> = (&'a [u8], u8, Vec<u8>);

/// A Name of RDNs, each a list of attributes.
fn name(rdns: &[Vec<Attr<'_>>]) -> Vec<u8> {
    let sets: Vec<Vec<u8>> = rdns
        .iter()
        .map(|rdn| {
            let attrs: Vec<Vec<u8>> = rdn.iter().map(|(o, t, v)| attr(o, *t, v)).collect();
            tlv(0x31, &attrs.concat())
        })
        .collect();
    seq(&sets)
}

fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![tlv(0x06, oid)];
    if critical {
        parts.push(vec![0x01, 0x01, 0xff]);
    }
    parts.push(tlv(0x04, value));
    seq(&parts)
}

struct Spec {
    serial: Vec<u8>,
    issuer: Vec<u8>,
    subject: Vec<u8>,
    not_before: Vec<u8>,
    not_after: Vec<u8>,
    extensions: Vec<Vec<u8>>,
}

fn certificate(spec: &Spec) -> Vec<u8> {
    let alg = seq(&[tlv(0x06, ECDSA_SHA256)]);
    let spki = seq(&[
        seq(&[
            tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
            tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
        ]),
        tlv(0x03, &[&[0x00, 0x04][..], &[0x11; 64]].concat()),
    ]);
    let mut tbs = vec![
        tlv(0xa0, &tlv(0x02, &[2])),
        tlv(0x02, &spec.serial),
        alg.clone(),
        spec.issuer.clone(),
        seq(&[spec.not_before.clone(), spec.not_after.clone()]),
        spec.subject.clone(),
        spki,
    ];
    if !spec.extensions.is_empty() {
        tbs.push(tlv(0xa3, &seq(&spec.extensions)));
    }
    seq(&[seq(&tbs), alg, tlv(0x03, &[0x00, 0x30, 0x00])])
}

const CN: &[u8] = &[0x55, 0x04, 0x03];
const O: &[u8] = &[0x55, 0x04, 0x0a];
const OU: &[u8] = &[0x55, 0x04, 0x0b];
const C: &[u8] = &[0x55, 0x04, 0x06];
const SERIAL_NUMBER: &[u8] = &[0x55, 0x04, 0x05];
const DC: &[u8] = &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19];
const EMAIL: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];
const UNKNOWN: &[u8] = &[0x2a, 0x03, 0x04];

fn names() -> Vec<Vec<u8>> {
    let utf8 = |s: &str| s.as_bytes().to_vec();
    let bmp = |s: &str| {
        s.encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect::<Vec<u8>>()
    };
    vec![
        name(&[]),
        name(&[vec![(CN, 0x0c, utf8("alice"))]]),
        name(&[
            vec![(DC, 0x16, utf8("com"))],
            vec![(DC, 0x16, utf8("contoso"))],
            vec![(O, 0x13, utf8("Contoso, Ltd"))],
            vec![(OU, 0x0c, utf8(" lead")), (OU, 0x0c, utf8("a=b"))],
            vec![(CN, 0x0c, utf8("José #1 "))],
        ]),
        name(&[vec![
            (CN, 0x0c, utf8("alice")),
            (OU, 0x13, utf8("admins")),
            (C, 0x13, utf8("DE")),
        ]]),
        name(&[
            vec![(CN, 0x1e, bmp("Bmp name"))],
            vec![(O, 0x14, utf8("teletex"))],
            vec![(OU, 0x1c, vec![0, 0, 0, 0x41])],
            vec![(SERIAL_NUMBER, 0x12, utf8("12345"))],
            vec![(EMAIL, 0x16, utf8("a@B.example"))],
        ]),
        name(&[
            vec![(CN, 0x0c, utf8("#lead\"q\\;<>+,"))],
            vec![(UNKNOWN, 0x0c, utf8("odd"))],
            vec![(UNKNOWN, 0x02, vec![0x01])],
            vec![(CN, 0x0c, vec![0xff, 0xfe])],
            vec![(CN, 0x0c, utf8("  trimmed\t"))],
        ]),
        name(&[
            vec![(CN, 0x0c, utf8("ctl\u{1}\u{7f}é\n"))],
            vec![(CN, 0x13, utf8(""))],
        ]),
        name(&[vec![(O, 0x30, seq(&[tlv(0x02, &[5])]))]]),
    ]
}

fn times() -> Vec<(Vec<u8>, Vec<u8>)> {
    let utc = |s: &str| tlv(0x17, s.as_bytes());
    let generalized = |s: &str| tlv(0x18, s.as_bytes());
    vec![
        (utc("250101000000Z"), utc("491231235959Z")),
        (utc("500101000000Z"), utc("991231235959Z")),
        (utc("700101000000Z"), generalized("20500101000000Z")),
        (
            generalized("19491231235959Z"),
            generalized("99991231235959Z"),
        ),
        (
            generalized("20240229120000Z"),
            generalized("20491231235959.123Z"),
        ),
        (utc("000229000000Z"), utc("380119031408Z")),
    ]
}

fn serials() -> Vec<Vec<u8>> {
    vec![
        vec![0x01],
        vec![0x00],
        vec![0x00, 0x80],
        vec![0x00, 0xff, 0x01],
        vec![0xff],
        vec![0x80],
        vec![0x80, 0x00, 0x00],
        vec![0xfe, 0x00],
        (1..=20).collect(),
        vec![0x00, 0x00, 0x01],
    ]
}

fn general_names() -> Vec<Vec<u8>> {
    let dn_name = name(&[vec![(CN, 0x0c, b"dir".to_vec())]]);
    vec![
        tlv(0x82, b"Example.COM"),
        tlv(0x82, b"*.wild.example"),
        tlv(0x81, b"Alice@Example.COM"),
        tlv(0x86, b"spiffe://trust/ns/default/sa/alice"),
        tlv(0x87, &[192, 0, 2, 1]),
        tlv(
            0x87,
            &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        ),
        tlv(
            0x87,
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1],
        ),
        tlv(
            0xa0,
            &[
                tlv(
                    0x06,
                    &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03],
                ),
                tlv(0xa0, &tlv(0x0c, b"upn@example")),
            ]
            .concat(),
        ),
        tlv(0xa4, &dn_name),
        tlv(0x88, &[0x2a, 0x03]),
        tlv(0x82, &[0xff, 0x61]),
    ]
}

fn extensions_sets() -> Vec<Vec<Vec<u8>>> {
    let san_all = seq(&general_names());
    let eku = |oids: &[&[u8]]| seq(&oids.iter().map(|o| tlv(0x06, o)).collect::<Vec<_>>());
    let client: &[u8] = &[0x2b, 6, 1, 5, 5, 7, 3, 2];
    let server: &[u8] = &[0x2b, 6, 1, 5, 5, 7, 3, 1];
    let ocsp_signing: &[u8] = &[0x2b, 6, 1, 5, 5, 7, 3, 9];
    let any: &[u8] = &[0x55, 0x1d, 0x25, 0x00];
    let aia = seq(&[
        seq(&[
            tlv(0x06, &[0x2b, 6, 1, 5, 5, 7, 48, 2]),
            tlv(0x86, b"http://ca/ca.crt"),
        ]),
        seq(&[
            tlv(0x06, &[0x2b, 6, 1, 5, 5, 7, 48, 1]),
            tlv(0x86, b"http://ocsp.one/"),
        ]),
        seq(&[
            tlv(0x06, &[0x2b, 6, 1, 5, 5, 7, 48, 1]),
            tlv(0x82, b"dns.not.uri"),
        ]),
        seq(&[
            tlv(0x06, &[0x2b, 6, 1, 5, 5, 7, 48, 1]),
            tlv(0x86, b"http://ocsp.two/"),
        ]),
    ]);
    let crldp = seq(&[seq(&[tlv(
        0xa0,
        &tlv(0xa0, &tlv(0x86, b"http://crl/ca.crl")),
    )])]);
    let ku = |bytes: &[u8]| tlv(0x03, bytes);
    vec![
        vec![],
        vec![extension(&[0x55, 0x1d, 0x11], false, &san_all)],
        vec![
            extension(&[0x55, 0x1d, 0x11], true, &seq(&[])),
            extension(&[0x55, 0x1d, 0x25], false, &eku(&[client, server])),
            extension(&[0x55, 0x1d, 0x0f], true, &ku(&[0x07, 0x80])),
        ],
        vec![
            extension(&[0x55, 0x1d, 0x25], false, &eku(&[any, ocsp_signing])),
            extension(&[0x55, 0x1d, 0x0f], true, &ku(&[0x01, 0x06])),
            extension(
                &[0x55, 0x1d, 0x13],
                true,
                &seq(&[vec![0x01, 0x01, 0xff], tlv(0x02, &[3])]),
            ),
        ],
        vec![
            extension(&[0x55, 0x1d, 0x13], false, &seq(&[])),
            extension(&[0x2b, 6, 1, 5, 5, 7, 1, 1], false, &aia),
            extension(&[0x55, 0x1d, 0x1f], false, &crldp),
            extension(&[0x55, 0x1d, 0x0f], false, &ku(&[0x00, 0x88, 0x80])),
        ],
        vec![
            extension(&[0x55, 0x1d, 0x25], false, &eku(&[])),
            extension(UNKNOWN, true, &[0x05, 0x00]),
            extension(
                &[0x55, 0x1d, 0x13],
                false,
                &seq(&[tlv(0x02, &[0x00, 0x80])]),
            ),
            extension(&[0x55, 0x1d, 0x0f], false, &ku(&[0x00])),
        ],
    ]
}

fn hand_built() -> Vec<Vec<u8>> {
    let (names, times, serials, exts) = (names(), times(), serials(), extensions_sets());
    let mut out = Vec::new();
    // Every value of each dimension, beside a rotating choice of the others.
    let count = names.len() * times.len() * exts.len();
    for i in 0..count {
        out.push(certificate(&Spec {
            serial: serials[i % serials.len()].clone(),
            issuer: names[(i / 3) % names.len()].clone(),
            subject: names[i % names.len()].clone(),
            not_before: times[(i / names.len()) % times.len()].0.clone(),
            not_after: times[(i / names.len()) % times.len()].1.clone(),
            extensions: exts[(i / (names.len() * times.len())) % exts.len()].clone(),
        }));
    }
    out
}

fn rcgen_built() -> Vec<Vec<u8>> {
    let key = KeyPair::generate().unwrap();
    let date = |y: i32, m: u8, d: u8| {
        OffsetDateTime::new_utc(
            time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap(),
            time::Time::MIDNIGHT,
        )
    };
    let mut out = Vec::new();
    let subjects: Vec<Vec<(DnType, DnValue)>> = vec![
        vec![],
        vec![(DnType::CommonName, DnValue::Utf8String("alice".into()))],
        vec![
            (
                DnType::CountryName,
                DnValue::PrintableString(PrintableString::try_from("US").unwrap()),
            ),
            (
                DnType::OrganizationName,
                DnValue::Utf8String("Contoso, \"Ltd\"; <x>".into()),
            ),
            (
                DnType::OrganizationalUnitName,
                DnValue::TeletexString(TeletexString::try_from("unit").unwrap()),
            ),
            (
                DnType::CommonName,
                DnValue::BmpString(BmpString::try_from("bmp ü").unwrap()),
            ),
        ],
        vec![
            (
                DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
                DnValue::Ia5String(Ia5String::try_from("com").unwrap()),
            ),
            (
                DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
                DnValue::Ia5String(Ia5String::try_from("a@b.example").unwrap()),
            ),
            (
                DnType::CommonName,
                DnValue::UniversalString(UniversalString::try_from("universal").unwrap()),
            ),
            (
                DnType::CustomDnType(vec![1, 2, 3, 4]),
                DnValue::Utf8String(" =#lead ".into()),
            ),
        ],
    ];
    let dates = [
        (date(2020, 1, 1), date(2049, 12, 31)),
        (date(1950, 1, 1), date(2050, 1, 1)),
        (date(2049, 12, 31), date(2050, 1, 2)),
        (date(1949, 12, 31), date(2100, 2, 28)),
    ];
    let serials: [&[u8]; 4] = [&[0x01], &[0x00, 0x80, 0x01], &[0x80, 0x01], &[0x7f; 20]];
    for (i, subject) in subjects.iter().enumerate() {
        for (j, (nb, na)) in dates.iter().enumerate() {
            let mut params = CertificateParams::default();
            let mut dn = DistinguishedName::new();
            for (t, v) in subject {
                dn.push(t.clone(), v.clone());
            }
            params.distinguished_name = dn;
            params.not_before = *nb;
            params.not_after = *na;
            params.serial_number = Some(SerialNumber::from_slice(serials[(i + j) % serials.len()]));
            params.subject_alt_names = vec![
                SanType::DnsName(Ia5String::try_from("Host.Example").unwrap()),
                SanType::IpAddress("192.0.2.7".parse().unwrap()),
                SanType::IpAddress("2001:db8::1".parse().unwrap()),
                SanType::Rfc822Name(Ia5String::try_from("x@Y.example").unwrap()),
                SanType::URI(Ia5String::try_from("spiffe://t/x").unwrap()),
                SanType::OtherName((
                    vec![1, 3, 6, 1, 4, 1, 311, 20, 2, 3],
                    OtherNameValue::Utf8String("upn".into()),
                )),
            ][..(i + j) % 7]
                .to_vec();
            if j % 2 == 0 {
                params.extended_key_usages = vec![
                    ExtendedKeyUsagePurpose::ClientAuth,
                    ExtendedKeyUsagePurpose::OcspSigning,
                ];
                params.key_usages =
                    vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
                params.crl_distribution_points = vec![CrlDistributionPoint {
                    uris: vec!["http://crl.example/a.crl".into()],
                }];
            } else {
                params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(2));
                params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
            }
            out.push(params.self_signed(&key).unwrap().der().to_vec());
        }
    }
    out
}

#[test]
fn the_reader_extracts_exactly_what_x509_parser_extracted() {
    let all: Vec<Vec<u8>> = hand_built().into_iter().chain(rcgen_built()).collect();
    assert!(all.len() > 250, "{}", all.len());
    for (i, der) in all.iter().enumerate() {
        assert_eq!(compare(der), Ok(Agreement::BothAccept), "certificate {i}");
    }
}

#[test]
fn on_mutations_the_reader_never_accepts_more_or_reads_otherwise() {
    let mut stricter = 0;
    let mut seen = 0;
    for der in hand_built()
        .iter()
        .step_by(7)
        .chain(rcgen_built().iter().step_by(3))
    {
        // Every byte changed, every truncation, and a byte inserted at every position.
        for i in 0..der.len() {
            for mutated in [
                {
                    let mut m = der.clone();
                    m[i] ^= 0x01;
                    m
                },
                {
                    let mut m = der.clone();
                    m[i] = m[i].wrapping_add(0x80);
                    m
                },
                der[..i].to_vec(),
                [&der[..i], &[0x00], &der[i..]].concat(),
            ] {
                seen += 1;
                match compare(&mutated) {
                    Ok(Agreement::StricterRefusal(_)) => stricter += 1,
                    Ok(_) => {}
                    Err(e) => panic!("mutation at {i}: {e}"),
                }
            }
        }
    }
    assert!(seen > 10_000, "{seen}");
    // The reader is stricter than x509-parser on a small share of mutations (bytes after a
    // structure's last field, non-DER BOOLEANs in odd places, impossible dates and so on).
    eprintln!("{stricter} of {seen} mutations refused by the reader only");
}

#[test]
fn what_x509_parser_passed_over_the_reader_refuses() {
    let base = Spec {
        serial: vec![1],
        issuer: name(&[vec![(CN, 0x0c, b"ca".to_vec())]]),
        subject: name(&[vec![(CN, 0x0c, b"leaf".to_vec())]]),
        not_before: tlv(0x17, b"250101000000Z"),
        not_after: tlv(0x17, b"350101000000Z"),
        extensions: vec![],
    };
    let san = |value: &[u8]| extension(&[0x55, 0x1d, 0x11], false, value);
    let cases: Vec<(&str, Spec)> = vec![
        (
            "a Name with a NULL after its last RDN",
            Spec {
                subject: tlv(
                    0x30,
                    &[
                        &name(&[vec![(CN, 0x0c, b"x".to_vec())]])[2..],
                        &[0x05, 0x00],
                    ]
                    .concat(),
                ),
                ..base_clone(&base)
            },
        ),
        (
            "a subjectAltName twice",
            Spec {
                extensions: vec![san(&seq(&[tlv(0x82, b"a")])), san(&seq(&[tlv(0x82, b"b")]))],
                ..base_clone(&base)
            },
        ),
        (
            "any extension twice",
            Spec {
                extensions: vec![
                    extension(UNKNOWN, false, &[5, 0]),
                    extension(UNKNOWN, false, &[5, 0]),
                ],
                ..base_clone(&base)
            },
        ),
        (
            "bytes after the subjectAltName SEQUENCE",
            Spec {
                extensions: vec![san(&[seq(&[tlv(0x82, b"a")]), vec![5, 0]].concat())],
                ..base_clone(&base)
            },
        ),
        (
            "a malformed authorityInfoAccess",
            Spec {
                extensions: vec![extension(
                    &[0x2b, 6, 1, 5, 5, 7, 1, 1],
                    false,
                    &[0x30, 0x01, 0x00],
                )],
                ..base_clone(&base)
            },
        ),
        (
            "a malformed basicConstraints",
            Spec {
                extensions: vec![extension(
                    &[0x55, 0x1d, 0x13],
                    true,
                    &seq(&[tlv(0x02, &[0xff])]),
                )],
                ..base_clone(&base)
            },
        ),
        (
            "the 30th of February",
            Spec {
                not_after: tlv(0x17, b"350230000000Z"),
                ..base_clone(&base)
            },
        ),
    ];
    for (what, spec) in cases {
        let der = certificate(&spec);
        assert!(new_facts(&der).is_err(), "{what}");
        assert!(compare(&der).is_ok(), "{what}");
    }
}

fn base_clone(s: &Spec) -> Spec {
    Spec {
        serial: s.serial.clone(),
        issuer: s.issuer.clone(),
        subject: s.subject.clone(),
        not_before: s.not_before.clone(),
        not_after: s.not_after.clone(),
        extensions: s.extensions.clone(),
    }
}
