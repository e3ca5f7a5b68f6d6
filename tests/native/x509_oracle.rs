//! The differential oracle for the crate's certificate reader (`src/cert/x509.rs`): every fact
//! the crate extracts from a certificate, read once by the crate and once the way the crate read
//! it with x509-parser before (the code below is that code, kept as it was), so the two can be
//! compared. Shared by `tests/native/x509_diff.rs` and `fuzz/fuzz_targets/certificate.rs`.
#![allow(dead_code)]

use client_cert_auth::LeafCertificate;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::OID_X509_EXT_CRL_DISTRIBUTION_POINTS;
use x509_parser::x509::X509Name;

/// Everything read of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub raw_serial: Vec<u8>,
    pub serial: (bool, Vec<u8>),
    pub not_before: i64,
    pub not_after: i64,
    pub spki_sha256: Vec<u8>,
    pub subject_der: Vec<u8>,
    pub issuer_der: Vec<u8>,
    pub subject: Vec<(String, String)>,
    pub issuer: Vec<(String, String)>,
    pub common_name: Option<String>,
    pub subject_rfc4514: String,
    pub issuer_rfc4514: String,
    pub subject_openssl: String,
    pub issuer_openssl: String,
    /// Each kept subjectAltName entry as the crate's `San` prints with `{:?}`.
    pub sans: Vec<String>,
    pub client_auth_eku: Option<bool>,
    pub ocsp_signing_eku: Option<bool>,
    pub key_usage: Option<u16>,
    /// cA and pathLenConstraint; `None` without the extension (or, before, one that did not
    /// decode: the new reader refuses those, so a difference there is a refusal).
    pub basic_constraints: Option<(bool, Option<u32>)>,
    pub ocsp_urls: Vec<String>,
    pub crl_distribution_points: Option<Vec<u8>>,
}

/// A serial as the crate's `Serial::from_der_integer` reads it: sign and magnitude.
fn serial_of(content: &[u8]) -> (bool, Vec<u8>) {
    let negative = content.first().is_some_and(|b| b & 0x80 != 0);
    let mut m = content.to_vec();
    if negative {
        m = m.iter().map(|b| !b).collect();
        for byte in m.iter_mut().rev() {
            let (sum, carry) = byte.overflowing_add(1);
            *byte = sum;
            if !carry {
                break;
            }
        }
    }
    let first = m.iter().position(|&b| b != 0).unwrap_or(m.len());
    (negative, m[first..].to_vec())
}

/// The crate's reading.
pub fn new_facts(der: &[u8]) -> Result<Facts, String> {
    let (leaf, (ocsp_signing_eku, key_usage, basic_constraints)) =
        LeafCertificate::from_der_with(der.to_vec(), |c| {
            (
                c.extended_key_usage.map(|e| e.ocsp_signing),
                c.key_usage.map(|k| k.0),
                c.basic_constraints.map(|b| (b.ca, b.path_len)),
            )
        })
        .map_err(|e| format!("{e:?}"))?;
    Ok(Facts {
        raw_serial: leaf.raw_serial.clone(),
        serial: (
            leaf.facts.serial.negative,
            leaf.facts.serial.magnitude.clone(),
        ),
        not_before: leaf.not_before,
        not_after: leaf.not_after,
        spki_sha256: leaf.facts.spki_sha256.clone(),
        subject_der: leaf.subject_name.der().to_vec(),
        issuer_der: leaf.issuer_name.der().to_vec(),
        subject: leaf.facts.subject.attributes().to_vec(),
        issuer: leaf.facts.issuer.attributes().to_vec(),
        common_name: leaf.facts.common_name.clone(),
        subject_rfc4514: leaf.subject_name.rfc4514(),
        issuer_rfc4514: leaf.issuer_name.rfc4514(),
        subject_openssl: leaf.subject_name.openssl_rfc2253(),
        issuer_openssl: leaf.issuer_name.openssl_rfc2253(),
        sans: leaf.sans.iter().map(|s| format!("{s:?}")).collect(),
        client_auth_eku: leaf.client_auth_eku,
        ocsp_signing_eku,
        key_usage,
        basic_constraints,
        ocsp_urls: leaf.ocsp_urls.clone(),
        crl_distribution_points: leaf.crl_distribution_points.clone(),
    })
}

