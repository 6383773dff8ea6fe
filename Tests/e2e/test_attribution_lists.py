"""An attribution list through its life (README "Attribution lists"): the admin creates a draft
list; its provider adds members by memberId + providerNpi and by references, removes one (in a
draft list it stays listed, inactive), two concurrent additions both land, the list is
confirmed (final) and then refuses changes; `$attribution-status` answers for a member and 404
for anyone else; every version of the Group is readable through `_history`."""
from __future__ import annotations

import threading

import pytest
import requests

from fhir_support import Fhir, coverage, describe, minimal, new_id, patient
from security_support import Client, base_url, ca, register_new

STATUS = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-attributionListStatus"
CHANGE_TYPE = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-changeType"
ATTRIBUTED_PROVIDER = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-attributedProvider"
MEMBER_IDS = "http://example.org/atr-e2e/member-ids"
NPI = "http://hl7.org/fhir/sid/us-npi"


def put(fhir: Fhir, rtype: str, rid: str, body: dict) -> None:
    resp = fhir.put(rtype, rid, body)
    assert resp.status_code in (200, 201), describe(resp)


def parameters(**values: dict) -> dict:
    return {"resourceType": "Parameters", "parameter": [{"name": name, **value} for name, value in values.items()]}


def member_id(value: str) -> dict:
    return {"valueIdentifier": {"system": MEMBER_IDS, "value": value}}


def npi(value: str) -> dict:
    return {"valueIdentifier": {"system": NPI, "value": value}}


def ref(reference: str) -> dict:
    return {"valueReference": {"reference": reference}}


def operation(client: Client, group_id: str, name: str, body: dict | None = None, method: str = "POST") -> requests.Response:
    return requests.request(method, f"{base_url()}/Group/{group_id}/${name}", json=body if body is not None else parameters(),
                            headers={"Authorization": f"Bearer {client.token()}", "Content-Type": "application/fhir+json",
                                     "Accept": "application/fhir+json"}, verify=ca(), timeout=60)


def read_group(client: Client, group_id: str) -> dict:
    resp = requests.get(f"{base_url()}/Group/{group_id}", headers={"Authorization": f"Bearer {client.token()}"},
                        verify=ca(), timeout=60)
    assert resp.status_code == 200, describe(resp)
    return resp.json()


def members(group: dict) -> list[tuple[str, bool, str | None]]:
    """(patient reference, inactive, changeType) per member element, in order."""
    out = []
    for element in group.get("member", []):
        change = next((e["valueCode"] for e in element.get("extension", []) if e["url"] == CHANGE_TYPE), None)
        out.append((element["entity"]["reference"], element.get("inactive", False), change))
    return out


def status_of(group: dict) -> str:
    return next(e["valueCode"] for e in group["extension"] if e["url"] == STATUS)


def assert_outcome(resp: requests.Response, status: int, code: str, mentions: str = "") -> None:
    assert resp.status_code == status, describe(resp)
    issue = resp.json()["issue"][0]
    assert issue["code"] == code, describe(resp)
    assert mentions in issue["diagnostics"], describe(resp)


