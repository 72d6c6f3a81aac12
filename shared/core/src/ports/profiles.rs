//! The [`ProfileStore`] port: per-principal behavioural profiles (see
//! [`crate::baseline`]), read once per object before scoring and updated once per
//! object after its findings are stored and alerted.

use super::PortError;
use crate::baseline::{Profile, ProfileUpdate};
use std::collections::HashMap;
use std::future::Future;

/// Keeps one [`Profile`] per principal.
///
/// Updates must be safe under concurrent writers and retries: an adapter merges
/// each update into the stored profile with [`Profile::absorb`] (commutative and
/// idempotent) and never loses another writer's merge (a conditional write and a
/// retry on conflict, or a lock).
pub trait ProfileStore: Send + Sync {
    /// Whether baselines are on. A store that is off is never read or written.
    fn enabled(&self) -> bool {
        true
    }

    /// The profiles of these keys that exist (a missing key has no profile yet).
    fn get_profiles(
        &self,
        keys: &[String],
    ) -> impl Future<Output = Result<HashMap<String, Profile>, PortError>> + Send;

    /// Merges what one object showed into the profiles (at most one update per key).
    fn merge_profiles(
        &self,
        updates: &[ProfileUpdate],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Baselines off: no store.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProfiles;

impl ProfileStore for NoProfiles {
    fn enabled(&self) -> bool {
        false
    }

    async fn get_profiles(&self, _keys: &[String]) -> Result<HashMap<String, Profile>, PortError> {
        Ok(HashMap::new())
    }

    async fn merge_profiles(&self, _updates: &[ProfileUpdate]) -> Result<(), PortError> {
        Ok(())
    }
}

/// An optional store: `None` turns baselines off (configuration without a table).
impl<P: ProfileStore> ProfileStore for Option<P> {
    fn enabled(&self) -> bool {
        self.as_ref().is_some_and(ProfileStore::enabled)
    }

    async fn get_profiles(&self, keys: &[String]) -> Result<HashMap<String, Profile>, PortError> {
        match self {
            Some(p) => p.get_profiles(keys).await,
            None => Ok(HashMap::new()),
        }
    }

    async fn merge_profiles(&self, updates: &[ProfileUpdate]) -> Result<(), PortError> {
        match self {
            Some(p) => p.merge_profiles(updates).await,
            None => Ok(()),
        }
    }
}

#[cfg(any(test, feature = "test-util"))]
pub use memory::InMemoryProfileStore;

#[cfg(any(test, feature = "test-util"))]
mod memory {
    use super::{PortError, Profile, ProfileStore, ProfileUpdate};
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Mutex, MutexGuard};

    /// Profiles in memory; counts calls and can be told to fail.
    #[derive(Debug, Default)]
    pub struct InMemoryProfileStore {
        profiles: Mutex<HashMap<String, Profile>>,
        /// `get_profiles` calls so far.
        pub reads: AtomicU64,
        /// `merge_profiles` calls so far.
        pub writes: AtomicU64,
        /// When set, every call fails with a retryable error.
        pub fail: AtomicBool,
    }

    impl InMemoryProfileStore {
        fn lock(&self) -> MutexGuard<'_, HashMap<String, Profile>> {
            // A poisoned lock only means another test thread panicked.
            self.profiles.lock().unwrap_or_else(|e| e.into_inner())
        }

        /// A copy of every profile.
        pub fn profiles(&self) -> HashMap<String, Profile> {
            self.lock().clone()
        }

        /// Sets a profile.
        pub fn insert(&self, key: impl Into<String>, profile: Profile) {
            self.lock().insert(key.into(), profile);
        }

        fn check(&self) -> Result<(), PortError> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(PortError::retryable("profile store told to fail"));
            }
            Ok(())
        }
    }

    impl ProfileStore for InMemoryProfileStore {
        async fn get_profiles(
            &self,
            keys: &[String],
        ) -> Result<HashMap<String, Profile>, PortError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.check()?;
            let map = self.lock();
            Ok(keys
                .iter()
                .filter_map(|k| map.get(k).map(|p| (k.clone(), p.clone())))
                .collect())
        }

        async fn merge_profiles(&self, updates: &[ProfileUpdate]) -> Result<(), PortError> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.check()?;
            let mut map = self.lock();
            for u in updates {
                map.entry(u.key.clone()).or_default().absorb(u);
            }
            Ok(())
        }
    }
}
