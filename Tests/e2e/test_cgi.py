"""atr-fcgi run as a plain CGI program (stdin is a pipe, not a FastCGI socket)."""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass

import pytest

from fhir_support import (
    current_token,
    FHIR_CONTENT_TYPE, FHIR_JSON, LAST_UPDATED_RE, assert_absent, dumps, fhir_json, patient,
    without_server_meta,
)


@dataclass
class CgiResult:
    returncode: int
    stdout: bytes
    stderr: bytes
    status_line: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def describe(self) -> str:
        return (f"exit {self.returncode}\nstdout: {self.stdout[:1500]!r}\n"
                f"stderr: {self.stderr[-1500:]!r}")


@pytest.fixture
def run_cgi(atr_fcgi, instance_settings, repo_root):
    def run(method: str, uri: str, body: bytes = b"", content_type: str | None = None,
            query: str = "") -> CgiResult:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CONTENT_", "HTTP_", "REQUEST_", "FCGI_"))}
        env.update({
            "ATR_INSTANCE_SETTINGS": instance_settings,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": method,
            "DOCUMENT_URI": uri,
            "SCRIPT_NAME": uri,
            "REQUEST_URI": f"{uri}?{query}" if query else uri,
            "QUERY_STRING": query,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_ACCEPT": FHIR_JSON,
        })
        token = current_token()
        if token:
            env["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        if body:
            env["CONTENT_LENGTH"] = str(len(body))
        if content_type is not None:
            env["CONTENT_TYPE"] = content_type
        proc = subprocess.run([atr_fcgi], input=body, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, cwd=repo_root, timeout=60)
        head, sep, rest = proc.stdout.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n") if sep else []
        headers = []
        for line in lines:
            key, _, value = line.partition(":")
            headers.append((key, value.strip()))
        return CgiResult(proc.returncode, proc.stdout, proc.stderr,
                         lines[0] if lines else "", headers, rest)
    return run


def test_cgi_metadata(run_cgi):
    result = run_cgi("GET", "/fhir/metadata")
    assert result.returncode == 0, result.describe()
    assert result.stdout.startswith(b"Status: 200 OK\r\n"), result.describe()
    head = result.stdout.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    assert f"\r\nContent-Type: {FHIR_CONTENT_TYPE}\r\n".encode() in head, result.describe()
    body = json.loads(result.body)
    assert body["resourceType"] == "CapabilityStatement", result.describe()
    assert body["fhirVersion"] == "4.0.1"
    assert body["rest"][0]["mode"] == "server"


def test_cgi_put_is_visible_through_https(run_cgi, fhir, base, new_id):
    pid = new_id()
    sent = patient(pid, family="ViaCGI")
    result = run_cgi("PUT", f"/fhir/Patient/{pid}", body=dumps(sent), content_type=FHIR_JSON)
    assert result.returncode == 0, result.describe()
    assert result.status_line == "Status: 201 Created", result.describe()
    assert result.header("Content-Type") == FHIR_CONTENT_TYPE, result.describe()
    assert result.header("ETag") == 'W/"1"', result.describe()
    assert result.header("Location") == f"{base}/Patient/{pid}/_history/1", result.describe()
    stored = json.loads(result.body)
    assert stored["meta"]["versionId"] == "1"
    assert LAST_UPDATED_RE.match(stored["meta"]["lastUpdated"])
    assert without_server_meta(stored) == sent

    got = fhir.get("Patient", pid)
    assert fhir_json(got, 200) == stored
    assert got.headers.get("ETag") == 'W/"1"'


def test_cgi_get_unknown_is_404_outcome(run_cgi, new_id):
    pid = new_id()
    result = run_cgi("GET", f"/fhir/Patient/{pid}")
    assert result.returncode == 0, result.describe()
    assert result.status_line.startswith("Status: 404"), result.describe()
    body = json.loads(result.body)
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "not-found"
    assert pid in body["issue"][0]["diagnostics"]


def test_cgi_invalid_put_stores_nothing(run_cgi, fhir, new_id):
    pid = new_id()
    result = run_cgi("PUT", f"/fhir/Patient/{pid}", body=b"{not json", content_type=FHIR_JSON)
    assert result.returncode == 0, result.describe()
    assert result.status_line.startswith("Status: 400"), result.describe()
    body = json.loads(result.body)
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "structure"
    assert_absent(fhir, "Patient", pid)
