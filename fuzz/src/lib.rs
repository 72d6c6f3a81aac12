//! The bodies of trailhound's fuzz targets, one function per input the system
//! parses or loads. The libFuzzer targets in `fuzz_targets/` call these, and so
//! does the regression test `shared/core/tests/fuzz_regressions.rs` (it includes
//! this file with `#[path]`), so a crash found by the fuzzer replays on stable Rust
//! through exactly the same code.
//!
//! Each function takes arbitrary bytes and must return without panicking, hanging or
//! allocating without bound; what it returns does not matter. Where one byte picks a
//! mode (format, entry point) it is the first byte, so the corpora stay readable.
//! Paths are the public entry points the pipeline, the Lambdas and the CLI use.

use base64::Engine as _;
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, OnceLock};
use trailhound_core::alerting::suppress::Suppressions;
use trailhound_core::baseline::{BaselineConfig, BatchBaseline, Profile, ProfileUpdate};
use trailhound_core::decode::Limits;
use trailhound_core::eval::{Metrics, parse_labels};
use trailhound_core::features::access_log::WebBatch;
use trailhound_core::features::vpcflow::FlowBatch;
use trailhound_core::logs::LogsBatch;
use trailhound_core::models::artifact::{Encoder, Model};
use trailhound_core::rules::sigma::RuleSet;
use trailhound_core::score;
use trailhound_core::sources::access_log::{self, AccessFormat};
use trailhound_core::sources::cloudtrail::CtBatch;
use trailhound_core::sources::cwl::{Payload, SourceMap};
use trailhound_core::sources::vpcflow::{FlowFormat, FlowLine};
use trailhound_core::sources::web_payload;

/// Limits for fuzzing: the pipeline's entry points with small caps, so the caps
/// themselves are exercised and one input cannot take seconds to inflate.
pub const LIMITS: Limits = Limits {
    max_decompressed_bytes: 1 << 20,
    max_payload_bytes: 1 << 20,
    max_record_bytes: 256 << 10,
};

/// The body of a fuzz target.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name (also the corpus folder names).
pub const TARGETS: &[(&str, Target)] = &[
    ("cloudtrail_split", cloudtrail_split),
    ("cloudtrail_object_gz", cloudtrail_object_gz),
    ("cwl_payload", cwl_payload),
    ("vpcflow_line", vpcflow_line),
    ("access_log_line", access_log_line),
    ("web_payload", web_payload),
    ("sigma_rule", sigma_rule),
    ("suppressions_yaml", suppressions_yaml),
    ("profiles_json", profiles_json),
    ("model_artifact", model_artifact),
    ("labels_csv", labels_csv),
];

const CT_PAYLOAD: &str =
    include_str!("../../shared/core/tests/fixtures/cwl/cloudtrail.payload.json");
const FLOW_PAYLOAD: &str =
    include_str!("../../shared/core/tests/fixtures/cwl/vpcflow.payload.json");
const WEB_PAYLOAD: &str = include_str!("../../shared/core/tests/fixtures/cwl/nginx.payload.json");

/// The built-in Sigma rules, compiled once (the pipeline also compiles them once).
fn builtin_rules() -> &'static Arc<RuleSet> {
    static RULES: OnceLock<Arc<RuleSet>> = OnceLock::new();
    RULES.get_or_init(|| Arc::new(RuleSet::builtin().0))
}

/// A real-shaped batch of each source, parsed from the test fixtures.
fn fixture_batch() -> &'static LogsBatch {
    static BATCH: OnceLock<LogsBatch> = OnceLock::new();
    BATCH.get_or_init(|| {
        let mut batch = LogsBatch::default();
        let sources = SourceMap::default();
        for json in [CT_PAYLOAD, FLOW_PAYLOAD, WEB_PAYLOAD] {
            // the fixtures are known good; a failure leaves that source empty
            let _ = batch.add_payload(&Payload::from_json(json), &sources);
        }
        batch
    })
}