@pytest.fixture(scope="module")
def life(fhir: Fhir) -> dict:
    p = new_id("list")
    ids = {n: f"{p}-{n}" for n in ["p1", "p2", "p3", "p4", "p5", "out", "prac", "org", "twin1", "twin2", "list", "other"]}
    for n in ["p1", "p2", "p3", "p4", "p5", "out"]:
        put(fhir, "Patient", ids[n], patient(ids[n], identifier=[{"system": MEMBER_IDS, "value": f"M-{ids[n]}"}]))
    put(fhir, "Coverage", f"{ids['p2']}-cov", coverage(f"{ids['p2']}-cov", f"Patient/{ids['p2']}"))
    practitioner = minimal("Practitioner", ids["prac"])
    practitioner["identifier"] = [{"system": NPI, "value": f"9{p[-9:]}"}]
    put(fhir, "Practitioner", ids["prac"], practitioner)
    organization = minimal("Organization", ids["org"])
    organization["identifier"] = [{"system": NPI, "value": f"8{p[-9:]}"}]
    put(fhir, "Organization", ids["org"], organization)
    for twin in ["twin1", "twin2"]:
        body = minimal("Practitioner", ids[twin])
        body["identifier"] = [{"system": NPI, "value": f"7{p[-9:]}"}]
        put(fhir, "Practitioner", ids[twin], body)
    consent = minimal("Consent", f"{ids['p5']}-optout")
    consent["patient"] = {"reference": f"Patient/{ids['p5']}"}
    put(fhir, "Consent", consent["id"], consent)
    for gid in (ids["list"], ids["other"]):
        put(fhir, "Group", gid, {"resourceType": "Group", "id": gid, "type": "person", "actual": True, "name": f"{p} {gid}",
                                 "extension": [{"url": STATUS, "valueCode": "draft"}]})
    provider = register_new("list-prov", "system/*.read system/Group.write", groups=[ids["list"]])
    reader = register_new("list-reader", "system/*.read", groups=[ids["list"]])
    stranger = register_new("list-stranger", "system/*.read system/Group.write", groups=[ids["other"]])
    return {"ids": ids, "provider": provider, "reader": reader, "stranger": stranger, "prac_npi": f"9{p[-9:]}",
            "org_npi": f"8{p[-9:]}", "twin_npi": f"7{p[-9:]}", "versions": []}


def test_the_list_life_cycle(life):
    ids, provider = life["ids"], life["provider"]
    gid = ids["list"]
    assert status_of(read_group(provider, gid)) == "draft"

    resp = operation(provider, gid, "member-add", parameters(memberId=member_id(f"M-{ids['p1']}"), providerNpi=npi(life["prac_npi"])))
    assert_outcome(resp, 200, "informational", f"Patient/{ids['p1']} is attributed to Practitioner/{ids['prac']}")
    assert resp.headers["ETag"] == 'W/"2"'
    group = read_group(provider, gid)
    assert members(group) == [(f"Patient/{ids['p1']}", False, "new")]
    assert group["member"][0]["extension"][1] == {"url": ATTRIBUTED_PROVIDER, "valueReference": {"reference": f"Practitioner/{ids['prac']}"}}

    period = {"start": "2026-01-01", "end": "2026-12-31"}
    resp = operation(provider, gid, "member-add", parameters(patientReference=ref(f"Patient/{ids['p2']}"),
                                                             providerReference=ref(f"Organization/{ids['org']}"),
                                                             attributionPeriod={"valuePeriod": period}))
    assert_outcome(resp, 200, "informational")
    group = read_group(provider, gid)
    assert members(group)[1] == (f"Patient/{ids['p2']}", False, "new")
    assert group["member"][1]["period"] == period

    resp = operation(provider, gid, "member-remove", parameters(patientReference=ref(f"Patient/{ids['p1']}")))
    assert_outcome(resp, 200, "informational", "marked inactive (draft list)")
    assert members(read_group(provider, gid))[0] == (f"Patient/{ids['p1']}", True, "dropped"), "a draft list keeps it, inactive"

    results: list[requests.Response] = []
    def add(pid: str) -> None:
        results.append(operation(provider, gid, "member-add", parameters(patientReference=ref(f"Patient/{pid}"),
                                                                         providerNpi=npi(life["org_npi"]))))
    threads = [threading.Thread(target=add, args=(ids[n],)) for n in ("p3", "p4")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200, 200], [describe(r) for r in results]
    listed = [m[0] for m in members(read_group(provider, gid))]
    assert sorted(listed[2:]) == sorted([f"Patient/{ids['p3']}", f"Patient/{ids['p4']}"]), "both concurrent additions landed"

    resp = operation(provider, gid, "confirm-attribution-list")
    assert_outcome(resp, 201, "informational", "is final")
    group = read_group(provider, gid)
    assert status_of(group) == "final"
    assert f"Patient/{ids['p1']}" not in [m[0] for m in members(group)], "a final list keeps only its active members"

    resp = operation(provider, gid, "member-add", parameters(patientReference=ref(f"Patient/{ids['p5']}"),
                                                             providerReference=ref(f"Practitioner/{ids['prac']}")))
    assert_outcome(resp, 422, "business-rule", "is final")
    resp = operation(provider, gid, "member-remove", parameters(patientReference=ref(f"Patient/{ids['p2']}")))
    assert_outcome(resp, 422, "business-rule", "is final")

    # Every version is kept: created, two additions, the removal, two concurrent additions, final.
    history = requests.get(f"{base_url()}/Group/{gid}/_history", headers={"Authorization": f"Bearer {provider.token()}"},
                           verify=ca(), timeout=60).json()
    versions = [int(e["resource"]["meta"]["versionId"]) for e in history["entry"]]
    assert versions == [7, 6, 5, 4, 3, 2, 1] and history["total"] == 7
    for entry in history["entry"]:
        version = entry["resource"]["meta"]["versionId"]
        resp = requests.get(f"{base_url()}/Group/{gid}/_history/{version}", headers={"Authorization": f"Bearer {provider.token()}"},
                            verify=ca(), timeout=60)
        assert resp.status_code == 200 and resp.json() == entry["resource"], describe(resp)
    assert status_of(history["entry"][-1]["resource"]) == "draft" and "member" not in history["entry"][-1]["resource"]


