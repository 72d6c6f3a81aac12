//! The API catalogue of normal traffic: which calls each service sees, whether they
//! only read, and how often a person browsing that service makes each one.

use super::ids::{SimRng, pick_weighted};

/// One API operation as CloudTrail names it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Api {
    pub source: &'static str,
    pub name: &'static str,
    pub read_only: bool,
    /// Relative frequency when a person works in this service.
    pub weight: f64,
}

const fn api(source: &'static str, name: &'static str, read_only: bool, weight: f64) -> Api {
    Api {
        source,
        name,
        read_only,
        weight,
    }
}

const R: bool = true;
const W: bool = false;
pub(crate) const EC2: &str = "ec2.amazonaws.com";
pub(crate) const S3: &str = "s3.amazonaws.com";
pub(crate) const IAM: &str = "iam.amazonaws.com";
pub(crate) const STS: &str = "sts.amazonaws.com";
pub(crate) const KMS: &str = "kms.amazonaws.com";
pub(crate) const LOGS: &str = "logs.amazonaws.com";
pub(crate) const LAMBDA: &str = "lambda.amazonaws.com";
pub(crate) const DDB: &str = "dynamodb.amazonaws.com";
pub(crate) const SSM: &str = "ssm.amazonaws.com";
pub(crate) const SECRETS: &str = "secretsmanager.amazonaws.com";
pub(crate) const CW: &str = "monitoring.amazonaws.com";
pub(crate) const ELB: &str = "elasticloadbalancing.amazonaws.com";
pub(crate) const ASG: &str = "autoscaling.amazonaws.com";
pub(crate) const RDS: &str = "rds.amazonaws.com";
pub(crate) const ECR: &str = "ecr.amazonaws.com";
pub(crate) const ECS: &str = "ecs.amazonaws.com";
pub(crate) const TRAIL: &str = "cloudtrail.amazonaws.com";
pub(crate) const GD: &str = "guardduty.amazonaws.com";
pub(crate) const HUB: &str = "securityhub.amazonaws.com";
pub(crate) const CONFIG: &str = "config.amazonaws.com";
pub(crate) const R53: &str = "route53.amazonaws.com";
pub(crate) const CFN: &str = "cloudformation.amazonaws.com";
pub(crate) const ATHENA: &str = "athena.amazonaws.com";
pub(crate) const GLUE: &str = "glue.amazonaws.com";
pub(crate) const SQS: &str = "sqs.amazonaws.com";
pub(crate) const SNS: &str = "sns.amazonaws.com";
pub(crate) const TAGGING: &str = "tagging.amazonaws.com";
pub(crate) const ORGS: &str = "organizations.amazonaws.com";
pub(crate) const SIGNIN: &str = "signin.amazonaws.com";

