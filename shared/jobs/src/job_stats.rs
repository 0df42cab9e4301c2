//! A team's jobs per day, for the usage page: how many ended in each status, how long they ran
//! (p50, p95) and how many records they read, by the UTC day they were made.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use helix_domain::{Job, TeamAction, TeamId};

use crate::{Actor, JobError, JobService};

/// The most jobs one request reads: a busier range answers with `truncated` and its newest days.
pub const MAX_JOBS_READ: usize = 5_000;
const PAGE: u32 = 100;

#[derive(Clone, Debug, Default, Serialize, ToSchema, PartialEq)]
pub struct JobDay {
    /// `YYYY-MM-DD` (UTC), the day the jobs were made.
    pub day: String,
    /// Jobs per status (`PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED`).
    pub statuses: BTreeMap<String, u64>,
    /// The median and 95th percentile of the finished jobs' run time (from start to finish), in
    /// seconds; `null` when none finished.
    pub p50_seconds: Option<f64>,
    pub p95_seconds: Option<f64>,
    pub records_in: u64,
}

#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct JobStats {
    pub team_id: TeamId,
    pub from: String,
    pub to: String,
    /// By day, oldest first; days without jobs are left out.
    pub days: Vec<JobDay>,
    /// More than the jobs read were made in the range: the oldest days are missing.
    pub truncated: bool,
}

/// The `p`-th percentile (nearest rank) of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank - 1).copied()
}

impl JobService {
    /// The team's jobs made on the days `from..=to` (`YYYY-MM-DD`, checked by the caller), per day.
    pub async fn daily_stats(&self, actor: &Actor, team: &TeamId, from: &str, to: &str) -> Result<JobStats, JobError> {
        self.access.require(actor, team, TeamAction::Read, "team").await?;
        let mut jobs: Vec<Job> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut truncated = false;
        loop {
            let page = self.jobs.list(team, None, PAGE, cursor.as_deref()).await?;
            let older = page.jobs.last().is_some_and(|job| job.created_at.to_string()[..10] < *from);
            jobs.extend(page.jobs);
            if jobs.len() >= MAX_JOBS_READ {
                truncated = page.next_cursor.is_some() && !older;
                break;
            }
            match page.next_cursor {
                Some(next) if !older => cursor = Some(next),
                _ => break,
            }
        }
        let mut days: BTreeMap<String, (JobDay, Vec<f64>)> = BTreeMap::new();
        for job in &jobs {
            let day = job.created_at.to_string()[..10].to_owned();
            if day.as_str() < from || day.as_str() > to {
                continue;
            }
            let (stats, durations) =
                days.entry(day.clone()).or_insert_with(|| (JobDay { day, ..JobDay::default() }, Vec::new()));
            *stats.statuses.entry(job.status.as_str().to_owned()).or_default() += 1;
            stats.records_in += job.records_in.unwrap_or(0);
            if let (Some(started), Some(finished)) = (job.started_at, job.finished_at) {
                durations.push(finished.seconds_since(&started).max(0.0));
            }
        }
        let days = days
            .into_values()
            .map(|(mut stats, mut durations)| {
                durations.sort_by(f64::total_cmp);
                stats.p50_seconds = percentile(&durations, 50.0);
                stats.p95_seconds = percentile(&durations, 95.0);
                stats
            })
            .collect();
        Ok(JobStats { team_id: team.clone(), from: from.to_owned(), to: to.to_owned(), days, truncated })
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!((percentile(&values, 50.0), percentile(&values, 95.0)), (Some(10.0), Some(19.0)));
        assert_eq!(percentile(&[4.0], 95.0), Some(4.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
