"""POST {base} with transaction and batch Bundles."""
from __future__ import annotations

import uuid

import pytest

from fhir_support import (
    ID_SYSTEM, SERVER_ID_RE, assert_absent, assert_outcome, assert_stored, coverage, entries,
    fhir_json, group, patient, without_server_meta,
)


def put_entry(resource: dict) -> dict:
    return {"resource": resource,
            "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}}


def post_entry(resource: dict, full_url: str | None = None) -> dict:
    entry = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}
    if full_url is not None:
        entry["fullUrl"] = full_url
    return entry


def delete_entry(rtype: str, rid: str) -> dict:
    return {"request": {"method": "DELETE", "url": f"{rtype}/{rid}"}}


def bundle(kind: str, *items: dict) -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": list(items)}


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def assert_write_response(entry: dict, status: str, rtype: str, rid: str | None,
                          version: int) -> str:
    """A transaction/batch response entry for a PUT/POST; returns the resource id."""
    response = entry.get("response") or {}
    assert response.get("status") == status, entry
    location = response.get("location", "")
    parts = location.split("/")
    assert len(parts) == 4 and parts[0] == rtype and parts[2] == "_history", entry
    assert parts[3] == str(version), entry
    if rid is not None:
        assert parts[1] == rid, entry
    assert response.get("etag") == f'W/"{version}"', entry
    return parts[1]


def search_group_total(fhir, system: str, value: str) -> int:
    body = fhir_json(fhir.search_groups({"identifier": f"{system}|{value}"}), 200)
    return body["total"]


# --- transaction ----------------------------------------------------------------------------


def test_transaction_put_post_delete(fhir, base, new_id):
    existing, doomed, fresh = new_id(), new_id(), new_id()
    assert_stored(fhir.put("Patient", existing, patient(existing, family="Old")),
                  base, "Patient", existing, 1, 201)
    assert_stored(fhir.put("Patient", doomed, patient(doomed)), base, "Patient", doomed, 1, 201)

    updated = patient(existing, family="New")
    created = patient(fresh, family="Fresh")
    posted = patient(None, family="Posted")
    resp = fhir.bundle(bundle("transaction", put_entry(updated), put_entry(created),
                              post_entry(posted), delete_entry("Patient", doomed)))
    body = fhir_json(resp, 200)
    assert body["resourceType"] == "Bundle"
    assert body["type"] == "transaction-response"
    out = entries(body)
    assert len(out) == 4

    assert_write_response(out[0], "200 OK", "Patient", existing, 2)
    assert_write_response(out[1], "201 Created", "Patient", fresh, 1)
    new = assert_write_response(out[2], "201 Created", "Patient", None, 1)
    assert SERVER_ID_RE.match(new), out[2]
    assert out[3]["response"]["status"] == "204 No Content", out[3]

    got = fhir_json(fhir.get("Patient", existing), 200)
    assert got["meta"]["versionId"] == "2"
    assert without_server_meta(got) == updated
    got = fhir_json(fhir.get("Patient", fresh), 200)
    assert got["meta"]["versionId"] == "1"
    assert without_server_meta(got) == created
    got = fhir_json(fhir.get("Patient", new), 200)
    assert without_server_meta(got) == {**posted, "id": new}
    assert_outcome(fhir.get("Patient", doomed), 410, "deleted")


def test_transaction_resolves_urn_references(fhir, new_id):
    patient_urn = urn()
    cid = new_id()
    cov = coverage(cid, patient_urn, subscriber={"reference": patient_urn})
    resp = fhir.bundle(bundle("transaction",
                              post_entry(patient(None, family="Urn"), patient_urn),
                              put_entry(cov)))
    out = entries(fhir_json(resp, 200))
    assert len(out) == 2
    pid = assert_write_response(out[0], "201 Created", "Patient", None, 1)
    assert SERVER_ID_RE.match(pid)
    assert_write_response(out[1], "201 Created", "Coverage", cid, 1)

    stored = fhir_json(fhir.get("Coverage", cid), 200)
    assert stored["beneficiary"]["reference"] == f"Patient/{pid}"
    assert stored["subscriber"]["reference"] == f"Patient/{pid}"
    assert fhir_json(fhir.get("Patient", pid), 200)["name"][0]["family"] == "Urn"


