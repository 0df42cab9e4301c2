//! Reviewing a suggest-mapping job's draft: the reviewer's decisions per target field (accept,
//! change to another column, reject, and the value map) become the confirmed context, saved as a
//! context artifact or as a new version of a pipeline, and every confirmed pair goes into the
//! team's mapping memory, which the team's later suggest-mapping jobs consult first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use helix_domain::{
    ArtifactId, ArtifactKind, ColumnSignature, JobId, JobKind, JobStatus, MAX_REMEMBERED_PER_TEAM, MappingMemoryStore,
    PipelineId, RememberedMapping, TeamAction, TeamId,
};

use crate::documents::{Document, DocumentError, check_context, read_document};
use crate::pipelines::PipelineDefinition;
use crate::{Actor, InlineFile, Input, InputSource, JobError, JobService, PipelineService};

/// The most entries one field's value map may have.
const MAX_VALUE_MAP_ENTRIES: usize = 1_000;

/// What the reviewer decided for one target field.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The draft's proposal, as it is (its value map may still be edited).
    Accept,
    /// Another column of the file fills the field (`source`).
    Change,
    /// The field stays unmapped.
    Reject,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDecision {
    /// The target field's dotted path, as the draft's report names it.
    pub field: String,
    pub decision: Decision,
    /// With `change`: the source column (as the report's `columns` name it).
    #[serde(default)]
    pub source: Option<String>,
    /// The field's value map (source value → target value), replacing the draft's; `{}` drops it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub value_map: Option<BTreeMap<String, Value>>,
}

/// The body of `POST /jobs/{id}/draft/confirm`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftConfirmation {
    /// One decision per reviewed field; a field left out keeps the draft's proposal.
    #[serde(default)]
    pub decisions: Vec<FieldDecision>,
    /// Saves the confirmed context as a new version of this pipeline of the job's team (the
    /// version keeps the pipeline's schema, which checks it) instead of a context artifact.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub pipeline_id: Option<PipelineId>,
}

/// What a confirmation saved.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ConfirmedDraft {
    /// The suggest-mapping job whose draft was confirmed.
    #[schema(value_type = String)]
    pub job_id: JobId,
    /// The confirmed context (YAML).
    pub context: String,
    /// The context artifact saved, when no pipeline was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub context_artifact_id: Option<ArtifactId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub pipeline_id: Option<PipelineId>,
    /// The pipeline version saved, when a pipeline was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_version: Option<u32>,
    /// The confirmed pairs, as the team's mapping memory now holds them.
    pub remembered: Vec<RememberedMapping>,
    /// Target fields the confirmed context leaves unmapped (rejected, or never proposed).
    pub unmapped: Vec<String>,
}

/// The parts of a suggest-mapping job's report (`helix_suggest::Report`) a review reads.
#[derive(Deserialize)]
struct DraftReport {
    source: String,
    fields: Vec<DraftField>,
    #[serde(default)]
    columns: Vec<DraftColumn>,
}

#[derive(Deserialize)]
struct DraftField {
    target: String,
    #[serde(default)]
    required: bool,
    source: Option<String>,
    expression: Option<String>,
    #[serde(default)]
    when: Option<String>,
    #[serde(default)]
    value_map: Option<DraftValueMap>,
    #[serde(default)]
    expressions: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct DraftValueMap {
    entries: Vec<DraftValue>,
}

#[derive(Deserialize)]
struct DraftValue {
    source: String,
    target: Value,
}

#[derive(Deserialize)]
struct DraftColumn {
    name: String,
    expression: String,
    textual: bool,
    signature: ColumnSignature,
}

/// A field as confirmed: its column and value map.
struct Confirmed<'a> {
    field: &'a DraftField,
    column: &'a DraftColumn,
    value: String,
    when: Option<String>,
    value_map: BTreeMap<String, Value>,
}

fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialise")
}

