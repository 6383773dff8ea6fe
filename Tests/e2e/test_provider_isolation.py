"""Provider isolation on every route (README "Access model"): two providers, each registered for
its own attribution list, and one admin, over real HTTPS. A provider sees its own Groups (read,
search, history), the Patients, Coverages and RelatedPersons an export of its Groups would
contain now, and provider-directory data; everything else answers exactly as if it did not
exist (404). Consent is never a provider's; writes, Bundles and the audit trail are 403 for
providers. Scopes apply on top (403 naming the scope)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests

from export_support import kickoff_get
from fhir_support import Fhir, coverage, describe, group, minimal, new_id, patient
from security_support import Client, assert_forbidden, assert_not_found, base_url, ca, register_new

COVERAGE_REFERENCE = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-coverageReference"
ATTRIBUTED_PROVIDER = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-attributedProvider"
READ = "system/*.read"
READ_WRITE = "system/*.read system/*.write"


@dataclass
class World:
    """Two attribution lists and what hangs off them, written by the admin."""
    prefix: str
    group_a: str
    group_b: str
    plain_group: str
    member_a: str
    opted_out_a: str
    inactive_plain: str
    member_b: str
    outsider: str
    coverage_a: str
    referenced_coverage_a: str
    coverage_b: str
    related_a: str
    related_b: str
    consent_a: str
    practitioner: str
    organization: str
    provider_a: Client
    provider_b: Client
    admin: Client


def put(fhir: Fhir, rtype: str, rid: str, body: dict) -> None:
    resp = fhir.put(rtype, rid, body)
    assert resp.status_code in (200, 201), describe(resp)


@pytest.fixture(scope="module")
def world(fhir: Fhir) -> World:
    p = new_id("iso")
    ids = {name: f"{p}-{name}" for name in
           ["ga", "gb", "gp", "ma", "oa", "ip", "mb", "out", "ca", "cra", "cb", "ra", "rb", "consent", "prac", "org"]}
    put(fhir, "Practitioner", ids["prac"], minimal("Practitioner", ids["prac"]))
    put(fhir, "Organization", ids["org"], minimal("Organization", ids["org"]))
    for name in ["ma", "oa", "ip", "mb", "out"]:
        put(fhir, "Patient", ids[name], patient(ids[name], family=f"Iso {name}"))
    put(fhir, "Coverage", ids["ca"], coverage(ids["ca"], f"Patient/{ids['ma']}"))
    # Points at no member; listed only through the member's ext-coverageReference.
    put(fhir, "Coverage", ids["cra"], coverage(ids["cra"], f"Patient/{ids['out']}"))
    put(fhir, "Coverage", ids["cb"], coverage(ids["cb"], f"Patient/{ids['mb']}"))
    for rel, pat in [("ra", "ma"), ("rb", "mb")]:
        put(fhir, "RelatedPerson", ids[rel], {"resourceType": "RelatedPerson", "id": ids[rel],
                                              "patient": {"reference": f"Patient/{ids[pat]}"}, "name": [{"family": "Kin"}]})
    consent = minimal("Consent", ids["consent"])
    consent["patient"] = {"reference": f"Patient/{ids['oa']}"}
    put(fhir, "Consent", ids["consent"], consent)

    def member(pid: str, **extra) -> dict:
        return {"entity": {"reference": f"Patient/{pid}"}, **extra}

    put(fhir, "Group", ids["ga"], group(ids["ga"], name=f"{p} list A") | {
        "member": [
            member(ids["ma"], extension=[
                {"url": COVERAGE_REFERENCE, "valueReference": {"reference": f"Coverage/{ids['cra']}"}},
                {"url": ATTRIBUTED_PROVIDER, "valueReference": {"reference": f"Practitioner/{ids['prac']}"}}]),
            member(ids["oa"]),
        ]})
    put(fhir, "Group", ids["gb"], group(ids["gb"], name=f"{p} list B", members=[f"Patient/{ids['mb']}"]))
    # Not an ATR list: an inactive member is not exported, so not readable either.
    plain = group(ids["gp"], name=f"{p} plain", members=[])
    plain["meta"] = {"tag": [{"code": "plain"}]}
    plain["member"] = [member(ids["ip"], inactive=True)]
    put(fhir, "Group", ids["gp"], plain)
    return World(prefix=p, group_a=ids["ga"], group_b=ids["gb"], plain_group=ids["gp"], member_a=ids["ma"],
                 opted_out_a=ids["oa"], inactive_plain=ids["ip"], member_b=ids["mb"], outsider=ids["out"],
                 coverage_a=ids["ca"], referenced_coverage_a=ids["cra"], coverage_b=ids["cb"], related_a=ids["ra"],
                 related_b=ids["rb"], consent_a=ids["consent"], practitioner=ids["prac"], organization=ids["org"],
                 provider_a=register_new("iso-a", READ_WRITE, groups=[ids["ga"], ids["gp"]]),
                 provider_b=register_new("iso-b", READ, groups=[ids["gb"]]),
                 admin=register_new("iso-admin", READ_WRITE, groups=[], role="admin"))


def call(client: Client, method: str, path: str, scope: str | None = None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {client.token(scope)}", "Accept": "application/fhir+json", **kwargs.pop("headers", {})}
    return requests.request(method, f"{base_url()}/{path}", headers=headers, verify=ca(), timeout=60, **kwargs)


def assert_read(client: Client, rtype: str, rid: str) -> dict:
    resp = call(client, "GET", f"{rtype}/{rid}")
    assert resp.status_code == 200, describe(resp)
    body = resp.json()
    assert (body["resourceType"], body["id"]) == (rtype, rid)
    return body


def assert_hidden(client: Client, path: str, rtype: str, rid: str) -> None:
    """404 with exactly the body an id that never existed gets."""
    resp = call(client, "GET", path)
    body = assert_not_found(resp, f"{rtype}/{rid} is not known")
    never = call(client, "GET", path.replace(rid, f"{rid}-never"))
    assert never.status_code == 404, describe(never)
    assert never.json() == {**body, "issue": [{**body["issue"][0], "diagnostics": body["issue"][0]["diagnostics"].replace(rid, f"{rid}-never")}]}


SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED", "display": "subsetted"}


def test_a_provider_reads_its_own_group_and_never_another(world: World):
    # As the export gives it: without the member who opted out, so the list never says who did.
    group_a = assert_read(world.provider_a, "Group", world.group_a)
    assert [m["entity"]["reference"] for m in group_a["member"]] == [f"Patient/{world.member_a}"]
    assert SUBSETTED in group_a["meta"]["tag"]
    stored = assert_read(world.admin, "Group", world.group_a)
    assert [m["entity"]["reference"] for m in stored["member"]] == [f"Patient/{world.member_a}", f"Patient/{world.opted_out_a}"]
    assert "tag" not in stored["meta"]
    assert "tag" not in assert_read(world.provider_b, "Group", world.group_b)["meta"], "nothing removed, nothing tagged"
    assert_hidden(world.provider_a, f"Group/{world.group_b}", "Group", world.group_b)
    assert_hidden(world.provider_b, f"Group/{world.group_a}", "Group", world.group_a)
    assert_read(world.admin, "Group", world.group_b)


def test_a_group_search_lists_only_the_providers_groups(world: World):
    def names(client: Client) -> list[str]:
        resp = call(client, "GET", "Group", params={"name": world.prefix})
        assert resp.status_code == 200, describe(resp)
        bundle = resp.json()
        assert bundle["total"] == len(bundle.get("entry", []))
        return sorted(e["resource"]["id"] for e in bundle.get("entry", []))

    assert names(world.provider_a) == sorted([world.group_a, world.plain_group])
    resp = call(world.provider_a, "GET", "Group", params={"name": f"{world.prefix} list A"})
    (listed,) = [e["resource"] for e in resp.json()["entry"]]
    assert [m["entity"]["reference"] for m in listed["member"]] == [f"Patient/{world.member_a}"], "search results are subsetted alike"
    assert names(world.provider_b) == [world.group_b]
    assert names(world.admin) == sorted([world.group_a, world.group_b, world.plain_group])


def test_group_search_totals_counts_and_pages_hold_only_the_providers_groups(world: World):
    def count(client: Client) -> int:
        resp = call(client, "GET", "Group", params={"name": world.prefix, "_summary": "count"})
        assert resp.status_code == 200, describe(resp)
        assert "entry" not in resp.json(), describe(resp)
        return resp.json()["total"]

    assert (count(world.provider_a), count(world.provider_b), count(world.admin)) == (2, 1, 3)

    def pages(client: Client) -> tuple[list[list[str]], set[int]]:
        resp = call(client, "GET", "Group", params={"name": world.prefix, "_count": "1", "_summary": "true"})
        seen, totals = [], set()
        while True:
            assert resp.status_code == 200, describe(resp)
            bundle = resp.json()
            totals.add(bundle["total"])
            seen.append([e["resource"]["id"] for e in bundle.get("entry", [])])
            assert all("member" not in e["resource"] for e in bundle.get("entry", [])), bundle
            following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
            if not following:
                return seen, totals
            resp = requests.get(following[0], headers={"Authorization": f"Bearer {client.token()}", "Accept": "application/fhir+json"},
                                verify=ca(), timeout=60)

    assert pages(world.provider_a) == ([[id] for id in sorted([world.group_a, world.plain_group])], {2})
    assert pages(world.provider_b) == ([[world.group_b]], {1})


def test_group_history_and_version_reads_follow_the_same_rule(world: World):
    resp = call(world.provider_a, "GET", f"Group/{world.group_a}/_history")
    assert resp.status_code == 200, describe(resp)
    bundle = resp.json()
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "history")
    assert [e["resource"]["id"] for e in bundle["entry"]] == [world.group_a]
    assert all(len(e["resource"]["member"]) == 1 for e in bundle["entry"]), "every version without the opted-out member"
    version = bundle["entry"][0]["resource"]["meta"]["versionId"]
    resp = call(world.provider_a, "GET", f"Group/{world.group_a}/_history/{version}")
    assert resp.status_code == 200 and resp.json()["id"] == world.group_a, describe(resp)
    assert_hidden(world.provider_a, f"Group/{world.group_b}/_history", "Group", world.group_b)
    assert_hidden(world.provider_a, f"Group/{world.group_b}/_history/1", "Group", world.group_b)
    assert call(world.admin, "GET", f"Group/{world.group_b}/_history").status_code == 200


def test_patients_only_as_members_of_the_providers_groups_who_did_not_opt_out(world: World):
    assert_read(world.provider_a, "Patient", world.member_a)
    assert_read(world.provider_b, "Patient", world.member_b)
    assert_hidden(world.provider_a, f"Patient/{world.opted_out_a}", "Patient", world.opted_out_a)
    assert_hidden(world.provider_a, f"Patient/{world.member_b}", "Patient", world.member_b)
    assert_hidden(world.provider_b, f"Patient/{world.member_a}", "Patient", world.member_a)
    assert_hidden(world.provider_a, f"Patient/{world.outsider}", "Patient", world.outsider)
    assert_hidden(world.provider_a, f"Patient/{world.inactive_plain}", "Patient", world.inactive_plain)
    assert call(world.provider_a, "GET", f"Patient/{world.member_a}/_history").status_code == 200
    for pid in [world.opted_out_a, world.outsider, world.member_b]:
        assert_read(world.admin, "Patient", pid)


def test_coverage_and_related_person_as_the_export_follows_them(world: World):
    # Redacted as the export redacts it (money amounts), unlike the admin's read.
    assert "costToBeneficiary" not in assert_read(world.provider_a, "Coverage", world.coverage_a)
    assert "costToBeneficiary" in assert_read(world.admin, "Coverage", world.coverage_a)
    assert_read(world.provider_a, "Coverage", world.referenced_coverage_a)
    assert_read(world.provider_b, "Coverage", world.coverage_b)
    assert_hidden(world.provider_b, f"Coverage/{world.coverage_a}", "Coverage", world.coverage_a)
    assert_hidden(world.provider_b, f"Coverage/{world.referenced_coverage_a}", "Coverage", world.referenced_coverage_a)
    assert_hidden(world.provider_a, f"Coverage/{world.coverage_b}", "Coverage", world.coverage_b)
    assert_read(world.provider_a, "RelatedPerson", world.related_a)
    assert_hidden(world.provider_a, f"RelatedPerson/{world.related_b}", "RelatedPerson", world.related_b)
    assert_hidden(world.provider_b, f"RelatedPerson/{world.related_a}", "RelatedPerson", world.related_a)


def test_consent_is_never_readable_by_a_provider(world: World):
    assert_hidden(world.provider_a, f"Consent/{world.consent_a}", "Consent", world.consent_a)
    assert_hidden(world.provider_b, f"Consent/{world.consent_a}", "Consent", world.consent_a)
    assert_read(world.admin, "Consent", world.consent_a)


def test_directory_data_is_readable_with_the_scope(world: World):
    for client in (world.provider_a, world.provider_b, world.admin):
        assert_read(client, "Practitioner", world.practitioner)
        assert_read(client, "Organization", world.organization)
    resp = call(world.provider_b, "GET", f"Organization/{world.organization}", scope="system/Group.read")
    assert_forbidden(resp, "Organization (e.g. scope system/Organization.read)")


def test_a_narrowed_scope_is_named_before_anything_is_revealed(world: World):
    narrow = "system/Group.read"
    assert_forbidden(call(world.provider_a, "GET", f"Patient/{world.member_a}", scope=narrow), "Patient")
    assert_forbidden(call(world.provider_a, "GET", f"Patient/{world.member_b}", scope=narrow), "Patient")
    assert_forbidden(call(world.provider_a, "GET", f"Group/{world.group_b}", scope="system/Patient.read"), "Group")


def test_providers_cannot_write_even_with_write_scopes(world: World):
    body = patient(world.member_a, family="Changed")
    resp = call(world.provider_a, "PUT", f"Patient/{world.member_a}", json=body,
                headers={"Content-Type": "application/fhir+json"})
    assert_forbidden(resp, "Provider clients cannot change data")
    resp = call(world.provider_a, "DELETE", f"Patient/{world.member_a}")
    assert_forbidden(resp, "Provider clients cannot change data")
    resp = call(world.provider_a, "POST", "Patient", json=patient(None), headers={"Content-Type": "application/fhir+json"})
    assert_forbidden(resp, "Provider clients cannot change data")
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": patient(None), "request": {"method": "POST", "url": "Patient"}}]}
    resp = requests.post(base_url(), json=bundle, verify=ca(), timeout=60,
                         headers={"Authorization": f"Bearer {world.provider_a.token()}", "Content-Type": "application/fhir+json"})
    assert_forbidden(resp, "Provider clients cannot change data")
    # Without the write scope too, and alike for an existing and a new id (create vs update
    # must not tell a provider what exists).
    for pid in (world.member_b, f"{world.member_b}-never", world.consent_a):
        resp = call(world.provider_b, "PUT", f"Patient/{pid}", json=patient(pid), headers={"Content-Type": "application/fhir+json"})
        assert_forbidden(resp, "Provider clients cannot change data")
    assert assert_read(world.admin, "Patient", world.member_a)["name"][0]["family"] == "Iso ma", "nothing was changed"
    resp = call(world.admin, "PUT", f"Organization/{world.organization}", json=minimal("Organization", world.organization),
                headers={"Content-Type": "application/fhir+json"})
    assert resp.status_code == 200, describe(resp)


def test_the_audit_trail_is_for_admins_only(world: World):
    assert_forbidden(call(world.provider_a, "GET", "AuditEvent"), "admin clients only")
    resp = call(world.admin, "GET", "AuditEvent", params={"_count": "1"})
    assert resp.status_code == 200, describe(resp)
    assert resp.json()["type"] == "searchset"


def test_a_provider_cannot_export_or_probe_another_providers_group(world: World):
    resp = kickoff_get(world.provider_b.session(), base_url(), world.group_a)
    body = assert_not_found(resp, f"Group/{world.group_a} is not known")
    never = kickoff_get(world.provider_b.session(), base_url(), f"{world.group_a}-never")
    assert_not_found(never, f"Group/{world.group_a}-never is not known")
    assert body["issue"][0]["code"] == never.json()["issue"][0]["code"]
    resp = kickoff_get(world.provider_a.session(), base_url(), world.group_a)
    assert resp.status_code == 202, describe(resp)


def test_membership_is_decided_now_not_once(world: World, fhir: Fhir):
    """A member who opts out after a read is hidden from the next read."""
    pid = new_id("iso-late")
    put(fhir, "Patient", pid, patient(pid))
    gid = new_id("iso-late-g")
    put(fhir, "Group", gid, group(gid, name="late", members=[f"Patient/{pid}"]))
    client = register_new("iso-late", READ, groups=[gid])
    assert_read(client, "Patient", pid)
    consent = minimal("Consent", f"{pid}-c")
    consent["patient"] = {"reference": f"Patient/{pid}"}
    put(fhir, "Consent", f"{pid}-c", consent)
    assert_hidden(client, f"Patient/{pid}", "Patient", pid)
