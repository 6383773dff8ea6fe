"""Access to an export task is decided again on every request (README "Security"): status,
cancel, `$exportfilerequest` and `/files/` downloads need the owner's token, the owner still
registered for the task's Group, and the token still reading every type the export needs. A
client removed or narrowed after kick-off loses its tasks at once: 404 as if the task did not
exist when the registration is gone or no longer covers the Group, 403 naming the missing read
scope when only the token is narrower."""
from __future__ import annotations

import requests

from export_support import ExportResult, file_path, kickoff_get, run_export
from fhir_support import describe
from security_support import Client, atrctl, base_url, ca, register, register_new

SUNRISE = "atr-group-sunrise"
WELLNESS = "group-wellness-program"
FULL = "system/*.read"
#: Reads Group, Patient and Coverage but not Consent, which `$davinci-data-export` also needs.
WITHOUT_CONSENT = "system/Group.read system/Patient.read system/Coverage.read"


def started_export(client: Client) -> ExportResult:
    resp = kickoff_get(client.session(), base_url(), SUNRISE, "_type=Group,Patient,Coverage")
    return run_export(client.session(), base_url(), resp)


def task_id_of(result: ExportResult) -> str:
    return file_path(result.manifest["output"][0]["url"])[1]


def status(task_id: str, token: str, method: str = "GET") -> requests.Response:
    return requests.request(method, f"{base_url()}/$exportstatus", params={"_id": task_id},
                            headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"},
                            verify=ca(), timeout=60)


def file_request(result: ExportResult, token: str) -> requests.Response:
    _, task_id, name = file_path(result.manifest["output"][0]["url"])
    return requests.get(f"{base_url()}/$exportfilerequest/", params={"_id": task_id, "filename": name},
                        headers={"Authorization": f"Bearer {token}"}, verify=ca(), timeout=60)


def download(result: ExportResult, token: str) -> requests.Response:
    return requests.get(result.manifest["output"][0]["url"], headers={"Authorization": f"Bearer {token}", "Accept": "*/*"},
                        verify=ca(), timeout=60, allow_redirects=False)


def assert_outcome(resp: requests.Response, status_code: int, code: str, mentions: str | None = None) -> None:
    assert resp.status_code == status_code, describe(resp)
    issue = resp.json()["issue"][0]
    assert issue["code"] == code, describe(resp)
    if mentions:
        assert mentions in issue["diagnostics"], describe(resp)


def assert_everything_allowed(result: ExportResult, token: str) -> None:
    task_id = task_id_of(result)
    assert status(task_id, token).status_code == 200
    assert file_request(result, token).status_code == 200
    resp = download(result, token)
    assert resp.status_code == 200, describe(resp)
    assert resp.content == result.raw[result.manifest["output"][0]["url"]]


def test_a_token_that_no_longer_reads_consent_gets_403_naming_it_everywhere():
    client = register_new("task-narrow", FULL)
    result = started_export(client)
    assert_everything_allowed(result, client.token())
    narrow = client.token(WITHOUT_CONSENT)
    assert_outcome(status(task_id_of(result), narrow), 403, "forbidden", "Consent (e.g. scope system/Consent.read)")
    assert_outcome(status(task_id_of(result), narrow, "DELETE"), 403, "forbidden", "Consent")
    assert_outcome(file_request(result, narrow), 403, "forbidden", "Consent")
    assert download(result, narrow).status_code == 403
    # The task itself is untouched: the full token still reaches it.
    assert_everything_allowed(result, client.token())


def test_a_client_no_longer_registered_for_the_group_cannot_tell_the_task_exists():
    client = register_new("task-regroup", FULL, groups=[SUNRISE])
    result = started_export(client)
    token = client.token()
    assert_everything_allowed(result, token)
    register(client.client_id, client.keys, FULL, groups=[WELLNESS])
    # The token still says SUNRISE (issued before); the registration decides.
    assert_outcome(status(task_id_of(result), token), 404, "not-found")
    assert_outcome(status(task_id_of(result), token, "DELETE"), 404, "not-found")
    assert_outcome(file_request(result, token), 404, "not-found")
    assert_outcome(download(result, token), 404, "not-found")
    register(client.client_id, client.keys, FULL, groups=[WELLNESS, SUNRISE])
    assert_everything_allowed(result, token)


def test_a_removed_client_loses_its_tasks():
    client = register_new("task-removed", FULL)
    result = started_export(client)
    token = client.token()
    assert_everything_allowed(result, token)
    atrctl("clients", "remove", client.client_id)
    assert_outcome(status(task_id_of(result), token), 404, "not-found")
    assert_outcome(file_request(result, token), 404, "not-found")
    assert_outcome(download(result, token), 404, "not-found")
