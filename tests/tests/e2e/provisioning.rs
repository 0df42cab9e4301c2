//! Local provisioning creates exactly what `infra/template.yaml` declares.

use std::collections::BTreeSet;

use aws_sdk_sqs::types::QueueAttributeName;
use helix_e2e::{Options, TestPlatform};
use helix_local::provision::local_name;
use helix_local::template::{IndexSpec, KeySchema, Template, Val, default_path};

fn keys(elements: &[aws_sdk_dynamodb::types::KeySchemaElement]) -> KeySchema {
    let find =
        |kind: &str| elements.iter().find(|e| e.key_type().as_str() == kind).map(|e| e.attribute_name().to_owned());
    KeySchema { hash: find("HASH").unwrap(), range: find("RANGE") }
}

#[tokio::test]
async fn emulator_resources_match_the_template() {
    let template = Template::load(&default_path()).unwrap();
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let clients = &t.platform.clients;

    let all_tables: Vec<String> =
        clients.dynamodb.list_tables().into_paginator().items().send().collect::<Result<_, _>>().await.unwrap();
    let tables: BTreeSet<String> =
        all_tables.into_iter().filter(|n| n.starts_with(&format!("{}-", t.prefix))).collect();
    let declared: BTreeSet<String> =
        template.tables.iter().map(|table| local_name(&t.prefix, &table.logical_id)).collect();
    assert_eq!(tables, declared);

    for spec in &template.tables {
        let name = local_name(&t.prefix, &spec.logical_id);
        let table = clients.dynamodb.describe_table().table_name(&name).send().await.unwrap().table.unwrap();
        assert_eq!(keys(table.key_schema()), spec.keys, "{name} keys");
        let mut indexes: Vec<IndexSpec> = table
            .global_secondary_indexes()
            .iter()
            .map(|i| IndexSpec {
                name: i.index_name().unwrap().to_owned(),
                keys: keys(i.key_schema()),
                projection: i.projection().and_then(|p| p.projection_type()).map(|p| p.as_str().to_owned()).unwrap(),
            })
            .collect();
        indexes.sort();
        let mut expected = spec.indexes.clone();
        expected.sort();
        assert_eq!(indexes, expected, "{name} indexes");
        let billing = table.billing_mode_summary().and_then(|b| b.billing_mode()).map(|b| b.as_str().to_owned());
        assert_eq!(billing.as_deref(), Some("PAY_PER_REQUEST"), "{name} billing");
        let ttl = clients.dynamodb.describe_time_to_live().table_name(&name).send().await.unwrap();
        let ttl_attribute = ttl.time_to_live_description().and_then(|d| d.attribute_name()).map(str::to_owned);
        assert_eq!(ttl_attribute, spec.ttl_attribute, "{name} TTL");
    }

    let queues: BTreeSet<String> = clients
        .sqs
        .list_queues()
        .queue_name_prefix(format!("{}-", t.prefix))
        .send()
        .await
        .unwrap()
        .queue_urls()
        .iter()
        .map(|url| url.rsplit('/').next().unwrap().to_owned())
        .collect();
    let declared: BTreeSet<String> = template.queues.iter().map(|q| local_name(&t.prefix, &q.logical_id)).collect();
    assert_eq!(queues, declared);
    for spec in &template.queues {
        let url = &t.platform.provisioned.queue_urls[&spec.logical_id];
        let attributes = clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let redrive = attributes.attributes().and_then(|a| a.get(&QueueAttributeName::RedrivePolicy)).cloned();
        match &spec.redrive {
            None => assert_eq!(redrive, None, "{} has no dead-letter queue", spec.logical_id),
            Some((dlq, max)) => {
                let policy: serde_json::Value = serde_json::from_str(&redrive.expect("a redrive policy")).unwrap();
                assert_eq!(
                    policy["deadLetterTargetArn"].as_str(),
                    Some(t.platform.provisioned.queue_arns[dlq].as_str())
                );
                let expected = match max {
                    Val::Literal(n) => n.clone(),
                    Val::Ref(p) => template.parameter_defaults[p].clone().unwrap(),
                    other => panic!("unexpected maxReceiveCount {other:?}"),
                };
                assert_eq!(policy["maxReceiveCount"].to_string().trim_matches('"'), expected);
            }
        }
    }

    for spec in &template.buckets {
        let bucket = local_name(&t.prefix, &spec.logical_id);
        let notifications = clients.s3.get_bucket_notification_configuration().bucket(&bucket).send().await.unwrap();
        let targets: Vec<(String, Option<String>)> = notifications
            .queue_configurations()
            .iter()
            .map(|q| {
                let prefix = q
                    .filter()
                    .and_then(|f| f.key())
                    .and_then(|k| k.filter_rules().first())
                    .and_then(|r| r.value())
                    .map(str::to_owned);
                (q.queue_arn().to_owned(), prefix)
            })
            .collect();
        let expected: Vec<(String, Option<String>)> = spec
            .notifications
            .iter()
            .map(|n| (t.platform.provisioned.queue_arns[&n.queue].clone(), n.prefix.clone()))
            .collect();
        assert_eq!(targets, expected, "{bucket} notifications");
        let cors = clients.s3.get_bucket_cors().bucket(&bucket).send().await.unwrap();
        let rule = &cors.cors_rules()[0];
        assert_eq!(rule.allowed_origins(), ["http://127.0.0.1:8000"]);
        assert_eq!(rule.allowed_methods(), spec.cors[0].methods.as_slice());
    }
    assert_eq!(t.platform.settings.worker.max_attempts, 3);
}
