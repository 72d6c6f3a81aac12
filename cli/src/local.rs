//! Local adapters of the core ports: files on disk, a model file, findings in a
//! JSON-lines file, alerts on standard error.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use trailhound_core::Finding;
use trailhound_core::alerting::ClaimLedger;
use trailhound_core::models::artifact::Model;
use trailhound_core::ports::{
    AlertClaim, AlertSink, ClaimHolder, FindingStore, ModelSource, ObjectBody, ObjectRef,
    ObjectSource, ObjectSummary, PortError, StoreOutcome,
};
use trailhound_core::text::terminal_safe;

/// Reads objects from the local file system (the key is the path).
#[derive(Debug, Default)]
pub struct LocalObjectSource;

impl ObjectSource for LocalObjectSource {
    async fn fetch(&self, object: &ObjectRef) -> Result<ObjectBody, PortError> {
        let f = File::open(&object.key).map_err(|e| {
            PortError::non_retryable(format!("cannot open {}", object.key)).with_source(e)
        })?;
        Ok(Box::new(BufReader::with_capacity(256 * 1024, f)))
    }
}

/// Loads a model file once.
#[derive(Debug)]
pub struct FileModelSource {
    model: Option<Arc<Model>>,
}

impl FileModelSource {
    /// Loads and checks the model at `path` (or none).
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let model = match path {
            None => None,
            Some(p) => Some(Arc::new(load_model(p)?)),
        };
        Ok(Self { model })
    }

    /// The loaded model.
    pub fn model(&self) -> Option<&Model> {
        self.model.as_deref()
    }
}

/// Reads and checks a model file.
pub fn load_model(path: &Path) -> anyhow::Result<Model> {
    use anyhow::Context;
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read model {}", path.display()))?;
    Model::from_bytes(&bytes).with_context(|| format!("model {} refused", path.display()))
}

impl ModelSource for FileModelSource {
    async fn current(&self) -> Result<Option<Arc<Model>>, PortError> {
        Ok(self.model.clone())
    }
}

/// Findings appended to a JSON-lines file when one is given. Ids already in the
/// file count as stored and alerted, so re-scanning the same logs into the same
/// file adds nothing. Without a file nothing is remembered (every finding is new),
/// so a plain scan holds no per-finding state.
///
/// Several processes may append to one file at once: every batch is written under
/// an exclusive advisory lock on the file, after reading the lines other writers
/// appended since this store last looked (it keeps the byte offset it has read
/// to), so an id already in the file is never written or alerted again, and each
/// batch goes out in one write call. A last line without a newline found under the
/// lock is a torn write (a writer killed mid-way): it is cut off and kept in
/// `FILE.torn`. Lines that are not UTF-8 or not findings are skipped and counted,
/// never fatal. Nothing already stored is rewritten.
///
/// Deduplication claims are kept in memory for the run (one entry per key and
/// window, with the ids that hit it). The file is append-only, so a holder's line
/// carries the `repeats` known when it was written; later hits carry `duplicate_of`.
#[derive(Debug)]
pub struct JsonlFindingStore {
    known: Mutex<HashMap<String, bool>>,
    claims: ClaimLedger,
    file: Option<Mutex<SharedFile>>,
}

/// Longest line read from a findings file; a longer one is skipped (findings are
/// a few kilobytes), so a hostile file cannot make a line buffer grow unbounded.
const MAX_LINE_BYTES: usize = 1 << 20;

/// What reading a findings file found wrong, counted since the store opened.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FileHealth {
    /// Torn last lines cut off (and kept in the `.torn` side file).
    pub torn_lines: u64,
    /// Bytes moved to the side file.
    pub torn_bytes: u64,
    /// Lines skipped because they are not UTF-8.
    pub not_utf8: u64,
    /// Lines skipped because they are not findings (UTF-8 but not a finding
    /// object, or longer than the line limit).
    pub not_findings: u64,
}

/// The findings file of one store, shared by every writer through the lock.
#[derive(Debug)]
struct SharedFile {
    path: PathBuf,
    file: File,
    /// Bytes of the file read into `known` (always at a line start).
    read_to: u64,
    health: FileHealth,
}

/// A finding line's id (the rest of the line is not needed).
#[derive(serde::Deserialize)]
struct Id {
    finding_id: String,
}

impl SharedFile {
    fn lock_file(&self) -> std::io::Result<()> {
        self.file.lock()
    }

