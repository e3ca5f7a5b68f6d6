//! PLACEHOLDER (replaced by the issue-13-ocsp branch).
#![allow(missing_docs, dead_code, unused_variables, clippy::all)]
pub struct CertId {
    pub issuer_name_hash: [u8; 20],
    pub issuer_key_hash: [u8; 20],
    pub serial: Vec<u8>,
}
impl CertId {
    pub fn new(issuer_subject: &[u8], issuer_spki: &[u8], serial: &[u8]) -> Option<CertId> {
        None
    }
    pub fn key(&self) -> [u8; 32] {
        [0; 32]
    }
}
pub fn request(id: &CertId, nonce: Option<&[u8]>) -> Vec<u8> {
    Vec::new()
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Good,
    Revoked { at: i64 },
    Unknown,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: Status,
    pub this_update: i64,
    pub next_update: Option<i64>,
    pub produced_at: i64,
}
pub struct Issuer<'a> {
    pub subject: &'a [u8],
    pub spki: &'a [u8],
}
pub struct Freshness {
    pub now: i64,
    pub skew: i64,
    pub max_age: i64,
}
#[derive(Debug)]
pub struct OcspError;
impl std::fmt::Display for OcspError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("x")
    }
}
pub fn verify_response(
    der: &[u8],
    id: &CertId,
    issuer: &Issuer<'_>,
    nonce: Option<&[u8]>,
    fresh: &Freshness,
) -> Result<Answer, OcspError> {
    Err(OcspError)
}
