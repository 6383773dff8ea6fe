"""The built-in token endpoint (`POST {origin}/auth/token`): SMART Backend Services
`client_credentials` with an RS384 or ES384 client assertion (RFC 7523), granted scopes =
requested ∩ allowed, and every refusal as a JSON OAuth error with its status."""
from __future__ import annotations

import json
import time
import uuid

import pytest
import requests

from fhir_support import describe, fhir_json
from security_support import (
    Client, Key, assert_oauth_error, atrctl, assert_token_response, base_url, ca,
    client_assertion, get, new_client_id, post_token, register, register_new, token_form, token_url,
    unsigned_jwt, hs256_jwt,
)

READ_ALL = "system/*.read"


@pytest.fixture(scope="module")
def rs_client() -> Client:
    """RSA-2048 key registered as a JWKS with a kid; signs RS384."""
    client_id = new_client_id("sec-rs")
    return register(client_id, [Key.rsa(kid=f"{client_id}-rsa")], READ_ALL)


@pytest.fixture(scope="module")
def es_client() -> Client:
    """P-384 key registered as a JWKS with a kid; signs ES384."""
    client_id = new_client_id("sec-es")
    return register(client_id, [Key.p384(kid=f"{client_id}-ec")], READ_ALL)


@pytest.fixture(scope="module")
def pem_client() -> Client:
    """P-384 key registered as a PEM public key: no kid on file, found by thumbprint."""
    return register(new_client_id("sec-pem"), [Key.p384()], READ_ALL, pem=True)


@pytest.fixture(scope="module")
def patient_only() -> Client:
    """Allowed only `system/Patient.read`."""
    return register(new_client_id("sec-po"), [Key.p384(kid="po-1")], "system/Patient.read")


# --- success ------------------------------------------------------------------------------


def test_rs384_assertion_gets_requested_scopes_within_allowed(rs_client):
    # Observation is never served, so its scope is not granted.
    resp = rs_client.request_token("system/Patient.read system/Observation.read")
    body = assert_token_response(resp, "system/Patient.read", rs_client.client_id)
    # The token works on the FHIR API.
    got = get(f"{base_url()}/Patient/patient-alice", body["access_token"])
    assert fhir_json(got, 200)["id"] == "patient-alice", describe(got)


def test_es384_assertion_gets_v2_scope(es_client):
    resp = es_client.request_token("system/Patient.rs")
    body = assert_token_response(resp, "system/Patient.rs", es_client.client_id)
    got = get(f"{base_url()}/Patient/patient-alice", body["access_token"])
    assert fhir_json(got, 200)["id"] == "patient-alice", describe(got)


def test_wildcard_request_is_narrowed_to_the_allowed_scopes(patient_only):
    resp = patient_only.request_token("system/*.read")
    assert_token_response(resp, "system/Patient.read", patient_only.client_id)


def test_scopes_outside_the_allowance_are_dropped(patient_only):
    resp = patient_only.request_token("system/Patient.read system/Coverage.read system/Patient.write")
    assert_token_response(resp, "system/Patient.read", patient_only.client_id)


def test_pem_key_is_found_by_rfc7638_thumbprint_kid(pem_client):
    resp = pem_client.request_token("system/Group.read", kid=pem_client.key.thumbprint)
    assert_token_response(resp, "system/Group.read", pem_client.client_id)


def test_rsa_pem_key_is_found_by_thumbprint():
    key = Key.rsa()
    client = register(new_client_id("sec-rpem"), [key], READ_ALL, pem=True)
    resp = client.request_token("system/Patient.read", kid=key.thumbprint)
    assert_token_response(resp, "system/Patient.read", client.client_id)


def test_assertion_without_kid_is_tried_against_each_key():
    first, second = Key.rsa(kid="k-rsa"), Key.p384(kid="k-ec")
    client = register(new_client_id("sec-2k"), [first, second], READ_ALL)
    for key in (first, second):
        resp = client.request_token("system/Patient.read", key=key, kid=None)
        assert_token_response(resp, "system/Patient.read", client.client_id)


def test_second_registered_key_is_chosen_by_kid():
    first, second = Key.p384(kid="k-one"), Key.rsa(kid="k-two")
    client = register(new_client_id("sec-kid"), [first, second], READ_ALL)
    resp = client.request_token("system/Coverage.read", key=second)
    assert_token_response(resp, "system/Coverage.read", client.client_id)


def test_form_content_type_with_charset_is_accepted(es_client):
    resp = requests.post(token_url(), data=token_form(es_client.assertion(), "system/Group.read"),
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
                         verify=ca(), timeout=60)
    assert_token_response(resp, "system/Group.read", es_client.client_id)


# --- request errors -----------------------------------------------------------------------


def test_wrong_grant_type_is_unsupported_grant_type(es_client):
    resp = post_token(es_client.assertion(), READ_ALL, grant_type="password")
    assert_oauth_error(resp, 400, "unsupported_grant_type", "password")


