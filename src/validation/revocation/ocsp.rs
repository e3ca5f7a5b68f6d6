//! OCSP (RFC 6960): the request for one certificate, and the verification of the responder's
//! answer, in pure Rust over [`crate::text::der`].
//!
//! [`request`] encodes an `OCSPRequest` for one [`CertId`] (SHA-1 hashes, as OpenSSL and most
//! responders expect), with an RFC 8954 nonce when given. [`verify_response`] accepts a
//! `BasicOCSPResponse` only when
//!
//! 1. the `responseStatus` is `successful` and the type is `id-pkix-ocsp-basic`;
//! 2. it is signed over its `tbsResponseData` by the issuer itself (the `responderID` names the
//!    issuer's subject or its key hash) or by a responder certificate the issuer delegated: one
//!    of the response's `certs`, matching the `responderID`, issued (name and signature) by the
//!    issuer, carrying the extended key usage `id-kp-OCSPSigning`, valid now within the skew;
//! 3. exactly one `SingleResponse` is about our certificate (SHA-1 CertID, both hashes and the
//!    serial equal); answers about other certificates are skipped;
//! 4. a nonce it carries is the one sent (RFC 8954 form or the bare octets), when one was sent;
//! 5. the answer is fresh: `thisUpdate` not in the future, `nextUpdate` not past (within the
//!    skew) or, without a `nextUpdate`, `thisUpdate` no older than the caller's maximum age;
//! 6. no extension it marks critical is unknown (only the nonce is known).
//!
//! Anything malformed is an error; nothing here panics on any input.

use std::fmt;

use crate::cert::{sha1, sha256};
use crate::text::der::{self, DerError, Reader, Tlv, constructed, tag, tlv};
use crate::text::rfc3339;
use crate::validation::crypto::{SignatureError, verify_signature};

/// id-sha1, 1.3.14.3.2.26.
const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
/// id-pkix-ocsp-basic, 1.3.6.1.5.5.7.48.1.1.
const OID_BASIC: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];
/// id-pkix-ocsp-nonce, 1.3.6.1.5.5.7.48.1.2.
const OID_NONCE: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02];

/// Identifies one certificate to a responder: SHA-1 hashes of its issuer's name and key, and its
/// serial.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertId {
    /// SHA-1 of the issuer's subject Name, whole DER.
    pub issuer_name_hash: [u8; 20],
    /// SHA-1 of the issuer's public key: its SubjectPublicKeyInfo's BIT STRING contents without
    /// the unused-bits byte.
    pub issuer_key_hash: [u8; 20],
    /// The certificate's serialNumber: the DER INTEGER contents, as in the certificate.
    pub serial: Vec<u8>,
}

impl CertId {
    /// `issuer_subject`: the issuer's subject Name, whole DER; `issuer_spki`: the issuer's
    /// SubjectPublicKeyInfo, whole DER (key hash = SHA-1 of the BIT STRING contents without the
    /// unused-bits byte); `serial`: the leaf's serialNumber INTEGER contents. `None` when the
    /// name is not one SEQUENCE, the key is not a well-formed SubjectPublicKeyInfo or the serial
    /// is empty.
    pub fn new(issuer_subject: &[u8], issuer_spki: &[u8], serial: &[u8]) -> Option<CertId> {
        let mut name = Reader::new(issuer_subject);
        name.expect(tag::SEQUENCE, "name").ok()?;
        if !name.is_empty() || serial.is_empty() {
            return None;
        }
        Some(CertId {
            issuer_name_hash: sha1(issuer_subject),
            issuer_key_hash: sha1(key_bits(issuer_spki)?),
            serial: serial.to_vec(),
        })
    }

    /// The CertID's DER: hashAlgorithm SHA-1 with NULL parameters, the two hashes, the serial.
    pub fn to_der(&self) -> Vec<u8> {
        constructed(
            tag::SEQUENCE,
            &[
                &sha1_algorithm(),
                &tlv(tag::OCTET_STRING, &self.issuer_name_hash),
                &tlv(tag::OCTET_STRING, &self.issuer_key_hash),
                &tlv(tag::INTEGER, &self.serial),
            ],
        )
    }

    /// SHA-256 of the CertID's DER: a cache key.
    pub fn key(&self) -> [u8; 32] {
        sha256(&self.to_der())
    }
}

/// AlgorithmIdentifier { id-sha1, NULL }, as OpenSSL writes it.
fn sha1_algorithm() -> Vec<u8> {
    constructed(
        tag::SEQUENCE,
        &[&tlv(tag::OID, OID_SHA1), &tlv(tag::NULL, &[])],
    )
}

/// The key octets of a SubjectPublicKeyInfo (its BIT STRING without the unused-bits byte, which
/// must be 0).
fn key_bits(spki: &[u8]) -> Option<&[u8]> {
    let mut outer = Reader::new(spki);
    let mut info = outer.nested(tag::SEQUENCE, "spki").ok()?;
    info.expect(tag::SEQUENCE, "algorithm").ok()?;
    let bits = info.expect(tag::BIT_STRING, "key").ok()?;
    if !outer.is_empty() || !info.is_empty() {
        return None;
    }
    match bits.contents.split_first() {
        Some((0, key)) => Some(key),
        _ => None,
    }
}

