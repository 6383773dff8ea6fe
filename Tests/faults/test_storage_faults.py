"""Storage failing under a running scheduler.

The task directory on a 2 MB tmpfs fills up in the middle of an export: that task is Failed
with the 500 OperationOutcome naming the full disk and leaves no temporary files, the tasks
queued around it complete, and the scheduler keeps running. (A read-only task directory:
Tests/e2e/test_export_failures.py; Linux refuses to remount a file system read-only while
the scheduler has a file open on it for writing, so mid-export it can only fill up.)

The database refuses writes mid-export — another process holds its write lock longer than
`Database.BusyTimeout`: the scheduler can record neither progress nor a failure, so it drops
its temporary files and goes on; kick-offs meanwhile are the documented 503 + Retry-After,
status polls still answer; once writes succeed again the task runs again when its lease
lapses and completes, exactly once.
"""
from __future__ import annotations

import os
import subprocess
import time

import pytest

from export_support import (
    DISK_FULL, assert_complete_export, assert_failed_with, mount_tmpfs, resources_written,
)
from fault_support import FIGURES, TaskRows, write_lock
from instances import imported_group, wait_for

TYPES = ["Group", "Patient", "Coverage", "RelatedPerson"]


@pytest.fixture(scope="module")
def full_disk_instance(isolated):
    assert os.geteuid() == 0, "this test mounts a tmpfs for the task directory: run it as root (CI does)"
    inst = isolated("disk-full")
    mount_tmpfs(inst.storage, "2m")
    yield inst
    inst.close()  # before the unmount: a scheduler may hold a file open there
    subprocess.run(["umount", inst.storage], check=False)


def test_a_full_task_directory_fails_that_task_only(full_disk_instance, sizes):
    instance = full_disk_instance
    # About 3 MB of NDJSON: more than the file system holds.
    big = imported_group(instance, "disk-big", 4000, display_padding=200)
    small = imported_group(instance, "disk-small", 3)
    scheduler = instance.start_scheduler(log_name="disk-full")
    for _ in range(sizes.disk_full_rounds):
        before = instance.kickoff(small.group_id, TYPES)
        failing = instance.kickoff(big.group_id, TYPES)
        after = [instance.kickoff(small.group_id, TYPES) for _ in range(2)]
        assert_failed_with(instance, failing, "transient", DISK_FULL)
        instance.wait_for_state([before, *after], "complete", timeout=120)
        for task_id in (before, *after):
            assert_complete_export(instance, task_id, small, TYPES)
        assert scheduler.poll() is None, instance.logs()
        FIGURES.fault("task directory full")
        FIGURES.add(runs=1, tasks=4, resources_checked=3 * sum(len(ids) for ids in small.expected.values()))
    with open(scheduler.log_path, encoding="utf-8", errors="replace") as log:
        assert "No space left on device" in log.read(), "the scheduler's log should hold the detail"


def test_a_database_that_refuses_writes_mid_export_delays_the_task_but_loses_nothing(isolated):
    instance = isolated("db-locked", **{"Database.BusyTimeout": 500})
    generated = imported_group(instance, "db-locked", 3000, opt_out_every=100)
    rows = TaskRows(instance.database)
    task_id = instance.kickoff(generated.group_id, TYPES)
    scheduler = instance.start_scheduler(log_name="db-locked")
    wait_for(lambda: resources_written(rows.row(task_id)["progress"]), "progress", instance)

    with write_lock(instance.database):
        FIGURES.fault("database refusing writes")
        # Renewal, then recording the failure: each gives up after the busy timeout.
        deadline = time.monotonic() + 60
        while instance.building_entries(task_id):
            assert time.monotonic() < deadline, "the scheduler kept its temporary files"
            time.sleep(0.05)
        kickoff = instance.cgi("GET", f"/fhir/Group/{generated.group_id}/$davinci-data-export",
                               query=f"_type={','.join(TYPES)}", headers={"Prefer": "respond-async"})
        assert kickoff.status == 503 and kickoff.headers.get("retry-after"), kickoff.describe()
        status = instance.status(task_id)
        assert status.status == 202, status.describe()
        FIGURES.add(responses=2, documented_503=1)
        assert scheduler.poll() is None, instance.logs()

    done = instance.wait_for_state([task_id], "complete", timeout=300)[task_id]
    assert int(done["attempts"]) >= 2, done
    assert_complete_export(instance, task_id, generated, TYPES)
    assert scheduler.poll() is None, instance.logs()
    FIGURES.add(runs=1, tasks=1, resources_checked=sum(len(ids) for ids in generated.expected.values()))
    rows.close()
