//! A strict X.509 certificate reader on the crate's own DER reader ([`crate::text::der`]): the
//! fields and extensions the checks and the forwarded headers use, nothing else.
//!
//! It replaces x509-parser in the module (about 92 KB of it with asn1-rs, der-parser and nom)
//! and is stricter than it, never looser: every length is DER (definite, shortest form, one-byte
//! tags), nothing may follow the last field of any structure, the extensions read here
//! (subjectAltName, extendedKeyUsage, keyUsage, basicConstraints, authorityInfoAccess,
//! cRLDistributionPoints) must decode completely, and no extension may appear twice (RFC 5280
//! 4.2). Where x509-parser passed over bytes (after a Name's last RDN, after a SEQUENCE's last
//! field, after an extension's value) this reader refuses the certificate. Criticality is read
//! but not judged here, as before: the trust check (webpki) refuses unknown critical
//! extensions on the path it verifies. Two leniencies are kept because real certificates
//! need them and x509-parser had them: a BOOLEAN other than 0x00 is true, and a subjectAltName
//! string that is not UTF-8 is skipped rather than refused (it can grant nothing).
//!
//! Nothing recurses: a Name inside a directoryName is read with the same flat loop, and every
//! loop is linear in its input.

use crate::text::der::{self, DerError, Reader, Tlv, tag};

use super::San;

/// The dotted-OID contents of the extensions read here, and of the few OIDs compared.
mod oid {
    pub const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
    pub const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
    pub const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
    pub const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
    pub const CRL_DISTRIBUTION_POINTS: &[u8] = &[0x55, 0x1d, 0x1f];
    pub const AUTHORITY_INFO_ACCESS: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];
    pub const AD_OCSP: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
    pub const KP_CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
    pub const KP_OCSP_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09];
    pub const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
}

/// One attribute of a Name: its type's OID contents and its value element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The index of the RDN it is in, from 0 (the attributes of a multi-valued RDN share it).
    pub rdn: usize,
    /// The contents of the attribute type's OBJECT IDENTIFIER.
    pub oid: &'a [u8],
    /// The value, any element.
    pub value: Tlv<'a>,
}

impl<'a> Attribute<'a> {
    /// The value as text, when it is a NumericString, PrintableString, UTF8String or IA5String
    /// holding UTF-8 (the string types x509-parser's `as_str` read; others are not text here).
    pub fn as_str(&self) -> Option<&'a str> {
        match self.value.tag {
            0x12 | 0x13 | 0x0c | 0x16 => std::str::from_utf8(self.value.contents).ok(),
            _ => None,
        }
    }

    /// The type as a dotted OID.
    pub fn oid_text(&self) -> String {
        der::oid_text(self.oid)
    }
}

/// A Name (subject or issuer): its whole encoding and its attributes in encoded order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Name<'a> {
    /// The Name's SEQUENCE, tag to last byte.
    pub raw: &'a [u8],
    /// Every attribute of every RDN, in order.
    pub attributes: Vec<Attribute<'a>>,
}

