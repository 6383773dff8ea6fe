"""Export parameters that change what is exported: `_since`/`_until`, `patient`, `_elements`,
and `Prefer: handling=lenient` (README "Decisions a user could trip over", Export)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from export_support import (
    ALL_TYPES, DEFAULT_TYPES, ExportResult, export_get, export_post, has_subsetted_tag,
    member_references, parameters, patient_param, query_string,
)
from fhir.resources.R4B.coverage import Coverage

from fhir_support import (
    ID_SYSTEM, Fhir, assert_stored, coverage, fhir_json, group, minimal, new_id, parse_instant,
    patient,
)

SUNRISE = "atr-group-sunrise"
# Kept by `_elements` whatever is selected: always, and what FHIR R4 marks mandatory (min >= 1).
ALWAYS_KEPT = {"resourceType", "id", "meta"}
R4_MANDATORY = {"Group": {"type", "actual"}, "Coverage": {"status", "beneficiary", "payor"},
                "RelatedPerson": {"patient"}}
SUNRISE_PATIENTS = ["patient-alice", "patient-bob", "patient-erin", "patient-frank",
                    "patient-grace", "patient-henry", "patient-ivy", "patient-jack"]


def instant(value: datetime) -> str:
    """A FHIR instant in UTC with milliseconds, as the server writes meta.lastUpdated."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def put_ok(fhir: Fhir, base: str, resource: dict, version: int) -> datetime:
    resp = fhir.put(resource["resourceType"], resource["id"], resource)
    body = assert_stored(resp, base, resource["resourceType"], resource["id"], version,
                         201 if version == 1 else 200)
    return parse_instant(body["meta"]["lastUpdated"])


# --- _since / _until --------------------------------------------------------------------------


@dataclass
class Timeline:
    group_id: str
    patients: list[str]
    coverages: list[str]
    t1: datetime  # after the first writes, before the second round
    t2: datetime  # after the second round, before the third


@pytest.fixture(scope="module")
def timeline(fhir, base) -> Timeline:
    """Group G with members p0..p3 (coverages c0..c3), all written before t1; p1 and c2 written
    again between t1 and t2; p3 written again after t2."""
    tag = new_id("since")
    pids = [f"{tag}-p{n}" for n in range(4)]
    cids = [f"{tag}-c{n}" for n in range(4)]
    gid = f"{tag}-g"
    stamps = []
    for pid, cid in zip(pids, cids):
        stamps.append(put_ok(fhir, base, patient(pid, family="Since"), 1))
        stamps.append(put_ok(fhir, base, coverage(cid, f"Patient/{pid}"), 1))
    stamps.append(put_ok(fhir, base, group(gid, [(ID_SYSTEM, gid)], members=[f"Patient/{p}" for p in pids]), 1))
    t1 = max(stamps) + timedelta(milliseconds=1)
    time.sleep(0.05)
    second = [put_ok(fhir, base, patient(pids[1], family="SinceAgain"), 2),
              put_ok(fhir, base, coverage(cids[2], f"Patient/{pids[2]}", status="cancelled"), 2)]
    assert min(second) > t1
    t2 = max(second) + timedelta(milliseconds=1)
    time.sleep(0.05)
    third = put_ok(fhir, base, patient(pids[3], family="SinceThird"), 2)
    assert third > t2
    return Timeline(gid, pids, cids, t1, t2)


def ids_by_type(result: ExportResult) -> dict[str, list[str]]:
    return {rtype: result.ids(rtype) for rtype in result.output_types()}


def test_since_exports_only_resources_changed_after_it(http, base, timeline):
    t = timeline
    result = export_get(http, base, t.group_id, query_string([("_since", instant(t.t1))]))
    assert ids_by_type(result) == {
        "Patient": sorted([t.patients[1], t.patients[3]]),
        "Coverage": [t.coverages[2]],
    }


def test_until_exports_only_resources_last_changed_before_it(http, base, timeline):
    t = timeline
    result = export_get(http, base, t.group_id, query_string([("_until", instant(t.t1))]))
    assert ids_by_type(result) == {
        "Group": [t.group_id],
        "Patient": sorted([t.patients[0], t.patients[2]]),
        "Coverage": sorted([t.coverages[0], t.coverages[1], t.coverages[3]]),
    }


