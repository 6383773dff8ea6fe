"""Helpers for the Bulk Data export tests (`Group/{id}/$davinci-data-export`): kick-off,
polling, manifest and NDJSON checks, signed file links, and an isolated instance (own
database, task directory and secret) driven through `atr-fcgi` in CGI mode, `atrctl` and
`atr-scheduler` subprocesses.

Like fhir_support.py, everything that encodes the export contract (README
"Decisions a user could trip over", Export) lives here.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Iterable

import pytest
import requests

from fhir_support import (
    ATR_GROUP_PROFILE, FHIR_JSON, assert_outcome, auth_headers, describe, dumps, fhir_json,
    require_env,
)

# --- contract constants -------------------------------------------------------------------

EXPORT_OP = "$davinci-data-export"
EXPORT_ALIAS = "$export"
NDJSON_CONTENT_TYPE = "application/fhir+ndjson"
MANIFEST_CONTENT_TYPE = "application/json"
SUBSETTED_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
ATR_EXPORT_TYPE = "hl7.fhir.us.davinci-atr"

DEFAULT_TYPES = ["Group", "Patient", "Coverage"]
ALL_TYPES = ["Group", "Patient", "Coverage", "RelatedPerson", "Practitioner",
             "PractitionerRole", "Organization", "Location"]

#: How long a test waits for an export to complete.
POLL_TIMEOUT = 30.0
#: Retry-After is honoured, but never waited for longer than this.
POLL_CAP = 1.0

TASK_ID_RE = r"[A-Za-z0-9\-\.]{1,64}"
FILE_PATH_RE = re.compile(r"^/files/(?P<task>[A-Za-z0-9\-\.]{1,64})/(?P<name>[A-Za-z0-9\-]+\.ndjson)$")

# --- kick-off -----------------------------------------------------------------------------


def kickoff_headers(prefer: str | None = "respond-async", accept: str | None = FHIR_JSON,
                    content_type: str | None = None) -> dict[str, str | None]:
    """Kick-off headers; a ``None`` value removes the header (also the session's default)."""
    headers: dict[str, str | None] = {"Prefer": prefer, "Accept": accept}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers


def export_url(base: str, group_id: str, operation: str = EXPORT_OP, query: str = "") -> str:
    url = f"{base}/Group/{group_id}/{operation}"
    return f"{url}?{query}" if query else url


def query_string(params: Iterable[tuple[str, str]]) -> str:
    """Percent-encode a query (',' kept readable; '+' and ':' encoded)."""
    return "&".join(f"{urllib.parse.quote(k, safe='')}={urllib.parse.quote(v, safe=',/')}"
                    for k, v in params)


def parameters(*entries: dict) -> dict:
    """A FHIR Parameters resource from entries such as {"name": "_type", "valueString": ...}."""
    return {"resourceType": "Parameters", "parameter": list(entries)}


def patient_param(reference: str) -> dict:
    return {"name": "patient", "valueReference": {"reference": reference}}


def kickoff_get(http: requests.Session, base: str, group_id: str, query: str = "",
                operation: str = EXPORT_OP, **header_kw) -> requests.Response:
    return http.get(export_url(base, group_id, operation, query),
                    headers=kickoff_headers(**header_kw))


def kickoff_post(http: requests.Session, base: str, group_id: str, body: Any = None, *,
                 raw: bytes | None = None, operation: str = EXPORT_OP,
                 content_type: str | None = FHIR_JSON, **header_kw) -> requests.Response:
    data = raw if raw is not None else (dumps(body) if body is not None else b"")
    headers = kickoff_headers(content_type=content_type, **header_kw)
    return http.post(export_url(base, group_id, operation), data=data, headers=headers)


def assert_accepted(resp: requests.Response, base: str) -> tuple[str, str]:
    """202 + Content-Location {base}/$exportstatus?_id={taskId} + information OperationOutcome.
    Returns (status URL, task id)."""
    body = fhir_json(resp, 202)
    location = resp.headers.get("Content-Location", "")
    match = re.fullmatch(re.escape(f"{base}/$exportstatus?_id=") + f"({TASK_ID_RE})", location)
    assert match, f"unexpected Content-Location\n{describe(resp)}"
    assert body.get("resourceType") == "OperationOutcome", describe(resp)
    issues = body.get("issue") or []
    assert issues and all(i.get("severity") == "information" for i in issues), describe(resp)
    return location, match.group(1)


def assert_kickoff_rejected(resp: requests.Response, status: int,
                            mentions: Iterable[str] | str = ()) -> dict:
    """A refused kick-off: exact status, FHIR Content-Type, error OperationOutcome whose
    diagnostics mention each of ``mentions``."""
    return assert_outcome(resp, status, mentions=mentions)


# --- status and manifest ------------------------------------------------------------------


def retry_after_seconds(resp: requests.Response) -> int:
    value = resp.headers.get("Retry-After", "")
    assert re.fullmatch(r"\d+", value), f"Retry-After must be integer seconds\n{describe(resp)}"
    return int(value)


def assert_in_progress(resp: requests.Response) -> None:
    """202 while queued/active: X-Progress (< 100 characters) and Retry-After (seconds)."""
    assert resp.status_code == 202, f"expected 202 (in progress)\n{describe(resp)}"
    progress = resp.headers.get("X-Progress")
    assert progress, f"X-Progress missing\n{describe(resp)}"
    assert len(progress) < 100, describe(resp)
    retry_after_seconds(resp)


def poll(http: requests.Session, status_url: str, timeout: float = POLL_TIMEOUT) -> requests.Response:
    """Polls until the status is no longer 202, honouring Retry-After (capped at POLL_CAP)."""
    deadline = time.monotonic() + timeout
    while True:
        resp = http.get(status_url)
        if resp.status_code != 202:
            return resp
        assert_in_progress(resp)
        if time.monotonic() >= deadline:
            pytest.fail(f"export not finished after {timeout:.0f} s\n{describe(resp)}")
        time.sleep(min(float(retry_after_seconds(resp)), POLL_CAP))


def manifest_of(resp: requests.Response) -> dict:
    """A complete export's status: 200, Content-Type application/json, a manifest."""
    assert resp.status_code == 200, f"expected 200 (complete)\n{describe(resp)}"
    assert resp.headers.get("Content-Type") == MANIFEST_CONTENT_TYPE, describe(resp)
    manifest = resp.json()
    assert isinstance(manifest, dict), describe(resp)
    return manifest


def manifest_entries(manifest: dict) -> list[dict]:
    """output + error entries."""
    return list(manifest.get("output") or []) + list(manifest.get("error") or [])


def file_path(url: str) -> tuple[str, str, str]:
    """(path, task id, file name) of a manifest file URL."""
    parsed = urllib.parse.urlsplit(url)
    match = FILE_PATH_RE.match(parsed.path)
    assert match, f"not a /files/{{taskId}}/{{file}} URL: {url}"
    return parsed.path, match.group("task"), match.group("name")


# --- NDJSON -------------------------------------------------------------------------------


def parse_ndjson(data: bytes, where: str = "") -> list[dict]:
    """Strict NDJSON: UTF-8, ends with '\\n', no blank lines, each line one JSON object with a
    resourceType. (An empty file is allowed: no lines.)"""
    if not data:
        return []
    assert data.endswith(b"\n"), f"{where}: the file does not end with a newline"
    lines = data[:-1].split(b"\n")
    out = []
    for number, line in enumerate(lines, 1):
        assert line.strip(), f"{where}: line {number} is blank"
        assert not line.endswith(b"\r"), f"{where}: line {number} ends with CR"
        try:
            value = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            pytest.fail(f"{where}: line {number} is not one JSON value: {error}: {line[:300]!r}")
        assert isinstance(value, dict) and isinstance(value.get("resourceType"), str), \
            f"{where}: line {number} is not a resource: {line[:300]!r}"
        out.append(value)
    return out


def has_subsetted_tag(resource: dict) -> bool:
    tags = (resource.get("meta") or {}).get("tag") or []
    return any(t.get("system") == SUBSETTED_SYSTEM and t.get("code") == "SUBSETTED" for t in tags)


def member_references(group_resource: dict) -> list[str]:
    return [((m.get("entity") or {}).get("reference")) for m in group_resource.get("member") or []]


@dataclass
class ExportResult:
    """A completed export: its manifest and every listed file downloaded through its URL."""
    task_id: str
    status_url: str
    kickoff: requests.Response
    status: requests.Response
    manifest: dict
    #: file URL -> downloaded bytes (output and error files)
    raw: dict[str, bytes] = field(default_factory=dict)
    #: file URL -> download response
    downloads: dict[str, requests.Response] = field(default_factory=dict)

    def resources(self, rtype: str | None = None) -> list[dict]:
        out = []
        for entry in self.manifest.get("output") or []:
            if rtype is None or entry["type"] == rtype:
                out.extend(parse_ndjson(self.raw[entry["url"]], entry["url"]))
        return out

    def ids(self, rtype: str) -> list[str]:
        """Ids of the exported resources of one type, sorted (duplicates kept)."""
        return sorted(r["id"] for r in self.resources(rtype))

    def output_types(self) -> list[str]:
        return [entry["type"] for entry in self.manifest.get("output") or []]

    def errors(self) -> list[dict]:
        out = []
        for entry in self.manifest.get("error") or []:
            out.extend(parse_ndjson(self.raw[entry["url"]], entry["url"]))
        return out

    def all_bytes(self) -> bytes:
        return b"".join(self.raw.values())


def download(http: requests.Session, url: str) -> requests.Response:
    return http.get(url, headers={"Accept": None})


def run_export(http: requests.Session, base: str, resp: requests.Response) -> ExportResult:
    """Given an accepted kick-off response: poll to completion and download every file."""
    status_url, task_id = assert_accepted(resp, base)
    status = poll(http, status_url)
    manifest = manifest_of(status)
    result = ExportResult(task_id, status_url, resp, status, manifest)
    for entry in manifest_entries(manifest):
        got = download(http, entry["url"])
        assert got.status_code == 200, describe(got)
        result.downloads[entry["url"]] = got
        result.raw[entry["url"]] = got.content
    return result


def export_get(http: requests.Session, base: str, group_id: str, query: str = "",
               operation: str = EXPORT_OP, **header_kw) -> ExportResult:
    return run_export(http, base, kickoff_get(http, base, group_id, query, operation, **header_kw))


def export_post(http: requests.Session, base: str, group_id: str, body: Any,
                operation: str = EXPORT_OP, **header_kw) -> ExportResult:
    return run_export(http, base, kickoff_post(http, base, group_id, body, operation=operation,
                                               **header_kw))


# --- the stack's state: signing secret, task files ------------------------------------------


def state_dir() -> str:
    return require_env("ATR_STATE_DIR")


def signing_secret(secret_file: str | None = None) -> str:
    path = secret_file or os.path.join(state_dir(), "secrets", "url-signing.key")
    with open(path, encoding="utf-8") as handle:
        return handle.readline().strip()


def stack_task_dir(task_id: str) -> str:
    return os.path.join(state_dir(), "tasks", task_id)


def link_signature(path: str, expires: int, secret: str) -> str:
    """nginx secure_link_md5 "$secure_link_expires$uri $secret", base64url without padding."""
    digest = hashlib.md5(f"{expires}{path} {secret}".encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def signed_target(path: str, expires: int, secret: str, signed_path: str | None = None) -> str:
    """Request target ``path?md5=…&expires=…`` signed over ``signed_path`` (default: path)."""
    md5 = link_signature(signed_path if signed_path is not None else path, expires, secret)
    return f"{path}?md5={md5}&expires={expires}"


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def describe(self, target: str = "") -> str:
        return f"GET {target} -> {self.status}\nheaders: {self.headers}\nbody: {self.body[:500]!r}"


def raw_get(base: str, target: str) -> RawResponse:
    """GET with the request target sent byte for byte (requests/urllib3 would normalise
    dot segments and percent-encodings)."""
    parsed = urllib.parse.urlsplit(base)
    context = ssl.create_default_context(cafile=require_env("ATR_CA"))
    conn = http.client.HTTPSConnection(parsed.hostname, parsed.port or 443, context=context,
                                       timeout=30)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        for key, value in {**auth_headers(), "Accept": "*/*"}.items():
            conn.putheader(key, value)
        conn.endheaders()
        resp = conn.getresponse()
        return RawResponse(resp.status, {k: v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


# --- generated data -----------------------------------------------------------------------

OPT_OUT_CONSENT_TEMPLATE = {
    "resourceType": "Consent",
    "status": "active",
    "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                          "code": "patient-privacy"}]},
    "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
    "dateTime": "2026-01-02T00:00:00Z",
    "provision": {"type": "deny", "period": {"start": "2000-01-01"},
                  "action": [{"coding": [{
                      "system": "http://terminology.hl7.org/CodeSystem/consentaction",
                      "code": "disclose"}]}]},
}


@dataclass
class GeneratedGroup:
    """What `generate_atr_group` wrote and what its ATR export must contain."""
    group_id: str
    files: list[str]
    expected: dict[str, set[str]]
    opted_out: set[str]
    #: The Group's member elements as loaded, in order.
    members: list[dict] = field(default_factory=list)


def generate_atr_group(directory: str, group_id: str, members: int,
                       opt_out_every: int = 0, display_padding: int = 0) -> GeneratedGroup:
    """An ATR Group of ``members`` members, each with a Patient, a Coverage (beneficiary) and a
    RelatedPerson; every ``opt_out_every``-th member has a global opt-out Consent. Writes
    ``{group_id}-resources.ndjson`` and ``{group_id}-group.ndjson`` (the Group last, so its
    members exist when it is loaded). ``display_padding`` characters of member
    `entity.display` make the Group bigger without changing what is exported."""
    os.makedirs(directory, exist_ok=True)
    resources_file = os.path.join(directory, f"{group_id}-resources.ndjson")
    group_file = os.path.join(directory, f"{group_id}-group.ndjson")
    expected: dict[str, set[str]] = {"Patient": set(), "Coverage": set(), "RelatedPerson": set()}
    opted_out: set[str] = set()
    with open(resources_file, "w", encoding="utf-8") as out:
        for n in range(members):
            pid, cid, rid = f"{group_id}-p{n}", f"{group_id}-c{n}", f"{group_id}-r{n}"
            out.write(json.dumps({"resourceType": "Patient", "id": pid, "active": True,
                                  "name": [{"family": f"Member{n}", "given": ["Zoë"]}],
                                  "birthDate": "1980-01-01"}) + "\n")
            out.write(json.dumps({"resourceType": "Coverage", "id": cid, "status": "active",
                                  "beneficiary": {"reference": f"Patient/{pid}"},
                                  "payor": [{"reference": f"Organization/{group_id}-payer"}]}) + "\n")
            out.write(json.dumps({"resourceType": "RelatedPerson", "id": rid,
                                  "patient": {"reference": f"Patient/{pid}"},
                                  "name": [{"family": f"Related{n}"}]}) + "\n")
            if opt_out_every and n % opt_out_every == opt_out_every - 1:
                consent = dict(OPT_OUT_CONSENT_TEMPLATE, id=f"{group_id}-optout{n}",
                               patient={"reference": f"Patient/{pid}"})
                out.write(json.dumps(consent) + "\n")
                opted_out.add(pid)
            else:
                expected["Patient"].add(pid)
                expected["Coverage"].add(cid)
                expected["RelatedPerson"].add(rid)
    group_resource = {
        "resourceType": "Group", "id": group_id,
        "meta": {"profile": [ATR_GROUP_PROFILE]},
        "type": "person", "actual": True, "name": f"Generated ATR list {group_id}",
        "member": [{"entity": {"reference": f"Patient/{group_id}-p{n}",
                               **({"display": f"Member {n} " + "·" * display_padding} if display_padding else {})},
                    "period": {"start": "2026-01-01", "end": "2026-12-31"}}
                   for n in range(members)],
    }
    with open(group_file, "w", encoding="utf-8") as out:
        out.write(json.dumps(group_resource) + "\n")
    expected["Group"] = {group_id}
    return GeneratedGroup(group_id, [resources_file, group_file], expected, opted_out, group_resource["member"])


# --- subprocesses: atrctl, atr-fcgi (CGI), atr-scheduler ------------------------------------


#: ATR_ variables passed on to our binaries; any other (e.g. ATR_Database__Path) could
#: override the isolated instance's settings.
KEPT_ATR_VARIABLES = ("ATR_CONFIG", "ATR_Logging__Level")


def subprocess_env(settings_file: str, **extra: str) -> dict[str, str]:
    """A clean environment for our binaries: no CGI variables, no ATR_ setting overrides, the
    given settings overlay."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CONTENT_", "HTTP_", "REQUEST_", "FCGI_", "ATR_",
                                "QUERY_STRING", "DOCUMENT_URI", "GATEWAY_INTERFACE"))
           or k in KEPT_ATR_VARIABLES}
    env["ATR_INSTANCE_SETTINGS"] = settings_file
    env.update(extra)
    return env


def atrctl(bin_dir: str, settings_file: str, cwd: str, *args: str,
           timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([os.path.join(bin_dir, "atrctl"), *args], cwd=cwd,
                          env=subprocess_env(settings_file), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)
    assert proc.returncode == 0, \
        f"atrctl {' '.join(args)} exited {proc.returncode}\n{proc.stdout[-2000:]!r}\n{proc.stderr[-2000:]!r}"
    return proc


@dataclass
class CgiResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    stdout: bytes
    stderr: bytes

    def describe(self) -> str:
        return f"stdout: {self.stdout[:1500]!r}\nstderr: {self.stderr[-1500:]!r}"

    def json(self) -> Any:
        return json.loads(self.body)


def run_cgi(bin_dir: str, settings_file: str, cwd: str, method: str, uri: str,
            query: str = "", headers: dict[str, str] | None = None,
            body: bytes = b"") -> CgiResponse:
    """One request through `atr-fcgi` as a CGI program; headers as HTTP_* variables."""
    env = subprocess_env(settings_file, GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD=method,
                         DOCUMENT_URI=uri, SCRIPT_NAME=uri, QUERY_STRING=query,
                         REQUEST_URI=f"{uri}?{query}" if query else uri,
                         SERVER_PROTOCOL="HTTP/1.1")
    for key, value in {"Accept": FHIR_JSON, **(headers or {})}.items():
        name = key.upper().replace("-", "_")
        if name == "CONTENT_TYPE":
            env[name] = value
        else:
            env[f"HTTP_{name}"] = value
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
    proc = subprocess.run([os.path.join(bin_dir, "atr-fcgi")], input=body, cwd=cwd, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    head, sep, rest = proc.stdout.partition(b"\r\n\r\n")
    assert proc.returncode == 0 and sep, f"atr-fcgi (CGI) exited {proc.returncode}\n" \
        f"stdout: {proc.stdout[:1500]!r}\nstderr: {proc.stderr[-1500:]!r}"
    lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"^Status: (\d{3})\b", lines[0])
    assert match, f"no CGI Status line: {proc.stdout[:500]!r}"
    headers_out = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers_out[key.strip().lower()] = value.strip()
    return CgiResponse(int(match.group(1)), headers_out, rest, proc.stdout, proc.stderr)


SQLITE_ONLY = pytest.mark.skipif(os.environ.get("ATR_BACKEND") == "postgresql",
                                 reason="about SQLite's own file or machinery")


def psql(connection: str, query: str) -> str:
    """A query through psql on a PostgreSQL connection string: rows tab-separated, bytea as text."""
    proc = subprocess.run(["psql", connection, "-X", "-q", "-t", "-A", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                           "-c", "SET bytea_output = 'escape'", "-c", query],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


class Instance:
    """An isolated ATR instance (own database, task files, signing secret, short lease) that
    the e2e stack's own atr-scheduler never sees. Driven by subprocesses only."""

    def __init__(self, root: str, bin_dir: str, repo_root: str, base_settings: str,
                 overrides: dict[str, Any] | None = None, migrate: bool = True):
        self.root = root
        self.bin_dir = bin_dir
        self.cwd = repo_root
        os.makedirs(root, exist_ok=True)
        with open(base_settings, encoding="utf-8") as handle:
            settings = json.load(handle)
        self.database = os.path.join(root, "db", "atr.sqlite")
        self.storage = os.path.join(root, "tasks")
        self.secret_file = os.path.join(root, "secrets", "url-signing.key")
        os.makedirs(os.path.dirname(self.secret_file), mode=0o700)
        secret = base64.b64encode(os.urandom(32)).decode("ascii")
        assert len(secret) == 44
        with open(self.secret_file, "w", encoding="utf-8") as handle:
            handle.write(secret + "\n")
        os.chmod(self.secret_file, 0o600)
        settings.setdefault("Database", {})["Path"] = self.database
        # On the PostgreSQL backend, a database of its own on the suite's server.
        self.postgres = ""
        if settings["Database"].get("Provider") == "PostgreSQL":
            name = "instance_" + os.urandom(6).hex()
            psql(settings["Database"]["ConnectionString"], f"CREATE DATABASE {name}")
            self.postgres = f"{settings['Database']['ConnectionString']} dbname={name}"
            settings["Database"]["ConnectionString"] = self.postgres
        self.description = f"PostgreSQL ({self.postgres})" if self.postgres else self.database
        settings.setdefault("TaskFileManagement", {}).setdefault("StorageService", {})[
            "StoragePath"] = self.storage
        settings.setdefault("SignedUrls", {})["SecretFile"] = self.secret_file
        settings.setdefault("BulkDataExport", {}).update({
            "LeaseDuration": "00:00:02", "BatchSize": 200, "RepeatPeriod": 100,
            # Tests queue dozens of tasks at once (SMART off: all as one client).
            "MaxActiveTasksPerClient": 1000})
        # Its own database has no registered SMART clients: these tests are about the
        # scheduler, so the instance runs with authorisation off (when the build has it).
        base_config = os.path.join(repo_root, os.environ.get("ATR_CONFIG") or "Config/appsettings.json")
        with open(base_config, encoding="utf-8") as handle:
            if "Enabled" in (json.load(handle).get("SmartAuthorizationOptions") or {}):
                settings.setdefault("SmartAuthorizationOptions", {})["Enabled"] = False
        for key, value in (overrides or {}).items():
            section, _, name = key.partition(".")
            settings.setdefault(section, {})[name] = value
        self.settings = settings
        self.settings_file = os.path.join(root, "appsettings.instance.json")
        with open(self.settings_file, "w", encoding="utf-8") as handle:
            json.dump(settings, handle, indent=2)
        self.base = settings.get("PublicBaseUrl", "").rstrip("/")
        self.schedulers: list[subprocess.Popen] = []
        if migrate:
            self.atrctl("migrate")

    def sql(self, query: str) -> list[tuple[str, ...]]:
        """Rows of a query on this instance's database, every value as text."""
        if not self.postgres:
            import sqlite3
            with sqlite3.connect(self.database) as db:
                return [tuple("" if v is None else v.decode() if isinstance(v, bytes) else str(v) for v in row)
                        for row in db.execute(query).fetchall()]
        return [tuple(line.split("\t")) for line in psql(self.postgres, query).splitlines() if line]

    # admin
    def atrctl(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return atrctl(self.bin_dir, self.settings_file, self.cwd, *args, timeout=timeout)

    def import_files(self, *paths: str) -> str:
        return self.atrctl("import", *paths).stdout.decode()

    def task(self, task_id: str) -> dict[str, str]:
        """`atrctl tasks show ID` as a dict of its `key: value` lines."""
        out = self.atrctl("tasks", "show", task_id, timeout=60).stdout.decode()
        info = {}
        for line in out.splitlines():
            key, sep, value = line.partition(": ")
            if sep and key.isidentifier() and key not in info:
                info[key] = value
        return info

    # HTTP through CGI
    def cgi(self, method: str, uri: str, query: str = "", headers: dict[str, str] | None = None,
            body: bytes = b"") -> CgiResponse:
        return run_cgi(self.bin_dir, self.settings_file, self.cwd, method, uri, query, headers, body)

    def kickoff(self, group_id: str, types: Iterable[str] = DEFAULT_TYPES) -> str:
        resp = self.cgi("GET", f"/fhir/Group/{group_id}/{EXPORT_OP}",
                        query=f"_type={','.join(types)}", headers={"Prefer": "respond-async"})
        assert resp.status == 202, resp.describe()
        location = resp.headers.get("content-location", "")
        match = re.fullmatch(re.escape(f"{self.base}/$exportstatus?_id=") + f"({TASK_ID_RE})",
                             location)
        assert match, resp.describe()
        return match.group(1)

    def status(self, task_id: str) -> CgiResponse:
        return self.cgi("GET", "/fhir/$exportstatus", query=f"_id={task_id}")

    def task_dir(self, task_id: str) -> str:
        return os.path.join(self.storage, task_id)

    def building_entries(self, task_id: str) -> list[str]:
        building = os.path.join(self.storage, ".building")
        if not os.path.isdir(building):
            return []
        return [e for e in os.listdir(building) if e.startswith(task_id + ".")]

    # schedulers
    def start_scheduler(self, *args: str, log_name: str = "scheduler", wrapper: Iterable[str] = ()) -> subprocess.Popen:
        """``wrapper``: a command the scheduler runs under (such as strace injecting faults)."""
        log = open(os.path.join(self.root, f"{log_name}-{len(self.schedulers)}.log"), "wb")
        proc = subprocess.Popen([*wrapper, os.path.join(self.bin_dir, "atr-scheduler"), *args],
                                cwd=self.cwd, env=subprocess_env(self.settings_file),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        proc.log_path = log.name  # type: ignore[attr-defined]
        self.schedulers.append(proc)
        return proc

    def stop_schedulers(self) -> None:
        for proc in self.schedulers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.schedulers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def wait_for_state(self, task_ids: Iterable[str], state: str, timeout: float) -> dict[str, dict]:
        pending = list(task_ids)
        infos: dict[str, dict] = {}
        deadline = time.monotonic() + timeout
        while pending:
            for task_id in list(pending):
                info = self.task(task_id)
                if info.get("state") == state:
                    infos[task_id] = info
                    pending.remove(task_id)
                elif info.get("state") in ("failed", "cancelled", "expired"):
                    pytest.fail(f"task {task_id} ended {info.get('state')}: {info}")
            if pending:
                if time.monotonic() > deadline:
                    pytest.fail(f"tasks not {state} after {timeout:.0f} s: "
                                f"{ {t: self.task(t) for t in pending[:3]} }\n{self.logs()}")
                time.sleep(0.2)
        return infos

    def wait_for_state_or_failed(self, task_id: str, timeout: float) -> dict[str, str]:
        """The task's `atrctl tasks show` once it is no longer queued or active."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.task(task_id)
            if info.get("state") not in ("queued", "active"):
                return info
            if time.monotonic() > deadline:
                pytest.fail(f"task {task_id} still {info.get('state')} after {timeout:.0f} s\n{self.logs()}")
            time.sleep(0.2)

    def logs(self) -> str:
        out = []
        for proc in self.schedulers:
            with open(proc.log_path, "rb") as handle:  # type: ignore[attr-defined]
                out.append(f"--- {proc.log_path} ---\n" + handle.read()[-3000:].decode("utf-8", "replace"))  # type: ignore[attr-defined]
        return "\n".join(out)

    def close(self) -> None:
        self.stop_schedulers()


def read_task_files(instance: Instance, task_id: str, manifest: dict) -> dict[str, list[dict]]:
    """Every manifest file read straight from the task directory, checked as NDJSON with the
    manifest count; resources by type. Also: the directory holds exactly the listed files."""
    by_type: dict[str, list[dict]] = {}
    listed = set()
    for entry in manifest_entries(manifest):
        path, url_task, name = file_path(entry["url"])
        assert url_task == task_id, entry
        listed.add(name)
        with open(os.path.join(instance.task_dir(task_id), name), "rb") as handle:
            lines = parse_ndjson(handle.read(), name)
        assert len(lines) == entry["count"], f"{name}: {len(lines)} lines, manifest count {entry['count']}"
        assert all(r["resourceType"] == entry["type"] for r in lines), name
        by_type.setdefault(entry["type"], []).extend(lines)
    on_disk = set(os.listdir(instance.task_dir(task_id)))
    assert on_disk == listed, f"files on disk {sorted(on_disk)} != manifest {sorted(listed)}"
    return by_type


# --- an isolated instance's export, checked whole ----------------------------------------


def resources_written(progress: str) -> int:
    match = re.search(r"(\d+) resources written", progress or "")
    return int(match.group(1)) if match else 0


def thread_states(pid: int) -> list[str]:
    """The state letter of each of the process's threads ([] once it is gone)."""
    states = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return states
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/stat", encoding="ascii", errors="replace") as handle:
                states.append(handle.read().rsplit(") ", 1)[1][0])
        except FileNotFoundError:
            continue
    return states


def stop_in_the_middle(pid: int, condition, timeout: float = 120, step: float = 0.03):
    """Runs process ``pid`` in steps of ``step`` seconds (SIGCONT, sleep, SIGSTOP) and looks at
    it only while it is stopped, until ``condition()`` returns a true value; returns that value
    with the process left stopped (SIGKILL it, or SIGCONT it). Nothing moves while it is looked
    at, so a scheduler is caught in the middle of an export that takes many steps, however fast
    the export has become. Steps of tens of milliseconds keep it running about as long as it is
    looked at: its leases (renewed at each progress batch) do not run out while it is stopped.
    A look that fails is tried again after the next step, up to three times in a row: the
    process may have been stopped inside a lock the look needs (SQLite's WAL index), which a
    running process never holds for long."""
    try:
        return _step_until(pid, condition, timeout, step)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)  # never left stopped by a failed look: teardown needs it running
        raise


def _step_until(pid: int, condition, timeout: float, step: float):
    deadline = time.monotonic() + timeout
    failed_looks: list[AssertionError] = []
    while True:
        os.kill(pid, signal.SIGSTOP)
        while (states := thread_states(pid)) and not all(state in "TtZX" for state in states):
            time.sleep(0.0005)
        try:
            found = condition()
            failed_looks.clear()
        except AssertionError as error:
            failed_looks.append(error)
            if len(failed_looks) > 3:
                raise
            found = None
        if found:
            return found
        assert states and "Z" not in states, f"process {pid} ended before it was caught"
        assert time.monotonic() < deadline, f"process {pid} not caught within {timeout:.0f} s"
        os.kill(pid, signal.SIGCONT)
        time.sleep(step)


def partial_bytes(instance: Instance, task_id: str) -> int:
    """Bytes written so far into the task's temporary directory (files grow in 64 KiB steps)."""
    total = 0
    for entry in instance.building_entries(task_id):
        directory = os.path.join(instance.storage, ".building", entry)
        for name in os.listdir(directory) if os.path.isdir(directory) else []:
            try:
                total += os.path.getsize(os.path.join(directory, name))
            except FileNotFoundError:
                pass
    return total


def assert_complete_export(instance: Instance, task_id: str, generated: GeneratedGroup, types: list[str]) -> dict:
    """Status 200 through CGI; files on disk = manifest; every expected resource exactly once."""
    status = instance.status(task_id)
    assert status.status == 200, status.describe()
    assert status.headers.get("content-type") == "application/json", status.describe()
    manifest = status.json()
    assert [e["type"] for e in manifest["output"]] == types, manifest
    assert manifest["error"] == [], manifest
    by_type = read_task_files(instance, task_id, manifest)
    for rtype in types:
        ids = [r["id"] for r in by_type.get(rtype, [])]
        assert len(ids) == len(set(ids)), f"{rtype}: {len(ids) - len(set(ids))} duplicates"
        assert set(ids) == generated.expected[rtype], \
            f"{rtype}: missing {sorted(generated.expected[rtype] - set(ids))[:5]}, " \
            f"unexpected {sorted(set(ids) - generated.expected[rtype])[:5]}"
    [group] = by_type["Group"]
    refs = member_references(group)
    assert sorted(refs) == sorted(f"Patient/{p}" for p in generated.expected["Patient"])
    # The kept members exactly as loaded, in their order: nothing lost or cut at window edges.
    kept = [m for m in generated.members
            if m["entity"]["reference"].removeprefix("Patient/") not in generated.opted_out]
    assert group["member"] == kept
    assert has_subsetted_tag(group) == bool(generated.opted_out)
    assert instance.building_entries(task_id) == [], "temporary files left behind"
    return manifest


# --- failed tasks --------------------------------------------------------------------------

DISK_FULL = "The export failed: the server ran out of disk space while writing it; retry later"
UNWRITABLE = "The export failed: the server could not write the export files; retry later"


def mount_tmpfs(path: str, size: str) -> None:
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path], check=True)


def assert_failed_with(instance: Instance, task_id: str, code: str, diagnostics: str) -> None:
    info = instance.wait_for_state_or_failed(task_id, timeout=60)
    assert info["state"] == "failed", info
    status = instance.status(task_id)
    assert status.status == 500, status.describe()
    assert status.json() == {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": code, "diagnostics": diagnostics}]}
    assert instance.building_entries(task_id) == [], "temporary files left behind"
    assert not os.path.exists(instance.task_dir(task_id))
