"""Two and three schedulers on one queue of 50 tasks (20 in the short mode), all resumed at once on a full queue:
each task runs exactly once (one claim, one "export started" in all the logs together, its
files exactly once), and every scheduler gets a share of the work. The schedulers are started,
stopped (SIGSTOP) once each is running, and continued together after the kick-offs: started
straight onto the full queue, the first two finished the short mode's small exports before the
third had opened its database."""
from __future__ import annotations

import os
import re
import signal
import time

import pytest

from export_support import assert_complete_export
from fault_support import FIGURES, TaskRows
from instances import imported_group

TYPES = ["Group", "Patient", "Coverage", "RelatedPerson"]


@pytest.fixture(scope="module")
def instance(isolated):
    return isolated("sharing")


@pytest.fixture(scope="module")
def generated(instance):
    return imported_group(instance, "shared", 150, opt_out_every=50)


def started_tasks(log_path: str) -> list[str]:
    with open(log_path, encoding="utf-8", errors="replace") as log:
        return [match.group(1) for line in log if "export started" in line
                for match in [re.search(r"task-id=(\S+)", line)] if match]


def running(log_path: str) -> bool:
    with open(log_path, encoding="utf-8", errors="replace") as log:
        return any("atr-scheduler running" in line for line in log)


@pytest.mark.parametrize("schedulers", [2, 3])
def test_schedulers_sharing_a_queue_run_each_task_exactly_once(instance, generated, sizes, schedulers):
    procs = [instance.start_scheduler(log_name=f"share{schedulers}") for _ in range(schedulers)]
    rows = TaskRows(instance.database)
    try:
        deadline = time.monotonic() + 60
        while not all(running(proc.log_path) for proc in procs):
            assert time.monotonic() < deadline, "the schedulers did not start"
            assert all(proc.poll() is None for proc in procs), "a scheduler exited"
            time.sleep(0.05)
        for proc in procs:
            os.kill(proc.pid, signal.SIGSTOP)
        task_ids = [instance.kickoff(generated.group_id, TYPES) for _ in range(sizes.shared_tasks)]
        for proc in procs:
            os.kill(proc.pid, signal.SIGCONT)
        infos = rows.wait_until_finished(task_ids, timeout=600, logs=instance.logs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)  # a stopped process would not act on SIGTERM
        instance.stop_schedulers()
        rows.close()
    assert {(info["state"], info["attempts"]) for info in infos.values()} == {("complete", 1)}, infos

    started = [started_tasks(proc.log_path) for proc in procs]
    runs = [task for per in started for task in per if task in infos]
    duplicated = len(runs) - len(set(runs))
    FIGURES.add(duplicated=duplicated, lost=len(set(task_ids) - set(runs)))
    assert duplicated == 0 and sorted(runs) == sorted(task_ids), f"started: {started}"
    shares = [len([t for t in per if t in infos]) for per in started]
    assert all(shares), f"a scheduler ran nothing: {shares} of {len(task_ids)}"

    for task_id in task_ids:
        assert_complete_export(instance, task_id, generated, TYPES)
    FIGURES.add(runs=1, tasks=len(task_ids),
                resources_checked=len(task_ids) * sum(len(ids) for ids in generated.expected.values()))
