//! `DynamoPipelineStore` and the pipeline run listing of `DynamoJobStore` against the emulator
//! `make test` starts (`HELIX_TEST_AWS_ENDPOINT`), on tables created as `infra/template.yaml`
//! declares `PipelinesTable` and `JobsTable`.

use helix_aws::{DynamoJobStore, DynamoPipelineStore};
use helix_domain::{
    ChainRun, ChainStart, Comparison, Job, JobInputs, JobKind, JobStore, Pipeline, PipelineId, PipelineOptions,
    PipelineStep, PipelineStore, PipelineVersion, StepEnd, StoreError, TeamId, Timestamp,
};

mod common;
use common::{client, table};

fn at(second: i64) -> Timestamp {
    Timestamp::from_unix(1_800_000_000 + second).unwrap()
}

fn pipeline(id: &str, team: &str, second: i64) -> Pipeline {
    Pipeline {
        id: id.into(),
        team_id: team.into(),
        name: format!("pipeline {id}"),
        current_version: 1,
        created_by: "u1".into(),
        created_at: at(second),
        updated_at: at(second),
        archived_at: None,
        patterns: vec!["ORDERS_*.csv".into()],
    }
}

fn version(pipeline: &str, number: u32) -> PipelineVersion {
    PipelineVersion {
        pipeline_id: pipeline.into(),
        version: number,
        context_artifact_id: Some(format!("ctx-{number}").into()),
        schema_artifact_id: None,
        lookup_artifact_ids: vec!["plants".into()],
        options: PipelineOptions { auto_map: number.is_multiple_of(2) },
        steps: Vec::new(),
        author: "u1".into(),
        created_at: at(number as i64),
    }
}

#[tokio::test]
async fn pipelines_and_their_versions_read_back_as_written() {
    let client = client();
    let store = DynamoPipelineStore::new(client.clone(), table(&client, "PipelinesTable").await);
    let orders = pipeline("p1", "t1", 0);
    store.create(&orders, &version("p1", 1)).await.unwrap();
    store.create(&pipeline("p2", "t1", 5), &version("p2", 1)).await.unwrap();
    store.create(&pipeline("p3", "t2", 1), &version("p3", 1)).await.unwrap();
    assert!(matches!(store.create(&orders, &version("p1", 1)).await, Err(StoreError::Conflict(_))), "the id is taken");

    assert_eq!(store.get(&orders.id).await.unwrap(), Some(orders.clone()));
    assert_eq!(store.get(&PipelineId::from("none")).await.unwrap(), None);
    let listed: Vec<String> = store.list(&TeamId::from("t1")).await.unwrap().iter().map(|p| p.id.to_string()).collect();
    assert_eq!(listed, ["p1", "p2"], "the team's only, oldest first, and no versions among them");
    assert_eq!(store.version(&orders.id, 1).await.unwrap(), Some(version("p1", 1)));
    assert_eq!(store.version(&orders.id, 2).await.unwrap(), None);

    let comparison = Comparison {
        pipeline_id: orders.id.clone(),
        version: 1,
        baseline_job_id: "j1".into(),
        candidate_job_id: "j2".into(),
        created_by: "u1".into(),
        created_at: at(9),
    };
    store.add_comparison(&comparison).await.unwrap();
    assert_eq!(store.comparison(&orders.id, &"j2".into()).await.unwrap(), Some(comparison));
    assert_eq!(store.comparison(&orders.id, &"j1".into()).await.unwrap(), None);
    assert_eq!(store.versions(&orders.id).await.unwrap().len(), 1, "a comparison is no version");
    assert_eq!(store.list(&TeamId::from("t1")).await.unwrap().len(), 2, "nor a pipeline");
}

#[tokio::test]
async fn versions_are_numbered_without_gaps_and_one_save_wins_a_race() {
    let client = client();
    let store = DynamoPipelineStore::new(client.clone(), table(&client, "PipelinesTable").await);
    let orders = pipeline("p1", "t1", 0);
    store.create(&orders, &version("p1", 1)).await.unwrap();
    store.add_version(&version("p1", 2), at(20)).await.unwrap();
    let rival = PipelineVersion { author: "u2".into(), ..version("p1", 2) };
    assert!(matches!(store.add_version(&rival, at(21)).await, Err(StoreError::Conflict(_))), "version 2 is taken");
    assert!(matches!(store.add_version(&version("p1", 4), at(21)).await, Err(StoreError::Conflict(_))), "no gap");
    assert_eq!(store.version(&orders.id, 4).await.unwrap(), None, "a refused save leaves nothing behind");
    store.add_version(&version("p1", 3), at(30)).await.unwrap();

    let stored = store.get(&orders.id).await.unwrap().unwrap();
    assert_eq!((stored.current_version, stored.updated_at), (3, at(30)));
    let numbers: Vec<u32> = store.versions(&orders.id).await.unwrap().iter().map(|v| v.version).collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert_eq!(store.version(&orders.id, 2).await.unwrap().unwrap().author.as_str(), "u1");

    // A rename from a stale view loses; an archived pipeline takes no version and no change.
    let stale = Pipeline { name: "stale".into(), ..orders.clone() };
    assert!(matches!(store.update(&stale).await, Err(StoreError::Conflict(_))));
    let renamed = Pipeline {
        name: "Orders EU".into(),
        patterns: vec!["orders-*.xml".into()],
        updated_at: at(40),
        ..stored.clone()
    };
    store.update(&renamed).await.unwrap();
    let archived = Pipeline { archived_at: Some(at(50)), updated_at: at(50), ..renamed.clone() };
    store.update(&archived).await.unwrap();
    assert_eq!(store.get(&orders.id).await.unwrap(), Some(archived.clone()));
    assert!(matches!(store.add_version(&version("p1", 4), at(60)).await, Err(StoreError::Conflict(_))));
    assert!(matches!(store.update(&archived).await, Err(StoreError::Conflict(_))));
}

