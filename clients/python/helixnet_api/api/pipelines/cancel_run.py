from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.chain_run import ChainRun
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    id: str,
    run_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/pipelines/{id}/runs/{run_id}/cancel".format(
            id=quote(str(id), safe=""),
            run_id=quote(str(run_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ChainRun | ErrorBody | None:
    if response.status_code == 200:
        response_200 = ChainRun.from_dict(response.json())

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
) -> Response[ChainRun | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    run_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ChainRun | ErrorBody]:
    """
    Args:
        id (str):
        run_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ChainRun | ErrorBody]
    """

    kwargs = _get_kwargs(
        id=id,
        run_id=run_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    run_id: str,
    *,
    client: AuthenticatedClient,
) -> ChainRun | ErrorBody | None:
    """
    Args:
        id (str):
        run_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ChainRun | ErrorBody
    """

    return sync_detailed(
        id=id,
        run_id=run_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    id: str,
    run_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ChainRun | ErrorBody]:
    """
    Args:
        id (str):
        run_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ChainRun | ErrorBody]
    """

    kwargs = _get_kwargs(
        id=id,
        run_id=run_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    run_id: str,
    *,
    client: AuthenticatedClient,
) -> ChainRun | ErrorBody | None:
    """
    Args:
        id (str):
        run_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ChainRun | ErrorBody
    """

    return (
        await asyncio_detailed(
            id=id,
            run_id=run_id,
            client=client,
        )
    ).parsed