impl<'a> Name<'a> {
    /// A Name from exactly one element, which must be a SEQUENCE OF non-empty SETs of
    /// AttributeTypeAndValue, with nothing else anywhere.
    pub fn parse(input: &'a [u8]) -> Result<Name<'a>, DerError> {
        let mut outer = Reader::new(input);
        let name = Name::read(&mut outer)?;
        if !outer.is_empty() {
            return Err(DerError("bytes after a Name"));
        }
        Ok(name)
    }

    /// The next element of `reader` as a Name.
    fn read(reader: &mut Reader<'a>) -> Result<Name<'a>, DerError> {
        let seq = reader.expect(tag::SEQUENCE, "a Name is not a SEQUENCE")?;
        let mut rdns = Reader::new(seq.contents);
        let mut attributes = Vec::new();
        let mut index = 0;
        while !rdns.is_empty() {
            let mut set = rdns.nested(tag::SET, "an RDN is not a SET")?;
            if set.is_empty() {
                return Err(DerError("an empty RDN"));
            }
            while !set.is_empty() {
                let mut pair = set.nested(tag::SEQUENCE, "an attribute is not a SEQUENCE")?;
                let oid = object_identifier(&mut pair, "an attribute type is not an OID")?;
                if !usual_oid(oid) {
                    return Err(DerError("an attribute type of an unusual OID"));
                }
                let value = pair
                    .any()
                    .map_err(|_| DerError("an attribute has no value"))?;
                // x509-parser read a string type's number in any class and form as that
                // string; only the universal primitive form is one here, the others refused.
                if matches!(value.tag & 0x1f, 0x0c | 0x12 | 0x13 | 0x16) && value.tag & 0xe0 != 0 {
                    return Err(DerError(
                        "an attribute value of a string type's number, not a string",
                    ));
                }
                if !pair.is_empty() {
                    return Err(DerError("bytes after an attribute's value"));
                }
                attributes.push(Attribute {
                    rdn: index,
                    oid,
                    value,
                });
            }
            index += 1;
        }
        Ok(Name {
            raw: seq.raw,
            attributes,
        })
    }

    /// The attributes grouped by RDN, in encoded order.
    pub fn rdns(&self) -> impl DoubleEndedIterator<Item = &[Attribute<'a>]> {
        self.attributes.chunk_by(|a, b| a.rdn == b.rdn)
    }

    /// The attributes of type commonName, in order.
    pub fn common_names(&self) -> impl Iterator<Item = &Attribute<'a>> {
        self.attributes.iter().filter(|a| a.oid == oid::COMMON_NAME)
    }
}

/// The extendedKeyUsage purposes the crate asks about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtendedKeyUsage {
    /// id-kp-clientAuth is listed.
    pub client_auth: bool,
    /// id-kp-OCSPSigning is listed.
    pub ocsp_signing: bool,
}

/// The keyUsage bits, bit 0 (digitalSignature) in the lowest position, as RFC 5280 numbers
/// them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyUsage(pub u16);

impl KeyUsage {
    /// digitalSignature (0).
    pub fn digital_signature(self) -> bool {
        self.0 & 1 != 0
    }
    /// keyAgreement (4).
    pub fn key_agreement(self) -> bool {
        self.0 & (1 << 4) != 0
    }
    /// keyCertSign (5).
    pub fn key_cert_sign(self) -> bool {
        self.0 & (1 << 5) != 0
    }
    /// cRLSign (6).
    pub fn crl_sign(self) -> bool {
        self.0 & (1 << 6) != 0
    }
}

/// basicConstraints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BasicConstraints {
    /// cA.
    pub ca: bool,
    /// pathLenConstraint.
    pub path_len: Option<u32>,
}

/// A certificate, read: the fields and extensions the crate uses, borrowing from its DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate<'a> {
    /// The serialNumber INTEGER's contents.
    pub serial: &'a [u8],
    /// The issuer Name.
    pub issuer: Name<'a>,
    /// The subject Name.
    pub subject: Name<'a>,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// The SubjectPublicKeyInfo, tag to last byte.
    pub spki: &'a [u8],
    /// The subjectAltName entries of the kinds [`San`] keeps, in order; `None` without the
    /// extension.
    pub sans: Option<Vec<San>>,
    /// `None` without the extension.
    pub extended_key_usage: Option<ExtendedKeyUsage>,
    /// `None` without the extension.
    pub key_usage: Option<KeyUsage>,
    /// `None` without the extension.
    pub basic_constraints: Option<BasicConstraints>,
    /// The authorityInfoAccess id-ad-ocsp URI locations, in order, as written.
    pub ocsp_urls: Vec<&'a str>,
    /// The cRLDistributionPoints extension's value (a DER SEQUENCE), when there is one.
    pub crl_distribution_points: Option<&'a [u8]>,
}

