//! The findings table's definition in code, for emulators, tests and local demos.
//! Deployed tables come from `template.yaml`; both follow `docs/aws.md`.

use crate::error::port_error;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use trailhound_core::ports::PortError;

/// The GSI listing findings by severity (`gsi1pk`, upper case) and time (`gsi1sk`).
pub const GSI_BY_SEVERITY_TIME: &str = "by-severity-time";
/// The TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// Creates the findings table (on-demand, with its GSI and TTL) and waits until
/// it can be used.
pub async fn create_table(client: &Client, table: &str) -> Result<(), PortError> {
    create_keyed_table(client, table, true).await
}

/// Creates an on-demand table keyed by `pk`/`sk` strings with TTL on
/// [`TTL_ATTRIBUTE`], with the `by-severity-time` GSI when `severity_index`, and
/// waits until it can be used: the findings table and the profiles table.
pub(crate) async fn create_keyed_table(
    client: &Client,
    table: &str,
    severity_index: bool,
) -> Result<(), PortError> {
    let build = |e: aws_sdk_dynamodb::error::BuildError| {
        PortError::non_retryable(format!("CreateTable {table}")).with_source(e)
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(build)
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(build)
    };
    let gsi = GlobalSecondaryIndex::builder()
        .index_name(GSI_BY_SEVERITY_TIME)
        .key_schema(key("gsi1pk", KeyType::Hash)?)
        .key_schema(key("gsi1sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(build)?;
    let mut create = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?);
    if severity_index {
        create = create
            .attribute_definitions(attr("gsi1pk")?)
            .attribute_definitions(attr("gsi1sk")?)
            .global_secondary_indexes(gsi);
    }
    create
        .send()
        .await
        .map_err(|e| port_error(e, format_args!("CreateTable {table}")))?;
    for _ in 0..100 {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| port_error(e, format_args!("DescribeTable {table}")))?;
        let active = out
            .table()
            .and_then(|t| t.table_status())
            .is_some_and(|s| s.as_str() == "ACTIVE");
        if active {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name(TTL_ATTRIBUTE)
        .enabled(true)
        .build()
        .map_err(build)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| port_error(e, format_args!("UpdateTimeToLive {table}")))?;
    Ok(())
}
