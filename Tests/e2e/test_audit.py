"""The audit trail (README "Audit trail"): an export run leaves exactly the expected records —
the token, the kick-off, the completion with counts per type and the number of opted-out
members, every file download — each a valid FHIR R4 AuditEvent (fhir.resources R4B models),
searchable by admins with date, agent, entity and type and paged by `next` links, and listed
by `atrctl audit`. Refused tokens, kick-offs and reads are recorded too; the trail cannot be
written through the REST API, not even by an admin."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from fhir.resources.R4B.auditevent import AuditEvent

from export_support import file_path, kickoff_get, run_export, signed_target, signing_secret
from fhir_support import Fhir, coverage, describe, group, minimal, new_id, patient
from security_support import (Client, Key, assert_forbidden, assert_oauth_error, atrctl, base_url, ca, origin, post_token,
                              register_new)

ADDRESSES = ("127.0.0.1", "::1")


def admin_get(admin: Client, path: str, params: dict | list | None = None) -> requests.Response:
    return requests.get(f"{base_url()}/{path}", params=params, verify=ca(), timeout=60,
                        headers={"Authorization": f"Bearer {admin.token()}", "Accept": "application/fhir+json"})


def audit_events(admin: Client, params: dict | list) -> list[dict]:
    """Every AuditEvent the search finds, following `next` links."""
    events: list[dict] = []
    resp = admin_get(admin, "AuditEvent", params)
    while True:
        assert resp.status_code == 200, describe(resp)
        bundle = resp.json()
        assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "searchset")
        events += [entry["resource"] for entry in bundle.get("entry", [])]
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            return events
        resp = requests.get(following[0], verify=ca(), timeout=60,
                            headers={"Authorization": f"Bearer {admin.token()}", "Accept": "application/fhir+json"})


def action(event: dict) -> str:
    return next(c["code"] for c in event["subtype"] if c["system"] == "urn:atr-export:audit-action")


def details(event: dict) -> dict[str, str]:
    return {d["type"]: d["valueString"] for e in event.get("entity", []) for d in e.get("detail", [])}


def entity_values(event: dict) -> list[str]:
    values = []
    for entity in event.get("entity", []):
        what = entity.get("what", {})
        if "reference" in what:
            values.append(what["reference"])
        elif "identifier" in what:
            values.append(what["identifier"]["value"])
    return values


def agent_of(event: dict) -> dict:
    (agent,) = [a for a in event["agent"] if a["requestor"]]
    return agent


def assert_valid(event: dict) -> None:
    AuditEvent.model_validate(event)
    assert event["resourceType"] == "AuditEvent"
    assert event["source"]["observer"]["display"] == "ATR Export"
    assert datetime.strptime(event["recorded"], "%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="module")
def admin() -> Client:
    return register_new("audit-admin", "system/*.read system/*.write", groups=[], role="admin")


@pytest.fixture(scope="module")
def exported(fhir: Fhir, admin: Client) -> dict:
    """One export by a fresh provider of a list with one member who opted out."""
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    p = new_id("audit")
    kept, left = f"{p}-kept", f"{p}-left"
    for pid in (kept, left):
        assert fhir.put("Patient", pid, patient(pid)).status_code == 201
        assert fhir.put("Coverage", f"{pid}-cov", coverage(f"{pid}-cov", f"Patient/{pid}")).status_code == 201
    consent = minimal("Consent", f"{left}-optout")
    consent["patient"] = {"reference": f"Patient/{left}"}
    assert fhir.put("Consent", consent["id"], consent).status_code == 201
    gid = f"{p}-list"
    assert fhir.put("Group", gid, group(gid, members=[f"Patient/{kept}", f"Patient/{left}"])).status_code == 201
    client = register_new("audit-provider", "system/*.read", groups=[gid])
    session = client.session()
    result = run_export(session, base_url(), kickoff_get(session, base_url(), gid, "_type=Group,Patient,Coverage"))
    first = result.manifest["output"][0]
    _, task_id, name = file_path(first["url"])
    resp = session.get(f"{base_url()}/$exportfilerequest/", params={"_id": task_id, "filename": name})
    assert resp.status_code == 200, describe(resp)
    return {"client": client, "group": gid, "kept": kept, "left": left, "task": task_id, "result": result,
            "started": started, "file": name}


def test_an_export_leaves_exactly_the_expected_audit_events(exported, admin):
    client, task, gid = exported["client"], exported["task"], exported["group"]
    events = audit_events(admin, {"agent": client.client_id})
    files = sorted(file_path(entry["url"])[2] for entry in exported["result"].manifest["output"])
    assert [action(e) for e in events] == ["token", "export-kickoff", "export-complete"] + ["file-download"] * (len(files) + 1)
    for event in events:
        assert_valid(event)
        assert event["outcome"] == "0", event
        assert agent_of(event)["who"]["identifier"] == {"system": "urn:atr-export:client", "value": client.client_id}
    token, kickoff, complete, *downloads = events
    assert token["type"]["code"] == "110114" and details(token)["scope"] == "system/*.read"
    assert kickoff["type"]["code"] == "110106" and kickoff["action"] == "E"
    assert entity_values(kickoff) == [f"Group/{gid}", task]
    assert agent_of(kickoff)["network"]["address"] in ADDRESSES
    assert "network" not in agent_of(complete), "the scheduler's own event has no client address"
    assert entity_values(complete) == [f"Group/{gid}", task]
    assert details(complete) == {"count Group": "1", "count Patient": "1", "count Coverage": "1",
                                 "opted-out members": "1", "files": "3"}
    assert sorted(entity_values(d)[-1] for d in downloads[:-1]) == sorted(f"{task}/{name}" for name in files)
    assert entity_values(downloads[-1]) == [f"Group/{gid}", task, f"{task}/{exported['file']}"], "$exportfilerequest"
    for download in downloads:
        assert download["action"] == "R" and agent_of(download)["network"]["address"] in ADDRESSES
    # Which member opted out is never recorded; the one exported was read by no REST call.
    assert exported["left"] not in json.dumps(events)


def test_the_search_narrows_by_date_entity_and_type_and_pages(exported, admin):
    client = exported["client"]
    everything = audit_events(admin, {"agent": client.client_id})
    paged = audit_events(admin, {"agent": client.client_id, "_count": "2"})
    assert [e["id"] for e in paged] == [e["id"] for e in everything]
    first = admin_get(admin, "AuditEvent", {"agent": client.client_id, "_count": "2"}).json()
    assert len(first["entry"]) == 2 and [l["relation"] for l in first["link"]] == ["self", "next"]
    started = exported["started"].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [e["id"] for e in audit_events(admin, [("agent", client.client_id), ("date", f"ge{started}")])] == \
        [e["id"] for e in everything]
    assert audit_events(admin, [("agent", client.client_id), ("date", f"lt{started}")]) == []
    by_group = audit_events(admin, {"entity": f"Group/{exported['group']}"})
    assert [action(e) for e in by_group] == [action(e) for e in everything[1:]]
    downloads = audit_events(admin, {"agent": client.client_id, "type": "file-download"})
    assert [e["id"] for e in downloads] == [e["id"] for e in everything if action(e) == "file-download"]
    exports = audit_events(admin, {"agent": client.client_id, "type": "110106"})
    assert [e["id"] for e in exports] == [e["id"] for e in everything if action(e) != "token"]
    one = admin_get(admin, f"AuditEvent/{everything[0]['id']}")
    assert one.status_code == 200 and one.json() == everything[0], describe(one)
    resp = admin_get(admin, "AuditEvent", {"date": "yesterday"})
    assert resp.status_code == 400 and "date 'yesterday'" in resp.json()["issue"][0]["diagnostics"], describe(resp)
    resp = admin_get(admin, "AuditEvent", {"patient": "x"})
    assert resp.status_code == 400 and "'patient'" in resp.json()["issue"][0]["diagnostics"], describe(resp)


def test_refusals_are_recorded(exported, admin):
    client = exported["client"]
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:23] + "Z"
    session = client.session()
    assert kickoff_get(session, base_url(), exported["group"], "_type=Observation").status_code == 400
    hidden = session.get(f"{base_url()}/Patient/{exported['left']}", headers={"Accept": "application/fhir+json"})
    assert hidden.status_code == 404, describe(hidden)
    shown = session.get(f"{base_url()}/Patient/{exported['kept']}", headers={"Accept": "application/fhir+json"})
    assert shown.status_code == 200, describe(shown)
    assert_forbidden(session.get(f"{base_url()}/AuditEvent"), "admin clients only")
    assert_oauth_error(post_token(client.assertion(key=Key.p384(kid="wrong")), "system/*.read"), 401, "invalid_client")
    events = audit_events(admin, [("agent", client.client_id), ("date", f"ge{since}")])
    assert [(action(e), e["outcome"]) for e in events] == [
        ("export-kickoff", "4"), ("read", "4"), ("read", "0"), ("audit-query", "4")]
    for event in events:
        assert_valid(event)
    assert details(events[0])["status"] == "400" and "Observation" in events[0]["outcomeDesc"]
    assert entity_values(events[1]) == [f"Patient/{exported['left']}"] and details(events[1])["status"] == "404"
    assert entity_values(events[2]) == [f"Patient/{exported['kept']}"]
    refused_tokens = [e for e in audit_events(admin, [("type", "token"), ("date", f"ge{since}")])
                      if details(e).get("claimed client") == client.client_id]
    assert len(refused_tokens) == 1 and refused_tokens[0]["outcome"] == "4"
    assert agent_of(refused_tokens[0])["who"] == {"display": "unidentified client"}, "a claimed client is not the agent"
    url = exported["result"].manifest["output"][0]["url"]
    forged = requests.get(url.replace("md5=", "md5=AAAA"), headers={"Authorization": f"Bearer {client.token()}"},
                          verify=ca(), timeout=60)
    assert forged.status_code == 403, describe(forged)
    expired = requests.get(origin() + signed_target(file_path(url)[0], int(time.time()) - 60, signing_secret()),
                           headers={"Authorization": f"Bearer {client.token()}"}, verify=ca(), timeout=60)
    assert expired.status_code == 410, describe(expired)
    refused_links = [(details(e)["status"], e["outcome"]) for e in audit_events(admin, [("type", "file-download"), ("date", f"ge{since}")])
                     if exported["task"] in entity_values(e)]
    assert refused_links == [("403", "4"), ("410", "4")], "refused links are recorded with the status the client saw"
    unauthenticated = requests.get(f"{base_url()}/Patient/{exported['kept']}", verify=ca(), timeout=60)
    assert unauthenticated.status_code == 401
    anonymous = [e for e in audit_events(admin, [("entity", f"Patient/{exported['kept']}"), ("date", f"ge{since}")])
                 if e["outcome"] == "4"]
    assert len(anonymous) == 1 and details(anonymous[0])["status"] == "401"
    assert agent_of(anonymous[0])["who"] == {"display": "unidentified client"}


def test_the_trail_is_append_only_even_for_admins(admin):
    headers = {"Authorization": f"Bearer {admin.token()}", "Content-Type": "application/fhir+json"}
    body = {"resourceType": "AuditEvent", "id": "1"}
    for method, path in [("PUT", "AuditEvent/1"), ("DELETE", "AuditEvent/1"), ("POST", "AuditEvent")]:
        resp = requests.request(method, f"{base_url()}/{path}", json=body, headers=headers, verify=ca(), timeout=60)
        assert resp.status_code == 405, describe(resp)
        assert "append-only" in resp.json()["issue"][0]["diagnostics"]
    bundle = {"resourceType": "Bundle", "type": "transaction",
              "entry": [{"resource": body, "request": {"method": "PUT", "url": "AuditEvent/1"}}]}
    resp = requests.post(base_url(), json=bundle, headers=headers, verify=ca(), timeout=60)
    assert resp.status_code == 400 and "AuditEvent" in resp.text, describe(resp)


def test_atrctl_audit_lists_the_same_records(exported, admin):
    client = exported["client"]
    served = audit_events(admin, {"agent": client.client_id})
    lines = atrctl("audit", "--client", client.client_id, "--json").stdout.splitlines()
    listed = [json.loads(line) for line in lines]
    assert [e["id"] for e in listed[:len(served)]] == [e["id"] for e in served]
    assert listed[:len(served)] == served
    table = atrctl("audit", "--group", exported["group"]).stdout.splitlines()
    assert table[0].split()[:4] == ["recorded", "action", "outcome", "client"]
    assert [row.split()[1] for row in table[1:]][:4] == ["export-kickoff", "export-complete", "file-download", "file-download"]
    assert all(client.client_id in row for row in table[1:] if row.split()[1] != "read")
    assert atrctl("audit", "--since", "2999-01-01").stdout.splitlines()[1:] == []
