//! Chained pipelines: a version's steps form a DAG, and a run of such a version is a [`ChainRun`]
//! with one job per step. A step runs on the run's content, or (`after`) on the results of the
//! steps it waits for, in the order it names them. The run record is advanced by the end of each
//! step's job; every write of it is conditional on the revision it read, so two ends that race,
//! or one end reported twice, submit each downstream step once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ArtifactId, JobId, JobStatus, PipelineId, RunId, TeamId, Timestamp, UserId};

/// The most steps a version has, and the longest step name.
pub const MAX_STEPS: usize = 20;
pub const MAX_STEP_NAME_CHARS: usize = 40;

/// One step of a chained version, as stored: its own documents, and the steps whose results are
/// its content.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PipelineStep {
    pub name: String,
    pub context_artifact_id: Option<ArtifactId>,
    pub schema_artifact_id: Option<ArtifactId>,
    #[serde(default)]
    pub lookup_artifact_ids: Vec<ArtifactId>,
    /// The steps whose results are this step's content files, in this order; the run's content
    /// when empty.
    #[serde(default)]
    pub after: Vec<String>,
}

/// Checks the steps' names and `after` lists as sent (name, after): unique names of letters,
/// digits, `-` and `_`, each `after` naming other steps once, no cycle. `Err((field, reason))`
/// names the first bad field (`steps[2].after`).
pub fn check_steps(steps: &[(String, Vec<String>)]) -> Result<(), (String, String)> {
    if steps.len() > MAX_STEPS {
        return Err(("steps".into(), format!("at most {MAX_STEPS} steps")));
    }
    for (i, (name, after)) in steps.iter().enumerate() {
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if name.is_empty() || name.len() > MAX_STEP_NAME_CHARS || !name.chars().all(valid) {
            return Err((
                format!("steps[{i}].name"),
                format!("a step name is 1 to {MAX_STEP_NAME_CHARS} letters, digits, '-' or '_'"),
            ));
        }
        if let Some(j) = steps[..i].iter().position(|(other, _)| other == name) {
            return Err((format!("steps[{i}].name"), format!("step name {name} is taken by steps[{j}]")));
        }
        for (k, upstream) in after.iter().enumerate() {
            if after[..k].contains(upstream) {
                return Err((format!("steps[{i}].after"), format!("{upstream} is listed twice")));
            }
            if upstream == name {
                return Err((format!("steps[{i}].after"), format!("step {name} cannot wait for itself")));
            }
        }
    }
    for (i, (_, after)) in steps.iter().enumerate() {
        if let Some(unknown) = after.iter().find(|u| !steps.iter().any(|(name, _)| name == *u)) {
            return Err((format!("steps[{i}].after"), format!("there is no step named {unknown}")));
        }
    }
    if let Some((i, cycle)) = first_cycle(steps) {
        return Err((format!("steps[{i}].after"), format!("the steps wait for each other: {}", cycle.join(" → "))));
    }
    Ok(())
}

/// A cycle of `after` links, if there is one: the index of a step on it and the names around it.
fn first_cycle(steps: &[(String, Vec<String>)]) -> Option<(usize, Vec<String>)> {
    let index = |name: &str| steps.iter().position(|(n, _)| n == name).expect("checked: every name exists");
    // Peel off the steps whose upstreams are all peeled (Kahn); what stays is on or behind a cycle.
    let mut done = vec![false; steps.len()];
    while let Some(i) = (0..steps.len()).find(|&i| !done[i] && steps[i].1.iter().all(|u| done[index(u)])) {
        done[i] = true;
    }
    let start = done.iter().position(|d| !d)?;
    // Walking upstream through steps that stay must come back to a step already walked.
    let mut path = vec![start];
    loop {
        let here = *path.last().expect("not empty");
        let next =
            steps[here].1.iter().map(|u| index(u)).find(|&u| !done[u]).expect("a stuck step waits for a stuck one");
        if let Some(at) = path.iter().position(|&p| p == next) {
            let mut names: Vec<String> = path[at..].iter().map(|&p| steps[p].0.clone()).collect();
            names.push(steps[next].0.clone());
            return Some((next, names));
        }
        path.push(next);
    }
}

