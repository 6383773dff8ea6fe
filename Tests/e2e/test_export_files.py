"""Export file links served by nginx (`/files/{taskId}/{file}?md5=…&expires=…`, secure_link):
tampered and expired links, path traversal, encoded dots and slashes, symlinks, and the
`$exportfilerequest` download.

Links are forged with the stack's signing secret (`$ATR_STATE_DIR/secrets/url-signing.key`):
md5 = base64url(MD5(f"{expires}{path} {secret}")) without padding.
"""
from __future__ import annotations

import json
import os
import time
import urllib.parse

import pytest

from export_support import (
    NDJSON_CONTENT_TYPE, ExportResult, RawResponse, download, export_get, file_path, raw_get,
    signed_target, signing_secret, stack_task_dir, state_dir,
)
from fhir_support import FHIR_CONTENT_TYPE, assert_outcome, describe, new_id

#: A file outside the task directory whose content must never be served.
SECRET_RELATIVE = "secrets/url-signing.key"


@pytest.fixture(scope="module")
def secret() -> str:
    value = signing_secret()
    assert len(value) >= 16
    return value


@pytest.fixture(scope="module")
def task_a(http, base) -> ExportResult:
    return export_get(http, base, "atr-group-sunrise")


@pytest.fixture(scope="module")
def task_b(http, base) -> ExportResult:
    return export_get(http, base, "group-empty")


def origin(base: str) -> str:
    parts = urllib.parse.urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


def first_file(result: ExportResult) -> tuple[str, str, str, str]:
    """(url, path, task id, name) of the first output file."""
    url = result.manifest["output"][0]["url"]
    path, task_id, name = file_path(url)
    return url, path, task_id, name


def link_query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def in_an_hour() -> int:
    return int(time.time()) + 3600


def assert_nginx_outcome(resp: RawResponse, status: int, code: str, target: str) -> dict:
    assert resp.status == status, resp.describe(target)
    assert resp.headers.get("Content-Type") == FHIR_CONTENT_TYPE, resp.describe(target)
    body = json.loads(resp.body)
    assert body["resourceType"] == "OperationOutcome", resp.describe(target)
    assert body["issue"][0]["severity"] == "error" and body["issue"][0]["code"] == code, resp.describe(target)
    return body


def assert_not_served(resp: RawResponse, target: str, forbidden: bytes | None = None) -> None:
    """Refused (403 or 404 with an OperationOutcome) and none of ``forbidden`` in the body."""
    assert resp.status in (403, 404), resp.describe(target)
    assert resp.headers.get("Content-Type") == FHIR_CONTENT_TYPE, resp.describe(target)
    assert json.loads(resp.body)["resourceType"] == "OperationOutcome", resp.describe(target)
    if forbidden:
        assert forbidden not in resp.body, resp.describe(target)


