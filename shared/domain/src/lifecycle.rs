//! The job state machine: which transitions exist, from which state each may be taken, where it
//! leads and what it records. Stores do not re-derive it: they store the job that
//! [`Job::apply`] returns, and only if the stored job is still the one it was computed from.

use std::fmt;

use crate::job::ATTEMPT_ERROR_CHARS;
use crate::{ATTEMPT_HISTORY_LIMIT, AttemptOutcome, AttemptRecord, Job, JobOutcome, JobStatus, Timestamp};

/// A change a job may go through, with what it needs to record.
#[derive(Clone, Debug, PartialEq)]
pub enum Transition {
    /// A worker starts an attempt: one more attempt, leased until `lease_until`.
    Claim { lease_until: Timestamp },
    /// The worker of a long attempt extends its lease (its heartbeat).
    Renew { lease_until: Timestamp },
    /// The attempt's outcome.
    Finish(JobOutcome),
    /// The attempt failed for a passing reason: back to `PENDING` for the next delivery.
    Release { error: String },
    /// The worker vanished on the job's last delivery (the sweeper).
    Abandon { error: String },
    /// A user stopped the job.
    Cancel,
    /// A user runs a failed or cancelled job again, on the same inputs.
    Retry,
}

/// The name of a transition, as the lifecycle table lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Claim,
    Renew,
    Complete,
    Fail,
    Release,
    Abandon,
    Cancel,
    Retry,
}

/// A condition on the job beyond its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    Always,
    /// The worker's lease has run out: it died, or lost its message.
    LeaseExpired,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub step: Step,
    pub from: JobStatus,
    pub guard: Guard,
    pub to: JobStatus,
}

const fn rule(step: Step, from: JobStatus, guard: Guard, to: JobStatus) -> Rule {
    Rule { step, from, guard, to }
}

use Guard::*;
use JobStatus::*;

/// Every transition a job may take. Anything not listed is refused.
///
/// | step | records |
/// |---|---|
/// | `Claim` | `attempts + 1`, `started_at` (first attempt only), the lease, a new `RUNNING` attempt record (a takeover ends the one before as `ABANDONED`); clears the outbox mark (the message got through) |
/// | `Renew` | the new lease |
/// | `Complete` | `finished_at`, the result and report ids, the record counts, the `auto_map` proposals, the attempt's end; clears the error and the lease |
/// | `Fail`, `Abandon` | `finished_at`, the error, the attempt's end; clears the lease |
/// | `Release` | the error, the attempt's end; clears the lease |
/// | `Cancel` | `finished_at`, the running attempt's end; clears the lease |
/// | `Retry` | `retries + 1`, the outbox mark; clears `finished_at`, the error and the last run's outputs (`attempts` and `started_at` stay: the job's history) |
pub const LIFECYCLE: &[Rule] = &[
    rule(Step::Claim, Pending, Always, Running),
    rule(Step::Claim, Running, LeaseExpired, Running),
    rule(Step::Renew, Running, Always, Running),
    rule(Step::Complete, Running, Always, Completed),
    rule(Step::Fail, Running, Always, Failed),
    rule(Step::Release, Running, Always, Pending),
    rule(Step::Abandon, Running, LeaseExpired, Failed),
    rule(Step::Cancel, Pending, Always, Cancelled),
    rule(Step::Cancel, Running, Always, Cancelled),
    rule(Step::Retry, Failed, Always, Pending),
    rule(Step::Retry, Cancelled, Always, Pending),
];

/// A transition the lifecycle does not allow from the job's present state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Refused {
    pub step: Step,
    pub status: JobStatus,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.status.as_str();
        match (self.step, self.status) {
            (Step::Claim, Running) => f.write_str("another worker holds the job and its lease has not run out"),
            (Step::Abandon, Running) => f.write_str("the job's lease has not run out"),
            (step, _) => write!(f, "a {status} job cannot take the step {step:?}"),
        }
    }
}

impl Transition {
    pub fn step(&self) -> Step {
        match self {
            Self::Claim { .. } => Step::Claim,
            Self::Renew { .. } => Step::Renew,
            Self::Finish(JobOutcome::Completed { .. }) => Step::Complete,
            Self::Finish(JobOutcome::Failed { .. }) => Step::Fail,
            Self::Release { .. } => Step::Release,
            Self::Abandon { .. } => Step::Abandon,
            Self::Cancel => Step::Cancel,
            Self::Retry => Step::Retry,
        }
    }
}