/// Where a step of a run stands.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepStatus {
    /// An upstream step has not completed yet.
    Waiting,
    /// Its job is submitted (or being submitted) and has not ended.
    Running,
    Completed,
    Failed,
    /// An upstream step failed, or the run was cancelled before the step ran: it did not run.
    Skipped,
    /// Its job was submitted when the run was cancelled: the job is cancelled (a job that
    /// completed before it was told makes the step `COMPLETED`).
    Cancelled,
}

/// Where a chained run stands.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Running,
    Completed,
    /// A step failed (named in `error`) and nothing runs any more.
    Failed,
    /// Cancelled while it ran: its submitted steps' jobs cancelled, the steps after them skipped.
    Cancelled,
}

/// One step of a run.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StepRun {
    pub name: String,
    #[serde(default)]
    pub after: Vec<String>,
    pub status: StepStatus,
    /// 1 for the step's first execution, one more for each retry of the run that executes it
    /// again; part of the step's job id.
    pub attempt: u32,
    /// The job of the current attempt, once the step is `RUNNING`.
    pub job_id: Option<JobId>,
    /// What submits the job: the upstream step whose completion made the step ready, `start` or
    /// `retry-<n>`. Only a report of that end submits it (again, after a crash), never another.
    pub submitted_by: Option<String>,
    /// The job's result, once the step is `COMPLETED`: the content of the steps after it.
    pub result_artifact_id: Option<ArtifactId>,
    pub error: Option<String>,
}

/// A run of a chained version: its steps and their jobs.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ChainRun {
    pub id: RunId,
    pub pipeline_id: PipelineId,
    pub pipeline_version: u32,
    pub team_id: TeamId,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The run's content files: the content of the steps that wait for none.
    pub content: Vec<ArtifactId>,
    pub status: RunStatus,
    /// Names the failed step, once the run is `FAILED`.
    pub error: Option<String>,
    /// How often the run was retried.
    pub retries: u32,
    /// One more with every write; each write is conditional on the revision it read.
    pub revision: u64,
    pub steps: Vec<StepRun>,
}

/// How a step's job ended, as the run records it.
#[derive(Clone, Debug, PartialEq)]
pub enum StepEnd {
    Completed { result: Option<ArtifactId> },
    Failed { error: String },
}

impl StepEnd {
    /// The end of a finished job; `None` while it runs.
    pub fn of(job: &crate::Job) -> Option<Self> {
        match job.status {
            JobStatus::Completed => Some(Self::Completed { result: job.result_artifact_id.clone() }),
            JobStatus::Failed => {
                Some(Self::Failed { error: job.error.clone().unwrap_or_else(|| "the job failed".into()) })
            }
            JobStatus::Cancelled => Some(Self::Failed { error: "the job was cancelled".into() }),
            JobStatus::Pending | JobStatus::Running => None,
        }
    }
}

/// A step's job, known by its id: `<run>.<step>.<attempt>`. The id names the run, so the end of
/// a job finds its run without an index, and a job submitted twice is the same job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepJob {
    pub run_id: RunId,
    pub step: String,
    pub attempt: u32,
}

impl StepJob {
    pub fn job_id(&self) -> JobId {
        JobId::from(format!("{}.{}.{}", self.run_id, self.step, self.attempt))
    }

    pub fn parse(id: &JobId) -> Option<Self> {
        let mut parts = id.as_str().split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(run), Some(step), Some(attempt), None) if !run.is_empty() && !step.is_empty() => {
                Some(Self { run_id: run.into(), step: step.to_owned(), attempt: attempt.parse().ok()? })
            }
            _ => None,
        }
    }
}