/// Every operation normal traffic uses. Names are unique per service.
pub(crate) static APIS: &[Api] = &[
    api(EC2, "DescribeInstances", R, 10.0),
    api(EC2, "DescribeInstanceStatus", R, 4.0),
    api(EC2, "DescribeSecurityGroups", R, 4.0),
    api(EC2, "DescribeVolumes", R, 2.0),
    api(EC2, "DescribeSnapshots", R, 1.0),
    api(EC2, "DescribeVpcs", R, 2.0),
    api(EC2, "DescribeSubnets", R, 2.0),
    api(EC2, "DescribeImages", R, 1.0),
    api(EC2, "DescribeAddresses", R, 1.0),
    api(EC2, "DescribeNetworkInterfaces", R, 1.0),
    api(EC2, "DescribeRegions", R, 0.5),
    api(EC2, "DescribeAccountAttributes", R, 0.5),
    api(EC2, "CreateTags", W, 0.6),
    api(EC2, "StartInstances", W, 0.2),
    api(EC2, "StopInstances", W, 0.2),
    api(EC2, "RunInstances", W, 0.1),
    api(EC2, "TerminateInstances", W, 0.1),
    api(EC2, "CreateSnapshot", W, 0.1),
    api(EC2, "DeleteSnapshot", W, 0.1),
    api(EC2, "AuthorizeSecurityGroupIngress", W, 0.1),
    api(EC2, "ModifyInstanceAttribute", W, 0.1),
    api(S3, "ListBuckets", R, 4.0),
    api(S3, "GetBucketLocation", R, 3.0),
    api(S3, "GetBucketAcl", R, 1.5),
    api(S3, "GetBucketPolicy", R, 1.5),
    api(S3, "GetBucketVersioning", R, 1.0),
    api(S3, "GetBucketEncryption", R, 1.0),
    api(S3, "GetBucketPublicAccessBlock", R, 1.0),
    api(S3, "GetBucketTagging", R, 1.0),
    api(S3, "GetBucketLogging", R, 0.5),
    api(S3, "GetBucketPolicyStatus", R, 0.5),
    api(S3, "PutBucketTagging", W, 0.3),
    api(S3, "PutBucketPolicy", W, 0.05),
    api(S3, "PutLifecycleConfiguration", W, 0.1),
    api(IAM, "ListRoles", R, 3.0),
    api(IAM, "GetRole", R, 3.0),
    api(IAM, "ListUsers", R, 1.5),
    api(IAM, "GetUser", R, 1.0),
    api(IAM, "ListAttachedRolePolicies", R, 2.0),
    api(IAM, "ListRolePolicies", R, 1.0),
    api(IAM, "GetRolePolicy", R, 1.0),
    api(IAM, "ListPolicies", R, 1.0),
    api(IAM, "GetPolicy", R, 1.0),
    api(IAM, "GetPolicyVersion", R, 1.0),
    api(IAM, "ListAccessKeys", R, 0.5),
    api(IAM, "ListMFADevices", R, 0.3),
    api(IAM, "GetAccountSummary", R, 0.5),
    api(IAM, "ListGroups", R, 0.3),
    api(IAM, "ListInstanceProfiles", R, 0.3),
    api(IAM, "TagRole", W, 0.1),
    api(IAM, "AttachRolePolicy", W, 0.05),
    api(IAM, "PutRolePolicy", W, 0.05),
    api(STS, "GetCallerIdentity", R, 1.0),
    api(KMS, "ListAliases", R, 2.0),
    api(KMS, "DescribeKey", R, 2.0),
    api(KMS, "ListKeys", R, 1.0),
    api(KMS, "GetKeyPolicy", R, 0.5),
    api(KMS, "GetKeyRotationStatus", R, 0.5),
    api(KMS, "Decrypt", R, 0.5),
    api(KMS, "GenerateDataKey", R, 0.0),
    api(KMS, "Encrypt", R, 0.0),
    api(LOGS, "DescribeLogGroups", R, 4.0),
    api(LOGS, "DescribeLogStreams", R, 3.0),
    api(LOGS, "FilterLogEvents", R, 3.0),
    api(LOGS, "GetLogEvents", R, 3.0),
    api(LOGS, "StartQuery", R, 1.0),
    api(LOGS, "GetQueryResults", R, 2.0),
    api(LOGS, "DescribeMetricFilters", R, 0.5),
    api(LOGS, "CreateLogStream", W, 0.0),
    api(LOGS, "CreateLogGroup", W, 0.0),
    api(LOGS, "PutRetentionPolicy", W, 0.05),
    api(LAMBDA, "ListFunctions20150331", R, 3.0),
    api(LAMBDA, "GetFunction20150331v2", R, 4.0),
    api(LAMBDA, "GetFunctionConfiguration20150331v2", R, 2.0),
    api(LAMBDA, "ListEventSourceMappings20150331", R, 1.0),
    api(LAMBDA, "GetPolicy20150331v2", R, 1.0),
    api(LAMBDA, "ListVersionsByFunction20150331", R, 0.5),
    api(LAMBDA, "ListTags20170331", R, 0.5),
    api(LAMBDA, "UpdateFunctionConfiguration20150331v2", W, 0.2),
    api(LAMBDA, "UpdateFunctionCode20150331v2", W, 0.2),
    api(LAMBDA, "Invoke", R, 0.0),
    api(DDB, "DescribeTable", R, 4.0),
    api(DDB, "ListTables", R, 2.0),
    api(DDB, "DescribeContinuousBackups", R, 0.5),
    api(DDB, "DescribeTimeToLive", R, 0.5),
    api(DDB, "ListTagsOfResource", R, 0.5),
    api(DDB, "UpdateTable", W, 0.05),
    api(SSM, "GetParameter", R, 3.0),
    api(SSM, "GetParameters", R, 1.0),
    api(SSM, "GetParametersByPath", R, 1.0),
    api(SSM, "DescribeParameters", R, 2.0),
    api(SSM, "DescribeInstanceInformation", R, 1.0),
    api(SSM, "PutParameter", W, 0.2),
    api(SSM, "UpdateInstanceInformation", W, 0.0),
    api(SSM, "ListInstanceAssociations", R, 0.0),
    api(SECRETS, "ListSecrets", R, 2.0),
    api(SECRETS, "DescribeSecret", R, 2.0),
    api(SECRETS, "GetSecretValue", R, 1.0),
    api(SECRETS, "PutSecretValue", W, 0.0),
    api(CW, "GetMetricData", R, 4.0),
    api(CW, "DescribeAlarms", R, 3.0),
    api(CW, "ListMetrics", R, 2.0),
    api(CW, "GetMetricStatistics", R, 1.0),
    api(CW, "ListDashboards", R, 0.5),
    api(CW, "GetDashboard", R, 1.0),
    api(CW, "PutMetricAlarm", W, 0.1),
    api(ELB, "DescribeLoadBalancers", R, 2.0),
    api(ELB, "DescribeTargetGroups", R, 2.0),
    api(ELB, "DescribeTargetHealth", R, 2.0),
    api(ELB, "DescribeListeners", R, 1.0),
    api(ELB, "RegisterTargets", W, 0.0),
    api(ELB, "DeregisterTargets", W, 0.0),
    api(ASG, "DescribeAutoScalingGroups", R, 3.0),
    api(ASG, "DescribeScalingActivities", R, 1.0),
    api(ASG, "DescribeLaunchConfigurations", R, 0.5),
    api(ASG, "UpdateAutoScalingGroup", W, 0.1),
    api(RDS, "DescribeDBInstances", R, 3.0),
    api(RDS, "DescribeDBClusters", R, 1.0),
    api(RDS, "DescribeDBSnapshots", R, 1.0),
    api(RDS, "DescribeEvents", R, 0.5),
    api(RDS, "ListTagsForResource", R, 0.5),
    api(RDS, "CreateDBSnapshot", W, 0.05),
    api(ECR, "DescribeRepositories", R, 2.0),
    api(ECR, "DescribeImages", R, 2.0),
    api(ECR, "GetAuthorizationToken", R, 1.0),
    api(ECR, "BatchGetImage", R, 0.0),
    api(ECR, "PutImage", W, 0.0),
    api(ECS, "ListClusters", R, 1.0),
    api(ECS, "DescribeClusters", R, 1.0),
    api(ECS, "ListServices", R, 2.0),
    api(ECS, "DescribeServices", R, 3.0),
    api(ECS, "ListTasks", R, 2.0),
    api(ECS, "DescribeTasks", R, 2.0),
    api(ECS, "DescribeTaskDefinition", R, 1.0),
    api(ECS, "UpdateService", W, 0.2),
    api(ECS, "RegisterTaskDefinition", W, 0.0),
    api(TRAIL, "LookupEvents", R, 4.0),
    api(TRAIL, "DescribeTrails", R, 1.0),
    api(TRAIL, "GetTrailStatus", R, 1.0),
    api(TRAIL, "GetEventSelectors", R, 0.5),
    api(GD, "ListDetectors", R, 1.0),
    api(GD, "GetDetector", R, 0.5),
    api(GD, "ListFindings", R, 3.0),
    api(GD, "GetFindings", R, 3.0),
    api(GD, "GetFindingsStatistics", R, 1.0),
    api(HUB, "GetFindings", R, 4.0),
    api(HUB, "DescribeHub", R, 0.5),
    api(HUB, "GetEnabledStandards", R, 0.5),
    api(CONFIG, "DescribeConfigRules", R, 1.0),
    api(CONFIG, "DescribeComplianceByConfigRule", R, 2.0),
    api(CONFIG, "DescribeConfigurationRecorders", R, 0.5),
    api(CONFIG, "DescribeConfigurationRecorderStatus", R, 0.5),
    api(CONFIG, "PutEvaluations", W, 0.0),
    api(R53, "ListHostedZones", R, 2.0),
    api(R53, "ListResourceRecordSets", R, 2.0),
    api(R53, "GetHostedZone", R, 1.0),
    api(R53, "ChangeResourceRecordSets", W, 0.1),
    api(CFN, "DescribeStacks", R, 3.0),
    api(CFN, "ListStacks", R, 1.0),
    api(CFN, "DescribeStackEvents", R, 2.0),
    api(CFN, "GetTemplate", R, 0.5),
    api(ATHENA, "StartQueryExecution", W, 3.0),
    api(ATHENA, "GetQueryExecution", R, 6.0),
    api(ATHENA, "GetQueryResults", R, 3.0),
    api(ATHENA, "ListWorkGroups", R, 0.5),
    api(ATHENA, "ListDataCatalogs", R, 0.5),
    api(GLUE, "GetDatabases", R, 2.0),
    api(GLUE, "GetTables", R, 3.0),
    api(GLUE, "GetTable", R, 3.0),
    api(GLUE, "GetPartitions", R, 1.0),
    api(SQS, "ListQueues", R, 2.0),
    api(SQS, "GetQueueAttributes", R, 2.0),
    api(SNS, "ListTopics", R, 1.0),
    api(SNS, "GetTopicAttributes", R, 1.0),
    api(TAGGING, "GetResources", R, 1.0),
    api(ORGS, "DescribeOrganization", R, 1.0),
];

