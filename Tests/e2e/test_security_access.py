"""What a valid token may do (README "Security (SMART Backend Services)"): scopes on export kick-off
(`$davinci-data-export` needs Group, Patient, Coverage and Consent read plus every requested
type; the `$export` alias only the requested types, and without `_type` exports the types the
token can read), per-Group registration, task ownership (another client's task is 404), and
scopes on FHIR REST reads and writes. Tokens come from the real token endpoint."""
from __future__ import annotations

import uuid

import pytest

from export_support import (
    EXPORT_ALIAS, EXPORT_OP, NDJSON_CONTENT_TYPE, ExportResult, file_path, kickoff_get,
    manifest_of, member_references, run_export,
)
from fhir_support import FHIR_JSON, current_token, assert_outcome, assert_stored, describe, dumps, fhir_json, patient
from security_support import (
    SUNRISE_OPTED_OUT, SUNRISE_PATIENTS, Client, assert_forbidden, assert_not_found, base_url,
    atrctl, register_new, request,
)

SUNRISE = "atr-group-sunrise"
WELLNESS = "group-wellness-program"
SUNRISE_COVERAGES = sorted(["coverage-alice", "coverage-bob", "coverage-erin", "coverage-frank",
                            "coverage-grace", "coverage-henry", "coverage-ivy-dental",
                            "coverage-ivy-medical", "coverage-jack"])
NO_CONSENT_SCOPE = "system/Group.read system/Patient.read system/Coverage.read"


# --- clients (registered once per module) ------------------------------------------------------


@pytest.fixture(scope="module")
def no_consent() -> Client:
    """May read Group, Patient and Coverage — not Consent; every Group."""
    return register_new("sec-nc", NO_CONSENT_SCOPE)


@pytest.fixture(scope="module")
def with_consent() -> Client:
    return register_new("sec-wc", NO_CONSENT_SCOPE + " system/Consent.read")


@pytest.fixture(scope="module")
def wellness_only() -> Client:
    """Every read scope, but registered only for group-wellness-program."""
    return register_new("sec-wo", "system/*.read", [WELLNESS])


@pytest.fixture(scope="module")
def owner() -> Client:
    return register_new("sec-own", "system/*.read")


@pytest.fixture(scope="module")
def stranger() -> Client:
    return register_new("sec-oth", "system/*.read")


@pytest.fixture(scope="module")
def read_only_admin() -> Client:
    """An admin (providers may never write) whose token only reads: the scopes decide."""
    return register_new("sec-roa", "system/*.read", role="admin")


@pytest.fixture(scope="module")
def writer() -> Client:
    # Writes are for admin clients; their scopes still apply.
    return register_new("sec-rw", "system/*.read system/*.write", role="admin")


@pytest.fixture(scope="module")
def v2_creator() -> Client:
    """v2: read and search everything, create (but not update or delete) Patients."""
    return register_new("sec-v2c", "system/*.rs system/Patient.c", role="admin")


def sunrise_kickoff(client: Client, operation: str = EXPORT_OP, query: str = "",
                    group_id: str = SUNRISE):
    return kickoff_get(client.session(), base_url(), group_id, query, operation)


def patient_ids(result: ExportResult) -> list[str]:
    return result.ids("Patient")


# --- $davinci-data-export scopes -------------------------------------------------------------


def test_davinci_export_without_consent_read_is_403_naming_consent(no_consent):
    resp = sunrise_kickoff(no_consent)
    body = assert_forbidden(resp, ["Consent", "system/Consent.read"])
    diagnostics = body["issue"][0]["diagnostics"]
    for readable in ("system/Group.read", "system/Patient.read", "system/Coverage.read"):
        assert readable not in diagnostics, describe(resp)


def test_davinci_export_with_explicit_types_still_needs_consent_read(no_consent):
    resp = sunrise_kickoff(no_consent, query="_type=Group,Patient,Coverage")
    assert_forbidden(resp, "Consent")


def test_davinci_export_post_without_consent_read_is_403(no_consent):
    resp = no_consent.session().post(
        f"{base_url()}/Group/{SUNRISE}/{EXPORT_OP}", data=b"",
        headers={"Prefer": "respond-async", "Accept": FHIR_JSON})
    assert_forbidden(resp, "Consent")