/// Runs every stage after parsing on what was parsed: features, rules and scores
/// (without a model), as the pipeline does.
fn score_all(batch: &LogsBatch) {
    let _ = score::cloudtrail::score_batch(&batch.cloudtrail, None, true);
    let _ = score::vpcflow::score_with(&batch.vpcflow, None, true);
    let _ = score::access_log::score_with(&batch.access_log, None, true);
}

/// Splits the first byte off as a mode selector.
fn mode(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((m, rest)) => (*m, rest),
        None => (0, data),
    }
}

/// A CloudTrail log file (plain JSON) through the splitter, record parser,
/// classification and the built-in Sigma rules, then scored.
pub fn cloudtrail_split(data: &[u8]) {
    let rules = builtin_rules();
    rules.reset_state();
    if let Ok(batch) = CtBatch::read_with(data, &LIMITS, Some(Arc::clone(rules))) {
        let _ = score::cloudtrail::score_batch(&batch, None, true);
    }
}

/// A CloudTrail object as stored in S3 (gzip, possibly several members) through
/// the capped decoder and the same reader as [`cloudtrail_split`].
pub fn cloudtrail_object_gz(data: &[u8]) {
    if let Ok(batch) = CtBatch::read(data, &LIMITS) {
        let _ = score::cloudtrail::score_batch(&batch, None, true);
    }
}

/// A CloudWatch Logs subscription delivery. Mode (first byte) `% 3`: 0, the rest is
/// the gzip payload, base64-encoded here into a Lambda event; 1, the rest is the
/// decoded payload JSON; 2, the rest is the Lambda event JSON itself. Then the
/// events are routed, parsed and scored.
pub fn cwl_payload(data: &[u8]) {
    let (m, rest) = mode(data);
    let sources = SourceMap::default();
    let mut batch = LogsBatch::default();
    let added = match m % 3 {
        0 => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(rest);
            let event = format!(r#"{{"awslogs":{{"data":"{b64}"}}}}"#);
            batch.add_event(event.as_bytes(), &LIMITS, &sources)
        }
        1 => batch.add_payload(&Payload::from_json(rest), &sources),
        _ => batch.add_event(rest, &LIMITS, &sources),
    };
    if added.is_ok() {
        score_all(&batch);
    }
}

/// VPC Flow Logs lines. Mode bit 0 set: the first line is a custom format
/// (`${field} ...`); otherwise the default version 2. Records are batched and scored.
pub fn vpcflow_line(data: &[u8]) {
    let (m, rest) = mode(data);
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.lines();
    let format = if m & 1 == 1 {
        match FlowFormat::parse(lines.next().unwrap_or("")) {
            Ok(f) => f,
            Err(_) => return,
        }
    } else {
        FlowFormat::default_v2()
    };
    let mut batch = FlowBatch::default();
    for (i, line) in lines.enumerate() {
        if let Ok(FlowLine::Record(r)) = format.parse_line(line) {
            batch.push(&i.to_string(), &r);
        }
    }
    let _ = score::vpcflow::score_with(&batch, None, true);
}

/// Web access log lines in the format the mode picks (`% 4`: nginx, morgan,
/// morgan JSON, auto). Requests are batched and scored.
pub fn access_log_line(data: &[u8]) {
    let (m, rest) = mode(data);
    let format = match m % 4 {
        0 => AccessFormat::NginxCombined,
        1 => AccessFormat::MorganCombined,
        2 => AccessFormat::MorganJson,
        _ => AccessFormat::Auto,
    };
    let text = String::from_utf8_lossy(rest);
    let mut batch = WebBatch::default();
    for (i, line) in text.lines().enumerate() {
        if let Ok(r) = access_log::parse_line(line, format) {
            batch.push(&i.to_string(), 1_709_547_330_000 + i as i64, &r);
        }
    }
    let _ = score::access_log::score_with(&batch, None, true);
}

/// The web payload inspector: lines are path, query and user agent.
pub fn web_payload(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let path = parts.next().unwrap_or("");
    let query = parts.next();
    let ua = parts.next().unwrap_or("");
    let hits = web_payload::inspect(path, query, ua);
    let _ = hits.strongest();
    let _ = web_payload::inspect_url(path, None);
    let _ = web_payload::inspect_user_agent(path);
}

