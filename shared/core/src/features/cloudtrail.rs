//! The CloudTrail feature schema (`cloudtrail-v1`) and its encoder.
//!
//! What separates an attack from a busy Monday is rarely one field: it is who
//! (identity type, root, MFA), how (console, CLI, SDK, scripted or attack tooling),
//! from where (service, private, public; a network new for this principal), when
//! (hour and weekday against the account's rhythm), what (how rare the action and
//! service are, whether the principal ever did it, whether a rule calls it
//! dangerous) and how much (the principal's volume, breadth and error ratio in the
//! file). Rarity and novelty are learned in training and kept in the encoder.

use super::{FeatureDef, fnv1a, schema_hash};
use crate::intern::Sym;
use crate::rules::builtin;
use crate::sources::cloudtrail::{
    CtBatch, CtEvent, ErrorClass, IdentityType, IpClass, UaFamily, network_of,
};
use crate::timefmt;
use ndarray::Array2;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Schema id, recorded in models.
pub const SCHEMA_ID: &str = "cloudtrail-v1";

/// Largest rarity value: `-log10` of a share, capped (never seen ≈ this).
pub const RARITY_CAP: f32 = 7.0;

macro_rules! schema {
    ($( $idx:ident = $name:literal, $meaning:literal, $range:literal; )*) => {
        /// Column indices of the schema.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms, missing_docs)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Col { $( $idx, )* }
        /// The columns, in order.
        pub const FEATURES: &[FeatureDef] = &[ $( FeatureDef { name: $name, meaning: $meaning, range: $range }, )* ];
        impl Col {
            /// Every column, in order.
            pub const ALL: &[Col] = &[ $( Col::$idx, )* ];
            /// The column at an index.
            pub fn at(index: usize) -> Option<Col> {
                Self::ALL.get(index).copied()
            }
        }
    };
}

schema! {
    Hour = "hour", "UTC hour of the event", "0–23";
    Weekend = "weekend", "1 on Saturday or Sunday (UTC)", "0/1";
    HourRarity = "hour_rarity", "-log10 of the share of training events in this UTC hour", "0–7";
    IdRoot = "id_root", "1 when the root user acted", "0/1";
    IdIamUser = "id_iam_user", "1 for an IAM user", "0/1";
    IdRole = "id_role", "1 for a role session", "0/1";
    IdService = "id_service", "1 for an AWS service or an identity-less service event", "0/1";
    IdOther = "id_other", "1 for federated users, other accounts, SAML and web identities", "0/1";
    Console = "console", "1 for a console session or sign-in", "0/1";
    MfaMissing = "mfa_missing", "1 for a console session or sign-in without MFA", "0/1";
    UaConsole = "ua_console", "user agent is a browser / the console", "0/1";
    UaCli = "ua_cli", "user agent is the AWS CLI", "0/1";
    UaSdk = "ua_sdk", "user agent is an AWS SDK", "0/1";
    UaIac = "ua_iac", "user agent is Terraform, CloudFormation, CDK or Pulumi", "0/1";
    UaService = "ua_service", "user agent is an AWS service", "0/1";
    UaScript = "ua_script", "user agent is a generic HTTP tool (curl, python-requests…)", "0/1";
    UaOffensive = "ua_offensive", "user agent names attack tooling or an attack distribution", "0/1";
    UaOther = "ua_other", "user agent missing or unrecognised", "0/1";
    ErrDenied = "err_denied", "1 when the call was denied or unauthenticated", "0/1";
    ErrOther = "err_other", "1 for any other error (not found, throttled, invalid)", "0/1";
    ReadOnly = "read_only", "1 read-only, 0 mutating, 0.5 unknown", "0–1";
    NameRarity = "name_rarity", "-log10 share of training events with this eventName", "0–7";
    SourceRarity = "source_rarity", "-log10 share of training events with this eventSource", "0–7";
    PrincipalRarity = "principal_rarity", "-log10 share of training events by this principal", "0–7";
    RegionRarity = "region_rarity", "-log10 share of training events in this region", "0–7";
    NewAction = "new_action", "1 when this principal never made this call in training", "0/1";
    NewNetwork = "new_network", "1 when this principal never called from this network (/24, /48) in training", "0/1";
    NewClient = "new_client", "1 when this principal never used this user-agent family in training", "0/1";
    PublicUnusual = "public_unusual", "for a call from a public address: 1 minus the share of this principal's training calls from public addresses (1 for an unseen principal); 0 otherwise", "0–1";
    IpService = "ip_service", "source is an AWS service name", "0/1";
    IpPrivate = "ip_private", "source is a private (VPC) address", "0/1";
    IpPublic = "ip_public", "source is a public IPv4 or IPv6 address", "0/1";
    Sensitive = "sensitive", "severity of the built-in rule that matched, divided by 10", "0–1";
    PrincipalEvents = "principal_events", "log10(1 + events by this principal in its 5-minute window)", "0–6";
    PrincipalActions = "principal_actions", "log10(1 + distinct eventNames by this principal in its 5-minute window)", "0–4";
    PrincipalErrorRatio = "principal_error_ratio", "share of this principal's events in its 5-minute window that failed", "0–1";
    PrincipalBurst = "principal_burst", "log10(1 + events by this principal with this eventName in its 5-minute window)", "0–6";
    LoginFailed = "login_failed", "1 for a failed console sign-in", "0/1";
}

