//! The signatures a VM verified, shared with the other VMs of the Envoy through shared data,
//! so that a new certificate has its signatures checked by one worker, not by every worker
//! (what is shared, and why it is safe to take: [`crate::validation::crypto`]).

use std::cell::Cell;

use super::State;
use super::host::{Host, Level, SharedDataError, cas_update};

/// What a VM remembers of the shared signatures.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// The compare-and-swap token of the value this VM last took.
    token: Cell<Option<u32>>,
    /// Whether it was logged that shared data cannot be read.
    unavailable: Cell<bool>,
}

/// The shared signatures, when they changed since this VM last read them. Read only before a
/// certificate is judged afresh. A failed read (a capability restriction without
/// `proxy_get_shared_data`) shares nothing: logged once per VM, and each worker checks the
/// signatures itself.
pub(super) fn read(host: &mut impl Host, seen: &Seen, key: &str) -> Option<Vec<u8>> {
    let (value, cas) = match host.shared_data(key) {
        Ok(read) => read,
        Err(e) => {
            if !seen.unavailable.replace(true) {
                host.log(
                    Level::Info,
                    &format!(
                        "client-cert-auth: signatures are not shared between workers (each checks them itself): shared data cannot be read: {}",
                        e.0
                    ),
                );
            }
            return None;
        }
    };
    if cas.is_some() && cas == seen.token.get() {
        return None;
    }
    seen.token.set(cas);
    value
}

/// Publishes the signatures this VM verified since the last time, merged into what the other
/// VMs of the configuration published. The value read just before judging is usually still
/// the current one: the merge into it is written with that read's token, without reading it
/// again; a conflict (another VM wrote since) reads, merges and retries. Nothing is written
/// when there is nothing new.
pub(super) fn publish(host: &mut impl Host, state: &State) {
    let Some(memo) = state.config.validation.signature_memo() else {
        return;
    };
    let Some(sharing) = memo.sharing() else {
        return;
    };
    let fresh = memo.take_fresh();
    if fresh.is_empty() {
        return;
    }
    if let Some(token) = state.signatures_seen.token.get() {
        let Some(value) = memo.merged_into_known(&fresh) else {
            return;
        };
        match host.set_shared_data(sharing.key(), &value, Some(token)) {
            Ok(()) => return,
            Err(SharedDataError::CasMismatch) => {}
            Err(SharedDataError::Failed(_)) => return,
        }
    }
    cas_update(host, sharing.key(), |current| memo.merged(current, &fresh));
}
