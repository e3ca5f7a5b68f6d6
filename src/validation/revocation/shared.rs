//! The layout of shared data: the keys of a source's fetch metadata and CRL set, the
//! Envoy-wide rollback marks, and the list of certificates known revoked by OCSP.

use std::cmp::Ordering;

use super::crl_store::{CrlOrder, newer};
use super::sources::CrlSource;

/// The shared-data key of the certificates known revoked by OCSP, for every VM and
/// configuration of the Envoy (a CertID names the issuer's name and key, so an entry means
/// the same under any configuration), and of its generation (written after it, read every tick).
pub const REVOKED_KEY: &str = "client_cert_auth.ocsp.revoked";
/// The generation of [`REVOKED_KEY`]: written after it, read by every VM each tick.
pub const REVOKED_GEN_KEY: &str = "client_cert_auth.ocsp.revoked.gen";

/// The key of a source's fetch metadata ([`super::schedule::Meta`]).
pub fn meta_key(source: &CrlSource) -> String {
    format!("{}.meta", source.shared_key)
}

/// The key of a source's CRL set ([`super::crl_set`]).
pub fn crl_key(source: &CrlSource) -> String {
    format!("{}.crls", source.shared_key)
}

/// The Envoy-wide key of the newest CRL accepted for a slot (issuer, key and scope), from any
/// source and under any configuration: the rollback guard's reference, so that a fresh VM, a
/// reload, another cluster or URL for the same CA never brings an older CRL back.
pub fn mark_key(slot: &[u8; 32]) -> String {
    format!(
        "client_cert_auth.crlmark.{}",
        crate::text::hex_lower(&slot[..16])
    )
}

/// The newest CRL accepted for a slot: its cRLNumber (empty: none) and thisUpdate.
pub struct Mark {
    /// The cRLNumber's contents (empty: none).
    pub number: Vec<u8>,
    /// thisUpdate, Unix seconds.
    pub this_update: i64,
}

impl Mark {
    /// The mark of a CRL of this order.
    pub fn of(order: &CrlOrder<'_>) -> Mark {
        Mark {
            number: order.number.unwrap_or_default().to_vec(),
            this_update: order.this_update,
        }
    }

    /// The order it stands for.
    pub fn order(&self) -> CrlOrder<'_> {
        CrlOrder {
            number: (!self.number.is_empty()).then_some(self.number.as_slice()),
            this_update: self.this_update,
        }
    }

    /// The shared-data form: the cRLNumber in hex, a colon, thisUpdate.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{}:{}",
            crate::text::hex_lower(&self.number),
            self.this_update
        )
        .into_bytes()
    }

    /// Reads the shared-data form.
    pub fn parse(bytes: &[u8]) -> Option<Mark> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (number, this_update) = text.split_once(':')?;
        Some(Mark {
            number: crate::text::hex_decode(number.as_bytes())?,
            this_update: this_update.parse().ok()?,
        })
    }
}

impl Mark {
    /// Whether the Envoy already accepted a newer CRL of this slot than `order`.
    pub fn supersedes(&self, order: &CrlOrder<'_>) -> bool {
        newer(&self.order(), order) == Ordering::Greater
    }

    /// The mark raised to `order`: `None` when `known` is already there or beyond (a mark
    /// never goes down).
    pub fn raised(known: Option<&[u8]>, order: &CrlOrder<'_>) -> Option<Vec<u8>> {
        let known = known.and_then(Mark::parse);
        if known
            .as_ref()
            .is_some_and(|m| newer(&m.order(), order) != Ordering::Less)
        {
            return None;
        }
        Some(Mark::of(order).encode())
    }
}

/// The next value of a generation counter (decimal text; absent or unreadable counts as 0).
pub fn next_generation(bytes: Option<&[u8]>) -> Vec<u8> {
    let generation: u64 = bytes
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    generation.wrapping_add(1).to_string().into_bytes()
}
