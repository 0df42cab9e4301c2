//! Pipeline schedules: made, listed and deleted by the pipeline's editors ([`ScheduleService`]);
//! fired by [`ScheduleTrigger`] when their slot comes (an EventBridge Scheduler message in the
//! cloud, the local platform's poll), each slot claimed once in the store. A slot missed while
//! the platform was down fires once when it is back: the next slot is counted from the firing,
//! not from the missed one.
//!
//! A schedule reads a fixed set of content artifacts (one run per firing) or a folder of the
//! pipeline's inbox: each file waiting there when it fires starts one run, claimed by bucket, key
//! and ETag as an inbox file is, so a firing repeated or racing another runs no file twice.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use helix_domain::schedule::check_inbox_prefix;
use helix_domain::{
    ApiKeyId, ArtifactKind, ArtifactStatus, AuditOutcome, Clock, KeyScope, Pipeline, PipelineId, Schedule,
    ScheduleFire, ScheduleId, ScheduleInput, ScheduleStore, ScheduleTimer, StoreError, TeamAction, Timestamp, UserId,
};

use crate::audit::{AuditEvent, action};
use crate::batch::{MessageOutcome, handle_batch};
use crate::{
    Actor, InboxObject, InboxOutcome, InboxTrigger, JobError, KeyGrant, PipelineRun, PipelineService, RunStarted,
};

/// The most schedules one pipeline may have.
pub const MAX_SCHEDULES_PER_PIPELINE: usize = 10;
const MAX_CONTENT_FILES: usize = 20;
/// The most files one firing takes from an inbox folder; the rest wait for the next firing.
pub const MAX_FILES_PER_FIRING: usize = 100;
/// The shortest rate: a run a minute.
const MIN_RATE: Duration = Duration::from_secs(60);

/// A schedule's expression, parsed: a cron pattern of five fields (minute, hour, day of month,
/// month, day of week) in the schedule's time zone, or a fixed rate counted from the schedule's
/// creation.
#[derive(Clone, Debug)]
pub enum Expression {
    Cron(Box<croner::Cron>),
    Rate(Duration),
}

impl Expression {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some(rate) = text.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
            return parse_rate(rate).map(Self::Rate);
        }
        let parser = croner::parser::CronParser::builder().seconds(croner::parser::Seconds::Disallowed).build();
        parser
            .parse(text)
            .map(|cron| Self::Cron(Box::new(cron)))
            .map_err(|e| format!("expression is neither a 5-field cron pattern nor rate(<n> <unit>): {e}"))
    }

    /// The first slot strictly after `after`. A rate's slots are `anchor` plus whole periods.
    pub fn next_after(&self, after: Timestamp, anchor: Timestamp, zone: &jiff::tz::TimeZone) -> Option<Timestamp> {
        match self {
            Self::Rate(period) => {
                let period = period.as_secs().max(1) as i64;
                let since = after.unix() - anchor.unix();
                let periods = if since < 0 { 0 } else { since / period + 1 };
                Timestamp::from_unix(anchor.unix() + periods * period)
            }
            Self::Cron(cron) => {
                let start = jiff::Timestamp::from_second(after.unix()).ok()?.to_zoned(zone.clone());
                let next = cron.find_next_occurrence(&start, false).ok()?;
                Timestamp::from_unix(next.timestamp().as_second())
            }
        }
    }
}

fn parse_rate(rate: &str) -> Result<Duration, String> {
    let (count, unit) = rate.trim().split_once(' ').ok_or("a rate is rate(<n> minutes|hours|days)")?;
    let count: u64 = count.parse().map_err(|_| format!("rate count {count:?} is not a whole number"))?;
    let unit_seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        other => return Err(format!("rate unit {other:?} is not minutes, hours or days")),
    };
    let period = Duration::from_secs(count.saturating_mul(unit_seconds));
    if period < MIN_RATE {
        return Err("a rate is at least 1 minute".into());
    }
    Ok(period)
}

fn time_zone(name: &str) -> Result<jiff::tz::TimeZone, String> {
    jiff::tz::TimeZone::get(name)
        .map_err(|_| format!("timezone {name:?} is not an IANA time zone (e.g. Europe/Berlin)"))
}

/// A schedule as a transport received it.
#[derive(Clone, Debug)]
pub struct NewSchedule {
    pub expression: String,
    /// `UTC` when unset.
    pub timezone: Option<String>,
    pub input: ScheduleInput,
}