def test_transaction_resolves_forward_and_nested_references(fhir, new_id):
    """References are rewritten wherever they are, also in entries before the POST."""
    gid = new_id()
    urn1, urn2 = urn(), urn()
    grp = group(gid, [(ID_SYSTEM, gid)], name="Forward refs", members=[urn1, urn2])
    grp["member"][0]["extension"] = [{
        "url": "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-attributedProvider",
        "valueReference": {"reference": urn2}}]
    resp = fhir.bundle(bundle("transaction", put_entry(grp),
                              post_entry(patient(None, family="One"), urn1),
                              post_entry(patient(None, family="Two"), urn2)))
    out = entries(fhir_json(resp, 200))
    assert len(out) == 3
    assert_write_response(out[0], "201 Created", "Group", gid, 1)
    p1 = assert_write_response(out[1], "201 Created", "Patient", None, 1)
    p2 = assert_write_response(out[2], "201 Created", "Patient", None, 1)

    stored = fhir_json(fhir.get("Group", gid), 200)
    assert [m["entity"]["reference"] for m in stored["member"]] == [f"Patient/{p1}",
                                                                     f"Patient/{p2}"]
    assert stored["member"][0]["extension"][0]["valueReference"]["reference"] == f"Patient/{p2}"


def test_transaction_only_rewrites_reference_fields(fhir, new_id):
    patient_urn = urn()
    cid = new_id()
    cov = coverage(cid, patient_urn, identifier=[{"system": ID_SYSTEM, "value": patient_urn}])
    cov["payor"][0]["display"] = patient_urn
    resp = fhir.bundle(bundle("transaction", post_entry(patient(None), patient_urn),
                              put_entry(cov)))
    out = entries(fhir_json(resp, 200))
    pid = assert_write_response(out[0], "201 Created", "Patient", None, 1)
    stored = fhir_json(fhir.get("Coverage", cid), 200)
    assert stored["beneficiary"]["reference"] == f"Patient/{pid}"
    assert stored["identifier"][0]["value"] == patient_urn
    assert stored["payor"][0]["display"] == patient_urn


def _bad_entry(kind: str, new_id) -> dict:
    rid = new_id()
    if kind == "unknown-type":
        return {"resource": {"resourceType": "Bogus", "id": rid},
                "request": {"method": "PUT", "url": f"Patient/{rid}"}}
    if kind == "unknown-url-type":
        return {"resource": {"resourceType": "Bogus", "id": rid},
                "request": {"method": "PUT", "url": f"Bogus/{rid}"}}
    if kind == "bad-id":
        return {"resource": patient("a_b"), "request": {"method": "PUT", "url": "Patient/a_b"}}
    if kind == "id-mismatch":
        return {"resource": patient(new_id()), "request": {"method": "PUT", "url": f"Patient/{rid}"}}
    if kind == "type-mismatch":
        return {"resource": coverage(rid, "Patient/x"),
                "request": {"method": "PUT", "url": f"Patient/{rid}"}}
    if kind == "missing-resource":
        return {"request": {"method": "PUT", "url": f"Patient/{rid}"}}
    if kind == "no-resource-type":
        res = patient(rid)
        del res["resourceType"]
        return {"resource": res, "request": {"method": "PUT", "url": f"Patient/{rid}"}}
    if kind == "bad-method":
        return {"resource": patient(rid), "request": {"method": "PATCH", "url": f"Patient/{rid}"}}
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["unknown-type", "unknown-url-type", "bad-id", "id-mismatch", "type-mismatch",
                                  "missing-resource", "no-resource-type", "bad-method"])