def test_since_and_until_together_select_the_window(http, base, timeline):
    t = timeline
    result = export_get(http, base, t.group_id,
                        query_string([("_since", instant(t.t1)), ("_until", instant(t.t2))]))
    assert ids_by_type(result) == {"Patient": [t.patients[1]], "Coverage": [t.coverages[2]]}


def test_since_with_time_zone_offset(http, base, timeline):
    t = timeline
    offset = t.t1.astimezone(timezone(timedelta(hours=2)))
    since = offset.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+02:00"
    result = export_get(http, base, t.group_id, query_string([("_since", since)]))
    assert ids_by_type(result) == {
        "Patient": sorted([t.patients[1], t.patients[3]]),
        "Coverage": [t.coverages[2]],
    }


def test_since_in_post_parameters(http, base, timeline):
    t = timeline
    body = parameters({"name": "_since", "valueInstant": instant(t.t2)})
    result = export_post(http, base, t.group_id, body)
    assert ids_by_type(result) == {"Patient": [t.patients[3]]}


def test_since_exports_current_versions(http, base, timeline):
    t = timeline
    result = export_get(http, base, t.group_id, query_string([("_since", instant(t.t1))]))
    families = {r["id"]: r["name"][0]["family"] for r in result.resources("Patient")}
    assert families == {t.patients[1]: "SinceAgain", t.patients[3]: "SinceThird"}
    assert [r["meta"]["versionId"] for r in result.resources("Coverage")] == ["2"]


@dataclass
class ReferencedTimeline:
    group_id: str
    changed_patient: str
    since: datetime
    referenced: dict[str, list[str]]


@pytest.fixture(scope="module")
def referenced_timeline(fhir, base) -> ReferencedTimeline:
    """Group (managingEntity → Organization M) with members p0 (generalPractitioner →
    Practitioner G; Coverage c0 with payor → Organization P) and p1; everything written before
    `since`, then only p1 written again."""
    tag = new_id("sinceref")
    org_m, org_p, pract = f"{tag}-org-m", f"{tag}-org-p", f"{tag}-pract"
    p0, p1, c0, gid = f"{tag}-p0", f"{tag}-p1", f"{tag}-c0", f"{tag}-g"
    stamps = [
        put_ok(fhir, base, minimal("Organization", org_m), 1),
        put_ok(fhir, base, minimal("Organization", org_p), 1),
        put_ok(fhir, base, minimal("Practitioner", pract), 1),
        put_ok(fhir, base, patient(p0, generalPractitioner=[{"reference": f"Practitioner/{pract}"}]), 1),
        put_ok(fhir, base, patient(p1), 1),
        put_ok(fhir, base, coverage(c0, f"Patient/{p0}", payor=f"Organization/{org_p}"), 1),
        put_ok(fhir, base, group(gid, [(ID_SYSTEM, gid)], members=[f"Patient/{p0}", f"Patient/{p1}"],
                                 managingEntity={"reference": f"Organization/{org_m}"}), 1),
    ]
    since = max(stamps) + timedelta(milliseconds=1)
    time.sleep(0.05)
    assert put_ok(fhir, base, patient(p1, family="Changed"), 2) > since
    return ReferencedTimeline(gid, p1, since, {"Organization": sorted([org_m, org_p]),
                                               "Practitioner": [pract]})


def test_since_still_exports_resources_referenced_by_filtered_out_resources(http, base, referenced_timeline):
    """`_since` filters Group, Patient, Coverage, RelatedPerson; Practitioner, Organization, ...
    they reference (the Group's managingEntity, a Coverage's payor, a Patient's
    generalPractitioner) are included regardless."""
    t = referenced_timeline
    result = export_get(http, base, t.group_id,
                        query_string([("_since", instant(t.since)), ("_type", ",".join(ALL_TYPES))]))
    assert ids_by_type(result) == {"Patient": [t.changed_patient], **t.referenced}


# --- patient ----------------------------------------------------------------------------------


def test_patient_parameter_exports_only_that_member(http, base):
    result = export_post(http, base, SUNRISE, parameters(patient_param("Patient/patient-alice")))
    assert result.ids("Patient") == ["patient-alice"]
    assert result.ids("Coverage") == ["coverage-alice"]
    assert set(result.output_types()) <= set(DEFAULT_TYPES)
    assert result.manifest["error"] == []


