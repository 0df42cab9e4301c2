from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.audit_list import AuditList
from ...models.error_body import ErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    *,
    action: str | Unset = UNSET,
    actor: str | Unset = UNSET,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    format_: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["action"] = action

    params["actor"] = actor

    params["from"] = from_

    params["to"] = to

    params["cursor"] = cursor

    params["limit"] = limit

    params["format"] = format_

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/teams/{id}/audit".format(
            id=quote(str(id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AuditList | ErrorBody | None:
    if response.status_code == 200:
        response_200 = AuditList.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[AuditList | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    action: str | Unset = UNSET,
    actor: str | Unset = UNSET,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    format_: str | Unset = UNSET,
) -> Response[AuditList | ErrorBody]:
    """The team's audit trail, newest first (team admins and owners): as JSON, or as CSV with
    `Accept: text/csv` or `?format=csv` (the next page's cursor in `X-Next-Cursor`).

    Args:
        id (str):
        action (str | Unset):
        actor (str | Unset):
        from_ (str | Unset):
        to (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        format_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuditList | ErrorBody]
    """

    kwargs = _get_kwargs(
        id=id,
        action=action,
        actor=actor,
        from_=from_,
        to=to,
        cursor=cursor,
        limit=limit,
        format_=format_,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient,
    action: str | Unset = UNSET,
    actor: str | Unset = UNSET,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    format_: str | Unset = UNSET,
) -> AuditList | ErrorBody | None:
    """The team's audit trail, newest first (team admins and owners): as JSON, or as CSV with
    `Accept: text/csv` or `?format=csv` (the next page's cursor in `X-Next-Cursor`).

    Args:
        id (str):
        action (str | Unset):
        actor (str | Unset):
        from_ (str | Unset):
        to (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        format_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuditList | ErrorBody
    """

    return sync_detailed(
        id=id,
        client=client,
        action=action,
        actor=actor,
        from_=from_,
        to=to,
        cursor=cursor,
        limit=limit,
        format_=format_,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    action: str | Unset = UNSET,
    actor: str | Unset = UNSET,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    format_: str | Unset = UNSET,
) -> Response[AuditList | ErrorBody]:
    """The team's audit trail, newest first (team admins and owners): as JSON, or as CSV with
    `Accept: text/csv` or `?format=csv` (the next page's cursor in `X-Next-Cursor`).

    Args:
        id (str):
        action (str | Unset):
        actor (str | Unset):
        from_ (str | Unset):
        to (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        format_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuditList | ErrorBody]
    """

    kwargs = _get_kwargs(
        id=id,
        action=action,
        actor=actor,
        from_=from_,
        to=to,
        cursor=cursor,
        limit=limit,
        format_=format_,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    action: str | Unset = UNSET,
    actor: str | Unset = UNSET,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    format_: str | Unset = UNSET,
) -> AuditList | ErrorBody | None:
    """The team's audit trail, newest first (team admins and owners): as JSON, or as CSV with
    `Accept: text/csv` or `?format=csv` (the next page's cursor in `X-Next-Cursor`).

    Args:
        id (str):
        action (str | Unset):
        actor (str | Unset):
        from_ (str | Unset):
        to (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        format_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuditList | ErrorBody
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            action=action,
            actor=actor,
            from_=from_,
            to=to,
            cursor=cursor,
            limit=limit,
            format_=format_,
        )
    ).parsed