impl<'a> Certificate<'a> {
    /// Reads a certificate that is the whole of `der`; `Err` with the number of bytes after
    /// it when something follows, or what is malformed.
    pub fn parse(input: &'a [u8]) -> Result<Certificate<'a>, ParseError> {
        let mut outer = Reader::new(input);
        let cert = outer
            .expect(tag::SEQUENCE, "not a Certificate SEQUENCE")
            .map_err(ParseError::Malformed)?;
        let trailing = input.len() - cert.raw.len();
        let parsed = Certificate::fields(cert.contents).map_err(ParseError::Malformed)?;
        if trailing != 0 {
            return Err(ParseError::Trailing(trailing));
        }
        Ok(parsed)
    }

    fn fields(contents: &'a [u8]) -> Result<Certificate<'a>, DerError> {
        let mut parts = Reader::new(contents);
        let tbs = parts.nested(tag::SEQUENCE, "no tbsCertificate")?;
        algorithm_identifier(&mut parts, "no signatureAlgorithm")?;
        bit_string(&mut parts, "no signatureValue")?;
        if !parts.is_empty() {
            return Err(DerError("bytes after the signatureValue"));
        }
        Certificate::tbs(tbs)
    }

    fn tbs(mut tbs: Reader<'a>) -> Result<Certificate<'a>, DerError> {
        let version = match tbs.optional(tag::context(0))? {
            Some(explicit) => {
                let mut inside = Reader::new(explicit.contents);
                let v = inside.expect(tag::INTEGER, "the version is not an INTEGER")?;
                if !inside.is_empty() {
                    return Err(DerError("bytes after the version"));
                }
                match v.contents {
                    [n @ 0..=2] => *n,
                    _ => return Err(DerError("the version is not v1, v2 or v3")),
                }
            }
            None => 0,
        };
        let serial = tbs.expect(tag::INTEGER, "no serialNumber")?.contents;
        if serial.is_empty() {
            return Err(DerError("an empty serialNumber"));
        }
        algorithm_identifier(&mut tbs, "no signature algorithm in tbsCertificate")?;
        let issuer = Name::read(&mut tbs)?;
        let mut validity = tbs.nested(tag::SEQUENCE, "no validity")?;
        let not_before = der::time(&validity.any()?)?;
        let not_after = der::time(&validity.any()?)?;
        if !validity.is_empty() {
            return Err(DerError("bytes after notAfter"));
        }
        let subject = Name::read(&mut tbs)?;
        let spki = {
            let tlv = tbs.expect(tag::SEQUENCE, "no subjectPublicKeyInfo")?;
            let mut inside = Reader::new(tlv.contents);
            algorithm_identifier(&mut inside, "no subjectPublicKeyInfo algorithm")?;
            bit_string(&mut inside, "no subjectPublicKey")?;
            if !inside.is_empty() {
                return Err(DerError("bytes after the subjectPublicKey"));
            }
            tlv.raw
        };
        for unique_id in [tag::context_primitive(1), tag::context_primitive(2)] {
            if let Some(id) = tbs.optional(unique_id)? {
                if version == 0 {
                    return Err(DerError("a unique identifier in a v1 certificate"));
                }
                bit_string_contents(id.contents)?;
            }
        }
        let mut cert = Certificate {
            serial,
            issuer,
            subject,
            not_before,
            not_after,
            spki,
            sans: None,
            extended_key_usage: None,
            key_usage: None,
            basic_constraints: None,
            ocsp_urls: Vec::new(),
            crl_distribution_points: None,
        };
        if let Some(explicit) = tbs.optional(tag::context(3))? {
            if version != 2 {
                return Err(DerError("extensions in a certificate before v3"));
            }
            let mut inside = Reader::new(explicit.contents);
            let list = inside.nested(tag::SEQUENCE, "extensions are not a SEQUENCE")?;
            if !inside.is_empty() {
                return Err(DerError("bytes after the extensions"));
            }
            cert.extensions(list)?;
        }
        if !tbs.is_empty() {
            return Err(DerError("bytes after the last field of tbsCertificate"));
        }
        Ok(cert)
    }

    /// Reads every Extension; refuses a duplicate of any (the OIDs sorted once and compared
    /// with their neighbours, so thousands of tiny extensions cost n log n, not n squared).
    fn extensions(&mut self, mut list: Reader<'a>) -> Result<(), DerError> {
        let mut seen: Vec<&[u8]> = Vec::new();
        while !list.is_empty() {
            let mut ext = list.nested(tag::SEQUENCE, "an extension is not a SEQUENCE")?;
            let id = object_identifier(&mut ext, "an extension has no OID")?;
            if let Some(flag) = ext.optional(tag::BOOLEAN)? {
                boolean(&flag)?;
            }
            let value = ext
                .expect(tag::OCTET_STRING, "an extension has no value")?
                .contents;
            if !ext.is_empty() {
                return Err(DerError("bytes after an extension's value"));
            }
            seen.push(id);
            match id {
                oid::SUBJECT_ALT_NAME => self.sans = Some(subject_alt_names(value)?),
                oid::EXT_KEY_USAGE => self.extended_key_usage = Some(extended_key_usage(value)?),
                oid::KEY_USAGE => self.key_usage = Some(key_usage(value)?),
                oid::BASIC_CONSTRAINTS => self.basic_constraints = Some(basic_constraints(value)?),
                oid::AUTHORITY_INFO_ACCESS => self.ocsp_urls = ocsp_urls(value)?,
                oid::CRL_DISTRIBUTION_POINTS => {
                    let mut whole = Reader::new(value);
                    whole.expect(tag::SEQUENCE, "cRLDistributionPoints is not a SEQUENCE")?;
                    if !whole.is_empty() {
                        return Err(DerError("bytes after cRLDistributionPoints"));
                    }
                    self.crl_distribution_points = Some(value);
                }
                _ => {}
            }
        }
        crate::text::heap_sort(&mut seen);
        if seen.windows(2).any(|pair| pair.first() == pair.get(1)) {
            return Err(DerError("an extension appears twice"));
        }
        Ok(())
    }
}

/// Why [`Certificate::parse`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The certificate is malformed; the text says where.
    Malformed(DerError),
    /// A well-formed certificate is followed by this many bytes.
    Trailing(usize),
}

/// An OBJECT IDENTIFIER whose contents are well formed (non-empty, every arc minimal and
/// complete); its contents.
fn object_identifier<'a>(
    reader: &mut Reader<'a>,
    what: &'static str,
) -> Result<&'a [u8], DerError> {
    let contents = reader.expect(tag::OID, what)?.contents;
    if well_formed_oid(contents) {
        Ok(contents)
    } else {
        Err(DerError(what))
    }
}

