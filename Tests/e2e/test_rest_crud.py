"""PUT / POST / GET / DELETE of single resources and the metadata endpoint."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from fhir_support import (
    FHIR_JSON, SERVER_ID_RE, SUPPORTED_TYPES, assert_absent, assert_outcome, assert_status,
    assert_stored, dumps, fhir_json, group, minimal, parse_instant, patient,
    without_server_meta,
)


# --- create, read, update ------------------------------------------------------------------


def test_put_creates_then_get_returns_it(fhir, base, new_id):
    pid = new_id()
    sent = patient(pid, family="Created")
    created = assert_stored(fhir.put("Patient", pid, sent), base, "Patient", pid, 1, 201, sent)

    got = fhir.get("Patient", pid)
    body = fhir_json(got, 200)
    assert got.headers.get("ETag") == 'W/"1"'
    assert body == created


def test_put_sets_last_updated_to_now(fhir, base, new_id):
    pid = new_id()
    before = datetime.now(timezone.utc)
    body = assert_stored(fhir.put("Patient", pid, patient(pid)), base, "Patient", pid, 1, 201)
    after = datetime.now(timezone.utc)
    stamp = parse_instant(body["meta"]["lastUpdated"])
    # Same machine, same clock: allow a little skew for rounding and scheduling.
    assert (before - stamp).total_seconds() <= 2 and (stamp - after).total_seconds() <= 2, stamp


def test_put_existing_updates_with_next_version(fhir, base, new_id):
    pid = new_id()
    v1 = assert_stored(fhir.put("Patient", pid, patient(pid, family="One")),
                       base, "Patient", pid, 1, 201)
    sent = patient(pid, family="Two", active=False)
    v2 = assert_stored(fhir.put("Patient", pid, sent), base, "Patient", pid, 2, 200, sent)
    assert v2["meta"]["lastUpdated"] >= v1["meta"]["lastUpdated"]
    sent3 = patient(pid, family="Three")
    assert_stored(fhir.put("Patient", pid, sent3), base, "Patient", pid, 3, 200, sent3)

    got = fhir.get("Patient", pid)
    body = fhir_json(got, 200)
    assert got.headers.get("ETag") == 'W/"3"'
    assert body["meta"]["versionId"] == "3"
    assert body["name"][0]["family"] == "Three"


@pytest.mark.parametrize("rtype", SUPPORTED_TYPES)
def test_every_supported_type_round_trips(fhir, base, new_id, rtype):
    rid = new_id()
    sent = minimal(rtype, rid)
    stored = assert_stored(fhir.put(rtype, rid, sent), base, rtype, rid, 1, 201, sent)
    assert fhir_json(fhir.get(rtype, rid), 200) == stored


def test_server_overrides_client_meta_but_keeps_profile(fhir, base, new_id):
    gid = new_id()
    sent = group(gid, [("http://example.org/atr-e2e/ids", gid)], name="Meta test")
    sent["meta"].update({"versionId": "99", "lastUpdated": "2001-01-01T00:00:00.000Z",
                         "tag": [{"system": "http://example.org/tags", "code": "e2e"}]})
    body = assert_stored(fhir.put("Group", gid, sent), base, "Group", gid, 1, 201, sent)
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"] != "2001-01-01T00:00:00.000Z"
    assert body["meta"]["profile"] == sent["meta"]["profile"]
    assert body["meta"]["tag"] == sent["meta"]["tag"]


@pytest.mark.parametrize("content_type", [
    "application/fhir+json",
    "application/fhir+json; charset=utf-8",
    "application/json",
    "application/json;charset=UTF-8",
])
def test_put_accepts_json_content_types(fhir, base, new_id, content_type):
    pid = new_id()
    sent = patient(pid)
    assert_stored(fhir.put("Patient", pid, sent, content_type=content_type),
                  base, "Patient", pid, 1, 201, sent)


def test_unicode_round_trips_raw_and_escaped(fhir, base, new_id):
    pid = new_id()
    sent = patient(pid, family="Ødegård-Nguyễn 😀 \u2028 \"quoted\" \\ back")
    # Escaped form: \u00d8 ..., the emoji as a surrogate pair \ud83d\ude00.
    stored = assert_stored(fhir.put("Patient", pid, raw=dumps(sent, ascii_only=True)),
                           base, "Patient", pid, 1, 201, sent)
    assert stored["name"][0]["family"] == sent["name"][0]["family"]
    # Raw UTF-8 form.
    stored2 = assert_stored(fhir.put("Patient", pid, raw=dumps(sent)),
                            base, "Patient", pid, 2, 200, sent)
    assert fhir_json(fhir.get("Patient", pid), 200) == stored2


def test_ids_with_all_allowed_characters_and_max_length(fhir, base, new_id):
    for pid in ("A-z.0-" + new_id(), (new_id() + "x" * 64)[:64]):
        sent = patient(pid)
        assert_stored(fhir.put("Patient", pid, sent), base, "Patient", pid, 1, 201, sent)
        assert fhir_json(fhir.get("Patient", pid), 200)["id"] == pid


def test_put_with_chunked_body(http, fhir, base, new_id):
    pid = new_id()
    sent = patient(pid, family="Chunked")
    data = dumps(sent)

    def chunks():  # a generator makes requests use Transfer-Encoding: chunked
        for i in range(0, len(data), 7):
            yield data[i:i + 7]

    resp = http.put(fhir.url("Patient", pid), data=chunks(),
                    headers={"Content-Type": FHIR_JSON})
    assert resp.request.headers.get("Transfer-Encoding") == "chunked"
    assert_stored(resp, base, "Patient", pid, 1, 201, sent)


def test_body_just_under_the_limit_is_accepted(fhir, base, new_id, max_body):
    pid = new_id()
    sent = patient(pid, family="Big")
    filler = max_body - len(dumps(sent)) - 4096
    sent["extension"] = [{"url": "http://example.org/filler", "valueString": "x" * filler}]
    assert len(dumps(sent)) < max_body
    assert_stored(fhir.put("Patient", pid, sent), base, "Patient", pid, 1, 201, sent)
    got = fhir_json(fhir.get("Patient", pid), 200)
    assert len(got["extension"][0]["valueString"]) == filler


# --- POST (server-assigned id) ---------------------------------------------------------------


def test_post_assigns_lowercase_uuid_and_ignores_body_id(fhir, base, new_id):
    client_id = new_id()
    sent = patient(client_id, family="Posted")
    resp = fhir.post("Patient", sent)
    assert_status(resp, 201)
    new = resp.json().get("id")
    assert isinstance(new, str) and SERVER_ID_RE.match(new), resp.text
    assert new != client_id
    body = assert_stored(resp, base, "Patient", new, 1, 201, sent)
    assert fhir_json(fhir.get("Patient", new), 200) == body
    assert_absent(fhir, "Patient", client_id)


@pytest.mark.parametrize("body_id", ["../../x", "a" * 100, 42])
def test_post_ignores_even_an_invalid_body_id(fhir, body_id):
    resp = fhir.post("Patient", patient(None) | {"id": body_id})
    assert_status(resp, 201)
    assert SERVER_ID_RE.match(resp.json()["id"]), resp.text


def test_post_without_id_gets_distinct_ids(fhir, base):
    ids = []
    for _ in range(3):
        sent = patient(None, family="NoId")
        resp = fhir.post("Patient", sent)
        assert_status(resp, 201)
        new = resp.json()["id"]
        assert SERVER_ID_RE.match(new), resp.text
        assert_stored(resp, base, "Patient", new, 1, 201, sent)
        ids.append(new)
    assert len(set(ids)) == 3


# --- read errors, delete ---------------------------------------------------------------------


def test_get_unknown_is_404_not_found(fhir, new_id):
    rid = new_id()
    assert_outcome(fhir.get("Patient", rid), 404, "not-found", rid)


def test_delete_then_get_is_410_gone(fhir, base, new_id):
    pid = new_id()
    assert_stored(fhir.put("Patient", pid, patient(pid)), base, "Patient", pid, 1, 201)
    resp = fhir.delete("Patient", pid)
    assert_status(resp, 204)
    assert resp.content == b""
    assert_outcome(fhir.get("Patient", pid), 410, "deleted")


def test_delete_twice_is_204_both_times(fhir, base, new_id):
    pid = new_id()
    assert_stored(fhir.put("Patient", pid, patient(pid)), base, "Patient", pid, 1, 201)
    for _ in range(2):
        resp = fhir.delete("Patient", pid)
        assert_status(resp, 204)
        assert resp.content == b""
    assert_outcome(fhir.get("Patient", pid), 410, "deleted")


def test_delete_never_existed_is_404(fhir, new_id):
    rid = new_id()
    assert_outcome(fhir.delete("Patient", rid), 404, "not-found", rid)


def test_put_after_delete_recreates_with_continuing_version(fhir, base, new_id):
    pid = new_id()
    assert_stored(fhir.put("Patient", pid, patient(pid, family="Before")),
                  base, "Patient", pid, 1, 201)
    assert_status(fhir.delete("Patient", pid), 204)          # the delete is version 2
    sent = patient(pid, family="After")
    body = assert_stored(fhir.put("Patient", pid, sent), base, "Patient", pid, 3, 201, sent)
    got = fhir.get("Patient", pid)
    assert fhir_json(got, 200) == body
    assert got.headers.get("ETag") == 'W/"3"'


# --- metadata -------------------------------------------------------------------------------


def test_metadata_capability_statement(base, ca):
    # Plain request without any token: metadata is public.
    resp = requests.get(f"{base}/metadata", verify=ca, headers={"Accept": FHIR_JSON}, timeout=60)
    body = fhir_json(resp, 200)
    assert body["resourceType"] == "CapabilityStatement"
    assert body["fhirVersion"] == "4.0.1"
    assert "application/fhir+json" in body["format"]
    assert body["rest"][0]["mode"] == "server"
    assert body["instantiates"] == ["http://hl7.org/fhir/us/davinci-atr/CapabilityStatement/atr-producer",
                                    "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"]
    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    atr = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/atr-"
    assert {t: r.get("supportedProfile") for t, r in resources.items()} == {
        "Group": [atr + "group"], "Patient": [atr + "patient"], "Coverage": [atr + "coverage"],
        "RelatedPerson": [atr + "relatedperson"], "Practitioner": [atr + "practitioner"],
        "PractitionerRole": [atr + "practitionerrole"], "Organization": [atr + "organization"],
        "Location": [atr + "location"], "Consent": None}
    group = resources["Group"]
    base_sp = "http://hl7.org/fhir/SearchParameter/Group-"
    assert [(p["name"], p["type"], p.get("definition")) for p in group["searchParam"]] == [
        ("identifier", "token", base_sp + "identifier"), ("name", "string", None),
        ("characteristic", "token", base_sp + "characteristic"),
        ("characteristic-value", "composite", base_sp + "characteristic-value"),
        ("managing-entity", "reference", base_sp + "managing-entity"), ("period", "date", None)]
    ops = "http://hl7.org/fhir/us/davinci-atr/OperationDefinition/"
    assert [(o["name"], o["definition"]) for o in group["operation"]] == [
        ("davinci-data-export", ops + "davinci-data-export"),
        ("export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"),
        ("member-add", ops + "member-add"), ("member-remove", ops + "member-remove"),
        ("confirm-attribution-list", ops + "confirm-attribution-list"),
        ("attribution-status", ops + "attribution-status")]
    CapabilityStatement.model_validate(body)


def test_stored_fields_equal_sent_fields(fhir, base, new_id):
    """Nested arrays, decimals, booleans and nulls-free objects come back unchanged."""
    pid = new_id()
    sent = patient(pid, telecom=[{"system": "phone", "value": "+1 555 0100", "rank": 1}],
                   address=[{"line": ["1 Main St", "Apt 2"], "city": "Springfield",
                             "postalCode": "01101", "country": "US"}],
                   extension=[{"url": "http://example.org/score", "valueDecimal": 0.25},
                              {"url": "http://example.org/flag", "valueBoolean": False}])
    body = assert_stored(fhir.put("Patient", pid, sent), base, "Patient", pid, 1, 201, sent)
    assert without_server_meta(fhir_json(fhir.get("Patient", pid), 200)) == \
        without_server_meta(body)
