"""Export file downloads (`/files/{task}/{file}?md5=…&expires=…`, nginx secure_link +
auth_request): with `requiresAccessToken` the owner's bearer token is needed as well as a
valid, unexpired signature. Without a token → 401; another client's token → 404; a tampered
signature → 403; an expired link → 410; the owner's token → 200 with the file's bytes."""
from __future__ import annotations

import http.client
import json
import os
import ssl
import time
import urllib.parse

import pytest
import requests

from export_support import (
    NDJSON_CONTENT_TYPE, ExportResult, RawResponse, file_path, kickoff_get, run_export, signed_target,
    signing_secret, stack_task_dir,
)
from fhir_support import FHIR_CONTENT_TYPE, current_token, describe
from security_support import (
    Client, base_url, ca, forge_access_token, origin, register_new,
)

SUNRISE = "atr-group-sunrise"


@pytest.fixture(scope="module")
def owner() -> Client:
    return register_new("sec-dl-own", "system/*.read")


@pytest.fixture(scope="module")
def stranger() -> Client:
    return register_new("sec-dl-oth", "system/*.read")


@pytest.fixture(scope="module")
def export(owner) -> ExportResult:
    resp = kickoff_get(owner.session(), base_url(), SUNRISE, "_type=Group,Patient,Coverage")
    return run_export(owner.session(), base_url(), resp)


@pytest.fixture(scope="module")
def patient_file(export) -> tuple[str, str, str, str]:
    """(url, path, task id, name) of the Patient output file."""
    url = next(e["url"] for e in export.manifest["output"] if e["type"] == "Patient")
    path, task_id, name = file_path(url)
    return url, path, task_id, name


