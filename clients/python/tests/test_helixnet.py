"""helixnet against a running platform (HELIX_URL; scripts/test.sh starts one): submit, results,
rejects, big files in parts, API keys, and the errors a user meets."""

import os
import uuid
from pathlib import Path

import pytest

import helixnet
from helixnet_api.api.teams import create_key
from helixnet_api.api.users import me
from helixnet_api.models import ApiKeyCreate

URL = os.environ.get("HELIX_URL", "")
USER = os.environ.get("HELIX_TEST_USER", "alice@helixnet.local")
PASSWORD = os.environ.get("HELIX_TEST_PASSWORD", "alice-local-pass")

pytestmark = pytest.mark.skipif(not URL, reason="HELIX_URL is not set: run through scripts/test.sh")

ORDERS = "order_no;customer;qty\nA-1;  Acme ;3\nA-2;Globex;x\nA-3;Initech;12\n"
CONTEXT = "fields:\n  order: '{{ order_no }}'\n  customer: '{{ customer | trim }}'\n  qty: '{{ qty }}'\n"
SCHEMA = """{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
  "required": ["order", "customer", "qty"],
  "properties": {"order": {"type": "string"}, "customer": {"type": "string"},
                 "qty": {"type": "string", "pattern": "^[0-9]+$"}}}"""


@pytest.fixture(scope="module")
def client():
    with helixnet.Client(URL, email=USER, password=PASSWORD) as client:
        yield client


@pytest.fixture
def files(tmp_path: Path):
    (tmp_path / "orders.csv").write_text(ORDERS)
    (tmp_path / "orders.yaml").write_text(CONTEXT)
    (tmp_path / "orders.schema.json").write_text(SCHEMA)
    return tmp_path


def test_submit_waits_and_gives_the_records_and_the_rejects(client, files):
    job = client.submit(
        files / "orders.csv", context=files / "orders.yaml", schema=files / "orders.schema.json", name="python client"
    )
    assert job.status == "COMPLETED", job.error
    assert job.data.records_out == 2 and job.data.records_rejected == 1
    assert list(job.results()) == [
        {"order": "A-1", "customer": "Acme", "qty": "3"},
        {"order": "A-3", "customer": "Initech", "qty": "12"},
    ]
    [reject] = job.rejects()
    assert reject["line"] == 3 and reject["pointer"] == "/qty", reject
    assert job.reject_report()["summary"]["records_rejected"] == 1
    assert client.job(job.id).to_dict()["name"] == "python client"


def test_ndjson_results_are_read_line_by_line(client, files):
    (files / "ndjson.yaml").write_text("output:\n  format: ndjson\n" + CONTEXT)
    job = client.submit([files / "orders.csv"], context=files / "ndjson.yaml")
    assert job.status == "COMPLETED", job.error
    assert [r["order"] for r in job.results()] == ["A-1", "A-2", "A-3"]


def test_without_wait_the_job_is_followed_later(client, files):
    job = client.submit(files / "orders.csv", wait=False)
    assert job.status in {"PENDING", "RUNNING", "COMPLETED"}
    if job.status != "COMPLETED":
        with pytest.raises(helixnet.HelixError, match="no result yet") as early:
            job.results()
        assert early.value.code == "job_not_finished"
    assert job.wait(timeout=120).status == "COMPLETED"
    assert len(list(job.results())) == 3
    assert any(j.id == job.id for j in client.jobs())


def test_a_file_above_the_threshold_goes_up_in_parts(client, tmp_path):
    # scripts/test.sh starts the platform with a 5 MiB multipart threshold; parts are 16 MiB: two.
    big = tmp_path / "big.csv"
    row = b"0123456789;abcdef\n"
    big.write_bytes(row * ((17 << 20) // len(row)))
    artifact_id = client.upload(big)
    response = client.open_artifact(artifact_id)
    try:
        assert response.read() == big.read_bytes()
    finally:
        response.close()


def test_an_api_key_acts_for_its_team(client, files):
    user = me.sync(client=client.api)
    created = create_key.sync(
        id=f"personal-{user.id}",
        client=client.api,
        body=ApiKeyCreate(
            name=f"notebook {uuid.uuid4().hex[:8]}", scopes=["jobs:read", "jobs:write", "artifacts:write"]
        ),
    )
    with helixnet.Client(URL, api_key=created.key) as machine:
        job = machine.submit(files / "orders.csv", context=files / "orders.yaml")
        assert job.status == "COMPLETED", job.error
        assert len(list(job.results())) == 3


def test_refusals_name_the_reason(client, files):
    with pytest.raises(helixnet.HelixError) as wrong:
        helixnet.Client(URL, email=f"nobody-{uuid.uuid4().hex[:8]}@helixnet.local", password="not-a-password")
    assert wrong.value.status == 401

    with pytest.raises(helixnet.HelixError) as revoked:
        helixnet.Client(URL, api_key="hx_live_not_a_key").job("anything")
    assert revoked.value.status == 401

    with pytest.raises(helixnet.HelixError) as missing:
        client.job(str(uuid.uuid4()))
    assert missing.value.status == 404 and missing.value.code

    with pytest.raises(helixnet.HelixError, match="not a file") as no_file:
        client.submit(files / "nowhere.csv")
    assert no_file.value.code == "file"

    (files / "empty.csv").write_text("")
    with pytest.raises(helixnet.HelixError, match="the file is empty"):
        client.submit(files / "empty.csv")

    with pytest.raises(ValueError, match="api_key"):
        helixnet.Client(URL, api_key="")


def test_a_bad_context_is_refused_with_its_position(client, files):
    (files / "bad.yaml").write_text("fields:\n  order: [unclosed\n")
    with pytest.raises(helixnet.HelixError) as refused:
        client.submit(files / "orders.csv", context=files / "bad.yaml")
    assert (refused.value.status, refused.value.field) == (422, "context_artifact_id")
    assert "bad.yaml line 3" in refused.value.message and "line 2, column 10" in refused.value.message


def test_a_failed_job_has_no_results(client, files):
    (files / "binary.csv").write_bytes(b'id;name\n1;"never closed\n')
    job = client.submit(files / "binary.csv", context=files / "orders.yaml")
    assert job.status == "FAILED", job
    with pytest.raises(helixnet.HelixError, match="FAILED") as no_result:
        job.results()
    assert no_result.value.code == "job_failed"
