from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ProfileUpdate")


@_attrs_define
class ProfileUpdate:
    """`PUT /users/me`: every field optional; `null` or `""` clears it.

    Attributes:
        fullname (None | str | Unset): At most 200 characters, no control characters.
        phone_number (None | str | Unset): E.164: a `+` and 7 to 15 digits (no leading zero); spaces, dashes, dots and
            brackets
            between them are removed.
        web_url (None | str | Unset): An `http://` or `https://` URL with a host, at most 2048 characters.
    """

    fullname: None | str | Unset = UNSET
    phone_number: None | str | Unset = UNSET
    web_url: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        fullname: None | str | Unset
        if isinstance(self.fullname, Unset):
            fullname = UNSET
        else:
            fullname = self.fullname

        phone_number: None | str | Unset
        if isinstance(self.phone_number, Unset):
            phone_number = UNSET
        else:
            phone_number = self.phone_number

        web_url: None | str | Unset
        if isinstance(self.web_url, Unset):
            web_url = UNSET
        else:
            web_url = self.web_url

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if fullname is not UNSET:
            field_dict["fullname"] = fullname
        if phone_number is not UNSET:
            field_dict["phone_number"] = phone_number
        if web_url is not UNSET:
            field_dict["web_url"] = web_url

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_fullname(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        fullname = _parse_fullname(d.pop("fullname", UNSET))

        def _parse_phone_number(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        phone_number = _parse_phone_number(d.pop("phone_number", UNSET))

        def _parse_web_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        web_url = _parse_web_url(d.pop("web_url", UNSET))

        profile_update = cls(
            fullname=fullname,
            phone_number=phone_number,
            web_url=web_url,
        )

        return profile_update