/// Whether OID contents are non-empty, end with a complete arc, and start no arc with the
/// padding octet 0x80.
fn well_formed_oid(contents: &[u8]) -> bool {
    let complete = contents.last().is_some_and(|b| b & 0x80 == 0);
    let mut fresh = true;
    let minimal = contents.iter().all(|&b| {
        let ok = !(fresh && b == 0x80);
        fresh = b & 0x80 == 0;
        ok
    });
    complete && minimal
}

/// Whether an OID's first two arcs are in its first octet and are not 2.40 or above (the
/// first octet below 120) and no arc needs more than nine octets (64 bits): attribute types are
/// printed and compared as dotted text, and x509-parser printed other OIDs otherwise (the
/// first octet split as octet / 40 and octet % 40, so 2.42 as "3.2"; hex for long arcs), so a
/// Name holding one is refused rather than read differently. No real attribute type is
/// outside this.
fn usual_oid(contents: &[u8]) -> bool {
    let Some((&first, rest)) = contents.split_first() else {
        return false;
    };
    let mut run = 0;
    first < 120
        && rest.iter().all(|&b| {
            run += 1;
            let ok = run <= 9;
            if b & 0x80 == 0 {
                run = 0;
            }
            ok
        })
}

/// AlgorithmIdentifier: an OID and at most one parameters element.
fn algorithm_identifier(reader: &mut Reader<'_>, what: &'static str) -> Result<(), DerError> {
    let mut inside = reader.nested(tag::SEQUENCE, what)?;
    object_identifier(&mut inside, what)?;
    if !inside.is_empty() {
        inside.any()?;
    }
    if !inside.is_empty() {
        return Err(DerError("bytes after an algorithm's parameters"));
    }
    Ok(())
}

fn bit_string<'a>(reader: &mut Reader<'a>, what: &'static str) -> Result<(u8, &'a [u8]), DerError> {
    bit_string_contents(reader.expect(tag::BIT_STRING, what)?.contents)
}

/// A BIT STRING's contents: the unused-bits count (0 to 7, 0 when there are no bits, and the
/// unused bits zero, as DER requires) and the bits.
fn bit_string_contents(contents: &[u8]) -> Result<(u8, &[u8]), DerError> {
    match contents.split_first() {
        Some((&0, bits)) => Ok((0, bits)),
        Some((&unused, bits))
            if unused <= 7 && bits.last().is_some_and(|b| b & ((1 << unused) - 1) == 0) =>
        {
            Ok((unused, bits))
        }
        _ => Err(DerError("a malformed BIT STRING")),
    }
}