impl Guard {
    fn holds(self, job: &Job, now: Timestamp) -> bool {
        match self {
            Always => true,
            LeaseExpired => job.lease_expires_at.is_some_and(|lease| lease < now.unix()),
        }
    }
}

impl Job {
    /// The rule that lets this job take `step` at `now`, if any.
    pub fn rule_for(&self, step: Step, now: Timestamp) -> Option<&'static Rule> {
        LIFECYCLE.iter().find(|r| r.step == step && r.from == self.status && r.guard.holds(self, now))
    }

    /// The job after `transition` at `now`, or why the lifecycle refuses it.
    pub fn apply(&self, transition: Transition, now: Timestamp) -> Result<Job, Refused> {
        let step = transition.step();
        let rule = self.rule_for(step, now).ok_or(Refused { step, status: self.status })?;
        let mut next = self.clone();
        next.status = rule.to;
        next.lease_expires_at = None;
        match transition {
            Transition::Claim { lease_until } => {
                if self.status == Running {
                    let error = format!("its worker's lease ran out; attempt {} took the job over", self.attempts + 1);
                    next.end_attempt(now, AttemptOutcome::Abandoned, Some(&error), None);
                }
                next.attempts += 1;
                next.start_attempt(now);
                next.started_at.get_or_insert(now);
                next.lease_expires_at = Some(lease_until.unix());
                next.unsent_since = None;
            }
            Transition::Renew { lease_until } => next.lease_expires_at = Some(lease_until.unix()),
            Transition::Finish(JobOutcome::Completed {
                result_artifact_id,
                result_path,
                error_report_artifact_id,
                records_in,
                records_out,
                records_rejected,
                auto_mapped,
                warnings,
                inputs_read,
            }) => {
                next.finished_at = Some(now);
                next.result_artifact_id = Some(result_artifact_id);
                next.result_path = Some(result_path);
                next.error_report_artifact_id = Some(error_report_artifact_id);
                next.records_in = Some(records_in);
                next.records_out = Some(records_out);
                next.records_rejected = Some(records_rejected);
                next.warnings = warnings;
                next.inputs_read = inputs_read;
                next.error = None;
                next.end_attempt(
                    now,
                    AttemptOutcome::Completed,
                    None,
                    Some([records_in, records_out, records_rejected]),
                );
                if let Some(auto_mapped) = auto_mapped {
                    next.auto_mapped_fields = auto_mapped.fields;
                    next.auto_map_context_artifact_id = Some(auto_mapped.context_artifact_id);
                }
            }
            Transition::Finish(JobOutcome::Failed { error }) => {
                next.finished_at = Some(now);
                next.end_attempt(now, AttemptOutcome::Failed, Some(&error), None);
                next.error = Some(error);
            }
            Transition::Abandon { error } => {
                next.finished_at = Some(now);
                next.end_attempt(now, AttemptOutcome::Abandoned, Some(&error), None);
                next.error = Some(error);
            }
            Transition::Release { error } => {
                next.end_attempt(now, AttemptOutcome::Released, Some(&error), None);
                next.error = Some(error);
            }
            Transition::Cancel => {
                next.finished_at = Some(now);
                next.end_attempt(now, AttemptOutcome::Cancelled, None, None);
            }
            Transition::Retry => {
                next.retries += 1;
                next.unsent_since = Some(now.unix());
                next.finished_at = None;
                next.error = None;
                next.result_artifact_id = None;
                next.result_path = None;
                next.error_report_artifact_id = None;
                next.records_in = None;
                next.records_out = None;
                next.records_rejected = None;
                next.warnings.clear();
                next.inputs_read.clear();
                next.auto_mapped_fields.clear();
                next.auto_map_context_artifact_id = None;
            }
        }
        Ok(next)
    }

    /// Records the attempt a claim starts, dropping the oldest record past the limit.
    fn start_attempt(&mut self, now: Timestamp) {
        self.attempt_history.push(AttemptRecord {
            number: self.attempts,
            retry: self.retries,
            started_at: now,
            finished_at: None,
            outcome: AttemptOutcome::Running,
            error: None,
            records_in: None,
            records_out: None,
            records_rejected: None,
        });
        let excess = self.attempt_history.len().saturating_sub(ATTEMPT_HISTORY_LIMIT);
        self.attempt_history.drain(..excess);
    }

    /// Ends the running attempt's record, if the job has one (a job cancelled while `PENDING`
    /// has none running; a job stored before the history began has none at all).
    fn end_attempt(&mut self, now: Timestamp, outcome: AttemptOutcome, error: Option<&str>, records: Option<[u64; 3]>) {
        let number = self.attempts;
        let Some(record) =
            self.attempt_history.iter_mut().rev().find(|r| r.number == number && r.outcome == AttemptOutcome::Running)
        else {
            return;
        };
        record.finished_at = Some(now);
        record.outcome = outcome;
        record.error = error.map(|e| match e.char_indices().nth(ATTEMPT_ERROR_CHARS) {
            Some((cut, _)) => format!("{}…", &e[..cut]),
            None => e.to_owned(),
        });
        if let Some([records_in, records_out, records_rejected]) = records {
            (record.records_in, record.records_out, record.records_rejected) =
                (Some(records_in), Some(records_out), Some(records_rejected));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{JobInputs, JobKind};

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(1_800_000_000 + seconds).unwrap()
    }

    fn pending() -> Job {
        Job::new("j".into(), "u".into(), JobKind::Transform, None, JobInputs::default(), at(0))
    }

    fn claim(job: &Job, now: Timestamp) -> Result<Job, Refused> {
        job.apply(Transition::Claim { lease_until: now.plus(Duration::from_secs(60)) }, now)
    }

    #[test]
    fn a_claim_starts_an_attempt_under_a_lease() {
        let running = claim(&pending(), at(1)).unwrap();
        assert_eq!((running.status, running.attempts, running.started_at), (Running, 1, Some(at(1))));
        assert_eq!(running.lease_expires_at, Some(at(61).unix()));
    }

    #[test]
    fn a_held_lease_cannot_be_taken_until_it_runs_out() {
        let running = claim(&pending(), at(1)).unwrap();
        assert_eq!(claim(&running, at(30)).unwrap_err(), Refused { step: Step::Claim, status: Running });
        let retaken = claim(&running, at(62)).unwrap();
        assert_eq!((retaken.attempts, retaken.started_at), (2, Some(at(1))));
    }

    #[test]
    fn a_release_hands_the_job_back_with_its_error() {
        let running = claim(&pending(), at(1)).unwrap();
        let released = running.apply(Transition::Release { error: "S3 timed out".into() }, at(2)).unwrap();
        assert_eq!(
            (released.status, released.lease_expires_at, released.error.as_deref()),
            (Pending, None, Some("S3 timed out"))
        );
    }

    #[test]
    fn a_failed_or_cancelled_job_is_retried_as_a_new_run_of_the_same_job() {
        let running = claim(&pending(), at(1)).unwrap();
        let failed = running.apply(Transition::Finish(JobOutcome::Failed { error: "bad".into() }), at(2)).unwrap();
        let retried = failed.apply(Transition::Retry, at(3)).unwrap();
        assert_eq!((retried.status, retried.retries, retried.attempts), (Pending, 1, 1));
        assert_eq!((retried.finished_at, retried.error.as_deref(), retried.started_at), (None, None, Some(at(1))));
        assert_eq!(retried.unsent_since, Some(at(3).unix()));
        assert_ne!(
            serde_json::to_string(&retried.message()).unwrap(),
            serde_json::to_string(&failed.message()).unwrap()
        );
        let cancelled = pending().apply(Transition::Cancel, at(1)).unwrap();
        assert_eq!(cancelled.apply(Transition::Retry, at(2)).unwrap().status, Pending);
        for job in [pending(), running.clone(), retried] {
            assert_eq!(
                job.apply(Transition::Retry, at(4)).unwrap_err(),
                Refused { step: Step::Retry, status: job.status }
            );
        }
    }

    #[test]
    fn finished_jobs_move_again_only_by_a_retry() {
        let running = claim(&pending(), at(1)).unwrap();
        let failed = running.apply(Transition::Finish(JobOutcome::Failed { error: "bad".into() }), at(2)).unwrap();
        assert_eq!((failed.status, failed.finished_at), (Failed, Some(at(2))));
        for transition in [
            Transition::Claim { lease_until: at(100) },
            Transition::Release { error: "x".into() },
            Transition::Abandon { error: "x".into() },
            Transition::Cancel,
        ] {
            assert!(failed.apply(transition, at(200)).is_err());
        }
    }

    #[test]
    fn a_renewal_moves_the_lease_of_the_same_attempt() {
        let running = claim(&pending(), at(1)).unwrap();
        let renewed = running.apply(Transition::Renew { lease_until: at(200) }, at(50)).unwrap();
        assert_eq!((renewed.status, renewed.attempts, renewed.lease_expires_at), (Running, 1, Some(at(200).unix())));
        assert!(pending().apply(Transition::Renew { lease_until: at(200) }, at(50)).is_err());
    }

    #[test]
    fn a_claim_clears_the_outbox_mark() {
        let unsent = Job { unsent_since: Some(at(0).unix()), ..pending() };
        assert_eq!(claim(&unsent, at(1)).unwrap().unsent_since, None);
    }

    #[test]
    fn only_an_expired_lease_is_abandoned() {
        let running = claim(&pending(), at(1)).unwrap();
        assert!(running.apply(Transition::Abandon { error: "gone".into() }, at(30)).is_err());
        let failed = running.apply(Transition::Abandon { error: "gone".into() }, at(62)).unwrap();
        assert_eq!((failed.status, failed.lease_expires_at), (Failed, None));
    }

    fn completed(records: [u64; 3]) -> Transition {
        Transition::Finish(JobOutcome::Completed {
            result_artifact_id: "r".into(),
            result_path: "results/j/result.json".into(),
            error_report_artifact_id: "e".into(),
            records_in: records[0],
            records_out: records[1],
            records_rejected: records[2],
            auto_mapped: None,
            warnings: Vec::new(),
            inputs_read: Vec::new(),
        })
    }

    fn outcomes(job: &Job) -> Vec<(u32, u32, AttemptOutcome)> {
        job.attempt_history.iter().map(|r| (r.number, r.retry, r.outcome)).collect()
    }

    #[test]
    fn each_attempt_is_recorded_from_its_claim_to_its_end() {
        let running = claim(&pending(), at(1)).unwrap();
        assert_eq!(outcomes(&running), [(1, 0, AttemptOutcome::Running)]);
        assert_eq!(running.attempt_history[0].started_at, at(1));
        let released = running.apply(Transition::Release { error: "S3 timed out".into() }, at(2)).unwrap();
        let done = claim(&released, at(3)).unwrap().apply(completed([4, 3, 1]), at(5)).unwrap();
        assert_eq!(outcomes(&done), [(1, 0, AttemptOutcome::Released), (2, 0, AttemptOutcome::Completed)]);
        let [first, second] = &done.attempt_history[..] else { panic!("two attempts") };
        assert_eq!((first.finished_at, first.error.as_deref()), (Some(at(2)), Some("S3 timed out")));
        assert_eq!((second.started_at, second.finished_at, second.error.as_deref()), (at(3), Some(at(5)), None));
        assert_eq!((second.records_in, second.records_out, second.records_rejected), (Some(4), Some(3), Some(1)));
    }

    #[test]
    fn a_takeover_a_retry_and_a_cancel_are_told_apart() {
        let running = claim(&pending(), at(1)).unwrap();
        let taken_over = claim(&running, at(62)).unwrap();
        let failed = taken_over.apply(Transition::Finish(JobOutcome::Failed { error: "bad".into() }), at(63)).unwrap();
        let rerun = claim(&failed.apply(Transition::Retry, at(64)).unwrap(), at(65)).unwrap();
        let cancelled = rerun.apply(Transition::Cancel, at(66)).unwrap();
        assert_eq!(
            outcomes(&cancelled),
            [(1, 0, AttemptOutcome::Abandoned), (2, 0, AttemptOutcome::Failed), (3, 1, AttemptOutcome::Cancelled)]
        );
        assert!(cancelled.attempt_history[0].error.as_deref().unwrap().contains("attempt 2 took the job over"));
        assert_eq!(cancelled.attempt_history[2].finished_at, Some(at(66)));
        // A job cancelled before any worker claimed it has no attempt to end.
        assert!(pending().apply(Transition::Cancel, at(1)).unwrap().attempt_history.is_empty());
    }

    #[test]
    fn the_history_keeps_the_latest_attempts_and_a_long_errors_start() {
        let mut job = pending();
        for i in 0..25 {
            let error = "x".repeat(1500);
            job = claim(&job, at(2 * i)).unwrap().apply(Transition::Release { error }, at(2 * i + 1)).unwrap();
        }
        assert_eq!((job.attempts, job.attempt_history.len()), (25, ATTEMPT_HISTORY_LIMIT));
        assert_eq!(job.attempt_history[0].number, 6);
        let kept = job.attempt_history[0].error.as_deref().unwrap();
        assert_eq!(kept.chars().count(), ATTEMPT_ERROR_CHARS + 1);
        assert!(kept.ends_with('…'));
    }

    #[test]
    fn a_terminal_state_is_left_only_by_a_users_retry() {
        for rule in LIFECYCLE.iter().filter(|r| r.step != Step::Retry) {
            assert!(!rule.from.is_terminal(), "{rule:?} leaves a terminal state");
        }
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
        }
    }
}
