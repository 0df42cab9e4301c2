//! What the emulator tests share: a client of the emulator `make test` starts
//! (`HELIX_TEST_AWS_ENDPOINT`) and fresh tables created as `infra/template.yaml` declares them.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
};
use serde_yaml::Value;

pub fn client() -> Client {
    let endpoint = std::env::var("HELIX_TEST_AWS_ENDPOINT")
        .expect("HELIX_TEST_AWS_ENDPOINT is not set: run the tests with `make test`, which starts the emulator");
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "test"))
        .build();
    Client::from_conf(config)
}

fn key_schema(entries: &Value) -> Vec<KeySchemaElement> {
    entries
        .as_sequence()
        .expect("a KeySchema")
        .iter()
        .map(|e| {
            KeySchemaElement::builder()
                .attribute_name(e["AttributeName"].as_str().unwrap())
                .key_type(KeyType::from(e["KeyType"].as_str().unwrap()))
                .build()
                .unwrap()
        })
        .collect()
}

/// A fresh table with the keys and indexes the template gives `logical_id`.
pub async fn table(client: &Client, logical_id: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    let template: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let props = &template["Resources"][logical_id]["Properties"];
    let name = format!("t{}-{logical_id}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut create = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&props["KeySchema"])));
    for attribute in props["AttributeDefinitions"].as_sequence().unwrap() {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute["AttributeName"].as_str().unwrap())
                .attribute_type(ScalarAttributeType::from(attribute["AttributeType"].as_str().unwrap()))
                .build()
                .unwrap(),
        );
    }
    for index in props["GlobalSecondaryIndexes"].as_sequence().into_iter().flatten() {
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index["IndexName"].as_str().unwrap())
                .set_key_schema(Some(key_schema(&index["KeySchema"])))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index["Projection"]["ProjectionType"].as_str().unwrap()))
                        .build(),
                )
                .build()
                .unwrap(),
        );
    }
    create.send().await.unwrap();
    name
}
