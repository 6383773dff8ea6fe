"""`atrctl import` writes all of a batch or none of it, and says so (README "REST and data
loading"): a batch that cannot be committed stops the import with its file and line range
and exit status 1, a transaction Bundle lands whole or not at all through the same executor
as `POST {base}`, and a batch Bundle commits entry by entry.

A failing write is made real with an SQLite trigger that aborts the insert of one id, so the
database answers the importer's batch with an error exactly as a full disk would.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess

import pytest

from export_support import SQLITE_ONLY, Instance, require_env, subprocess_env


@pytest.fixture
def instance(tmp_path, repo_root, instance_settings):
    inst = Instance(str(tmp_path / "import"), require_env("ATR_BIN"), repo_root, instance_settings)
    yield inst
    inst.close()


def run_import(instance: Instance, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(instance.bin_dir, "atrctl"), "import", *args],
                          cwd=instance.cwd, env=subprocess_env(instance.settings_file),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


def stored_ids(instance: Instance, rtype: str) -> list[str]:
    assert re.fullmatch(r"[A-Za-z]+", rtype)
    return [row[0] for row in instance.sql(f"SELECT id FROM resources WHERE type = '{rtype}' AND deleted = 0 ORDER BY id")]


def patient(pid: str) -> dict:
    return {"resourceType": "Patient", "id": pid, "active": True}


def write_ndjson(path, resources) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    return str(path)


def write_json(path, document) -> str:
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return str(path)


@SQLITE_ONLY
def test_a_batch_that_cannot_be_written_stops_the_import_naming_its_lines(instance, tmp_path):
    with sqlite3.connect(instance.database) as db:
        db.execute("CREATE TRIGGER poison BEFORE INSERT ON resources WHEN NEW.id = 'poison' "
                   "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END")
    source = write_ndjson(tmp_path / "members.ndjson",
                          [patient("p1"), patient("p2"), patient("p3"), patient("poison"),
                           patient("p5"), patient("p6")])

    proc = run_import(instance, "--batch-size", "2", source)

    assert proc.returncode == 1, proc
    stderr = proc.stderr.decode()
    assert f"atrctl import stopped at {source}:3-4: " in stderr, stderr
    assert "poisoned row" in stderr and "none of these 2 resources was written" in stderr, stderr
    assert "imported 2 resources (2 created, 0 updated) from 1 file(s)" in proc.stdout.decode(), proc
    # The batch before the failure is committed; the failed batch and everything after it are not.
    assert stored_ids(instance, "Patient") == ["p1", "p2"]


@SQLITE_ONLY
def test_a_rerun_after_the_failure_is_fixed_completes_the_import(instance, tmp_path):
    with sqlite3.connect(instance.database) as db:
        db.execute("CREATE TRIGGER poison BEFORE INSERT ON resources WHEN NEW.id = 'p3' "
                   "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END")
    source = write_ndjson(tmp_path / "members.ndjson", [patient(f"p{n}") for n in range(1, 6)])
    assert run_import(instance, "--batch-size", "2", source).returncode == 1
    with sqlite3.connect(instance.database) as db:
        db.execute("DROP TRIGGER poison")

    proc = run_import(instance, "--batch-size", "2", source)

    assert proc.returncode == 0, proc
    assert "imported 5 resources (3 created, 2 updated) from 1 file(s)" in proc.stdout.decode(), proc
    assert stored_ids(instance, "Patient") == ["p1", "p2", "p3", "p4", "p5"]


def transaction(*entries: dict) -> dict:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def put(resource: dict) -> dict:
    return {"resource": resource, "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}}


def delete(url: str) -> dict:
    return {"request": {"method": "DELETE", "url": url}}


def test_a_transaction_with_a_failing_entry_writes_nothing_not_even_its_deletes(instance, tmp_path):
    assert run_import(instance, write_ndjson(tmp_path / "keep.ndjson", [patient("keep")])).returncode == 0
    bundle = write_json(tmp_path / "tx.json", transaction(
        delete("Patient/keep"), put(patient("t1")), delete("Patient/never-existed")))

    proc = run_import(instance, bundle)

    assert proc.returncode == 1, proc
    assert f"{bundle}: entry[2]: Patient/never-existed is not known; nothing of the transaction was written" \
        in proc.stderr.decode(), proc
    assert "imported 0 resources (0 created, 0 updated) from 1 file(s)" in proc.stdout.decode(), proc
    assert stored_ids(instance, "Patient") == ["keep"]


def test_a_transaction_with_an_invalid_entry_writes_nothing(instance, tmp_path):
    assert run_import(instance, write_ndjson(tmp_path / "keep.ndjson", [patient("keep")])).returncode == 0
    mismatched = {"resource": patient("other"), "request": {"method": "PUT", "url": "Patient/t2"}}
    bundle = write_json(tmp_path / "tx.json", transaction(delete("Patient/keep"), put(patient("t1")), mismatched))

    proc = run_import(instance, bundle)

    assert proc.returncode == 1, proc
    stderr = proc.stderr.decode()
    assert stderr.startswith(f"{bundle}: entry[2]: "), stderr
    assert stderr.rstrip().endswith("; nothing of the transaction was written"), stderr
    assert stored_ids(instance, "Patient") == ["keep"]


def test_a_transaction_lands_whole_with_its_deletes_and_resolved_references(instance, tmp_path):
    assert run_import(instance, write_ndjson(tmp_path / "old.ndjson", [patient("old")])).returncode == 0
    bundle = write_json(tmp_path / "tx.json", transaction(
        {"fullUrl": "urn:uuid:0d5c4b3a-1111-4222-8333-944455556666",
         "resource": {"resourceType": "Patient", "active": True},
         "request": {"method": "POST", "url": "Patient"}},
        put({"resourceType": "Coverage", "id": "cov1", "status": "active",
             "beneficiary": {"reference": "urn:uuid:0d5c4b3a-1111-4222-8333-944455556666"},
             "payor": [{"reference": "Organization/payer"}]}),
        delete("Patient/old")))

    proc = run_import(instance, bundle)

    assert proc.returncode == 0, proc
    assert "imported 2 resources (2 created, 0 updated, 1 deleted) from 1 file(s)" in proc.stdout.decode(), proc
    [new_patient] = stored_ids(instance, "Patient")
    assert new_patient != "old"
    [(coverage,)] = instance.sql("SELECT json FROM resources WHERE type = 'Coverage' AND id = 'cov1'")
    assert json.loads(coverage)["beneficiary"] == {"reference": f"Patient/{new_patient}"}


def test_a_batch_bundle_commits_the_good_entries_and_reports_the_bad(instance, tmp_path):
    bundle = write_json(tmp_path / "batch.json", {"resourceType": "Bundle", "type": "batch", "entry": [
        put(patient("b1")), delete("Patient/never-existed"), put(patient("b2"))]})

    proc = run_import(instance, bundle)

    assert proc.returncode == 1, proc
    assert f"{bundle}: entry[1]: Patient/never-existed is not known" in proc.stderr.decode(), proc
    assert "imported 2 resources (2 created, 0 updated) from 1 file(s)" in proc.stdout.decode(), proc
    assert stored_ids(instance, "Patient") == ["b1", "b2"]