def test_attribution_status_answers_for_a_member_only(life):
    ids, reader = life["ids"], life["reader"]
    gid = ids["list"]
    resp = operation(reader, gid, "attribution-status", parameters(memberId=member_id(f"M-{ids['p2']}")))
    assert resp.status_code == 200, describe(resp)
    bundle = resp.json()
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    got = [(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]]
    assert got == [("Patient", ids["p2"]), ("Coverage", f"{ids['p2']}-cov"), ("Organization", ids["org"])]
    assert "costToBeneficiary" not in bundle["entry"][1]["resource"], "redacted as the export redacts"
    by_reference = operation(reader, gid, "attribution-status", parameters(patientReference=ref(f"Patient/{ids['p2']}")))
    assert [e["resource"]["id"] for e in by_reference.json()["entry"]] == [i for _, i in got]
    # One answer for a non-member, a removed member, an unknown memberId and an unknown Patient.
    answers = []
    for given in (parameters(patientReference=ref(f"Patient/{ids['out']}")), parameters(patientReference=ref(f"Patient/{ids['p1']}")),
                  parameters(memberId=member_id("M-nobody")), parameters(patientReference=ref(f"Patient/{ids['p1']}-never"))):
        resp = operation(reader, gid, "attribution-status", given)
        assert_outcome(resp, 404, "not-found", f"No exported member of Group/{gid} matches")
        answers.append(resp.json())
    assert all(answer == answers[0] for answer in answers)


def test_an_opted_out_member_has_no_attribution_status(life, fhir):
    ids = life["ids"]
    gid = new_id("list-open")
    put(fhir, "Group", gid, {"resourceType": "Group", "id": gid, "type": "person", "actual": True,
                             "extension": [{"url": STATUS, "valueCode": "open"}]})
    admin_like = register_new("list-open", "system/*.read system/Group.write", groups=[gid])
    resp = operation(admin_like, gid, "member-add", parameters(patientReference=ref(f"Patient/{ids['p5']}"),
                                                               providerReference=ref(f"Practitioner/{ids['prac']}")))
    assert resp.status_code == 200, describe(resp)
    resp = operation(admin_like, gid, "attribution-status", parameters(patientReference=ref(f"Patient/{ids['p5']}")))
    assert_outcome(resp, 404, "not-found", f"No exported member of Group/{gid} matches")
    # An open list removes a member outright.
    resp = operation(admin_like, gid, "member-remove", parameters(patientReference=ref(f"Patient/{ids['p5']}"),
                                                                  providerReference=ref(f"Practitioner/{ids['prac']}")))
    assert_outcome(resp, 200, "informational", "removed")
    assert "member" not in read_group(admin_like, gid)


