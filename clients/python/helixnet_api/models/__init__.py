"""Contains all the data models used in inputs/outputs"""

from .api_key_create import ApiKeyCreate
from .api_key_created import ApiKeyCreated
from .api_key_list import ApiKeyList
from .api_key_read import ApiKeyRead
from .artifact_kind import ArtifactKind
from .artifact_read import ArtifactRead
from .artifact_status import ArtifactStatus
from .attempt_outcome import AttemptOutcome
from .attempt_record import AttemptRecord
from .audit_entry import AuditEntry
from .audit_list import AuditList
from .audit_outcome import AuditOutcome
from .audit_verification import AuditVerification
from .auto_mapped_field import AutoMappedField
from .billing_export_request import BillingExportRequest
from .broken_link import BrokenLink
from .budget_read import BudgetRead
from .budget_update import BudgetUpdate
from .chain_run import ChainRun
from .column_signature import ColumnSignature
from .compare_create import CompareCreate
from .compared_field import ComparedField
from .compared_records import ComparedRecords
from .comparison_read import ComparisonRead
from .complete_request import CompleteRequest
from .completed_part_body import CompletedPartBody
from .confirmed_draft import ConfirmedDraft
from .cost_report import CostReport
from .cost_row import CostRow
from .cost_row_breakdown import CostRowBreakdown
from .daily_cost import DailyCost
from .daily_cost_report import DailyCostReport
from .decision import Decision
from .delivery_attempt import DeliveryAttempt
from .delivery_list import DeliveryList
from .delivery_status import DeliveryStatus
from .download_link import DownloadLink
from .draft_confirmation import DraftConfirmation
from .drop_create import DropCreate
from .drop_ticket_body import DropTicketBody
from .drop_ticket_body_headers import DropTicketBodyHeaders
from .error_body import ErrorBody
from .error_detail import ErrorDetail
from .export_ingest import ExportIngest
from .field_decision import FieldDecision
from .field_decision_value_map_type_0 import FieldDecisionValueMapType0
from .field_error import FieldError
from .field_example import FieldExample
from .health import Health
from .input_reading import InputReading
from .input_reading_decided_by import InputReadingDecidedBy
from .invitation_create import InvitationCreate
from .invitation_read import InvitationRead
from .job_clone import JobClone
from .job_cost import JobCost
from .job_cost_breakdown import JobCostBreakdown
from .job_create import JobCreate
from .job_day import JobDay
from .job_day_statuses import JobDayStatuses
from .job_inputs import JobInputs
from .job_kind import JobKind
from .job_list import JobList
from .job_read import JobRead
from .job_stats import JobStats
from .job_status import JobStatus
from .job_upload import JobUpload
from .job_with_cost import JobWithCost
from .jwk import Jwk
from .jwk_set import JwkSet
from .key_scope import KeyScope
from .member_change import MemberChange
from .member_list import MemberList
from .member_removal import MemberRemoval
from .membership import Membership
from .multipart_ticket import MultipartTicket
from .multipart_upload import MultipartUpload
from .part_checksum_body import PartChecksumBody
from .part_url_body import PartUrlBody
from .part_url_body_headers import PartUrlBodyHeaders
from .part_urls import PartUrls
from .parts_request import PartsRequest
from .password_change import PasswordChange
from .period_ingest import PeriodIngest
from .pipeline_create import PipelineCreate
from .pipeline_diff import PipelineDiff
from .pipeline_list import PipelineList
from .pipeline_options import PipelineOptions
from .pipeline_read import PipelineRead
from .pipeline_step import PipelineStep
from .pipeline_update import PipelineUpdate
from .pipeline_version import PipelineVersion
from .plan import Plan
from .plan_change import PlanChange
from .plan_limits import PlanLimits
from .profile_update import ProfileUpdate
from .quota_usage import QuotaUsage
from .reconciled_day import ReconciledDay
from .reconciliation import Reconciliation
from .refresh_request import RefreshRequest
from .remembered_mapping import RememberedMapping
from .remembered_mapping_value_map import RememberedMappingValueMap
from .role import Role
from .run_create import RunCreate
from .run_status import RunStatus
from .schedule import Schedule
from .schedule_create import ScheduleCreate
from .schedule_input import ScheduleInput
from .schedule_list import ScheduleList
from .shard_progress import ShardProgress
from .single_upload import SingleUpload
from .single_upload_headers import SingleUploadHeaders
from .sso_request import SsoRequest
from .step_create import StepCreate
from .step_run import StepRun
from .step_status import StepStatus
from .stored_part import StoredPart
from .stored_parts import StoredParts
from .team_create import TeamCreate
from .team_list import TeamList
from .team_read import TeamRead
from .token_form import TokenForm
from .token_response import TokenResponse
from .upload_request import UploadRequest
from .usage_read import UsageRead
from .user_profile import UserProfile
from .version_create import VersionCreate
from .version_list import VersionList
from .webhook_create import WebhookCreate
from .webhook_created import WebhookCreated
from .webhook_delivery import WebhookDelivery
from .webhook_event import WebhookEvent
from .webhook_list import WebhookList
from .webhook_read import WebhookRead

