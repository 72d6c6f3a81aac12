//! The [`ProfileStore`] on DynamoDB: one item per principal in the profiles table
//! (`PROFILES_TABLE`), `pk` = the profile key (`<account>|<principal>`), `sk` =
//! [`SORT_KEY`], the profile as JSON in `profile`, and a `version` number.
//!
//! Reads are `BatchGetItem` (100 keys a call, unprocessed keys retried with
//! backoff). Updates are safe under concurrent Lambdas by optimistic concurrency:
//! each profile is read (consistently), the update merged in
//! ([`Profile::absorb`], commutative and idempotent), and written back with a
//! condition on the version read (`attribute_not_exists(pk)` for a new profile);
//! when another writer got there first the condition fails, and the profile is read
//! again, merged again and written again, with backoff. No merge is ever lost, and a
//! retried object changes nothing (an update already merged is not even written). Profiles are bounded (a few tens of KB at most),
//! well under DynamoDB's 400 KB item limit; the TTL attribute (`expires_at`)
//! removes a profile not updated for [`DEFAULT_PROFILE_TTL_DAYS`].

use crate::error::port_error;
use crate::retry::Backoff;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};
use trailhound_core::baseline::{Profile, ProfileUpdate};
use trailhound_core::ports::{PortError, ProfileStore};

/// The sort key of CloudTrail principal profiles (other sources get their own).
pub const SORT_KEY: &str = "profile#cloudtrail";
/// Default retention of a profile after its last update.
pub const DEFAULT_PROFILE_TTL_DAYS: u32 = 180;
/// Largest profile written, in bytes of JSON (DynamoDB items are at most 400 KB).
pub const MAX_PROFILE_BYTES: usize = 350_000;
use crate::dynamo::TTL_ATTRIBUTE;

/// Per-principal profiles in a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoProfileStore {
    client: Client,
    table: String,
    ttl_days: u32,
    backoff: Backoff,
}

/// A stored profile and the version it was read at.
type Versioned = (Profile, u64);