def test_davinci_export_needs_read_on_every_requested_type(with_consent):
    resp = sunrise_kickoff(with_consent, query="_type=Group,Patient,Coverage,RelatedPerson,Location")
    body = assert_forbidden(resp, ["RelatedPerson", "Location"])
    assert "Consent" not in body["issue"][0]["diagnostics"], describe(resp)


def test_davinci_export_with_group_patient_coverage_consent_read_is_accepted(with_consent):
    result = run_export(with_consent.session(), base_url(), sunrise_kickoff(with_consent))
    assert sorted(result.output_types()) == ["Coverage", "Group", "Patient"], result.manifest
    assert patient_ids(result) == SUNRISE_PATIENTS


# --- the $export alias ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def alias_patient_only(no_consent) -> ExportResult:
    resp = sunrise_kickoff(no_consent, EXPORT_ALIAS, "_type=Patient")
    return run_export(no_consent.session(), base_url(), resp)


@pytest.fixture(scope="module")
def alias_untyped(no_consent) -> ExportResult:
    return run_export(no_consent.session(), base_url(), sunrise_kickoff(no_consent, EXPORT_ALIAS))


def test_export_alias_with_type_patient_is_accepted_without_consent_read(alias_patient_only):
    assert alias_patient_only.kickoff.status_code == 202
    assert alias_patient_only.output_types() == ["Patient"], alias_patient_only.manifest
    assert patient_ids(alias_patient_only) == SUNRISE_PATIENTS


def test_export_alias_still_honours_opt_outs(alias_patient_only, alias_untyped):
    for result in (alias_patient_only, alias_untyped):
        data = result.all_bytes()
        for pid in SUNRISE_OPTED_OUT:
            assert pid.encode() not in data, f"{pid} appears in export {result.task_id}"


def test_export_alias_without_type_exports_only_the_readable_types(alias_untyped):
    assert sorted(alias_untyped.output_types()) == ["Coverage", "Group", "Patient"], alias_untyped.manifest
    assert alias_untyped.ids("Group") == [SUNRISE]
    assert patient_ids(alias_untyped) == SUNRISE_PATIENTS
    assert alias_untyped.ids("Coverage") == SUNRISE_COVERAGES
    group = alias_untyped.resources("Group")[0]
    assert sorted(member_references(group)) == [f"Patient/{p}" for p in SUNRISE_PATIENTS]


def test_export_alias_with_an_unreadable_type_is_403_naming_it(no_consent):
    resp = sunrise_kickoff(no_consent, EXPORT_ALIAS, "_type=Patient,Organization")
    body = assert_forbidden(resp, ["Organization", "system/Organization.read"])
    assert "Patient" not in body["issue"][0]["diagnostics"].replace("Organization", ""), describe(resp)


def test_export_alias_with_no_readable_exportable_type_is_403():
    consent_only = register_new("sec-co", "system/Consent.read")
    resp = sunrise_kickoff(consent_only, EXPORT_ALIAS)
    assert_forbidden(resp, "none of the exportable types")


# --- per-Group registration -----------------------------------------------------------------


@pytest.mark.parametrize("operation", [EXPORT_OP, EXPORT_ALIAS])
def test_client_not_registered_for_the_group_gets_404_as_if_it_did_not_exist(wellness_only, operation):
    resp = sunrise_kickoff(wellness_only, operation)
    assert_not_found(resp, f"Group/{SUNRISE} is not known")


def test_unregistered_group_that_does_not_exist_answers_the_same(wellness_only):
    """No probing for Group ids outside the registration: the same 404 either way."""
    missing = "no-such-group-" + uuid.uuid4().hex[:6]
    resp = sunrise_kickoff(wellness_only, group_id=missing)
    body = assert_not_found(resp, f"Group/{missing} is not known")
    existing = sunrise_kickoff(wellness_only).json()
    assert existing["issue"][0]["diagnostics"].replace(SUNRISE, missing) == body["issue"][0]["diagnostics"]


