"""Tokens from an external issuer (SmartAuthorizationOptions.BuiltInAuthorizationServer false,
JwksUrl set): atr-fcgi checks them against the issuer's key set fetched by URL, trusts no
token of its own, and has no token endpoint. Run as CGI against the test stack's database,
with the configuration changed through environment variables (one process per request)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.parse

import pytest

from security_support import Key, access_claims, base_url, server_key
from test_security_jwks_url import _JWKSServer

EXTERNAL_ISSUER = "https://issuer.example/oauth2"
EXTERNAL_TOKEN_URL = "https://issuer.example/oauth2/token"
PATIENT = "patient-ivy"


def run_cgi(atr_fcgi: str, instance_settings: str, repo_root: str, jwks_url: str, method: str, uri: str,
            token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTENT_", "HTTP_", "REQUEST_", "FCGI_"))}
    env.update({
        "ATR_INSTANCE_SETTINGS": instance_settings,
        "ATR_SmartAuthorizationOptions__BuiltInAuthorizationServer": "false",
        "ATR_SmartAuthorizationOptions__JwksUrl": jwks_url,
        "ATR_SmartAuthorizationOptions__JwksFetchTimeout": "2000",
        "ATR_SmartAuthorizationOptions__Issuer": EXTERNAL_ISSUER,
        "ATR_SmartAuthorizationOptions__TokenEndpoint": EXTERNAL_TOKEN_URL,
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": method,
        "DOCUMENT_URI": uri,
        "SCRIPT_NAME": uri,
        "REQUEST_URI": uri,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_ACCEPT": "application/fhir+json",
    })
    if token:
        env["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    proc = subprocess.run([atr_fcgi], input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, cwd=repo_root, timeout=60)
    assert proc.returncode == 0, proc.stderr[-1500:]
    head, _, body = proc.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("Status: "), proc.stdout[:500]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


@pytest.fixture(scope="module")
def issuer_key():
    return Key.p384(kid="external-1")


@pytest.fixture(scope="module")
def jwks_server(issuer_key):
    server = _JWKSServer({"keys": [issuer_key.public_jwk()]}, "max-age=300")
    yield server
    server.close()


@pytest.fixture
def cgi(atr_fcgi, instance_settings, repo_root, jwks_server):
    def call(method: str, uri: str, token: str | None = None, jwks_url: str | None = None):
        return run_cgi(atr_fcgi, instance_settings, repo_root, jwks_url or jwks_server.url, method, uri, token)
    return call


def external_token(key: Key, **overrides) -> str:
    claims = access_claims("external-client", scope="system/Patient.read", **{"iss": EXTERNAL_ISSUER, **overrides})
    return key.jwt(claims, extra_header={"typ": "at+jwt"})


def fhir_path(suffix: str) -> str:
    return urllib.parse.urlsplit(base_url()).path + suffix


def test_token_from_the_external_issuer_is_accepted(cgi, issuer_key, jwks_server):
    before = jwks_server.requests
    status, headers, body = cgi("GET", fhir_path(f"/Patient/{PATIENT}"), external_token(issuer_key))
    assert status == 200, body
    assert json.loads(body)["id"] == PATIENT
    assert jwks_server.requests == before + 1


def test_token_of_the_built_in_issuer_is_refused(cgi):
    own = server_key().jwt(access_claims("e2e-admin"), extra_header={"typ": "at+jwt"})
    status, headers, body = cgi("GET", fhir_path(f"/Patient/{PATIENT}"), own)
    assert status == 401, body
    assert 'error="invalid_token"' in headers["www-authenticate"]
    # Its kid names our key, which is not in the external issuer's key set.
    assert "key id is not one of the issuer's keys" in json.loads(body)["issue"][0]["diagnostics"]


def test_external_key_with_the_wrong_issuer_is_refused(cgi, issuer_key):
    status, _, body = cgi("GET", fhir_path(f"/Patient/{PATIENT}"), external_token(issuer_key, iss="https://other.example"))
    assert status == 401, body
    assert EXTERNAL_ISSUER in json.loads(body)["issue"][0]["diagnostics"]


def test_scopes_of_external_tokens_are_enforced(cgi, issuer_key):
    status, _, body = cgi("GET", fhir_path("/Coverage/coverage-alice"), external_token(issuer_key))
    assert status == 403, body
    assert "Coverage" in json.loads(body)["issue"][0]["diagnostics"]


def test_no_token_endpoint_and_discovery_names_the_external_one(cgi):
    status, headers, body = cgi("POST", "/auth/token")
    assert status == 404, body
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == "invalid_request"
    status, _, body = cgi("GET", fhir_path("/.well-known/smart-configuration"))
    assert status == 200, body
    assert json.loads(body)["token_endpoint"] == EXTERNAL_TOKEN_URL


def test_unreachable_key_set_is_503_not_a_crash(cgi, issuer_key):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    status, headers, body = cgi("GET", fhir_path(f"/Patient/{PATIENT}"), external_token(issuer_key),
                                jwks_url=f"http://127.0.0.1:{closed_port}/jwks.json")
    assert status == 503, body
    assert headers["retry-after"] == "30"
    issue = json.loads(body)["issue"][0]
    assert issue["code"] == "transient"
    assert "cannot be checked" in issue["diagnostics"]
