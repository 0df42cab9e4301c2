"""HelixNet from Python: submit files as a job, wait for it, read its records and its rejects.

    import helixnet

    client = helixnet.Client("http://127.0.0.1:8000", api_key="hx_live_...")
    job = client.submit(["orders.csv"], context="orders.yaml", schema="orders.schema.json")
    for record in job.results():
        print(record["order"])
    for reject in job.rejects():
        print(reject["line"], reject["message"])

Every other route is in the generated package ``helixnet_api`` (one module per operation of the
OpenAPI document); ``client.api`` is its authenticated client, ready for those calls.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Self

import httpx

from helixnet_api import AuthenticatedClient
from helixnet_api import Client as AnonymousClient
from helixnet_api.api.artifacts import complete_upload, download, get_artifact, request_parts, request_upload
from helixnet_api.api.auth import refresh, token
from helixnet_api.api.jobs import cancel_job, create_job, get_job, list_jobs
from helixnet_api.models import (
    ArtifactKind,
    ArtifactStatus,
    CompletedPartBody,
    CompleteRequest,
    ErrorBody,
    JobCreate,
    JobRead,
    JobStatus,
    MultipartTicket,
    PartsRequest,
    RefreshRequest,
    TokenForm,
    UploadRequest,
)
from helixnet_api.types import UNSET, Response

__all__ = ["Client", "HelixError", "Job"]

# How long the server may take to check an uploaded file before a job may use it.
AVAILABLE_WITHIN_SECONDS = 120
# Tries per storage PUT (a part of a big file, or a whole small one) before the upload stops.
PUT_TRIES = 4
FINISHED = {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}


class HelixError(Exception):
    """The server (or the storage) refused a request, or a job could not give what was asked.

    ``status`` is the HTTP status (None when no request failed), ``code`` the API's error code,
    ``field`` the request field at fault when the API names one.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str = "error", field: str | None = None):
        super().__init__(message if field is None else f"{message} (field: {field})")
        self.message = message
        self.status = status
        self.code = code
        self.field = field


def _error(response: Response[Any] | httpx.Response) -> HelixError:
    status = int(response.status_code)
    try:
        detail = json.loads(response.content)["error"]
        return HelixError(detail["message"], status=status, code=detail["code"], field=detail.get("field"))
    except (ValueError, KeyError, TypeError):
        text = response.content.decode(errors="replace").strip()[:200]
        return HelixError(
            f"the server answered HTTP {status}: {text}".rstrip(": "), status=status, code=f"http_{status}"
        )


def _checked(response: Response[Any]) -> Any:
    if int(response.status_code) >= 400 or isinstance(response.parsed, ErrorBody):
        raise _error(response)
    return response.parsed


# The media type an extension suggests, as the API guesses it (helix_domain::artifact::media_type_for).
MEDIA_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "jsonl": "application/x-ndjson",
    "xml": "application/xml",
    "yaml": "application/yaml",
    "yml": "application/yaml",
    "txt": "text/plain",
    "dat": "text/plain",
    "idoc": "text/plain",
}


def _content_type(path: Path, kind: ArtifactKind) -> str:
    extension = path.suffix.lower().lstrip(".")
    if extension == "json" and kind == ArtifactKind.SCHEMA:
        return "application/schema+json"
    return MEDIA_TYPES.get(extension, "application/octet-stream")