/// What [`ChainRun::start`] takes from the version.
pub struct ChainStart<'a> {
    pub id: RunId,
    pub pipeline_id: PipelineId,
    pub pipeline_version: u32,
    pub team_id: TeamId,
    pub created_by: UserId,
    pub content: Vec<ArtifactId>,
    pub steps: &'a [PipelineStep],
    pub now: Timestamp,
}

/// Who submits the steps a run's start makes ready.
pub const STARTED_BY: &str = "start";

impl ChainRun {
    /// A new run: the steps that wait for none `RUNNING` (their jobs to submit), the rest waiting.
    pub fn start(start: ChainStart<'_>) -> Self {
        let steps = start
            .steps
            .iter()
            .map(|step| StepRun {
                name: step.name.clone(),
                after: step.after.clone(),
                status: StepStatus::Waiting,
                attempt: 1,
                job_id: None,
                submitted_by: None,
                result_artifact_id: None,
                error: None,
            })
            .collect();
        let mut run = Self {
            id: start.id,
            pipeline_id: start.pipeline_id,
            pipeline_version: start.pipeline_version,
            team_id: start.team_id,
            created_by: start.created_by,
            created_at: start.now,
            updated_at: start.now,
            content: start.content,
            status: RunStatus::Running,
            error: None,
            retries: 0,
            revision: 1,
            steps,
        };
        run.submit_ready(STARTED_BY);
        run
    }

    pub fn step(&self, name: &str) -> Option<&StepRun> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// The job of the step's current attempt.
    pub fn job_of(&self, step: &StepRun) -> JobId {
        StepJob { run_id: self.id.clone(), step: step.name.clone(), attempt: step.attempt }.job_id()
    }

    /// The step's content: the run's files, or its upstream steps' results in the order it names
    /// them.
    pub fn content_of(&self, step: &StepRun) -> Vec<ArtifactId> {
        if step.after.is_empty() {
            return self.content.clone();
        }
        step.after
            .iter()
            .filter_map(|upstream| self.step(upstream).and_then(|s| s.result_artifact_id.clone()))
            .collect()
    }

    /// The `RUNNING` steps whose jobs `submitter` submits.
    pub fn submitted_by(&self, submitter: &str) -> Vec<&StepRun> {
        self.steps
            .iter()
            .filter(|s| s.status == StepStatus::Running && s.submitted_by.as_deref() == Some(submitter))
            .collect()
    }

    /// Records how the job of `step`'s `attempt` ended: a completion makes the steps waiting for
    /// it ready once all their upstreams completed; a failure skips every step downstream.
    /// `false` (nothing changed) for a step that is not running that attempt: a repeated or late
    /// report.
    pub fn finish_step(&mut self, step: &str, attempt: u32, end: StepEnd, now: Timestamp) -> bool {
        let Some(i) = self.steps.iter().position(|s| s.name == step) else { return false };
        if self.steps[i].attempt != attempt {
            return false;
        }
        match (self.steps[i].status, &end) {
            (StepStatus::Running, _) => {}
            // The run was cancelled as this step's job completed, before the job was told: the
            // step shows what its job did, and keeps its result for a retry; nothing after it
            // starts, and the run stays cancelled.
            (StepStatus::Cancelled, StepEnd::Completed { result }) => {
                self.steps[i].status = StepStatus::Completed;
                self.steps[i].result_artifact_id = result.clone();
                self.updated_at = now;
                self.revision += 1;
                return true;
            }
            _ => return false,
        }
        match end {
            StepEnd::Completed { result } => {
                self.steps[i].status = StepStatus::Completed;
                self.steps[i].result_artifact_id = result;
                self.submit_ready(step);
            }
            StepEnd::Failed { error } => {
                self.steps[i].status = StepStatus::Failed;
                self.steps[i].error = Some(error);
                self.skip_downstream_of(step);
            }
        }
        self.settle_status();
        self.updated_at = now;
        self.revision += 1;
        true
    }

