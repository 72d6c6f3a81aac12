//! Local adapters of the core ports: files on disk, a model file, findings in a
//! JSON-lines file, alerts on standard error.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use trailhound_core::Finding;
use trailhound_core::alerting::ClaimLedger;
use trailhound_core::models::artifact::Model;
use trailhound_core::ports::{
    AlertClaim, AlertSink, ClaimHolder, FindingStore, ModelSource, ObjectBody, ObjectRef,
    ObjectSource, ObjectSummary, PortError, StoreOutcome,
};

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
/// Deduplication claims are kept in memory for the run (one entry per key and
/// window, with the ids that hit it). The file is append-only, so a holder's line
/// carries the `repeats` known when it was written; later hits carry `duplicate_of`.
#[derive(Debug)]
pub struct JsonlFindingStore {
    known: Mutex<HashMap<String, bool>>,
    claims: ClaimLedger,
    remember: bool,
    out: Option<Mutex<BufWriter<File>>>,
    path: Option<PathBuf>,
}

impl JsonlFindingStore {
    /// A store that remembers nothing.
    pub fn memory() -> Self {
        Self {
            known: Mutex::new(HashMap::new()),
            claims: ClaimLedger::default(),
            remember: false,
            out: None,
            path: None,
        }
    }

    /// A store appending to `path`, knowing the ids already there.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let mut known = HashMap::new();
        if path.exists() {
            let f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
            for line in BufReader::new(f).lines() {
                let line = line.with_context(|| format!("cannot read {}", path.display()))?;
                #[derive(serde::Deserialize)]
                struct Id {
                    finding_id: String,
                }
                if let Ok(id) = serde_json::from_str::<Id>(&line) {
                    known.insert(id.finding_id, true);
                }
            }
        }
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self {
            known: Mutex::new(known),
            claims: ClaimLedger::default(),
            remember: true,
            out: Some(Mutex::new(BufWriter::new(f))),
            path: Some(path.to_owned()),
        })
    }

    fn write_err(&self, e: impl std::error::Error + Send + Sync + 'static) -> PortError {
        let p = self
            .path
            .as_deref()
            .map_or_else(String::new, |p| p.display().to_string());
        PortError::non_retryable(format!("cannot write findings to {p}")).with_source(e)
    }

    /// Flushes the file.
    pub fn flush(&self) -> Result<(), PortError> {
        if let Some(out) = &self.out {
            let mut w = out.lock().unwrap_or_else(|e| e.into_inner());
            w.flush().map_err(|e| self.write_err(e))?;
        }
        Ok(())
    }
}

impl FindingStore for JsonlFindingStore {
    async fn put_findings(&self, findings: &[Finding]) -> Result<Vec<StoreOutcome>, PortError> {
        if !self.remember {
            return Ok(vec![StoreOutcome::New; findings.len()]);
        }
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let mut outcomes = Vec::with_capacity(findings.len());
        for f in findings {
            let outcome = match known.get(&f.finding_id) {
                Some(true) => StoreOutcome::Alerted,
                Some(false) => StoreOutcome::Unalerted,
                None => {
                    known.insert(f.finding_id.clone(), false);
                    if let Some(out) = &self.out {
                        let mut w = out.lock().unwrap_or_else(|e| e.into_inner());
                        serde_json::to_writer(&mut *w, f).map_err(|e| self.write_err(e))?;
                        w.write_all(b"\n").map_err(|e| self.write_err(e))?;
                    }
                    StoreOutcome::New
                }
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    async fn mark_alerted(&self, finding_ids: &[String]) -> Result<(), PortError> {
        if !self.remember {
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
            eprintln!("ALERT [{sev}] {} — {}", f.title(), f.reasons.join("; "));
        }
        Ok(())
    }
}