/// DER OCSPRequest for one certificate (hashAlgorithm SHA-1 with NULL parameters, as OpenSSL
/// does), with the nonce extension (id-pkix-ocsp-nonce, extnValue = OCTET STRING wrapping an
/// OCTET STRING of the nonce, RFC 8954) when given. The request is not signed.
pub fn request(id: &CertId, nonce: Option<&[u8]>) -> Vec<u8> {
    let one = constructed(tag::SEQUENCE, &[&id.to_der()]);
    let list = constructed(tag::SEQUENCE, &[&one]);
    let tbs = match nonce {
        None => constructed(tag::SEQUENCE, &[&list]),
        Some(nonce) => {
            let extension = constructed(
                tag::SEQUENCE,
                &[
                    &tlv(tag::OID, OID_NONCE),
                    &tlv(tag::OCTET_STRING, &tlv(tag::OCTET_STRING, nonce)),
                ],
            );
            let extensions = constructed(tag::SEQUENCE, &[&extension]);
            constructed(tag::SEQUENCE, &[&list, &tlv(tag::context(2), &extensions)])
        }
    };
    constructed(tag::SEQUENCE, &[&tbs])
}

/// The responder's word on the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not revoked (as far as the responder knows).
    Good,
    /// Revoked.
    Revoked {
        /// revocationTime, Unix seconds.
        at: i64,
        /// revocationReason (CRLReason), when given: 6 is `certificateHold`, the one
        /// revocation that may be lifted.
        reason: Option<u8>,
    },
    /// The responder does not know the certificate.
    Unknown,
}

/// A verified answer about one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The certificate's status.
    pub status: Status,
    /// thisUpdate of the answer, Unix seconds.
    pub this_update: i64,
    /// nextUpdate of the answer, Unix seconds, when the responder gave one.
    pub next_update: Option<i64>,
    /// producedAt of the response, Unix seconds.
    pub produced_at: i64,
}

/// The certificate that issued the leaf: its subject Name DER and SubjectPublicKeyInfo DER.
#[derive(Debug, Clone, Copy)]
pub struct Issuer<'a> {
    /// The issuer's subject Name, whole DER.
    pub subject: &'a [u8],
    /// The issuer's SubjectPublicKeyInfo, whole DER.
    pub spki: &'a [u8],
}

/// When an answer is recent enough, and a responder certificate valid.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// The time now, Unix seconds.
    pub now: i64,
    /// Seconds allowed for clock differences.
    pub skew: i64,
    /// When the answer has no nextUpdate: the oldest thisUpdate accepted is `now - max_age`.
    pub max_age: i64,
    /// Whatever its nextUpdate says, the oldest producedAt and thisUpdate accepted are
    /// `now - max_answer_age` (`ocsp.maxAgeSeconds`): the longest a captured answer can be
    /// replayed.
    pub max_answer_age: i64,
    /// An answer must echo the nonce sent (`ocsp.requireNonce`); otherwise an answer without
    /// a nonce is accepted (one with another nonce never is).
    pub require_nonce: bool,
}

/// Why an OCSP response was not accepted. The Display text is meant for a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcspError {
    /// The response (or a certificate in it) is not the DER expected.
    Malformed(DerError),
    /// The responder did not answer `successful`.
    ResponseStatus {
        /// The responseStatus value.
        status: u8,
    },
    /// The responseType is not id-pkix-ocsp-basic.
    NotBasic {
        /// The responseType, dotted.
        oid: String,
    },
    /// The issuer's SubjectPublicKeyInfo given to [`verify_response`] is not well formed.
    BadIssuerKey,
    /// The responderID names neither the issuer nor any certificate the response includes.
    UnknownResponder,
    /// A responder certificate matching the responderID was not issued by the issuer (another
    /// issuer name, or the issuer's key does not verify its signature).
    NotDelegated,
    /// The delegated responder certificate lacks the extended key usage id-kp-OCSPSigning.
    NotOcspSigner,
    /// The delegated responder certificate is not valid now.
    ResponderExpired {
        /// Its notBefore, Unix seconds.
        not_before: i64,
        /// Its notAfter, Unix seconds.
        not_after: i64,
        /// The time now.
        now: i64,
    },
    /// The response's signature does not verify with the signer's key.
    Signature(SignatureError),
    /// No answer in the response is about the certificate asked for.
    NoAnswer,
    /// More than one answer is about the certificate asked for.
    AmbiguousAnswer,
    /// The response's nonce is not the one sent.
    NonceMismatch,
    /// The response has no nonce and `requireNonce` is set.
    NonceMissing,
    /// The answer's producedAt or thisUpdate is older than `maxAgeSeconds`.
    Stale {
        /// `producedAt` or `thisUpdate`.
        field: &'static str,
        /// Its value, Unix seconds.
        at: i64,
        /// The maximum age, seconds.
        max_age: i64,
        /// The time now.
        now: i64,
    },
    /// The answer's thisUpdate is in the future.
    NotYetValid {
        /// thisUpdate, Unix seconds.
        this_update: i64,
        /// The time now.
        now: i64,
    },
    /// The answer's nextUpdate has passed.
    Expired {
        /// nextUpdate, Unix seconds.
        next_update: i64,
        /// The time now.
        now: i64,
    },
    /// The answer has no nextUpdate and its thisUpdate is older than the maximum age.
    TooOld {
        /// thisUpdate, Unix seconds.
        this_update: i64,
        /// The maximum age, seconds.
        max_age: i64,
        /// The time now.
        now: i64,
    },
    /// The response marks critical an extension this module does not know.
    UnknownCriticalExtension {
        /// The extension's OID, dotted.
        oid: String,
    },
}

