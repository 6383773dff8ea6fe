"""FileRetentionPeriod: after it, atr-scheduler purges a finished task's files and the status
answers 410 (Gone), not 404; cancelled tasks stay 404. Audit.RetentionPeriod: the same cleanup
purges audit records older than it. An isolated instance with short retentions and a
one-second cleanup interval, driven through CGI and `atr-scheduler --once`."""
from __future__ import annotations

import os
import time

import pytest

from export_support import Instance, generate_atr_group
from fhir_support import require_env


@pytest.fixture(scope="module")
def instance(tmp_path_factory, repo_root, instance_settings):
    inst = Instance(str(tmp_path_factory.mktemp("retention")), require_env("ATR_BIN"), repo_root,
                    instance_settings, overrides={"BulkDataExport.FileRetentionPeriod": "00:00:01",
                                                  "BulkDataExport.CleanupCheckInterval": "00:00:01",
                                                  "Audit.RetentionPeriod": "00:00:03"})
    generated = generate_atr_group(os.path.join(inst.root, "data"), "retention-group", 5, opt_out_every=100)
    inst.import_files(*generated.files)
    yield inst
    inst.close()


def _run_scheduler_once(instance: Instance) -> None:
    process = instance.start_scheduler("--once", log_name=f"once-{time.monotonic_ns()}")
    assert process.wait(timeout=120) == 0, instance.logs()


def test_purged_task_answers_410_and_its_files_are_gone(instance):
    task_id = instance.kickoff("retention-group")
    _run_scheduler_once(instance)
    complete = instance.status(task_id)
    assert complete.status == 200, complete.describe()
    assert os.path.isdir(instance.task_dir(task_id))

    time.sleep(2.2)
    _run_scheduler_once(instance)
    gone = instance.status(task_id)
    assert gone.status == 410, gone.describe()
    assert gone.json()["resourceType"] == "OperationOutcome"
    assert "retention" in gone.json()["issue"][0]["diagnostics"]
    assert not os.path.exists(instance.task_dir(task_id))
    assert instance.task(task_id)["state"] == "expired"


def test_cancelled_task_stays_404_after_the_purge(instance):
    task_id = instance.kickoff("retention-group")
    _run_scheduler_once(instance)
    cancelled = instance.cgi("DELETE", "/fhir/$exportstatus", query=f"_id={task_id}")
    assert cancelled.status == 202, cancelled.describe()
    time.sleep(2.2)
    _run_scheduler_once(instance)
    assert instance.status(task_id).status == 404
    assert not os.path.exists(instance.task_dir(task_id))


def audit_actions(instance: Instance) -> list[tuple[str, str]]:
    rows = instance.atrctl("audit").stdout.decode().splitlines()[1:]
    return [(row.split()[1], row.split()[2]) for row in rows]


def test_audit_records_past_their_retention_period_are_purged(instance):
    time.sleep(3.5)
    _run_scheduler_once(instance)
    assert audit_actions(instance) == [], "older records were purged"
    task_id = instance.kickoff("retention-group")
    _run_scheduler_once(instance)
    assert instance.status(task_id).status == 200
    assert audit_actions(instance) == [("export-kickoff", "0"), ("export-complete", "0")]
    time.sleep(3.5)
    _run_scheduler_once(instance)
    assert audit_actions(instance) == []