impl DynamoProfileStore {
    /// A store on `table`, keeping profiles [`DEFAULT_PROFILE_TTL_DAYS`] after their
    /// last update.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            ttl_days: DEFAULT_PROFILE_TTL_DAYS,
            backoff: Backoff::default(),
        }
    }

    /// Keeps profiles `days` days after their last update.
    pub fn with_ttl_days(mut self, days: u32) -> Self {
        self.ttl_days = days;
        self
    }

    /// Backs off this way between retries of unprocessed keys and write conflicts.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn key(pk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
            ("sk".to_owned(), AttributeValue::S(SORT_KEY.to_owned())),
        ])
    }

    fn bad_item(&self, pk: &str, why: impl std::fmt::Display) -> PortError {
        PortError::non_retryable(format!(
            "profile {pk:?} in table {} is unreadable: {why}",
            self.table
        ))
    }

    /// The profile and version of an item (`None` for an item without a key).
    fn decode(
        &self,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<Option<(String, Versioned)>, PortError> {
        let Some(AttributeValue::S(pk)) = item.get("pk") else {
            return Ok(None);
        };
        let version = match item.get("version") {
            Some(AttributeValue::N(n)) => n.parse::<u64>().map_err(|e| self.bad_item(pk, e))?,
            _ => return Err(self.bad_item(pk, "no version")),
        };
        let profile = match item.get("profile") {
            Some(AttributeValue::S(json)) => {
                serde_json::from_str::<Profile>(json).map_err(|e| self.bad_item(pk, e))?
            }
            _ => return Err(self.bad_item(pk, "no profile")),
        };
        Ok(Some((pk.clone(), (profile, version))))
    }

    /// Reads the profiles of `keys` that exist, 100 keys a call.
    async fn batch_get(
        &self,
        keys: &[String],
        consistent: bool,
    ) -> Result<HashMap<String, Versioned>, PortError> {
        let mut unique: Vec<&String> = keys.iter().collect();
        unique.sort();
        unique.dedup();
        let items = crate::dynamo::batch_get_items(
            &self.client,
            &self.table,
            unique.iter().map(|k| Self::key(k)).collect(),
            "pk, profile, version",
            consistent,
            &self.backoff,
        )
        .await?;
        let mut out = HashMap::new();
        for item in &items {
            if let Some((pk, v)) = self.decode(item)? {
                out.insert(pk, v);
            }
        }
        Ok(out)
    }

    /// Reads one profile consistently (after a conflict).
    async fn get_one(&self, pk: &str) -> Result<Option<Versioned>, PortError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error(e, format_args!("GetItem on table {}", self.table)))?;
        match resp.item() {
            Some(item) => Ok(self.decode(item)?.map(|(_, v)| v)),
            None => Ok(None),
        }
    }

    /// Writes `profile` as the version after `read` (`None`: the item must not
    /// exist). `Ok(false)` when another writer changed the item since it was read.
    async fn put_if(
        &self,
        pk: &str,
        profile: &Profile,
        read: Option<u64>,
    ) -> Result<bool, PortError> {
        let json = serde_json::to_string(profile).map_err(|e| {
            PortError::non_retryable(format!("profile {pk:?} cannot be encoded")).with_source(e)
        })?;
        if json.len() > MAX_PROFILE_BYTES {
            return Err(PortError::non_retryable(format!(
                "profile {pk:?} is {} bytes, over the {MAX_PROFILE_BYTES}-byte limit",
                json.len()
            )));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let expires_at = now.saturating_add(i64::from(self.ttl_days) * 86_400);
        let mut item = Self::key(pk);
        item.insert("profile".into(), AttributeValue::S(json));
        item.insert(
            "version".into(),
            AttributeValue::N(read.map_or(1, |v| v + 1).to_string()),
        );
        item.insert(
            "events".into(),
            AttributeValue::N(profile.events.to_string()),
        );
        item.insert(
            "last_seen".into(),
            AttributeValue::S(trailhound_core::timefmt::format_rfc3339(profile.last_seen)),
        );
        item.insert(
            TTL_ATTRIBUTE.into(),
            AttributeValue::N(expires_at.to_string()),
        );
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let put = match read {
            Some(v) => put
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
            None => put.condition_expression("attribute_not_exists(pk)"),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(port_error(
                    e,
                    format_args!("PutItem profile on table {}", self.table),
                )),
            },
        }
    }

    /// Merges one update, re-reading and retrying while other writers conflict.
    async fn merge_one(
        &self,
        update: &ProfileUpdate,
        mut current: Option<Versioned>,
    ) -> Result<(), PortError> {
        let mut attempt = 0;
        loop {
            let (mut profile, read) = match current.take() {
                Some((p, v)) => (p, Some(v)),
                None => (Profile::default(), None),
            };
            let before = read.map(|_| profile.clone());
            profile.absorb(update);
            if before.as_ref() == Some(&profile) {
                // Already merged (a retried object): nothing to write.
                return Ok(());
            }
            if self.put_if(&update.key, &profile, read).await? {
                return Ok(());
            }
            attempt += 1;
            if attempt > self.backoff.retries {
                return Err(PortError::retryable(format!(
                    "profile {:?} on table {}: still conflicting after {} retries",
                    update.key, self.table, self.backoff.retries
                )));
            }
            tracing::debug!(table = %self.table, attempt, "profile changed by another writer; merging again");
            self.backoff.wait(attempt).await;
            current = self.get_one(&update.key).await?;
        }
    }
}

impl ProfileStore for DynamoProfileStore {
    async fn get_profiles(&self, keys: &[String]) -> Result<HashMap<String, Profile>, PortError> {
        Ok(self
            .batch_get(keys, false)
            .await?
            .into_iter()
            .map(|(k, (p, _))| (k, p))
            .collect())
    }

    async fn merge_profiles(&self, updates: &[ProfileUpdate]) -> Result<(), PortError> {
        let keys: Vec<String> = updates.iter().map(|u| u.key.clone()).collect();
        let mut current = self.batch_get(&keys, true).await?;
        for u in updates {
            let read = current.remove(&u.key);
            self.merge_one(u, read).await?;
        }
        Ok(())
    }
}

/// Creates a profiles table (on-demand, `pk`/`sk` strings, TTL on `expires_at`),
/// as `template.yaml` does, for emulators, tests and local demos.
pub async fn create_profiles_table(client: &Client, table: &str) -> Result<(), PortError> {
    crate::dynamo::table::create_keyed_table(client, table, false).await
}
