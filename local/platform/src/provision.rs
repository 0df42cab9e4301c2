//! Creates the template's tables, queues and bucket on an emulator, under a name prefix, and
//! resolves the functions' environment to those local names.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    CorsConfiguration, CorsRule, Event, FilterRule, FilterRuleName, NotificationConfiguration,
    NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::template::{KeySchema, TableSpec, Template, Val};

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("{what}: {detail}")]
    Aws { what: String, detail: String },
    #[error("cannot resolve {0} locally")]
    Unresolved(String),
}

fn aws<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
    what: impl Into<String>,
) -> impl FnOnce(aws_sdk_s3::error::SdkError<E, R>) -> ProvisionError {
    let what = what.into();
    move |e| ProvisionError::Aws { what, detail: aws_sdk_s3::error::DisplayErrorContext(e).to_string() }
}

pub struct ProvisionOptions {
    /// Every resource is named `<prefix>-<logical-id-in-kebab-case>`: runs and tests never collide.
    pub prefix: String,
    /// Values of the template's parameters; defaults fill the rest.
    pub parameters: BTreeMap<String, String>,
    /// Environment values the template computes in the cloud (`JWT_SECRET`), by variable name.
    pub env_values: BTreeMap<String, String>,
    /// Shorter redelivery for tests of retries (the cloud's 30 minutes would stall them).
    pub visibility_timeout_override: Option<i32>,
}

/// What provisioning made: physical names by logical id, and the functions' resolved environment.
#[derive(Clone, Debug, Default)]
pub struct Provisioned {
    pub names: BTreeMap<String, String>,
    pub queue_urls: BTreeMap<String, String>,
    pub queue_arns: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
}

pub fn local_name(prefix: &str, logical_id: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + logical_id.len() + 4);
    name.push_str(&prefix.to_ascii_lowercase());
    for c in logical_id.chars() {
        if c.is_ascii_uppercase() {
            name.push('-');
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    name
}

pub struct Provisioner<'a> {
    pub dynamodb: &'a aws_sdk_dynamodb::Client,
    pub sqs: &'a aws_sdk_sqs::Client,
    pub s3: &'a aws_sdk_s3::Client,
}

