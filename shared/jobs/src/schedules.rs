//! Pipeline schedules: made, listed and deleted by the pipeline's editors ([`ScheduleService`]);
//! fired by [`ScheduleTrigger`] when their slot comes (an EventBridge Scheduler message in the
//! cloud, the local platform's poll), each slot claimed once in the store. A slot missed while
//! the platform was down fires once when it is back: the next slot is counted from the firing,
//! not from the missed one.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use helix_domain::{
    ApiKeyId, ArtifactKind, ArtifactStatus, AuditOutcome, Clock, Job, KeyScope, Pipeline, PipelineId, Schedule,
    ScheduleFire, ScheduleId, ScheduleInput, ScheduleStore, ScheduleTimer, StoreError, TeamAction, Timestamp, UserId,
};

use crate::audit::{AuditEvent, action};
use crate::batch::{MessageOutcome, handle_batch};
use crate::{Actor, JobError, KeyGrant, PipelineRun, PipelineService};

/// The most schedules one pipeline may have.
pub const MAX_SCHEDULES_PER_PIPELINE: usize = 10;
const MAX_CONTENT_FILES: usize = 20;
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
        self.check_input(&found, &request.input).await?;
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
            input: request.input,
            created_by: actor.user_id.clone(),
            created_at: now,
            next_run_at,
            last_fired_at: None,
            last_job_id: None,
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

    /// Each content file is the team's, a content artifact, and uploaded.
    async fn check_input(&self, pipeline: &Pipeline, input: &ScheduleInput) -> Result<(), JobError> {
        let ids = &input.content_artifact_ids;
        if ids.is_empty() || ids.len() > MAX_CONTENT_FILES {
            return Err(JobError::invalid(
                "input.content_artifact_ids",
                format!("give 1 to {MAX_CONTENT_FILES} content artifact ids"),
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
        Ok(())
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
/// timer for it, and starts the run.
pub struct ScheduleTrigger {
    pub pipelines: Arc<PipelineService>,
    pub schedules: Arc<dyn ScheduleStore>,
    pub timer: Arc<dyn ScheduleTimer>,
    pub clock: Arc<dyn Clock>,
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
    pub async fn fire_due(&self) -> Result<Vec<Job>, JobError> {
        let mut started = Vec::new();
        for schedule in self.schedules.due(self.clock.now()).await? {
            let fire = ScheduleFire { pipeline_id: schedule.pipeline_id.clone(), schedule_id: schedule.id.clone() };
            match self.fire(&fire).await {
                Ok(job) => started.extend(job),
                Err(e) => tracing::warn!(schedule_id = %schedule.id, error = %e, "schedule not fired"),
            }
        }
        Ok(started)
    }

    /// The schedule's run, if its slot has come and this call claimed it. `Err` when it should
    /// be tried again (a store was unavailable).
    pub async fn fire(&self, fire: &ScheduleFire) -> Result<Option<Job>, JobError> {
        let Some(schedule) = self.schedules.get(&fire.pipeline_id, &fire.schedule_id).await? else {
            return Ok(None);
        };
        if schedule.deleted_at.is_some() {
            return Ok(None);
        }
        let now = self.clock.now();
        if schedule.next_run_at > now {
            // An early or repeated wake-up: make sure the timer is set for the real slot.
            self.timer.arm(&schedule).await?;
            return Ok(None);
        }
        let expression = Expression::parse(&schedule.expression).map_err(JobError::Internal)?;
        let zone = time_zone(&schedule.timezone).map_err(JobError::Internal)?;
        let next_run_at = expression
            .next_after(now, schedule.created_at, &zone)
            .ok_or_else(|| JobError::Internal(format!("schedule {} never fires again", schedule.id)))?;
        let mut claimed = schedule.clone();
        claimed.next_run_at = next_run_at;
        claimed.last_fired_at = Some(now);
        match self.schedules.advance(&claimed, schedule.next_run_at).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        self.timer.arm(&claimed).await?;
        let missed = now.seconds_since(&schedule.next_run_at);
        tracing::info!(schedule_id = %schedule.id, slot = %schedule.next_run_at, missed_seconds = missed, %next_run_at, "schedule fired");
        let run = self.run(&schedule).await;
        let mut recorded = claimed.clone();
        match &run {
            Ok(job) => (recorded.last_job_id, recorded.last_error) = (Some(job.id.clone()), None),
            Err(e) => (recorded.last_job_id, recorded.last_error) = (None, Some(e.to_string())),
        }
        if let Err(e) = self.schedules.advance(&recorded, claimed.next_run_at).await {
            tracing::warn!(schedule_id = %schedule.id, error = %e, "the fired run not recorded on the schedule");
        }
        match run {
            Ok(job) => Ok(Some(job)),
            Err(e) => {
                tracing::warn!(schedule_id = %schedule.id, error = %e, "the scheduled run was refused");
                Ok(None)
            }
        }
    }

    async fn run(&self, schedule: &Schedule) -> Result<Job, JobError> {
        let pipeline =
            self.pipelines.pipelines.get(&schedule.pipeline_id).await?.ok_or(JobError::NotFound("pipeline"))?;
        let actor = schedule_actor(&pipeline, schedule);
        let run = PipelineRun {
            content: schedule.input.content_artifact_ids.clone(),
            name: Some(format!("{} (scheduled)", pipeline.name)),
            ..PipelineRun::default()
        };
        self.pipelines.run(&actor, &pipeline.id, run).await
    }
}