impl From<DerError> for OcspError {
    fn from(e: DerError) -> OcspError {
        OcspError::Malformed(e)
    }
}

/// The name RFC 6960 gives a responseStatus.
fn status_name(status: u8) -> &'static str {
    match status {
        0 => "successful",
        1 => "malformedRequest",
        2 => "internalError",
        3 => "tryLater",
        5 => "sigRequired",
        6 => "unauthorized",
        _ => "an undefined status",
    }
}

impl fmt::Display for OcspError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = rfc3339::format;
        match self {
            OcspError::Malformed(e) => write!(f, "the OCSP response is malformed: {e}"),
            OcspError::ResponseStatus { status } => write!(
                f,
                "the responder answered {} ({status}) instead of successful",
                status_name(*status)
            ),
            OcspError::NotBasic { oid } => {
                write!(f, "the OCSP response type is {oid}, not id-pkix-ocsp-basic")
            }
            OcspError::BadIssuerKey => f.write_str("the issuer's public key is not well formed"),
            OcspError::UnknownResponder => f.write_str(
                "the responder's answer is signed by neither the issuer nor a responder \
                 certificate included in the response",
            ),
            OcspError::NotDelegated => f.write_str(
                "the responder's answer is signed by a certificate the issuer did not delegate",
            ),
            OcspError::NotOcspSigner => {
                f.write_str("the responder's certificate lacks the extended key usage OCSPSigning")
            }
            OcspError::ResponderExpired {
                not_before,
                not_after,
                now,
            } => write!(
                f,
                "the responder's certificate is valid from {} to {}, not at {}",
                t(*not_before),
                t(*not_after),
                t(*now)
            ),
            OcspError::Signature(e) => write!(f, "the OCSP response's signature: {e}"),
            OcspError::NoAnswer => {
                f.write_str("the OCSP response has no answer about this certificate")
            }
            OcspError::AmbiguousAnswer => {
                f.write_str("the OCSP response has more than one answer about this certificate")
            }
            OcspError::NonceMismatch => {
                f.write_str("the OCSP response's nonce is not the one sent")
            }
            OcspError::NonceMissing => f.write_str(
                "the OCSP response has no nonce and ocsp.requireNonce is set (a responder that \
                 pre-generates its answers cannot echo one)",
            ),
            OcspError::Stale {
                field,
                at,
                max_age,
                now,
            } => write!(
                f,
                "the OCSP answer's {field} {} is more than {max_age} seconds before now ({}): \
                 an older answer may be a replay (ocsp.maxAgeSeconds; raise it to the \
                 responder's refresh period if it pre-generates its answers)",
                t(*at),
                t(*now)
            ),
            OcspError::NotYetValid { this_update, now } => write!(
                f,
                "the OCSP answer's thisUpdate {} is after now ({})",
                t(*this_update),
                t(*now)
            ),
            OcspError::Expired { next_update, now } => write!(
                f,
                "the OCSP answer expired at {} (nextUpdate), now is {}",
                t(*next_update),
                t(*now)
            ),
            OcspError::TooOld {
                this_update,
                max_age,
                now,
            } => write!(
                f,
                "the OCSP answer has no nextUpdate and its thisUpdate {} is more than {max_age} \
                 seconds before now ({})",
                t(*this_update),
                t(*now)
            ),
            OcspError::UnknownCriticalExtension { oid } => write!(
                f,
                "the OCSP response has an unknown critical extension {oid}"
            ),
        }
    }
}

impl std::error::Error for OcspError {}

/// The parts of a BasicOCSPResponse.
struct Basic<'a> {
    /// tbsResponseData, whole DER: what is signed.
    tbs: Tlv<'a>,
    /// The contents of the signatureAlgorithm SEQUENCE.
    algorithm: &'a [u8],
    /// The signature octets.
    signature: &'a [u8],
    /// The certificates included, whole DER each.
    certs: Vec<&'a [u8]>,
}

/// Who signed, as the response says.
#[derive(Clone, Copy)]
enum ResponderId<'a> {
    /// A Name, whole DER.
    ByName(&'a [u8]),
    /// SHA-1 of the signer's key bits.
    ByKey(&'a [u8]),
}

/// One extension.
struct Extension<'a> {
    oid: &'a [u8],
    critical: bool,
    /// The contents of extnValue.
    value: &'a [u8],
}

/// One SingleResponse.
struct Single<'a> {
    hash_algorithm: Tlv<'a>,
    name_hash: &'a [u8],
    key_hash: &'a [u8],
    serial: &'a [u8],
    status: Status,
    this_update: i64,
    next_update: Option<i64>,
    extensions: Vec<Extension<'a>>,
}

