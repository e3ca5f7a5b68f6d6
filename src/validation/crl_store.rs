//! PLACEHOLDER (replaced by the issue-13-crl branch).
#![allow(missing_docs, dead_code, unused_variables, clippy::all)]
pub struct CrlSigner<'a> {
    pub subject: &'a [u8],
    pub spki: &'a [u8],
    pub id: [u8; 32],
    pub can_sign_crl: bool,
}
#[derive(Debug)]
pub struct CompactCrl;
#[derive(Debug)]
pub struct CrlError;
impl std::fmt::Display for CrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("x")
    }
}
impl CompactCrl {
    pub fn parse(bytes: &[u8], signers: &[CrlSigner<'_>]) -> Result<CompactCrl, CrlError> {
        Err(CrlError)
    }
    pub fn issuer(&self) -> &[u8] {
        &[]
    }
    pub fn signer(&self) -> [u8; 32] {
        [0; 32]
    }
    pub fn this_update(&self) -> i64 {
        0
    }
    pub fn next_update(&self) -> Option<i64> {
        None
    }
    pub fn number(&self) -> Option<&[u8]> {
        None
    }
    pub fn is_revoked(&self, serial: &[u8]) -> bool {
        false
    }
    pub fn len(&self) -> usize {
        0
    }
    pub fn is_empty(&self) -> bool {
        true
    }
    pub fn memory_bytes(&self) -> usize {
        0
    }
}