def test_patient_parameter_with_all_types(http, base):
    body = parameters(patient_param("Patient/patient-alice"),
                      {"name": "_type", "valueString": ",".join(ALL_TYPES)})
    result = export_post(http, base, SUNRISE, body)
    got = {rtype: result.ids(rtype) for rtype in result.output_types() if rtype != "Group"}
    assert got == {
        "Patient": ["patient-alice"],
        "Coverage": ["coverage-alice"],
        "RelatedPerson": ["relperson-alice-spouse"],
        "Practitioner": ["pract-jones"],
        "Organization": ["payer-acme", "prov-org-sunrise"],
    }


def test_patient_non_member_is_reported_in_the_error_file(http, base):
    body = parameters(patient_param("Patient/patient-alice"),
                      patient_param("Patient/patient-nonmember"))
    result = export_post(http, base, SUNRISE, body)
    assert result.ids("Patient") == ["patient-alice"]
    assert "coverage-nonmember" not in result.ids("Coverage")
    assert [(e["type"], e["count"]) for e in result.manifest["error"]] == [("OperationOutcome", 1)]
    errors = result.errors()
    assert len(errors) == 1
    issues = errors[0]["issue"]
    assert [i["severity"] for i in issues] == ["information"], errors
    assert "Patient/patient-nonmember" in issues[0]["diagnostics"], errors


def test_patient_opted_out_member_is_not_exported(http, base):
    result = export_post(http, base, SUNRISE, parameters(patient_param("Patient/patient-carol")))
    assert "Patient" not in result.output_types(), result.manifest
    assert "Coverage" not in result.output_types(), result.manifest
    ids = {r["id"] for r in result.resources()}
    assert not ids & {"patient-carol", "coverage-carol", "relperson-carol-daughter", "pract-nguyen"}, ids


def test_patient_export_group_never_lists_opted_out_members(http, base):
    """Opt-out holds whatever the filter: the exported Group (default _type includes it) must
    not carry the entries of opted-out Carol and Dan, and is then SUBSETTED."""
    result = export_post(http, base, SUNRISE, parameters(patient_param("Patient/patient-alice")))
    assert result.output_types()[0] == "Group", result.manifest
    [exported] = result.resources("Group")
    refs = member_references(exported)
    assert "Patient/patient-carol" not in refs and "Patient/patient-dan" not in refs, refs
    assert has_subsetted_tag(exported), exported["meta"]
    data = result.all_bytes()
    assert b"patient-carol" not in data and b"patient-dan" not in data


# --- _elements --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sunrise_default(http, base) -> ExportResult:
    return export_get(http, base, SUNRISE)


@pytest.fixture(scope="module")
def sunrise_birthdate(http, base) -> ExportResult:
    return export_get(http, base, SUNRISE, query_string([("_elements", "Patient.birthDate")]))


def test_elements_keeps_only_mandatory_and_selected_patient_elements(sunrise_birthdate, fhir):
    patients = sunrise_birthdate.resources("Patient")
    assert sorted(p["id"] for p in patients) == SUNRISE_PATIENTS
    for exported in patients:
        stored = fhir_json(fhir.get("Patient", exported["id"]), 200)
        expected_keys = {"resourceType", "id", "meta"} | ({"birthDate"} if "birthDate" in stored else set())
        assert set(exported) == expected_keys, exported
        assert exported.get("birthDate") == stored.get("birthDate")
        assert exported["meta"]["versionId"] == stored["meta"]["versionId"]
        assert exported["meta"]["lastUpdated"] == stored["meta"]["lastUpdated"]


def test_elements_tags_subset_patients_subsetted(sunrise_birthdate):
    for exported in sunrise_birthdate.resources("Patient"):
        assert has_subsetted_tag(exported), exported


def test_elements_for_patient_leaves_other_types_unchanged(sunrise_birthdate, sunrise_default):
    for rtype in ["Group", "Coverage"]:
        def lines(result: ExportResult) -> list[bytes]:
            [entry] = [e for e in result.manifest["output"] if e["type"] == rtype]
            return sorted(result.raw[entry["url"]].splitlines())
        assert lines(sunrise_birthdate) == lines(sunrise_default), rtype