    /// Runs the failed, skipped and cancelled steps again: each gets a new attempt (a new job),
    /// those whose upstreams completed are submitted now; completed steps keep their results.
    /// `Err` with the reason unless the run is `FAILED` or `CANCELLED`.
    pub fn retry(&mut self, now: Timestamp) -> Result<(), String> {
        if !matches!(self.status, RunStatus::Failed | RunStatus::Cancelled) {
            let status = format!("{:?}", self.status).to_uppercase();
            return Err(format!("the run is {status}: only a FAILED or CANCELLED run is retried"));
        }
        for step in &mut self.steps {
            if matches!(step.status, StepStatus::Failed | StepStatus::Skipped | StepStatus::Cancelled) {
                step.status = StepStatus::Waiting;
                step.attempt += 1;
                step.job_id = None;
                step.submitted_by = None;
                step.error = None;
            }
        }
        self.retries += 1;
        self.error = None;
        self.status = RunStatus::Running;
        self.submit_ready(&self.retry_submitter());
        self.updated_at = now;
        self.revision += 1;
        Ok(())
    }

    /// Cancels a `RUNNING` run: its running steps become `CANCELLED` (their jobs to cancel; one
    /// that completes all the same makes its step `COMPLETED`), its waiting steps `SKIPPED`. The jobs to cancel; `Err` with the
    /// reason when the run has ended.
    pub fn cancel(&mut self, now: Timestamp) -> Result<Vec<JobId>, String> {
        if self.status != RunStatus::Running {
            let status = format!("{:?}", self.status).to_uppercase();
            return Err(format!("the run is {status}: only a RUNNING run is cancelled"));
        }
        let mut jobs = Vec::new();
        for step in &mut self.steps {
            match step.status {
                StepStatus::Running => {
                    step.status = StepStatus::Cancelled;
                    jobs.extend(step.job_id.clone());
                }
                StepStatus::Waiting => step.status = StepStatus::Skipped,
                StepStatus::Completed | StepStatus::Failed | StepStatus::Skipped | StepStatus::Cancelled => {}
            }
        }
        self.status = RunStatus::Cancelled;
        self.error = Some("the run was cancelled".into());
        self.updated_at = now;
        self.revision += 1;
        Ok(jobs)
    }

    /// Who submits the steps the latest retry made ready.
    pub fn retry_submitter(&self) -> String {
        format!("retry-{}", self.retries)
    }

    /// Every waiting step whose upstreams all completed becomes `RUNNING`, submitted by `submitter`.
    fn submit_ready(&mut self, submitter: &str) {
        let completed: Vec<String> =
            self.steps.iter().filter(|s| s.status == StepStatus::Completed).map(|s| s.name.clone()).collect();
        let run_id = self.id.clone();
        for step in &mut self.steps {
            if step.status == StepStatus::Waiting && step.after.iter().all(|u| completed.contains(u)) {
                step.status = StepStatus::Running;
                step.job_id =
                    Some(StepJob { run_id: run_id.clone(), step: step.name.clone(), attempt: step.attempt }.job_id());
                step.submitted_by = Some(submitter.to_owned());
            }
        }
    }

    fn skip_downstream_of(&mut self, failed: &str) {
        let mut stopped = vec![failed.to_owned()];
        while let Some(step) = self
            .steps
            .iter_mut()
            .find(|s| s.status == StepStatus::Waiting && s.after.iter().any(|u| stopped.contains(u)))
        {
            step.status = StepStatus::Skipped;
            stopped.push(step.name.clone());
        }
    }