/// The schedule use cases.
pub struct ScheduleService {
    pub pipelines: Arc<PipelineService>,
    pub schedules: Arc<dyn ScheduleStore>,
    pub timer: Arc<dyn ScheduleTimer>,
    pub clock: Arc<dyn Clock>,
}

impl ScheduleService {
    pub async fn create(
        &self,
        actor: &Actor,
        pipeline: &PipelineId,
        request: NewSchedule,
    ) -> Result<Schedule, JobError> {
        let found = self.pipelines.editable(actor, pipeline, action::PIPELINE_SCHEDULE_CREATE).await?;
        let expression =
            Expression::parse(&request.expression).map_err(|reason| JobError::invalid("expression", reason))?;
        let timezone = request.timezone.unwrap_or_else(|| "UTC".into());
        let zone = time_zone(&timezone).map_err(|reason| JobError::invalid("timezone", reason))?;
        let input = self.check_input(&found, request.input).await?;
        if self.schedules.list(pipeline).await?.len() >= MAX_SCHEDULES_PER_PIPELINE {
            return Err(JobError::Conflict(format!(
                "the pipeline has {MAX_SCHEDULES_PER_PIPELINE} schedules already; delete one first"
            )));
        }
        let now = self.clock.now();
        let next_run_at = expression
            .next_after(now, now, &zone)
            .ok_or_else(|| JobError::invalid("expression", "the expression never fires"))?;
        let schedule = Schedule {
            id: ScheduleId::random(),
            pipeline_id: pipeline.clone(),
            expression: request.expression.trim().to_owned(),
            timezone,
            input,
            created_by: actor.user_id.clone(),
            created_at: now,
            next_run_at,
            last_fired_at: None,
            last_job_id: None,
            last_run_id: None,
            last_run_count: None,
            last_error: None,
            deleted_at: None,
        };
        let audit = &self.pipelines.audit;
        let event = || AuditEvent {
            team: &found.team_id,
            action: action::PIPELINE_SCHEDULE_CREATE,
            target: schedule.id.as_str(),
        };
        audit.record(actor, event(), AuditOutcome::Success).await?;
        let added = async {
            self.schedules.add(&schedule).await?;
            self.timer.arm(&schedule).await?;
            Ok(())
        }
        .await;
        audit.settled(actor, event(), added).await?;
        tracing::info!(pipeline_id = %pipeline, schedule_id = %schedule.id, next_run_at = %next_run_at, "schedule made");
        Ok(schedule)
    }

    /// An inbox folder, or content files each the team's, a content artifact, and uploaded;
    /// the input as stored (the folder without slashes around it).
    async fn check_input(&self, pipeline: &Pipeline, input: ScheduleInput) -> Result<ScheduleInput, JobError> {
        let ids = &input.content_artifact_ids;
        if let Some(prefix) = &input.inbox_prefix {
            if !ids.is_empty() {
                return Err(JobError::invalid("input", "give content_artifact_ids or inbox_prefix, not both"));
            }
            let folder =
                check_inbox_prefix(prefix).map_err(|reason| JobError::invalid("input.inbox_prefix", reason))?;
            return Ok(ScheduleInput { content_artifact_ids: Vec::new(), inbox_prefix: Some(folder) });
        }
        if ids.is_empty() || ids.len() > MAX_CONTENT_FILES {
            return Err(JobError::invalid(
                "input.content_artifact_ids",
                format!("give 1 to {MAX_CONTENT_FILES} content artifact ids, or an inbox_prefix"),
            ));
        }
        for (i, id) in ids.iter().enumerate() {
            let field = format!("input.content_artifact_ids[{i}]");
            let artifact = self.pipelines.jobs.artifacts.artifacts.get(id).await?;
            let Some(artifact) = artifact.filter(|a| a.team_id == pipeline.team_id) else {
                return Err(JobError::invalid(field, format!("artifact {id} is not one of the pipeline's team")));
            };
            if artifact.kind != ArtifactKind::Content || artifact.status != ArtifactStatus::Available {
                return Err(JobError::invalid(field, format!("artifact {id} is not an uploaded content file")));
            }
        }
        Ok(input)
    }

    pub async fn list(&self, actor: &Actor, pipeline: &PipelineId) -> Result<Vec<Schedule>, JobError> {
        self.pipelines.pipeline(actor, pipeline, TeamAction::Read).await?;
        Ok(self.schedules.list(pipeline).await?)
    }