/// The decisions checked against the draft: each names one of its fields once, a change names
/// one of its columns, an accepted field has a proposal. Errors name `decisions[i].…`.
fn confirm<'a>(report: &'a DraftReport, decisions: &[FieldDecision]) -> Result<Vec<Confirmed<'a>>, JobError> {
    let mut decided: BTreeMap<&str, (usize, &FieldDecision)> = BTreeMap::new();
    for (i, d) in decisions.iter().enumerate() {
        if !report.fields.iter().any(|f| f.target == d.field) {
            return Err(JobError::invalid(
                format!("decisions[{i}].field"),
                format!("the draft has no target field {:?}", d.field),
            ));
        }
        if decided.insert(d.field.as_str(), (i, d)).is_some() {
            return Err(JobError::invalid(format!("decisions[{i}].field"), format!("{:?} is decided twice", d.field)));
        }
        if let Some(map) = &d.value_map {
            if map.len() > MAX_VALUE_MAP_ENTRIES {
                return Err(JobError::invalid(
                    format!("decisions[{i}].value_map"),
                    format!("at most {MAX_VALUE_MAP_ENTRIES} entries"),
                ));
            }
            if let Some((key, _)) = map.iter().find(|(_, v)| v.is_array() || v.is_object() || v.is_null()) {
                return Err(JobError::invalid(
                    format!("decisions[{i}].value_map"),
                    format!("the target value of {key:?} must be a string, a number or a boolean"),
                ));
            }
        }
    }
    let mut confirmed = Vec::new();
    for field in &report.fields {
        let decision = decided.get(field.target.as_str());
        let (source, changed) = match decision {
            Some((_, d)) if d.decision == Decision::Reject => continue,
            Some((i, d)) if d.decision == Decision::Change => {
                let source = d.source.as_deref().ok_or_else(|| {
                    JobError::invalid(
                        format!("decisions[{i}].source"),
                        "a change names the column that fills the field",
                    )
                })?;
                (source, true)
            }
            Some((i, _)) => (
                field.source.as_deref().ok_or_else(|| {
                    JobError::invalid(
                        format!("decisions[{i}].decision"),
                        format!("the draft proposes no column for {:?}: change it to one, or reject it", field.target),
                    )
                })?,
                false,
            ),
            None => match field.source.as_deref() {
                Some(source) => (source, false),
                None => continue,
            },
        };
        let column = report.columns.iter().find(|c| c.name == source).ok_or_else(|| {
            let i = decision.map_or(0, |(i, _)| *i);
            JobError::invalid(format!("decisions[{i}].source"), format!("the file has no column {source:?}"))
        })?;
        let value_map = match decision.and_then(|(_, d)| d.value_map.clone()) {
            Some(map) => map,
            None if changed => BTreeMap::new(),
            None => {
                field.value_map.iter().flat_map(|m| &m.entries).map(|e| (e.source.clone(), e.target.clone())).collect()
            }
        };
        // A mapped text value is only trimmed: the map's keys are the trimmed values.
        let value = match (changed, value_map.is_empty() || !column.textual) {
            (_, false) => format!("{{{{ {} | trim }}}}", column.expression),
            (false, true) if field.value_map.as_ref().is_none_or(|m| m.entries.is_empty()) => {
                field.expression.clone().unwrap_or_else(|| format!("{{{{ {} }}}}", column.expression))
            }
            _ => field.expressions.get(source).cloned().unwrap_or_else(|| format!("{{{{ {} }}}}", column.expression)),
        };
        let when = match (changed, field.required) {
            (false, _) => field.when.clone(),
            (true, true) => None,
            (true, false) if column.textual => Some(format!("{} | default('') | trim != ''", column.expression)),
            (true, false) => Some(format!("{0} is defined and {0} is not none", column.expression)),
        };
        confirmed.push(Confirmed { field, column, value, when, value_map });
    }
    Ok(confirmed)
}

