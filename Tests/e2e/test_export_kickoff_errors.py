"""Invalid export kick-offs: each is a 4xx with an error OperationOutcome naming what was
wrong (README "Decisions a user could trip over", Export), and valid variants of the same requests are
accepted."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from export_support import (
    Instance, generate_atr_group, require_env,
    ATR_EXPORT_TYPE, EXPORT_ALIAS, EXPORT_OP, assert_accepted, assert_kickoff_rejected,
    kickoff_get, kickoff_headers, kickoff_post, parameters, patient_param, query_string,
)
from fhir_support import FHIR_JSON

SUNRISE = "atr-group-sunrise"


def future(days: int = 1) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- headers ----------------------------------------------------------------------------------


def test_missing_prefer_is_400(http, base):
    resp = kickoff_get(http, base, SUNRISE, prefer=None)
    assert_kickoff_rejected(resp, 400, "respond-async")


def test_prefer_without_respond_async_is_400(http, base):
    resp = kickoff_get(http, base, SUNRISE, prefer="handling=lenient")
    assert_kickoff_rejected(resp, 400, "respond-async")


def test_missing_accept_is_400(http, base):
    resp = kickoff_get(http, base, SUNRISE, accept=None)
    assert_kickoff_rejected(resp, 400, "Accept")


def test_accept_without_fhir_json_is_406(http, base):
    resp = kickoff_get(http, base, SUNRISE, accept="text/html")
    assert_kickoff_rejected(resp, 406, "Accept")


@pytest.mark.parametrize("accept", ["*/*", "application/json", "application/fhir+json;q=0.9, text/html"])
def test_accept_allowing_fhir_json_is_accepted(http, base, accept):
    assert_accepted(kickoff_get(http, base, "group-empty", accept=accept), base)


# --- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text/csv", "application/fhir+json", "parquet"])
def test_bad_output_format_is_400(http, base, fmt):
    resp = kickoff_get(http, base, SUNRISE, query_string([("_outputFormat", fmt)]))
    assert_kickoff_rejected(resp, 400, "_outputFormat")


@pytest.mark.parametrize("fmt", ["application/fhir+ndjson", "application/ndjson", "ndjson"])
def test_ndjson_output_formats_are_accepted(http, base, fmt):
    resp = kickoff_get(http, base, "group-empty", query_string([("_outputFormat", fmt)]))
    assert_accepted(resp, base)


@pytest.mark.parametrize("value", ["2026-01-01", "2026-01-01T00:00:00", "yesterday",
                                   "2026-13-01T00:00:00Z", "2026-01-01T25:00:00Z"])
def test_invalid_since_instant_is_400(http, base, value):
    resp = kickoff_get(http, base, SUNRISE, query_string([("_since", value)]))
    assert_kickoff_rejected(resp, 400, "_since")


def test_invalid_until_instant_is_400(http, base):
    resp = kickoff_get(http, base, SUNRISE, query_string([("_until", "2026-02-30T00:00:00Z")]))
    assert_kickoff_rejected(resp, 400, "_until")


def test_future_since_is_400(http, base):
    resp = kickoff_get(http, base, SUNRISE, query_string([("_since", future())]))
    assert_kickoff_rejected(resp, 400, ["_since", "future"])


def test_since_after_until_is_400(http, base):
    query = query_string([("_since", "2026-05-01T00:00:00Z"), ("_until", "2026-04-01T00:00:00Z")])
    resp = kickoff_get(http, base, SUNRISE, query)
    assert_kickoff_rejected(resp, 400, ["_since", "_until"])


@pytest.mark.parametrize("rtype", ["Observation", "Consent", "NoSuchType"])
def test_unknown_or_unsupported_type_is_400(http, base, rtype):
    resp = kickoff_get(http, base, SUNRISE, query_string([("_type", f"Group,Patient,Coverage,{rtype}")]))
    assert_kickoff_rejected(resp, 400, ["_type", rtype])


@pytest.mark.parametrize("types,missing", [("Patient,Coverage", "Group"), ("Group,Coverage", "Patient"),
                                           ("Group,Patient", "Coverage"), ("Location", "Group")])
def test_type_without_atr_minimum_is_400_for_davinci_data_export(http, base, types, missing):
    resp = kickoff_get(http, base, SUNRISE, query_string([("_type", types)]))
    assert_kickoff_rejected(resp, 400, ["_type", missing])


def test_resource_types_errors_name_resource_types(http, base):
    resp = kickoff_get(http, base, SUNRISE, query_string([("resourceTypes", "Group,Patient,Coverage,Observation")]))
    assert_kickoff_rejected(resp, 400, ["resourceTypes: Observation"])
    resp = kickoff_get(http, base, SUNRISE, query_string([("resourceTypes", "Group,Patient")]))
    assert_kickoff_rejected(resp, 400, ["resourceTypes must include", "Coverage"])


def test_type_and_resource_types_together_are_400_naming_both(http, base):
    message = "_type and resourceTypes are synonyms"
    resp = kickoff_get(http, base, SUNRISE, query_string([("_type", "Group,Patient,Coverage"),
                                                          ("resourceTypes", "Group,Patient,Coverage")]))
    assert_kickoff_rejected(resp, 400, [message])
    body = parameters({"name": "resourceTypes", "valueString": "Group,Patient,Coverage"},
                      {"name": "_type", "valueString": "Group,Patient,Coverage"})
    assert_kickoff_rejected(kickoff_post(http, base, SUNRISE, body), 400, [message])


def test_type_without_atr_minimum_is_accepted_for_export_alias(http, base):
    resp = kickoff_get(http, base, SUNRISE, query_string([("_type", "Patient,Coverage")]),
                       operation=EXPORT_ALIAS)
    assert_accepted(resp, base)


def test_patient_in_get_is_400(http, base):
    resp = kickoff_get(http, base, SUNRISE, query_string([("patient", "Patient/patient-alice")]))
    assert_kickoff_rejected(resp, 400, "patient")


@pytest.mark.parametrize("export_type", ["hl7.fhir.us.davinci-pdex", "http://example.org/other", "bulk"])
def test_unknown_export_type_is_400(http, base, export_type):
    resp = kickoff_get(http, base, SUNRISE, query_string([("exportType", export_type)]))
    assert_kickoff_rejected(resp, 400, ["exportType", export_type])


def test_unknown_export_type_in_post_is_400(http, base):
    body = parameters({"name": "exportType", "valueCanonical": "http://example.org/other"})
    resp = kickoff_post(http, base, SUNRISE, body)
    assert_kickoff_rejected(resp, 400, "exportType")


@pytest.mark.parametrize("export_type", [ATR_EXPORT_TYPE, "http://hl7.org/fhir/us/davinci-atr"])
def test_atr_export_type_is_accepted(http, base, export_type):
    resp = kickoff_get(http, base, "group-empty", query_string([("exportType", export_type)]))
    assert_accepted(resp, base)


@pytest.mark.parametrize("name", ["_typeFilter", "includeAssociatedData", "organizeOutputBy",
                                  "allowPartialManifests"])
def test_unsupported_parameter_is_400_without_lenient(http, base, name):
    value = "Patient?active=true" if name == "_typeFilter" else "x"
    resp = kickoff_get(http, base, SUNRISE, query_string([(name, value)]))
    assert_kickoff_rejected(resp, 400, name)


def test_typefilter_in_post_is_400_without_lenient(http, base):
    resp = kickoff_post(http, base, SUNRISE, parameters({"name": "_typeFilter",
                                                         "valueString": "Patient?active=true"}))
    assert_kickoff_rejected(resp, 400, "_typeFilter")


def test_unknown_group_is_404(http, base, new_id):
    gid = new_id()
    resp = kickoff_get(http, base, gid)
    assert_kickoff_rejected(resp, 404, gid)


def test_unknown_group_post_is_404(http, base, new_id):
    gid = new_id()
    resp = kickoff_post(http, base, gid, parameters())
    assert_kickoff_rejected(resp, 404, gid)


# --- POST bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b'{"resourceType":"Parameters",', b"{not json", b"\xff\xfe",
                                 b'{"resourceType":"Parameters","parameter":[{"name":"_type",'])
def test_malformed_parameters_json_is_400(http, base, raw):
    resp = kickoff_post(http, base, SUNRISE, raw=raw)
    assert_kickoff_rejected(resp, 400)


def test_post_body_not_parameters_is_400(http, base):
    resp = kickoff_post(http, base, SUNRISE, {"resourceType": "Patient", "id": "x"})
    assert_kickoff_rejected(resp, 400, "Parameters")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
def test_wrong_content_type_on_post_is_415(http, base, content_type):
    resp = kickoff_post(http, base, SUNRISE, parameters(), content_type=content_type)
    assert_kickoff_rejected(resp, 415, "Content-Type")


def test_empty_post_body_means_no_filters(http, base):
    resp = kickoff_post(http, base, "group-empty", raw=b"", content_type=None)
    assert_accepted(resp, base)


def test_patient_parameter_without_reference_is_400(http, base):
    resp = kickoff_post(http, base, SUNRISE, parameters({"name": "patient", "valueString": "Patient/patient-alice"}))
    assert_kickoff_rejected(resp, 400, "patient")


def test_patient_parameter_in_post_is_accepted(http, base):
    resp = kickoff_post(http, base, SUNRISE, parameters(patient_param("Patient/patient-alice")))
    assert_accepted(resp, base)


# --- levels -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [f"Patient/patient-alice/{EXPORT_OP}", f"Patient/{EXPORT_OP}",
                                  EXPORT_OP, EXPORT_ALIAS, f"Patient/{EXPORT_ALIAS}"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_non_group_level_export_is_400(http, base, path, method):
    headers = kickoff_headers(content_type=FHIR_JSON if method == "POST" else None)
    resp = http.request(method, f"{base}/{path}", headers=headers,
                        data=b'{"resourceType":"Parameters"}' if method == "POST" else None)
    assert_kickoff_rejected(resp, 400, ["Only Group-level export is supported"])


# --- limits -----------------------------------------------------------------------------------


def test_a_parameters_body_with_twenty_thousand_entries_is_413_naming_the_limit(http, base):
    body = parameters(*[patient_param(f"Patient/p{i}") for i in range(20_000)])
    resp = kickoff_post(http, base, SUNRISE, body)
    outcome = assert_kickoff_rejected(resp, 413, ["20000 parameters", "at most 1000", "BulkDataExport.MaxKickoffParameters"])
    assert outcome["issue"][0]["code"] == "too-costly"


def test_a_thousand_patients_are_still_accepted(http, base):
    body = parameters(*[patient_param(f"Patient/p{i}") for i in range(1000)])
    assert_accepted(kickoff_post(http, base, SUNRISE, body), base)


def test_a_client_with_the_most_exports_queued_gets_429_until_one_finishes(tmp_path_factory, repo_root, instance_settings):
    """An isolated instance without a running scheduler, so its tasks stay queued."""
    instance = Instance(str(tmp_path_factory.mktemp("limits")), require_env("ATR_BIN"), repo_root, instance_settings,
                        overrides={"BulkDataExport.MaxActiveTasksPerClient": 2})
    try:
        generated = generate_atr_group(os.path.join(instance.root, "data"), "limit-group", 3, opt_out_every=100)
        instance.import_files(*generated.files)
        first = instance.kickoff("limit-group")
        instance.kickoff("limit-group")
        refused = instance.cgi("GET", "/fhir/Group/limit-group/$davinci-data-export",
                               headers={"Prefer": "respond-async", "Accept": "application/fhir+json"})
        assert refused.status == 429, refused.describe()
        assert refused.headers.get("retry-after", "").isdigit(), refused.describe()
        issue = refused.json()["issue"][0]
        assert issue["code"] == "throttled" and "MaxActiveTasksPerClient" in issue["diagnostics"], refused.describe()
        assert instance.cgi("DELETE", "/fhir/$exportstatus", query=f"_id={first}").status == 202
        instance.kickoff("limit-group")
    finally:
        instance.close()