/// x509-parser's reading, as the crate did it (`LeafCertificate::from_der_with` and the name
/// printers before `src/cert/x509.rs`).
pub fn old_facts(der: &[u8]) -> Result<Facts, String> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err(format!("TrailingData {{ len: {} }}", rest.len()));
    }
    let san = cert
        .subject_alternative_name()
        .map_err(|e| format!("subjectAltName: {e}"))?;
    let sans: Vec<String> = san
        .iter()
        .flat_map(|ext| ext.value.general_names.iter())
        .filter_map(|name| match name {
            GeneralName::DNSName(d) => Some(format!("Dns({d:?})")),
            GeneralName::RFC822Name(e) => Some(format!("Email({e:?})")),
            GeneralName::URI(u) => Some(format!("Uri({u:?})")),
            GeneralName::IPAddress(ip) => Some(format!("Ip({:?})", ip.to_vec())),
            _ => None,
        })
        .collect();
    let eku = cert
        .extended_key_usage()
        .map_err(|e| format!("extendedKeyUsage: {e}"))?;
    let key_usage = cert
        .key_usage()
        .map_err(|e| format!("keyUsage: {e}"))?
        .map(|ext| ext.value.flags);
    Ok(Facts {
        raw_serial: cert.raw_serial().to_vec(),
        serial: serial_of(cert.raw_serial()),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        spki_sha256: client_cert_auth::sha256(cert.public_key().raw).to_vec(),
        subject_der: cert.subject().as_raw().to_vec(),
        issuer_der: cert.issuer().as_raw().to_vec(),
        subject: dn(cert.subject()),
        issuer: dn(cert.issuer()),
        common_name: cert
            .subject()
            .iter_common_name()
            .last()
            .and_then(|cn| cn.as_str().ok().map(|s| s.trim_ascii().to_string())),
        subject_rfc4514: rfc4514(cert.subject()),
        issuer_rfc4514: rfc4514(cert.issuer()),
        subject_openssl: openssl_rfc2253(cert.subject()),
        issuer_openssl: openssl_rfc2253(cert.issuer()),
        sans,
        client_auth_eku: eku.as_ref().map(|e| e.value.client_auth),
        ocsp_signing_eku: eku.as_ref().map(|e| e.value.ocsp_signing),
        key_usage,
        basic_constraints: cert
            .basic_constraints()
            .ok()
            .flatten()
            .map(|bc| (bc.value.ca, bc.value.path_len_constraint)),
        ocsp_urls: ocsp_urls(&cert),
        crl_distribution_points: cert
            .extensions()
            .iter()
            .find(|e| e.oid == OID_X509_EXT_CRL_DISTRIBUTION_POINTS)
            .map(|e| e.value.to_vec()),
    })
}

fn dn(name: &X509Name<'_>) -> Vec<(String, String)> {
    let mut attrs: Vec<(String, String)> = name
        .iter_attributes()
        .map(|a| {
            let value = a
                .as_str()
                .map(|s| s.trim_ascii().to_string())
                .unwrap_or_else(|_| "\u{0}<non-string value>".to_string());
            (a.attr_type().to_id_string(), value)
        })
        .collect();
    attrs.sort();
    attrs
}

fn ocsp_urls(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.extensions()
        .iter()
        .filter_map(|ext| match ext.parsed_extension() {
            ParsedExtension::AuthorityInfoAccess(aia) => Some(aia),
            _ => None,
        })
        .flat_map(|aia| aia.accessdescs.iter())
        .filter_map(
            |d| match (&d.access_location, d.access_method.to_id_string().as_str()) {
                (GeneralName::URI(uri), "1.3.6.1.5.5.7.48.1") => Some((*uri).to_string()),
                _ => None,
            },
        )
        .collect()
}

const OPENSSL_SHORT_NAMES: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.4", "SN"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "street"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.12", "title"),
    ("2.5.4.13", "description"),
    ("2.5.4.15", "businessCategory"),
    ("2.5.4.17", "postalCode"),
    ("2.5.4.41", "name"),
    ("2.5.4.42", "GN"),
    ("2.5.4.43", "initials"),
    ("2.5.4.44", "generationQualifier"),
    ("2.5.4.46", "dnQualifier"),
    ("2.5.4.65", "pseudonym"),
    ("2.5.4.97", "organizationIdentifier"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
    ("1.3.6.1.4.1.311.60.2.1.1", "jurisdictionL"),
    ("1.3.6.1.4.1.311.60.2.1.2", "jurisdictionST"),
    ("1.3.6.1.4.1.311.60.2.1.3", "jurisdictionC"),
];

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