    fn settle_status(&mut self) {
        if self.steps.iter().all(|s| s.status == StepStatus::Completed) {
            self.status = RunStatus::Completed;
        } else if self.steps.iter().any(|s| s.status == StepStatus::Running) {
            self.status = RunStatus::Running;
        } else if let Some(failed) = self.steps.iter().find(|s| s.status == StepStatus::Failed) {
            self.status = RunStatus::Failed;
            self.error =
                Some(format!("step {} failed: {}", failed.name, failed.error.as_deref().unwrap_or("no reason given")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(steps: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        steps.iter().map(|(n, a)| ((*n).to_owned(), a.iter().map(|s| (*s).to_owned()).collect())).collect()
    }

    #[test]
    fn a_dag_is_accepted() {
        assert_eq!(check_steps(&shape(&[("a", &[]), ("b", &[]), ("c", &["a", "b"])])), Ok(()));
    }

    #[test]
    fn bad_steps_are_named_by_field() {
        let field = |steps: &[(&str, &[&str])]| check_steps(&shape(steps)).unwrap_err().0;
        assert_eq!(field(&[("a", &[]), ("a", &[])]), "steps[1].name");
        assert_eq!(field(&[("a", &[]), ("b c", &[])]), "steps[1].name");
        assert_eq!(field(&[("a", &[]), ("b", &[]), ("c", &["x"])]), "steps[2].after");
        assert_eq!(field(&[("a", &["a"])]), "steps[0].after");
        assert_eq!(field(&[("a", &[]), ("b", &["a", "a"])]), "steps[1].after");
        let (field, reason) =
            check_steps(&shape(&[("a", &[]), ("b", &["d"]), ("c", &["b"]), ("d", &["c"])])).unwrap_err();
        assert!(field.starts_with("steps[") && field.ends_with("].after"), "{field}");
        assert!(reason.contains("b") && reason.contains("c") && reason.contains("d"), "{reason}");
    }

    fn run_of(steps: &[(&str, &[&str])]) -> ChainRun {
        let steps: Vec<PipelineStep> = steps
            .iter()
            .map(|(name, after)| PipelineStep {
                name: (*name).to_owned(),
                context_artifact_id: None,
                schema_artifact_id: None,
                lookup_artifact_ids: vec![],
                after: after.iter().map(|a| (*a).to_owned()).collect(),
            })
            .collect();
        ChainRun::start(ChainStart {
            id: "r1".into(),
            pipeline_id: "p1".into(),
            pipeline_version: 1,
            team_id: "t1".into(),
            created_by: "u1".into(),
            content: vec![],
            steps: &steps,
            now: Timestamp::from_unix(1_700_000_000).unwrap(),
        })
    }

    #[test]
    fn a_step_whose_job_completed_as_its_run_was_cancelled_shows_completed() {
        let mut run = run_of(&[("a", &[]), ("b", &["a"])]);
        let now = run.created_at;
        run.cancel(now).unwrap();
        let cancelled_end = StepEnd::Failed { error: "the job was cancelled".into() };
        assert!(!run.finish_step("a", 1, cancelled_end, now), "a cancelled job's end changes nothing");
        assert_eq!(run.steps[0].status, StepStatus::Cancelled);

        let result = Some(ArtifactId::from("result-a"));
        assert!(run.finish_step("a", 1, StepEnd::Completed { result: result.clone() }, now));
        assert_eq!((run.steps[0].status, &run.steps[0].result_artifact_id), (StepStatus::Completed, &result));
        assert_eq!(run.steps[1].status, StepStatus::Skipped, "nothing after it starts");
        assert_eq!(run.status, RunStatus::Cancelled);
        assert!(!run.finish_step("a", 1, StepEnd::Completed { result }, now), "a repeated report changes nothing");

        run.retry(now).unwrap();
        assert_eq!(run.steps[0].status, StepStatus::Completed, "a retry keeps the completed step");
        assert_eq!(run.steps[1].status, StepStatus::Running);
    }

    #[test]
    fn step_jobs_name_their_run() {
        let job = StepJob { run_id: "r1".into(), step: "a-b".into(), attempt: 2 };
        assert_eq!(job.job_id().as_str(), "r1.a-b.2");
        assert_eq!(StepJob::parse(&job.job_id()), Some(job));
        assert_eq!(StepJob::parse(&JobId::from("8c4e0b1a-1b2c-4d5e-8f90-123456789abc".to_owned())), None);
    }
}