    fn unlock_file(&self) {
        if let Err(e) = self.file.unlock() {
            tracing::warn!(error = %e, "cannot unlock the findings file");
        }
    }

    /// Reads what was appended since `read_to` into `known` (ids appended by
    /// other writers count as alerted) and repairs a torn last line. Call with the
    /// lock held. Reports problems it finds on standard error.
    fn refresh(&mut self, known: &mut HashMap<String, bool>) -> std::io::Result<()> {
        let len = self.file.metadata()?.len();
        if len < self.read_to {
            // Cut by someone else (not a trailhound writer): read it again.
            self.read_to = 0;
        }
        if len == self.read_to {
            return Ok(());
        }
        let before = self.health;
        let mut reader = BufReader::with_capacity(64 * 1024, &self.file);
        reader.seek(SeekFrom::Start(self.read_to))?;
        let mut line = Vec::new();
        let mut torn_at = None;
        loop {
            line.clear();
            let (used, complete, overlong) = read_line_capped(&mut reader, &mut line)?;
            if used == 0 {
                break;
            }
            if !complete {
                torn_at = Some(self.read_to);
                break;
            }
            self.read_to += used;
            if overlong {
                self.health.not_findings += 1;
                continue;
            }
            let text = match std::str::from_utf8(&line) {
                Ok(t) => t.trim(),
                Err(_) => {
                    self.health.not_utf8 += 1;
                    continue;
                }
            };
            if text.is_empty() {
                continue;
            }
            match serde_json::from_str::<Id>(text) {
                Ok(id) => {
                    known.entry(id.finding_id).or_insert(true);
                }
                Err(_) => self.health.not_findings += 1,
            }
        }
        drop(reader);
        if let Some(at) = torn_at {
            self.cut_torn_tail(at)?;
        }
        self.report(&before);
        Ok(())
    }

    /// Moves the bytes from `at` to the end into `PATH.torn` (appended), then cuts
    /// the file at `at`. The side file is synced before the cut, so the bytes are
    /// never only in one place that is about to lose them.
    fn cut_torn_tail(&mut self, at: u64) -> std::io::Result<()> {
        let mut side_path = self.path.clone().into_os_string();
        side_path.push(".torn");
        let mut side = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&side_path)?;
        let mut src = &self.file;
        src.seek(SeekFrom::Start(at))?;
        let moved = std::io::copy(&mut src, &mut side)?;
        side.sync_all()?;
        self.file.set_len(at)?;
        self.file.sync_data()?;
        self.read_to = at;
        self.health.torn_lines += 1;
        self.health.torn_bytes += moved;
        Ok(())
    }

    /// Prints what changed in the health counts since `before`.
    fn report(&self, before: &FileHealth) {
        let h = &self.health;
        let path = self.path.display().to_string();
        let path = terminal_safe(&path);
        let torn = h.torn_lines - before.torn_lines;
        if torn > 0 {
            eprintln!(
                "warning: repaired {torn} torn line{} in {path} ({} bytes kept in {path}.torn)",
                plural(torn),
                h.torn_bytes - before.torn_bytes
            );
        }
        let not_utf8 = h.not_utf8 - before.not_utf8;
        let skipped = not_utf8 + h.not_findings - before.not_findings;
        if skipped > 0 {
            eprintln!(
                "warning: skipped {skipped} line{} in {path} that {} not findings ({not_utf8} not UTF-8); they stay in the file",
                plural(skipped),
                if skipped == 1 { "is" } else { "are" },
            );
        }
    }

    /// Appends `batch` (whole lines) in one write call; call with the lock held.
    fn append(&mut self, batch: &[u8]) -> std::io::Result<()> {
        (&self.file).write_all(batch)?;
        (&self.file).flush()?;
        self.read_to = self.file.metadata()?.len();
        Ok(())
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Reads one line (through its `\n`) into `line`, keeping at most
/// [`MAX_LINE_BYTES`] of it. Returns the bytes consumed, whether the line ended
/// with a newline, and whether it was longer than the limit.
fn read_line_capped(
    r: &mut impl BufRead,
    line: &mut Vec<u8>,
) -> std::io::Result<(u64, bool, bool)> {
    let (mut used, mut overlong) = (0u64, false);
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok((used, false, overlong));
        }
        let (chunk, done) = match memchr_newline(buf) {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        if line.len() + chunk.len() > MAX_LINE_BYTES {
            overlong = true;
        } else if !overlong {
            line.extend_from_slice(chunk);
        }
        let n = chunk.len();
        used += n as u64;
        r.consume(n);
        if done {
            return Ok((used, true, overlong));
        }
    }
}