    pub async fn delete(&self, actor: &Actor, pipeline: &PipelineId, id: &ScheduleId) -> Result<(), JobError> {
        let found = self.pipelines.editable(actor, pipeline, action::PIPELINE_SCHEDULE_DELETE).await?;
        let audit = &self.pipelines.audit;
        let event =
            || AuditEvent { team: &found.team_id, action: action::PIPELINE_SCHEDULE_DELETE, target: id.as_str() };
        audit.record(actor, event(), AuditOutcome::Success).await?;
        let deleted = async {
            let schedule = self.schedules.get(pipeline, id).await?.filter(|s| s.deleted_at.is_none());
            let schedule = schedule.ok_or(JobError::NotFound("schedule"))?;
            match self.schedules.delete(pipeline, id, self.clock.now()).await {
                Err(StoreError::NotFound) => return Err(JobError::NotFound("schedule")),
                other => other?,
            }
            self.timer.disarm(&schedule).await?;
            Ok(())
        }
        .await;
        audit.settled(actor, event(), deleted).await
    }
}

/// Who a scheduled run is made by: the schedule, as a key of the pipeline's team that reads and
/// submits jobs (every submission rule and audit entry applies).
pub fn schedule_actor(pipeline: &Pipeline, schedule: &Schedule) -> Actor {
    let principal = format!("schedule-{}", schedule.id);
    Actor {
        user_id: UserId::from(principal.clone()),
        key: Some(KeyGrant {
            key_id: ApiKeyId::from(principal),
            team_id: pipeline.team_id.clone(),
            scopes: vec![KeyScope::JobsRead, KeyScope::JobsWrite],
            pipeline_id: None,
        }),
        origin: None,
    }
}

/// Fires schedules whose slot has come: claims the slot (the next one counted from now), arms the
/// timer for it, and starts the runs.
pub struct ScheduleTrigger {
    pub pipelines: Arc<PipelineService>,
    pub schedules: Arc<dyn ScheduleStore>,
    pub timer: Arc<dyn ScheduleTimer>,
    pub clock: Arc<dyn Clock>,
    /// Takes the files waiting in the inbox folder a schedule reads.
    pub inbox: Arc<InboxTrigger>,
}

/// What one firing started, and what it could not.
#[derive(Default)]
struct Firing {
    started: Vec<RunStarted>,
    errors: Vec<String>,
}