/// The OCSPResponse down to its BasicOCSPResponse: status, type and the signature's parts.
fn basic_response(input: &[u8]) -> Result<Basic<'_>, OcspError> {
    let mut outer = Reader::new(input);
    let mut response = outer.nested(tag::SEQUENCE, "OCSPResponse")?;
    if !outer.is_empty() {
        return Err(DerError("data after the OCSPResponse").into());
    }
    let status = response.expect(tag::ENUMERATED, "responseStatus")?;
    let status = match status.contents {
        [s] if s & 0x80 == 0 => *s,
        _ => return Err(DerError("responseStatus").into()),
    };
    if status != 0 {
        return Err(OcspError::ResponseStatus { status });
    }
    let mut explicit = response.nested(tag::context(0), "responseBytes")?;
    let mut bytes = explicit.nested(tag::SEQUENCE, "responseBytes")?;
    if !explicit.is_empty() || !response.is_empty() {
        return Err(DerError("data after responseBytes").into());
    }
    let kind = bytes.expect(tag::OID, "responseType")?;
    if kind.contents != OID_BASIC {
        return Err(OcspError::NotBasic {
            oid: der::oid_text(kind.contents),
        });
    }
    let octets = bytes.expect(tag::OCTET_STRING, "response")?;
    if !bytes.is_empty() {
        return Err(DerError("data after the response").into());
    }
    let mut wrapper = Reader::new(octets.contents);
    let mut basic = wrapper.nested(tag::SEQUENCE, "BasicOCSPResponse")?;
    if !wrapper.is_empty() {
        return Err(DerError("data after the BasicOCSPResponse").into());
    }
    let tbs = basic.expect(tag::SEQUENCE, "tbsResponseData")?;
    let algorithm = basic.expect(tag::SEQUENCE, "signatureAlgorithm")?.contents;
    let signature = bit_string_octets(basic.expect(tag::BIT_STRING, "signature")?)?;
    let mut certs = Vec::new();
    if let Some(list) = basic.optional(tag::context(0))? {
        let mut explicit = Reader::new(list.contents);
        let mut list = explicit.nested(tag::SEQUENCE, "certs")?;
        if !explicit.is_empty() {
            return Err(DerError("data after the certs").into());
        }
        while !list.is_empty() {
            certs.push(list.expect(tag::SEQUENCE, "a certificate in certs")?.raw);
        }
    }
    if !basic.is_empty() {
        return Err(DerError("data after the BasicOCSPResponse's certs").into());
    }
    Ok(Basic {
        tbs,
        algorithm,
        signature,
        certs,
    })
}

/// The octets of a BIT STRING with no unused bits.
fn bit_string_octets(bits: Tlv<'_>) -> Result<&[u8], DerError> {
    match bits.contents.split_first() {
        Some((0, octets)) => Ok(octets),
        _ => Err(DerError("a BIT STRING with unused bits")),
    }
}

/// One GeneralizedTime.
fn generalized_time(reader: &mut Reader<'_>, what: &'static str) -> Result<i64, DerError> {
    der::time(&reader.expect(tag::GENERALIZED_TIME, what)?)
}

/// The `[1]` extensions that end a SEQUENCE; `after` names the error when something follows.
fn last_extensions<'a>(
    reader: &mut Reader<'a>,
    after: &'static str,
) -> Result<Vec<Extension<'a>>, DerError> {
    let found = extensions(reader.optional(tag::context(1))?)?;
    if !reader.is_empty() {
        return Err(DerError(after));
    }
    Ok(found)
}

/// The `[n] EXPLICIT Extensions` wrapper's list, if present.
fn extensions<'a>(wrapper: Option<Tlv<'a>>) -> Result<Vec<Extension<'a>>, DerError> {
    let Some(wrapper) = wrapper else {
        return Ok(Vec::new());
    };
    let mut explicit = Reader::new(wrapper.contents);
    let mut list = explicit.nested(tag::SEQUENCE, "extensions")?;
    if !explicit.is_empty() {
        return Err(DerError("data after the extensions"));
    }
    let mut out = Vec::new();
    while !list.is_empty() {
        let mut extension = list.nested(tag::SEQUENCE, "an extension")?;
        let oid = extension.expect(tag::OID, "an extension's id")?.contents;
        let critical = match extension.optional(tag::BOOLEAN)? {
            None => false,
            Some(flag) => match flag.contents {
                [0xff] => true,
                [0x00] => false,
                _ => return Err(DerError("an extension's criticality")),
            },
        };
        let value = extension
            .expect(tag::OCTET_STRING, "an extension's value")?
            .contents;
        if !extension.is_empty() {
            return Err(DerError("data after an extension's value"));
        }
        out.push(Extension {
            oid,
            critical,
            value,
        });
    }
    Ok(out)
}

/// The parts of ResponseData.
struct ResponseData<'a> {
    responder: ResponderId<'a>,
    produced_at: i64,
    responses: Vec<Single<'a>>,
    extensions: Vec<Extension<'a>>,
}

fn response_data<'a>(tbs: &Tlv<'a>) -> Result<ResponseData<'a>, DerError> {
    let mut data = Reader::new(tbs.contents);
    if let Some(version) = data.optional(tag::context(0))? {
        let mut explicit = Reader::new(version.contents);
        let number = explicit.expect(tag::INTEGER, "version")?;
        if number.contents != [0] || !explicit.is_empty() {
            return Err(DerError("a response version other than v1"));
        }
    }
    let id = data.any()?;
    let mut explicit = Reader::new(id.contents);
    let responder = match id.tag {
        t if t == tag::context(1) => {
            ResponderId::ByName(explicit.expect(tag::SEQUENCE, "responderID byName")?.raw)
        }
        t if t == tag::context(2) => ResponderId::ByKey(
            explicit
                .expect(tag::OCTET_STRING, "responderID byKey")?
                .contents,
        ),
        _ => return Err(DerError("responderID")),
    };
    if !explicit.is_empty() {
        return Err(DerError("data after the responderID"));
    }
    let produced_at = generalized_time(&mut data, "producedAt")?;
    let mut list = data.nested(tag::SEQUENCE, "responses")?;
    let mut responses = Vec::new();
    while !list.is_empty() {
        responses.push(single(&mut list)?);
    }
    let extensions = last_extensions(&mut data, "data after the responseExtensions")?;
    Ok(ResponseData {
        responder,
        produced_at,
        responses,
        extensions,
    })
}

