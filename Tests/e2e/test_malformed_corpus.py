"""Hundreds of malformed requests (malformed_corpus.py) against the running stack: every one is
answered 4xx with an OperationOutcome (at the token endpoint an OAuth error), none with a
5xx, a reset or a hang; afterwards the same processes answer a normal export correctly."""
from __future__ import annotations

import http.client
import json
import os
import ssl

import pytest

from export_support import export_get
from fhir_support import current_token, require_env
from malformed_corpus import SUNRISE, Case, Context, corpus
from raw_http import Wire
from security_support import (
    SUNRISE_PATIENTS, Key, access_claims, client_assertion, forge_access_token, register_new, server_key, unsigned_jwt,
)

MINIMUM_CASES = 400


def forge(header: dict | None = None, client_id: str = "e2e-admin", **claims) -> str:
    """An access token signed by the server's own key, with claims and header fields changed
    (a header value of None removes the field)."""
    header = {"typ": "at+jwt", **(header or {})}
    kid: str | None | bool = True
    if "kid" in header:
        kid = header.pop("kid")
    claims.setdefault("scope", "system/*.read system/*.write")
    return server_key().jwt(access_claims(client_id, **claims), kid=kid, extra_header=header)


def hs384(payload: dict, secret: bytes) -> str:
    import hashlib
    import hmac
    from security_support import b64url, jwt_parts

    signing_input = jwt_parts({"alg": "HS384", "typ": "at+jwt", "kid": "atr-export-1"}, payload)
    return signing_input + "." + b64url(hmac.new(secret, signing_input.encode("ascii"), hashlib.sha384).digest())


def pids() -> dict[str, str]:
    run = os.path.join(require_env("ATR_STATE_DIR"), "run")
    found = {}
    for name in ("nginx", "atr-fcgi", "atr-scheduler"):
        with open(os.path.join(run, f"{name}.pid"), encoding="utf-8") as handle:
            found[name] = handle.read().strip()
    return found


def judge(case: Case, wire: Wire) -> str | None:
    """None when the answer is right, else what was wrong."""
    try:
        response = wire.send(case.request)
    except TimeoutError:
        return "no answer (hang)"
    except http.client.RemoteDisconnected as error:
        return None if case.dialect == "closed" else f"closed without an answer: {error!r}"
    except (ConnectionError, ssl.SSLError, OSError) as error:
        return f"connection failed: {error!r}"
    if case.dialect == "closed":
        return f"answered {response.status} where nginx closes the connection"
    if not 400 <= response.status <= 499:
        return f"status {response.status}: {response.body[:300]!r}"
    try:
        body = json.loads(response.body)
    except ValueError:
        return f"status {response.status} with a body that is not JSON: {response.body[:200]!r}"
    content_type = response.header("content-type") or ""
    if case.dialect == "oauth" and isinstance(body, dict) and isinstance(body.get("error"), str):
        return None if content_type.startswith("application/json") else f"OAuth error as {content_type!r}"
    if not (isinstance(body, dict) and body.get("resourceType") == "OperationOutcome" and body.get("issue")):
        return f"status {response.status} without an OperationOutcome: {response.body[:200]!r}"
    if "json" not in content_type:
        return f"OperationOutcome as {content_type!r}"
    return None


@pytest.fixture(scope="module")
def context(base) -> Context:
    token = current_token()
    assert token, "the suite's admin token"
    client = register_new("corpus", "system/Group.read")
    other = Key.p384(kid="atr-export-1")
    public_pem = server_key().public_pem()
    return Context(
        base_path="/" + base.split("/", 3)[3],
        token=token,
        forge=forge,
        other_key_token=forge_access_token(key=other, scope="system/*.read"),
        none_token=unsigned_jwt(access_claims("e2e-admin"), {"alg": "none", "typ": "at+jwt"}),
        hs384_token=hs384(access_claims("e2e-admin"), public_pem),
        client_assertion=lambda **claims: client_assertion(client.client_id, client.key, **claims),
    )


def test_every_malformed_request_is_answered_4xx_with_an_outcome_and_the_same_processes_export_afterwards(
        context, base, ca, http):
    before = pids()
    cases = corpus(context)
    assert len(cases) >= MINIMUM_CASES, len(cases)
    wire = Wire(base, ca)
    failures = [f"{case.name}: {problem}" for case in cases if (problem := judge(case, wire))]
    assert not failures, f"{len(failures)} of {len(cases)} malformed requests were answered wrongly:\n" + "\n".join(failures)
    assert pids() == before, "a process was restarted while the corpus ran"
    result = export_get(http, base, SUNRISE)
    assert result.ids("Patient") == SUNRISE_PATIENTS
    assert result.ids("Group") == [SUNRISE]
    beneficiaries = {c["beneficiary"]["reference"] for c in result.resources("Coverage")}
    assert beneficiaries == {f"Patient/{p}" for p in SUNRISE_PATIENTS}, result.manifest
    stored = http.get(f"{base}/Patient/corpus-patient")
    assert stored.status_code == 404, "no malformed PUT was stored"