/// A Sigma rule. Mode bit 0 clear: the rest is a whole rule file; set: the rest is a
/// condition over three fixed selections. The rule set is then run on the fixture
/// CloudTrail events.
pub fn sigma_rule(data: &[u8]) {
    let (m, rest) = mode(data);
    let text = String::from_utf8_lossy(rest);
    let yaml = if m & 1 == 0 {
        text.into_owned()
    } else {
        sigma_condition_rule(&text)
    };
    let (rules, _errors) = RuleSet::from_yaml_strs(&[("fuzz.yml", &yaml)]);
    if rules.is_empty() {
        return;
    }
    let rules = Arc::new(rules);
    let mut batch = CtBatch::with_rules(Some(rules));
    if let Ok(payload) = Payload::from_json(CT_PAYLOAD).parse() {
        for e in &payload.log_events {
            let _ = batch.push_json(e.message.as_bytes());
        }
    }
}

/// A Sigma rule whose condition is `cond`, over the selections `sel`, `sel2` and
/// `filter`.
pub fn sigma_condition_rule(cond: &str) -> String {
    // a JSON string is a YAML double-quoted scalar
    let cond = serde_json::to_string(cond).unwrap_or_default();
    format!(
        "title: fuzz\nid: fuzz.condition\nlevel: high\nlogsource:\n  product: aws\n  service: cloudtrail\n\
             detection:\n  sel:\n    eventName: PutObject\n  sel2:\n    eventSource|endswith: .amazonaws.com\n\
             \x20 filter:\n    userIdentity.type: Root\n  condition: {cond}\n"
    )
}

/// A suppression file, then matched against the fixture's findings.
pub fn suppressions_yaml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok((suppressions, _warnings)) = Suppressions::from_yaml(&text, "fuzz.yaml", 1_709_547_330)
    else {
        return;
    };
    let batch = fixture_batch();
    for f in score::cloudtrail::score_batch(&batch.cloudtrail, None, true) {
        let _ = suppressions.matching(&f);
    }
}

/// The file a profile store holds (`{"format": ..., "profiles": {key: profile}}`,
/// as the CLI's store and the DynamoDB items serialise [`Profile`]), then merged
/// with an update, pruned, and used to judge the fixture's CloudTrail events.
pub fn profiles_json(data: &[u8]) {
    #[derive(serde::Deserialize)]
    struct FileBody {
        #[serde(rename = "format")]
        _format: String,
        profiles: HashMap<String, Profile>,
    }
    let Ok(body) = serde_json::from_slice::<FileBody>(data) else {
        return;
    };
    let batch = fixture_batch();
    let mut profiles = body.profiles;
    let updates = trailhound_core::baseline::observe(&batch.cloudtrail, "fuzz");
    for u in &updates {
        profiles.entry(u.key.clone()).or_default().absorb(u);
    }
    for p in profiles.values_mut() {
        let copy = p.clone();
        p.absorb(&ProfileUpdate {
            key: String::new(),
            origin: "fuzz-again".into(),
            seen: copy,
        });
        p.prune();
        let _ = p.history_days(1_709_547_330);
    }
    let base = BatchBaseline::new(
        &batch.cloudtrail,
        &profiles,
        BaselineConfig::default(),
        None,
    );
    for e in &batch.cloudtrail.events {
        let _ = base.event(&batch.cloudtrail, e);
    }
}

/// A model artifact. Mode bit 0 clear: the rest is the whole file; set: the rest
/// is the payload and a valid header (magic, version, CRC, length) is put in front,
/// so mutations reach the decoder and checks instead of the checksum. A model that
/// loads scores the fixture batch of its source.
pub fn model_artifact(data: &[u8]) {
    let (m, rest) = mode(data);
    let loaded = if m & 1 == 0 {
        Model::from_bytes(rest)
    } else {
        Model::from_bytes(&with_header(rest))
    };
    let Ok(model) = loaded else {
        return;
    };
    let batch = fixture_batch();
    match &model.encoder {
        Encoder::CloudTrail(_) => {
            let _ = score::cloudtrail::score_batch(&batch.cloudtrail, Some(&model), true);
        }
        Encoder::VpcFlow(_) => {
            let _ = score::vpcflow::score_with(&batch.vpcflow, Some(&model), true);
        }
        Encoder::AccessLog(_) => {
            let _ = score::access_log::score_with(&batch.access_log, Some(&model), true);
        }
    }
}

