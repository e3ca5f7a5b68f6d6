//! CRLs fetched at run time, kept compactly: only the revoked serial numbers, in two flat
//! vectors, after the CRL's signature was verified against a configured CA.
//!
//! A CRL downloaded over HTTP can be large (100,000 entries is 3 to 4 MB of DER) and every
//! worker VM holds its own copy. A full parser (x509-parser, webpki) keeps every entry as a
//! struct; here the DER is walked once with [`crate::text::der`] and what survives is the
//! issuer, the dates, the CRL number and the serials: all of them concatenated in one
//! `Vec<u8>` with a `Vec<u32>` of end offsets, sorted by (length, bytes) for a binary search.
//! No allocation per entry, about 24 bytes per entry for 20-byte serials.
//!
//! What is refused, because the CRL would then not say what the revocation check assumes
//! ("this CA's own complete list for its leaf certificates"): delta CRLs, indirect CRLs (an
//! `indirectCRL` issuing distribution point or a `certificateIssuer` entry extension), CRLs
//! limited to some reasons, to CA certificates or to attribute certificates, and any critical
//! extension this module does not understand. An entry whose reasonCode is `removeFromCRL` is
//! not a revocation and is left out.

use std::cmp::Ordering;
use std::fmt;

use crate::cert::pem_to_der;
use crate::text::der::{self, DerError, Reader, Tlv, tag};
use crate::text::log_safe;
use crate::validation::crypto::{SignatureError, verify_signature};

/// A CA a fetched CRL may come from: a configured trusted CA or intermediate.
#[derive(Debug, Clone, Copy)]
pub struct CrlSigner<'a> {
    /// The CA certificate's subject Name, DER (the whole SEQUENCE).
    pub subject: &'a [u8],
    /// The CA certificate's SubjectPublicKeyInfo, DER (the whole SEQUENCE).
    pub spki: &'a [u8],
    /// Which CA key signed, kept by [`CompactCrl`] (the glue gives the SHA-256 of the CA's
    /// SubjectPublicKeyInfo).
    pub id: [u8; 32],
    /// False when the CA certificate has a keyUsage extension without cRLSign.
    pub can_sign_crl: bool,
}

/// Which certificates a CRL is about, from its issuingDistributionPoint (RFC 5280 5.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// No distribution point: every certificate of the issuer.
    Complete,
    /// A partition: the certificates whose CRL distribution point names one of these
    /// GeneralNames (each its whole DER), RFC 5280 6.3.3 (b)(2)(i).
    Partition(Vec<Vec<u8>>),
    /// A partition named relative to the issuer (nameRelativeToCRLIssuer): not matched, so it
    /// covers no certificate.
    Relative,
}

/// A CRL whose signature verified, reduced to what a revocation check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactCrl {
    issuer: Vec<u8>,
    signer: [u8; 32],
    scope: Scope,
    /// SHA-256 of issuer, signer and the issuingDistributionPoint as written: CRLs of one
    /// slot replace one another (newer by cRLNumber, then thisUpdate).
    slot: [u8; 32],
    /// SHA-256 of issuer and signer: which CA the CRL is of.
    authority: [u8; 32],
    this_update: i64,
    next_update: Option<i64>,
    number: Option<Vec<u8>>,
    /// Every revoked serial (minimal DER INTEGER contents), concatenated in sorted order.
    serials: Vec<u8>,
    /// The end offset of each serial in `serials`; serial `i` starts where `i - 1` ends.
    ends: Vec<u32>,
}