/// Number of columns.
pub const N_FEATURES: usize = FEATURES.len();

/// The schema hash of `cloudtrail-v1`.
pub fn hash() -> String {
    schema_hash(SCHEMA_ID, FEATURES)
}

/// What training learned about the account: frequencies and who did what from where.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CloudTrailEncoder {
    /// Training events.
    pub n: u64,
    /// Events per UTC hour.
    pub hours: [u64; 24],
    /// Events per eventName.
    pub names: BTreeMap<String, u64>,
    /// Events per eventSource.
    pub sources: BTreeMap<String, u64>,
    /// Events per principal.
    pub principals: BTreeMap<String, u64>,
    /// Events per region.
    pub regions: BTreeMap<String, u64>,
    /// FNV-1a hashes of (principal, eventName) pairs seen.
    pub principal_actions: BTreeSet<u64>,
    /// FNV-1a hashes of (principal, network) pairs seen.
    pub principal_networks: BTreeSet<u64>,
    /// FNV-1a hashes of (principal, user-agent family) pairs seen.
    pub principal_clients: BTreeSet<u64>,
    /// Events per principal from public addresses.
    pub principal_public: BTreeMap<String, u64>,
}

impl CloudTrailEncoder {
    /// Learns from one batch of training events.
    pub fn observe(&mut self, batch: &CtBatch) {
        for e in &batch.events {
            self.n += 1;
            self.hours[usize::from(timefmt::hour_of_day(e.time))] += 1;
            *self.names.entry(batch.str(e.name).to_owned()).or_default() += 1;
            *self
                .sources
                .entry(batch.str(e.source).to_owned())
                .or_default() += 1;
            *self
                .principals
                .entry(batch.str(e.principal).to_owned())
                .or_default() += 1;
            *self
                .regions
                .entry(batch.str(e.region).to_owned())
                .or_default() += 1;
            let p = batch.str(e.principal);
            self.principal_actions
                .insert(fnv1a(&[p, batch.str(e.name)]));
            self.principal_networks
                .insert(fnv1a(&[p, network_of(batch.str(e.ip))]));
            self.principal_clients.insert(fnv1a(&[p, e.ua.as_str()]));
            if matches!(e.ip_class, IpClass::PublicV4 | IpClass::PublicV6) {
                *self.principal_public.entry(p.to_owned()).or_default() += 1;
            }
        }
    }

    fn rarity(&self, count: u64) -> f32 {
        if self.n == 0 {
            return 0.0;
        }
        // Precision loss in u64→f64 is irrelevant at these magnitudes.
        let share = (count as f64 + 0.5) / (self.n as f64 + 0.5);
        (-share.log10()).clamp(0.0, f64::from(RARITY_CAP)) as f32
    }

    fn count_rarity(&self, table: &BTreeMap<String, u64>, key: &str) -> f32 {
        self.rarity(table.get(key).copied().unwrap_or(0))
    }

    /// Encodes every event of a batch into a `(events, N_FEATURES)` matrix.
    pub fn encode(&self, batch: &CtBatch) -> Array2<f32> {
        self.prepare(batch).rows(0..batch.events.len())
    }

    /// Does the per-batch work once (per-symbol lookups, per-principal counts) so
    /// that rows can then be encoded a chunk at a time with bounded memory.
    pub fn prepare<'a>(&'a self, batch: &'a CtBatch) -> BatchEncoding<'a> {
        BatchEncoding {
            enc: self,
            batch,
            tables: SymTables::new(self, batch),
            file: FileStats::new(batch),
        }
    }