class Client:
    """One HelixNet server, as a team's API key or as a person (e-mail and password).

    Without ``api_key`` or ``email``, the key in the ``HELIX_API_KEY`` environment variable is
    used. A person's access token is refreshed when the server says it ran out.
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        email: str | None = None,
        password: str | None = None,
        timeout: float = 60.0,
    ):
        self.url = url.rstrip("/")
        self._timeout = httpx.Timeout(timeout)
        self._anonymous = AnonymousClient(base_url=self.url, timeout=self._timeout)
        self._refresh_token: str | None = None
        # Presigned storage URLs carry their own permission: no bearer token goes there.
        self._storage = httpx.Client(timeout=httpx.Timeout(timeout, read=None, write=None))
        if email is not None:
            if api_key is not None:
                raise ValueError("give api_key or email and password, not both")
            if not password:
                raise ValueError("password: needed with email")
            answer = _checked(
                token.sync_detailed(client=self._anonymous, body=TokenForm(username=email, password=password))
            )
            self._authenticate(answer.access_token, answer.refresh_token)
        else:
            api_key = api_key or os.environ.get("HELIX_API_KEY")
            if not api_key:
                raise ValueError("api_key: give an API key (or set HELIX_API_KEY), or email and password")
            self._authenticate(api_key.strip(), None)

    def _authenticate(self, bearer: str, refresh_token: str | None) -> None:
        self.api = AuthenticatedClient(base_url=self.url, token=bearer, timeout=self._timeout)
        self._refresh_token = refresh_token

    def _call(self, operation: Any, **arguments: Any) -> Any:
        """Calls a generated operation; a person's expired access token is refreshed once."""
        response = operation.sync_detailed(client=self.api, **arguments)
        if int(response.status_code) == 401 and self._refresh_token:
            renewed = _checked(
                refresh.sync_detailed(client=self._anonymous, body=RefreshRequest(refresh_token=self._refresh_token))
            )
            self._authenticate(renewed.access_token, renewed.refresh_token)
            response = operation.sync_detailed(client=self.api, **arguments)
        return _checked(response)

    def close(self) -> None:
        self._storage.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # Uploads ------------------------------------------------------------------------------------

    def upload(self, path: str | os.PathLike[str], kind: str = "content", team_id: str | None = None) -> str:
        """Uploads one file through presigned URLs (in parts above the server's threshold), waits
        until the server has checked it, and returns its artifact id."""
        path = Path(path)
        kind = ArtifactKind(kind)
        if not path.is_file():
            raise HelixError(f"{path}: not a file", code="file")
        size = path.stat().st_size
        if size == 0:
            raise HelixError(f"{path}: the file is empty", code="invalid_input")
        request = UploadRequest(
            filename=path.name,
            content_type=_content_type(path, kind),
            size_bytes=size,
            kind=kind,
            team_id=team_id if team_id is not None else UNSET,
        )
        ticket = self._call(request_upload, body=request)
        if isinstance(ticket, MultipartTicket):
            self._send_parts(path, ticket)
        else:
            with path.open("rb") as body:
                self._put(ticket.upload_url, ticket.method, ticket.headers.to_dict(), body, size, path)
        self._wait_available(path, ticket.artifact_id)
        return ticket.artifact_id

    def _put(self, url: str, method: str, headers: dict[str, str], body: Any, size: int, path: Path) -> str:
        # A file is streamed: its length is said, unless the server signed it among the headers.
        if not any(name.lower() == "content-length" for name in headers):
            headers = {**headers, "Content-Length": str(size)}
        for attempt in range(1, PUT_TRIES + 1):
            if hasattr(body, "seek"):
                body.seek(0)
            try:
                response = self._storage.request(method, url, headers=headers, content=body)
            except httpx.TransportError as e:
                if attempt == PUT_TRIES:
                    raise HelixError(f"{path}: cannot reach the storage: {e}", code="network") from e
            else:
                if response.is_success:
                    return response.headers.get("etag", "")
                if response.status_code < 500 or attempt == PUT_TRIES:
                    raise HelixError(
                        f"{path}: the storage refused the upload: HTTP {response.status_code}",
                        status=response.status_code,
                        code="upload_failed",
                    )
            time.sleep(0.5 * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _send_parts(self, path: Path, ticket: MultipartTicket) -> None:
        completed = []
        with path.open("rb") as file:
            for number in range(1, ticket.part_count + 1):
                part = file.read(ticket.part_size)
                checksum = base64.b64encode(hashlib.sha256(part).digest()).decode()
                urls = self._call(
                    request_parts,
                    id=ticket.artifact_id,
                    body=PartsRequest(part_numbers=[number], checksums_sha256=[checksum]),
                )
                url = next(u for u in urls.parts if u.part_number == number)
                etag = self._put(url.url, url.method, url.headers.to_dict(), part, len(part), path)
                completed.append(CompletedPartBody(part_number=number, etag=etag))
        self._call(complete_upload, id=ticket.artifact_id, body=CompleteRequest(parts=completed))

    def _wait_available(self, path: Path, artifact_id: str) -> None:
        deadline = time.monotonic() + AVAILABLE_WITHIN_SECONDS
        while True:
            artifact = self._call(get_artifact, id=artifact_id)
            if artifact.status == ArtifactStatus.AVAILABLE:
                return
            if artifact.status == ArtifactStatus.REJECTED:
                reason = artifact.rejected_reason or "no reason given"
                raise HelixError(f"{path}: the server rejected the upload: {reason}", code="upload_rejected")
            if time.monotonic() >= deadline:
                raise HelixError(
                    f"{path}: uploaded, but the server had not accepted it after "
                    f"{AVAILABLE_WITHIN_SECONDS} s (artifact {artifact_id})",
                    code="timeout",
                )
            time.sleep(0.25)

    # Jobs ---------------------------------------------------------------------------------------

    def submit(
        self,
        files: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        context: str | os.PathLike[str] | None = None,
        schema: str | os.PathLike[str] | None = None,
        *,
        wait: bool = True,
        name: str | None = None,
        lookups: Iterable[str | os.PathLike[str]] = (),
        auto_map: bool = False,
        team_id: str | None = None,
        timeout: float | None = None,
    ) -> Job:
        """Uploads the content files (and the context, schema and lookup tables), submits the job
        and, with ``wait``, returns it once it has ended (see ``Job.wait``)."""
        files = [files] if isinstance(files, (str, os.PathLike)) else list(files)
        if not files:
            raise HelixError("files: a job needs at least one content file", code="invalid_input", field="files")
        paths = [Path(f) for f in [*files, *lookups, *(p for p in (context, schema) if p is not None)]]
        for path in paths:
            if not path.is_file():
                raise HelixError(f"{path}: not a file", code="file")
        contents = [self.upload(f, "content", team_id) for f in files]
        tables = [self.upload(f, "content", team_id) for f in lookups]
        body = JobCreate(
            content_artifact_ids=contents,
            lookup_artifact_ids=tables or UNSET,
            context_artifact_id=self.upload(context, "context", team_id) if context is not None else UNSET,
            schema_artifact_id=self.upload(schema, "schema", team_id) if schema is not None else UNSET,
            name=name if name is not None else UNSET,
            auto_map=auto_map or UNSET,
            team_id=team_id if team_id is not None else UNSET,
        )
        job = Job(self, self._call(create_job, body=body))
        return job.wait(timeout) if wait else job

    def job(self, job_id: str) -> Job:
        return Job(self, self._call(get_job, id=job_id))

    def jobs(self, status: str | None = None) -> Iterator[Job]:
        """The caller's jobs, newest first, every page."""
        cursor: Any = UNSET
        while True:
            page = self._call(list_jobs, status=JobStatus(status) if status else UNSET, cursor=cursor)
            for read in page.items:
                yield Job(self, read)
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def open_artifact(self, artifact_id: str) -> httpx.Response:
        """An artifact's content as a streamed response (through its presigned URL); close it after."""
        link = self._call(download, id=artifact_id)
        request = self._storage.build_request("GET", link.url)
        response = self._storage.send(request, stream=True)
        if not response.is_success:
            response.read()
            response.close()
            raise HelixError(
                f"the storage refused the download: HTTP {response.status_code}",
                status=response.status_code,
                code="download_failed",
            )
        return response


class Job:
    """A submitted job as last read (``data``: the API's ``JobRead``)."""

    def __init__(self, client: Client, data: JobRead):
        self._client = client
        self.data = data

    @property
    def id(self) -> str:
        return self.data.id

    @property
    def status(self) -> str:
        return str(self.data.status)

    @property
    def error(self) -> str | None:
        return self.data.error or None

    def to_dict(self) -> dict[str, Any]:
        return self.data.to_dict()

    def __repr__(self) -> str:
        return f"Job({self.id!r}, {self.status})"

    def refresh(self) -> Job:
        self.data = self._client._call(get_job, id=self.id)
        return self

    def wait(self, timeout: float | None = None) -> Job:
        """Polls (a growing interval, at most 5 s) until the job has ended; ``TimeoutError`` after
        ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.25
        while self.data.status not in FINISHED:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {self.id} is still {self.status} after {timeout} s")
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)
            self.refresh()
        return self

    def cancel(self) -> Job:
        self.data = self._client._call(cancel_job, id=self.id)
        return self

    def _output(self, artifact_id: Any, what: str) -> str:
        if artifact_id:
            return artifact_id
        if self.data.status == JobStatus.FAILED:
            raise HelixError(
                f"job {self.id} FAILED, so it has no {what}: {self.error or 'no reason given'}", code="job_failed"
            )
        if self.data.status == JobStatus.CANCELLED:
            raise HelixError(f"job {self.id} was CANCELLED, so it has no {what}", code="no_output")
        if self.data.status == JobStatus.COMPLETED:
            raise HelixError(f"job {self.id} has no {what}", code="no_output")
        raise HelixError(f"job {self.id} is {self.status}: no {what} yet (call wait() first)", code="job_not_finished")

    def results(self) -> Iterator[dict[str, Any]]:
        """The job's valid records, one dict each, read as they come (a JSON array or NDJSON).
        A job without a result (not finished, FAILED, CANCELLED) raises here, not when iterated."""
        return _records(self._client.open_artifact(self._output(self.data.result_artifact_id, "result")))

    def reject_report(self) -> dict[str, Any]:
        """The whole reject report: ``{"rejects": [...], "summary": {...}}``."""
        response = self._client.open_artifact(self._output(self.data.error_report_artifact_id, "reject report"))
        try:
            return json.loads(response.read())
        finally:
            response.close()

    def rejects(self) -> list[dict[str, Any]]:
        """The rejected records: input, line, record, pointer, keyword, message each."""
        return self.reject_report()["rejects"]


def _records(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """A result's records: a JSON array is parsed whole, NDJSON line by line as it arrives."""
    try:
        chunks = response.iter_bytes()
        head = b""
        for chunk in chunks:
            head += chunk
            if head.strip():
                break
        if head.lstrip().startswith(b"["):
            yield from json.loads(head + b"".join(chunks))
            return
        pending = b""
        for chunk in itertools.chain([head], chunks):
            *lines, pending = (pending + chunk).split(b"\n")
            yield from (json.loads(line) for line in lines if line.strip())
        if pending.strip():
            yield json.loads(pending)
    finally:
        response.close()