/// A BOOLEAN: one octet, 0x00 false and anything else true (BER, as x509-parser and the CRL
/// reader accept, for CAs that wrote 0x01).
fn boolean(tlv: &Tlv<'_>) -> Result<bool, DerError> {
    match tlv.contents {
        [0] => Ok(false),
        [_] => Ok(true),
        _ => Err(DerError("a BOOLEAN is not one octet")),
    }
}

/// The contents of the one element `value` must be, which must have tag `tag`.
fn only<'a>(value: &'a [u8], tag: u8, what: &'static str) -> Result<Reader<'a>, DerError> {
    let mut whole = Reader::new(value);
    let inside = whole.nested(tag, what)?;
    if !whole.is_empty() {
        return Err(DerError(what));
    }
    Ok(inside)
}

/// One GeneralName, checked; the entry when it is of a kind [`San`] keeps. A string that is not
/// UTF-8 is skipped (x509-parser read it as an invalid name, which no check kept).
fn general_name(tlv: &Tlv<'_>) -> Result<Option<San>, DerError> {
    let text = || std::str::from_utf8(tlv.contents).ok().map(str::to_string);
    Ok(match tlv.tag {
        // otherName: SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
        0xa0 => {
            let mut inside = Reader::new(tlv.contents);
            object_identifier(&mut inside, "an otherName has no type")?;
            inside.expect(tag::context(0), "an otherName has no value")?;
            if !inside.is_empty() {
                return Err(DerError("bytes after an otherName's value"));
            }
            None
        }
        0x81 => text().map(San::Email),
        0x82 => text().map(San::Dns),
        0x86 => text().map(San::Uri),
        0x87 => Some(San::Ip(tlv.contents.to_vec())),
        // x400Address and ediPartyName: not read.
        0xa3 | 0xa5 => None,
        // directoryName: [4] EXPLICIT Name
        0xa4 => {
            Name::parse(tlv.contents)?;
            None
        }
        // registeredID: [8] IMPLICIT OBJECT IDENTIFIER
        0x88 if well_formed_oid(tlv.contents) => None,
        _ => return Err(DerError("not a GeneralName")),
    })
}

/// subjectAltName: SEQUENCE OF GeneralName (empty accepted, as before).
fn subject_alt_names(value: &[u8]) -> Result<Vec<San>, DerError> {
    let mut names = only(value, tag::SEQUENCE, "subjectAltName is not a SEQUENCE")?;
    let mut out = Vec::new();
    while !names.is_empty() {
        if let Some(san) = general_name(&names.any()?)? {
            out.push(san);
        }
    }
    Ok(out)
}

/// extendedKeyUsage: SEQUENCE OF KeyPurposeId.
fn extended_key_usage(value: &[u8]) -> Result<ExtendedKeyUsage, DerError> {
    let mut purposes = only(value, tag::SEQUENCE, "extendedKeyUsage is not a SEQUENCE")?;
    let mut eku = ExtendedKeyUsage::default();
    while !purposes.is_empty() {
        match object_identifier(&mut purposes, "an extendedKeyUsage purpose is not an OID")? {
            oid::KP_CLIENT_AUTH => eku.client_auth = true,
            oid::KP_OCSP_SIGNING => eku.ocsp_signing = true,
            _ => {}
        }
    }
    Ok(eku)
}

/// keyUsage: a BIT STRING; the first 16 bits, bit 0 lowest.
fn key_usage(value: &[u8]) -> Result<KeyUsage, DerError> {
    let mut whole = Reader::new(value);
    let (_, bits) = bit_string(&mut whole, "keyUsage is not a BIT STRING")?;
    if !whole.is_empty() {
        return Err(DerError("bytes after keyUsage"));
    }
    let byte = |i: usize| u16::from(bits.get(i).copied().unwrap_or(0).reverse_bits());
    Ok(KeyUsage(byte(0) | (byte(1) << 8)))
}