fn single<'a>(list: &mut Reader<'a>) -> Result<Single<'a>, DerError> {
    let mut single = list.nested(tag::SEQUENCE, "a SingleResponse")?;
    let mut id = single.nested(tag::SEQUENCE, "certID")?;
    let hash_algorithm = id.expect(tag::SEQUENCE, "certID hashAlgorithm")?;
    let name_hash = id
        .expect(tag::OCTET_STRING, "certID issuerNameHash")?
        .contents;
    let key_hash = id
        .expect(tag::OCTET_STRING, "certID issuerKeyHash")?
        .contents;
    let serial = id.expect(tag::INTEGER, "certID serialNumber")?.contents;
    if !id.is_empty() {
        return Err(DerError("data after the certID"));
    }
    let status = single.any().map_err(|_| DerError("certStatus"))?;
    let status = match status.tag {
        t if t == tag::context_primitive(0) && status.contents.is_empty() => Status::Good,
        t if t == tag::context(1) => {
            let mut info = Reader::new(status.contents);
            let at = generalized_time(&mut info, "revocationTime")?;
            let reason = match info.optional(tag::context(0))? {
                None => None,
                Some(wrapper) => {
                    let mut explicit = Reader::new(wrapper.contents);
                    let code = explicit.expect(tag::ENUMERATED, "revocationReason")?;
                    if !explicit.is_empty() {
                        return Err(DerError("data after the revocationReason's value"));
                    }
                    match code.contents {
                        [value] => Some(*value),
                        _ => return Err(DerError("revocationReason is not one octet")),
                    }
                }
            };
            if !info.is_empty() {
                return Err(DerError("data after the revocationReason"));
            }
            Status::Revoked { at, reason }
        }
        t if t == tag::context_primitive(2) && status.contents.is_empty() => Status::Unknown,
        _ => return Err(DerError("certStatus")),
    };
    let this_update = generalized_time(&mut single, "thisUpdate")?;
    let next_update = match single.optional(tag::context(0))? {
        None => None,
        Some(wrapper) => {
            let mut explicit = Reader::new(wrapper.contents);
            let next = generalized_time(&mut explicit, "nextUpdate")?;
            if !explicit.is_empty() {
                return Err(DerError("data after the nextUpdate"));
            }
            Some(next)
        }
    };
    let extensions = last_extensions(&mut single, "data after the singleExtensions")?;
    Ok(Single {
        hash_algorithm,
        name_hash,
        key_hash,
        serial,
        status,
        this_update,
        next_update,
        extensions,
    })
}

impl Single<'_> {
    /// Whether this answer is about `id`: SHA-1 (parameters NULL or absent), both hashes and
    /// the serial equal.
    fn is_about(&self, id: &CertId) -> bool {
        let mut algorithm = Reader::new(self.hash_algorithm.contents);
        let is_sha1 =
            matches!(algorithm.expect(tag::OID, "hash"), Ok(oid) if oid.contents == OID_SHA1);
        // Parameters: absent, or NULL.
        let parameters = algorithm.is_empty()
            || (matches!(algorithm.any(), Ok(null) if null.tag == tag::NULL && null.contents.is_empty())
                && algorithm.is_empty());
        is_sha1
            && parameters
            && self.name_hash == id.issuer_name_hash
            && self.key_hash == id.issuer_key_hash
            && self.serial == id.serial.as_slice()
    }
}

/// The parts of a certificate its issuer signed.
struct Signed<'a> {
    /// tbsCertificate, whole DER.
    tbs: &'a [u8],
    /// The contents of the signatureAlgorithm SEQUENCE.
    algorithm: &'a [u8],
    /// The signature octets.
    signature: &'a [u8],
}

/// The signed parts of a certificate.
fn certificate_parts(cert: &[u8]) -> Result<Signed<'_>, DerError> {
    let mut outer = Reader::new(cert);
    let mut parts = outer.nested(tag::SEQUENCE, "a responder certificate")?;
    let tbs = parts.expect(tag::SEQUENCE, "a responder certificate's tbsCertificate")?;
    let algorithm = parts.expect(tag::SEQUENCE, "a responder certificate's algorithm")?;
    let signature =
        bit_string_octets(parts.expect(tag::BIT_STRING, "a responder certificate's signature")?)?;
    if !outer.is_empty() || !parts.is_empty() {
        return Err(DerError("data after a responder certificate"));
    }
    Ok(Signed {
        tbs: tbs.raw,
        algorithm: algorithm.contents,
        signature,
    })
}

/// Whether the SubjectPublicKeyInfo `spki` or the Name `subject` is the one `responder` names.
fn names(responder: ResponderId<'_>, subject: &[u8], spki: &[u8]) -> bool {
    match responder {
        ResponderId::ByName(name) => name == subject,
        ResponderId::ByKey(hash) => key_bits(spki).is_some_and(|key| sha1(key) == hash),
    }
}