def test_bad_requests_name_the_problem(life):
    ids = life["ids"]
    gid = ids["other"]
    stranger = life["stranger"]
    resp = operation(stranger, gid, "member-add", parameters(memberId=member_id("M-nobody"), providerNpi=npi(life["prac_npi"])))
    assert_outcome(resp, 422, "not-found", "memberId http://example.org/atr-e2e/member-ids|M-nobody matches no Patient")
    resp = operation(stranger, gid, "member-add", parameters(patientReference=ref(f"Patient/{ids['p3']}"), providerNpi=npi(life["twin_npi"])))
    assert_outcome(resp, 422, "multiple-matches", "is ambiguous: it matches 2 resources")
    assert ids["twin1"] not in resp.text and ids["twin2"] not in resp.text, "how many, never which"
    resp = operation(stranger, gid, "member-add", parameters(patientReference=ref(f"Patient/{ids['p3']}")))
    assert_outcome(resp, 400, "required", "providerNpi or providerReference")
    resp = operation(stranger, gid, "member-add", parameters(memberId=member_id("x"), patientReference=ref(f"Patient/{ids['p3']}"),
                                                             providerNpi=npi("1")))
    assert_outcome(resp, 400, "invalid", "exactly one of memberId and patientReference")
    resp = operation(stranger, gid, "member-add", parameters(patientReference=ref(f"Patient/{ids['p3']}"), providerNpi=npi(life["prac_npi"]),
                                                             coverageReference=ref("Coverage/x")))
    assert_outcome(resp, 400, "not-supported", "has no parameter 'coverageReference'")
    resp = operation(stranger, gid, "member-remove", parameters(patientReference=ref(f"Patient/{ids['p3']}")))
    assert_outcome(resp, 422, "business-rule", "has no matching attribution")
    assert_outcome(operation(stranger, gid, "member-add", method="GET"), 405, "not-supported")
    # Another provider's list is as if it did not exist; a reader cannot change its own.
    resp = operation(stranger, ids["list"], "member-add", parameters(patientReference=ref(f"Patient/{ids['p3']}"),
                                                                     providerNpi=npi(life["prac_npi"])))
    assert_outcome(resp, 404, "not-found", f"Group/{ids['list']} is not known")
    resp = operation(life["reader"], ids["list"], "member-remove", parameters(patientReference=ref(f"Patient/{ids['p2']}")))
    assert_outcome(resp, 403, "forbidden", "system/Group.write")


def test_every_version_of_a_resource_is_kept(fhir):
    pid = new_id("hist")
    put(fhir, "Patient", pid, patient(pid, family="One"))
    put(fhir, "Patient", pid, patient(pid, family="Two"))
    assert fhir.delete("Patient", pid).status_code == 204
    put(fhir, "Patient", pid, patient(pid, family="Four"))
    history = fhir.get("Patient", f"{pid}/_history").json()
    assert [(e["request"]["method"], e.get("resource", {}).get("name", [{}])[0].get("family")) for e in history["entry"]] == [
        ("PUT", "Four"), ("DELETE", None), ("PUT", "Two"), ("POST", "One")]
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"4"', 'W/"3"', 'W/"2"', 'W/"1"']
    assert fhir.get("Patient", f"{pid}/_history/2").json()["name"][0]["family"] == "Two"
    assert fhir.get("Patient", f"{pid}/_history/3").status_code == 410
    assert fhir.get("Patient", f"{pid}/_history/9").status_code == 404


def test_every_list_change_is_in_the_audit_trail(life):
    ids, provider = life["ids"], life["provider"]
    admin = register_new("list-auditor", "system/*.read", groups=[], role="admin")
    resp = requests.get(f"{base_url()}/AuditEvent", params={"agent": provider.client_id, "type": "list-change"},
                        headers={"Authorization": f"Bearer {admin.token()}"}, verify=ca(), timeout=60)
    assert resp.status_code == 200, describe(resp)
    events = [e["resource"] for e in resp.json()["entry"]]
    outcomes = [e["outcome"] for e in events]
    # Two additions, a removal, two concurrent additions, the confirmation (0); then two refusals (4).
    assert outcomes == ["0"] * 6 + ["4", "4"], outcomes
    first = [entity["what"]["reference"] for entity in events[0]["entity"]]
    assert first == [f"Group/{ids['list']}", f"Patient/{ids['p1']}", f"Practitioner/{ids['prac']}"]
