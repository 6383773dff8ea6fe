"""Bad requests to the REST endpoints: each a 4xx OperationOutcome, and nothing stored."""
from __future__ import annotations

import pytest

from fhir_support import (
    FHIR_JSON, assert_absent, assert_client_error_outcome, assert_outcome, assert_status,
    assert_stored, coverage, describe, dumps, fhir_json, patient,
)


# --- body is not a JSON object --------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b"{not json",
    b'{"resourceType":"Patient","id":"ID"',                 # truncated
    b'{"resourceType":"Patient","id":"ID"} trailing',        # garbage after the value
    b"<Patient xmlns=\"http://hl7.org/fhir\"/>",             # XML
    b"{'resourceType':'Patient','id':'ID'}",                 # single quotes
], ids=["garbage", "truncated", "trailing", "xml", "single-quotes"])
def test_body_not_json_is_400_structure(fhir, new_id, raw):
    pid = new_id()
    resp = fhir.put("Patient", pid, raw=raw.replace(b"ID", pid.encode()))
    assert_outcome(resp, 400, "structure", "json")
    assert_absent(fhir, "Patient", pid)


@pytest.mark.parametrize("value", [["a", "b"], "a string", 42, None],
                         ids=["array", "string", "number", "null"])
def test_body_not_an_object_is_400_structure(fhir, new_id, value):
    pid = new_id()
    resp = fhir.put("Patient", pid, value)
    assert_outcome(resp, 400, "structure", "object")
    assert_absent(fhir, "Patient", pid)


@pytest.mark.parametrize("template", [
    b'{"resourceType":"Patient","id":"ID","active":true,"active":false}',
    b'{"resourceType":"Patient","id":"ID","name":[{"family":"A","family":"B"}]}',
    b'{"resourceType":"Patient","id":"ID","resourceType":"Patient"}',
], ids=["top-level", "nested", "resourceType"])
def test_duplicate_json_keys_are_400_structure(fhir, new_id, template):
    pid = new_id()
    resp = fhir.put("Patient", pid, raw=template.replace(b"ID", pid.encode()))
    assert_outcome(resp, 400, "structure")
    assert_absent(fhir, "Patient", pid)


@pytest.mark.parametrize("template", [
    b"",                                                                     # empty body
    b'{"resourceType":"Patient","id":"ID","name":[{"family":"\xff\xfe"}]}',  # invalid UTF-8
    b'{"resourceType":"Patient","id":"ID","x":' + b"[" * 100000 + b"]" * 100000 + b"}",
    b'{"resourceType":"Patient","id":"ID","active":true}\x00',               # NUL after value
    b'{"resourceType":"Patient","id":"ID","n":NaN}',                         # not JSON numbers
    b'{"resourceType":"Patient","id":"ID","s":"\\ud800"}',                   # lone surrogate
], ids=["empty", "invalid-utf8", "deep-nesting", "nul", "nan", "lone-surrogate"])
def test_malformed_bodies_are_4xx_outcomes_and_server_survives(fhir, new_id, template):
    """Not pinned down by the contract beyond 'bad input is a 4xx OperationOutcome'."""
    pid = new_id()
    resp = fhir.put("Patient", pid, raw=template.replace(b"ID", pid.encode()))
    assert_client_error_outcome(resp)
    assert_absent(fhir, "Patient", pid)
    assert_status(fhir.metadata(), 200)


# --- resourceType ---------------------------------------------------------------------------


def test_missing_resource_type_is_400_required(fhir, new_id):
    pid = new_id()
    body = patient(pid)
    del body["resourceType"]
    assert_outcome(fhir.put("Patient", pid, body), 400, "required", "resourceType")
    assert_absent(fhir, "Patient", pid)


def test_unknown_resource_type_in_body_is_400_not_supported(fhir, new_id):
    pid = new_id()
    resp = fhir.put("Patient", pid, {"resourceType": "Bogus", "id": pid})
    assert_outcome(resp, 400, "not-supported", "Bogus")
    assert_absent(fhir, "Patient", pid)


def test_unknown_resource_type_in_post_body_is_400_not_supported(fhir):
    resp = fhir.post("Patient", {"resourceType": "Bogus"})
    assert_outcome(resp, 400, "not-supported", "Bogus")


def test_resource_type_differs_from_url_is_400_invalid(fhir, new_id):
    rid = new_id()
    resp = fhir.put("Patient", rid, coverage(rid, "Patient/x"))
    assert_outcome(resp, 400, "invalid", "resourceType")
    assert_absent(fhir, "Patient", rid)
    assert_absent(fhir, "Coverage", rid)


def test_post_resource_type_differs_from_url_is_400_invalid(fhir):
    resp = fhir.post("Patient", coverage(None, "Patient/x"))
    assert_outcome(resp, 400, "invalid", "resourceType")