/// A certificate of the response's `certs` as a delegated responder: `Ok(None)` when the
/// responderID does not name it; its SubjectPublicKeyInfo when the issuer delegated it.
fn delegated<'c>(
    cert: &'c [u8],
    responder: ResponderId<'_>,
    issuer: &Issuer<'_>,
    fresh: &Freshness,
) -> Result<Option<&'c [u8]>, OcspError> {
    let parsed = crate::cert::x509::Certificate::parse(cert)
        .map_err(|_| DerError("a responder certificate"))?;
    let spki = parsed.spki;
    if !names(responder, parsed.subject.raw, spki) {
        return Ok(None);
    }
    if parsed.issuer.raw != issuer.subject {
        return Err(OcspError::NotDelegated);
    }
    let signed = certificate_parts(cert)?;
    verify_signature(signed.algorithm, issuer.spki, signed.tbs, signed.signature)
        .map_err(|_| OcspError::NotDelegated)?;
    // An extendedKeyUsage that does not decode refuses the certificate above.
    if !parsed
        .extended_key_usage
        .is_some_and(|eku| eku.ocsp_signing)
    {
        return Err(OcspError::NotOcspSigner);
    }
    let (not_before, not_after) = (parsed.not_before, parsed.not_after);
    if fresh.now < not_before.saturating_sub(fresh.skew)
        || fresh.now > not_after.saturating_add(fresh.skew)
    {
        return Err(OcspError::ResponderExpired {
            not_before,
            not_after,
            now: fresh.now,
        });
    }
    Ok(Some(spki))
}

/// Checks the response's signature: by the issuer, or by a responder certificate it delegated.
fn verify_signer(
    basic: &Basic<'_>,
    responder: ResponderId<'_>,
    issuer: &Issuer<'_>,
    fresh: &Freshness,
) -> Result<(), OcspError> {
    let verify = |spki: &[u8]| {
        verify_signature(basic.algorithm, spki, basic.tbs.raw, basic.signature)
            .map_err(OcspError::Signature)
    };
    if names(responder, issuer.subject, issuer.spki) {
        return verify(issuer.spki);
    }
    let mut refused = None;
    for cert in &basic.certs {
        match delegated(cert, responder, issuer, fresh) {
            Ok(None) => {}
            Ok(Some(spki)) => return verify(spki),
            Err(e) => {
                refused.get_or_insert(e);
            }
        }
    }
    Err(refused.unwrap_or(OcspError::UnknownResponder))
}