def test_transaction_with_one_bad_entry_stores_nothing(fhir, base, new_id, kind):
    kept, kept2, fresh, cid = new_id(), new_id(), new_id(), new_id()
    group_value = new_id("gv")
    original = assert_stored(fhir.put("Patient", kept, patient(kept, family="Kept")),
                             base, "Patient", kept, 1, 201)
    original2 = assert_stored(fhir.put("Patient", kept2, patient(kept2, family="Kept2")),
                              base, "Patient", kept2, 1, 201)

    resp = fhir.bundle(bundle(
        "transaction",
        put_entry(patient(fresh)),                                            # entry[0]
        post_entry(group(None, [(ID_SYSTEM, group_value)], name="Rolled back")),  # entry[1]
        _bad_entry(kind, new_id),                                             # entry[2]
        put_entry(coverage(cid, f"Patient/{fresh}")),                         # entry[3]
        put_entry(patient(kept, family="Changed")),                           # entry[4]
        delete_entry("Patient", kept2),                                       # entry[5]
    ))
    assert_outcome(resp, 400, None, "entry[2]")

    assert_absent(fhir, "Patient", fresh)
    assert_absent(fhir, "Coverage", cid)
    assert search_group_total(fhir, ID_SYSTEM, group_value) == 0
    assert fhir_json(fhir.get("Patient", kept), 200) == original
    assert fhir_json(fhir.get("Patient", kept2), 200) == original2


def test_empty_transaction(fhir):
    body = fhir_json(fhir.bundle({"resourceType": "Bundle", "type": "transaction"}), 200)
    assert body["resourceType"] == "Bundle"
    assert body["type"] == "transaction-response"
    assert entries(body) == []


# --- batch ----------------------------------------------------------------------------------


def test_batch_entries_are_independent(fhir, new_id):
    good1, bad1, bad2 = new_id(), new_id(), new_id()
    posted = patient(None, family="BatchPosted")
    resp = fhir.bundle(bundle(
        "batch",
        put_entry(patient(good1, family="BatchPut")),                          # entry[0]
        {"resource": {"resourceType": "Bogus", "id": bad1},                     # entry[1]
         "request": {"method": "PUT", "url": f"Patient/{bad1}"}},
        post_entry(posted),                                                    # entry[2]
        {"resource": patient(new_id()),                                        # entry[3]
         "request": {"method": "PUT", "url": f"Patient/{bad2}"}},
    ))
    body = fhir_json(resp, 200)
    assert body["resourceType"] == "Bundle"
    assert body["type"] == "batch-response"
    out = entries(body)
    assert len(out) == 4

    assert_write_response(out[0], "201 Created", "Patient", good1, 1)
    new = assert_write_response(out[2], "201 Created", "Patient", None, 1)
    for bad in (out[1], out[3]):
        assert bad["response"]["status"].startswith("400"), bad
        outcome = bad["response"]["outcome"]
        assert outcome["resourceType"] == "OperationOutcome", bad
        assert outcome["issue"][0]["severity"] == "error", bad

    assert fhir_json(fhir.get("Patient", good1), 200)["name"][0]["family"] == "BatchPut"
    assert without_server_meta(fhir_json(fhir.get("Patient", new), 200)) == {**posted, "id": new}
    assert_absent(fhir, "Patient", bad1)
    assert_absent(fhir, "Patient", bad2)


def test_batch_update_and_delete(fhir, base, new_id):
    pid, gone = new_id(), new_id()
    assert_stored(fhir.put("Patient", pid, patient(pid)), base, "Patient", pid, 1, 201)
    assert_stored(fhir.put("Patient", gone, patient(gone)), base, "Patient", gone, 1, 201)
    resp = fhir.bundle(bundle("batch", put_entry(patient(pid, family="V2")),
                              delete_entry("Patient", gone)))
    out = entries(fhir_json(resp, 200))
    assert len(out) == 2
    assert_write_response(out[0], "200 OK", "Patient", pid, 2)
    assert out[1]["response"]["status"] == "204 No Content", out[1]
    assert fhir_json(fhir.get("Patient", pid), 200)["name"][0]["family"] == "V2"
    assert_outcome(fhir.get("Patient", gone), 410, "deleted")


# --- not a transaction or batch -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["collection", "searchset", "document", "message"])
def test_other_bundle_types_are_400_invalid(fhir, new_id, kind):
    pid = new_id()
    resp = fhir.bundle(bundle(kind, put_entry(patient(pid))))
    assert_outcome(resp, 400, "invalid", "transaction")
    assert_absent(fhir, "Patient", pid)


def test_non_bundle_body_is_400_invalid(fhir, new_id):
    pid = new_id()
    assert_outcome(fhir.bundle(patient(pid)), 400, "invalid")
    assert_absent(fhir, "Patient", pid)
