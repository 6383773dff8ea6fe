"""GET {base}/Group?... (searchset Bundles): identifier, name, characteristic,
characteristic-value, managing-entity, period, _summary, _count and next links.

Each test creates its own Groups with identifier values and name prefixes unique to the
test, and only asserts about those, so the sample data in the database does not matter.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import pytest
from fhir.resources.R4B.group import Group

from fhir_support import (
    ID_SYSTEM, assert_outcome, assert_status, assert_stored, entries, fhir_json, group, new_id,
)

OTHER_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"


def make_group(fhir, base, gid, identifiers=(), name=None) -> dict:
    sent = group(gid, identifiers, name=name)
    return assert_stored(fhir.put("Group", gid, sent), base, "Group", gid, 1, 201, sent)


def search(fhir, base, params) -> dict:
    """Run a search and check the searchset shape; returns the Bundle."""
    body = fhir_json(fhir.search_groups(params), 200)
    assert body["resourceType"] == "Bundle"
    assert body["type"] == "searchset"
    found = entries(body)
    assert body["total"] == len(found), body
    for entry in found:
        res = entry["resource"]
        assert res["resourceType"] == "Group", entry
        assert entry["fullUrl"] == f"{base}/Group/{res['id']}", entry
        assert entry["search"]["mode"] == "match", entry
    return body


def ids(body: dict) -> set[str]:
    return {e["resource"]["id"] for e in entries(body)}


def test_identifier_system_and_value(fhir, base, new_id):
    gid, other = new_id(), new_id()
    value = new_id("gv")
    stored = make_group(fhir, base, gid, [(ID_SYSTEM, value), (OTHER_SYSTEM, new_id("x"))],
                        name="Search by identifier")
    make_group(fhir, base, other, [(ID_SYSTEM, new_id("gv"))])

    body = search(fhir, base, {"identifier": f"{ID_SYSTEM}|{value}"})
    assert body["total"] == 1
    assert entries(body)[0]["resource"] == stored
    assert entries(body)[0]["fullUrl"] == f"{base}/Group/{gid}"


def test_identifier_second_identifier_matches_too(fhir, base, new_id):
    gid = new_id()
    second = new_id("gv")
    make_group(fhir, base, gid, [(ID_SYSTEM, new_id("gv")), (OTHER_SYSTEM, second)])
    assert ids(search(fhir, base, {"identifier": f"{OTHER_SYSTEM}|{second}"})) == {gid}


def test_identifier_plain_value_matches_any_system(fhir, base, new_id):
    g1, g2 = new_id(), new_id()
    value = new_id("gv")
    make_group(fhir, base, g1, [(ID_SYSTEM, value)])
    make_group(fhir, base, g2, [(OTHER_SYSTEM, value)])
    body = search(fhir, base, {"identifier": value})
    assert body["total"] == 2
    assert ids(body) == {g1, g2}


def test_identifier_wrong_system_or_partial_value_finds_nothing(fhir, base, new_id):
    gid = new_id()
    value = new_id("gv")
    make_group(fhir, base, gid, [(ID_SYSTEM, value)])
    for query in (f"{OTHER_SYSTEM}|{value}", f"{ID_SYSTEM}|{value[:-1]}", value[:-1],
                  f"{ID_SYSTEM}|{value}x"):
        body = search(fhir, base, {"identifier": query})
        assert body["total"] == 0, query
        assert entries(body) == [], query


def test_name_is_case_insensitive_prefix(fhir, base, new_id):
    gid = new_id()
    tag = new_id("Zq").replace("-", "")
    name = f"{tag} Attribution List"
    make_group(fhir, base, gid, [(ID_SYSTEM, new_id("gv"))], name=name)

    for query in (name, tag, tag.lower(), tag.upper(), f"{tag.lower()} attr"):
        assert ids(search(fhir, base, {"name": query})) == {gid}, query
    # Not a prefix: must not match this Group (other Groups may match "Attribution").
    assert gid not in ids(search(fhir, base, {"name": "Attribution List"}))
    assert ids(search(fhir, base, {"name": f"{tag}x"})) == set()


def test_identifier_and_name_combine_with_and(fhir, base, new_id):
    g1, g2 = new_id(), new_id()
    value = new_id("gv")
    tag = new_id("Zq").replace("-", "")
    make_group(fhir, base, g1, [(ID_SYSTEM, value)], name=f"{tag} North")
    make_group(fhir, base, g2, [(OTHER_SYSTEM, value)], name=f"{tag} South")

    assert ids(search(fhir, base, {"identifier": value, "name": f"{tag} n"})) == {g1}
    assert ids(search(fhir, base, {"identifier": f"{OTHER_SYSTEM}|{value}",
                                   "name": tag})) == {g2}
    assert ids(search(fhir, base, {"identifier": f"{ID_SYSTEM}|{value}",
                                   "name": f"{tag} South"})) == set()


def test_search_follows_updates_and_deletes(fhir, base, new_id):
    gid = new_id()
    old, new = new_id("gv"), new_id("gv")
    make_group(fhir, base, gid, [(ID_SYSTEM, old)])
    assert ids(search(fhir, base, {"identifier": f"{ID_SYSTEM}|{old}"})) == {gid}

    sent = group(gid, [(ID_SYSTEM, new)])
    assert_stored(fhir.put("Group", gid, sent), base, "Group", gid, 2, 200, sent)
    assert ids(search(fhir, base, {"identifier": f"{ID_SYSTEM}|{old}"})) == set()
    found = search(fhir, base, {"identifier": f"{ID_SYSTEM}|{new}"})
    assert ids(found) == {gid}
    assert entries(found)[0]["resource"]["meta"]["versionId"] == "2"

    assert_status(fhir.delete("Group", gid), 204)
    assert ids(search(fhir, base, {"identifier": f"{ID_SYSTEM}|{new}"})) == set()


SUPPORTED = "identifier, name, characteristic, characteristic-value, managing-entity, period, _summary, _count, _cursor"


@pytest.mark.parametrize("param", ["bogusparam", "_bogus", "member", "_sort"])
def test_unknown_search_parameter_is_400_not_supported(fhir, param):
    resp = fhir.search_groups({param: "x"})
    assert_outcome(resp, 400, "not-supported", [f"'{param}'", f"supported: {SUPPORTED}"])


@pytest.mark.parametrize("params,mentions", [
    ({"characteristic-value": "code-only"}, ["characteristic-value: 'code-only'", "code$value"]),
    ({"period": "2026-13"}, ["period: '2026-13'"]),
    ({"period": "ap2026"}, ["period: 'ap2026'"]),
    ({"managing-entity": "https://elsewhere.example/fhir/Organization/o"}, ["managing-entity"]),
    ({"_summary": "text"}, ["_summary 'text'"]),
    ({"_count": "0"}, ["_count"]),
    ({"identifier": "a|b|c"}, ["identifier: 'a|b|c'"]),
])
def test_bad_search_values_are_400_naming_the_parameter(fhir, params, mentions):
    resp = fhir.search_groups(params)
    assert resp.status_code == 400, resp.text
    assert_outcome(resp, 400, None, mentions)


# --- discovery parameters over a set of Groups of their own -----------------------------------

CONTRACT_PERIOD = "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-contractValidityPeriod"


@dataclass
class Lists:
    """Five Groups with identifiers in this module's own system `sys`, characteristics in its
    own code system `chars`, managed by its own Organizations, with the contract periods
    a: 2026, b: 2025, c: from 2026-07-01 (open), d: until 2026-03-31 (open start), e: none."""
    sys: str
    chars: str
    org1: str
    org2: str
    a: str
    b: str
    c: str
    d: str
    e: str
    stored: dict


@pytest.fixture(scope="module")
def lists(fhir, base) -> Lists:
    tag = new_id("disc")
    sys, chars, values = f"urn:e2e:{tag}:ids", f"urn:e2e:{tag}:chars", f"urn:e2e:{tag}:values"
    org1, org2 = f"{tag}-org1", f"{tag}-org2"
    ids = {k: f"{tag}-{k}" for k in "abcde"}

    def period(start=None, end=None):
        value = {k: v for k, v in (("start", start), ("end", end)) if v}
        return [{"url": CONTRACT_PERIOD, "valuePeriod": value}]

    def coded(code, value):
        return {"code": {"coding": [{"system": chars, "code": code}]},
                "valueCodeableConcept": {"coding": [{"system": values, "code": value}]}, "exclude": False}

    def flag(code, value, system=chars):
        coding = {"code": code} | ({"system": system} if system else {})
        return {"code": {"coding": [coding]}, "valueBoolean": value, "exclude": False}

    bodies = {
        "a": group(ids["a"], [(sys, "a1")], name=f"{tag} North", members=["Patient/patient-alice"],
                   extension=period("2026-01-01", "2026-12-31"), managingEntity={"reference": f"Organization/{org1}"},
                   characteristic=[coded("attributed-to", "prov-1"), flag("open", True)]),
        "b": group(ids["b"], [(sys, "b1"), (sys + ":tin", "b2")], name=f"{tag} South",
                   extension=period("2025-01-01", "2025-12-31"), managingEntity={"reference": f"{base}/Organization/{org2}"},
                   characteristic=[coded("attributed-to", "prov-2")]),
        "c": group(ids["c"], [(sys, "c1")], extension=period(start="2026-07-01"),
                   managingEntity={"reference": f"Practitioner/{org1}"}, characteristic=[flag("open", False)]),
        "d": group(ids["d"], [(sys, "a1")], extension=period(end="2026-03-31")),
        "e": group(ids["e"], [(sys, "e1")], name=f"{tag} East"),
    }
    stored = {}
    for key, body in bodies.items():
        stored[ids[key]] = assert_stored(fhir.put("Group", ids[key], body), base, "Group", ids[key], 1, 201, body)
    return Lists(sys, chars, org1, org2, *ids.values(), stored=stored)


def found(fhir, base, params) -> list[str]:
    """The ids a search finds, in the server's order (one page)."""
    return [e["resource"]["id"] for e in entries(search(fhir, base, params))]