impl Provisioner<'_> {
    /// Idempotent: resources that exist are left as they are.
    pub async fn provision(
        &self,
        template: &Template,
        options: &ProvisionOptions,
    ) -> Result<Provisioned, ProvisionError> {
        let mut made = Provisioned::default();
        let params = |name: &str| -> Option<String> {
            options.parameters.get(name).cloned().or_else(|| template.parameter_defaults.get(name).cloned().flatten())
        };
        for table in &template.tables {
            let name = local_name(&options.prefix, &table.logical_id);
            self.create_table(table, &name).await?;
            made.names.insert(table.logical_id.clone(), name);
        }
        // Dead-letter queues first: the queues that redrive into them need their ARNs.
        let mut queues: Vec<_> = template.queues.iter().collect();
        queues.sort_by_key(|q| q.redrive.is_some());
        for queue in queues {
            let name = local_name(&options.prefix, &queue.logical_id);
            let mut create = self.sqs.create_queue().queue_name(&name);
            let number = |v: &Val| resolve_scalar(v, &params);
            if let Some(timeout) = options
                .visibility_timeout_override
                .map(|t| t.to_string())
                .or_else(|| queue.visibility_timeout.as_ref().and_then(number))
            {
                create = create.attributes(QueueAttributeName::VisibilityTimeout, timeout);
            }
            if let Some(retention) = queue.retention_seconds.as_ref().and_then(number) {
                create = create.attributes(QueueAttributeName::MessageRetentionPeriod, retention);
            }
            if let Some((target, max)) = &queue.redrive {
                let arn = made
                    .queue_arns
                    .get(target)
                    .ok_or_else(|| ProvisionError::Unresolved(format!("dead-letter queue {target}")))?;
                let max = number(max)
                    .ok_or_else(|| ProvisionError::Unresolved(format!("maxReceiveCount of {}", queue.logical_id)))?;
                let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max}).to_string();
                create = create.attributes(QueueAttributeName::RedrivePolicy, policy);
            }
            let url = create.send().await.map_err(aws(format!("creating queue {name}")))?.queue_url.unwrap_or_default();
            let arn = self
                .sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(aws(format!("reading queue {name}")))?
                .attributes
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .unwrap_or_default();
            made.queue_urls.insert(queue.logical_id.clone(), url);
            made.queue_arns.insert(queue.logical_id.clone(), arn);
            made.names.insert(queue.logical_id.clone(), name);
        }
        for bucket in &template.buckets {
            let name = local_name(&options.prefix, &bucket.logical_id);
            self.create_bucket(bucket, &name, &made, &params).await?;
            made.names.insert(bucket.logical_id.clone(), name);
        }
        for (var, value) in &template.function_env {
            let resolved = match value {
                Val::Ref(id) if made.queue_urls.contains_key(id) => made.queue_urls.get(id).cloned(),
                Val::Ref(id) if made.names.contains_key(id) => made.names.get(id).cloned(),
                Val::Expression(_) => options.env_values.get(var).cloned(),
                other => resolve_scalar(other, &params),
            };
            made.env
                .insert(var.clone(), resolved.ok_or_else(|| ProvisionError::Unresolved(format!("{var} ({value:?})")))?);
        }
        Ok(made)
    }

    async fn create_table(&self, table: &TableSpec, name: &str) -> Result<(), ProvisionError> {
        let mut create = self
            .dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(key_elements(&table.keys)));
        for (attribute, kind) in &table.attributes {
            create = create.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attribute)
                    .attribute_type(ScalarAttributeType::from(kind.as_str()))
                    .build()
                    .expect("name and type are set"),
            );
        }
        for index in &table.indexes {
            create = create.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&index.name)
                    .set_key_schema(Some(key_elements(&index.keys)))
                    .projection(
                        Projection::builder().projection_type(ProjectionType::from(index.projection.as_str())).build(),
                    )
                    .build()
                    .expect("name, keys and projection are set"),
            );
        }
        match create.send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => return Ok(()),
            Err(e) => return Err(aws(format!("creating table {name}"))(e)),
        }
        if let Some(attribute) = &table.ttl_attribute {
            self.dynamodb
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder().attribute_name(attribute).enabled(true).build().expect("set"),
                )
                .send()
                .await
                .map_err(aws(format!("enabling TTL on {name}")))?;
        }
        Ok(())
    }

    async fn create_bucket(
        &self,
        bucket: &crate::template::BucketSpec,
        name: &str,
        made: &Provisioned,
        params: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ProvisionError> {
        match self.s3.create_bucket().bucket(name).send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()) => {}
            Err(e) => return Err(aws(format!("creating bucket {name}"))(e)),
        }
        if !bucket.cors.is_empty() {
            let mut rules = Vec::new();
            for rule in &bucket.cors {
                let origins = rule
                    .origins
                    .iter()
                    .map(|o| {
                        resolve_scalar(o, params)
                            .ok_or_else(|| ProvisionError::Unresolved(format!("CORS origin {o:?}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                rules.push(
                    CorsRule::builder()
                        .set_allowed_origins(Some(origins))
                        .set_allowed_methods(Some(rule.methods.clone()))
                        .set_allowed_headers(Some(rule.headers.clone()))
                        .set_expose_headers(Some(rule.exposed_headers.clone()))
                        .set_max_age_seconds(rule.max_age)
                        .build()
                        .expect("origins and methods are set"),
                );
            }
            self.s3
                .put_bucket_cors()
                .bucket(name)
                .cors_configuration(
                    CorsConfiguration::builder().set_cors_rules(Some(rules)).build().expect("rules set"),
                )
                .send()
                .await
                .map(drop)
                .or_else(tolerate_unimplemented)
                .map_err(aws(format!("setting CORS on {name}")))?;
        }
        if !bucket.notifications.is_empty() {
            let mut configuration = NotificationConfiguration::builder();
            for notification in &bucket.notifications {
                let arn = made
                    .queue_arns
                    .get(&notification.queue)
                    .ok_or_else(|| ProvisionError::Unresolved(format!("notification queue {}", notification.queue)))?;
                let mut queue =
                    QueueConfiguration::builder().queue_arn(arn).events(Event::from(notification.event.as_str()));
                if let Some(prefix) = &notification.prefix {
                    queue = queue.filter(
                        NotificationConfigurationFilter::builder()
                            .key(
                                S3KeyFilter::builder()
                                    .filter_rules(
                                        FilterRule::builder().name(FilterRuleName::Prefix).value(prefix).build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    );
                }
                configuration = configuration.queue_configurations(queue.build().expect("arn and events are set"));
            }
            self.s3
                .put_bucket_notification_configuration()
                .bucket(name)
                .notification_configuration(configuration.build())
                .send()
                .await
                .map(drop)
                .or_else(tolerate_unimplemented)
                .map_err(aws(format!("setting notifications on {name}")))?;
        }
        Ok(())
    }
}

/// MinIO and s3s-fs implement neither bucket CORS nor event notifications; the platform still
/// runs there, without browser uploads or the upload watcher.
#[expect(clippy::result_large_err, reason = "hands the SDK's own error back, for the caller to describe")]
fn tolerate_unimplemented<E: ProvideErrorMetadata>(
    e: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Result<(), aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>> {
    let unimplemented =
        e.code() == Some("NotImplemented") || e.raw_response().is_some_and(|r| r.status().as_u16() == 501);
    if unimplemented {
        tracing::warn!("the S3 endpoint does not implement this bucket setting; skipped");
        Ok(())
    } else {
        Err(e)
    }
}

fn key_elements(keys: &KeySchema) -> Vec<KeySchemaElement> {
    let element = |name: &str, kind: KeyType| {
        KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("name and type are set")
    };
    std::iter::once(element(&keys.hash, KeyType::Hash))
        .chain(keys.range.as_deref().map(|r| element(r, KeyType::Range)))
        .collect()
}

fn resolve_scalar(value: &Val, params: &impl Fn(&str) -> Option<String>) -> Option<String> {
    match value {
        Val::Literal(s) => Some(s.clone()),
        Val::Ref(name) => params(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kebab_cased_under_the_prefix() {
        assert_eq!(local_name("helix-dev", "JobsDeadLetterQueue"), "helix-dev-jobs-dead-letter-queue");
        assert_eq!(local_name("T1", "ArtifactsBucket"), "t1-artifacts-bucket");
    }
}