/// Refuses an unknown critical extension (the nonce is the only one known).
fn known_critical(list: &[Extension<'_>]) -> Result<(), OcspError> {
    match list.iter().find(|e| e.critical && e.oid != OID_NONCE) {
        Some(e) => Err(OcspError::UnknownCriticalExtension {
            oid: der::oid_text(e.oid),
        }),
        None => Ok(()),
    }
}

/// Verifies a DER OCSPResponse about `id`, issued by `issuer`, answering a request sent with
/// `nonce`, at the time and tolerances of `fresh`; see the module's documentation for the
/// rules. Returns the answer about `id`.
pub fn verify_response(
    der: &[u8],
    id: &CertId,
    issuer: &Issuer<'_>,
    nonce: Option<&[u8]>,
    fresh: &Freshness,
) -> Result<Answer, OcspError> {
    let basic = basic_response(der)?;
    let data = response_data(&basic.tbs)?;
    if key_bits(issuer.spki).is_none() {
        return Err(OcspError::BadIssuerKey);
    }
    verify_signer(&basic, data.responder, issuer, fresh)?;
    known_critical(&data.extensions)?;
    let mut ours = data.responses.iter().filter(|s| s.is_about(id));
    let single = ours.next().ok_or(OcspError::NoAnswer)?;
    if ours.next().is_some() {
        return Err(OcspError::AmbiguousAnswer);
    }
    known_critical(&single.extensions)?;
    if let Some(sent) = nonce {
        let echoed = data.extensions.iter().find(|e| e.oid == OID_NONCE);
        match echoed {
            Some(echoed)
                if echoed.value != tlv(tag::OCTET_STRING, sent).as_slice()
                    && echoed.value != sent =>
            {
                return Err(OcspError::NonceMismatch);
            }
            None if fresh.require_nonce => return Err(OcspError::NonceMissing),
            _ => {}
        }
    } else if fresh.require_nonce {
        return Err(OcspError::NonceMissing);
    }
    let now = fresh.now;
    let oldest = now.saturating_sub(fresh.max_answer_age);
    for (field, at) in [
        ("producedAt", data.produced_at),
        ("thisUpdate", single.this_update),
    ] {
        if at < oldest {
            return Err(OcspError::Stale {
                field,
                at,
                max_age: fresh.max_answer_age,
                now,
            });
        }
    }
    if single.this_update > now.saturating_add(fresh.skew) {
        return Err(OcspError::NotYetValid {
            this_update: single.this_update,
            now,
        });
    }
    match single.next_update {
        Some(next_update) if next_update < now.saturating_sub(fresh.skew) => {
            return Err(OcspError::Expired { next_update, now });
        }
        None if single.this_update < now.saturating_sub(fresh.max_age) => {
            return Err(OcspError::TooOld {
                this_update: single.this_update,
                max_age: fresh.max_age,
                now,
            });
        }
        _ => {}
    }
    Ok(Answer {
        status: single.status,
        this_update: single.this_update,
        next_update: single.next_update,
        produced_at: data.produced_at,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A ResponseData with this version element (if any) and responderID, an empty list of
    /// responses, and these response extensions (the `[1]` wrapper's contents, if any).
    fn data(version: Option<&[u8]>, responder: &[u8], extensions: Option<&[u8]>) -> Vec<u8> {
        let produced = der::tlv(tag::GENERALIZED_TIME, b"20261130120000Z");
        let responses = der::tlv(tag::SEQUENCE, &[]);
        let wrapped = extensions.map(|e| der::tlv(tag::context(1), &der::tlv(tag::SEQUENCE, e)));
        let mut parts: Vec<&[u8]> = Vec::new();
        let version = version.map(|v| der::tlv(tag::context(0), v));
        if let Some(v) = &version {
            parts.push(v);
        }
        parts.extend([responder, &produced, &responses]);
        if let Some(e) = &wrapped {
            parts.push(e);
        }
        der::constructed(tag::SEQUENCE, &parts)
    }

    fn parse_data(bytes: &[u8]) -> Result<ResponseData<'_>, DerError> {
        response_data(&Reader::new(bytes).any().unwrap())
    }

    #[test]
    fn response_data_is_read_strictly() {
        let by_key = der::tlv(tag::context(2), &der::tlv(tag::OCTET_STRING, &[7; 20]));
        let name = der::constructed(tag::SEQUENCE, &[]);
        let by_name = der::tlv(tag::context(1), &name);
        let v1 = der::tlv(tag::INTEGER, &[0]);
        let v2 = der::tlv(tag::INTEGER, &[1]);
        assert!(parse_data(&data(None, &by_key, None)).is_ok());
        assert!(parse_data(&data(Some(&v1), &by_name, None)).is_ok());
        assert!(parse_data(&data(Some(&v2), &by_key, None)).is_err(), "v2");
        let other = der::tlv(tag::context(3), &der::tlv(tag::OCTET_STRING, &[7; 20]));
        assert!(
            parse_data(&data(None, &other, None)).is_err(),
            "responderID [3]"
        );
        // Extensions: criticality is 0x00 or 0xff; an explicit FALSE is not critical.
        let extension = |flag: Option<u8>| {
            let oid = der::tlv(tag::OID, &[0x2a, 0x03]);
            let value = der::tlv(tag::OCTET_STRING, &[]);
            let flag = flag.map(|f| der::tlv(tag::BOOLEAN, &[f]));
            let mut parts: Vec<&[u8]> = vec![&oid];
            if let Some(f) = &flag {
                parts.push(f);
            }
            parts.push(&value);
            der::constructed(tag::SEQUENCE, &parts)
        };
        let critical = |flag| {
            parse_data(&data(None, &by_key, Some(&extension(flag))))
                .map(|d| d.extensions.iter().any(|e| e.critical))
        };
        assert_eq!(critical(None), Ok(false));
        assert_eq!(critical(Some(0x00)), Ok(false));
        assert_eq!(critical(Some(0xff)), Ok(true));
        assert!(critical(Some(0x01)).is_err());
    }

    #[test]
    fn cert_status_is_good_revoked_or_an_empty_unknown_and_nothing_else() {
        let cert_id = der::constructed(
            tag::SEQUENCE,
            &[
                &der::constructed(
                    tag::SEQUENCE,
                    &[&der::tlv(tag::OID, &[0x2b, 0x0e, 3, 2, 0x1a])],
                ),
                &der::tlv(tag::OCTET_STRING, &[1; 20]),
                &der::tlv(tag::OCTET_STRING, &[2; 20]),
                &der::tlv(tag::INTEGER, &[5]),
            ],
        );
        let this_update = der::tlv(tag::GENERALIZED_TIME, b"20261130120000Z");
        let with_status =
            |status: Vec<u8>| der::constructed(tag::SEQUENCE, &[&cert_id, &status, &this_update]);
        let read = |bytes: Vec<u8>| {
            let mut list = Reader::new(&bytes);
            single(&mut list).map(|s| s.status)
        };
        assert_eq!(
            read(with_status(der::tlv(tag::context_primitive(0), &[]))),
            Ok(Status::Good)
        );
        assert_eq!(
            read(with_status(der::tlv(tag::context_primitive(2), &[]))),
            Ok(Status::Unknown)
        );
        assert!(read(with_status(der::tlv(tag::context_primitive(2), &[0]))).is_err());
        assert!(read(with_status(der::tlv(tag::context_primitive(3), &[]))).is_err());
    }

    #[test]
    fn a_responder_certificate_is_exactly_its_three_parts() {
        let tbs = der::tlv(tag::SEQUENCE, &[]);
        let algorithm = der::tlv(tag::SEQUENCE, &[]);
        let signature = der::tlv(tag::BIT_STRING, &[0, 9]);
        let cert =
            |extra: &[u8]| der::constructed(tag::SEQUENCE, &[&tbs, &algorithm, &signature, extra]);
        assert_eq!(
            certificate_parts(&cert(&[])).map(|s| s.signature),
            Ok(&[9u8][..])
        );
        assert!(
            certificate_parts(&cert(&[0x05, 0x00])).is_err(),
            "an element after the signature"
        );
        let mut trailing = cert(&[]);
        trailing.push(0);
        assert!(
            certificate_parts(&trailing).is_err(),
            "bytes after the certificate"
        );
    }

    #[test]
    fn data_after_the_response_bytes_is_refused() {
        let inner = der::constructed(
            tag::SEQUENCE,
            &[
                &der::tlv(tag::OID, &[0x2b, 6, 1, 5, 5, 7, 0x30, 1, 1]),
                &der::tlv(tag::OCTET_STRING, &[]),
            ],
        );
        let status = der::tlv(tag::ENUMERATED, &[0]);
        let extra = der::tlv(tag::NULL, &[]);
        for (explicit, after) in [
            (vec![&inner[..], &extra[..]], None),
            (vec![&inner[..]], Some(&extra)),
        ] {
            let wrapped = der::constructed(tag::context(0), &explicit);
            let mut parts: Vec<&[u8]> = vec![&status, &wrapped];
            if let Some(after) = after {
                parts.push(after);
            }
            let response = der::constructed(tag::SEQUENCE, &parts);
            assert!(
                matches!(basic_response(&response), Err(OcspError::Malformed(DerError(m))) if m.contains("after responseBytes")),
                "{:?}",
                basic_response(&response).err()
            );
        }
    }

    #[test]
    fn a_negative_response_status_is_malformed_not_a_status() {
        let response = der::constructed(tag::SEQUENCE, &[&der::tlv(tag::ENUMERATED, &[0x81])]);
        assert!(matches!(
            basic_response(&response),
            Err(OcspError::Malformed(_))
        ));
        let try_later = der::constructed(tag::SEQUENCE, &[&der::tlv(tag::ENUMERATED, &[3])]);
        assert!(matches!(
            basic_response(&try_later),
            Err(OcspError::ResponseStatus { status: 3 })
        ));
    }

    #[test]
    fn key_bits_need_exactly_one_spki_with_whole_octets() {
        let algorithm =
            der::constructed(tag::SEQUENCE, &[&der::tlv(tag::OID, &[0x2b, 0x65, 0x70])]);
        let spki = |bits: &[u8], extra: &[u8]| {
            der::constructed(
                tag::SEQUENCE,
                &[&algorithm, &der::tlv(tag::BIT_STRING, bits), extra],
            )
        };
        assert_eq!(key_bits(&spki(&[0, 1, 2], &[])), Some(&[1u8, 2][..]));
        assert_eq!(key_bits(&spki(&[3, 1, 2], &[])), None, "unused bits");
        assert_eq!(
            key_bits(&spki(&[0, 1], &[0x05, 0x00])),
            None,
            "an element after the key"
        );
        let mut trailing = spki(&[0, 1], &[]);
        trailing.push(0);
        assert_eq!(key_bits(&trailing), None, "bytes after the SPKI");
    }

    #[test]
    fn the_request_is_the_der_expected() {
        let id = CertId {
            issuer_name_hash: [1; 20],
            issuer_key_hash: [2; 20],
            serial: vec![0x10, 0x01],
        };
        let plain = request(&id, None);
        let mut r = Reader::new(&plain);
        let mut outer = r.nested(tag::SEQUENCE, "req").unwrap();
        let mut tbs = outer.nested(tag::SEQUENCE, "tbs").unwrap();
        let mut list = tbs.nested(tag::SEQUENCE, "list").unwrap();
        let mut one = list.nested(tag::SEQUENCE, "one").unwrap();
        assert_eq!(one.any().unwrap().raw, id.to_der().as_slice());
        assert!(r.is_empty() && outer.is_empty() && tbs.is_empty() && one.is_empty());

        let with_nonce = request(&id, Some(b"0123456789abcdef"));
        let tail = [
            &[0xa2, 0x23, 0x30, 0x21, 0x30, 0x1f, 0x06, 0x09][..],
            OID_NONCE,
            &[0x04, 0x12, 0x04, 0x10],
            b"0123456789abcdef",
        ]
        .concat();
        assert!(with_nonce.ends_with(&tail));
        assert_ne!(id.key(), [0; 32]);
    }

    #[test]
    fn cert_id_refuses_bad_inputs() {
        let spki = constructed(
            tag::SEQUENCE,
            &[&tlv(tag::SEQUENCE, &[]), &tlv(tag::BIT_STRING, &[0, 9, 9])],
        );
        let name = tlv(tag::SEQUENCE, &[]);
        let id = CertId::new(&name, &spki, &[1]).unwrap();
        assert_eq!(id.issuer_key_hash, sha1(&[9, 9]));
        assert_eq!(id.issuer_name_hash, sha1(&name));
        assert!(CertId::new(&name, &spki, &[]).is_none());
        assert!(CertId::new(&[0x31, 0], &spki, &[1]).is_none());
        assert!(CertId::new(&name, &spki[..spki.len() - 1], &[1]).is_none());
        let unused = constructed(
            tag::SEQUENCE,
            &[&tlv(tag::SEQUENCE, &[]), &tlv(tag::BIT_STRING, &[1, 9, 8])],
        );
        assert!(CertId::new(&name, &unused, &[1]).is_none());
    }

    #[test]
    fn every_error_has_text() {
        assert!(
            OcspError::ResponseStatus { status: 3 }
                .to_string()
                .contains("tryLater")
        );
        assert!(
            OcspError::Expired {
                next_update: 0,
                now: 60
            }
            .to_string()
            .contains("1970-01-01T00:00:00Z")
        );
    }
}