#[tokio::test]
async fn a_pipelines_runs_list_newest_first_and_page() {
    let client = client();
    let jobs = DynamoJobStore::new(client.clone(), table(&client, "JobsTable").await);
    let team = TeamId::from("t1");
    let run = |id: &str, second: i64, pipeline: Option<&str>| Job {
        team_id: team.clone(),
        pipeline_id: pipeline.map(PipelineId::from),
        pipeline_version: pipeline.map(|_| 2),
        ..Job::new(id.into(), "u1".into(), JobKind::Transform, None, JobInputs::default(), at(second))
    };
    for job in [run("j1", 1, Some("p1")), run("j2", 2, None), run("j3", 3, Some("p1")), run("j4", 4, Some("p2"))] {
        jobs.create(&job).await.unwrap();
    }
    let p1 = PipelineId::from("p1");
    let first = jobs.runs(&p1, 1, None).await.unwrap();
    assert_eq!(first.jobs.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(), ["j3"]);
    assert_eq!(first.jobs[0].pipeline_version, Some(2), "the version reads back");
    let cursor = first.next_cursor.expect("a second page");
    let second = jobs.runs(&p1, 10, Some(&cursor)).await.unwrap();
    assert_eq!(second.jobs.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(), ["j1"]);
    assert!(
        matches!(jobs.runs(&PipelineId::from("p2"), 10, Some(&cursor)).await, Err(StoreError::InvalidCursor)),
        "a cursor continues only its own pipeline's listing"
    );
    assert_eq!(jobs.list(&team, None, 10, None).await.unwrap().jobs.len(), 4, "runs are the team's jobs too");
}

#[tokio::test]
async fn a_chained_run_is_replaced_only_from_the_revision_it_read() {
    let client = client();
    let store = DynamoPipelineStore::new(client.clone(), table(&client, "PipelinesTable").await);
    store.create(&pipeline("p1", "t1", 0), &version("p1", 1)).await.unwrap();
    let step = |name: &str, after: &[&str]| PipelineStep {
        name: name.into(),
        context_artifact_id: Some("ctx".into()),
        schema_artifact_id: None,
        lookup_artifact_ids: Vec::new(),
        after: after.iter().map(|s| (*s).to_owned()).collect(),
    };
    let steps = [step("a", &[]), step("b", &["a"])];
    let run = ChainRun::start(ChainStart {
        id: "r1".into(),
        pipeline_id: "p1".into(),
        pipeline_version: 1,
        team_id: "t1".into(),
        created_by: "u1".into(),
        content: vec!["c1".into()],
        steps: &steps,
        now: at(1),
    });
    store.add_run(&run).await.unwrap();
    assert!(matches!(store.add_run(&run).await, Err(StoreError::Conflict(_))), "the id is taken");
    assert_eq!(store.run(&"p1".into(), &"r1".into()).await.unwrap(), Some(run.clone()));
    assert_eq!(store.run(&"p1".into(), &"r2".into()).await.unwrap(), None);

    let mut first = run.clone();
    assert!(first.finish_step("a", 1, StepEnd::Completed { result: Some("res-a".into()) }, at(2)));
    let mut rival = run.clone();
    assert!(rival.finish_step("a", 1, StepEnd::Failed { error: "late".into() }, at(3)));
    store.replace_run(&first).await.unwrap();
    assert!(matches!(store.replace_run(&rival).await, Err(StoreError::Conflict(_))), "revision 1 is gone");
    assert_eq!(store.run(&"p1".into(), &"r1".into()).await.unwrap(), Some(first));
    let listed = store.list(&TeamId::from("t1")).await.unwrap();
    assert_eq!(listed.len(), 1, "a run is no pipeline of the team index");
}
