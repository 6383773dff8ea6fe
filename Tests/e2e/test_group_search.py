"""GET {base}/Group?identifier=...&name=... (searchset Bundles).

Each test creates its own Groups with identifier values and name prefixes unique to the
test, and only asserts about those, so the sample data in the database does not matter.
"""
from __future__ import annotations

import pytest

from fhir_support import (
    ID_SYSTEM, assert_outcome, assert_status, assert_stored, entries, fhir_json, group,
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


@pytest.mark.parametrize("param", ["bogusparam", "_bogus"])
def test_unknown_search_parameter_is_400_not_supported(fhir, param):
    resp = fhir.search_groups({param: "x"})
    assert_outcome(resp, 400, "not-supported", param)
