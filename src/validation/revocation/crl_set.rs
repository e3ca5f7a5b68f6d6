//! The CRLs a source has served: installed in a VM, and the set it shares with the other VMs
//! of the Envoy (one CRL per slot, bounded, merged without rolling back).

use std::cmp::Ordering;
use std::fmt;
use std::rc::Rc;

use super::crl_store::{CompactCrl, CrlOrder, newer};

/// An installed fetched CRL, and when its source last served it.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The CRL.
    pub crl: Rc<CompactCrl>,
    /// When a fetch of its source last gave this CRL (or an equal one): what bounds how long
    /// a CRL without nextUpdate vouches.
    pub confirmed: i64,
    /// The Envoy accepted a newer CRL of the same slot (from another source, or under another
    /// configuration): this one still revokes what it lists, but vouches no more.
    pub superseded: bool,
}

/// A CRL without nextUpdate vouches for at most this many times its source's
/// `refreshSeconds` after the last fetch that gave it: one refresh, and one more for a fetch
/// that fails or comes late. After that it still revokes what it lists, but vouches for
/// nothing.
pub const NO_NEXT_UPDATE_REFRESHES: i64 = 2;

/// The most CRLs (slots: scopes) of one CA (issuer name and key) one source keeps. A source's
/// URL serves one CRL; the others are what an attacker replays there, and are bounded so
/// that another CA's CRLs can never crowd a CA's own out.
pub const MAX_SLOTS_PER_CA: usize = 4;

/// The most CRLs one source keeps, whatever their CAs (a bound on memory).
pub const MAX_SLOTS_PER_SOURCE: usize = 16;

/// When a source's set is full, an entry makes room only if it is stale: past its nextUpdate
/// (or without one) and not served by the source for this many times `refreshSeconds`.
pub const STALE_REFRESHES: i64 = 2;

/// One CRL in a source's shared set: its slot and order (so that any VM, whatever CAs it
/// trusts, can compare without verifying), when it was last served, and the bytes fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetEntry {
    /// [`CompactCrl::slot`].
    pub slot: [u8; 32],
    /// [`CompactCrl::authority`].
    pub authority: [u8; 32],
    /// nextUpdate (`None`: none).
    pub next_update: Option<i64>,
    /// The cRLNumber's contents (empty: none).
    pub number: Vec<u8>,
    /// thisUpdate.
    pub this_update: i64,
    /// When a fetch last gave it.
    pub confirmed: i64,
    /// The CRL as fetched (DER or PEM).
    pub bytes: Vec<u8>,
}

impl SetEntry {
    /// What orders it in its slot.
    pub fn order(&self) -> CrlOrder<'_> {
        CrlOrder {
            number: (!self.number.is_empty()).then_some(self.number.as_slice()),
            this_update: self.this_update,
        }
    }
}

impl SetEntry {
    /// Whether it may make room: past its nextUpdate (or without one), and not served for
    /// [`STALE_REFRESHES`] x `refresh` seconds.
    pub fn stale(&self, now: i64, refresh: i64) -> bool {
        self.next_update.is_none_or(|next| now > next)
            && now.saturating_sub(self.confirmed) > STALE_REFRESHES.saturating_mul(refresh)
    }
}

/// A source's shared set: per entry the slot and the authority (32 bytes each), thisUpdate,
/// nextUpdate (`i64::MIN`: none) and confirmed (8 bytes each, big-endian), the number's length
/// (1 byte) and contents, the CRL's length (4 bytes) and bytes.
pub fn encode_set(entries: &[SetEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&e.slot);
        out.extend_from_slice(&e.authority);
        out.extend_from_slice(&e.this_update.to_be_bytes());
        out.extend_from_slice(&e.next_update.unwrap_or(i64::MIN).to_be_bytes());
        out.extend_from_slice(&e.confirmed.to_be_bytes());
        out.push(u8::try_from(e.number.len()).unwrap_or(0));
        out.extend_from_slice(e.number.get(..usize::from(u8::MAX)).unwrap_or(&e.number));
        out.extend_from_slice(&u32::try_from(e.bytes.len()).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&e.bytes);
    }
    out
}

/// Reads [`encode_set`]'s form; `None` when it is not that (truncated, or trailing bytes).
pub fn decode_set(mut bytes: &[u8]) -> Option<Vec<SetEntry>> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (bytes.get(..n)?, bytes.get(n..)?);
        *bytes = tail;
        Some(head)
    }
    let int = |b: &[u8]| -> Option<i64> { Some(i64::from_be_bytes(b.try_into().ok()?)) };
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let slot: [u8; 32] = take(&mut bytes, 32)?.try_into().ok()?;
        let authority: [u8; 32] = take(&mut bytes, 32)?.try_into().ok()?;
        let this_update = int(take(&mut bytes, 8)?)?;
        let next_update = Some(int(take(&mut bytes, 8)?)?).filter(|n| *n != i64::MIN);
        let confirmed = int(take(&mut bytes, 8)?)?;
        let n = usize::from(*take(&mut bytes, 1)?.first()?);
        let number = take(&mut bytes, n)?.to_vec();
        let len = u32::from_be_bytes(take(&mut bytes, 4)?.try_into().ok()?);
        let crl = take(&mut bytes, usize::try_from(len).ok()?)?.to_vec();
        entries.push(SetEntry {
            slot,
            authority,
            next_update,
            number,
            this_update,
            confirmed,
            bytes: crl,
        });
    }
    Some(entries)
}

