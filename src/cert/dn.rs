//! Distinguished names as users write them, compared with the names in certificates.
//!
//! The rule: a DN is a set of `type=value` attributes, and two DNs match when they hold the same
//! attributes, in any order.
//!
//! * Attributes are separated by `,` (RFC 4514), `;`, or `+` (multi-valued RDN); whitespace
//!   around separators is ignored. So the .NET / Azure form `CN=alice, O=Contoso` and the RFC 4514
//!   form `O=Contoso,CN=alice` name the same certificate.
//! * Attribute types are case-insensitive keywords (`CN`, `O`, `OU`, `C`, `L`, `S`/`ST`,
//!   `STREET`, `T`/`TITLE`, `SN`, `SERIALNUMBER`, `G`/`GN`/`GIVENNAME`, `INITIALS`, `DC`, `UID`,
//!   `E`/`EMAIL`/`EMAILADDRESS`, `POSTALCODE`, `DNQUALIFIER`) or dotted OIDs (`2.5.4.3`,
//!   `OID.2.5.4.3`).
//! * Values are compared exactly (case-sensitive) after trimming unescaped spaces. A value may be
//!   double-quoted (`O="Contoso, Ltd"`, with `\"` and `\\` inside), and may use RFC 4514 escapes:
//!   `\` followed by one of `,+"\<>;=# ` or by two hex digits (one UTF-8 byte).
//! * `#`-prefixed BER values are not supported and are refused in configuration.

use std::fmt;

use super::x509::Name;
use crate::text::{hex_lower, hex_upper};

/// One attribute: the type as a dotted OID, and the value.
pub type Attribute = (String, String);

/// A parsed DN, attributes sorted so comparison ignores order. The default (no attributes)
/// never equals a parsed DN, which has at least one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dn(Vec<Attribute>);

/// Why a configured distinguished name (`subject`, `issuerSubject`) does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnError {
    /// The text holds no attribute at all.
    Empty,
    /// A part (given, trimmed) has no `=` between type and value, or is empty after a separator.
    MissingEquals(String),
    /// The attribute type (given) is neither a known keyword nor a dotted OID.
    UnknownType(String),
    /// A `\` is not followed by a special character or two hex digits.
    BadEscape,
    /// A double-quoted value has no closing quote.
    UnterminatedQuote,
    /// Something other than spaces and a separator follows a closing quote.
    TextAfterQuote,
    /// A value is `#`-prefixed BER, which is not supported.
    HexValue,
    /// The bytes written as `\XX` escapes do not form UTF-8.
    NotUtf8,
}

impl fmt::Display for DnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnError::Empty => f.write_str("is an empty distinguished name"),
            DnError::MissingEquals(part) => {
                write!(f, "has {part:?} without '=' between type and value")
            }
            DnError::UnknownType(t) => write!(
                f,
                "has the unknown attribute type {t:?} (use a keyword such as CN, O, OU or a dotted OID)"
            ),
            DnError::BadEscape => f.write_str("has a malformed '\\' escape"),
            DnError::UnterminatedQuote => f.write_str("has an unterminated quoted value"),
            DnError::TextAfterQuote => f.write_str("has text after a quoted value"),
            DnError::HexValue => {
                f.write_str("uses a '#' BER-encoded value, which is not supported")
            }
            DnError::NotUtf8 => f.write_str("has escapes that do not form UTF-8"),
        }
    }
}

impl std::error::Error for DnError {}

const KEYWORDS: &[(&str, &str)] = &[
    ("cn", "2.5.4.3"),
    ("sn", "2.5.4.4"),
    ("serialnumber", "2.5.4.5"),
    ("c", "2.5.4.6"),
    ("l", "2.5.4.7"),
    ("s", "2.5.4.8"),
    ("st", "2.5.4.8"),
    ("street", "2.5.4.9"),
    ("o", "2.5.4.10"),
    ("ou", "2.5.4.11"),
    ("t", "2.5.4.12"),
    ("title", "2.5.4.12"),
    ("postalcode", "2.5.4.17"),
    ("g", "2.5.4.42"),
    ("gn", "2.5.4.42"),
    ("givenname", "2.5.4.42"),
    ("initials", "2.5.4.43"),
    ("dnqualifier", "2.5.4.46"),
    ("dc", "0.9.2342.19200300.100.1.25"),
    ("uid", "0.9.2342.19200300.100.1.1"),
    ("e", "1.2.840.113549.1.9.1"),
    ("email", "1.2.840.113549.1.9.1"),
    ("emailaddress", "1.2.840.113549.1.9.1"),
];

