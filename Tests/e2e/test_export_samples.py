"""ATR exports of the sample data set (samples/README.md, "Expected export results").

The harness loads samples/atr-sample.json before the suite runs; other tests never change
those ids. Each export runs once per module (fixtures) and the tests check one property each.
"""
from __future__ import annotations

import pytest

from export_support import (
    ALL_TYPES, DEFAULT_TYPES, NDJSON_CONTENT_TYPE, SUBSETTED_SYSTEM, ExportResult, export_get,
    file_path, has_subsetted_tag, member_references, parse_ndjson, query_string,
)
from fhir_support import describe

SUNRISE_MEMBERS = ["patient-alice", "patient-bob", "patient-erin", "patient-frank",
                   "patient-grace", "patient-henry", "patient-ivy", "patient-jack"]
SUNRISE_COVERAGES = ["coverage-alice", "coverage-bob", "coverage-erin", "coverage-frank",
                     "coverage-grace", "coverage-henry", "coverage-ivy-dental",
                     "coverage-ivy-medical", "coverage-jack"]

EXPECTED_SUNRISE_DEFAULT = {
    "Group": ["atr-group-sunrise"],
    "Patient": SUNRISE_MEMBERS,
    "Coverage": SUNRISE_COVERAGES,
}
EXPECTED_SUNRISE_ALL = {
    **EXPECTED_SUNRISE_DEFAULT,
    "RelatedPerson": ["relperson-alice-spouse"],
    "Practitioner": ["pract-jones", "pract-patel"],
    "PractitionerRole": ["role-jones-sunrise"],
    "Organization": ["payer-acme", "prov-org-lakeside", "prov-org-sunrise"],
    "Location": ["loc-sunrise-main"],
}
EXPECTED_WELLNESS_DEFAULT = {
    "Group": ["group-wellness-program"],
    "Patient": ["patient-alice", "patient-grace", "patient-ivy"],
    "Coverage": ["coverage-alice", "coverage-grace", "coverage-ivy-dental", "coverage-ivy-medical"],
}
EXPECTED_EMPTY = {"Group": ["group-empty"]}

OPTED_OUT = ["patient-carol", "patient-dan"]
#: Resources only opted-out members lead to: never exported.
OPTED_OUT_ONLY = ["coverage-carol", "coverage-dan", "relperson-carol-daughter", "pract-nguyen"]
NON_MEMBERS = ["patient-nonmember", "coverage-nonmember"]


@pytest.fixture(scope="module")
def sunrise_default(http, base) -> ExportResult:
    return export_get(http, base, "atr-group-sunrise")


@pytest.fixture(scope="module")
def sunrise_all(http, base) -> ExportResult:
    return export_get(http, base, "atr-group-sunrise", query_string([("_type", ",".join(ALL_TYPES))]))


@pytest.fixture(scope="module")
def wellness(http, base) -> ExportResult:
    return export_get(http, base, "group-wellness-program")


@pytest.fixture(scope="module")
def empty(http, base) -> ExportResult:
    return export_get(http, base, "group-empty", query_string([("_type", ",".join(ALL_TYPES))]))


EXPORTS = ["sunrise_default", "sunrise_all", "wellness", "empty"]


@pytest.fixture(params=EXPORTS)
def any_export(request) -> ExportResult:
    return request.getfixturevalue(request.param)


def exported_ids(result: ExportResult) -> dict[str, list[str]]:
    return {rtype: result.ids(rtype) for rtype in result.output_types()}


def group_of(result: ExportResult) -> dict:
    groups = result.resources("Group")
    assert len(groups) == 1, groups
    return groups[0]


# --- exactly the expected resources ---------------------------------------------------------


def test_sunrise_default_exports_exactly_group_patients_coverages(sunrise_default):
    assert sunrise_default.output_types() == DEFAULT_TYPES, sunrise_default.manifest
    assert exported_ids(sunrise_default) == EXPECTED_SUNRISE_DEFAULT


def test_sunrise_all_types_exports_exactly_the_expected_resources(sunrise_all):
    assert sunrise_all.output_types() == ALL_TYPES, sunrise_all.manifest
    assert exported_ids(sunrise_all) == EXPECTED_SUNRISE_ALL


def test_sunrise_all_types_counts(sunrise_all):
    counts = {e["type"]: e["count"] for e in sunrise_all.manifest["output"]}
    assert counts == {"Group": 1, "Patient": 8, "Coverage": 9, "RelatedPerson": 1,
                      "Practitioner": 2, "PractitionerRole": 1, "Organization": 3, "Location": 1}
    assert sum(counts.values()) == 26