def test_wrong_client_assertion_type_is_invalid_request(es_client):
    resp = post_token(es_client.assertion(), READ_ALL,
                      client_assertion_type="urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
    assert_oauth_error(resp, 400, "invalid_request", "client_assertion_type")


def test_missing_client_assertion_is_invalid_request(es_client):
    resp = post_token("", READ_ALL, client_assertion=None)
    assert_oauth_error(resp, 400, "invalid_request", "client_assertion")


def test_json_body_instead_of_form_is_invalid_request(es_client):
    body = token_form(es_client.assertion(), READ_ALL)
    resp = requests.post(token_url(), data=json.dumps(body), verify=ca(), timeout=60,
                         headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert_oauth_error(resp, 400, "invalid_request", "x-www-form-urlencoded")


def test_repeated_parameter_is_invalid_request(es_client):
    form = token_form(es_client.assertion(), READ_ALL)
    raw = "&".join(f"{k}={requests.utils.quote(v, safe='')}" for k, v in form.items()) + "&scope=system%2FGroup.read"
    resp = requests.post(token_url(), data=raw, verify=ca(), timeout=60,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_oauth_error(resp, 400, "invalid_request", "scope")


# --- client authentication errors (401 invalid_client) ------------------------------------


def test_bad_signature_is_invalid_client(es_client):
    impostor = Key.p384(kid=es_client.key.kid)  # right kid, wrong key
    resp = es_client.request_token(READ_ALL, key=impostor)
    assert_oauth_error(resp, 401, "invalid_client", "signature")


def test_tampered_assertion_payload_is_invalid_client(rs_client):
    head, _, sig = rs_client.assertion().split(".")
    other = rs_client.assertion().split(".")[1]  # a validly signed payload from another assertion
    resp = post_token(f"{head}.{other}.{sig}", READ_ALL)
    assert_oauth_error(resp, 401, "invalid_client", "signature")


def test_unknown_kid_is_invalid_client(es_client):
    resp = es_client.request_token(READ_ALL, kid="no-such-kid")
    assert_oauth_error(resp, 401, "invalid_client", "no-such-kid")


def test_wrong_audience_is_invalid_client(es_client):
    resp = es_client.request_token(READ_ALL, aud=base_url())
    assert_oauth_error(resp, 401, "invalid_client", "aud")


def test_audience_array_containing_the_token_url_is_accepted(es_client):
    resp = es_client.request_token("system/Patient.read", aud=["https://other.example/token", token_url()])
    assert_token_response(resp, "system/Patient.read", es_client.client_id)


def test_assertion_not_yet_valid_is_invalid_client(es_client):
    now = int(time.time())
    resp = es_client.request_token(READ_ALL, nbf=now + 200, exp=now + 280)
    assert_oauth_error(resp, 401, "invalid_client", "nbf")


def test_expired_assertion_is_invalid_client(es_client):
    now = int(time.time())
    resp = es_client.request_token(READ_ALL, exp=now - 120, iat=now - 300)
    assert_oauth_error(resp, 401, "invalid_client", "expired")


def test_assertion_living_longer_than_five_minutes_is_invalid_client(es_client):
    resp = es_client.request_token(READ_ALL, exp=int(time.time()) + 900)
    assert_oauth_error(resp, 401, "invalid_client", "exp")


def test_assertion_without_exp_is_invalid_client(es_client):
    resp = es_client.request_token(READ_ALL, exp=None)
    assert_oauth_error(resp, 401, "invalid_client", "exp")


def test_assertion_without_jti_is_invalid_client(es_client):
    resp = es_client.request_token(READ_ALL, jti=None)
    assert_oauth_error(resp, 401, "invalid_client", "jti")


def test_sub_different_from_iss_is_invalid_client(es_client):
    resp = es_client.request_token(READ_ALL, sub="someone-else")
    assert_oauth_error(resp, 401, "invalid_client", "sub")


def test_replayed_jti_is_refused(es_client):
    """SMART: the jti must not have been seen for this iss within the assertion's lifetime; a
    replay fails client authentication (401 invalid_client)."""
    jti = uuid.uuid4().hex
    assertion = es_client.assertion(jti=jti)
    first = post_token(assertion, "system/Patient.read")
    assert_token_response(first, "system/Patient.read", es_client.client_id)
    # The very same assertion again, then a fresh, validly signed one with the same jti.
    assert_oauth_error(post_token(assertion, "system/Patient.read"), 401, "invalid_client", "jti")
    assert_oauth_error(post_token(es_client.assertion(jti=jti), "system/Patient.read"),
                       401, "invalid_client", "jti")


def test_same_jti_from_another_client_is_not_a_replay(es_client, rs_client):
    jti = uuid.uuid4().hex
    assert_token_response(post_token(es_client.assertion(jti=jti), "system/Patient.read"),
                          "system/Patient.read", es_client.client_id)
    assert_token_response(post_token(rs_client.assertion(jti=jti), "system/Patient.read"),
                          "system/Patient.read", rs_client.client_id)


def test_unknown_client_is_invalid_client():
    key = Key.p384(kid="stranger-1")
    resp = post_token(client_assertion("no-such-client-" + uuid.uuid4().hex[:6], key), READ_ALL)
    assert_oauth_error(resp, 401, "invalid_client", "unknown client")


def test_removed_client_is_invalid_client():
    client = register(new_client_id("sec-rm"), [Key.p384(kid="rm-1")], READ_ALL)
    assert_token_response(client.request_token("system/Patient.read"), "system/Patient.read", client.client_id)
    atrctl("clients", "remove", client.client_id)
    assert_oauth_error(client.request_token("system/Patient.read"), 401, "invalid_client", client.client_id)


def test_client_id_parameter_matching_the_assertion_is_accepted(es_client):
    resp = post_token(es_client.assertion(), "system/Patient.read", client_id=es_client.client_id)
    assert_token_response(resp, "system/Patient.read", es_client.client_id)


def test_client_id_parameter_must_match_the_assertion(es_client, rs_client):
    resp = post_token(es_client.assertion(), READ_ALL, client_id=rs_client.client_id)
    assert_oauth_error(resp, 401, "invalid_client", "client_id")


def test_alg_none_assertion_is_invalid_client(es_client):
    now = int(time.time())
    assertion = unsigned_jwt({"iss": es_client.client_id, "sub": es_client.client_id, "aud": token_url(),
                              "exp": now + 200, "jti": uuid.uuid4().hex})
    resp = post_token(assertion, READ_ALL)
    assert_oauth_error(resp, 401, "invalid_client", "none")


def test_hs256_assertion_keyed_with_the_public_key_is_invalid_client(es_client):
    now = int(time.time())
    payload = {"iss": es_client.client_id, "sub": es_client.client_id, "aud": token_url(),
               "exp": now + 200, "jti": uuid.uuid4().hex}
    resp = post_token(hs256_jwt(payload, es_client.key.public_pem()), READ_ALL)
    assert_oauth_error(resp, 401, "invalid_client", "HS256")


def test_rs256_assertion_is_invalid_client(rs_client):
    """Only RS384 and ES384: an RS256 header is refused before any key is tried."""
    now = int(time.time())
    payload = {"iss": rs_client.client_id, "sub": rs_client.client_id, "aud": token_url(),
               "exp": now + 200, "jti": uuid.uuid4().hex}
    resp = post_token(rs_client.key.jwt(payload, alg="RS256"), READ_ALL)
    assert_oauth_error(resp, 401, "invalid_client", "RS256")


def test_garbage_assertion_is_invalid_client():
    resp = post_token("not.a.jwt", READ_ALL)
    assert_oauth_error(resp, 401, "invalid_client")


# --- scopes (400 invalid_scope) -----------------------------------------------------------


def test_unknown_resource_type_scope_is_invalid_scope(es_client):
    resp = es_client.request_token("system/Bogus.read")
    assert_oauth_error(resp, 400, "invalid_scope", "system/Bogus.read")


def test_malformed_scope_action_is_invalid_scope(es_client):
    resp = es_client.request_token("system/Patient.x")
    assert_oauth_error(resp, 400, "invalid_scope", "system/Patient.x")


def test_one_malformed_scope_among_good_ones_is_invalid_scope(es_client):
    resp = es_client.request_token("system/Patient.read system/Patient.x")
    assert_oauth_error(resp, 400, "invalid_scope", "system/Patient.x")


def test_v2_letters_out_of_order_are_invalid_scope(es_client):
    resp = es_client.request_token("system/Patient.sr")
    assert_oauth_error(resp, 400, "invalid_scope", "system/Patient.sr")


def test_non_system_scope_is_invalid_scope(es_client):
    resp = es_client.request_token("patient/Patient.read")
    assert_oauth_error(resp, 400, "invalid_scope", "patient/Patient.read")


def test_empty_grant_is_invalid_scope(patient_only):
    resp = patient_only.request_token("system/Observation.read")
    assert_oauth_error(resp, 400, "invalid_scope")


def test_missing_scope_is_invalid_scope(es_client):
    resp = post_token(es_client.assertion(), None)
    assert_oauth_error(resp, 400, "invalid_scope")


def test_no_error_response_contains_the_assertion(es_client):
    """Error descriptions name the problem, never echo the credential."""
    assertion = es_client.assertion(aud="https://elsewhere.example/token")
    resp = post_token(assertion, READ_ALL)
    assert_oauth_error(resp, 401, "invalid_client")
    assert assertion not in resp.text and assertion.split(".")[2] not in resp.text, describe(resp)



def test_a_client_gets_at_most_the_configured_tokens_per_minute():
    """The e2e stack allows 100 a minute (SmartAuthorizationOptions.TokenRequestsPerMinute)."""
    client = register_new("sec-rate", "system/*.read")
    for _ in range(100):
        resp = client.request_token("system/*.read")
        assert resp.status_code == 200, describe(resp)
    resp = client.request_token("system/*.read")
    body = assert_oauth_error(resp, 429, "temporarily_unavailable", "TokenRequestsPerMinute")
    assert resp.headers.get("Retry-After") == "60", describe(resp)
    assert "at most 100 tokens per minute" in body["error_description"]
    other = register_new("sec-rate2", "system/*.read")
    assert other.request_token("system/*.read").status_code == 200, "the limit is per client"
