"""The export status lifecycle: `$exportstatus` while queued/active (202), complete (200
manifest), cancelled with DELETE (202, then 404 everywhere), unknown ids (404)."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from export_support import (
    DEFAULT_TYPES, MANIFEST_CONTENT_TYPE, assert_accepted, assert_in_progress, atrctl,
    download, export_url, file_path, generate_atr_group, kickoff_get, manifest_of, poll,
    query_string, retry_after_seconds, run_export, stack_task_dir,
)
from fhir_support import (
    HTTP_DATE_RE, LAST_UPDATED_RE, assert_outcome, describe, fhir_json, new_id, require_env,
)

#: Members of the generated Group whose export takes long enough (seconds in a debug build) that
#: the first poll right after kick-off always finds the task queued or active.
LARGE_GROUP_MEMBERS = 2000


@pytest.fixture(scope="module")
def large_group(tmp_path_factory) -> str:
    """A generated ATR Group loaded into the stack's database with `atrctl import`."""
    generated = generate_atr_group(str(tmp_path_factory.mktemp("large-group")),
                                   new_id("large"), LARGE_GROUP_MEMBERS)
    atrctl(require_env("ATR_BIN"), require_env("ATR_INSTANCE_SETTINGS"),
           os.environ.get("ATR_ROOT") or os.getcwd(), "import", *generated.files)
    return generated.group_id


def status_of(http, status_url: str):
    return http.get(status_url)


# --- in progress ------------------------------------------------------------------------------


def test_first_poll_after_kickoff_is_202_with_progress_and_retry_after(http, base, large_group):
    status_url, _ = assert_accepted(kickoff_get(http, base, large_group), base)
    first = status_of(http, status_url)
    assert_in_progress(first)
    assert len(first.headers["X-Progress"]) < 100
    assert 1 <= retry_after_seconds(first) <= 60, describe(first)
    assert "Expires" not in first.headers, describe(first)
    manifest_of(poll(http, status_url, timeout=120))


def test_in_progress_status_has_no_manifest_body(http, base, large_group):
    status_url, _ = assert_accepted(kickoff_get(http, base, large_group), base)
    first = status_of(http, status_url)
    assert first.status_code == 202, describe(first)
    assert b"output" not in first.content, describe(first)
    manifest_of(poll(http, status_url, timeout=120))


# --- complete ---------------------------------------------------------------------------------


