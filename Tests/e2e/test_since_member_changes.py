"""`_since` exports of a list that changed (README "Export"): a member who joined since `_since`
is exported whole (Patient, Coverage regardless of when they were last updated); a member who
left, and a member's Coverage deleted since, are listed in the manifest's `deleted` as Bundles
of DELETE requests, and never in `output`."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from urllib.parse import quote

from export_support import kickoff_get, run_export
from fhir_support import Fhir, coverage, describe, group, new_id, patient
from security_support import base_url, register_new


def put(fhir: Fhir, rtype: str, rid: str, body: dict) -> None:
    resp = fhir.put(rtype, rid, body)
    assert resp.status_code in (200, 201), describe(resp)


def test_a_since_export_carries_new_members_whole_and_lists_what_left(fhir: Fhir):
    p = new_id("since")
    joined, stayed, left = f"{p}-joined", f"{p}-stayed", f"{p}-left"
    for pid in (joined, stayed, left):
        put(fhir, "Patient", pid, patient(pid))
        put(fhir, "Coverage", f"{pid}-cov", coverage(f"{pid}-cov", f"Patient/{pid}"))
    put(fhir, "Coverage", f"{stayed}-old", coverage(f"{stayed}-old", f"Patient/{stayed}"))
    gid = f"{p}-list"
    put(fhir, "Group", gid, group(gid, members=[f"Patient/{stayed}", f"Patient/{left}"]))
    time.sleep(1.1)
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"
    time.sleep(1.1)
    # After `since`: joined is added, left is removed, one of stayed's Coverages is deleted.
    put(fhir, "Group", gid, group(gid, members=[f"Patient/{stayed}", f"Patient/{joined}"]))
    assert fhir.delete("Coverage", f"{stayed}-old").status_code == 204

    client = register_new("since", "system/*.read", groups=[gid])
    session = client.session()
    result = run_export(session, base_url(), kickoff_get(session, base_url(), gid, f"_type=Group,Patient,Coverage&_since={quote(since)}"))
    assert result.ids("Patient") == [joined], "the new member whole; the one who stayed did not change"
    assert result.ids("Coverage") == [f"{joined}-cov"]
    assert result.ids("Group") == [gid]
    deleted_entries = result.manifest["deleted"]
    assert [e["type"] for e in deleted_entries] == ["Bundle"]
    lines = []
    for entry in deleted_entries:
        got = session.get(entry["url"], headers={"Accept": None})
        assert got.status_code == 200, describe(got)
        lines += got.text.splitlines()
        assert entry["count"] == len(got.text.splitlines())
    bundles = [json.loads(line) for line in lines]
    assert all(b["resourceType"] == "Bundle" and b["type"] == "transaction" and len(b["entry"]) == 1 for b in bundles)
    urls = sorted(b["entry"][0]["request"]["url"] for b in bundles)
    assert urls == sorted([f"Patient/{left}", f"Coverage/{stayed}-old"])
    assert all(b["entry"][0]["request"]["method"] == "DELETE" for b in bundles)
    assert left not in [r["id"] for r in result.resources()], "never also in output"

    # Without _since nothing is deleted and every current member is exported.
    full = run_export(session, base_url(), kickoff_get(session, base_url(), gid, "_type=Group,Patient,Coverage"))
    assert full.ids("Patient") == sorted([joined, stayed])
    assert full.manifest["deleted"] == []
