from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.plan import Plan

if TYPE_CHECKING:
    from ..models.plan_limits import PlanLimits
    from ..models.quota_usage import QuotaUsage


T = TypeVar("T", bound="UsageRead")


@_attrs_define
class UsageRead:
    """The team's plan, what it allows and what the team uses of it.

    Attributes:
        limits (PlanLimits): A plan's limits.
        plan (Plan):
        usage (QuotaUsage): What a team uses of its limits now.
    """

    limits: PlanLimits
    plan: Plan
    usage: QuotaUsage
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        limits = self.limits.to_dict()

        plan = self.plan.value

        usage = self.usage.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "limits": limits,
                "plan": plan,
                "usage": usage,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.plan_limits import PlanLimits
        from ..models.quota_usage import QuotaUsage

        d = dict(src_dict)
        limits = PlanLimits.from_dict(d.pop("limits"))

        plan = Plan(d.pop("plan"))

        usage = QuotaUsage.from_dict(d.pop("usage"))

        usage_read = cls(
            limits=limits,
            plan=plan,
            usage=usage,
        )

        usage_read.additional_properties = d
        return usage_read

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
