//! Adapters of the core ports on the AWS SDK (S3, DynamoDB, SNS).
