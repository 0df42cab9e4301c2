//! The cloud's schedule timer: one one-shot EventBridge Scheduler schedule per HelixNet schedule,
//! `at(<next slot>)` in UTC, that sends a `ScheduleFire` to the schedule queue and deletes itself
//! once it ran. The firing arms the next one. The cron pattern is evaluated by HelixNet alone
//! (`helix_jobs::Expression`), the same code as locally; EventBridge only keeps the time.

use async_trait::async_trait;
use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::types::{ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target};

use helix_domain::{Schedule, ScheduleFire, ScheduleTimer, StoreError};

use crate::dynamo::backend;

pub struct EventBridgeScheduleTimer {
    client: Client,
    /// Where a wake-up goes: the schedule queue.
    queue_arn: String,
    /// The role EventBridge Scheduler assumes to send to the queue.
    role_arn: String,
}

impl EventBridgeScheduleTimer {
    pub fn new(client: Client, queue_arn: impl Into<String>, role_arn: impl Into<String>) -> Self {
        Self { client, queue_arn: queue_arn.into(), role_arn: role_arn.into() }
    }
}

/// The EventBridge schedule's name: at most 64 characters.
fn name(schedule: &Schedule) -> String {
    format!("helix-{}", schedule.id)
}

/// `at(yyyy-mm-ddThh:mm:ss)`, the slot in UTC to the second.
fn at(schedule: &Schedule) -> String {
    let text = schedule.next_run_at.to_string();
    format!("at({})", &text[..19])
}

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("EventBridge Scheduler request: {e}"))
}

#[async_trait]
impl ScheduleTimer for EventBridgeScheduleTimer {
    async fn arm(&self, schedule: &Schedule) -> Result<(), StoreError> {
        let fire = ScheduleFire { pipeline_id: schedule.pipeline_id.clone(), schedule_id: schedule.id.clone() };
        let input = serde_json::to_string(&fire).map_err(invalid)?;
        let target =
            Target::builder().arn(&self.queue_arn).role_arn(&self.role_arn).input(input).build().map_err(invalid)?;
        let window = FlexibleTimeWindow::builder().mode(FlexibleTimeWindowMode::Off).build().map_err(invalid)?;
        let updated = self
            .client
            .update_schedule()
            .name(name(schedule))
            .schedule_expression(at(schedule))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window.clone())
            .target(target.clone())
            .action_after_completion(ActionAfterCompletion::Delete)
            .send()
            .await;
        match updated {
            Ok(_) => Ok(()),
            // The last one ran and deleted itself (or none was made yet): make the next.
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {
                self.client
                    .create_schedule()
                    .name(name(schedule))
                    .schedule_expression(at(schedule))
                    .schedule_expression_timezone("UTC")
                    .flexible_time_window(window)
                    .target(target)
                    .action_after_completion(ActionAfterCompletion::Delete)
                    .send()
                    .await
                    .map_err(backend)?;
                Ok(())
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn disarm(&self, schedule: &Schedule) -> Result<(), StoreError> {
        match self.client.delete_schedule().name(name(schedule)).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }
}