@pytest.mark.parametrize("name", ["sunrise_default", "sunrise_all"])
def test_opted_out_members_appear_nowhere(request, name):
    result: ExportResult = request.getfixturevalue(name)
    ids = {r["id"] for r in result.resources()}
    for rid in OPTED_OUT + OPTED_OUT_ONLY:
        assert rid not in ids, f"{rid} was exported"
    data = result.all_bytes()
    for pid in OPTED_OUT:
        assert pid.encode() not in data, f"{pid} is mentioned in an export file"


@pytest.mark.parametrize("name", ["sunrise_default", "sunrise_all"])
def test_exported_sunrise_group_lists_only_exported_members_and_is_subsetted(request, name):
    group = group_of(request.getfixturevalue(name))
    assert sorted(member_references(group)) == [f"Patient/{p}" for p in SUNRISE_MEMBERS]
    tags = [t for t in group["meta"].get("tag", []) if t.get("code") == "SUBSETTED"]
    assert tags and tags[0]["system"] == SUBSETTED_SYSTEM, group["meta"]


def test_inactive_member_henry_is_exported(sunrise_default):
    assert "patient-henry" in sunrise_default.ids("Patient")
    assert "coverage-henry" in sunrise_default.ids("Coverage")
    henry = [m for m in group_of(sunrise_default)["member"]
             if m["entity"]["reference"] == "Patient/patient-henry"]
    assert len(henry) == 1 and henry[0].get("inactive") is True, henry


def test_wellness_program_exports_only_active_in_period_members(wellness):
    assert wellness.output_types() == DEFAULT_TYPES, wellness.manifest
    assert exported_ids(wellness) == EXPECTED_WELLNESS_DEFAULT


def test_wellness_program_group_drops_opted_out_carol_and_is_subsetted(wellness):
    group = group_of(wellness)
    assert "Patient/patient-carol" not in member_references(group)
    assert has_subsetted_tag(group), group["meta"]
    assert b"patient-carol" not in wellness.all_bytes()


def test_empty_group_exports_only_the_group(empty):
    assert [(e["type"], e["count"]) for e in empty.manifest["output"]] == [("Group", 1)]
    assert empty.manifest["error"] == []
    assert exported_ids(empty) == EXPECTED_EMPTY
    assert not has_subsetted_tag(group_of(empty))


def test_non_members_are_never_exported(sunrise_default, sunrise_all, wellness, empty):
    for result in (sunrise_default, sunrise_all, wellness, empty):
        ids = {r["id"] for r in result.resources()}
        for rid in NON_MEMBERS:
            assert rid not in ids, f"{rid} exported by {result.manifest['request']}"


def test_each_resource_exported_once(any_export):
    keys = [(r["resourceType"], r["id"]) for r in any_export.resources()]
    assert len(keys) == len(set(keys)), sorted(keys)


# --- file format and delivery -------------------------------------------------------------


def test_files_are_strict_ndjson(any_export):
    for url, data in any_export.raw.items():
        assert data, f"{url} is empty"
        assert data.endswith(b"\n"), url
        lines = data.split(b"\n")[:-1]
        assert all(line.strip() for line in lines), f"blank line in {url}"
        parsed = parse_ndjson(data, url)
        assert len(parsed) == len(lines)


def test_each_file_holds_only_its_type(any_export):
    for entry in any_export.manifest["output"] + any_export.manifest["error"]:
        types = {r["resourceType"] for r in parse_ndjson(any_export.raw[entry["url"]], entry["url"])}
        assert types == {entry["type"]}, entry


def test_manifest_counts_equal_line_counts(any_export):
    for entry in any_export.manifest["output"] + any_export.manifest["error"]:
        assert entry["count"] == any_export.raw[entry["url"]].count(b"\n"), entry


def test_output_urls_download_as_fhir_ndjson(any_export):
    for url, resp in any_export.downloads.items():
        assert resp.status_code == 200, describe(resp)
        assert resp.headers.get("Content-Type") == NDJSON_CONTENT_TYPE, describe(resp)
        path, task_id, name = file_path(url)
        assert task_id == any_export.task_id
        assert name.startswith(("content", "error")), url


def test_output_file_names_follow_content_type_pattern(any_export):
    for entry in any_export.manifest["output"]:
        _, _, name = file_path(entry["url"])
        assert name == f"content{entry['type']}.ndjson", entry


def test_exportfilerequest_gives_identical_bytes(any_export, http, base):
    for entry in any_export.manifest["output"] + any_export.manifest["error"]:
        _, task_id, name = file_path(entry["url"])
        resp = http.get(f"{base}/$exportfilerequest/",
                        params={"_id": task_id, "filename": name}, headers={"Accept": None})
        assert resp.status_code == 200, describe(resp)
        assert resp.headers.get("Content-Type") == NDJSON_CONTENT_TYPE, describe(resp)
        assert resp.content == any_export.raw[entry["url"]], name