/// An artifact header (format version 3) in front of `payload`.
pub fn with_header(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + payload.len());
    out.extend_from_slice(b"THMODEL\0");
    out.extend_from_slice(&trailhound_core::models::artifact::FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&crc32fast_hash(payload).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// CRC-32 (IEEE), as the artifact header stores it; computed here so the harness
/// needs no crate beyond those the core already uses.
fn crc32fast_hash(bytes: &[u8]) -> u32 {
    let mut h = flate2::Crc::new();
    h.update(bytes);
    h.sum()
}

/// A labels file (`event_id,label,scenario`), then the metrics over its rows with
/// ranks taken from the ids.
pub fn labels_csv(data: &[u8]) {
    let Ok(labels) = parse_labels(data) else {
        return;
    };
    let items: Vec<_> = labels
        .iter()
        .map(|(id, t)| trailhound_core::eval::Labelled {
            rank: id.len() as f64,
            flagged: id.len() % 2 == 0,
            attack: t.attack,
            scenario: t.scenario.clone(),
        })
        .collect();
    let _ = Metrics::compute(&items);
}

/// Small models of each source trained on the fixtures (two trees each), as
/// artifact bytes: the seeds of [`model_artifact`], and proof in the regression test
/// that real artifacts load and score through it.
pub fn trained_models() -> Vec<(&'static str, Vec<u8>)> {
    use trailhound_core::models::iforest::IsolationForestParams;
    use trailhound_core::models::train;
    let params = IsolationForestParams {
        n_trees: 2,
        max_samples: 16,
        seed: 7,
    };
    let logs = || {
        let mut batch = LogsBatch::default();
        let sources = SourceMap::default();
        for json in [CT_PAYLOAD, FLOW_PAYLOAD, WEB_PAYLOAD] {
            let _ = batch.add_payload(&Payload::from_json(json), &sources);
        }
        batch
    };
    // 40 sources over 40 minutes: enough windows for the window sources
    let flows = || {
        let mut batch = FlowBatch::default();
        let v2 = FlowFormat::default_v2();
        for i in 0..40 {
            let t = 1_709_547_300 + 60 * i;
            let line = format!(
                "2 123456789012 eni-0f4c3a2b1d9e8f701 10.0.1.{i} 10.0.2.40 {} {} 6 {} {} {t} {} ACCEPT OK",
                40_000 + i,
                [443, 5432, 22][i as usize % 3],
                3 + i,
                180 * (i + 1),
                t + 60
            );
            if let Ok(FlowLine::Record(r)) = v2.parse_line(&line) {
                batch.push(&i.to_string(), &r);
            }
        }
        batch
    };
    let requests = || {
        let mut batch = WebBatch::default();
        for i in 0..40 {
            let line = format!(
                "203.0.113.{i} - - [04/Mar/2024:10:{:02}:30 +0000] \"GET /products/{i} HTTP/1.1\" 200 {} \"-\" \"Mozilla/5.0\" 0.012",
                i % 60,
                500 + i
            );
            if let Ok(r) = access_log::parse_line(&line, AccessFormat::NginxCombined) {
                batch.push(&i.to_string(), 1_709_547_330_000 + 60_000 * i, &r);
            }
        }
        batch
    };
    let mut out = Vec::new();
    let models = [
        (
            "cloudtrail",
            train::train_cloudtrail(|| std::iter::once(logs().cloudtrail), &params),
        ),
        (
            "vpcflow",
            train::train_vpcflow(|| std::iter::once(flows()), &params),
        ),
        (
            "access_log",
            train::train_access_log(|| std::iter::once(requests()), &params),
        ),
    ];
    for (name, model) in models {
        if let Ok(bytes) = model.and_then(|m| Ok(m.to_bytes()?)) {
            out.push((name, bytes));
        }
    }
    out
}

/// Gzips `data` (for building seeds of the gzip targets).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}
