//! The SNS filter policies written in template.yaml, applied by moto's SNS to two SQS
//! queues that stand in for the email and Slack endpoints: HIGH reaches both, MEDIUM
//! only Slack, LOW neither.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use common::{finding, moto_endpoint, sns_client, sqs_client, unique};
use serde_json::{Value, json};
use serde_norway::Value as Yaml;
use std::collections::BTreeSet;

fn template() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Resolves `!Ref Parameter` to the parameter's default (a CommaDelimitedList becomes
/// a list), and converts the rest to JSON.
fn resolve(doc: &Yaml, v: &Yaml) -> Value {
    match v {
        Yaml::Tagged(t) if t.tag == "Ref" => {
            let name = t.value.as_str().unwrap();
            let p = &doc["Parameters"][name];
            let default = p["Default"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} has no default"));
            if p["Type"].as_str() == Some("CommaDelimitedList") {
                Value::Array(
                    default
                        .split(',')
                        .map(|s| Value::String(s.trim().to_owned()))
                        .collect(),
                )
            } else {
                Value::String(default.to_owned())
            }
        }
        Yaml::Tagged(t) => panic!("unsupported tag {} in a filter policy", t.tag),
        Yaml::Mapping(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.as_str().unwrap().to_owned(), resolve(doc, v)))
                .collect(),
        ),
        Yaml::Sequence(s) => Value::Array(s.iter().map(|v| resolve(doc, v)).collect()),
        other => serde_json::to_value(other).unwrap(),
    }
}

/// (email policy, Slack policy) as deployed with default parameters.
fn filter_policies() -> (Value, Value) {
    let doc = template();
    let resources = doc["Resources"].as_mapping().unwrap();
    let email: Vec<Value> = resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::SNS::Subscription") && r["Properties"]["Protocol"].as_str() == Some("email"))
        .filter(|r| matches!(&r["Properties"]["TopicArn"], Yaml::Tagged(t) if t.value.as_str() == Some("AlertsTopic")))
        .map(|r| resolve(&doc, &r["Properties"]["FilterPolicy"]))
        .collect();
    let slack: Vec<Value> = doc["Resources"]["AlertNotifier"]["Properties"]["Events"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|e| e["Type"].as_str() == Some("SNS"))
        .map(|e| resolve(&doc, &e["Properties"]["FilterPolicy"]))
        .collect();
    assert_eq!(
        (email.len(), slack.len()),
        (1, 1),
        "one email and one Slack subscription"
    );
    (email[0].clone(), slack[0].clone())
}

#[test]
fn the_template_filters_on_upper_case_severity_attributes() {
    let (email, slack) = filter_policies();
    assert_eq!(email, json!({"severity": ["HIGH", "CRITICAL"]}));
    assert_eq!(slack, json!({"severity": ["MEDIUM", "HIGH", "CRITICAL"]}));
}

#[tokio::test]
async fn high_alerts_reach_email_and_slack_and_medium_only_slack() {
    let Some(endpoint) = moto_endpoint("high_alerts_reach_email_and_slack_and_medium_only_slack")
    else {
        return;
    };
    let (email_policy, slack_policy) = filter_policies();
    let (sns, sqs) = (sns_client(&endpoint), sqs_client(&endpoint));
    let topic = sns
        .create_topic()
        .name(unique("trailhound-alerts"))
        .send()
        .await
        .unwrap();
    let topic_arn = topic.topic_arn().unwrap();

    let mut queues = Vec::new();
    for (role, policy) in [("email", &email_policy), ("slack", &slack_policy)] {
        let url = sqs
            .create_queue()
            .queue_name(unique(role))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&QueueAttributeName::QueueArn]
            .clone();
        sns.subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(arn)
            .attributes("FilterPolicy", policy.to_string())
            .attributes("FilterPolicyScope", "MessageAttributes")
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .unwrap();
        queues.push(url);
    }

    for severity in ["LOW", "MEDIUM", "HIGH", "CRITICAL"] {
        publish(&sns, topic_arn, severity).await;
    }

    assert_eq!(
        received(&sqs, &queues[0]).await,
        set(&["HIGH", "CRITICAL"]),
        "email"
    );
    assert_eq!(
        received(&sqs, &queues[1]).await,
        set(&["MEDIUM", "HIGH", "CRITICAL"]),
        "slack"
    );
}

/// Publishes an alert shaped as DESIGN.md's SNS contract.
async fn publish(sns: &aws_sdk_sns::Client, topic_arn: &str, severity: &str) {
    let f = finding(&severity.to_ascii_lowercase());
    let attr = |t: &str, v: &str| {
        MessageAttributeValue::builder()
            .data_type(t)
            .string_value(v)
            .build()
            .unwrap()
    };
    sns.publish()
        .topic_arn(topic_arn)
        .subject(format!("[{severity}] cloudtrail:StopLogging by alice"))
        .message_structure("json")
        .message(json!({"default": f.to_string(), "email": "readable text"}).to_string())
        .message_attributes("severity", attr("String", severity))
        .message_attributes("severity_score", attr("Number", "7.5"))
        .message_attributes("source", attr("String", "cloudtrail"))
        .message_attributes("detection", attr("String", "ct.logging.stop_logging"))
        .message_attributes("account", attr("String", "123456789012"))
        .send()
        .await
        .unwrap();
}

/// The severities of the findings waiting in a queue (read from the finding JSON body).
async fn received(sqs: &aws_sdk_sqs::Client, url: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for _ in 0..5 {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let body: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            out.insert(body["severity"].as_str().unwrap().to_ascii_uppercase());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
