//! The CLI's profile store: behavioural baselines (one profile per principal) in
//! one JSON file, loaded whole and merged in memory. Saving is a locked
//! read-merge-write: under an exclusive lock on `FILE.lock`, the file is read again
//! as it is now, this run's updates (kept as a list, not as whole profiles) are
//! merged into it with [`Profile::absorb`], and the result is written to a
//! temporary file in the same directory, synced and renamed over the file. So
//! concurrent scans never lose each other's learning, nothing is counted twice
//! (absorb skips an update whose origin was counted), and an interrupted run
//! leaves the previous file intact.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
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
    /// This run's updates not yet saved, in the order they were merged.
    delta: Mutex<Vec<ProfileUpdate>>,
    config: BaselineConfig,
}

/// What [`LocalProfileStore::warm_up`] read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WarmUp {
    /// Events read from the files.
    pub read: u64,
    /// Of those, the events learned: successful calls by an identified principal
    /// (failed and denied calls never become normal).
    pub learned: u64,
    /// Files that could not be read.
    pub failed: usize,
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
        let profiles = read_file(&file)?;
        Ok(Self {
            path: Some(file),
            profiles: Mutex::new(profiles),
            delta: Mutex::new(Vec::new()),
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
        if self.path.is_some() && !updates.is_empty() {
            self.delta
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(updates);
        }
    }

    /// Learns from CloudTrail files without scoring them (a warm-up on past logs).
    /// Unreadable files are skipped and counted. Returns (events learned, files
    /// skipped).
    pub fn warm_up(&self, files: &[PathBuf], limits: &Limits) -> WarmUp {
        let mut w = WarmUp::default();
        for f in files {
            let batch = std::fs::File::open(f)
                .map_err(|e| e.to_string())
                .and_then(|file| {
                    CtBatch::read(std::io::BufReader::new(file), limits).map_err(|e| e.to_string())
                });
            match batch {
                Ok(b) => {
                    let updates = baseline::observe(&b, &baseline::origin_of(&f.to_string_lossy()));
                    w.read += b.events.len() as u64;
                    w.learned += updates.iter().map(|u| u.seen.events).sum::<u64>();
                    self.merge(&updates);
                }
                Err(e) => {
                    tracing::warn!(file = %f.display(), error = %e, "skipped while learning profiles");
                    w.failed += 1;
                }
            }
        }
        w
    }

    /// Merges this run's updates into the file as it is now, if there are any:
    /// under an exclusive lock on `FILE.lock`, re-reads the file, absorbs the
    /// updates, writes a temporary file, syncs it and renames it over the file.
    /// Afterwards the store holds the merged profiles (other writers' included).
    pub fn save(&self) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut delta = self.delta.lock().unwrap_or_else(|e| e.into_inner());
        if delta.is_empty() {
            return Ok(());
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let lock_path = lock_path(path);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("cannot lock {}", lock_path.display()))?;
        let merged = merge_into_file(path, &dir, &delta);
        if let Err(e) = lock.unlock() {
            tracing::warn!(file = %lock_path.display(), error = %e, "cannot unlock the profiles lock file");
        }
        let merged = merged?;
        delta.clear();
        *self.lock() = merged;
        Ok(())
    }
}

/// `FILE.lock` beside the profiles file.
fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Reads a profile file (a missing file is empty).
fn read_file(file: &Path) -> Result<HashMap<String, Profile>> {
    match std::fs::read(file) {
        Ok(bytes) => {
            let body: FileBody = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a trailhound profile file", file.display()))?;
            if body.format != FORMAT {
                bail!(
                    "{}: profile format {:?}, expected {FORMAT:?}",
                    file.display(),
                    body.format
                );
            }
            Ok(body.profiles)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashMap::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read profiles {}", file.display())),
    }
}

/// With the lock held: the file as it is now, plus `updates`, written back
/// atomically. Returns the merged profiles.
fn merge_into_file(
    path: &Path,
    dir: &Path,
    updates: &[ProfileUpdate],
) -> Result<HashMap<String, Profile>> {
    let mut profiles = read_file(path)?;
    for u in updates {
        profiles.entry(u.key.clone()).or_default().absorb(u);
    }
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write a temporary file in {}", dir.display()))?;
    let body = FileBody {
        format: FORMAT.to_owned(),
        profiles,
    };
    {
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
    // The rename is durable once the directory is (best effort: not every
    // platform can open a directory).
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(body.profiles)
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
        // The file and its lock file: the temporary file was renamed, not left behind.
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [FILE_NAME.to_owned(), format!("{FILE_NAME}.lock")]);
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

    /// Regression: two stores opened on one file (two scans at once) each saved
    /// the profiles they loaded plus their own updates, so the last save dropped
    /// the other's learning.
    #[test]
    fn concurrent_saves_keep_both_writers_updates_and_count_them_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE_NAME);
        let seed = LocalProfileStore::open(&file).unwrap();
        seed.merge(&[update("a|alice", "o0", 1_709_500_000)]);
        seed.save().unwrap();
        let one = LocalProfileStore::open(&file).unwrap();
        let two = LocalProfileStore::open(&file).unwrap();
        one.merge(&[update("a|alice", "o1", 1_709_510_400)]);
        two.merge(&[
            update("a|alice", "o2", 1_709_600_000),
            update("b|bob", "o2", 1_709_600_000),
        ]);
        // Both also saw o0 again (a re-scanned object): it must not count twice.
        two.merge(&[update("a|alice", "o0", 1_709_500_000)]);
        one.save().unwrap();
        two.save().unwrap();
        let map = LocalProfileStore::open(&file).unwrap().lock().clone();
        assert_eq!(map["a|alice"].events, 3, "o0, o1 and o2 once each");
        assert_eq!(map["a|alice"].first_seen, 1_709_500_000);
        assert_eq!(map["a|alice"].last_seen, 1_709_600_000);
        assert_eq!(map["b|bob"].events, 1);
        // The second writer now holds the merged profiles.
        assert_eq!(two.len(), 2);
        assert_eq!(two.lock()["a|alice"].events, 3);
        // Saving again with nothing new changes nothing.
        let before = std::fs::read(&file).unwrap();
        two.save().unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), before);
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