/// Why a fetched CRL was not accepted. The Display text is meant for a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlError {
    /// PEM input that is not one `X509 CRL` block of valid base64.
    NotPem,
    /// The DER is not a CertificateList as RFC 5280 defines it; the text says where.
    Malformed(&'static str),
    /// The signature algorithm inside tbsCertList differs from the outer one.
    AlgorithmMismatch,
    /// No configured CA has the CRL's issuer as its subject.
    UnknownIssuer {
        /// The issuer name, log-safe (`C=.., O=.., CN=..`, in the order of the DER).
        issuer: String,
    },
    /// CAs with the issuer's name are configured, but none may sign CRLs (keyUsage without
    /// cRLSign).
    NotCrlSigner {
        /// The issuer name, log-safe.
        issuer: String,
    },
    /// No configured CA with the issuer's name (and cRLSign) verifies the signature.
    Signature {
        /// The issuer name, log-safe.
        issuer: String,
        /// Why the last candidate did not verify it.
        problem: SignatureError,
    },
    /// A delta CRL (deltaCRLIndicator), which is not supported.
    Delta,
    /// The issuingDistributionPoint limits the CRL's scope, so it would not cover all of the
    /// CA's leaf certificates; the text names the limit.
    PartialScope(&'static str),
    /// An entry names another certificate issuer (certificateIssuer): an indirect CRL.
    IndirectEntry,
    /// A critical extension this module does not understand.
    UnsupportedCritical {
        /// The extension's OID, dotted.
        oid: String,
        /// Whether it is an entry extension (otherwise a CRL extension).
        entry: bool,
    },
    /// More serial bytes than the 32-bit offsets can hold.
    TooLarge,
}

impl fmt::Display for CrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrlError::NotPem => f.write_str("the CRL is neither DER nor one PEM X509 CRL block"),
            CrlError::Malformed(what) => write!(f, "the CRL is malformed: {what}"),
            CrlError::AlgorithmMismatch => {
                f.write_str("the CRL's signature algorithm differs from the one inside tbsCertList")
            }
            CrlError::UnknownIssuer { issuer } => {
                write!(f, "the CRL's issuer {issuer} is not a configured CA")
            }
            CrlError::NotCrlSigner { issuer } => write!(
                f,
                "the CRL's issuer {issuer} has a keyUsage without cRLSign, so it cannot sign CRLs"
            ),
            CrlError::Signature { issuer, problem } => write!(
                f,
                "the CRL's signature does not verify with the key of {issuer}: {problem}"
            ),
            CrlError::Delta => f.write_str("delta CRLs are not supported"),
            CrlError::PartialScope(what) => write!(
                f,
                "the CRL's issuingDistributionPoint says {what}, so it does not cover all of the CA's certificates"
            ),
            CrlError::IndirectEntry => f.write_str(
                "a CRL entry names another certificate issuer: indirect CRLs are not supported",
            ),
            CrlError::UnsupportedCritical { oid, entry } => write!(
                f,
                "the CRL has an unsupported critical {} extension {oid}",
                if *entry { "entry" } else { "CRL" }
            ),
            CrlError::TooLarge => f.write_str("the CRL holds more than 4 GB of serial numbers"),
        }
    }
}

impl std::error::Error for CrlError {}

impl From<DerError> for CrlError {
    fn from(e: DerError) -> CrlError {
        CrlError::Malformed(e.0)
    }
}

/// Extension OIDs (contents of the OBJECT IDENTIFIER).
mod oid {
    /// cRLNumber, 2.5.29.20.
    pub const CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
    /// reasonCode, 2.5.29.21.
    pub const REASON_CODE: &[u8] = &[0x55, 0x1d, 0x15];
    /// deltaCRLIndicator, 2.5.29.27.
    pub const DELTA_CRL_INDICATOR: &[u8] = &[0x55, 0x1d, 0x1b];
    /// issuingDistributionPoint, 2.5.29.28.
    pub const ISSUING_DISTRIBUTION_POINT: &[u8] = &[0x55, 0x1d, 0x1c];
    /// certificateIssuer, 2.5.29.29.
    pub const CERTIFICATE_ISSUER: &[u8] = &[0x55, 0x1d, 0x1d];
}

/// The longest cRLNumber accepted (RFC 5280 5.2.3: conforming CAs use at most 20 octets).
pub const MAX_CRL_NUMBER_OCTETS: usize = 20;

/// The CRLReason `removeFromCRL`: the entry cancels an earlier hold in a delta CRL.
const REMOVE_FROM_CRL: u8 = 8;