@pytest.mark.parametrize("method", ["PUT", "POST", "GET"])
def test_unknown_type_in_url_is_404_not_supported(http, fhir, new_id, method):
    rid = new_id()
    url = fhir.url("Bogus", rid) if method in ("PUT", "GET") else fhir.url("Bogus")
    data = dumps({"resourceType": "Bogus", "id": rid}) if method != "GET" else None
    headers = {"Content-Type": FHIR_JSON} if data is not None else {}
    resp = http.request(method, url, data=data, headers=headers)
    assert_outcome(resp, 404, "not-supported", "Bogus")


# --- ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url_id,body_id", [
    ("a_b", "a_b"),
    ("a" * 65, "a" * 65),
    ("a%20b", "a b"),
    ("a%2Cb", "a,b"),
], ids=["underscore", "65-chars", "space", "comma"])
def test_bad_id_in_url_is_400_value(fhir, url_id, body_id):
    resp = fhir.put("Patient", url_id, patient(body_id))
    assert_outcome(resp, 400, "value", "id")


def test_put_without_body_id_is_400_invalid(fhir, new_id):
    pid = new_id()
    resp = fhir.put("Patient", pid, patient(None))
    assert_outcome(resp, 400, "invalid", "id")
    assert_absent(fhir, "Patient", pid)


def test_put_with_different_body_id_is_400_invalid(fhir, new_id):
    pid, other = new_id(), new_id()
    resp = fhir.put("Patient", pid, patient(other))
    assert_outcome(resp, 400, "invalid", "id")
    assert_absent(fhir, "Patient", pid)
    assert_absent(fhir, "Patient", other)


def test_invalid_put_leaves_existing_version_untouched(fhir, base, new_id):
    pid = new_id()
    stored = assert_stored(fhir.put("Patient", pid, patient(pid, family="Keep")),
                           base, "Patient", pid, 1, 201)
    assert_outcome(fhir.put("Patient", pid, patient("other-id")), 400, "invalid", "id")
    assert_outcome(fhir.put("Patient", pid, raw=b"{oops"), 400, "structure", "json")
    assert fhir_json(fhir.get("Patient", pid), 200) == stored


# --- Content-Type and size ------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/xml",
                                          "application/x-www-form-urlencoded"],
                         ids=["text-plain", "missing", "xml", "form"])
def test_wrong_or_missing_content_type_is_415(fhir, new_id, content_type):
    pid = new_id()
    resp = fhir.put("Patient", pid, patient(pid), content_type=content_type)
    if content_type is None:
        assert "Content-Type" not in resp.request.headers
    assert_outcome(resp, 415, "not-supported", "Content-Type")
    assert_absent(fhir, "Patient", pid)


def test_wrong_content_type_on_post_is_415(fhir):
    resp = fhir.post("Patient", patient(None), content_type="text/plain")
    assert_outcome(resp, 415, "not-supported", "Content-Type")


def _oversized_patient(pid: str, max_body: int) -> bytes:
    sent = patient(pid)
    sent["extension"] = [{"url": "http://example.org/filler", "valueString": "x" * max_body}]
    data = dumps(sent)
    assert len(data) > max_body
    return data


def test_body_over_the_limit_is_413(fhir, new_id, max_body):
    pid = new_id()
    resp = fhir.put("Patient", pid, raw=_oversized_patient(pid, max_body))
    assert resp.status_code == 413, describe(resp)
    assert_absent(fhir, "Patient", pid)


def test_chunked_body_over_the_limit_is_413(http, fhir, new_id, max_body):
    pid = new_id()
    data = _oversized_patient(pid, max_body)

    def chunks():
        for i in range(0, len(data), 65536):
            yield data[i:i + 65536]

    resp = http.put(fhir.url("Patient", pid), data=chunks(), headers={"Content-Type": FHIR_JSON})
    assert resp.status_code == 413, describe(resp)
    assert_absent(fhir, "Patient", pid)


# --- methods --------------------------------------------------------------------------------


@pytest.mark.parametrize("method,path", [
    ("PATCH", "Patient/{id}"),
    ("POST", "Patient/{id}"),
    ("DELETE", "Patient"),
], ids=["patch-instance", "post-instance", "delete-type"])
def test_unsupported_method_is_405(http, fhir, base, new_id, method, path):
    pid = new_id()
    assert_stored(fhir.put("Patient", pid, patient(pid)), base, "Patient", pid, 1, 201)
    resp = http.request(method, fhir.url(path.format(id=pid)), data=dumps(patient(pid)),
                        headers={"Content-Type": FHIR_JSON})
    assert_outcome(resp, 405)
    got = fhir_json(fhir.get("Patient", pid), 200)
    assert got["meta"]["versionId"] == "1"