def test_identifier_or_with_commas_and_with_repetition(fhir, base, lists):
    L = lists
    assert found(fhir, base, {"identifier": f"{L.sys}|a1"}) == [L.a, L.d]
    assert found(fhir, base, {"identifier": f"{L.sys}|a1,{L.sys}|c1"}) == [L.a, L.c, L.d]
    assert found(fhir, base, {"identifier": f"{L.sys}|"}) == [L.a, L.b, L.c, L.d, L.e]
    both = [("identifier", f"{L.sys}|b1,{L.sys}|c1"), ("identifier", f"{L.sys}:tin|b2")]
    assert found(fhir, base, both) == [L.b]
    assert found(fhir, base, [("identifier", f"{L.sys}|a1"), ("identifier", f"{L.sys}|c1")]) == []


def test_characteristic_token(fhir, base, lists):
    L = lists
    assert found(fhir, base, {"characteristic": f"{L.chars}|attributed-to"}) == [L.a, L.b]
    assert found(fhir, base, {"characteristic": f"{L.chars}|open"}) == [L.a, L.c]
    assert found(fhir, base, {"characteristic": f"{L.chars}|open,{L.chars}|attributed-to"}) == [L.a, L.b, L.c]
    assert found(fhir, base, [("characteristic", f"{L.chars}|open"), ("characteristic", f"{L.chars}|attributed-to")]) == [L.a]
    assert found(fhir, base, {"characteristic": f"{L.chars}|"}) == [L.a, L.b, L.c]
    assert found(fhir, base, {"characteristic": f"{L.chars}x|open"}) == []