def test_elements_without_type_applies_to_every_type(http, base, fhir):
    result = export_get(http, base, "group-wellness-program", query_string([("_elements", "birthDate")]))
    assert result.output_types() == DEFAULT_TYPES
    for exported in result.resources():
        rtype = exported["resourceType"]
        stored = fhir_json(fhir.get(rtype, exported["id"]), 200)
        selected = {"birthDate"} if rtype == "Patient" and "birthDate" in stored else set()
        assert set(exported) == ALWAYS_KEPT | R4_MANDATORY.get(rtype, set()) | selected, exported
        assert has_subsetted_tag(exported), exported


def test_elements_keeps_the_mandatory_coverage_elements_as_valid_fhir(http, base, fhir, sunrise_default):
    """`_elements=Coverage.identifier`: each Coverage keeps identifier plus what R4 makes mandatory
    (status, beneficiary, payor), so it still validates as a Coverage."""
    result = export_get(http, base, SUNRISE, query_string([("_elements", "Coverage.identifier")]))
    coverages = result.resources("Coverage")
    assert [c["id"] for c in coverages] == sunrise_default.ids("Coverage")
    assert len(coverages) >= 2, "the Sunrise export has Coverages"
    for exported in coverages:
        stored = fhir_json(fhir.get("Coverage", exported["id"]), 200)
        kept = {"status", "beneficiary", "payor"} | ({"identifier"} if "identifier" in stored else set())
        assert set(exported) == ALWAYS_KEPT | kept, exported
        for name in kept:
            assert exported[name] == stored[name], name
        assert has_subsetted_tag(exported), exported
        validated = Coverage.model_validate(exported)
        assert validated.status == stored["status"]
        assert validated.beneficiary.reference == stored["beneficiary"]["reference"]
        assert [p.reference for p in validated.payor] == [p["reference"] for p in stored["payor"]]
    # Other types are left whole.
    for exported in result.resources("Patient"):
        assert not has_subsetted_tag(exported), exported


# --- resourceTypes (synonym of _type) ---------------------------------------------------------


def test_resource_types_exports_like_type(http, base):
    types = "Group,Patient,Coverage,Organization"
    by_type = export_get(http, base, SUNRISE, query_string([("_type", types)]))
    by_synonym = export_get(http, base, SUNRISE, query_string([("resourceTypes", types)]))
    posted = export_post(http, base, SUNRISE, parameters({"name": "resourceTypes", "valueString": "Group,Patient,Coverage"}))
    assert by_synonym.output_types() == by_type.output_types() == ["Group", "Patient", "Coverage", "Organization"]
    assert {t: by_synonym.ids(t) for t in by_synonym.output_types()} == {t: by_type.ids(t) for t in by_type.output_types()}
    assert by_synonym.ids("Patient") == SUNRISE_PATIENTS
    assert posted.output_types() == DEFAULT_TYPES
    assert {t: posted.ids(t) for t in DEFAULT_TYPES} == {t: by_type.ids(t) for t in DEFAULT_TYPES}


# --- lenient handling -------------------------------------------------------------------------


def test_lenient_typefilter_is_ignored_and_reported(http, base, sunrise_default):
    result = export_get(http, base, SUNRISE, query_string([("_typeFilter", "Patient?active=true")]),
                        prefer="respond-async, handling=lenient")
    assert {t: result.ids(t) for t in result.output_types()} == \
        {t: sunrise_default.ids(t) for t in sunrise_default.output_types()}
    assert [(e["type"], e["count"]) for e in result.manifest["error"]] == [("OperationOutcome", 1)]
    [outcome] = result.errors()
    assert outcome["resourceType"] == "OperationOutcome"
    assert [i["severity"] for i in outcome["issue"]] == ["information"], outcome
    assert "_typeFilter" in outcome["issue"][0]["diagnostics"], outcome


def test_lenient_unsupported_post_parameter_is_ignored_and_reported(http, base):
    body = parameters({"name": "includeAssociatedData", "valueString": "LatestProvenanceResources"})
    result = export_post(http, base, "group-empty", body, prefer="respond-async, handling=lenient")
    assert [(e["type"], e["count"]) for e in result.manifest["output"]] == [("Group", 1)]
    [outcome] = result.errors()
    assert [i["severity"] for i in outcome["issue"]] == ["information"], outcome
    assert "includeAssociatedData" in outcome["issue"][0]["diagnostics"], outcome