fn attribute_type(raw: &str) -> Result<String, DnError> {
    let t = raw.trim();
    let lower = t.to_ascii_lowercase();
    if let Some((_, oid)) = KEYWORDS.iter().find(|(k, _)| *k == lower) {
        return Ok((*oid).to_string());
    }
    let dotted = lower.strip_prefix("oid.").unwrap_or(&lower);
    let is_oid = !dotted.is_empty()
        && dotted
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()))
        && dotted.contains('.');
    if is_oid {
        Ok(dotted.to_string())
    } else {
        Err(DnError::UnknownType(t.to_string()))
    }
}

impl Dn {
    /// Parses a DN written by a user.
    pub fn parse(text: &str) -> Result<Dn, DnError> {
        let bytes = text.as_bytes();
        let mut attrs = Vec::new();
        let mut i = 0;
        loop {
            // type
            let start = i;
            while i < bytes.len() && bytes[i] != b'=' && !matches!(bytes[i], b',' | b';' | b'+') {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] != b'=' {
                let part = text[start..i].trim();
                if part.is_empty() && i >= bytes.len() && attrs.is_empty() {
                    return Err(DnError::Empty);
                }
                return Err(DnError::MissingEquals(part.to_string()));
            }
            let oid = attribute_type(&text[start..i])?;
            i += 1;
            // value
            let (value, next) = parse_value(bytes, i)?;
            attrs.push((oid, value));
            i = next;
            if i >= bytes.len() {
                break;
            }
            i += 1; // the separator
        }
        crate::text::heap_sort(&mut attrs);
        Ok(Dn(attrs))
    }

    /// The DN of a certificate's subject or issuer. Attributes whose value is not a string
    /// keep a marker that no configured value can equal.
    pub fn from_name(name: &Name<'_>) -> Dn {
        let mut attrs: Vec<Attribute> = name
            .attributes
            .iter()
            .map(|a| {
                let value = match a.as_str() {
                    Some(s) => crate::text::trim_ascii(s).to_string(),
                    None => "\u{0}<non-string value>".to_string(),
                };
                (a.oid_text(), value)
            })
            .collect();
        crate::text::heap_sort(&mut attrs);
        Dn(attrs)
    }

    /// The attributes, sorted by type OID then value.
    pub fn attributes(&self) -> &[Attribute] {
        &self.0
    }
}

/// Reads one value starting at `i`; returns it and the index of the separator (or the end).
fn parse_value(bytes: &[u8], mut i: usize) -> Result<(String, usize), DnError> {
    while i < bytes.len() && bytes[i] == b' ' {
        i += 1;
    }
    let mut out: Vec<u8> = Vec::new();
    if bytes.get(i) == Some(&b'#') {
        return Err(DnError::HexValue);
    }
    if bytes.get(i) == Some(&b'"') {
        i += 1;
        loop {
            match bytes.get(i) {
                None => return Err(DnError::UnterminatedQuote),
                Some(b'"') => {
                    i += 1;
                    break;
                }
                Some(b'\\') => {
                    let (b, next) = unescape(bytes, i)?;
                    out.push(b);
                    i = next;
                }
                Some(&b) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i < bytes.len() && !matches!(bytes[i], b',' | b';' | b'+') {
            return Err(DnError::TextAfterQuote);
        }
        let value = String::from_utf8(out).map_err(|_| DnError::NotUtf8)?;
        return Ok((value, i));
    }
    // Unquoted: trailing unescaped spaces are trimmed, escaped ones kept.
    let mut keep = 0;
    while i < bytes.len() && !matches!(bytes[i], b',' | b';' | b'+') {
        if bytes[i] == b'\\' {
            let (b, next) = unescape(bytes, i)?;
            out.push(b);
            keep = out.len();
            i = next;
        } else {
            out.push(bytes[i]);
            if bytes[i] != b' ' {
                keep = out.len();
            }
            i += 1;
        }
    }
    out.truncate(keep);
    let value = String::from_utf8(out).map_err(|_| DnError::NotUtf8)?;
    Ok((value, i))
}

/// `\c` for a special character, or `\XX` for a byte; `i` points at the backslash.
fn unescape(bytes: &[u8], i: usize) -> Result<(u8, usize), DnError> {
    let c = *bytes.get(i + 1).ok_or(DnError::BadEscape)?;
    if matches!(
        c,
        b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';' | b'=' | b'#' | b' '
    ) {
        return Ok((c, i + 2));
    }
    let hi = crate::text::hex_value(c).ok_or(DnError::BadEscape)?;
    let lo = bytes
        .get(i + 2)
        .and_then(|&b| crate::text::hex_value(b))
        .ok_or(DnError::BadEscape)?;
    Ok(((hi << 4) | lo, i + 3))
}

/// A certificate's subject or issuer Name as the certificate encodes it (its DER), kept from the
/// one parse of the certificate: compared byte for byte where RFC 5280 compares names (which
/// CRL is the issuer's), and printed only when an output asks ([`EncodedName::rfc4514`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedName {
    /// The Name's SEQUENCE, tag to last byte: the reader refuses a Name with anything but RDNs
    /// inside, so these are exactly the RDNs the certificate's parse read.
    der: Vec<u8>,
}

impl EncodedName {
    /// The encoding of a parsed name.
    pub fn of(name: &Name<'_>) -> EncodedName {
        EncodedName {
            der: name.raw.to_vec(),
        }
    }

    /// The Name's DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The Name decoded again from its own bytes (not the certificate's): the same RDNs the
    /// certificate's parse read.
    pub fn decode(&self) -> Option<Name<'_>> {
        Name::parse(&self.der).ok()
    }

    /// [`rfc4514`] of the Name; empty when it does not decode.
    pub fn rfc4514(&self) -> String {
        self.decode().map(|name| rfc4514(&name)).unwrap_or_default()
    }

    /// [`openssl_rfc2253`] of the Name (nginx's `$ssl_client_s_dn`); empty when it does not
    /// decode.
    pub fn openssl_rfc2253(&self) -> String {
        self.decode()
            .map(|name| openssl_rfc2253(&name))
            .unwrap_or_default()
    }
}

