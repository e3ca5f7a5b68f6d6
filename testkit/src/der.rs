//! DER by hand, independent of the crate's own encoder: the CRLs and OCSP answers the tests
//! build field by field, so that each rule can be broken on its own while the signature still
//! verifies.

use rcgen::SigningKey;
use time::OffsetDateTime;

use crate::pki::Ca;

/// One element: `tag`, the DER length of `contents` (short form below 128, else 0x80 with the
/// number of length octets, then those octets), `contents`.
pub fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let len = contents.len();
    let length = if len < 0x80 {
        vec![len as u8]
    } else {
        let octets: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        [&[0x80 | octets.len() as u8][..], &octets].concat()
    };
    [&[tag][..], &length, contents].concat()
}

/// A SEQUENCE of these elements.
pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// `YYYYMMDDHHMMSSZ` of Unix seconds `t`, the year cut to its last `year_digits` digits.
pub fn time_text(t: i64, year_digits: usize) -> String {
    let d = OffsetDateTime::from_unix_timestamp(t).unwrap();
    let year = format!("{:04}", d.year());
    format!(
        "{}{:02}{:02}{:02}{:02}{:02}Z",
        &year[4 - year_digits..],
        d.month() as u8,
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// A GeneralizedTime.
pub fn gen_time(t: i64) -> Vec<u8> {
    tlv(0x18, time_text(t, 4).as_bytes())
}

/// A UTCTime.
pub fn utc_time(t: i64) -> Vec<u8> {
    tlv(0x17, time_text(t, 2).as_bytes())
}

/// A non-negative INTEGER, minimal.
pub fn uint(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut contents = bytes[skip..].to_vec();
    if contents[0] & 0x80 != 0 {
        contents.insert(0, 0);
    }
    tlv(0x02, &contents)
}

/// An Extension: its OID, the critical flag when set, the value in an OCTET STRING.
pub fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let flag = if critical { tlv(0x01, &[0xff]) } else { vec![] };
    seq(&[&tlv(0x06, oid), &flag, &tlv(0x04, value)])
}

/// `tbs` signed with the (P-256) key of `ca`: the SEQUENCE of `tbs`, ecdsa-with-SHA256 and
/// the signature's BIT STRING.
pub fn sign(ca: &Ca, tbs: &[u8]) -> Vec<u8> {
    let signature = ca.key().sign(tbs).unwrap();
    seq(&[
        tbs,
        &tlv(0x30, rustls_pki_types::alg_id::ECDSA_SHA256.as_ref()),
        &tlv(0x03, &[&[0][..], &signature].concat()),
    ])
}

/// id-sha1.
pub const SHA1_OID: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
/// id-sha256.
pub const SHA256_OID: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
/// id-pkix-ocsp-basic.
pub const BASIC_OID: &[u8] = &[0x2b, 6, 1, 5, 5, 7, 0x30, 1, 1];
/// id-pkix-ocsp-nonce.
pub const NONCE_OID: &[u8] = &[0x2b, 6, 1, 5, 5, 7, 0x30, 1, 2];
/// id-ce-cRLNumber.
pub const CRL_NUMBER_OID: &[u8] = &[0x55, 0x1d, 0x14];