def test_complete_status_is_200_manifest_with_all_fields(http, base):
    url = export_url(base, "atr-group-sunrise", query=query_string([("_type", "Group,Patient,Coverage"),
                                                                    ("_outputFormat", "application/fhir+ndjson")]))
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    kickoff = http.get(url, headers={"Prefer": "respond-async", "Accept": "application/fhir+json"})
    status_url, task_id = assert_accepted(kickoff, base)
    status = poll(http, status_url)
    after = datetime.now(timezone.utc) + timedelta(seconds=1)
    manifest = manifest_of(status)
    assert status.headers.get("Content-Type") == MANIFEST_CONTENT_TYPE
    assert set(manifest) == {"transactionTime", "request", "requiresAccessToken", "output", "error", "deleted"}, manifest
    assert LAST_UPDATED_RE.match(manifest["transactionTime"]), manifest
    transaction_time = datetime.strptime(manifest["transactionTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert before <= transaction_time <= after, manifest
    assert manifest["request"] == url == kickoff.request.url
    assert manifest["requiresAccessToken"] is True
    assert manifest["error"] == [] and manifest["deleted"] == []
    assert [e["type"] for e in manifest["output"]] == DEFAULT_TYPES
    for entry in manifest["output"]:
        assert set(entry) == {"type", "url", "count"}, entry
        assert isinstance(entry["count"], int) and entry["count"] > 0, entry
        assert entry["url"].startswith(f"{base.rsplit('/fhir', 1)[0]}/files/{task_id}/"), entry
        path, url_task, name = file_path(entry["url"])
        assert url_task == task_id and name == f"content{entry['type']}.ndjson"


def test_complete_status_expires_when_the_files_are_purged(http, base):
    """`Expires` (an HTTP-date) on the complete status: the task's finish time plus
    `BulkDataExport.FileRetentionPeriod` (the stack runs with the default, one day)."""
    result = run_export(http, base, kickoff_get(http, base, "group-empty"))
    finished = atrctl(require_env("ATR_BIN"), require_env("ATR_INSTANCE_SETTINGS"),
                      os.environ.get("ATR_ROOT") or os.getcwd(), "tasks", "show", result.task_id).stdout.decode()
    [line] = [line for line in finished.splitlines() if line.startswith("finished: ")]
    finished_at = datetime.strptime(line.removeprefix("finished: "), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    expected = format_datetime(finished_at.replace(microsecond=0) + timedelta(days=1), usegmt=True)
    for status in (result.status, http.get(result.status_url)):
        assert status.status_code == 200, describe(status)
        assert HTTP_DATE_RE.match(status.headers["Expires"]), status.headers
        assert status.headers["Expires"] == expected, (status.headers, finished)


def test_post_kickoff_manifest_request_is_the_kickoff_url(http, base):
    resp = http.post(export_url(base, "group-empty"), data=b'{"resourceType":"Parameters"}',
                     headers={"Prefer": "respond-async", "Accept": "application/fhir+json",
                              "Content-Type": "application/fhir+json"})
    result = run_export(http, base, resp)
    assert result.manifest["request"] == export_url(base, "group-empty")


def test_complete_status_is_stable_across_polls(http, base):
    result = run_export(http, base, kickoff_get(http, base, "group-empty"))
    again = manifest_of(http.get(result.status_url))
    strip = lambda m: {**m, "output": [{k: v for k, v in e.items() if k != "url"} for e in m["output"]]}
    assert strip(again) == strip(result.manifest)


# --- cancel -----------------------------------------------------------------------------------


def test_delete_completed_export_removes_status_and_files(http, base):
    result = run_export(http, base, kickoff_get(http, base, "atr-group-sunrise"))
    task_dir = stack_task_dir(result.task_id)
    assert os.path.isdir(task_dir), task_dir
    urls = [e["url"] for e in result.manifest["output"]]
    assert urls

    deleted = http.delete(result.status_url)
    body = fhir_json(deleted, 202)
    assert body["resourceType"] == "OperationOutcome", describe(deleted)
    assert all(i["severity"] == "information" for i in body["issue"]), describe(deleted)

    assert_outcome(http.get(result.status_url), 404, mentions=result.task_id)
    for url in urls:
        got = download(http, url)
        assert got.status_code == 404, describe(got)
        _, task_id, name = file_path(url)
        via_op = http.get(f"{base}/$exportfilerequest/", params={"_id": task_id, "filename": name})
        assert_outcome(via_op, 404)
    assert not os.path.exists(task_dir), os.listdir(task_dir)


def test_delete_while_in_progress_never_completes(http, base, large_group):
    status_url, task_id = assert_accepted(kickoff_get(http, base, large_group), base)
    assert_in_progress(http.get(status_url))
    assert http.delete(status_url).status_code == 202
    # Until the scheduler has let go of it (its temporary directory gone) and a little longer,
    # the task stays 404 and nothing is published.
    building = os.path.join(os.path.dirname(stack_task_dir(task_id)), ".building")
    started = time.monotonic()
    while True:
        assert_outcome(http.get(status_url), 404)
        assert not os.path.exists(stack_task_dir(task_id))
        elapsed = time.monotonic() - started
        leftovers = [e for e in os.listdir(building) if e.startswith(task_id + ".")] \
            if os.path.isdir(building) else []
        if elapsed >= 1.5 and not leftovers:
            break
        assert elapsed < 30, f"temporary files of the cancelled task remain: {leftovers}"
        time.sleep(0.2)


def test_status_of_unknown_task_is_404(http, base):
    task_id = new_id()
    assert_outcome(http.get(f"{base}/$exportstatus", params={"_id": task_id}), 404, mentions=task_id)


def test_delete_of_unknown_task_is_404(http, base):
    assert_outcome(http.delete(f"{base}/$exportstatus", params={"_id": new_id()}), 404)


def test_status_without_id_is_400(http, base):
    assert_outcome(http.get(f"{base}/$exportstatus"), 400, mentions="_id")


def test_exportfilerequest_of_unknown_task_is_404(http, base):
    resp = http.get(f"{base}/$exportfilerequest/", params={"_id": new_id(), "filename": "contentPatient.ndjson"})
    assert_outcome(resp, 404)