    fn encode_event(
        &self,
        batch: &CtBatch,
        e: &CtEvent,
        t: &SymTables,
        file: &FileStats,
        row: &mut [f32],
    ) {
        let mut set = |c: Col, v: f32| row[c as usize] = v;
        let hour = timefmt::hour_of_day(e.time);
        set(Col::Hour, f32::from(hour));
        set(
            Col::Weekend,
            f32::from(u8::from(timefmt::weekday(e.time) >= 5)),
        );
        set(Col::HourRarity, self.rarity(self.hours[usize::from(hour)]));
        let id_col = match e.identity {
            IdentityType::Root => Col::IdRoot,
            IdentityType::IamUser => Col::IdIamUser,
            IdentityType::AssumedRole => Col::IdRole,
            IdentityType::AwsService | IdentityType::None => Col::IdService,
            IdentityType::FederatedUser | IdentityType::AwsAccount | IdentityType::Federated => {
                Col::IdOther
            }
        };
        set(id_col, 1.0);
        set(Col::Console, f32::from(u8::from(e.console)));
        set(
            Col::MfaMissing,
            f32::from(u8::from(e.console && e.mfa == Some(false))),
        );
        let ua_col = match e.ua {
            UaFamily::Console => Col::UaConsole,
            UaFamily::Cli => Col::UaCli,
            UaFamily::Sdk => Col::UaSdk,
            UaFamily::Iac => Col::UaIac,
            UaFamily::Service => Col::UaService,
            UaFamily::Script => Col::UaScript,
            UaFamily::Offensive => Col::UaOffensive,
            UaFamily::Other => Col::UaOther,
        };
        set(ua_col, 1.0);
        match e.error {
            ErrorClass::None => {}
            ErrorClass::AccessDenied => set(Col::ErrDenied, 1.0),
            _ => set(Col::ErrOther, 1.0),
        }
        set(
            Col::ReadOnly,
            e.read_only.map_or(0.5, |r| f32::from(u8::from(r))),
        );
        set(Col::NameRarity, t.name_rarity[e.name.index()]);
        set(Col::SourceRarity, t.source_rarity[e.source.index()]);
        set(
            Col::PrincipalRarity,
            t.principal_rarity[e.principal.index()],
        );
        set(Col::RegionRarity, t.region_rarity[e.region.index()]);
        let p = batch.str(e.principal);
        let new_action = !self
            .principal_actions
            .contains(&fnv1a(&[p, batch.str(e.name)]));
        set(Col::NewAction, f32::from(u8::from(new_action)));
        let new_net = !self
            .principal_networks
            .contains(&t.network_hash(e.principal, e.ip, batch));
        set(Col::NewNetwork, f32::from(u8::from(new_net)));
        let new_client = !self.principal_clients.contains(&fnv1a(&[p, e.ua.as_str()]));
        set(Col::NewClient, f32::from(u8::from(new_client)));
        if matches!(e.ip_class, IpClass::PublicV4 | IpClass::PublicV6) {
            set(Col::PublicUnusual, t.public_unusual[e.principal.index()]);
        }
        match e.ip_class {
            IpClass::Service => set(Col::IpService, 1.0),
            IpClass::Private => set(Col::IpPrivate, 1.0),
            IpClass::PublicV4 | IpClass::PublicV6 => set(Col::IpPublic, 1.0),
            IpClass::Unknown => {}
        }
        let sens = e
            .rule
            .and_then(builtin::rule)
            .map_or(0.0, |r| r.severity / 10.0);
        set(Col::Sensitive, sens as f32);
        let s = file.get(e);
        set(Col::PrincipalEvents, (1.0 + s.events as f32).log10());
        set(Col::PrincipalActions, (1.0 + s.actions as f32).log10());
        set(
            Col::PrincipalErrorRatio,
            s.errors as f32 / s.events.max(1) as f32,
        );
        set(Col::LoginFailed, f32::from(u8::from(e.login_failed)));
    }
}

/// A batch ready to be encoded in chunks.
pub struct BatchEncoding<'a> {
    enc: &'a CloudTrailEncoder,
    batch: &'a CtBatch,
    tables: SymTables,
    file: FileStats,
}

