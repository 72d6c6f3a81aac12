//! The [`FindingStore`] on DynamoDB: one table, findings, object summaries and
//! deduplication claims (`dedup.rs`).
//!
//! Writes are idempotent and exact under concurrent writers: existing findings are
//! read first (consistent `BatchGetItem`, 100 keys a call), and only the missing
//! ones are written, with `attribute_not_exists(pk)` conditions in
//! `TransactWriteItems` of at most 100 puts. A condition that fails means another
//! writer stored the finding in between; its old item (returned with the
//! cancellation) says whether it was alerted. `BatchWriteItem` is not used for
//! findings because it cannot be conditional: two writers would both report `New`
//! and a late put could reset `alerted`. See `docs/aws.md`.

mod dedup;
pub mod item;
pub(crate) mod table;

pub use dedup::DEDUP_SET_CAP;

pub use item::{Item, ItemError, finding_from_item};
pub use table::{GSI_BY_SEVERITY_TIME, TTL_ATTRIBUTE, create_table};

use crate::error::port_error;
use crate::retry::Backoff;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use item::{alerted_of, finding_id_of, finding_item, finding_key, summary_item};
use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};
use trailhound_core::Finding;
use trailhound_core::ports::{
    AlertClaim, ClaimHolder, FindingStore, ObjectSummary, PortError, StoreOutcome,
};

/// Keys per `BatchGetItem` call (DynamoDB's limit).
pub const BATCH_GET_LIMIT: usize = 100;
/// Actions per `TransactWriteItems` call (DynamoDB's limit).
pub const TRANSACTION_LIMIT: usize = 100;
/// Default retention of findings and summaries.
pub const DEFAULT_TTL_DAYS: u32 = 90;

/// Findings and summaries in one DynamoDB table (design in `docs/aws.md`).
#[derive(Debug, Clone)]
pub struct DynamoFindingStore {
    client: Client,
    table: String,
    ttl_days: u32,
    backoff: Backoff,
}

/// One action of a transaction and the finding id it concerns.
struct Op {
    id: String,
    action: TransactWriteItem,
}

impl DynamoFindingStore {
    /// A store on `table`, keeping items for [`DEFAULT_TTL_DAYS`].
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            ttl_days: DEFAULT_TTL_DAYS,
            backoff: Backoff::default(),
        }
    }

    /// Keeps items for `days` days (the table's TTL attribute deletes them after).
    pub fn with_ttl_days(mut self, days: u32) -> Self {
        self.ttl_days = days;
        self
    }

    /// Backs off this way between retries of unprocessed keys and cancelled
    /// transactions.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Reads one finding back (consistent read): the finding and whether it was alerted.
    pub async fn get_finding(
        &self,
        finding_id: &str,
    ) -> Result<Option<(Finding, bool)>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(finding_key(finding_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error(e, format_args!("GetItem on table {}", self.table)))?;
        out.item()
            .map(|i| finding_from_item(i).map_err(|e| PortError::non_retryable(e.to_string())))
            .transpose()
    }

    fn expires_at(&self) -> (i64, i64) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        (now, now.saturating_add(i64::from(self.ttl_days) * 86_400))
    }

    /// Whether each finding id is stored, and if so whether it was alerted.
    async fn read_state(&self, ids: &[&str]) -> Result<HashMap<String, bool>, PortError> {
        let keys = ids.iter().map(|id| finding_key(id)).collect();
        let items = batch_get_items(
            &self.client,
            &self.table,
            keys,
            "pk, alerted",
            true,
            &self.backoff,
        )
        .await?;
        Ok(items
            .iter()
            .filter_map(|item| finding_id_of(item).map(|id| (id.to_owned(), alerted_of(item))))
            .collect())
    }

    /// Runs `ops` in transactions of at most [`TRANSACTION_LIMIT`] actions. Returns the
    /// ops whose condition failed, with the old item when DynamoDB returned it; the
    /// others were applied. Cancellations from throttling or conflicts are retried.
    async fn transact(&self, ops: Vec<Op>) -> Result<Vec<(String, Option<Item>)>, PortError> {
        let mut failed = Vec::new();
        let mut ops = ops.into_iter().peekable();
        while ops.peek().is_some() {
            let mut pending: Vec<Op> = ops.by_ref().take(TRANSACTION_LIMIT).collect();
            let mut attempt = 0;
            while !pending.is_empty() {
                let actions = pending.iter().map(|o| o.action.clone()).collect();
                let err = match self
                    .client
                    .transact_write_items()
                    .set_transact_items(Some(actions))
                    .send()
                    .await
                {
                    Ok(_) => break,
                    Err(e) => e,
                };
                let reasons = match err.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c))
                        if c.cancellation_reasons().len() == pending.len() =>
                    {
                        c.cancellation_reasons().to_vec()
                    }
                    _ => {
                        return Err(port_error(
                            err,
                            format_args!("TransactWriteItems on table {}", self.table),
                        ));
                    }
                };
                let (mut transient, before) = (false, pending.len());
                let mut next = Vec::with_capacity(pending.len());
                for (op, reason) in pending.into_iter().zip(reasons) {
                    match reason.code() {
                        Some("ConditionalCheckFailed") => {
                            failed.push((op.id, reason.item().cloned()))
                        }
                        None | Some("None") => next.push(op),
                        Some(
                            "TransactionConflict"
                            | "ThrottlingError"
                            | "ProvisionedThroughputExceeded",
                        ) => {
                            transient = true;
                            next.push(op);
                        }
                        Some(code) => {
                            return Err(PortError::non_retryable(format!(
                                "TransactWriteItems on table {}: {code}",
                                self.table
                            )));
                        }
                    }
                }
                pending = next;
                if transient || pending.len() == before {
                    attempt += 1;
                    if attempt > self.backoff.retries {
                        return Err(PortError::retryable(format!(
                            "TransactWriteItems on table {}: still cancelled after {} retries",
                            self.table, self.backoff.retries
                        )));
                    }
                    self.backoff.wait(attempt).await;
                }
            }
        }
        Ok(failed)
    }

    fn put_op(&self, f: &Finding, expires_at: i64) -> Result<Op, PortError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(finding_item(f, expires_at)))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| {
                PortError::non_retryable(format!("Put on table {}", self.table)).with_source(e)
            })?;
        Ok(Op {
            id: f.finding_id.clone(),
            action: TransactWriteItem::builder().put(put).build(),
        })
    }

    fn mark_op(&self, id: &str) -> Result<Op, PortError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(finding_key(id)))
            .update_expression("SET alerted = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .build()
            .map_err(|e| {
                PortError::non_retryable(format!("Update on table {}", self.table)).with_source(e)
            })?;
        Ok(Op {
            id: id.to_owned(),
            action: TransactWriteItem::builder().update(update).build(),
        })
    }
}

