//! Every resource of `infra/template.yaml` that AWS bills or can tag carries the cost allocation
//! tag `helix:component`, with one of the components the bill is reconciled by
//! (`helix_jobs::billing::component_of`). A resource type new to the template must be sorted
//! into one of the lists below.

use serde_yaml::Value;

const COMPONENTS: [&str; 6] = ["functions", "gpu", "storage", "queues", "tables", "platform"];

/// Types whose `Tags` is a list of `{Key, Value}`.
const LIST_TAGGED: &[&str] = &[
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::S3::Bucket",
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
    "AWS::ECS::Cluster",
    "AWS::EC2::SecurityGroup",
    "AWS::IAM::Role",
    "AWS::ECS::TaskDefinition",
    "AWS::ECS::Service",
    "AWS::SNS::Topic",
    "AWS::CloudWatch::Alarm",
    "AWS::ECS::CapacityProvider",
    "AWS::AutoScaling::AutoScalingGroup",
];

/// Types that take no tags (or cost nothing themselves): policies, attachments, scaling rules.
const UNTAGGABLE: &[&str] = &[
    "AWS::SQS::QueuePolicy",
    "AWS::S3::BucketPolicy",
    "AWS::IAM::InstanceProfile",
    "AWS::ECS::ClusterCapacityProviderAssociations",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::SNS::Subscription",
    "AWS::CloudWatch::Dashboard",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventSourceMapping",
];

fn component_in_list(tags: Option<&Value>) -> Option<String> {
    tags?.as_sequence()?.iter().find_map(|tag| {
        (tag.get("Key")?.as_str()? == "helix:component").then(|| tag.get("Value")?.as_str().map(str::to_owned))?
    })
}

fn component_in_map(tags: Option<&Value>) -> Option<String> {
    tags?.get("helix:component")?.as_str().map(str::to_owned)
}

#[test]
fn every_billed_resource_carries_its_component_tag() {
    let text = std::fs::read_to_string(helix_local::template::default_path()).unwrap();
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    let functions = component_in_map(doc["Globals"]["Function"].get("Tags"));
    assert_eq!(functions.as_deref(), Some("functions"), "Globals.Function.Tags tags every function");
    let mut missing = Vec::new();
    for (id, resource) in doc["Resources"].as_mapping().unwrap() {
        let id = id.as_str().unwrap();
        let kind = resource["Type"].as_str().unwrap();
        let props = resource.get("Properties");
        let tags = props.and_then(|p| p.get("Tags"));
        let component = match kind {
            "AWS::Serverless::Function" => component_in_map(tags).or_else(|| functions.clone()),
            "AWS::Serverless::HttpApi" => component_in_map(tags),
            "AWS::EC2::LaunchTemplate" => {
                let specs = props.and_then(|p| p["LaunchTemplateData"].get("TagSpecifications"));
                let instance = specs.and_then(Value::as_sequence).and_then(|specs| {
                    specs
                        .iter()
                        .find(|s| s["ResourceType"] == "instance")
                        .and_then(|s| component_in_list(s.get("Tags")))
                });
                instance
                    .filter(|_| component_in_list(props.and_then(|p| p["TagSpecifications"][0].get("Tags"))).is_some())
            }
            kind if LIST_TAGGED.contains(&kind) => component_in_list(tags),
            kind if UNTAGGABLE.contains(&kind) => continue,
            other => panic!("{id}: {other} is in neither list of this test: may it be tagged?"),
        };
        match component {
            Some(c) if COMPONENTS.contains(&c.as_str()) => {}
            Some(c) => missing.push(format!("{id}: helix:component {c:?} is not one of {COMPONENTS:?}")),
            None => missing.push(format!("{id} ({kind}) has no helix:component tag")),
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}