/// The parts of a CertificateList, borrowed from its DER.
struct Parts<'a> {
    tbs: &'a [u8],
    algorithm: &'a [u8],
    signature: &'a [u8],
    issuer: &'a [u8],
    this_update: i64,
    next_update: Option<i64>,
    revoked: Option<&'a [u8]>,
    extensions: Option<&'a [u8]>,
}

impl CompactCrl {
    /// DER, or PEM with one `X509 CRL` block. The signature is verified against the signer
    /// whose subject equals the CRL issuer (several may share a name: each is tried, and the
    /// first that verifies is kept as [`CompactCrl::signer`]); the signature algorithm inside
    /// tbsCertList must equal the outer one.
    pub fn parse(bytes: &[u8], signers: &[CrlSigner<'_>]) -> Result<CompactCrl, CrlError> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'-') {
            let der = pem_to_der(bytes, "X509 CRL").map_err(|_| CrlError::NotPem)?;
            CompactCrl::parse_der(&der, signers)
        } else {
            CompactCrl::parse_der(bytes, signers)
        }
    }

    fn parse_der(der: &[u8], signers: &[CrlSigner<'_>]) -> Result<CompactCrl, CrlError> {
        let parts = split(der)?;
        let signer = verify(&parts, signers)?;
        let (number, idp) = match parts.extensions {
            Some(extensions) => crl_extensions(extensions)?,
            None => (None, None),
        };
        let scope = match idp {
            Some(value) => issuing_distribution_point(value)?,
            None => Scope::Complete,
        };
        let id_of = |parts: &[&[u8]]| {
            let mut id = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
            for part in parts {
                id.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
                id.extend_from_slice(part);
            }
            crate::cert::sha256(&id)
        };
        let authority = id_of(&[parts.issuer, &signer[..]]);
        let slot = id_of(&[parts.issuer, &signer[..], idp.unwrap_or_default()]);
        if number.is_some_and(|n| n.len() > MAX_CRL_NUMBER_OCTETS) {
            return Err(bad(
                "the cRLNumber is longer than 20 octets (RFC 5280 5.2.3)",
            ));
        }
        // The serials, borrowed from the input, sorted; then copied into two exact vectors.
        // The list of borrowed serials is sized by a first, header-only walk, so it never
        // grows (8 bytes an entry in wasm32, for the time of the parse).
        let mut found: Vec<&[u8]> = Vec::with_capacity(parts.revoked.map_or(0, count));
        if let Some(revoked) = parts.revoked {
            entries(revoked, |serial| found.push(serial))?;
        }
        found.sort_unstable_by(|a, b| compare(a, b));
        let total: usize = found.iter().map(|s| s.len()).sum();
        u32::try_from(total).map_err(|_| CrlError::TooLarge)?;
        let mut serials = Vec::with_capacity(total);
        let mut ends = Vec::with_capacity(found.len());
        for serial in &found {
            serials.extend_from_slice(serial);
            ends.push(u32::try_from(serials.len()).map_err(|_| CrlError::TooLarge)?);
        }
        Ok(CompactCrl {
            issuer: parts.issuer.to_vec(),
            signer,
            scope,
            slot,
            authority,
            this_update: parts.this_update,
            next_update: parts.next_update,
            number: number.map(<[u8]>::to_vec),
            serials,
            ends,
        })
    }

    /// The issuer Name, DER (the whole SEQUENCE), as in the CRL.
    pub fn issuer(&self) -> &[u8] {
        &self.issuer
    }

    /// The [`CrlSigner::id`] of the CA whose key verified the signature.
    pub fn signer(&self) -> [u8; 32] {
        self.signer
    }

    /// Which CA (issuer name and key) the CRL is of, as one value: the slots of one CA are
    /// bounded together.
    pub fn authority(&self) -> [u8; 32] {
        self.authority
    }

    /// Which certificates the CRL is about.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The slot: CRLs of the same issuer, key and scope, of which only the newest counts.
    pub fn slot(&self) -> [u8; 32] {
        self.slot
    }

    /// Whether the CRL is about a certificate of its issuer whose CRL distribution points
    /// name `names` ([`distribution_point_names`]): a complete CRL is about all of them, a
    /// partition only about those that name one of its own names.
    pub fn covers(&self, names: &[Vec<u8>]) -> bool {
        match &self.scope {
            Scope::Complete => true,
            Scope::Partition(own) => own.iter().any(|n| names.contains(n)),
            Scope::Relative => false,
        }
    }

    /// thisUpdate, Unix seconds.
    pub fn this_update(&self) -> i64 {
        self.this_update
    }

    /// nextUpdate, Unix seconds, when the CRL has one.
    pub fn next_update(&self) -> Option<i64> {
        self.next_update
    }

    /// The cRLNumber extension's INTEGER contents, when present.
    pub fn number(&self) -> Option<&[u8]> {
        self.number.as_deref()
    }

    /// Whether the serial (the DER INTEGER contents, as in the certificate) is listed. Two
    /// encodings of the same integer match (a redundant leading `00` or `FF` is ignored on
    /// either side); the sign counts.
    pub fn is_revoked(&self, serial: &[u8]) -> bool {
        let wanted = minimal(serial);
        let (mut low, mut high) = (0usize, self.ends.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match compare(self.serial(mid), wanted) {
                Ordering::Less => low = mid + 1,
                Ordering::Greater => high = mid,
                Ordering::Equal => return true,
            }
        }
        false
    }

    /// Whether every serial `other` lists is listed here too (so this CRL may take `other`'s
    /// place without a revocation lost).
    pub fn lists_all_of(&self, other: &CompactCrl) -> bool {
        (0..other.ends.len()).all(|i| self.is_revoked(other.serial(i)))
    }

    /// How many entries are listed (removeFromCRL entries are not; duplicates are).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether no certificate is listed.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Heap bytes held (capacities, not lengths): for a gauge and the memory test.
    pub fn memory_bytes(&self) -> usize {
        self.issuer.capacity()
            + self.number.as_ref().map_or(0, Vec::capacity)
            + self.serials.capacity()
            + self.ends.capacity() * std::mem::size_of::<u32>()
    }

    fn serial(&self, i: usize) -> &[u8] {
        let start = match i.checked_sub(1) {
            Some(before) => self.ends.get(before).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(0);
        let (start, end) = (start as usize, end as usize);
        self.serials.get(start..end).unwrap_or(&[])
    }
}

/// How many elements follow one another in `contents` (up to the first malformed one).
fn count(contents: &[u8]) -> usize {
    let mut reader = Reader::new(contents);
    let mut n = 0;
    while reader.any().is_ok() {
        n += 1;
    }
    n
}

/// The order of the store: by length, then bytes (any total order serves a binary search).
fn compare(a: &[u8], b: &[u8]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// An INTEGER's contents without redundant leading `00` / `FF` octets: one encoding per
/// integer.
fn minimal(mut int: &[u8]) -> &[u8] {
    while let [first, second, ..] = int {
        let redundant =
            (*first == 0x00 && second & 0x80 == 0) || (*first == 0xff && second & 0x80 != 0);
        if !redundant {
            break;
        }
        int = &int[1..];
    }
    int
}

/// CertificateList and TBSCertList, field by field; nothing may follow any of them.
fn split(der: &[u8]) -> Result<Parts<'_>, CrlError> {
    let mut outer = Reader::new(der);
    let mut list = outer.nested(tag::SEQUENCE, "not a CertificateList SEQUENCE")?;
    if !outer.is_empty() {
        return Err(CrlError::Malformed("bytes after the CertificateList"));
    }
    let tbs = list.expect(tag::SEQUENCE, "no tbsCertList")?;
    let algorithm = list.expect(tag::SEQUENCE, "no signatureAlgorithm")?;
    let bits = list.expect(tag::BIT_STRING, "no signatureValue")?;
    if !list.is_empty() {
        return Err(CrlError::Malformed("bytes after the signatureValue"));
    }
    let signature = match bits.contents.split_first() {
        Some((0, signature)) => signature,
        _ => return Err(CrlError::Malformed("the signatureValue has unused bits")),
    };

    let mut fields = Reader::new(tbs.contents);
    if let Some(version) = fields.optional(tag::INTEGER)?
        && version.contents != [1]
    {
        return Err(CrlError::Malformed("the version is not v2"));
    }
    let inner_algorithm = fields.expect(tag::SEQUENCE, "no signature in tbsCertList")?;
    if inner_algorithm.raw != algorithm.raw {
        return Err(CrlError::AlgorithmMismatch);
    }
    let issuer = fields.expect(tag::SEQUENCE, "no issuer Name")?;
    let this_update = der::time(&fields.any()?).map_err(|_| bad("thisUpdate is not a time"))?;
    let next_update = match fields.peek_tag() {
        Some(tag::UTC_TIME | tag::GENERALIZED_TIME) => {
            Some(der::time(&fields.any()?).map_err(|_| bad("nextUpdate is not a time"))?)
        }
        _ => None,
    };
    let revoked = fields.optional(tag::SEQUENCE)?.map(|t| t.contents);
    let extensions = match fields.optional(tag::context(0))? {
        Some(wrapper) => {
            let mut inside = Reader::new(wrapper.contents);
            let list = inside.expect(tag::SEQUENCE, "crlExtensions is not a SEQUENCE")?;
            if !inside.is_empty() {
                return Err(bad("bytes after crlExtensions"));
            }
            Some(list.contents)
        }
        None => None,
    };
    if !fields.is_empty() {
        return Err(bad("unexpected bytes at the end of tbsCertList"));
    }
    Ok(Parts {
        tbs: tbs.raw,
        algorithm: algorithm.contents,
        signature,
        issuer: issuer.raw,
        this_update,
        next_update,
        revoked,
        extensions,
    })
}

fn bad(what: &'static str) -> CrlError {
    CrlError::Malformed(what)
}

/// The id of the first signer named as the issuer, allowed to sign CRLs, whose key verifies
/// the signature over the raw tbsCertList.
fn verify(parts: &Parts<'_>, signers: &[CrlSigner<'_>]) -> Result<[u8; 32], CrlError> {
    let mut namesakes = signers
        .iter()
        .filter(|s| s.subject == parts.issuer)
        .peekable();
    if namesakes.peek().is_none() {
        return Err(CrlError::UnknownIssuer {
            issuer: name_text(parts.issuer),
        });
    }
    let mut problem = None;
    for signer in namesakes.filter(|s| s.can_sign_crl) {
        match verify_signature(parts.algorithm, signer.spki, parts.tbs, parts.signature) {
            Ok(()) => return Ok(signer.id),
            Err(e) => problem = Some(e),
        }
    }
    let issuer = name_text(parts.issuer);
    Err(match problem {
        Some(problem) => CrlError::Signature { issuer, problem },
        None => CrlError::NotCrlSigner { issuer },
    })
}

/// One Extension: its OID contents, whether critical, and the extnValue contents.
fn extension<'a>(tlv: &Tlv<'a>) -> Result<(&'a [u8], bool, &'a [u8]), CrlError> {
    let mut fields = Reader::new(tlv.contents);
    let id = fields.expect(tag::OID, "an extension has no OID")?;
    let critical = match fields.optional(tag::BOOLEAN)? {
        Some(flag) => boolean(&flag)?,
        None => false,
    };
    let value = fields.expect(tag::OCTET_STRING, "an extension has no value")?;
    if !fields.is_empty() {
        return Err(bad("bytes after an extension's value"));
    }
    Ok((id.contents, critical, value.contents))
}