def test_client_registered_for_the_group_may_export_it(wellness_only):
    result = run_export(wellness_only.session(), base_url(),
                        sunrise_kickoff(wellness_only, group_id=WELLNESS))
    assert result.ids("Group") == [WELLNESS]
    assert patient_ids(result) == ["patient-alice", "patient-grace", "patient-ivy"]


def test_client_registered_for_several_groups():
    client = register_new("sec-2g", "system/*.read", [WELLNESS, "group-empty"])
    for group_id in (WELLNESS, "group-empty"):
        resp = sunrise_kickoff(client, group_id=group_id)
        assert resp.status_code == 202, describe(resp)
    assert_not_found(sunrise_kickoff(client), f"Group/{SUNRISE} is not known")


# --- task ownership -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def owned_export(owner) -> ExportResult:
    return run_export(owner.session(), base_url(), sunrise_kickoff(owner, query="_type=Group,Patient,Coverage"))


def status_url(task_id: str) -> str:
    return f"{base_url()}/$exportstatus?_id={task_id}"


def test_another_clients_task_status_is_404(owned_export, stranger):
    resp = stranger.session().get(status_url(owned_export.task_id))
    body = assert_not_found(resp, owned_export.task_id)
    # Indistinguishable from a task that does not exist.
    missing = "no-such-task-" + uuid.uuid4().hex[:8]
    other = assert_not_found(stranger.session().get(status_url(missing)), missing)
    assert body["issue"][0]["diagnostics"].replace(owned_export.task_id, "ID") == \
        other["issue"][0]["diagnostics"].replace(missing, "ID")


def test_another_clients_task_cancel_is_404_and_leaves_it(owned_export, stranger, owner):
    resp = stranger.session().delete(status_url(owned_export.task_id))
    assert_not_found(resp, owned_export.task_id)
    again = owner.session().get(status_url(owned_export.task_id))
    assert manifest_of(again)["output"], describe(again)


def test_admin_client_cannot_see_another_clients_task_either(owned_export):
    """The suite's e2e-admin has every scope and Group, but the task is not its own."""
    resp = request("GET", status_url(owned_export.task_id), current_token())
    assert_not_found(resp, owned_export.task_id)


def test_another_clients_exportfilerequest_is_404(owned_export, stranger, owner):
    _, task_id, name = file_path(owned_export.manifest["output"][0]["url"])
    url = f"{base_url()}/$exportfilerequest"
    params = {"_id": task_id, "filename": name}
    resp = stranger.session().get(url, params=params, headers={"Accept": None})
    assert_not_found(resp, name)
    mine = owner.session().get(url, params=params, headers={"Accept": None})
    assert mine.status_code == 200, describe(mine)
    assert mine.headers.get("Content-Type") == NDJSON_CONTENT_TYPE, describe(mine)
    assert mine.content == owned_export.raw[owned_export.manifest["output"][0]["url"]]


def test_owner_can_cancel_its_own_task(owner, stranger):
    resp = sunrise_kickoff(owner, query="_type=Group,Patient,Coverage")
    assert resp.status_code == 202, describe(resp)
    location = resp.headers["Content-Location"]
    assert_not_found(stranger.session().delete(location))
    cancelled = owner.session().delete(location)
    body = fhir_json(cancelled, 202)
    assert body["resourceType"] == "OperationOutcome", describe(cancelled)
    assert_not_found(owner.session().get(location))


# --- FHIR REST reads ------------------------------------------------------------------------


def test_read_without_scope_for_the_type_is_403(no_consent):
    resp = no_consent.session().get(f"{base_url()}/Organization/payer-acme")
    assert_forbidden(resp, ["Organization", "system/Organization.read"])
    ok = no_consent.session().get(f"{base_url()}/Patient/patient-alice")
    assert fhir_json(ok, 200)["id"] == "patient-alice"


def test_group_search_needs_group_read():
    client = register_new("sec-pr", "system/Patient.read")
    resp = client.session().get(f"{base_url()}/Group", params={"name": "sunrise"})
    assert_forbidden(resp, "Group")


def test_v2_search_only_scope_is_not_read():
    client = register_new("sec-s", "system/Patient.s")
    resp = client.session().get(f"{base_url()}/Patient/patient-alice")
    assert_forbidden(resp, "Patient")


# --- FHIR REST writes -----------------------------------------------------------------------


