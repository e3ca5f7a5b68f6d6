//! Certificate decoding and date checks: strict input, inclusive bounds, exact header value.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use client_cert_auth::LeafCertificate;
use client_cert_auth::envoy_url_encode;
use client_cert_auth::{CertError, MAX_CERTIFICATE_PEM_BYTES};
use testkit::pki::pem_of;
use testkit::pki::{Ca, unix};
use time::{Duration, OffsetDateTime};

#[test]
fn valid_pem_decodes_and_forwards_base64_of_the_der() {
    let leaf = Ca::new("ca").client("alice");
    let cert = LeafCertificate::from_property(leaf.cert_pem.as_bytes()).unwrap();
    assert_eq!(cert.der, leaf.der);
    assert_eq!(cert.arr_header_value(), STANDARD.encode(&leaf.der));
    assert!(!cert.arr_header_value().contains(['\n', '-']));
}

#[test]
fn percent_escaped_and_crlf_pem_are_accepted() {
    let leaf = Ca::new("ca").client("alice");
    for variant in [
        envoy_url_encode(&leaf.cert_pem),
        leaf.cert_pem.replace('\n', "\r\n"),
        format!("\n  {}  \n", leaf.cert_pem),
    ] {
        let cert = LeafCertificate::from_property(variant.as_bytes()).unwrap();
        assert_eq!(cert.der, leaf.der, "{variant:?}");
    }
}

#[test]
fn malformed_input_is_invalid_never_absent() {
    let ca = Ca::new("ca");
    let leaf = ca.client("alice");
    let other = ca.client("bob");
    let mut trailing = leaf.der.clone();
    trailing.extend_from_slice(b"\x00\x01extra");
    let truncated = &leaf.der[..leaf.der.len() - 10];
    type Expected = fn(&CertError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Expected)> = vec![
        ("empty", b"".to_vec(), |e| *e == CertError::NotPem),
        ("not PEM", b"hello".to_vec(), |e| *e == CertError::NotPem),
        ("raw DER", leaf.der.clone(), |e| {
            matches!(e, CertError::NotPem | CertError::BadPercentEncoding)
        }),
        (
            "two blocks",
            format!("{}{}", leaf.cert_pem, other.cert_pem).into_bytes(),
            |e| *e == CertError::MultipleBlocks,
        ),
        (
            "text before",
            format!("junk\n{}", leaf.cert_pem).into_bytes(),
            |e| *e == CertError::NotPem,
        ),
        (
            "text after",
            format!("{}junk", leaf.cert_pem).into_bytes(),
            |e| *e == CertError::NotPem,
        ),
        (
            "private key block",
            leaf.key_pem.clone().into_bytes(),
            |e| *e == CertError::NotPem,
        ),
        (
            "bad base64",
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----".to_vec(),
            |e| *e == CertError::BadBase64,
        ),
        (
            "empty body",
            b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----".to_vec(),
            |e| *e == CertError::BadBase64,
        ),
        (
            "missing padding",
            pem_of(&leaf.der[..leaf.der.len() - 1])
                .replace('=', "")
                .into_bytes(),
            |e| matches!(e, CertError::BadBase64 | CertError::Malformed { .. }),
        ),
        ("trailing DER bytes", pem_of(&trailing).into_bytes(), |e| {
            matches!(e, CertError::TrailingData { len: 7 })
        }),
        ("truncated DER", pem_of(truncated).into_bytes(), |e| {
            matches!(e, CertError::Malformed { .. })
        }),
        (
            "not a certificate",
            pem_of(b"\x30\x03\x02\x01\x01").into_bytes(),
            |e| matches!(e, CertError::Malformed { .. }),
        ),
        ("bad percent escape", b"%zz".to_vec(), |e| {
            *e == CertError::BadPercentEncoding
        }),
        ("cut percent escape", b"abc%4".to_vec(), |e| {
            *e == CertError::BadPercentEncoding
        }),
        ("not UTF-8", b"\xff\xfe".to_vec(), |e| {
            *e == CertError::NotPem
        }),
        ("huge", vec![b'A'; MAX_CERTIFICATE_PEM_BYTES + 1], |e| {
            matches!(e, CertError::TooLarge { .. })
        }),
    ];
    for (name, input, expected) in cases {
        let err = LeafCertificate::from_property(&input).unwrap_err();
        assert!(expected(&err), "{name}: {err:?}");
        assert_eq!(err.kind(), "malformed", "{name}");
    }
}

#[test]
fn validity_bounds_are_inclusive_to_the_second() {
    let nb = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let na = nb + Duration::days(30);
    let leaf = Ca::new("ca").client_between("edge", nb, na);
    let cert = LeafCertificate::from_property(leaf.cert_pem.as_bytes()).unwrap();
    assert_eq!((cert.not_before, cert.not_after), (unix(nb), unix(na)));

    assert_eq!(cert.check_dates(unix(nb)), Ok(()), "first valid second");
    assert_eq!(cert.check_dates(unix(na)), Ok(()), "last valid second");
    assert_eq!(
        cert.check_dates(unix(nb) - 1),
        Err(CertError::NotYetValid {
            not_before: unix(nb),
            now: unix(nb) - 1
        })
    );
    assert_eq!(
        cert.check_dates(unix(na) + 1),
        Err(CertError::Expired {
            not_after: unix(na),
            now: unix(na) + 1
        })
    );
}

#[test]
fn error_messages_read_as_sentences_with_context() {
    let e = CertError::Expired {
        not_after: 10,
        now: 11,
    };
    assert_eq!(
        e.to_string(),
        "certificate has expired: notAfter 1970-01-01T00:00:10Z is before now 1970-01-01T00:00:11Z"
    );
    assert_eq!(e.kind(), "expired");
    assert_eq!(
        CertError::NotYetValid {
            not_before: 5,
            now: 4
        }
        .kind(),
        "not_yet_valid"
    );
}
