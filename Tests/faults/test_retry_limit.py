"""A task whose scheduler dies on every attempt is Failed once it has had `RetryLimit` re-runs,
with the reason as its 500 OperationOutcome, and no temporary directory outlives it."""
from __future__ import annotations

import os

from export_support import resources_written, stop_in_the_middle
from fault_support import FIGURES, TaskRows
from instances import imported_group, in_attempt, kill

TYPES = ["Group", "Patient", "Coverage", "RelatedPerson"]
RETRY_LIMIT = 2


def test_a_task_that_keeps_dying_is_failed_after_retry_limit_attempts(isolated):
    instance = isolated("retry-limit", **{"BulkDataExport.RetryLimit": RETRY_LIMIT})
    generated = imported_group(instance, "retry", 3000)
    rows = TaskRows(instance.database)
    task_id = instance.kickoff(generated.group_id, TYPES)
    attempts = RETRY_LIMIT + 1
    for attempt in range(1, attempts + 1):
        proc = instance.start_scheduler(log_name="dying")
        # Caught while stopped: a fast export could otherwise finish before the kill lands.
        stop_in_the_middle(proc.pid, lambda: in_attempt(rows, task_id, attempt,
                                                        lambda r: resources_written(r["progress"]) > 0),
                           timeout=300, step=0.005)
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
