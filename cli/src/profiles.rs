//! The CLI's profile store: behavioural baselines (one profile per principal) in
//! one JSON file, loaded whole, merged in memory and written back atomically (a
//! temporary file in the same directory, then a rename), so an interrupted run
//! leaves the previous file intact.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use trailhound_core::baseline::{self, BaselineConfig, Profile, ProfileUpdate};
use trailhound_core::decode::Limits;
use trailhound_core::ports::{PortError, ProfileStore};
use trailhound_core::sources::cloudtrail::CtBatch;

/// File name used when `--profiles` names a directory.
pub const FILE_NAME: &str = "profiles.json";
/// Format tag of the file.
const FORMAT: &str = "trailhound-profiles-1";

#[derive(Serialize, Deserialize)]
struct FileBody {
    format: String,
    profiles: HashMap<String, Profile>,
}

/// Profiles in memory, from and to one JSON file (or in memory only).
#[derive(Debug, Default)]
pub struct LocalProfileStore {
    path: Option<PathBuf>,
    profiles: Mutex<HashMap<String, Profile>>,
    dirty: AtomicBool,
    config: BaselineConfig,
}

impl LocalProfileStore {
    /// A store that lives for this run only (`eval`, `demo`).
    pub fn temporary() -> Self {
        Self::default()
    }

    /// Opens the store at `path`: a file, or a directory holding [`FILE_NAME`]. A
    /// missing file is an empty store, created on [`LocalProfileStore::save`].
    pub fn open(path: &Path) -> Result<Self> {
        let file = if path.is_dir() {
            path.join(FILE_NAME)
        } else {
            path.to_owned()
        };
        let profiles = match std::fs::read(&file) {
            Ok(bytes) => {
                let body: FileBody = serde_json::from_slice(&bytes).with_context(|| {
                    format!("{} is not a trailhound profile file", file.display())
                })?;
                if body.format != FORMAT {
                    bail!(
                        "{}: profile format {:?}, expected {FORMAT:?}",
                        file.display(),
                        body.format
                    );
                }
                body.profiles
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read profiles {}", file.display()));
            }
        };
        Ok(Self {
            path: Some(file),
            profiles: Mutex::new(profiles),
            dirty: AtomicBool::new(false),
            config: BaselineConfig::default(),
        })
    }

    /// Judges profiles with this learning period (see [`BaselineConfig`]).
    pub fn with_config(mut self, config: BaselineConfig) -> Self {
        self.config = config;
        self
    }

    /// The learning period profiles are judged with.
    pub fn config(&self) -> BaselineConfig {
        self.config
    }

    /// Never writes back: the file is only read (`eval`).
    pub fn read_only(mut self) -> Self {
        self.path = None;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Profile>> {
        self.profiles.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Profiles held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Merges updates (what [`ProfileStore::merge_profiles`] does, without a future).
    pub fn merge(&self, updates: &[ProfileUpdate]) {
        let mut map = self.lock();
        for u in updates {
            map.entry(u.key.clone()).or_default().absorb(u);
        }
        if !updates.is_empty() {
            self.dirty.store(true, Ordering::SeqCst);
        }
    }

    /// Learns from CloudTrail files without scoring them (a warm-up on past logs).
    /// Unreadable files are skipped and counted. Returns (events learned, files
    /// skipped).
    pub fn warm_up(&self, files: &[PathBuf], limits: &Limits) -> (u64, usize) {
        let (mut events, mut failed) = (0u64, 0usize);
        for f in files {
            let batch = std::fs::File::open(f)
                .map_err(|e| e.to_string())
                .and_then(|file| {
                    CtBatch::read(std::io::BufReader::new(file), limits).map_err(|e| e.to_string())
                });
            match batch {
                Ok(b) => {
                    let updates = baseline::observe(&b, &baseline::origin_of(&f.to_string_lossy()));
                    events += updates.iter().map(|u| u.seen.events).sum::<u64>();
                    self.merge(&updates);
                }
                Err(e) => {
                    tracing::warn!(file = %f.display(), error = %e, "skipped while learning profiles");
                    failed += 1;
                }
            }
        }
        (events, failed)
    }

    /// Writes the file if anything changed (temporary file, then rename).
    pub fn save(&self) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if !self.dirty.load(Ordering::SeqCst) {
            return Ok(());
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let tmp = tempfile::NamedTempFile::new_in(&dir)
            .with_context(|| format!("cannot write a temporary file in {}", dir.display()))?;
        {
            let body = FileBody {
                format: FORMAT.to_owned(),
                profiles: self.lock().clone(),
            };
            let mut w = BufWriter::new(tmp.as_file());
            serde_json::to_writer(&mut w, &body)
                .with_context(|| format!("cannot write profiles {}", path.display()))?;
            w.flush()
                .with_context(|| format!("cannot write profiles {}", path.display()))?;
        }
        tmp.as_file()
            .sync_all()
            .with_context(|| format!("cannot write profiles {}", path.display()))?;
        tmp.persist(path)
            .with_context(|| format!("cannot replace profiles {}", path.display()))?;
        self.dirty.store(false, Ordering::SeqCst);
        Ok(())
    }
}

impl ProfileStore for LocalProfileStore {
    async fn get_profiles(&self, keys: &[String]) -> Result<HashMap<String, Profile>, PortError> {
        let map = self.lock();
        Ok(keys
            .iter()
            .filter_map(|k| map.get(k).map(|p| (k.clone(), p.clone())))
            .collect())
    }

    async fn merge_profiles(&self, updates: &[ProfileUpdate]) -> Result<(), PortError> {
        self.merge(updates);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn update(key: &str, origin: &str, t: i64) -> ProfileUpdate {
        let mut seen = Profile::default();
        seen.record_time(t);
        seen.actions.insert("iam:CreateUser", baseline::day_of(t));
        ProfileUpdate {
            key: key.into(),
            origin: origin.into(),
            seen,
        }
    }

    #[test]
    fn saves_atomically_and_reloads_what_was_merged() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalProfileStore::open(dir.path()).unwrap();
        assert_eq!(store.len(), 0);
        store.merge(&[update("a|alice", "o1", 1_709_510_400)]);
        store.save().unwrap();
        let file = dir.path().join(FILE_NAME);
        assert!(file.exists());
        // Only the file itself: the temporary file was renamed, not left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let again = LocalProfileStore::open(&file).unwrap();
        again.merge(&[
            update("a|alice", "o1", 1_709_510_400),
            update("a|alice", "o2", 1_709_600_000),
        ]);
        again.save().unwrap();
        let map = LocalProfileStore::open(&file).unwrap().lock().clone();
        assert_eq!(
            map["a|alice"].events, 2,
            "the repeated update o1 counts once"
        );
        assert_eq!(map["a|alice"].last_seen, 1_709_600_000);
    }

    #[test]
    fn refuses_a_file_that_is_not_a_profile_store() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.json");
        std::fs::write(&file, b"{\"Records\":[]}").unwrap();
        let err = LocalProfileStore::open(&file).unwrap_err();
        assert!(
            format!("{err:#}").contains("not a trailhound profile file"),
            "{err:#}"
        );
    }
}
