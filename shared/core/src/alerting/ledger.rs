//! Deduplication claims held in memory, for stores without a database (the
//! in-memory fake, the CLI's local store).

use crate::ports::{AlertClaim, ClaimHolder, PortError};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Per key and window: the holder and every finding id that hit it.
type Windows = HashMap<(String, i64), (String, HashSet<String>)>;

/// Deduplication claims in memory, with the semantics of
/// [`crate::ports::FindingStore::claim_alert`].
#[derive(Debug, Default)]
pub struct ClaimLedger {
    windows: Mutex<Windows>,
}

impl ClaimLedger {
    /// Claims a window for the first of `claim.finding_ids` unless it is held, and
    /// adds every id to it.
    pub fn claim(&self, claim: &AlertClaim<'_>) -> Result<ClaimHolder, PortError> {
        let Some(first) = claim.finding_ids.first() else {
            return Err(PortError::non_retryable("alert claim without findings"));
        };
        // A poisoned lock only means another thread panicked; the map is still whole.
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let (holder, ids) = windows
            .entry((claim.key.to_owned(), claim.window_start))
            .or_insert_with(|| (first.clone(), HashSet::new()));
        ids.extend(claim.finding_ids.iter().cloned());
        Ok(ClaimHolder {
            first_finding_id: holder.clone(),
            repeats: ids.len().saturating_sub(1) as u64,
        })
    }
}