/// basicConstraints: SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX)
/// OPTIONAL }; a pathLenConstraint above u32 is refused.
fn basic_constraints(value: &[u8]) -> Result<BasicConstraints, DerError> {
    let mut fields = only(value, tag::SEQUENCE, "basicConstraints is not a SEQUENCE")?;
    let ca = match fields.optional(tag::BOOLEAN)? {
        Some(flag) => boolean(&flag)?,
        None => false,
    };
    let path_len = match fields.optional(tag::INTEGER)? {
        Some(int) => Some(unsigned(int.contents).ok_or(DerError("a bad pathLenConstraint"))?),
        None => None,
    };
    if !fields.is_empty() {
        return Err(DerError("bytes after basicConstraints"));
    }
    Ok(BasicConstraints { ca, path_len })
}

/// A non-negative INTEGER's contents as a u32 (a leading zero octet allowed).
fn unsigned(contents: &[u8]) -> Option<u32> {
    if contents.first().is_none_or(|b| b & 0x80 != 0) {
        return None;
    }
    let digits = match contents {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => contents,
    };
    if digits.len() > 4 {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)),
    )
}

/// authorityInfoAccess: SEQUENCE OF AccessDescription { accessMethod OID, accessLocation
/// GeneralName }; the id-ad-ocsp URIs.
fn ocsp_urls(value: &[u8]) -> Result<Vec<&str>, DerError> {
    let mut descriptions = only(
        value,
        tag::SEQUENCE,
        "authorityInfoAccess is not a SEQUENCE",
    )?;
    let mut urls = Vec::new();
    while !descriptions.is_empty() {
        let mut description =
            descriptions.nested(tag::SEQUENCE, "an AccessDescription is not a SEQUENCE")?;
        let method = object_identifier(&mut description, "an accessMethod is not an OID")?;
        let location = description.any()?;
        if !description.is_empty() {
            return Err(DerError("bytes after an accessLocation"));
        }
        let uri = general_name(&location)?;
        if let (oid::AD_OCSP, Some(San::Uri(_)), Ok(uri)) =
            (method, uri, std::str::from_utf8(location.contents))
        {
            urls.push(uri);
        }
    }
    Ok(urls)
}

/// What the configuration reads of a pasted CRL before webpki checks it: the issuer Name's
/// encoding, thisUpdate and nextUpdate (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlHeader<'a> {
    /// The issuer Name, tag to last byte.
    pub issuer: &'a [u8],
    /// thisUpdate.
    pub this_update: i64,
    /// nextUpdate, when given.
    pub next_update: Option<i64>,
}

/// Reads a CertificateList's header fields; the CertificateList must be the whole input and
/// its outer structure and TBSCertList fields well formed (webpki reads the entries).
pub fn crl_header(input: &[u8]) -> Result<CrlHeader<'_>, ParseError> {
    let mut outer = Reader::new(input);
    let list = outer
        .expect(tag::SEQUENCE, "not a CertificateList SEQUENCE")
        .map_err(ParseError::Malformed)?;
    let header = crl_fields(list.contents).map_err(ParseError::Malformed)?;
    match input.len() - list.raw.len() {
        0 => Ok(header),
        trailing => Err(ParseError::Trailing(trailing)),
    }
}

fn crl_fields(contents: &[u8]) -> Result<CrlHeader<'_>, DerError> {
    let mut parts = Reader::new(contents);
    let mut tbs = parts.nested(tag::SEQUENCE, "no tbsCertList")?;
    algorithm_identifier(&mut parts, "no signatureAlgorithm")?;
    bit_string(&mut parts, "no signatureValue")?;
    if !parts.is_empty() {
        return Err(DerError("bytes after the signatureValue"));
    }
    if let Some(version) = tbs.optional(tag::INTEGER)?
        && !matches!(version.contents, [0 | 1])
    {
        return Err(DerError("the version is not v1 or v2"));
    }
    algorithm_identifier(&mut tbs, "no signature algorithm in tbsCertList")?;
    let issuer = Name::read(&mut tbs)?.raw;
    let this_update = der::time(&tbs.any()?)?;
    let next_update = match tbs.peek_tag() {
        Some(tag::UTC_TIME | tag::GENERALIZED_TIME) => Some(der::time(&tbs.any()?)?),
        _ => None,
    };
    tbs.optional(tag::SEQUENCE)?;
    tbs.optional(tag::context(0))?;
    if !tbs.is_empty() {
        return Err(DerError("bytes after the last field of tbsCertList"));
    }
    Ok(CrlHeader {
        issuer,
        this_update,
        next_update,
    })
}