impl ScheduleTrigger {
    /// The Lambda handler of the schedule queue.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        handle_batch(event, |message| self.handle_message(message)).await
    }

    async fn handle_message(&self, message: SqsMessage) -> MessageOutcome {
        let body = message.body.unwrap_or_default();
        let Ok(fire) = serde_json::from_str::<ScheduleFire>(&body) else {
            return MessageOutcome::Retry(format!("not a schedule message: {body:.200}"));
        };
        match self.fire(&fire).await {
            Ok(_) => MessageOutcome::Done,
            Err(e) => MessageOutcome::Retry(e.to_string()),
        }
    }

    /// Every schedule due now, once each (the local platform's poll, and its start-up).
    pub async fn fire_due(&self) -> Result<Vec<RunStarted>, JobError> {
        let mut started = Vec::new();
        for schedule in self.schedules.due(self.clock.now()).await? {
            let fire = ScheduleFire { pipeline_id: schedule.pipeline_id.clone(), schedule_id: schedule.id.clone() };
            match self.fire(&fire).await {
                Ok(runs) => started.extend(runs),
                Err(e) => tracing::warn!(schedule_id = %schedule.id, error = %e, "schedule not fired"),
            }
        }
        Ok(started)
    }

    /// The schedule's runs, if its slot has come and this call claimed it. `Err` when it should
    /// be tried again (a store was unavailable).
    pub async fn fire(&self, fire: &ScheduleFire) -> Result<Vec<RunStarted>, JobError> {
        let Some(schedule) = self.schedules.get(&fire.pipeline_id, &fire.schedule_id).await? else {
            return Ok(Vec::new());
        };
        if schedule.deleted_at.is_some() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        if schedule.next_run_at > now {
            // An early or repeated wake-up: make sure the timer is set for the real slot.
            self.timer.arm(&schedule).await?;
            return Ok(Vec::new());
        }
        let expression = Expression::parse(&schedule.expression).map_err(JobError::Internal)?;
        let zone = time_zone(&schedule.timezone).map_err(JobError::Internal)?;
        let next_run_at = expression
            .next_after(now, schedule.created_at, &zone)
            .ok_or_else(|| JobError::Internal(format!("schedule {} never fires again", schedule.id)))?;
        // The firing's outcome is unknown until its runs are started: none is shown meanwhile.
        let claimed = Schedule {
            next_run_at,
            last_fired_at: Some(now),
            last_job_id: None,
            last_run_id: None,
            last_run_count: None,
            last_error: None,
            ..schedule.clone()
        };
        match self.schedules.advance(&claimed, schedule.next_run_at).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
        self.timer.arm(&claimed).await?;
        let missed = now.seconds_since(&schedule.next_run_at);
        tracing::info!(schedule_id = %schedule.id, slot = %schedule.next_run_at, missed_seconds = missed, %next_run_at, "schedule fired");
        let firing =
            self.run(&schedule).await.unwrap_or_else(|e| Firing { started: Vec::new(), errors: vec![e.to_string()] });
        let mut recorded = claimed.clone();
        recorded.last_job_id = firing.started.iter().rev().find_map(|run| match run {
            RunStarted::Job(job) => Some(job.id.clone()),
            RunStarted::Chain(_) => None,
        });
        recorded.last_run_id = firing.started.iter().rev().find_map(|run| match run {
            RunStarted::Chain(chain) => Some(chain.id.clone()),
            RunStarted::Job(_) => None,
        });
        recorded.last_run_count = Some(u32::try_from(firing.started.len()).unwrap_or(u32::MAX));
        recorded.last_error = (!firing.errors.is_empty()).then(|| firing.errors.join("; "));
        if let Err(e) = self.schedules.advance(&recorded, claimed.next_run_at).await {
            tracing::warn!(schedule_id = %schedule.id, error = %e, "the firing not recorded on the schedule");
        }
        if let Some(error) = &recorded.last_error {
            tracing::warn!(schedule_id = %schedule.id, %error, "the schedule's firing was refused in part or whole");
        }
        Ok(firing.started)
    }

    async fn run(&self, schedule: &Schedule) -> Result<Firing, JobError> {
        let pipeline =
            self.pipelines.pipelines.get(&schedule.pipeline_id).await?.ok_or(JobError::NotFound("pipeline"))?;
        if let Some(folder) = &schedule.input.inbox_prefix {
            return self.take_waiting(&pipeline, folder).await;
        }
        let actor = schedule_actor(&pipeline, schedule);
        let run = PipelineRun {
            content: schedule.input.content_artifact_ids.clone(),
            name: Some(format!("{} (scheduled)", pipeline.name)),
            ..PipelineRun::default()
        };
        let started = self.pipelines.start(&actor, &pipeline.id, run).await?;
        Ok(Firing { started: vec![started], errors: Vec::new() })
    }

    /// One run per file waiting directly in the inbox folder (files in folders below it are
    /// other folders' to read). A file that could not be taken now (a store unavailable) stays
    /// for the next firing.
    async fn take_waiting(&self, pipeline: &Pipeline, folder: &str) -> Result<Firing, JobError> {
        if pipeline.archived_at.is_some() {
            return Err(JobError::Conflict("the pipeline is archived (deleted): it takes no runs".into()));
        }
        let prefix = format!("{}{folder}/", pipeline.inbox_prefix());
        let listed = self.pipelines.jobs.artifacts.blobs.list(&prefix, MAX_FILES_PER_FIRING).await?;
        let mut firing = Firing::default();
        for blob in listed.into_iter().filter(|b| !b.key[prefix.len()..].contains('/')) {
            let object = InboxObject {
                bucket: self.pipelines.bucket.clone(),
                etag: Some(blob.etag),
                version_id: None,
                key: blob.key,
            };
            match self.inbox.waiting_file(pipeline, &object).await {
                Ok(InboxOutcome::Started(run)) => firing.started.push(*run),
                Ok(InboxOutcome::Refused(reason)) => firing.errors.push(format!("{}: {reason}", object.key)),
                Ok(_) => {}
                Err(e) => firing.errors.push(format!("{}: not taken yet: {e}", object.key)),
            }
        }
        tracing::info!(pipeline_id = %pipeline.id, %prefix, runs = firing.started.len(), "inbox folder read");
        Ok(firing)
    }
}
