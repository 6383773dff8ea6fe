"""A task whose scheduler dies on every attempt is Failed once it has had `RetryLimit` re-runs,
with the reason as its 500 OperationOutcome, and no temporary directory outlives it."""
from __future__ import annotations

import os

import pytest

from export_support import generate_atr_group, resources_written
from fault_support import FIGURES, TaskRows
from instances import in_attempt, isolated_instance, kill, wait_for

TYPES = ["Group", "Patient", "Coverage", "RelatedPerson"]
RETRY_LIMIT = 2


@pytest.fixture(scope="module")
def instance(repo_root, instance_settings):
    inst = isolated_instance(repo_root, instance_settings, "retry-limit", **{"BulkDataExport.RetryLimit": RETRY_LIMIT})
    yield inst
    inst.close()


def test_a_task_that_keeps_dying_is_failed_after_retry_limit_attempts(instance):
    generated = generate_atr_group(os.path.join(instance.root, "data"), "retry", 3000)
    instance.import_files(*generated.files)
    rows = TaskRows(instance.database)
    task_id = instance.kickoff(generated.group_id, TYPES)
    attempts = RETRY_LIMIT + 1
    for attempt in range(1, attempts + 1):
        proc = instance.start_scheduler(log_name="dying")
        wait_for(lambda: in_attempt(rows, task_id, attempt, lambda r: resources_written(r["progress"]) > 0),
                 "progress", instance)
        kill(proc.pid)
        proc.wait(timeout=10)
        FIGURES.fault("scheduler SIGKILL every attempt")

    last = instance.start_scheduler("--once", log_name="giving-up")
    assert last.wait(timeout=120) == 0, instance.logs()
    row = rows.row(task_id)
    assert (row["state"], row["attempts"]) == ("failed", attempts), row
    status = instance.status(task_id)
    assert status.status == 500, status.describe()
    assert status.json() == {"resourceType": "OperationOutcome", "issue": [{
        "severity": "error", "code": "transient",
        "diagnostics": f"The export did not finish after {attempts} attempts (RetryLimit {RETRY_LIMIT})"}]}
    assert instance.building_entries(task_id) == [], "the dead attempts' temporary files are left"
    assert not os.path.exists(instance.task_dir(task_id))
    FIGURES.add(runs=1, tasks=1, responses=1)
    rows.close()