impl FindingStore for DynamoFindingStore {
    async fn put_findings(&self, findings: &[Finding]) -> Result<Vec<StoreOutcome>, PortError> {
        // The same event can appear twice in one file; a transaction may not touch
        // an item twice, so each id is handled once, at its first position.
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (i, f) in findings.iter().enumerate() {
            first.entry(f.finding_id.as_str()).or_insert(i);
        }
        let ids: Vec<&str> = findings
            .iter()
            .enumerate()
            .filter(|(i, f)| first.get(f.finding_id.as_str()) == Some(i))
            .map(|(_, f)| f.finding_id.as_str())
            .collect();
        let mut known = self.read_state(&ids).await?;
        let (_, expires_at) = self.expires_at();
        let ops = findings
            .iter()
            .enumerate()
            .filter(|(i, f)| {
                first.get(f.finding_id.as_str()) == Some(i) && !known.contains_key(&f.finding_id)
            })
            .map(|(_, f)| self.put_op(f, expires_at))
            .collect::<Result<Vec<_>, _>>()?;
        let mut written: HashSet<String> = ops.iter().map(|o| o.id.clone()).collect();
        let mut reread = Vec::new();
        for (id, old) in self.transact(ops).await? {
            written.remove(&id);
            match old {
                Some(item) => {
                    known.insert(id, alerted_of(&item));
                }
                None => reread.push(id),
            }
        }
        let reread: Vec<&str> = reread.iter().map(String::as_str).collect();
        known.extend(self.read_state(&reread).await?);
        Ok(findings
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if first.get(f.finding_id.as_str()) != Some(&i) {
                    // A repeat within this batch: its first occurrence carries the alert.
                    StoreOutcome::Alerted
                } else if written.contains(&f.finding_id) {
                    StoreOutcome::New
                } else if known.get(&f.finding_id) == Some(&true) {
                    StoreOutcome::Alerted
                } else {
                    StoreOutcome::Unalerted
                }
            })
            .collect())
    }

    async fn mark_alerted(&self, finding_ids: &[String]) -> Result<(), PortError> {
        let mut seen = HashSet::new();
        let ops = finding_ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .map(|id| self.mark_op(id))
            .collect::<Result<Vec<_>, _>>()?;
        let missing = self.transact(ops).await?;
        if !missing.is_empty() {
            tracing::warn!(table = %self.table, missing = missing.len(), "alerted findings no longer in the table");
        }
        Ok(())
    }

    async fn put_summary(&self, summary: &ObjectSummary) -> Result<(), PortError> {
        let (now, expires_at) = self.expires_at();
        let processed_at = trailhound_core::timefmt::format_rfc3339(now);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(summary_item(summary, &processed_at, expires_at)))
            .send()
            .await
            .map_err(|e| {
                port_error(
                    e,
                    format_args!(
                        "PutItem summary of {} on table {}",
                        summary.object, self.table
                    ),
                )
            })?;
        Ok(())
    }

    async fn claim_alert(&self, claim: &AlertClaim<'_>) -> Result<ClaimHolder, PortError> {
        self.claim(claim).await
    }
}

/// Reads `keys` with BatchGetItem, 100 keys a call, and returns the items that
/// exist. Keys DynamoDB leaves unprocessed (throttling) are asked again after a
/// backoff; still unprocessed after the last retry is a retryable error.
pub(crate) async fn batch_get_items(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    projection: &str,
    consistent: bool,
    backoff: &Backoff,
) -> Result<Vec<Item>, PortError> {
    let mut found = Vec::new();
    let mut keys = keys.into_iter().peekable();
    while keys.peek().is_some() {
        let chunk: Vec<Item> = keys.by_ref().take(BATCH_GET_LIMIT).collect();
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(chunk))
            .projection_expression(projection)
            .consistent_read(consistent)
            .build()
            .map_err(|e| {
                PortError::non_retryable(format!("BatchGetItem on table {table}")).with_source(e)
            })?;
        let mut attempt = 0;
        loop {
            let out = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| port_error(e, format_args!("BatchGetItem on table {table}")))?;
            found.extend(
                out.responses()
                    .and_then(|r| r.get(table))
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
            match out.unprocessed_keys().and_then(|u| u.get(table)) {
                Some(rest) if !rest.keys().is_empty() => {
                    attempt += 1;
                    if attempt > backoff.retries {
                        return Err(PortError::retryable(format!(
                            "BatchGetItem on table {table}: {} keys still unprocessed after {} retries",
                            rest.keys().len(),
                            backoff.retries
                        )));
                    }
                    request = rest.clone();
                    backoff.wait(attempt).await;
                }
                _ => break,
            }
        }
    }
    Ok(found)
}
