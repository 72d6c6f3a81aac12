//! Request parameters, response elements and resources for catalogue calls, shaped
//! like the real ones (CloudTrail logs request parameters of every call and response
//! elements only of calls that change something).

use super::catalog::{APIS, Api, short};
use super::ids::{SimRng, hex, lower, uuid4};
use super::record::Call;
use super::timefmt::{console_date, iso};
use super::world::{World, one};
use rand::Rng;
use serde_json::{Value, json};

/// Builds the call for catalogue entry `api` made at `t` in `region`.
pub(crate) fn build(w: &World, region: &str, api: usize, t: i64, rng: &mut SimRng) -> Call {
    let Some(a) = APIS.get(api) else {
        return Call::new(super::catalog::STS, "GetCallerIdentity", true, Value::Null);
    };
    let params = params(w, region, a, t, rng);
    let response = if a.read_only {
        Value::Null
    } else {
        response(w, region, a, &params, t, rng)
    };
    let mut call = Call::new(a.source, a.name, a.read_only, params).respond(response);
    if let Some(r) = resources(w, region, a, &call.params) {
        call = call.resources(r);
    }
    match standing_failure(a, &call.params) {
        Some((code, msg)) => call.fail(code, msg),
        None => call,
    }
}

/// Failures that are facts about the account, not accidents: a bucket without a
/// policy answers `NoSuchBucketPolicy` to everyone, every time.
fn standing_failure(a: &Api, params: &Value) -> Option<(&'static str, String)> {
    let name_of = |k: &str| params.get(k).and_then(Value::as_str).unwrap_or_default();
    let fnv = |s: &str| {
        s.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        })
    };
    match (short(a.source), a.name) {
        ("s3", "GetBucketPolicy") if fnv(name_of("bucketName")) % 5 < 3 => Some((
            "NoSuchBucketPolicy",
            "The bucket policy does not exist".to_owned(),
        )),
        ("s3", "GetBucketTagging") if fnv(name_of("bucketName")) % 4 == 0 => {
            Some(("NoSuchTagSet", "The TagSet does not exist".to_owned()))
        }
        ("lambda", "GetPolicy20150331v2") if fnv(name_of("functionName")) % 2 == 0 => Some((
            "ResourceNotFoundException",
            "The resource you requested does not exist.".to_owned(),
        )),
        ("iam", "GetRolePolicy") if fnv(name_of("roleName")) % 3 == 0 => Some((
            "NoSuchEntity",
            "The role policy with name inline-access cannot be found.".to_owned(),
        )),
        _ => None,
    }
}

fn s3_params(bucket: &str, region: &str, sub: Option<&str>) -> Value {
    let mut v =
        json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com")});
    if let (Some(sub), Some(m)) = (sub, v.as_object_mut()) {
        m.insert(sub.to_owned(), json!(""));
    }
    v
}

fn ec2_set(key: &str, id_key: &str, ids: &[&str]) -> Value {
    let items: Vec<Value> = ids.iter().map(|i| json!({ id_key: i })).collect();
    json!({ key: {"items": items} })
}