def put_patient(session, pid: str, family: str = "Secure"):
    return session.put(f"{base_url()}/Patient/{pid}", data=dumps(patient(pid, family=family)),
                       headers={"Content-Type": FHIR_JSON})


def test_read_only_token_cannot_create_update_or_delete(read_only_admin, http):
    session = read_only_admin.session()
    pid = f"sec-{uuid.uuid4().hex[:10]}"
    assert_forbidden(put_patient(session, pid), ["Patient", "system/Patient.write"])
    assert_outcome(http.get(f"{base_url()}/Patient/{pid}"), 404, "not-found")

    resp = session.post(f"{base_url()}/Patient", data=dumps(patient(None)), headers={"Content-Type": FHIR_JSON})
    assert_forbidden(resp, ["create", "Patient"])

    existing = f"sec-{uuid.uuid4().hex[:10]}"
    assert put_patient(http, existing).status_code == 201  # the admin client may write
    assert_forbidden(put_patient(session, existing, "Changed"), ["update", "Patient"])
    assert_forbidden(session.delete(f"{base_url()}/Patient/{existing}"), ["delete", "Patient"])
    kept = fhir_json(http.get(f"{base_url()}/Patient/{existing}"), 200)
    assert kept["meta"]["versionId"] == "1" and kept["name"][0]["family"] == "Secure"


def test_read_only_token_cannot_write_through_a_transaction(read_only_admin, http):
    pid = f"sec-{uuid.uuid4().hex[:10]}"
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [{
        "resource": patient(pid), "request": {"method": "PUT", "url": f"Patient/{pid}"}}]}
    resp = read_only_admin.session().post(base_url(), data=dumps(bundle), headers={"Content-Type": FHIR_JSON})
    assert_forbidden(resp, "Patient")
    assert_outcome(http.get(f"{base_url()}/Patient/{pid}"), 404, "not-found")


def test_write_scope_allows_create_update_delete(writer):
    session = writer.session()
    pid = f"sec-{uuid.uuid4().hex[:10]}"
    sent = patient(pid, family="Secure")
    assert_stored(put_patient(session, pid), base_url(), "Patient", pid, 1, 201, sent)
    assert_stored(put_patient(session, pid, "Updated"), base_url(), "Patient", pid, 2, 200)
    resp = session.delete(f"{base_url()}/Patient/{pid}")
    assert resp.status_code == 204, describe(resp)
    assert_outcome(session.get(f"{base_url()}/Patient/{pid}"), 410, "deleted")


def test_write_scope_is_needed_even_when_requested_scope_was_read(writer):
    """Granted = requested ∩ allowed: a client allowed to write that asked only for read
    gets a read-only token."""
    session = writer.session("system/*.read")
    pid = f"sec-{uuid.uuid4().hex[:10]}"
    assert_forbidden(put_patient(session, pid), "Patient")


def test_v2_create_letter_allows_create_but_not_update_or_delete(v2_creator):
    session = v2_creator.session()
    pid = f"sec-{uuid.uuid4().hex[:10]}"
    assert_stored(put_patient(session, pid), base_url(), "Patient", pid, 1, 201)
    assert_forbidden(put_patient(session, pid, "Again"), ["update", "Patient"])
    assert_forbidden(session.delete(f"{base_url()}/Patient/{pid}"), ["delete", "Patient"])
    resp = session.post(f"{base_url()}/Coverage", data=dumps({
        "resourceType": "Coverage", "status": "active", "beneficiary": {"reference": f"Patient/{pid}"},
        "payor": [{"reference": "Organization/payer-acme"}]}), headers={"Content-Type": FHIR_JSON})
    assert_forbidden(resp, ["create", "Coverage"])


@pytest.mark.parametrize("form", ["positional", "--id"])
def test_clients_remove_takes_the_id_as_clients_add_does_or_positionally(form):
    client = register_new("sec-rm", "system/*.read")
    args = ["clients", "remove", client.client_id] if form == "positional" else ["clients", "remove", "--id", client.client_id]
    assert atrctl(*args).stdout.strip() == f"removed client {client.client_id}"
    assert client.client_id not in atrctl("clients", "list").stdout