fn boolean(tlv: &Tlv<'_>) -> Result<bool, CrlError> {
    match tlv.contents {
        [0] => Ok(false),
        [_] => Ok(true),
        _ => Err(bad("a BOOLEAN is not one octet")),
    }
}

/// Checks the crlExtensions (the SEQUENCE's contents); returns the cRLNumber's contents and
/// the issuingDistributionPoint's value.
type CrlExtensions<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

fn crl_extensions(list: &[u8]) -> Result<CrlExtensions<'_>, CrlError> {
    let mut number = None;
    let mut idp = None;
    let mut reader = Reader::new(list);
    while !reader.is_empty() {
        let (id, critical, value) = extension(&reader.expect(tag::SEQUENCE, "bad extension")?)?;
        match id {
            oid::DELTA_CRL_INDICATOR => return Err(CrlError::Delta),
            oid::ISSUING_DISTRIBUTION_POINT => idp.replace(value).map_or(Ok(()), |_| {
                Err(bad("two issuingDistributionPoint extensions"))
            })?,
            oid::CRL_NUMBER => {
                let mut inside = Reader::new(value);
                let n = inside.expect(tag::INTEGER, "cRLNumber is not an INTEGER")?;
                if !inside.is_empty() || n.contents.is_empty() {
                    return Err(bad("cRLNumber is not one INTEGER"));
                }
                number = Some(n.contents);
            }
            _ if critical => {
                return Err(CrlError::UnsupportedCritical {
                    oid: der::oid_text(id),
                    entry: false,
                });
            }
            _ => {}
        }
    }
    Ok((number, idp))
}

/// IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0], onlyContainsUserCerts [1],
/// onlyContainsCACerts [2], onlySomeReasons [3], indirectCRL [4],
/// onlyContainsAttributeCerts [5] } (all optional, IMPLICIT).
fn issuing_distribution_point(value: &[u8]) -> Result<Scope, CrlError> {
    let mut outer = Reader::new(value);
    let mut fields = outer.nested(tag::SEQUENCE, "issuingDistributionPoint is not a SEQUENCE")?;
    if !outer.is_empty() {
        return Err(bad("bytes after issuingDistributionPoint"));
    }
    let scope = match fields.optional(tag::context(0))? {
        None => Scope::Complete,
        Some(point) => match distribution_point_name(point.contents)? {
            Some(names) => Scope::Partition(names),
            None => Scope::Relative,
        },
    };
    fields.optional(tag::context_primitive(1))?; // onlyContainsUserCerts: what we check
    let limits: [(u8, &'static str); 4] = [
        (2, "onlyContainsCACerts"),
        (3, "onlySomeReasons"),
        (4, "indirectCRL"),
        (5, "onlyContainsAttributeCerts"),
    ];
    for (number, name) in limits {
        if let Some(field) = fields.optional(tag::context_primitive(number))? {
            // onlySomeReasons is a BIT STRING: any value limits the scope.
            if number == 3 || boolean(&field)? {
                return Err(CrlError::PartialScope(name));
            }
        }
    }
    if !fields.is_empty() {
        return Err(bad("unexpected field in issuingDistributionPoint"));
    }
    Ok(scope)
}

/// DistributionPointName ::= CHOICE { fullName [0] GeneralNames, nameRelativeToCRLIssuer [1] }
/// (the contents of the explicit `[0]` around it): the full names, each GeneralName's whole DER;
/// `None` for a relative name.
fn distribution_point_name(contents: &[u8]) -> Result<Option<Vec<Vec<u8>>>, CrlError> {
    let mut choice = Reader::new(contents);
    let name = choice.any()?;
    if !choice.is_empty() {
        return Err(bad("bytes after a distribution point name"));
    }
    if name.tag == tag::context(1) {
        return Ok(None);
    }
    if name.tag != tag::context(0) {
        return Err(bad(
            "a distribution point name is neither fullName nor relative",
        ));
    }
    let mut names = Vec::new();
    let mut list = Reader::new(name.contents);
    while !list.is_empty() {
        names.push(list.any()?.raw.to_vec());
    }
    if names.is_empty() {
        return Err(bad("a distribution point's fullName is empty"));
    }
    Ok(Some(names))
}

/// The names of a certificate's CRL distribution points (the cRLDistributionPoints
/// extension's value): every fullName GeneralName, whole DER, of the points whose CRL the
/// certificate's issuer signs for every reason (a point with a cRLIssuer names an indirect
/// CRL, one with `reasons` a CRL for some reasons only: both are left out). What [`CompactCrl::covers`] matches a partition against. Malformed: none.
pub fn distribution_point_names(value: &[u8]) -> Vec<Vec<u8>> {
    fn walk(value: &[u8]) -> Result<Vec<Vec<u8>>, CrlError> {
        let mut names = Vec::new();
        let mut outer = Reader::new(value);
        let mut points = outer.nested(tag::SEQUENCE, "cRLDistributionPoints")?;
        while !points.is_empty() {
            let mut point = points.nested(tag::SEQUENCE, "a DistributionPoint")?;
            let name = point.optional(tag::context(0))?;
            // A point for some reasons only covers the certificate for those (RFC 5280 6.3.3
            // (d)): its CRL cannot vouch for every reason, so it is left out too.
            let some_reasons = point.optional(tag::context_primitive(1))?.is_some();
            let indirect = point.optional(tag::context(2))?.is_some();
            if let (Some(name), false) = (name, indirect || some_reasons)
                && let Some(full) = distribution_point_name(name.contents)?
            {
                names.extend(full);
            }
        }
        Ok(names)
    }
    walk(value).unwrap_or_default()
}

/// Which of two CRLs of one slot is newer: by cRLNumber when both have one, then by
/// thisUpdate (RFC 5280 5.2.3: numbers increase with every CRL of a scope).
pub fn newer(a: &CrlOrder<'_>, b: &CrlOrder<'_>) -> Ordering {
    let by_number = match (a.number, b.number) {
        (Some(x), Some(y)) => compare(minimal(x), minimal(y)),
        _ => Ordering::Equal,
    };
    by_number.then(a.this_update.cmp(&b.this_update))
}

/// What orders the CRLs of one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlOrder<'a> {
    /// The cRLNumber's contents.
    pub number: Option<&'a [u8]>,
    /// thisUpdate, Unix seconds.
    pub this_update: i64,
}