fn context_yaml(report: &DraftReport, confirmed: &[Confirmed<'_>], by: &str, job: &JobId, on: &str) -> String {
    let mut yaml = format!(
        "# Context confirmed by {} on {on} from the draft of job {job} ({}).\nfields:\n",
        by.replace(['\n', '\r'], " "),
        report.source.replace(['\n', '\r'], " ")
    );
    for c in confirmed {
        let mut parts = vec![format!("value: {}", yaml_string(&c.value))];
        if !c.value_map.is_empty() {
            let entries: Vec<String> = c.value_map.iter().map(|(k, v)| format!("{}: {v}", yaml_string(k))).collect();
            parts.push(format!("map: {{ {} }}", entries.join(", ")));
        }
        if let Some(when) = &c.when {
            parts.push(format!("when: {}", yaml_string(when)));
        }
        let key = yaml_string(&c.field.target);
        if parts.len() == 1 {
            yaml.push_str(&format!("  {key}: {}\n", yaml_string(&c.value)));
        } else {
            yaml.push_str(&format!("  {key}: {{ {} }}\n", parts.join(", ")));
        }
    }
    yaml
}

/// The review use cases: confirming a draft, and a team's mapping memory listed and pruned.
pub struct DraftReviewService {
    pub jobs: Arc<JobService>,
    pub pipelines: Arc<PipelineService>,
    pub memory: Arc<dyn MappingMemoryStore>,
}

impl DraftReviewService {
    /// Confirms the draft of a completed suggest-mapping job: the team's members (not viewers).
    /// `confirmed_by` is who the memory says confirmed it (the person's e-mail address).
    pub async fn confirm(
        &self,
        actor: &Actor,
        confirmed_by: &str,
        job_id: &JobId,
        confirmation: DraftConfirmation,
    ) -> Result<ConfirmedDraft, JobError> {
        let job = self.jobs.get(actor, job_id).await?;
        self.jobs.access.require(actor, &job.team_id, TeamAction::SubmitJobs, "job").await?;
        if job.kind != JobKind::SuggestMapping {
            return Err(JobError::Conflict("only a suggest-mapping job has a draft to confirm".into()));
        }
        let report_id = match (job.status, &job.error_report_artifact_id) {
            (JobStatus::Completed, Some(id)) => id,
            _ => {
                return Err(JobError::Conflict(format!(
                    "the job is {}: its draft can be confirmed once it has completed",
                    job.status.as_str()
                )));
            }
        };
        let report = self.report(report_id).await?;
        let confirmed = confirm(&report, &confirmation.decisions)?;
        let now = self.jobs.clock.now();
        let day = now.to_string()[..10].to_owned();
        let yaml = context_yaml(&report, &confirmed, confirmed_by, job_id, &day);
        let remembered: Vec<RememberedMapping> = confirmed
            .iter()
            .map(|c| RememberedMapping {
                id: RememberedMapping::entry_id(&c.field.target, &c.column.name),
                team_id: job.team_id.clone(),
                column: c.column.name.clone(),
                signature: c.column.signature.clone(),
                target: c.field.target.clone(),
                value_map: c.value_map.clone(),
                confirmed_by: confirmed_by.to_owned(),
                confirmed_at: now,
                source_file: report.source.clone(),
                job_id: job_id.clone(),
            })
            .collect();
        self.check_room(&job.team_id, &remembered).await?;

        let mut saved = ConfirmedDraft {
            job_id: job_id.clone(),
            context: yaml.clone(),
            context_artifact_id: None,
            pipeline_id: None,
            pipeline_version: None,
            remembered: Vec::new(),
            unmapped: report
                .fields
                .iter()
                .filter(|f| !confirmed.iter().any(|c| c.field.target == f.target))
                .map(|f| f.target.clone())
                .collect(),
        };
        match confirmation.pipeline_id {
            Some(pipeline_id) => {
                let pipeline = self.pipelines.get(actor, &pipeline_id).await?;
                if pipeline.team_id != job.team_id {
                    return Err(JobError::invalid("pipeline_id", "the pipeline is not of the job's team"));
                }
                let context = Input::new("context", InputSource::Text(yaml));
                let definition = PipelineDefinition { context: Some(context), ..PipelineDefinition::default() };
                let version = self.pipelines.save_version(actor, &pipeline_id, definition).await?;
                saved.pipeline_version = Some(version.version);
                saved.pipeline_id = Some(pipeline_id);
            }
            None => {
                check_context(&Document { name: "context.yaml".into(), text: yaml.clone() }, "decisions")?;
                let file = InlineFile {
                    kind: ArtifactKind::Context,
                    filename: "confirmed-context.yaml".into(),
                    content_type: "application/yaml".into(),
                    bytes: yaml.into_bytes(),
                };
                let owner = actor.person()?;
                let id = self.jobs.artifacts.store_inline(owner, &job.team_id, job_id, file).await?;
                saved.context_artifact_id = Some(id);
            }
        }
        self.memory.remember(&remembered).await?;
        tracing::info!(job_id = %job_id, fields = remembered.len(), "draft confirmed");
        saved.remembered = remembered;
        Ok(saved)
    }

    async fn report(&self, id: &ArtifactId) -> Result<DraftReport, JobError> {
        let artifacts = &self.jobs.artifacts;
        let artifact = artifacts.artifacts.get(id).await?.ok_or(JobError::NotFound("draft report"))?;
        let document = read_document(&*artifacts.blobs, &artifact).await.map_err(|e| match e {
            DocumentError::Store(e) => JobError::from(e),
            other => JobError::Internal(format!("the draft's report: {other}")),
        })?;
        serde_json::from_str(&document.text).map_err(|e| JobError::Internal(format!("the draft's report: {e}")))
    }

    async fn check_room(&self, team: &TeamId, adding: &[RememberedMapping]) -> Result<(), JobError> {
        let held: BTreeSet<String> = self.memory.list(team).await?.into_iter().map(|e| e.id).collect();
        let new = adding.iter().filter(|e| !held.contains(&e.id)).count();
        if held.len() + new > MAX_REMEMBERED_PER_TEAM {
            return Err(JobError::Conflict(format!(
                "the team's mapping memory holds {} entries, at most {MAX_REMEMBERED_PER_TEAM}: delete some first",
                held.len()
            )));
        }
        Ok(())
    }

    /// The team's mapping memory, by target field and column: its members and viewers.
    pub async fn memory(&self, actor: &Actor, team: &TeamId) -> Result<Vec<RememberedMapping>, JobError> {
        self.jobs.access.require(actor, team, TeamAction::Read, "team").await?;
        let mut entries = self.memory.list(team).await?;
        entries.sort_by(|a, b| a.target.cmp(&b.target).then_with(|| a.column.cmp(&b.column)));
        Ok(entries)
    }

    /// Deletes an entry of the team's mapping memory: its members.
    pub async fn forget(&self, actor: &Actor, team: &TeamId, id: &str) -> Result<(), JobError> {
        self.jobs.access.require(actor, team, TeamAction::SubmitJobs, "team").await?;
        if self.memory.forget(team, id).await? { Ok(()) } else { Err(JobError::NotFound("mapping memory entry")) }
    }
}