def remove_link(path: str) -> None:
    """The scheduler's cleanup may have removed a stray entry already."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def secret_bytes() -> bytes:
    with open(os.path.join(state_dir(), SECRET_RELATIVE), "rb") as handle:
        return handle.read().strip()


# --- valid, tampered, expired -----------------------------------------------------------------


def test_manifest_link_serves_the_file(task_a, base):
    url, path, _, _ = first_file(task_a)
    target = url[len(origin(base)):]
    got = raw_get(base, target)
    assert got.status == 200, got.describe(target)
    assert got.headers.get("Content-Type") == NDJSON_CONTENT_TYPE
    assert got.body == task_a.raw[url]


def test_link_forged_with_the_secret_serves_the_file(task_a, base, secret):
    """Checks the signing rule the other tests rely on."""
    url, path, _, _ = first_file(task_a)
    target = signed_target(path, in_an_hour(), secret)
    got = raw_get(base, target)
    assert got.status == 200, got.describe(target)
    assert got.body == task_a.raw[url]


def test_tampered_md5_is_403(task_a, http):
    url, *_ = first_file(task_a)
    md5 = link_query(url)["md5"]
    tampered = url.replace(f"md5={md5}", f"md5={('A' if md5[0] != 'A' else 'B') + md5[1:]}")
    resp = download(http, tampered)
    assert_outcome(resp, 403, "security")


def test_missing_signature_is_403(task_a, http):
    url, *_ = first_file(task_a)
    resp = download(http, url.split("?", 1)[0])
    assert_outcome(resp, 403, "security")


def test_tampered_expires_is_403(task_a, http):
    url, *_ = first_file(task_a)
    expires = link_query(url)["expires"]
    resp = download(http, url.replace(f"expires={expires}", f"expires={int(expires) + 3600}"))
    assert_outcome(resp, 403, "security")


def test_signature_of_one_file_does_not_open_another(task_a, http):
    url, path, task_id, name = first_file(task_a)
    other = [e["url"] for e in task_a.manifest["output"] if not e["url"].startswith(url.split("?")[0])][0]
    resp = download(http, other.split("?")[0] + "?" + url.split("?", 1)[1])
    assert_outcome(resp, 403, "security")


def test_expired_link_signed_correctly_is_410(task_a, base, secret):
    _, path, _, _ = first_file(task_a)
    target = signed_target(path, int(time.time()) - 60, secret)
    assert_nginx_outcome(raw_get(base, target), 410, "expired", target)


# --- traversal ----------------------------------------------------------------------------------


def test_dot_dot_to_another_task_with_own_signature_is_403(task_a, task_b, base):
    """A's link with the path bent to B's file through `..`: the signature covers the path."""
    url, _, a_id, _ = first_file(task_a)
    _, _, b_id, b_name = first_file(task_b)
    target = f"/files/{a_id}/../{b_id}/{b_name}?{url.split('?', 1)[1]}"
    assert_nginx_outcome(raw_get(base, target), 403, "security", target)


@pytest.mark.parametrize("dots", ["..", "%2e%2e", "%2E%2E", ".%2e"])
def test_dot_dot_to_another_task_signed_as_sent_is_403(task_a, task_b, base, secret, dots):
    _, _, a_id, _ = first_file(task_a)
    _, _, b_id, b_name = first_file(task_b)
    path = f"/files/{a_id}/{dots}/{b_id}/{b_name}"
    target = signed_target(path, in_an_hour(), secret)
    assert_nginx_outcome(raw_get(base, target), 403, "security", target)


@pytest.mark.parametrize("dots", ["..", "%2e%2e", ".%2e"])
def test_dot_dot_to_another_task_signed_normalised_stays_in_tasks_dir(task_a, task_b, base, secret, dots):
    """Signed over the normalised path, `/files/A/../B/f` can only mean B's own file."""
    _, _, a_id, _ = first_file(task_a)
    b_url, b_path, b_id, b_name = first_file(task_b)
    path = f"/files/{a_id}/{dots}/{b_id}/{b_name}"
    target = signed_target(path, in_an_hour(), secret, signed_path=b_path)
    got = raw_get(base, target)
    if got.status == 200:
        assert got.body == task_b.raw[b_url], got.describe(target)
    else:
        assert_not_served(got, target)


@pytest.mark.parametrize("path_template", [
    "/files/{a}/../../" + SECRET_RELATIVE,
    "/files/../" + SECRET_RELATIVE,
    "/files/{a}/%2e%2e/%2e%2e/" + SECRET_RELATIVE,
    "/files/%2e%2e/" + SECRET_RELATIVE,
    "/files/{a}/..%2F..%2F" + SECRET_RELATIVE.replace("/", "%2F"),
    "/files/{a}%2F..%2F..%2F" + SECRET_RELATIVE.replace("/", "%2F"),
    "/files/..%2f" + SECRET_RELATIVE,
    "/files/{a}/..%5c..%5c" + SECRET_RELATIVE,
])
@pytest.mark.parametrize("signed_as", ["sent", "normalised"])
def test_traversal_out_of_the_tasks_dir_is_not_served(task_a, base, secret, path_template, signed_as):
    _, _, a_id, _ = first_file(task_a)
    path = path_template.format(a=a_id)
    signed_path = path if signed_as == "sent" else "/" + SECRET_RELATIVE
    target = signed_target(path, in_an_hour(), secret, signed_path=signed_path)
    assert_not_served(raw_get(base, target), target, forbidden=secret_bytes())


def test_path_above_the_root_is_400_outcome(base, secret):
    path = "/files/../../etc/passwd"
    target = signed_target(path, in_an_hour(), secret)
    got = raw_get(base, target)
    assert got.status == 400, got.describe(target)
    assert b"root:" not in got.body
    assert got.headers.get("Content-Type") == FHIR_CONTENT_TYPE, got.describe(target)
    assert json.loads(got.body)["resourceType"] == "OperationOutcome", got.describe(target)


