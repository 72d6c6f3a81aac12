//! CloudWatch Embedded Metric Format: one JSON line on stdout per batch of metrics,
//! which CloudWatch Logs turns into metrics without any API call from the function.

use serde_json::{Map, Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// The namespace of every trailhound metric.
pub const NAMESPACE: &str = "trailhound";

/// The unit of a metric value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count of things.
    Count,
    /// A duration in milliseconds.
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// A set of metric values sharing dimensions and properties, rendered as one EMF line.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    dimensions: Vec<(String, String)>,
    values: Vec<(String, f64, Unit)>,
    properties: Vec<(String, Value)>,
}

impl Metrics {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a dimension (metrics are graphed per distinct value: keep them few).
    pub fn dimension(mut self, name: &str, value: &str) -> Self {
        self.dimensions.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds a count.
    pub fn count(mut self, name: &str, value: u64) -> Self {
        self.values
            .push((name.to_owned(), value as f64, Unit::Count));
        self
    }

    /// Adds a duration.
    pub fn millis(mut self, name: &str, value: u64) -> Self {
        self.values
            .push((name.to_owned(), value as f64, Unit::Milliseconds));
        self
    }

    /// Adds a property: searchable in Logs Insights, not a metric.
    pub fn property(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.properties.push((name.to_owned(), value.into()));
        self
    }

    /// The EMF document, stamped with `timestamp_ms`.
    pub fn to_json(&self, timestamp_ms: u64) -> Value {
        let dims: Vec<&str> = self.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        let defs: Vec<Value> = self
            .values
            .iter()
            .map(|(name, _, unit)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        let mut root = Map::new();
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [dims], "Metrics": defs}],
            }),
        );
        for (k, v) in &self.properties {
            root.insert(k.clone(), v.clone());
        }
        for (k, v) in &self.dimensions {
            root.insert(k.clone(), Value::String(v.clone()));
        }
        for (k, v, _) in &self.values {
            root.insert(k.clone(), json!(v));
        }
        Value::Object(root)
    }

    /// Writes the line to stdout, where the Lambda runtime ships it to CloudWatch Logs.
    pub fn emit(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        println!("{}", self.to_json(now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_embedded_metric_format() {
        let doc = Metrics::new()
            .dimension("Source", "cloudtrail")
            .count("EventsRead", 42)
            .millis("DurationMs", 7)
            .property("ModelVersion", "cloudtrail-0a1b2c3d")
            .to_json(1_700_000_000_000);
        let cw = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000u64);
        assert_eq!(cw["Namespace"], "trailhound");
        assert_eq!(cw["Dimensions"], json!([["Source"]]));
        assert_eq!(
            cw["Metrics"][0],
            json!({"Name": "EventsRead", "Unit": "Count"})
        );
        assert_eq!(
            cw["Metrics"][1],
            json!({"Name": "DurationMs", "Unit": "Milliseconds"})
        );
        assert_eq!(doc["EventsRead"], 42.0);
        assert_eq!(doc["Source"], "cloudtrail");
        assert_eq!(doc["ModelVersion"], "cloudtrail-0a1b2c3d");
    }
}