def fetch(url: str, token: str | None = None, headers: dict[str, str] | None = None) -> requests.Response:
    sent = {"Accept": "*/*", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return requests.get(url, headers=sent, verify=ca(), timeout=60, allow_redirects=False)


def assert_nginx_outcome(resp: requests.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, describe(resp)
    assert resp.headers.get("Content-Type") == FHIR_CONTENT_TYPE, describe(resp)
    body = resp.json()
    assert body["resourceType"] == "OperationOutcome", describe(resp)
    issue = body["issue"][0]
    assert issue["severity"] == "error" and issue["code"] == code, describe(resp)
    assert b"patient-" not in resp.content, describe(resp)
    return body


def with_query(url: str, **changes: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update(changes)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def test_manifest_says_downloads_require_an_access_token(export):
    assert export.manifest["requiresAccessToken"] is True, export.manifest


def test_owner_token_downloads_the_file_bytes(export, owner, patient_file):
    url, _, task_id, name = patient_file
    resp = fetch(url, owner.token())
    assert resp.status_code == 200, describe(resp)
    assert resp.headers.get("Content-Type") == NDJSON_CONTENT_TYPE, describe(resp)
    with open(os.path.join(stack_task_dir(task_id), name), "rb") as handle:
        assert resp.content == handle.read()
    ids = sorted(json.loads(line)["id"] for line in resp.content.decode().splitlines())
    assert ids == sorted(["patient-alice", "patient-bob", "patient-erin", "patient-frank",
                          "patient-grace", "patient-henry", "patient-ivy", "patient-jack"])


def test_every_manifest_url_downloads_with_the_owner_token(export, owner):
    for entry in export.manifest["output"]:
        resp = fetch(entry["url"], owner.token())
        assert resp.status_code == 200, describe(resp)
        assert resp.content == export.raw[entry["url"]]


def test_download_without_token_is_401(patient_file):
    url = patient_file[0]
    resp = fetch(url)
    assert_nginx_outcome(resp, 401, "login")
    assert resp.raw.headers.getlist("WWW-Authenticate") == ['Bearer realm="ATR Export"'], "exactly one challenge"


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_download_with_an_invalid_token_is_401(patient_file, token):
    resp = fetch(patient_file[0], token)
    assert_nginx_outcome(resp, 401, "login")


def test_download_with_an_expired_owner_token_is_401(patient_file, owner):
    now = int(time.time())
    token = forge_access_token(owner.client_id, exp=now - 120, iat=now - 400, nbf=now - 400)
    assert_nginx_outcome(fetch(patient_file[0], token), 401, "login")


def test_download_with_another_clients_token_is_404(patient_file, stranger):
    assert_nginx_outcome(fetch(patient_file[0], stranger.token()), 404, "not-found")


def test_download_with_the_admin_token_is_404(patient_file):
    """e2e-admin has every scope and Group, yet the task is not its own."""
    assert_nginx_outcome(fetch(patient_file[0], current_token()), 404, "not-found")


def test_tampered_signature_is_403(patient_file, owner):
    url = patient_file[0]
    md5 = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["md5"]
    tampered = ("A" if md5[0] != "A" else "B") + md5[1:]
    assert_nginx_outcome(fetch(with_query(url, md5=tampered), owner.token()), 403, "security")


def test_signature_for_another_expiry_is_403(patient_file, owner):
    url = patient_file[0]
    expires = int(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["expires"])
    assert_nginx_outcome(fetch(with_query(url, expires=str(expires + 3600)), owner.token()), 403, "security")


def test_missing_signature_is_403(patient_file, owner):
    bare = patient_file[0].split("?", 1)[0]
    assert_nginx_outcome(fetch(bare, owner.token()), 403, "security")


def test_expired_link_is_410(patient_file, owner):
    _, path, _, _ = patient_file
    target = signed_target(path, int(time.time()) - 60, signing_secret())
    resp = fetch(origin() + target, owner.token())
    body = assert_nginx_outcome(resp, 410, "expired")
    assert "expired" in body["issue"][0]["diagnostics"].lower()


def test_expired_link_is_410_even_without_a_token(patient_file):
    """The link is checked first; nothing about the token is revealed."""
    _, path, _, _ = patient_file
    target = signed_target(path, int(time.time()) - 60, signing_secret())
    assert_nginx_outcome(fetch(origin() + target), 410, "expired")


def test_freshly_forged_link_with_the_owner_token_is_200(patient_file, owner, export):
    """Control for the forging: a valid signature made with the secret opens the file."""
    url, path, _, _ = patient_file
    target = signed_target(path, int(time.time()) + 600, signing_secret())
    resp = fetch(origin() + target, owner.token())
    assert resp.status_code == 200, describe(resp)
    assert resp.content == export.raw[url]


def test_valid_link_does_not_replace_the_owner_check(patient_file, stranger):
    """A correctly signed link does not stand in for the token: the stranger holding a
    valid, unexpired URL still gets 404."""
    _, path, _, _ = patient_file
    target = signed_target(path, int(time.time()) + 600, signing_secret())
    assert_nginx_outcome(fetch(origin() + target, stranger.token()), 404, "not-found")


def test_cancelled_task_files_are_gone_for_the_owner(owner):
    resp = kickoff_get(owner.session(), base_url(), SUNRISE, "_type=Group,Patient,Coverage")
    result = run_export(owner.session(), base_url(), resp)
    url = result.manifest["output"][0]["url"]
    cancelled = owner.session().delete(result.status_url)
    assert cancelled.status_code == 202, describe(cancelled)
    assert_nginx_outcome(fetch(url, owner.token()), 404, "not-found")


# --- the owner check must be about the file nginx serves ---------------------------------------


def raw_fetch(target: str, token: str | None) -> RawResponse:
    """GET with the request target sent byte for byte (no normalisation by the client)."""
    parts = urllib.parse.urlsplit(base_url())
    context = ssl.create_default_context(cafile=ca())
    conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, context=context, timeout=30)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        conn.putheader("Accept", "*/*")
        if token is not None:
            conn.putheader("Authorization", f"Bearer {token}")
        conn.endheaders()
        resp = conn.getresponse()
        return RawResponse(resp.status, dict(resp.getheaders()), resp.read())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def stranger_export(stranger) -> ExportResult:
    """A complete task of the stranger's own, for path-confusion attempts."""
    resp = kickoff_get(stranger.session(), base_url(), "group-empty")
    return run_export(stranger.session(), base_url(), resp)


@pytest.mark.parametrize("template", [
    "/files/{own}/..%2F{victim}%2F{name}",
    "/files/{own}/..%2f{victim}%2f{name}",
    "/files/{own}/%2E%2E%2F{victim}%2F{name}",
    "/files/{own}/..%2F..%2Ffiles%2F{victim}%2F{name}",
    "/files/{own}%2F..%2F{victim}/{name}",
    "/files/{own}/../{victim}/{name}",
    "/files//{own}/../{victim}/{name}",
])
def test_owned_task_in_the_raw_path_does_not_open_another_clients_file(
        patient_file, stranger, stranger_export, template):
    """The stranger holds the owner's (leaked) signed link and a complete task of its own.
    Bending the raw request path so that it names the stranger's task while nginx's decoded,
    normalised $uri — what secure_link checks and alias serves — is the owner's file must not
    serve the owner's file."""
    url, _, victim, name = patient_file
    own = stranger_export.task_id
    query = url.split("?", 1)[1]
    target = template.format(own=own, victim=victim, name=name) + "?" + query
    resp = raw_fetch(target, stranger.token())
    assert resp.status in (400, 403, 404), resp.describe(target)
    assert b"patient-alice" not in resp.body, resp.describe(target)
