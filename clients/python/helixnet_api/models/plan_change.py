from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.plan import Plan
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.plan_limits import PlanLimits


T = TypeVar("T", bound="PlanChange")


@_attrs_define
class PlanChange:
    """A team's plan; `limits` only for `enterprise` (unset: the pro plan's).

    Attributes:
        plan (Plan):
        limits (None | PlanLimits | Unset):
    """

    plan: Plan
    limits: None | PlanLimits | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.plan_limits import PlanLimits

        plan = self.plan.value

        limits: dict[str, Any] | None | Unset
        if isinstance(self.limits, Unset):
            limits = UNSET
        elif isinstance(self.limits, PlanLimits):
            limits = self.limits.to_dict()
        else:
            limits = self.limits

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "plan": plan,
            }
        )
        if limits is not UNSET:
            field_dict["limits"] = limits

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.plan_limits import PlanLimits

        d = dict(src_dict)
        plan = Plan(d.pop("plan"))

        def _parse_limits(data: object) -> None | PlanLimits | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                limits_type_1 = PlanLimits.from_dict(data)

                return limits_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PlanLimits | Unset, data)

        limits = _parse_limits(d.pop("limits", UNSET))

        plan_change = cls(
            plan=plan,
            limits=limits,
        )

        return plan_change