/// Why a fetched CRL does not go into its source's set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetRefusal {
    /// The set holds a newer CRL of the same slot: the fetched one is a rollback.
    Older {
        /// thisUpdate of the one fetched.
        fetched: i64,
        /// thisUpdate of the newer one kept.
        kept: i64,
    },
    /// The set already holds [`MAX_SLOTS_PER_CA`] CRLs of the CA (or
    /// [`MAX_SLOTS_PER_SOURCE`] in all), none of them stale, each listing a revocation the
    /// fetched CRL does not.
    Full,
    /// The shared set does not decode.
    Corrupt,
}

impl fmt::Display for SetRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetRefusal::Older { fetched, kept } => write!(
                f,
                "the CRL fetched (thisUpdate {}) is older than the one of the same issuer and scope already known (thisUpdate {}, by cRLNumber then thisUpdate): refused as a rollback",
                crate::text::rfc3339::format(*fetched),
                crate::text::rfc3339::format(*kept)
            ),
            SetRefusal::Full => write!(
                f,
                "the source already holds {MAX_SLOTS_PER_CA} CRLs of other scopes of this CA (or {MAX_SLOTS_PER_SOURCE} in all), each listing a revocation this one does not, none stale yet (past nextUpdate and not served for {STALE_REFRESHES} x refreshSeconds): a CRL of a new scope is refused until one is"
            ),
            SetRefusal::Corrupt => f.write_str("the shared copy of the source does not decode"),
        }
    }
}

impl std::error::Error for SetRefusal {}

/// The set with a fetched CRL in its slot: a newer one replaces the slot's, an equal one only
/// renews its `confirmed`, an older one is refused; a CRL of another slot never replaces a
/// live one (a CRL of another CA served at this source's URL adds to the set, it does not
/// take this CA's CRL out). A new slot beyond the bounds takes the place of the stale entry
/// served least recently (of the same CA when that CA's bound is the one reached), or of one
/// whose every revocation the fetched CRL lists too (`lists_all`, asked of a slot: so no
/// revocation is lost), or is refused. `refresh` is the source's `refreshSeconds`.
pub fn merge_set(
    shared: Option<&[u8]>,
    crl: &CompactCrl,
    bytes: &[u8],
    now: i64,
    refresh: i64,
    lists_all: impl Fn(&[u8; 32]) -> bool,
) -> Result<Vec<u8>, SetRefusal> {
    let mut entries = match shared {
        None => Vec::new(),
        Some(b) => decode_set(b).ok_or(SetRefusal::Corrupt)?,
    };
    let fetched = SetEntry {
        slot: crl.slot(),
        authority: crl.authority(),
        next_update: crl.next_update(),
        number: crl.number().unwrap_or_default().to_vec(),
        this_update: crl.this_update(),
        confirmed: now,
        bytes: bytes.to_vec(),
    };
    let same_ca = entries
        .iter()
        .filter(|e| e.authority == fetched.authority)
        .count();
    let full = entries.iter().all(|e| e.slot != fetched.slot)
        && (same_ca >= MAX_SLOTS_PER_CA || entries.len() >= MAX_SLOTS_PER_SOURCE);
    if full {
        // Room from the stale entry served least recently: of this CA when its bound is the
        // one reached, else of any.
        let this_ca = same_ca >= MAX_SLOTS_PER_CA;
        let victim = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                (!this_ca || e.authority == fetched.authority)
                    && (e.stale(now, refresh) || lists_all(&e.slot))
            })
            .min_by_key(|(_, e)| e.confirmed)
            .map(|(i, _)| i);
        match victim {
            Some(i) => {
                entries.remove(i);
            }
            None => return Err(SetRefusal::Full),
        }
    }
    match entries.iter_mut().find(|e| e.slot == fetched.slot) {
        Some(kept) => match newer(&fetched.order(), &kept.order()) {
            Ordering::Less => {
                return Err(SetRefusal::Older {
                    fetched: fetched.this_update,
                    kept: kept.this_update,
                });
            }
            Ordering::Equal => kept.confirmed = kept.confirmed.max(now),
            Ordering::Greater => *kept = fetched,
        },
        None => entries.push(fetched),
    }
    Ok(encode_set(&entries))
}