def test_encoded_slash_in_file_name_is_403(task_a, base, secret):
    _, _, a_id, name = first_file(task_a)
    path = f"/files/{a_id}%2F{name}"
    target = signed_target(path, in_an_hour(), secret)
    assert_nginx_outcome(raw_get(base, target), 403, "security", target)


def test_task_directory_listing_is_not_served(task_a, base, secret):
    _, _, a_id, _ = first_file(task_a)
    for path in (f"/files/{a_id}/", "/files/", "/files/.building/"):
        target = signed_target(path, in_an_hour(), secret)
        assert_not_served(raw_get(base, target), target)


def test_internal_task_files_location_is_not_reachable(task_a, base):
    _, _, a_id, name = first_file(task_a)
    target = f"/_task_files/{a_id}/{name}"
    assert_nginx_outcome(raw_get(base, target), 404, "not-found", target)


# --- symlinks -----------------------------------------------------------------------------------


def test_symlink_in_task_dir_is_not_followed(task_a, base, secret):
    _, _, a_id, _ = first_file(task_a)
    link = os.path.join(stack_task_dir(a_id), f"{new_id('link')}.ndjson")
    os.symlink("/etc/passwd", link)
    try:
        path = f"/files/{a_id}/{os.path.basename(link)}"
        target = signed_target(path, in_an_hour(), secret)
        got = raw_get(base, target)
        assert_not_served(got, target, forbidden=b"root:")
    finally:
        remove_link(link)


def test_symlink_to_secret_in_task_dir_is_not_followed(task_a, base, secret):
    _, _, a_id, _ = first_file(task_a)
    link = os.path.join(stack_task_dir(a_id), f"{new_id('link')}.ndjson")
    os.symlink(os.path.join(state_dir(), SECRET_RELATIVE), link)
    try:
        path = f"/files/{a_id}/{os.path.basename(link)}"
        target = signed_target(path, in_an_hour(), secret)
        assert_not_served(raw_get(base, target), target, forbidden=secret_bytes())
    finally:
        remove_link(link)


def test_symlinked_task_directory_is_not_followed(base, secret):
    name = new_id("linkdir")
    link = os.path.join(os.path.dirname(stack_task_dir("x")), name)
    os.symlink("/etc", link)
    try:
        path = f"/files/{name}/passwd"
        target = signed_target(path, in_an_hour(), secret)
        assert_not_served(raw_get(base, target), target, forbidden=b"root:")
    finally:
        remove_link(link)


# --- $exportfilerequest -----------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["../../" + SECRET_RELATIVE, "contentObservation.ndjson",
                                      "..", "", "contentGroup.ndjson/../contentPatient.ndjson"])
def test_exportfilerequest_of_unlisted_file_is_404(task_a, http, base, filename):
    _, _, a_id, _ = first_file(task_a)
    resp = http.get(f"{base}/$exportfilerequest/", params={"_id": a_id, "filename": filename},
                    headers={"Accept": None})
    assert_outcome(resp, 404)
    assert secret_bytes() not in resp.content


def test_exportfilerequest_of_symlink_not_in_manifest_is_404(task_a, http, base):
    _, _, a_id, _ = first_file(task_a)
    name = f"{new_id('link')}.ndjson"
    link = os.path.join(stack_task_dir(a_id), name)
    os.symlink("/etc/passwd", link)
    try:
        resp = http.get(f"{base}/$exportfilerequest/", params={"_id": a_id, "filename": name})
        assert_outcome(resp, 404)
    finally:
        remove_link(link)


def test_exportfilerequest_gives_the_same_bytes_as_the_link(task_a, http, base):
    for entry in task_a.manifest["output"]:
        _, task_id, name = file_path(entry["url"])
        resp = http.get(f"{base}/$exportfilerequest/", params={"_id": task_id, "filename": name},
                        headers={"Accept": None})
        assert resp.status_code == 200, describe(resp)
        assert resp.headers.get("Content-Type") == NDJSON_CONTENT_TYPE
        assert resp.content == task_a.raw[entry["url"]]
