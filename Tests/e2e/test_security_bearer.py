"""Bearer tokens checked per request on the FHIR API: no token, garbage, `alg: none`, HS256
keyed with the server's public key, expired, wrong issuer or audience — each 401 with
`WWW-Authenticate: Bearer` and an OperationOutcome. A token forged with the server's own key
and perfect claims is the control: the same requests then succeed, so each refusal is down to
the one thing the test changed.

The server's public key is not published; it is derived here from the signing key file
($ATR_STATE_DIR/secrets/token-signing-key.pem)."""
from __future__ import annotations

import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives import serialization

from export_support import EXPORT_OP, kickoff_headers
from fhir_support import assert_outcome, describe, fhir_json
from security_support import (
    Key, access_claims, assert_unauthorized, b64url, base_url, forge_access_token, get,
    hs256_jwt, origin, request, server_key, unsigned_jwt,
)

PATIENT = "Patient/patient-alice"


def patient_url() -> str:
    return f"{base_url()}/{PATIENT}"


def kickoff_url() -> str:
    return f"{base_url()}/Group/atr-group-sunrise/{EXPORT_OP}"


def kickoff(token: str | None):
    return get(kickoff_url(), token, headers={k: v for k, v in kickoff_headers().items() if v})


def server_public_pem() -> bytes:
    return server_key().private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# --- the control -----------------------------------------------------------------------------


def test_token_forged_with_the_server_key_and_perfect_claims_is_accepted():
    token = forge_access_token("e2e-admin")
    resp = get(patient_url(), token)
    assert fhir_json(resp, 200)["id"] == "patient-alice", describe(resp)


# --- refused: 401 ----------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["read", "kickoff", "search", "status"])
def test_no_token_is_401_with_bearer_challenge(target):
    urls = {
        "read": patient_url(),
        "search": f"{base_url()}/Group?name=sunrise",
        "status": f"{base_url()}/$exportstatus?_id=whatever",
    }
    resp = kickoff(None) if target == "kickoff" else get(urls[target])
    body = assert_unauthorized(resp, invalid_token=False)
    assert "bearer" in body["issue"][0]["diagnostics"].lower(), describe(resp)


def test_write_without_token_is_401():
    pid = f"sec-{uuid.uuid4().hex[:10]}"
    resp = request("PUT", f"{base_url()}/Patient/{pid}",
                   headers={"Content-Type": "application/fhir+json"},
                   data=b'{"resourceType":"Patient","id":"%s"}' % pid.encode())
    assert_unauthorized(resp, invalid_token=False)


def test_basic_authorization_is_401():
    resp = get(patient_url(), headers={"Authorization": "Basic ZTJlLWFkbWluOnNlY3JldA=="})
    assert_unauthorized(resp, invalid_token=False)


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "", "eyJhbGciOiJFUzM4NCJ9.e30.AAAA"])
def test_garbage_token_is_401(token):
    resp = get(patient_url(), headers={"Authorization": f"Bearer {token}"})
    assert_unauthorized(resp)


def test_garbage_token_on_kickoff_is_401():
    assert_unauthorized(kickoff("not-a-jwt"), invalid_token=True)


def test_alg_none_token_is_401():
    token = unsigned_jwt(access_claims("e2e-admin"), {"alg": "none", "typ": "at+jwt"})
    assert_unauthorized(get(patient_url(), token), invalid_token=True)
    assert_unauthorized(kickoff(token), invalid_token=True)


def test_alg_none_token_with_the_real_signature_attached_is_401():
    """A real signature over the same claims, header switched to `none`."""
    claims = access_claims("e2e-admin")
    signed = server_key().jwt(claims, extra_header={"typ": "at+jwt"})
    forged = unsigned_jwt(claims, {"alg": "none", "typ": "at+jwt", "kid": "atr-export-1"})
    token = forged + signed.split(".")[2]
    assert_unauthorized(get(patient_url(), token), invalid_token=True)


def test_hs256_token_keyed_with_the_server_public_key_is_401():
    claims = access_claims("e2e-admin")
    for secret in (server_public_pem(), server_public_pem().strip()):
        for header in ({"alg": "HS256", "typ": "at+jwt"},
                       {"alg": "HS256", "typ": "at+jwt", "kid": "atr-export-1"}):
            token = hs256_jwt(claims, secret, header)
            assert_unauthorized(get(patient_url(), token), invalid_token=True)
    assert_unauthorized(kickoff(hs256_jwt(claims, server_public_pem())), invalid_token=True)


def test_token_signed_by_another_key_is_401():
    token = forge_access_token("e2e-admin", key=Key.p384(kid="atr-export-1"))
    assert_unauthorized(get(patient_url(), token), invalid_token=True)


def test_rs384_token_from_another_key_is_401():
    token = forge_access_token("e2e-admin", key=Key.rsa(kid="atr-export-1"))
    assert_unauthorized(get(patient_url(), token), invalid_token=True)


def test_expired_token_is_401():
    now = int(time.time())
    token = forge_access_token("e2e-admin", exp=now - 120, iat=now - 400, nbf=now - 400)
    assert_unauthorized(get(patient_url(), token), invalid_token=True)
    assert_unauthorized(kickoff(token), invalid_token=True)


def test_token_without_exp_is_401():
    token = forge_access_token("e2e-admin", exp=None)
    assert_unauthorized(get(patient_url(), token), invalid_token=True)


def test_token_not_yet_valid_is_401():
    now = int(time.time())
    token = forge_access_token("e2e-admin", nbf=now + 200, iat=now + 200, exp=now + 290)
    assert_unauthorized(get(patient_url(), token), invalid_token=True)


@pytest.mark.parametrize("wrong", ["https://evil.example/auth", "{origin}", "{origin}/auth/"])
def test_wrong_issuer_is_401(wrong):
    token = forge_access_token("e2e-admin", iss=wrong.format(origin=origin()))
    assert_unauthorized(get(patient_url(), token), invalid_token=True)
    assert_unauthorized(kickoff(token), invalid_token=True)


@pytest.mark.parametrize("wrong", ["https://evil.example/fhir", "{base}/", "{origin}/auth/token"])
def test_wrong_audience_is_401(wrong):
    token = forge_access_token("e2e-admin", aud=wrong.format(base=base_url(), origin=origin()))
    assert_unauthorized(get(patient_url(), token), invalid_token=True)
    assert_unauthorized(kickoff(token), invalid_token=True)


def test_audience_array_containing_the_base_is_accepted():
    token = forge_access_token("e2e-admin", aud=["https://other.example", base_url()])
    assert fhir_json(get(patient_url(), token), 200)["id"] == "patient-alice"


def test_tampered_claims_under_a_real_signature_are_401():
    """A real token with its payload swapped for one with more scope."""
    real = forge_access_token("e2e-admin", scope="system/Group.read")
    head, _, sig = real.split(".")
    payload = b64url(json.dumps(access_claims("e2e-admin", scope="system/*.read")).encode())
    resp = get(patient_url(), f"{head}.{payload}.{sig}")
    assert_unauthorized(resp, invalid_token=True)



def test_file_authorization_endpoint_is_not_reachable_from_outside():
    """`/_auth/files` is nginx-internal (auth_request only): a client gets 404, not a 204."""
    for token in (None, forge_access_token("e2e-admin")):
        resp = get(f"{origin()}/_auth/files", token)
        assert_outcome(resp, 404, "not-found")
