//! Client fingerprints (user agents and address ranges) and the call mixes of the
//! machine principals. `{cmd}` and `{svc}` in a user agent are filled per call, as
//! the AWS CLI and SDKs name the command or service they run.

use super::catalog::short;
use super::ids::SimRng;
use rand::Rng;
use std::borrow::Cow;

/// First octets of AWS-owned public ranges (Lambda, NAT gateways, vendors on AWS).
pub(crate) const AWS_IPS: &[u8] = &[3, 18, 34, 35, 44, 52, 54];

const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.3; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36",
];

const CLIS: &[&str] = &[
    "aws-cli/2.15.21 Python/3.11.6 Darwin/23.3.0 exe/x86_64 prompt/off command/{cmd}",
    "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/arm64 prompt/off command/{cmd}",
    "aws-cli/2.13.25 Python/3.11.5 Linux/6.5.0-21-generic exe/x86_64.ubuntu.22 prompt/off command/{cmd}",
    "aws-cli/2.15.17 Python/3.11.6 Windows/10 exe/AMD64 prompt/off command/{cmd}",
];

/// A person's browser.
pub(crate) fn browser(rng: &mut SimRng) -> &'static str {
    BROWSERS[rng.random_range(0..BROWSERS.len())]
}

/// A person's AWS CLI.
pub(crate) fn cli(rng: &mut SimRng) -> &'static str {
    CLIS[rng.random_range(0..CLIS.len())]
}

pub(crate) const GO_SDK: &str =
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/{svc}#1.28.1";
pub(crate) const JAVA_SDK: &str = "aws-sdk-java/2.24.12 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy";
pub(crate) const NODE_LAMBDA: &str = "aws-sdk-js/3.523.0 ua/2.0 os/linux#5.10.209-226.859.amzn2.x86_64 lang/js md/nodejs#20.11.1 exec-env/AWS_Lambda_nodejs20.x api/{svc}#3.523.0";
pub(crate) const PY_LAMBDA: &str = "Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.209-226.859.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.42";
pub(crate) const SSM_AGENT: &str =
    "aws-sdk-go/1.44.260 (go1.20.12; linux; amd64) amazon-ssm-agent/3.2.2303.0";
pub(crate) const VENDOR: &str =
    "aws-sdk-go/1.50.8 (go1.21.6; linux; amd64) datadog-aws-integration/1.0";
pub(crate) const TERRAFORM: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.39.1 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/{svc}#1.150.0";
pub(crate) const CODEBUILD: &str = "aws-cli/2.15.10 Python/3.11.6 Linux/4.14.336-255.557.amzn2.x86_64 exec-env/AWS_ECS_EC2 exe/x86_64.amzn.2 prompt/off command/{cmd}";
pub(crate) const PORTAL: &str = "aws-sdk-java/1.12.650 Linux/5.15.0-1055-aws OpenJDK_64-Bit_Server_VM/11.0.22+7 java/11.0.22 vendor/Eclipse_Adoptium cfg/retry-mode/standard";
pub(crate) const PY_SCRIPT: &str = "Boto3/1.34.50 md/Botocore#1.34.50 ua/2.0 os/linux#6.1.77-99.164.amzn2023.x86_64 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.50";
pub(crate) const OLD_CLI: &str =
    "aws-cli/1.32.40 Python/3.9.18 Linux/4.18.0-513.11.1.el8_9.x86_64 botocore/1.34.40";
pub(crate) const LAMBDA_WORKER: &str = "awslambda-worker/1.0 rusoto/0.48.0 rust/1.75.0 linux";

/// Clients attackers use: scripting libraries, old or pentest-distro SDKs.
pub(crate) const ODD_AGENTS: &[&str] = &[
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Boto3/1.26.0 Python/3.11.4 Linux/6.5.0-kali3-amd64 Botocore/1.29.0",
    "aws-cli/1.18.69 Python/3.8.10 Linux/5.15.0-kali3-amd64 botocore/1.17.11",
    "Boto3/1.9.201 Python/3.7.3 Linux/5.10.0-parrot1-amd64 Botocore/1.12.201 Pacu/1.5.2",
    "aws-sdk-go/1.44.0 (go1.19; linux; amd64)",
    "Go-http-client/1.1",
];