impl CompactCrl {
    /// What orders it among the CRLs of its slot.
    pub fn order(&self) -> CrlOrder<'_> {
        CrlOrder {
            number: self.number(),
            this_update: self.this_update,
        }
    }
}

/// Walks revokedCertificates (the SEQUENCE's contents), handing each revoked serial (minimal
/// INTEGER contents) to `found`; removeFromCRL entries are skipped.
fn entries<'a>(list: &'a [u8], mut found: impl FnMut(&'a [u8])) -> Result<(), CrlError> {
    let mut reader = Reader::new(list);
    while !reader.is_empty() {
        let mut entry = reader.nested(tag::SEQUENCE, "a revoked entry is not a SEQUENCE")?;
        let serial = entry.expect(tag::INTEGER, "a revoked entry has no serial number")?;
        if serial.contents.is_empty() {
            return Err(bad("a revoked serial number is empty"));
        }
        der::time(&entry.any()?).map_err(|_| bad("a revocationDate is not a time"))?;
        let mut removed = false;
        if let Some(extensions) = entry.optional(tag::SEQUENCE)? {
            let mut list = Reader::new(extensions.contents);
            while !list.is_empty() {
                let (id, critical, value) =
                    extension(&list.expect(tag::SEQUENCE, "bad entry extension")?)?;
                match id {
                    oid::CERTIFICATE_ISSUER => return Err(CrlError::IndirectEntry),
                    oid::REASON_CODE => {
                        let mut inside = Reader::new(value);
                        let code =
                            inside.expect(tag::ENUMERATED, "reasonCode is not ENUMERATED")?;
                        if !inside.is_empty() {
                            return Err(bad("bytes after a reasonCode"));
                        }
                        removed = code.contents == [REMOVE_FROM_CRL];
                    }
                    _ if critical => {
                        return Err(CrlError::UnsupportedCritical {
                            oid: der::oid_text(id),
                            entry: true,
                        });
                    }
                    _ => {}
                }
            }
        }
        if !entry.is_empty() {
            return Err(bad("unexpected bytes in a revoked entry"));
        }
        if !removed {
            found(minimal(serial.contents));
        }
    }
    Ok(())
}

