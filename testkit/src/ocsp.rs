//! OCSP answers built by hand (DER, [`crate::der`]) and signed with the test CA's key, for the
//! tests over the fake host: a test says exactly what a responder (or a stale replica of one,
//! or an attacker replaying one) answers.

use client_cert_auth::glue::HttpResponse;
use client_cert_auth::glue::fake::FakeHost;
use sha1::{Digest, Sha1};

use crate::der::{BASIC_OID, NONCE_OID, SHA1_OID, gen_time, seq, sign, tlv};
use crate::glue::ok;
use crate::pki::{Ca, Leaf};

/// CRLReason keyCompromise.
pub const KEY_COMPROMISE: u8 = 1;
/// CRLReason certificateHold (the one revocation that may be lifted).
pub const CERTIFICATE_HOLD: u8 = 6;

/// What a responder says about one certificate.
#[derive(Clone, Copy)]
pub enum Says {
    Good,
    /// Revoked an hour before thisUpdate, with this CRLReason if any.
    Revoked(Option<u8>),
    Unknown,
}

/// One OCSP answer about a leaf.
#[derive(Clone, Copy)]
pub struct Answer {
    pub says: Says,
    pub produced_at: i64,
    pub this_update: i64,
    pub next_update: Option<i64>,
    /// Echo the request's nonce.
    pub nonce: bool,
}

impl Answer {
    /// Produced and dated a minute before `t`, valid for an hour, echoing the nonce.
    pub fn fresh(says: Says, t: i64) -> Answer {
        Answer::dated(says, t - 60, Some(t + 3600))
    }

    /// Produced and dated `this_update`, echoing the nonce.
    pub fn dated(says: Says, this_update: i64, next_update: Option<i64>) -> Answer {
        Answer {
            says,
            produced_at: this_update,
            this_update,
            next_update,
            nonce: true,
        }
    }

    /// This answer with another nextUpdate.
    pub fn until(self, next_update: i64) -> Answer {
        Answer {
            next_update: Some(next_update),
            ..self
        }
    }

    /// The answer to what `host` asked (its last dispatch) about `leaf`, signed by `ca`
    /// (byName).
    pub fn to(self, ca: &Ca, leaf: &Leaf, host: &FakeHost) -> HttpResponse {
        let request = &host.dispatched.last().expect("a question was sent").3;
        ok(self.der(ca, leaf, request))
    }

    /// The OCSPResponse (DER) to `request` (the OCSPRequest the glue sent) about `leaf`,
    /// signed by `ca` (byName).
    pub fn der(self, ca: &Ca, leaf: &Leaf, request: &[u8]) -> Vec<u8> {
        let ca_der = ca.der();
        let (_, issuer) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&leaf.der).unwrap();
        let cert_id = seq(&[
            &seq(&[&tlv(0x06, SHA1_OID), &tlv(0x05, &[])]),
            &tlv(0x04, &Sha1::digest(issuer.subject().as_raw())),
            &tlv(
                0x04,
                &Sha1::digest(&issuer.public_key().subject_public_key.data),
            ),
            &tlv(0x02, cert.raw_serial()),
        ]);
        let status = match self.says {
            Says::Good => vec![0x80, 0x00],
            Says::Unknown => vec![0x82, 0x00],
            Says::Revoked(reason) => {
                let reason = reason
                    .map(|r| tlv(0xa0, &tlv(0x0a, &[r])))
                    .unwrap_or_default();
                tlv(0xa1, &[gen_time(self.this_update - 3600), reason].concat())
            }
        };
        let next = self
            .next_update
            .map(|t| tlv(0xa0, &gen_time(t)))
            .unwrap_or_default();
        let single = seq(&[&cert_id, &status, &gen_time(self.this_update), &next]);
        // The nonce: the request's last 16 bytes (RFC 8954 form).
        let extensions = if self.nonce {
            let nonce = &request[request.len() - 16..];
            let extension = seq(&[&tlv(0x06, NONCE_OID), &tlv(0x04, &tlv(0x04, nonce))]);
            tlv(0xa1, &seq(&[&extension]))
        } else {
            Vec::new()
        };
        let tbs = seq(&[
            &tlv(0xa1, issuer.subject().as_raw()),
            &gen_time(self.produced_at),
            &seq(&[&single]),
            &extensions,
        ]);
        let basic = sign(ca, &tbs);
        let bytes = seq(&[&tlv(0x06, BASIC_OID), &tlv(0x04, &basic)]);
        seq(&[&tlv(0x0a, &[0]), &tlv(0xa0, &bytes)])
    }
}