fn hex(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

fn openssl_rfc2253(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            let mut attrs = rdn
                .iter()
                .map(|attr| {
                    let oid = attr.attr_type().to_id_string();
                    let short = OPENSSL_SHORT_NAMES
                        .iter()
                        .find(|(o, _)| *o == oid)
                        .map(|(_, short)| *short);
                    let value = match (short, attr.as_str()) {
                        (Some(_), Ok(s)) => escape_value(s, false),
                        _ => {
                            let any = attr.attr_value();
                            let header = &any.header;
                            let tag = (header.class() as u8) << 6
                                | u8::from(header.is_constructed()) << 5
                                | u8::try_from(header.tag().0).unwrap_or(0x1f);
                            format!("#{}", hex(&tlv(tag, any.data), true))
                        }
                    };
                    format!("{}={value}", short.unwrap_or(&oid))
                })
                .collect::<Vec<_>>();
            attrs.reverse();
            attrs.join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn rfc4514(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let oid = attr.attr_type().to_id_string();
                    let key = match oid.as_str() {
                        "2.5.4.3" => "CN",
                        "2.5.4.7" => "L",
                        "2.5.4.8" => "ST",
                        "2.5.4.10" => "O",
                        "2.5.4.11" => "OU",
                        "2.5.4.6" => "C",
                        "2.5.4.9" => "STREET",
                        "0.9.2342.19200300.100.1.25" => "DC",
                        "0.9.2342.19200300.100.1.1" => "UID",
                        _ => "",
                    };
                    let key = if key.is_empty() {
                        oid.clone()
                    } else {
                        key.to_string()
                    };
                    let value = match attr.as_str() {
                        Ok(s) => escape_value(s, true),
                        // The one place the module deliberately left the old printer:
                        // RFC 4514 2.4's `#` is followed by the whole BER encoding (tag and
                        // length too), which x509-parser's printer left out.
                        Err(_) => {
                            let any = attr.attr_value();
                            let header = &any.header;
                            let tag = (header.class() as u8) << 6
                                | u8::from(header.is_constructed()) << 5
                                | u8::try_from(header.tag().0).unwrap_or(0x1f);
                            format!("#{}", hex(&tlv(tag, any.data), false))
                        }
                    };
                    format!("{key}={value}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn escape_value(value: &str, equals: bool) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.len().saturating_sub(1);
    for (i, b) in value.bytes().enumerate() {
        let special = matches!(b, b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';')
            || (equals && b == b'=')
            || (i == 0 && (b == b'#' || b == b' '))
            || (i == last && b == b' ');
        if special {
            out.push('\\');
            out.push(char::from(b));
        } else if b.is_ascii_graphic() || b == b' ' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\{b:02X}"));
        }
    }
    out
}

/// The verdict on one input: `Ok` when both agree (both refuse, or both accept with equal
/// facts) or the new reader refuses what x509-parser accepted (stricter: the reason is
/// returned for the caller to judge); `Err` when the new reader accepts what x509-parser
/// refused, or the facts differ.
pub fn compare(der: &[u8]) -> Result<Agreement, String> {
    match (new_facts(der), old_facts(der)) {
        (Ok(new), Ok(old)) if new == old => Ok(Agreement::BothAccept),
        (Ok(new), Ok(old)) => Err(format!("facts differ:\n new {new:#?}\n old {old:#?}")),
        (Ok(new), Err(old)) => Err(format!(
            "accepted what x509-parser refused ({old}): {new:#?}"
        )),
        (Err(new), Ok(_)) => Ok(Agreement::StricterRefusal(new)),
        (Err(_), Err(_)) => Ok(Agreement::BothRefuse),
    }
}

/// How the two readers agreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agreement {
    BothAccept,
    BothRefuse,
    /// The new reader refused (why) what x509-parser accepted.
    StricterRefusal(String),
}