def test_characteristic_value_composite(fhir, base, lists):
    L = lists
    assert found(fhir, base, {"characteristic-value": f"{L.chars}|attributed-to$prov-1"}) == [L.a]
    assert found(fhir, base, {"characteristic-value": f"{L.chars}|attributed-to$prov-1,{L.chars}|attributed-to$prov-2"}) == [L.a, L.b]
    assert found(fhir, base, {"characteristic-value": f"{L.chars}|open$true"}) == [L.a]
    assert found(fhir, base, {"characteristic-value": f"{L.chars}|open$false"}) == [L.c]
    # The code and the value must belong to the same characteristic.
    assert found(fhir, base, {"characteristic-value": f"{L.chars}|open$prov-1"}) == []
    assert found(fhir, base, {"characteristic-value": f"{L.chars}|attributed-to$true"}) == []


def test_managing_entity_reference(fhir, base, lists):
    L = lists
    assert found(fhir, base, {"managing-entity": f"Organization/{L.org1}"}) == [L.a]
    assert found(fhir, base, {"managing-entity": L.org1}) == [L.a, L.c]
    assert found(fhir, base, {"managing-entity": f"Organization/{L.org2}"}) == [L.b]
    assert found(fhir, base, {"managing-entity": f"{base}/Organization/{L.org2}"}) == [L.b]
    assert found(fhir, base, {"managing-entity": f"Organization/{L.org1},Organization/{L.org2}"}) == [L.a, L.b]
    assert found(fhir, base, {"managing-entity": f"Organization/{L.org1}x"}) == []