impl BatchEncoding<'_> {
    /// Encodes the events in `range` (clamped to the batch) into a matrix.
    pub fn rows(&self, range: std::ops::Range<usize>) -> Array2<f32> {
        let end = range.end.min(self.batch.events.len());
        let start = range.start.min(end);
        let mut x = Array2::<f32>::zeros((end - start, N_FEATURES));
        for (i, e) in self.batch.events[start..end].iter().enumerate() {
            if let Some(row) = x.row_mut(i).into_slice() {
                self.enc
                    .encode_event(self.batch, e, &self.tables, &self.file, row);
            }
        }
        x
    }

    /// Per-principal activity of the batch.
    pub fn file(&self) -> &FileStats {
        &self.file
    }
}

/// Per-symbol lookups done once per batch instead of once per event.
struct SymTables {
    name_rarity: Vec<f32>,
    source_rarity: Vec<f32>,
    principal_rarity: Vec<f32>,
    region_rarity: Vec<f32>,
    public_unusual: Vec<f32>,
}

impl SymTables {
    fn new(enc: &CloudTrailEncoder, batch: &CtBatch) -> Self {
        let n = batch.strings.len();
        let table = |t: &BTreeMap<String, u64>| -> Vec<f32> {
            (0..n)
                .map(|i| enc.count_rarity(t, batch.strings.resolve(sym_at(i))))
                .collect()
        };
        Self {
            name_rarity: table(&enc.names),
            source_rarity: table(&enc.sources),
            principal_rarity: table(&enc.principals),
            region_rarity: table(&enc.regions),
            public_unusual: (0..n)
                .map(|i| {
                    let p = batch.strings.resolve(sym_at(i));
                    let total = enc.principals.get(p).copied().unwrap_or(0);
                    let public = enc.principal_public.get(p).copied().unwrap_or(0);
                    if total == 0 {
                        1.0
                    } else {
                        1.0 - public as f32 / total as f32
                    }
                })
                .collect(),
        }
    }

    fn network_hash(&self, principal: Sym, ip: Sym, batch: &CtBatch) -> u64 {
        fnv1a(&[batch.str(principal), network_of(batch.str(ip))])
    }
}

fn sym_at(i: usize) -> Sym {
    // Symbols are dense indices; re-derive one from its index.
    crate::intern::Sym::from_index(i)
}

/// Length of the activity window: CloudTrail delivers about every 5 minutes, and
/// counting per window rather than per file keeps the features the same whether a
/// file holds 5 minutes or a day.
pub const WINDOW_SECONDS: i64 = 300;

fn window(t: i64) -> i64 {
    t.div_euclid(WINDOW_SECONDS)
}

/// Per-principal activity inside one 5-minute window.
#[derive(Debug, Default, Clone, Copy)]
pub struct PrincipalStats {
    /// Events by the principal.
    pub events: u32,
    /// Distinct eventNames.
    pub actions: u32,
    /// Failed calls.
    pub errors: u32,
}

/// Per-principal activity of a batch.
pub struct FileStats {
    by_principal: FxHashMap<(Sym, i64), PrincipalStats>,
    by_action: FxHashMap<(Sym, i64, Sym), u32>,
}

impl FileStats {
    /// Counts a batch.
    pub fn new(batch: &CtBatch) -> Self {
        let mut by_principal: FxHashMap<(Sym, i64), PrincipalStats> = FxHashMap::default();
        let mut by_action: FxHashMap<(Sym, i64, Sym), u32> = FxHashMap::default();
        for e in &batch.events {
            let w = window(e.time);
            let s = by_principal.entry((e.principal, w)).or_default();
            s.events += 1;
            if e.error != ErrorClass::None {
                s.errors += 1;
            }
            let n = by_action.entry((e.principal, w, e.name)).or_default();
            if *n == 0 {
                s.actions += 1;
            }
            *n += 1;
        }
        Self {
            by_principal,
            by_action,
        }
    }

    /// Events by a principal with one eventName.
    pub fn burst(&self, e: &CtEvent) -> u32 {
        self.by_action
            .get(&(e.principal, window(e.time), e.name))
            .copied()
            .unwrap_or(0)
    }

    /// The stats of one principal.
    pub fn get(&self, e: &CtEvent) -> PrincipalStats {
        self.by_principal
            .get(&(e.principal, window(e.time)))
            .copied()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_hash_is_stable() {
        // Changing the schema must be deliberate: update this value and bump SCHEMA_ID.
        assert_eq!(hash(), hash());
        assert_eq!(N_FEATURES, 38);
        let names: BTreeSet<&str> = FEATURES.iter().map(|f| f.name).collect();
        assert_eq!(names.len(), N_FEATURES, "duplicate feature names");
    }
}