/// OpenSSL's short names (`OBJ_nid2sn`), which `XN_FLAG_RFC2253` prints; other types print as
/// dotted OIDs.
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

/// A name as OpenSSL's `X509_NAME_print_ex(.., XN_FLAG_RFC2253)` prints it, which is nginx's
/// `$ssl_client_s_dn` / `$ssl_client_i_dn` (since 1.11.6): OpenSSL keeps a name's attributes
/// as one flat list and `XN_FLAG_DN_REV` reverses all of it, so the RDNs come most specific
/// first and the attributes inside a multi-valued RDN in reverse encoded order too
/// (`OU=admins+CN=alice` for the SET {CN=alice, OU=admins}; checked with `openssl x509
/// -nameopt RFC2253`), `,` between RDNs and `+` inside one, OpenSSL's short names, RFC 2253 escapes (`,+"\<>;`, a
/// leading `#` or space, a trailing space; `=` is left as is), every byte outside printable
/// ASCII (UTF-8 included) as `\XX`, and a value of a type OpenSSL does not know, or that is
/// not a string, as `#` and the hex of its DER.
pub fn openssl_rfc2253(name: &Name<'_>) -> String {
    let mut out = String::new();
    for (i, rdn) in name.rdns().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, attr) in rdn.iter().rev().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let oid = attr.oid_text();
            let short = OPENSSL_SHORT_NAMES
                .iter()
                .find(|(o, _)| *o == oid)
                .map(|(_, short)| *short);
            out.push_str(short.unwrap_or(&oid));
            out.push('=');
            match (short, attr.as_str()) {
                (Some(_), Some(s)) => escape_value(s, false, &mut out),
                _ => {
                    out.push('#');
                    out.push_str(&hex_upper(attr.value.raw));
                }
            }
        }
    }
    out
}

/// RFC 4514 string of a name: RDNs in reverse order, `,` between them, `+` inside one,
/// short names where RFC 4514 defines them, dotted OIDs otherwise, and values escaped. Bytes
/// outside printable ASCII are written as `\XX` escapes, so the result is a safe header value.
/// A value that is not a string is written `#` and the hex of its whole BER encoding (tag,
/// length and contents, RFC 4514 2.4), so a reader that decodes it gets that value, never the
/// string its contents may spell (x509-parser wrote the contents alone).
pub fn rfc4514(name: &Name<'_>) -> String {
    let mut out = String::new();
    for (i, rdn) in name.rdns().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, attr) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let oid = attr.oid_text();
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
                _ => &oid,
            };
            out.push_str(key);
            out.push('=');
            match attr.as_str() {
                Some(s) => escape_value(s, true, &mut out),
                None => {
                    out.push('#');
                    out.push_str(&hex_lower(attr.value.raw));
                }
            }
        }
    }
    out
}