fn memchr_newline(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

impl JsonlFindingStore {
    /// A store that remembers nothing.
    pub fn memory() -> Self {
        Self {
            known: Mutex::new(HashMap::new()),
            claims: ClaimLedger::default(),
            file: None,
        }
    }

    /// A store appending to `path`, knowing the ids already there. Under the
    /// lock, repairs a torn last line and counts unreadable lines (both reported
    /// on standard error).
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let mut shared = SharedFile {
            path: path.to_owned(),
            file,
            read_to: 0,
            health: FileHealth::default(),
        };
        let mut known = HashMap::new();
        shared
            .lock_file()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        let read = shared.refresh(&mut known);
        shared.unlock_file();
        read.with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Self {
            known: Mutex::new(known),
            claims: ClaimLedger::default(),
            file: Some(Mutex::new(shared)),
        })
    }

    fn write_err(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> PortError {
        PortError::non_retryable(format!("cannot write findings to {}", path.display()))
            .with_source(e)
    }

    /// Makes what was appended durable (every batch is already written out).
    pub fn flush(&self) -> Result<(), PortError> {
        if let Some(shared) = &self.file {
            let shared = shared.lock().unwrap_or_else(|e| e.into_inner());
            shared
                .file
                .sync_data()
                .map_err(|e| Self::write_err(&shared.path, e))?;
        }
        Ok(())
    }
}

impl FindingStore for JsonlFindingStore {
    async fn put_findings(&self, findings: &[Finding]) -> Result<Vec<StoreOutcome>, PortError> {
        let Some(shared) = &self.file else {
            return Ok(vec![StoreOutcome::New; findings.len()]);
        };
        let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        shared
            .lock_file()
            .map_err(|e| Self::write_err(&shared.path, e))?;
        let result = store_batch(&mut shared, &mut known, findings);
        shared.unlock_file();
        result.map_err(|e| Self::write_err(&shared.path, e))
    }

    async fn mark_alerted(&self, finding_ids: &[String]) -> Result<(), PortError> {
        if self.file.is_none() {
            return Ok(());
        }
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        for id in finding_ids {
            known.insert(id.clone(), true);
        }
        Ok(())
    }

    async fn put_summary(&self, _summary: &ObjectSummary) -> Result<(), PortError> {
        Ok(())
    }

    async fn claim_alert(&self, claim: &AlertClaim<'_>) -> Result<ClaimHolder, PortError> {
        self.claims.claim(claim)
    }
}

/// With the file locked: catches up with other writers, then appends the findings
/// whose ids are not in the file yet, in one write.
fn store_batch(
    shared: &mut SharedFile,
    known: &mut HashMap<String, bool>,
    findings: &[Finding],
) -> std::io::Result<Vec<StoreOutcome>> {
    shared.refresh(known)?;
    let mut outcomes = Vec::with_capacity(findings.len());
    let mut batch = Vec::new();
    let mut added = Vec::new();
    for f in findings {
        let outcome = match known.get(&f.finding_id) {
            Some(true) => StoreOutcome::Alerted,
            Some(false) => StoreOutcome::Unalerted,
            None => {
                trailhound_core::text::to_writer_json(&mut batch, f)?;
                batch.push(b'\n');
                known.insert(f.finding_id.clone(), false);
                added.push(f.finding_id.as_str());
                StoreOutcome::New
            }
        };
        outcomes.push(outcome);
    }
    if batch.is_empty() {
        return Ok(outcomes);
    }
    if let Err(e) = shared.append(&batch) {
        // Not stored: forget them, so a retry writes them.
        for id in added {
            known.remove(id);
        }
        return Err(e);
    }
    Ok(outcomes)
}

/// Prints alerts on standard error, one line each (or nothing when disabled).
#[derive(Debug)]
pub struct StderrAlertSink {
    /// Whether to print.
    pub enabled: bool,
}

impl AlertSink for StderrAlertSink {
    async fn publish(&self, f: &Finding) -> Result<(), PortError> {
        if self.enabled {
            let sev = f.severity.map_or("NONE", |s| s.as_upper());
            let title = f.title();
            let reasons = f.reasons.join("; ");
            crate::commands::eprint_line(&format!(
                "ALERT [{sev}] {} — {}",
                terminal_safe(&title),
                terminal_safe(&reasons)
            ));
        }
        Ok(())
    }
}