/// A Name for messages: `type=value` in the order of the DER, common types by keyword, values
/// log-safe.
fn name_text(name: &[u8]) -> String {
    fn walk(name: &[u8]) -> Result<String, DerError> {
        let mut parts: Vec<String> = Vec::new();
        let mut rdns = Reader::new(name).nested(tag::SEQUENCE, "name")?;
        while !rdns.is_empty() {
            let mut set = rdns.nested(tag::SET, "rdn")?;
            while !set.is_empty() {
                let mut pair = set.nested(tag::SEQUENCE, "attribute")?;
                let kind = pair.expect(tag::OID, "type")?;
                let value = pair.any()?;
                let keyword = match kind.contents {
                    [0x55, 0x04, 0x03] => "CN".to_string(),
                    [0x55, 0x04, 0x06] => "C".to_string(),
                    [0x55, 0x04, 0x07] => "L".to_string(),
                    [0x55, 0x04, 0x08] => "ST".to_string(),
                    [0x55, 0x04, 0x0a] => "O".to_string(),
                    [0x55, 0x04, 0x0b] => "OU".to_string(),
                    [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => {
                        "DC".to_string()
                    }
                    other => der::oid_text(other),
                };
                parts.push(format!("{keyword}={}", log_safe(value.contents)));
            }
        }
        Ok(parts.join(", "))
    }
    match walk(name) {
        Ok(text) if !text.is_empty() => text,
        Ok(_) => "(empty name)".to_string(),
        Err(_) => "(malformed name)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn booleans_are_one_octet_zero_or_not() {
        let b = |contents: &'static [u8]| {
            boolean(&Tlv {
                tag: tag::BOOLEAN,
                contents,
                raw: &[],
            })
        };
        assert_eq!(b(&[0]), Ok(false));
        assert_eq!(b(&[0xff]), Ok(true));
        assert!(b(&[]).is_err() && b(&[0, 0]).is_err());
    }

    #[test]
    fn the_serial_list_is_sized_by_counting_the_elements() {
        let entry = der::constructed(tag::SEQUENCE, &[&[0x02, 0x01, 0x07]]);
        for n in [0usize, 1, 3, 200] {
            let list = entry.repeat(n);
            assert_eq!(count(&list), n);
        }
        // Up to the first malformed element.
        let mut list = entry.repeat(2);
        list.push(0x30);
        assert_eq!(count(&list), 2);
    }

    #[test]
    fn integers_reduce_to_one_encoding() {
        assert_eq!(minimal(&[0, 0, 0x7f]), &[0x7f]);
        assert_eq!(minimal(&[0, 0x80]), &[0, 0x80]);
        assert_eq!(minimal(&[0xff, 0xff, 0x80]), &[0x80]);
        assert_eq!(minimal(&[0xff, 0x7f]), &[0xff, 0x7f]);
        assert_eq!(minimal(&[0]), &[0]);
        assert_eq!(minimal(&[]), &[] as &[u8]);
    }

    #[test]
    fn names_read_for_messages() {
        let cn = der::constructed(
            tag::SET,
            &[&der::constructed(
                tag::SEQUENCE,
                &[
                    &der::tlv(tag::OID, &[0x55, 4, 3]),
                    &der::tlv(0x0c, b"Issuing \"CA\""),
                ],
            )],
        );
        let other = der::constructed(
            tag::SET,
            &[&der::constructed(
                tag::SEQUENCE,
                &[&der::tlv(tag::OID, &[0x55, 4, 5]), &der::tlv(0x13, b"42")],
            )],
        );
        let name = der::constructed(tag::SEQUENCE, &[&other, &cn]);
        assert_eq!(name_text(&name), "2.5.4.5=42, CN=Issuing \\\"CA\\\"");
        assert_eq!(name_text(&[0x30, 0x00]), "(empty name)");
        assert_eq!(name_text(&[0x30, 0x03, 0x31]), "(malformed name)");
    }
}