/// RFC 4514 escapes (`equals`: `=` too, as RFC 4514 allows) or RFC 2253's (OpenSSL's, which
/// leave `=` as is).
fn escape_value(value: &str, equals: bool, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
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
            out.push('\\');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::text::der::tlv;

    /// `SEQUENCE { SET { SEQUENCE { OID cn, UTF8String value } } }`, then `extra` inside the
    /// outer SEQUENCE.
    fn name(value: &str, extra: &[u8]) -> Vec<u8> {
        let cn = [
            &tlv(0x06, &[0x55, 0x04, 0x03])[..],
            &tlv(0x0c, value.as_bytes()),
        ]
        .concat();
        let rdn = tlv(0x31, &tlv(0x30, &cn));
        tlv(0x30, &[&rdn[..], extra].concat())
    }

    #[test]
    fn a_name_prints_from_its_own_encoding_as_from_the_certificate() {
        let der = name("alice, \"a\"", &[]);
        let parsed = Name::parse(&der).unwrap();
        let encoded = EncodedName::of(&parsed);
        assert_eq!(encoded.der(), &der[..]);
        assert_eq!(encoded.rfc4514(), rfc4514(&parsed));
        assert_eq!(encoded.rfc4514(), "CN=alice\\, \\\"a\\\"");
    }

    fn attribute(oid: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
        tlv(0x30, &[&tlv(0x06, oid)[..], &tlv(tag, value)].concat())
    }

    /// RFC 4514 2.4: a value that is not a string is `#` and the hex of its whole BER
    /// encoding. Printing only the contents would let a CN holding an OCTET STRING of the DER
    /// of "admin" read as `CN=admin` to an application that decodes the `#` form.
    #[test]
    fn a_value_that_is_not_a_string_prints_as_its_whole_encoding() {
        let inner = tlv(0x0c, b"admin");
        let der = tlv(
            0x30,
            &tlv(0x31, &attribute(&[0x55, 0x04, 0x03], 0x04, &inner)),
        );
        let parsed = Name::parse(&der).unwrap();
        assert_eq!(rfc4514(&parsed), "CN=#04070c0561646d696e");
    }

    /// The expected string is what `openssl x509 -noout -subject -nameopt RFC2253` (OpenSSL
    /// 3.0, the flags nginx prints `$ssl_client_s_dn` with) printed for the same name; the
    /// unknown attribute is OpenSSL's documented `#` hex dump of its DER.
    #[test]
    fn a_name_prints_as_openssl_and_nginx_print_it() {
        let rdn = |attrs: &[Vec<u8>]| tlv(0x31, &attrs.concat());
        let der = tlv(
            0x30,
            &[
                rdn(&[attribute(
                    &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
                    0x16,
                    b"test",
                )]),
                rdn(&[attribute(&[0x55, 0x04, 0x0a], 0x0c, b"Contoso, Ltd")]),
                rdn(&[
                    attribute(&[0x55, 0x04, 0x0b], 0x0c, b" lead"),
                    attribute(&[0x55, 0x04, 0x0b], 0x0c, b"a=b"),
                ]),
                rdn(&[attribute(&[0x55, 0x04, 0x03], 0x0c, "José #1 ".as_bytes())]),
                rdn(&[attribute(
                    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
                    0x16,
                    b"a@b.test",
                )]),
                rdn(&[attribute(&[0x55, 0x04, 0x05], 0x13, b"42")]),
                rdn(&[attribute(&[0x2a, 0x03, 0x04], 0x0c, b"odd")]),
            ]
            .concat(),
        );
        let parsed = Name::parse(&der).unwrap();
        assert_eq!(
            EncodedName::of(&parsed).openssl_rfc2253(),
            "1.2.3.4=#0C036F6464,serialNumber=42,emailAddress=a@b.test,CN=Jos\\C3\\A9 #1\\ ,\
             OU=a=b+OU=\\ lead,O=Contoso\\, Ltd,DC=test"
        );
        // RFC 4514 escapes `=` too and names fewer types.
        assert!(EncodedName::of(&parsed).rfc4514().contains("OU=a\\=b"));
    }

    #[test]
    fn a_name_with_bytes_after_its_last_rdn_is_refused() {
        // x509-parser stopped before the NULL and passed over it; this reader refuses the
        // Name, so no printer or comparison ever sees fewer RDNs than the encoding holds.
        assert!(Name::parse(&name("alice", &[0x05, 0x00])).is_err());
        // An empty RDN, and bytes after an attribute's value, likewise.
        assert!(Name::parse(&name("alice", &[0x31, 0x00])).is_err());
        let cn = [
            &tlv(0x06, &[0x55, 0x04, 0x03])[..],
            &tlv(0x0c, b"a"),
            &[0x05, 0x00],
        ]
        .concat();
        assert!(Name::parse(&tlv(0x30, &tlv(0x31, &tlv(0x30, &cn)))).is_err());
        // Attribute types x509-parser printed other than as dotted OIDs (2.42 as "3.2").
        for oid in [&[0x7a, 0x04][..], &[0x88, 0x37, 0x03]] {
            let der = tlv(0x30, &tlv(0x31, &attribute(oid, 0x0c, b"x")));
            assert!(Name::parse(&der).is_err(), "{oid:?}");
        }
        // The empty Name is a Name.
        assert_eq!(Name::parse(&[0x30, 0x00]).unwrap().attributes.len(), 0);
    }
}
