//! Deduplication claims on DynamoDB: one item per key and window,
//! `pk = DEDUP#<key>`, `sk = <window start, RFC 3339>`, holding the finding that
//! alerts (`first_finding_id`, set once with `if_not_exists`) and the string set of
//! every finding id that hit the window (`finding_ids`, grown with `ADD`, so a
//! retried finding is not counted twice). DynamoDB applies updates of one item one
//! after the other, so of two concurrent first claims exactly one sets the holder.
//!
//! The set is capped at [`DEDUP_SET_CAP`] ids (an item may not exceed 400 KB);
//! beyond, hits are added to a plain `overflow` counter, which a retry may count
//! twice. The holder's finding item gets `repeats` (set size − 1 + overflow), only
//! ever raised, so late or repeated updates never lower it.

use super::DynamoFindingStore;
use crate::error::port_error;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use trailhound_core::ports::{AlertClaim, ClaimHolder, PortError};

/// Finding ids kept per deduplication window before counting in `overflow`.
pub const DEDUP_SET_CAP: usize = 2000;
/// Finding ids added per `UpdateItem`.
const IDS_PER_UPDATE: usize = 500;

/// The key of a deduplication item.
pub(crate) fn dedup_key(key: &str, window_start: i64) -> [(String, AttributeValue); 2] {
    [
        ("pk".to_owned(), AttributeValue::S(format!("DEDUP#{key}"))),
        (
            "sk".to_owned(),
            AttributeValue::S(trailhound_core::timefmt::format_rfc3339(window_start)),
        ),
    ]
}

impl DynamoFindingStore {
    /// See [`trailhound_core::ports::FindingStore::claim_alert`].
    pub(crate) async fn claim(&self, claim: &AlertClaim<'_>) -> Result<ClaimHolder, PortError> {
        let Some(first) = claim.finding_ids.first() else {
            return Err(PortError::non_retryable("alert claim without findings"));
        };
        let (_, expires_at) = self.expires_at();
        let mut holder = None;
        for ids in claim.finding_ids.chunks(IDS_PER_UPDATE) {
            let out = match self.add_ids(claim, first, ids, expires_at).await {
                Ok(out) => out,
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(UpdateItemError::ConditionalCheckFailedException(_))
                    ) =>
                {
                    self.add_overflow(claim, ids.len()).await?
                }
                Err(e) => {
                    return Err(port_error(
                        e,
                        format_args!("UpdateItem dedup claim on table {}", self.table),
                    ));
                }
            };
            holder = Some(holder_of(&out).ok_or_else(|| {
                PortError::non_retryable(format!(
                    "dedup item {} on table {} has no first_finding_id",
                    claim.key, self.table
                ))
            })?);
        }
        let holder =
            holder.ok_or_else(|| PortError::non_retryable("alert claim without findings"))?;
        if holder.repeats > 0 {
            self.raise_repeats(&holder).await?;
        }
        Ok(holder)
    }

    async fn add_ids(
        &self,
        claim: &AlertClaim<'_>,
        first: &str,
        ids: &[String],
        expires_at: i64,
    ) -> Result<UpdateItemOutput, aws_sdk_dynamodb::error::SdkError<UpdateItemError>> {
        let [pk, sk] = dedup_key(claim.key, claim.window_start);
        self.client
            .update_item()
            .table_name(&self.table)
            .key(pk.0, pk.1)
            .key(sk.0, sk.1)
            .update_expression(
                "SET first_finding_id = if_not_exists(first_finding_id, :first), \
                 window_seconds = :w, expires_at = :exp ADD finding_ids :ids",
            )
            .condition_expression("attribute_not_exists(finding_ids) OR size(finding_ids) < :cap")
            .expression_attribute_values(":first", AttributeValue::S(first.to_owned()))
            .expression_attribute_values(":w", AttributeValue::N(claim.window_seconds.to_string()))
            .expression_attribute_values(":exp", AttributeValue::N(expires_at.to_string()))
            .expression_attribute_values(":ids", AttributeValue::Ss(ids.to_vec()))
            .expression_attribute_values(":cap", AttributeValue::N(DEDUP_SET_CAP.to_string()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
    }

    async fn add_overflow(
        &self,
        claim: &AlertClaim<'_>,
        n: usize,
    ) -> Result<UpdateItemOutput, PortError> {
        let [pk, sk] = dedup_key(claim.key, claim.window_start);
        self.client
            .update_item()
            .table_name(&self.table)
            .key(pk.0, pk.1)
            .key(sk.0, sk.1)
            .update_expression("ADD overflow :n")
            .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| {
                port_error(
                    e,
                    format_args!("UpdateItem dedup overflow on table {}", self.table),
                )
            })
    }

    /// Raises `repeats` on the holder's finding item, if it is stored yet (a holder
    /// claims before it is stored; its item is then written with the count).
    async fn raise_repeats(&self, holder: &ClaimHolder) -> Result<(), PortError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(super::item::finding_key(&holder.first_finding_id)))
            .update_expression("SET repeats = :r")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(repeats) OR repeats < :r)",
            )
            .expression_attribute_values(":r", AttributeValue::N(holder.repeats.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(port_error(
                e,
                format_args!("UpdateItem repeats on table {}", self.table),
            )),
        }
    }
}

fn holder_of(out: &UpdateItemOutput) -> Option<ClaimHolder> {
    let item = out.attributes()?;
    let first = match item.get("first_finding_id") {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => return None,
    };
    let set = match item.get("finding_ids") {
        Some(AttributeValue::Ss(ids)) => ids.len() as u64,
        _ => 0,
    };
    let overflow = match item.get("overflow") {
        Some(AttributeValue::N(n)) => n.parse::<u64>().unwrap_or(0),
        _ => 0,
    };
    Some(ClaimHolder {
        first_finding_id: first,
        repeats: (set + overflow).saturating_sub(1),
    })
}
