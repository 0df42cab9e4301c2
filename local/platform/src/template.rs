//! Reads the data resources (tables, queues, bucket, secrets) and the functions' environment out of
//! `infra/template.yaml`, so that local provisioning creates what the cloud gets, from one source.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("reading {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("parsing the template: {0}")]
    Parse(#[from] serde_yaml::Error),
    #[error("template resource {resource}: {reason}")]
    Shape { resource: String, reason: String },
}

/// A property value, with the intrinsic functions the data resources use.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Literal(String),
    Ref(String),
    /// `!GetAtt X.Arn`: the logical id.
    Arn(String),
    /// Anything else (`!Sub`, dynamic references): resolved by name, never parsed.
    Expression(String),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeySchema {
    pub hash: String,
    pub range: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IndexSpec {
    pub name: String,
    pub keys: KeySchema,
    pub projection: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TableSpec {
    pub logical_id: String,
    pub keys: KeySchema,
    /// Attribute name → type (`S`, `N`, `B`).
    pub attributes: BTreeMap<String, String>,
    pub indexes: Vec<IndexSpec>,
    pub ttl_attribute: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueueSpec {
    pub logical_id: String,
    pub visibility_timeout: Option<Val>,
    pub retention_seconds: Option<Val>,
    /// Dead-letter queue's logical id and `maxReceiveCount`.
    pub redrive: Option<(String, Val)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CorsRuleSpec {
    pub origins: Vec<Val>,
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    pub exposed_headers: Vec<String>,
    pub max_age: Option<i32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NotificationSpec {
    pub event: String,
    pub prefix: Option<String>,
    pub queue: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BucketSpec {
    pub logical_id: String,
    pub cors: Vec<CorsRuleSpec>,
    pub notifications: Vec<NotificationSpec>,
}

#[derive(Clone, Debug, Default)]
pub struct Template {
    pub tables: Vec<TableSpec>,
    pub queues: Vec<QueueSpec>,
    pub buckets: Vec<BucketSpec>,
    /// Logical ids of the `AWS::SecretsManager::Secret`s (their values are generated in the cloud,
    /// given by the local platform).
    pub secrets: Vec<String>,
    /// `Globals.Function.Environment.Variables` and every function's own `Environment.Variables`:
    /// what the one-process platform, which is every function at once, is given.
    pub function_env: BTreeMap<String, Val>,
    /// Parameter name → default.
    pub parameter_defaults: BTreeMap<String, Option<String>>,
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TemplateError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let doc: Value = serde_yaml::from_str(text)?;
        let mut template = Template::default();
        if let Some(params) = doc.get("Parameters").and_then(Value::as_mapping) {
            for (name, body) in params {
                let default = body.get("Default").and_then(scalar);
                template.parameter_defaults.insert(name.as_str().unwrap_or_default().to_owned(), default);
            }
        }
        if let Some(vars) = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping)
        {
            for (name, value) in vars {
                template.function_env.insert(name.as_str().unwrap_or_default().to_owned(), val(value));
            }
        }
        let resources = doc.get("Resources").and_then(Value::as_mapping).cloned().unwrap_or_default();
        for (id, resource) in &resources {
            let id = id.as_str().unwrap_or_default().to_owned();
            let props = resource.get("Properties").cloned().unwrap_or(Value::Null);
            if resource.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Function")
                && let Some(vars) =
                    props.get("Environment").and_then(|e| e.get("Variables")).and_then(Value::as_mapping)
            {
                for (name, value) in vars {
                    template.function_env.insert(name.as_str().unwrap_or_default().to_owned(), val(value));
                }
            }
            match resource.get("Type").and_then(Value::as_str) {
                Some("AWS::DynamoDB::Table") => template.tables.push(table(&id, &props)?),
                Some("AWS::SQS::Queue") => template.queues.push(queue(&id, &props)?),
                Some("AWS::S3::Bucket") => template.buckets.push(bucket(&id, &props)?),
                Some("AWS::SecretsManager::Secret") => template.secrets.push(id),
                _ => {}
            }
        }
        Ok(template)
    }
}

fn shape(resource: &str, reason: impl Into<String>) -> TemplateError {
    TemplateError::Shape { resource: resource.to_owned(), reason: reason.into() }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn val(value: &Value) -> Val {
    if let Some(s) = scalar(value) {
        return Val::Literal(s);
    }
    if let Value::Tagged(tagged) = value {
        let tag = tagged.tag.to_string();
        let inner = scalar(&tagged.value).unwrap_or_default();
        return match tag.trim_start_matches('!') {
            "Ref" => Val::Ref(inner),
            "GetAtt" if inner.ends_with(".Arn") => Val::Arn(inner.trim_end_matches(".Arn").to_owned()),
            _ => Val::Expression(format!("{tag} {inner}")),
        };
    }
    if let Some(reference) = value.get("Ref").and_then(scalar) {
        return Val::Ref(reference);
    }
    Val::Expression(serde_yaml::to_string(value).unwrap_or_default())
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value.and_then(Value::as_sequence).map(|s| s.iter().filter_map(scalar).collect()).unwrap_or_default()
}

fn key_schema(resource: &str, value: Option<&Value>) -> Result<KeySchema, TemplateError> {
    let entries = value.and_then(Value::as_sequence).ok_or_else(|| shape(resource, "KeySchema missing"))?;
    let find = |kind: &str| {
        entries
            .iter()
            .find(|e| e.get("KeyType").and_then(Value::as_str) == Some(kind))
            .and_then(|e| e.get("AttributeName").and_then(scalar))
    };
    Ok(KeySchema { hash: find("HASH").ok_or_else(|| shape(resource, "no HASH key"))?, range: find("RANGE") })
}

fn table(id: &str, props: &Value) -> Result<TableSpec, TemplateError> {
    let attributes = props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .ok_or_else(|| shape(id, "AttributeDefinitions missing"))?
        .iter()
        .filter_map(|a| Some((a.get("AttributeName").and_then(scalar)?, a.get("AttributeType").and_then(scalar)?)))
        .collect();
    let indexes = props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .map(|indexes| {
            indexes
                .iter()
                .map(|index| {
                    Ok(IndexSpec {
                        name: index
                            .get("IndexName")
                            .and_then(scalar)
                            .ok_or_else(|| shape(id, "index without IndexName"))?,
                        keys: key_schema(id, index.get("KeySchema"))?,
                        projection: index
                            .get("Projection")
                            .and_then(|p| p.get("ProjectionType"))
                            .and_then(scalar)
                            .unwrap_or_else(|| "ALL".into()),
                    })
                })
                .collect::<Result<Vec<_>, TemplateError>>()
        })
        .transpose()?
        .unwrap_or_default();
    let ttl_attribute = props
        .get("TimeToLiveSpecification")
        .filter(|t| t.get("Enabled").and_then(Value::as_bool).unwrap_or(false))
        .and_then(|t| t.get("AttributeName"))
        .and_then(scalar);
    Ok(TableSpec {
        logical_id: id.to_owned(),
        keys: key_schema(id, props.get("KeySchema"))?,
        attributes,
        indexes,
        ttl_attribute,
    })
}

fn queue(id: &str, props: &Value) -> Result<QueueSpec, TemplateError> {
    let redrive = match props.get("RedrivePolicy") {
        None => None,
        Some(policy) => {
            let Val::Arn(target) = val(policy.get("deadLetterTargetArn").unwrap_or(&Value::Null)) else {
                return Err(shape(id, "RedrivePolicy.deadLetterTargetArn must be !GetAtt <Queue>.Arn"));
            };
            let max = policy.get("maxReceiveCount").map(val).ok_or_else(|| shape(id, "maxReceiveCount missing"))?;
            Some((target, max))
        }
    };
    Ok(QueueSpec {
        logical_id: id.to_owned(),
        visibility_timeout: props.get("VisibilityTimeout").map(val),
        retention_seconds: props.get("MessageRetentionPeriod").map(val),
        redrive,
    })
}

fn bucket(id: &str, props: &Value) -> Result<BucketSpec, TemplateError> {
    let cors = props
        .get("CorsConfiguration")
        .and_then(|c| c.get("CorsRules"))
        .and_then(Value::as_sequence)
        .map(|rules| {
            rules
                .iter()
                .map(|rule| CorsRuleSpec {
                    origins: rule
                        .get("AllowedOrigins")
                        .and_then(Value::as_sequence)
                        .map(|o| o.iter().map(val).collect())
                        .unwrap_or_default(),
                    methods: strings(rule.get("AllowedMethods")),
                    headers: strings(rule.get("AllowedHeaders")),
                    exposed_headers: strings(rule.get("ExposedHeaders")),
                    max_age: rule.get("MaxAge").and_then(Value::as_i64).map(|m| m as i32),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut notifications = Vec::new();
    for config in props
        .get("NotificationConfiguration")
        .and_then(|n| n.get("QueueConfigurations"))
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let Val::Arn(queue) = val(config.get("Queue").unwrap_or(&Value::Null)) else {
            return Err(shape(id, "QueueConfigurations.Queue must be !GetAtt <Queue>.Arn"));
        };
        let prefix = config
            .get("Filter")
            .and_then(|f| f.get("S3Key"))
            .and_then(|k| k.get("Rules"))
            .and_then(Value::as_sequence)
            .and_then(|rules| rules.iter().find(|r| r.get("Name").and_then(Value::as_str) == Some("prefix")))
            .and_then(|r| r.get("Value"))
            .and_then(scalar);
        let event = config.get("Event").and_then(scalar).ok_or_else(|| shape(id, "notification without Event"))?;
        notifications.push(NotificationSpec { event, prefix, queue });
    }
    Ok(BucketSpec { logical_id: id.to_owned(), cors, notifications })
}

/// The repository's template, found from this crate's location (tests, `cargo run`) or the
/// working directory (`helix-dev` run from the repository root).
pub fn default_path() -> std::path::PathBuf {
    let from_crate = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
    if from_crate.exists() { from_crate } else { Path::new("infra/template.yaml").to_path_buf() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_repository_template() {
        let template = Template::load(&default_path()).unwrap();
        let jobs = template.tables.iter().find(|t| t.logical_id == "JobsTable").unwrap();
        assert_eq!(jobs.keys.hash, "id");
        assert!(jobs.indexes.iter().any(|i| i.name == "team-status-index"));
        let queue = template.queues.iter().find(|q| q.logical_id == "JobsQueue").unwrap();
        assert_eq!(queue.redrive, Some(("JobsDeadLetterQueue".into(), Val::Ref("JobMaxAttempts".into()))));
        assert_eq!(template.function_env.get("JOBS_TABLE"), Some(&Val::Ref("JobsTable".into())));
        assert_eq!(template.function_env.get("TEAMS_TABLE"), Some(&Val::Ref("TeamsTable".into())));
        let teams = template.tables.iter().find(|t| t.logical_id == "TeamsTable").unwrap();
        assert_eq!(teams.keys, KeySchema { hash: "pk".into(), range: Some("sk".into()) });
        let keys = template.tables.iter().find(|t| t.logical_id == "ApiKeysTable").unwrap();
        assert_eq!(keys.keys, KeySchema { hash: "key_hash".into(), range: None });
        let id_index = keys.indexes.iter().find(|i| i.name == "id-index").unwrap();
        assert_eq!(id_index.projection, "KEYS_ONLY");
        assert_eq!(template.function_env.get("API_KEYS_TABLE"), Some(&Val::Ref("ApiKeysTable".into())));
        let audit = template.tables.iter().find(|t| t.logical_id == "AuditTable").unwrap();
        assert_eq!(audit.keys, KeySchema { hash: "team_id".into(), range: Some("seq".into()) });
        assert_eq!(template.function_env.get("AUDIT_TABLE"), Some(&Val::Ref("AuditTable".into())));
        assert_eq!(template.buckets[0].notifications[0].prefix.as_deref(), Some("uploads/"));
        assert_eq!(template.secrets, ["JwtSecret"]);
        assert_eq!(template.function_env.get("JWT_SIGNING_SECRET_ARN"), Some(&Val::Ref("JwtSecret".into())));
        assert!(!template.function_env.contains_key("JWT_SECRET"), "no secret passes through the environment");
    }
}