/// Index of `service:Name` (service without `.amazonaws.com`) in [`APIS`].
pub(crate) fn find(key: &str) -> Option<usize> {
    let (svc, name) = key.split_once(':')?;
    APIS.iter()
        .position(|a| a.name == name && a.source.strip_suffix(".amazonaws.com") == Some(svc))
}

/// Resolves a static mix of `service:Name` weights into catalogue indices, dropping
/// (and, in debug builds, flagging) names missing from the catalogue.
pub(crate) fn resolve(mix: &[(&str, f64)]) -> Vec<(usize, f64)> {
    mix.iter()
        .filter_map(|(k, w)| {
            let i = find(k);
            debug_assert!(i.is_some(), "unknown api {k}");
            i.map(|i| (i, *w))
        })
        .collect()
}

/// Draws one API from a resolved mix.
pub(crate) fn draw(rng: &mut SimRng, mix: &[(usize, f64)]) -> usize {
    let weights: Vec<f64> = mix.iter().map(|m| m.1).collect();
    mix.get(pick_weighted(rng, &weights)).map_or(0, |m| m.0)
}

/// Catalogue indices with relative weights.
pub(crate) type Mix = Vec<(usize, f64)>;

/// The operations of one service, split into reads and writes, with their weights.
pub(crate) fn service_mix(source: &str) -> (Mix, Mix) {
    let mut reads = Vec::new();
    let mut writes = Vec::new();
    for (i, a) in APIS.iter().enumerate() {
        if a.source == source && a.weight > 0.0 {
            if a.read_only {
                reads.push((i, a.weight));
            } else {
                writes.push((i, a.weight));
            }
        }
    }
    (reads, writes)
}

/// The service's short name, as the CLI and SDK user agents spell it.
pub(crate) fn short(source: &str) -> &str {
    source.strip_suffix(".amazonaws.com").unwrap_or(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_within_a_service() {
        for (i, a) in APIS.iter().enumerate() {
            for b in &APIS[i + 1..] {
                assert!(
                    !(a.source == b.source && a.name == b.name),
                    "{}:{}",
                    a.source,
                    a.name
                );
            }
        }
    }

    #[test]
    fn finds_by_service_and_name() {
        let i = find("lambda:GetFunction20150331v2");
        assert!(i.is_some());
        assert_eq!(i.map(|i| APIS[i].source), Some(LAMBDA));
        assert!(find("s3:Nope").is_none());
    }
}