/// Fills `{cmd}` (CLI command, `ec2.describe-instances`) and `{svc}` (SDK api id).
pub(crate) fn fill<'a>(ua: &'a str, source: &str, name: &str) -> Cow<'a, str> {
    if !ua.contains('{') {
        return Cow::Borrowed(ua);
    }
    let svc = short(source);
    let mut cmd = String::with_capacity(name.len() + 8);
    for (i, c) in name
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == 'v')
        .chars()
        .enumerate()
    {
        if c.is_ascii_uppercase() && i > 0 {
            cmd.push('-');
        }
        cmd.push(c.to_ascii_lowercase());
    }
    Cow::Owned(
        ua.replace("{cmd}", &format!("{svc}.{cmd}"))
            .replace("{svc}", svc),
    )
}

/// An ECS API service task: secrets and keys through VPC endpoints.
pub(crate) const MIX_API: &[(&str, f64)] = &[
    ("kms:Decrypt", 30.0),
    ("kms:GenerateDataKey", 15.0),
    ("secretsmanager:GetSecretValue", 6.0),
    ("ssm:GetParameter", 8.0),
    ("ssm:GetParameters", 2.0),
    ("dynamodb:DescribeTable", 6.0),
    ("sts:GetCallerIdentity", 1.0),
    ("sqs:GetQueueAttributes", 3.0),
];
/// A queue worker writing exports to the data bucket.
pub(crate) const MIX_WORKER: &[(&str, f64)] = &[
    ("kms:Decrypt", 20.0),
    ("kms:GenerateDataKey", 20.0),
    ("ssm:GetParameter", 5.0),
    ("secretsmanager:GetSecretValue", 3.0),
    ("dynamodb:DescribeTable", 3.0),
    ("sqs:GetQueueAttributes", 6.0),
];
/// The orders Lambda function.
pub(crate) const MIX_ORDERS: &[(&str, f64)] = &[
    ("kms:Decrypt", 25.0),
    ("dynamodb:DescribeTable", 5.0),
    ("ssm:GetParameter", 10.0),
    ("secretsmanager:GetSecretValue", 10.0),
    ("logs:CreateLogStream", 8.0),
    ("kms:GenerateDataKey", 5.0),
];
/// The reports Lambda function (Athena and Glue).
pub(crate) const MIX_REPORTS: &[(&str, f64)] = &[
    ("athena:StartQueryExecution", 4.0),
    ("athena:GetQueryExecution", 12.0),
    ("athena:GetQueryResults", 4.0),
    ("glue:GetTable", 4.0),
    ("kms:Decrypt", 6.0),
    ("logs:CreateLogStream", 3.0),
];
/// The monitoring vendor's poll of metrics and inventory.
pub(crate) const MIX_MONITOR: &[(&str, f64)] = &[
    ("monitoring:GetMetricData", 25.0),
    ("monitoring:ListMetrics", 10.0),
    ("tagging:GetResources", 15.0),
    ("ec2:DescribeInstances", 8.0),
    ("ec2:DescribeVolumes", 3.0),
    ("rds:DescribeDBInstances", 4.0),
    ("elasticloadbalancing:DescribeLoadBalancers", 3.0),
    ("elasticloadbalancing:DescribeTargetHealth", 3.0),
    ("lambda:ListFunctions20150331", 4.0),
    ("lambda:ListTags20170331", 3.0),
    ("dynamodb:ListTables", 2.0),
    ("dynamodb:DescribeTable", 3.0),
    ("sqs:ListQueues", 2.0),
    ("sqs:GetQueueAttributes", 3.0),
    ("ecs:ListClusters", 2.0),
    ("ecs:DescribeServices", 2.0),
    ("autoscaling:DescribeAutoScalingGroups", 2.0),
    ("s3:ListBuckets", 1.0),
    ("s3:GetBucketLocation", 2.0),
    ("sns:ListTopics", 1.0),
    ("monitoring:DescribeAlarms", 2.0),
];
/// What Terraform refreshes before a plan.
pub(crate) const MIX_TERRAFORM: &[(&str, f64)] = &[
    ("ec2:DescribeInstances", 4.0),
    ("ec2:DescribeSecurityGroups", 6.0),
    ("ec2:DescribeVpcs", 3.0),
    ("ec2:DescribeSubnets", 4.0),
    ("ec2:DescribeImages", 1.0),
    ("ec2:DescribeNetworkInterfaces", 1.0),
    ("iam:GetRole", 8.0),
    ("iam:ListAttachedRolePolicies", 5.0),
    ("iam:ListRolePolicies", 4.0),
    ("iam:GetRolePolicy", 3.0),
    ("iam:GetPolicy", 3.0),
    ("iam:GetPolicyVersion", 3.0),
    ("s3:GetBucketPolicy", 3.0),
    ("s3:GetBucketAcl", 3.0),
    ("s3:GetBucketVersioning", 3.0),
    ("s3:GetBucketEncryption", 2.0),
    ("s3:GetBucketTagging", 2.0),
    ("s3:GetBucketLogging", 2.0),
    ("s3:GetBucketPublicAccessBlock", 2.0),
    ("lambda:GetFunction20150331v2", 4.0),
    ("lambda:GetPolicy20150331v2", 2.0),
    ("lambda:ListVersionsByFunction20150331", 2.0),
    ("kms:DescribeKey", 3.0),
    ("kms:GetKeyPolicy", 2.0),
    ("kms:GetKeyRotationStatus", 2.0),
    ("logs:DescribeLogGroups", 3.0),
    ("dynamodb:DescribeTable", 3.0),
    ("dynamodb:DescribeContinuousBackups", 2.0),
    ("dynamodb:DescribeTimeToLive", 2.0),
    ("rds:DescribeDBInstances", 2.0),
    ("route53:GetHostedZone", 1.0),
    ("route53:ListResourceRecordSets", 2.0),
    ("sqs:GetQueueAttributes", 2.0),
    ("sns:GetTopicAttributes", 2.0),
    ("monitoring:DescribeAlarms", 2.0),
    ("ssm:GetParameter", 2.0),
    ("ecs:DescribeServices", 1.0),
    ("ecs:DescribeTaskDefinition", 1.0),
    ("elasticloadbalancing:DescribeTargetGroups", 1.0),
];
/// AWS Config's configuration-item reads.
pub(crate) const MIX_CONFIG: &[(&str, f64)] = &[
    ("ec2:DescribeInstances", 4.0),
    ("ec2:DescribeSecurityGroups", 4.0),
    ("ec2:DescribeVolumes", 3.0),
    ("ec2:DescribeVpcs", 1.0),
    ("ec2:DescribeSubnets", 1.0),
    ("ec2:DescribeNetworkInterfaces", 3.0),
    ("s3:GetBucketAcl", 4.0),
    ("s3:GetBucketPolicy", 3.0),
    ("s3:GetBucketVersioning", 2.0),
    ("s3:GetBucketEncryption", 2.0),
    ("s3:GetBucketPublicAccessBlock", 2.0),
    ("s3:GetBucketTagging", 2.0),
    ("s3:GetBucketLogging", 2.0),
    ("iam:GetRole", 2.0),
    ("iam:ListAttachedRolePolicies", 2.0),
    ("iam:ListRolePolicies", 1.0),
    ("iam:GetPolicy", 1.0),
    ("lambda:GetFunction20150331v2", 2.0),
    ("lambda:GetPolicy20150331v2", 1.0),
    ("kms:DescribeKey", 1.0),
    ("kms:GetKeyRotationStatus", 1.0),
    ("rds:DescribeDBInstances", 1.0),
    ("dynamodb:DescribeTable", 1.0),
];
/// Trusted Advisor's periodic checks.
pub(crate) const MIX_ADVISOR: &[(&str, f64)] = &[
    ("ec2:DescribeInstances", 3.0),
    ("ec2:DescribeVolumes", 2.0),
    ("ec2:DescribeSecurityGroups", 3.0),
    ("ec2:DescribeAddresses", 1.0),
    ("iam:GetAccountSummary", 1.0),
    ("iam:ListUsers", 1.0),
    ("iam:ListAccessKeys", 1.0),
    ("s3:ListBuckets", 1.0),
    ("s3:GetBucketAcl", 2.0),
    ("s3:GetBucketPolicy", 2.0),
    ("rds:DescribeDBInstances", 1.0),
    ("elasticloadbalancing:DescribeLoadBalancers", 1.0),
    ("cloudtrail:DescribeTrails", 0.5),
    ("cloudtrail:GetTrailStatus", 0.5),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_cli_command_and_sdk_service() {
        let ua = fill(
            "aws-cli/2 command/{cmd}",
            "ec2.amazonaws.com",
            "DescribeInstances",
        );
        assert_eq!(ua, "aws-cli/2 command/ec2.describe-instances");
        let ua = fill(
            "sdk api/{svc}#1",
            "lambda.amazonaws.com",
            "GetFunction20150331v2",
        );
        assert_eq!(ua, "sdk api/lambda#1");
        assert!(matches!(
            fill("plain", "s3.amazonaws.com", "GetObject"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn every_mix_names_catalogue_calls() {
        for mix in [
            MIX_API,
            MIX_WORKER,
            MIX_ORDERS,
            MIX_REPORTS,
            MIX_MONITOR,
            MIX_TERRAFORM,
            MIX_CONFIG,
            MIX_ADVISOR,
        ] {
            for (k, _) in mix {
                assert!(super::super::catalog::find(k).is_some(), "{k}");
            }
        }
    }
}