/// Request parameters of a catalogue call.
fn params(w: &World, region: &str, a: &Api, t: i64, rng: &mut SimRng) -> Value {
    let r = &w.res;
    let acct = &w.account;
    let instance = r
        .instances
        .get(rng.random_range(0..r.instances.len().max(1)))
        .map_or_else(String::new, |i| i.id.clone());
    match (short(a.source), a.name) {
        ("ec2", "DescribeInstances") => match rng.random_range(0..3) {
            0 => json!({"instancesSet": {"items": [{"instanceId": instance}]}, "filterSet": {}}),
            1 => {
                json!({"instancesSet": {}, "filterSet": {"items": [{"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}}]}})
            }
            _ => json!({"maxResults": 1000, "instancesSet": {}, "filterSet": {}}),
        },
        ("ec2", "DescribeInstanceStatus") => {
            json!({"instancesSet": {}, "filterSet": {}, "includeAllInstances": false})
        }
        ("ec2", "DescribeSecurityGroups") => {
            json!({"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}})
        }
        ("ec2", "DescribeVolumes") => json!({"volumeSet": {}, "filterSet": {}}),
        ("ec2", "DescribeSnapshots") => {
            json!({"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "sharedUsersSet": {}, "filterSet": {}})
        }
        ("ec2", "DescribeVpcs") => json!({"vpcSet": {}, "filterSet": {}}),
        ("ec2", "DescribeSubnets") => {
            json!({"subnetSet": {}, "filterSet": {"items": [{"name": "vpc-id", "valueSet": {"items": [{"value": one(rng, &r.vpcs)}]}}]}})
        }
        ("ec2", "DescribeImages") => {
            json!({"executableBySet": {}, "imagesSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}})
        }
        ("ec2", "DescribeAddresses") | ("ec2", "DescribeNetworkInterfaces") => {
            json!({"filterSet": {}})
        }
        ("ec2", "DescribeRegions") => json!({"regionSet": {}}),
        ("ec2", "DescribeAccountAttributes") => {
            json!({"accountAttributeNameSet": {"items": [{"attributeName": "supported-platforms"}]}, "filterSet": {}})
        }
        ("ec2", "CreateTags") => {
            json!({"resourcesSet": {"items": [{"resourceId": instance}]}, "tagSet": {"items": [{"key": "Owner", "value": "platform"}, {"key": "CostCenter", "value": format!("cc-{}", rng.random_range(100..140))}]}})
        }
        ("ec2", "StartInstances") | ("ec2", "StopInstances") | ("ec2", "TerminateInstances") => {
            ec2_set("instancesSet", "instanceId", &[&instance])
        }
        ("ec2", "RunInstances") => json!({
            "instancesSet": {"items": [{"imageId": one(rng, &r.amis), "minCount": 1, "maxCount": 1}]},
            "instanceType": (["t3.medium", "m6i.large", "c6i.xlarge"][rng.random_range(0..3)]),
            "blockDeviceMapping": {}, "monitoring": {"enabled": false}, "disableApiTermination": false,
            "disableApiStop": false, "clientToken": uuid4(rng), "subnetId": one(rng, &r.subnets),
            "launchTemplate": {"launchTemplateId": format!("lt-0{}", hex(rng, 16)), "version": "$Latest"},
        }),
        ("ec2", "CreateSnapshot") => {
            json!({"volumeId": one(rng, &r.volumes), "description": "nightly backup", "tagSpecificationSet": {"items": [{"resourceType": "snapshot", "tags": [{"key": "backup", "value": "nightly"}]}]}})
        }
        ("ec2", "DeleteSnapshot") => json!({"snapshotId": one(rng, &r.snapshots)}),
        ("ec2", "AuthorizeSecurityGroupIngress") => {
            json!({"groupId": one(rng, &r.security_groups), "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "groups": {}, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/16", "description": "app subnets"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}})
        }
        ("ec2", "ModifyInstanceAttribute") => {
            json!({"instanceId": instance, "instanceType": {"value": "m6i.large"}})
        }
        ("s3", "ListBuckets") => json!({"Host": format!("s3.{region}.amazonaws.com")}),
        ("s3", name) => {
            let sub = match name {
                "GetBucketAcl" | "PutBucketAcl" => Some("acl"),
                "GetBucketPolicy" | "PutBucketPolicy" => Some("policy"),
                "GetBucketVersioning" => Some("versioning"),
                "GetBucketEncryption" => Some("encryption"),
                "GetBucketPublicAccessBlock" => Some("publicAccessBlock"),
                "GetBucketTagging" | "PutBucketTagging" => Some("tagging"),
                "GetBucketLogging" => Some("logging"),
                "GetBucketPolicyStatus" => Some("policyStatus"),
                "PutLifecycleConfiguration" => Some("lifecycle"),
                "GetBucketLocation" => Some("location"),
                _ => None,
            };
            s3_params(r.any_bucket(rng), region, sub)
        }
        ("iam", "GetRole")
        | ("iam", "ListAttachedRolePolicies")
        | ("iam", "ListRolePolicies")
        | ("iam", "TagRole") => json!({"roleName": one(rng, &r.roles)}),
        ("iam", "GetRolePolicy") => {
            json!({"roleName": one(rng, &r.roles), "policyName": "inline-access"})
        }
        ("iam", "AttachRolePolicy") => {
            json!({"roleName": one(rng, &r.roles), "policyArn": "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"})
        }
        ("iam", "PutRolePolicy") => {
            json!({"roleName": one(rng, &r.roles), "policyName": "inline-access", "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":\"*\"}]}"})
        }
        ("iam", "GetUser") | ("iam", "ListAccessKeys") | ("iam", "ListMFADevices") => {
            let users: Vec<String> = w
                .principals
                .iter()
                .filter_map(|p| p.iam_user.clone())
                .collect();
            json!({"userName": one(rng, &users)})
        }
        ("iam", "GetPolicy") => {
            json!({"policyArn": format!("arn:aws:iam::{acct}:policy/{}", ["app-read", "ci-deploy", "boundary-dev"][rng.random_range(0..3)])})
        }
        ("iam", "GetPolicyVersion") => {
            json!({"policyArn": format!("arn:aws:iam::{acct}:policy/ci-deploy"), "versionId": format!("v{}", rng.random_range(1..6))})
        }
        ("iam", "ListPolicies") => {
            json!({"scope": "Local", "onlyAttached": false, "maxItems": 100})
        }
        ("iam", _) => Value::Null,
        ("kms", "DescribeKey") | ("kms", "GetKeyPolicy") | ("kms", "GetKeyRotationStatus") => {
            json!({"keyId": w.key_arn(region, one(rng, &r.keys))})
        }
        ("kms", "Decrypt") => {
            json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:lambda:FunctionArn": w.function_arn(region, one(rng, &r.functions))}})
        }
        ("kms", "GenerateDataKey") => {
            json!({"keyId": w.key_arn(region, one(rng, &r.keys)), "keySpec": "AES_256", "encryptionContext": {"aws:dynamodb:tableName": one(rng, &r.tables), "aws:dynamodb:subscriberId": acct}})
        }
        ("kms", "Encrypt") => {
            json!({"keyId": w.key_arn(region, one(rng, &r.keys)), "encryptionAlgorithm": "SYMMETRIC_DEFAULT"})
        }
        ("kms", _) => json!({"limit": 100}),
        ("logs", "DescribeLogGroups") => json!({"limit": 50, "logGroupNamePrefix": "/aws/lambda/"}),
        ("logs", "CreateLogStream") => {
            json!({"logGroupName": format!("/aws/lambda/{}", one(rng, &r.functions)), "logStreamName": format!("{}/[$LATEST]{}", &iso(t)[..10].replace('-', "/"), hex(rng, 32))})
        }
        ("logs", "StartQuery") => {
            json!({"logGroupNames": [format!("/aws/lambda/{}", one(rng, &r.functions))], "startTime": t - 3600, "endTime": t, "queryString": "fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | limit 50"})
        }
        ("logs", "GetQueryResults") => json!({"queryId": uuid4(rng)}),
        ("logs", "PutRetentionPolicy") => {
            json!({"logGroupName": format!("/aws/lambda/{}", one(rng, &r.functions)), "retentionInDays": 30})
        }
        ("logs", _) => json!({"logGroupName": format!("/aws/lambda/{}", one(rng, &r.functions))}),
        ("lambda", "ListFunctions20150331") | ("lambda", "ListEventSourceMappings20150331") => {
            Value::Null
        }
        ("lambda", "UpdateFunctionCode20150331v2") => {
            json!({"functionName": one(rng, &r.functions), "s3Bucket": r.artifact_bucket, "s3Key": format!("lambda/{}.zip", hex(rng, 12)), "publish": true, "dryRun": false})
        }
        ("lambda", "UpdateFunctionConfiguration20150331v2") => {
            json!({"functionName": one(rng, &r.functions), "timeout": 30, "memorySize": 512})
        }
        ("lambda", _) => json!({"functionName": one(rng, &r.functions)}),
        ("dynamodb", "ListTables") => Value::Null,
        ("dynamodb", _) => json!({"tableName": one(rng, &r.tables)}),
        ("ssm", "GetParameter") => {
            json!({"name": one(rng, &r.params), "withDecryption": rng.random_bool(0.6)})
        }
        ("ssm", "GetParameters") => {
            json!({"names": [one(rng, &r.params), one(rng, &r.params)], "withDecryption": true})
        }
        ("ssm", "GetParametersByPath") => {
            json!({"path": format!("/prod/{}/", ["api", "web", "worker"][rng.random_range(0..3)]), "recursive": true, "withDecryption": true})
        }
        ("ssm", "PutParameter") => {
            json!({"name": one(rng, &r.params), "type": "SecureString", "overwrite": true, "tier": "Standard"})
        }
        ("ssm", _) => json!({"maxResults": 50}),
        ("secretsmanager", "ListSecrets") => json!({"maxResults": 100}),
        ("secretsmanager", _) => json!({"secretId": w.secret_arn(region, one(rng, &r.secrets))}),
        ("monitoring", "GetMetricData") => {
            json!({"startTime": iso(t - 10_800), "endTime": iso(t), "metricDataQueries": [{"id": "m1", "metricStat": {"metric": {"namespace": "AWS/EC2", "metricName": "CPUUtilization", "dimensions": [{"name": "InstanceId", "value": instance}]}, "period": 300, "stat": "Average"}, "returnData": true}]})
        }
        ("monitoring", "DescribeAlarms") => json!({"alarmNamePrefix": "prod-", "maxRecords": 100}),
        ("monitoring", "GetDashboard") => json!({"dashboardName": "prod-overview"}),
        ("monitoring", "PutMetricAlarm") => {
            json!({"alarmName": format!("prod-{}-errors", one(rng, &r.functions)), "metricName": "Errors", "namespace": "AWS/Lambda", "statistic": "Sum", "period": 300, "evaluationPeriods": 1, "threshold": 5.0, "comparisonOperator": "GreaterThanThreshold"})
        }
        ("monitoring", _) => json!({"namespace": "AWS/Lambda"}),
        ("rds", "CreateDBSnapshot") => {
            json!({"dBSnapshotIdentifier": format!("manual-{}-{}", one(rng, &r.dbs), &iso(t)[..10]), "dBInstanceIdentifier": one(rng, &r.dbs)})
        }
        ("rds", "DescribeDBInstances") | ("rds", "DescribeDBSnapshots") => {
            json!({"dBInstanceIdentifier": one(rng, &r.dbs)})
        }
        ("rds", "ListTagsForResource") => {
            json!({"resourceName": format!("arn:aws:rds:{region}:{acct}:db:{}", one(rng, &r.dbs))})
        }
        ("rds", _) => json!({"maxRecords": 100}),
        ("ecs", "ListClusters") => Value::Null,
        ("ecs", "DescribeServices") => {
            json!({"cluster": "prod", "services": [one(rng, &r.services)]})
        }
        ("ecs", "UpdateService") => {
            json!({"cluster": "prod", "service": one(rng, &r.services), "desiredCount": rng.random_range(2..6), "forceNewDeployment": false})
        }
        ("ecs", "DescribeTaskDefinition") => {
            json!({"taskDefinition": format!("{}:{}", one(rng, &r.services), rng.random_range(40..90))})
        }
        ("ecs", _) => json!({"cluster": "prod"}),
        ("ecr", "GetAuthorizationToken") => Value::Null,
        ("ecr", _) => json!({"repositoryName": one(rng, &r.repos), "registryId": acct}),
        ("cloudtrail", "LookupEvents") => {
            json!({"maxResults": 50, "lookupAttributes": [{"attributeKey": "ReadOnly", "attributeValue": "false"}]})
        }
        ("cloudtrail", "DescribeTrails") => {
            json!({"trailNameList": [], "includeShadowTrails": true})
        }
        ("cloudtrail", _) => {
            json!({"name": format!("arn:aws:cloudtrail:us-east-1:{acct}:trail/{}", super::world::TRAIL)})
        }
        ("guardduty", "ListDetectors") => Value::Null,
        ("guardduty", "GetFindings") => {
            json!({"detectorId": r.detector_id, "findingIds": [hex(rng, 32), hex(rng, 32)]})
        }
        ("guardduty", _) => json!({"detectorId": r.detector_id, "maxResults": 50}),
        ("securityhub", "GetFindings") => {
            json!({"filters": {"RecordState": [{"value": "ACTIVE", "comparison": "EQUALS"}], "WorkflowStatus": [{"value": "NEW", "comparison": "EQUALS"}]}, "maxResults": 100})
        }
        ("config", _) => Value::Null,
        ("route53", "ListHostedZones") => Value::Null,
        ("route53", "ChangeResourceRecordSets") => {
            json!({"hostedZoneId": one(rng, &r.zones), "changeBatch": {"changes": [{"action": "UPSERT", "resourceRecordSet": {"name": "api.acme.example.", "type": "CNAME", "tTL": 300}}]}})
        }
        ("route53", _) => json!({"hostedZoneId": one(rng, &r.zones)}),
        ("cloudformation", _) => json!({"stackName": format!("prod-{}", one(rng, &r.services))}),
        ("athena", "StartQueryExecution") => {
            json!({"queryString": "SELECT date, count(*) FROM orders WHERE date > current_date - interval '7' day GROUP BY 1", "queryExecutionContext": {"database": "analytics"}, "workGroup": "primary", "clientRequestToken": uuid4(rng)})
        }
        ("athena", "GetQueryExecution") | ("athena", "GetQueryResults") => {
            json!({"queryExecutionId": uuid4(rng)})
        }
        ("glue", "GetTable") => {
            json!({"databaseName": "analytics", "name": (["orders", "events", "customers", "sessions"][rng.random_range(0..4)])})
        }
        ("glue", "GetTables") | ("glue", "GetPartitions") => json!({"databaseName": "analytics"}),
        ("sqs", "GetQueueAttributes") => {
            json!({"queueUrl": format!("https://sqs.{region}.amazonaws.com/{acct}/orders-events"), "attributeNames": ["All"]})
        }
        ("sns", "GetTopicAttributes") => {
            json!({"topicArn": format!("arn:aws:sns:{region}:{acct}:prod-alerts")})
        }
        ("tagging", _) => json!({"resourcesPerPage": 100, "includeComplianceDetails": false}),
        _ => Value::Null,
    }
}

/// Response elements of a catalogue call that changes something.
fn response(w: &World, region: &str, a: &Api, params: &Value, t: i64, rng: &mut SimRng) -> Value {
    match (short(a.source), a.name) {
        ("ec2", "RunInstances") => {
            json!({"requestId": uuid4(rng), "reservationId": format!("r-0{}", hex(rng, 16)), "ownerId": w.account, "instancesSet": {"items": [{"instanceId": format!("i-0{}", hex(rng, 16)), "currentState": {"code": 0, "name": "pending"}}]}})
        }
        ("ec2", "StartInstances") | ("ec2", "StopInstances") | ("ec2", "TerminateInstances") => {
            json!({"requestId": uuid4(rng), "instancesSet": params.get("instancesSet").cloned().unwrap_or(Value::Null)})
        }
        ("ec2", "CreateSnapshot") => {
            json!({"requestId": uuid4(rng), "snapshotId": format!("snap-0{}", hex(rng, 16)), "volumeId": params.get("volumeId").cloned().unwrap_or(Value::Null), "status": "pending", "startTime": t * 1000, "ownerId": w.account, "volumeSize": 100, "encrypted": true})
        }
        ("ec2", _) => json!({"requestId": uuid4(rng), "_return": true}),
        ("lambda", n) if n.starts_with("Update") => {
            json!({"functionName": params.get("functionName").cloned().unwrap_or(Value::Null), "functionArn": w.function_arn(region, params.get("functionName").and_then(Value::as_str).unwrap_or_default()), "runtime": "nodejs20.x", "lastModified": iso(t).replace('Z', ".000+0000"), "state": "Active", "lastUpdateStatus": "InProgress"})
        }
        ("ssm", "PutParameter") => json!({"version": rng.random_range(2..40), "tier": "Standard"}),
        ("athena", "StartQueryExecution") => json!({"queryExecutionId": uuid4(rng)}),
        ("rds", "CreateDBSnapshot") => {
            json!({"dBSnapshotIdentifier": params.get("dBSnapshotIdentifier").cloned().unwrap_or(Value::Null), "status": "creating", "snapshotType": "manual", "snapshotCreateTime": console_date(t)})
        }
        ("route53", _) => {
            json!({"changeInfo": {"id": format!("/change/C0{}", lower(rng, 12).to_ascii_uppercase()), "status": "PENDING", "submittedAt": console_date(t)}})
        }
        ("ecs", "UpdateService") => {
            json!({"service": {"serviceName": params.get("service").cloned().unwrap_or(Value::Null), "status": "ACTIVE"}})
        }
        ("monitoring", _) | ("s3", _) | ("iam", _) | ("logs", _) | ("dynamodb", _) | ("asg", _) => {
            Value::Null
        }
        _ => Value::Null,
    }
}

/// `resources` for calls that name an ARN-bearing resource, as CloudTrail fills it.
fn resources(w: &World, region: &str, a: &Api, params: &Value) -> Option<Value> {
    match short(a.source) {
        "kms" => {
            let arn = params
                .get("keyId")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    w.key_arn(region, w.res.keys.first().map_or("", String::as_str))
                });
            Some(json!([{"accountId": w.account, "type": "AWS::KMS::Key", "ARN": arn}]))
        }
        "dynamodb" if params.get("tableName").is_some() => {
            let table = params
                .get("tableName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Some(
                json!([{"accountId": w.account, "type": "AWS::DynamoDB::Table", "ARN": format!("arn:aws:dynamodb:{region}:{}:table/{table}", w.account)}]),
            )
        }
        _ => None,
    }
}