__all__ = (
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyList",
    "ApiKeyRead",
    "ArtifactKind",
    "ArtifactRead",
    "ArtifactStatus",
    "AttemptOutcome",
    "AttemptRecord",
    "AuditEntry",
    "AuditList",
    "AuditOutcome",
    "AuditVerification",
    "AutoMappedField",
    "BillingExportRequest",
    "BrokenLink",
    "BudgetRead",
    "BudgetUpdate",
    "ChainRun",
    "ColumnSignature",
    "CompareCreate",
    "ComparedField",
    "ComparedRecords",
    "ComparisonRead",
    "CompleteRequest",
    "CompletedPartBody",
    "ConfirmedDraft",
    "CostReport",
    "CostRow",
    "CostRowBreakdown",
    "DailyCost",
    "DailyCostReport",
    "Decision",
    "DeliveryAttempt",
    "DeliveryList",
    "DeliveryStatus",
    "DownloadLink",
    "DraftConfirmation",
    "DropCreate",
    "DropTicketBody",
    "DropTicketBodyHeaders",
    "ErrorBody",
    "ErrorDetail",
    "ExportIngest",
    "FieldDecision",
    "FieldDecisionValueMapType0",
    "FieldError",
    "FieldExample",
    "Health",
    "InputReading",
    "InputReadingDecidedBy",
    "InvitationCreate",
    "InvitationRead",
    "JobClone",
    "JobCost",
    "JobCostBreakdown",
    "JobCreate",
    "JobDay",
    "JobDayStatuses",
    "JobInputs",
    "JobKind",
    "JobList",
    "JobRead",
    "JobStats",
    "JobStatus",
    "JobUpload",
    "JobWithCost",
    "Jwk",
    "JwkSet",
    "KeyScope",
    "MemberChange",
    "MemberList",
    "MemberRemoval",
    "Membership",
    "MultipartTicket",
    "MultipartUpload",
    "PartChecksumBody",
    "PartUrlBody",
    "PartUrlBodyHeaders",
    "PartUrls",
    "PartsRequest",
    "PasswordChange",
    "PeriodIngest",
    "PipelineCreate",
    "PipelineDiff",
    "PipelineList",
    "PipelineOptions",
    "PipelineRead",
    "PipelineStep",
    "PipelineUpdate",
    "PipelineVersion",
    "Plan",
    "PlanChange",
    "PlanLimits",
    "ProfileUpdate",
    "QuotaUsage",
    "ReconciledDay",
    "Reconciliation",
    "RefreshRequest",
    "RememberedMapping",
    "RememberedMappingValueMap",
    "Role",
    "RunCreate",
    "RunStatus",
    "Schedule",
    "ScheduleCreate",
    "ScheduleInput",
    "ScheduleList",
    "ShardProgress",
    "SingleUpload",
    "SingleUploadHeaders",
    "SsoRequest",
    "StepCreate",
    "StepRun",
    "StepStatus",
    "StoredPart",
    "StoredParts",
    "TeamCreate",
    "TeamList",
    "TeamRead",
    "TokenForm",
    "TokenResponse",
    "UploadRequest",
    "UsageRead",
    "UserProfile",
    "VersionCreate",
    "VersionList",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookList",
    "WebhookRead",
)
