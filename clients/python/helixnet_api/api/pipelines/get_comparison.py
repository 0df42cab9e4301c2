from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.comparison_read import ComparisonRead
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    id: str,
    job_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/pipelines/{id}/comparisons/{job_id}".format(
            id=quote(str(id), safe=""),
            job_id=quote(str(job_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ComparisonRead | ErrorBody | None:
    if response.status_code == 200:
        response_200 = ComparisonRead.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())

        return response_409

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ComparisonRead | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    job_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ComparisonRead | ErrorBody]:
    """
    Args:
        id (str):
        job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ComparisonRead | ErrorBody]
    """

    kwargs = _get_kwargs(
        id=id,
        job_id=job_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    job_id: str,
    *,
    client: AuthenticatedClient,
) -> ComparisonRead | ErrorBody | None:
    """
    Args:
        id (str):
        job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ComparisonRead | ErrorBody
    """

    return sync_detailed(
        id=id,
        job_id=job_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    id: str,
    job_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ComparisonRead | ErrorBody]:
    """
    Args:
        id (str):
        job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ComparisonRead | ErrorBody]
    """

    kwargs = _get_kwargs(
        id=id,
        job_id=job_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    job_id: str,
    *,
    client: AuthenticatedClient,
) -> ComparisonRead | ErrorBody | None:
    """
    Args:
        id (str):
        job_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ComparisonRead | ErrorBody
    """

    return (
        await asyncio_detailed(
            id=id,
            job_id=job_id,
            client=client,
        )
    ).parsed