@pytest.mark.parametrize("value,expected", [
    ("2026", "a"), ("eq2025", "b"), ("2025,2026", "ab"), ("ge2026-06-01", "ac"), ("gt2026-12-31", "c"),
    ("gt2026-12-30", "ac"), ("lt2026-01-01", "bd"), ("le2025-12-31", "bd"), ("lt2026-01-01T00:00:00.001Z", "abd"),
    ("ge2020", "abcd"),
])
def test_period_searches_the_contract_period(fhir, base, lists, value, expected):
    L = lists
    params = [("identifier", f"{L.sys}|"), ("period", value)]
    assert found(fhir, base, params) == [getattr(L, k) for k in expected]


def test_period_and_other_parameters_combine_with_and(fhir, base, lists):
    L = lists
    assert found(fhir, base, [("identifier", f"{L.sys}|"), ("period", "ge2026-02-01"), ("period", "lt2026-03-01")]) == [L.a, L.d]
    assert found(fhir, base, [("characteristic", f"{L.chars}|attributed-to"), ("period", "2025")]) == [L.b]
    assert found(fhir, base, [("identifier", f"{L.sys}|a1"), ("managing-entity", L.org1), ("period", "lt2026-06-01")]) == [L.a]
    tag = L.a.rsplit("-", 1)[0]
    assert found(fhir, base, [("name", tag), ("characteristic", f"{L.chars}|")]) == [L.a, L.b]


def test_summary_true_leaves_out_the_members_and_tags_subsetted(fhir, base, lists):
    L = lists
    body = search(fhir, base, [("identifier", f"{L.sys}|b1,{L.sys}|c1,{L.sys}|e1"), ("identifier", f"{L.sys}|a1,{L.sys}|e1"),
                               ("_summary", "true")])
    assert [e["resource"]["id"] for e in entries(body)] == [L.e]
    body = search(fhir, base, [("name", L.a.rsplit("-", 1)[0]), ("_summary", "true")])
    got = {e["resource"]["id"]: e["resource"] for e in entries(body)}
    assert list(got) == [L.a, L.b, L.e]
    stored_a = L.stored[L.a]
    assert stored_a["member"], stored_a
    expected_a = {k: v for k, v in stored_a.items() if k != "member"}
    subsetted = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED", "display": "subsetted"}
    expected_a["meta"] = {**stored_a["meta"], "tag": [subsetted]}
    assert got[L.a] == expected_a
    assert got[L.b] == L.stored[L.b], "a Group without members is whole: nothing to tag"
    assert got[L.e] == L.stored[L.e]
    for resource in got.values():
        Group.model_validate(resource)


def test_summary_count_is_the_total_only(fhir, base, lists):
    L = lists
    resp = fhir.search_groups([("identifier", f"{L.sys}|"), ("_summary", "count")])
    body = fhir_json(resp, 200)
    assert body == {"resourceType": "Bundle", "type": "searchset", "total": 5,
                    "link": [{"relation": "self", "url": resp.request.url}]}, body


def test_count_pages_with_next_links_in_id_order(fhir, http, base, lists):
    L = lists
    resp = fhir.search_groups([("identifier", f"{L.sys}|"), ("_count", "2")])
    pages = []
    while True:
        body = fhir_json(resp, 200)
        assert body["total"] == 5, body
        pages.append([e["resource"]["id"] for e in entries(body)])
        links = {link["relation"]: link["url"] for link in body["link"]}
        if "next" not in links:
            break
        query = dict(parse_qsl(urlsplit(links["next"]).query))
        assert query == {"identifier": f"{L.sys}|", "_count": "2", "_cursor": pages[-1][-1]}, links
        resp = http.get(links["next"])
    assert pages == [[L.a, L.b], [L.c, L.d], [L.e]]
