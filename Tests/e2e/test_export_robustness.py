"""Scheduler robustness (README "Decisions a user could trip over", Export, Reliability): `atr-scheduler` killed with SIGKILL in the middle
of a large export finishes it after a restart with every resource exactly once and no partial
file ever listed; two schedulers on one queue run each task exactly once.

These tests run an isolated instance (own database, task directory, secret; lease 1 min, batch
200, RepeatPeriod 100 ms) so the stack's own atr-scheduler never touches their tasks. Tasks are
created through `atr-fcgi` in CGI mode, inspected with `atrctl tasks show`, and files are read
straight from the task directory.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from export_support import (
    GeneratedGroup, Instance, assert_complete_export, generate_atr_group, partial_bytes, require_env,
    resources_written, stop_in_the_middle,
)

#: A large export: 5000 members (Patient, Coverage, RelatedPerson each), 1% opted out. About
#: 15,000 resources; the scheduler is caught in the middle by running it a few milliseconds at
#: a time (stop_in_the_middle), since a debug build exports them in well under a second. Member
#: displays make the Group about 2 MB, past the scheduler's 1 MB read window, so reading it
#: piece by piece and copying kept members across window edges is exercised.
LARGE_MEMBERS = 5000
LARGE_DISPLAY_PADDING = 200
SMALL_MEMBERS = 150
TASKS = 20
TYPES = ["Group", "Patient", "Coverage", "RelatedPerson"]


def well_under_way(instance, task_id: str, partial_bytes_too: bool = False) -> bool:
    """Two progress batches written (or, with ``partial_bytes_too``, 64 KiB on disk); the task
    may not have ended yet: the scheduler is looked at while stopped, so it cannot end unseen."""
    info = instance.task(task_id)
    assert info.get("state") in ("queued", "active"), f"the export ended before it could be killed: {info}"
    return info["state"] == "active" and (resources_written(info.get("progress", "")) >= 400
                                          or (partial_bytes_too and partial_bytes(instance, task_id) >= 1 << 16))


@pytest.fixture(scope="module")
def instance(tmp_path_factory, repo_root, instance_settings):
    # Leases of a minute: a scheduler run in steps (stop_in_the_middle) is stopped most of the
    # time while it is looked at, and must not lose its lease to its own second worker meanwhile.
    inst = Instance(str(tmp_path_factory.mktemp("isolated")), require_env("ATR_BIN"),
                    repo_root, instance_settings, overrides={"BulkDataExport.LeaseDuration": "00:01:00"})
    yield inst
    inst.close()


@pytest.fixture(scope="module")
def large_group(instance) -> GeneratedGroup:
    generated = generate_atr_group(os.path.join(instance.root, "data"), "robust-large",
                                   LARGE_MEMBERS, opt_out_every=100, display_padding=LARGE_DISPLAY_PADDING)
    instance.import_files(*generated.files)
    return generated


@pytest.fixture(scope="module")
def small_group(instance) -> GeneratedGroup:
    generated = generate_atr_group(os.path.join(instance.root, "data"), "robust-small",
                                   SMALL_MEMBERS, opt_out_every=50)
    instance.import_files(*generated.files)
    return generated


def test_scheduler_killed_mid_export_completes_after_restart(instance, large_group):
    task_id = instance.kickoff(large_group.group_id, TYPES)
    assert instance.task(task_id)["state"] == "queued"
    first = instance.start_scheduler(log_name="killed")

    # Kill once the export is well under way: two batches written (progress) or 64 KiB on disk.
    stop_in_the_middle(first.pid, lambda: well_under_way(instance, task_id, partial_bytes_too=True))
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL

    killed = instance.task(task_id)
    assert killed["state"] == "active", killed
    assert killed["attempts"] == "1", killed
    assert resources_written(killed["progress"]) < sum(map(len, large_group.expected.values())), killed
    # Nothing published: the final directory does not exist, the partial files are only in the
    # temporary one, and the status has no manifest.
    assert not os.path.exists(instance.task_dir(task_id)), os.listdir(instance.task_dir(task_id))
    assert instance.building_entries(task_id), "the killed scheduler left no temporary directory"
    status = instance.status(task_id)
    assert status.status == 202, status.describe()
    assert "x-progress" in status.headers and "retry-after" in status.headers, status.describe()

    instance.start_scheduler(log_name="restarted")
    done = instance.wait_for_state([task_id], "complete", timeout=180)[task_id]
    assert done["attempts"] == "2", done
    assert_complete_export(instance, task_id, large_group, TYPES)
    instance.stop_schedulers()


def test_two_schedulers_run_each_of_twenty_tasks_exactly_once(instance, small_group):
    task_ids = [instance.kickoff(small_group.group_id, TYPES) for _ in range(TASKS)]
    assert len(set(task_ids)) == TASKS
    pair = [instance.start_scheduler("--once", log_name="pair") for _ in range(2)]
    for proc in pair:
        try:
            assert proc.wait(timeout=300) == 0, instance.logs()
        except subprocess.TimeoutExpired:
            pytest.fail(f"atr-scheduler --once did not finish\n{instance.logs()}")

    for task_id in task_ids:
        info = instance.task(task_id)
        assert info["state"] == "complete", info
        assert info["attempts"] == "1", info
        assert_complete_export(instance, task_id, small_group, TYPES)

    logs = []
    for proc in pair:
        with open(proc.log_path, encoding="utf-8", errors="replace") as handle:  # type: ignore[attr-defined]
            logs.append(handle.read())
    for task_id in task_ids:
        starts = sum(1 for log in logs for line in log.splitlines()
                     if task_id in line and "export started" in line)
        assert starts == 1, f"task {task_id} started {starts} times\n{instance.logs()}"


@pytest.fixture(scope="module")
def long_lease_instance(tmp_path_factory, repo_root, instance_settings):
    """Leases of ten minutes: a task may only be taken over early because its holder is gone."""
    inst = Instance(str(tmp_path_factory.mktemp("long-lease")), require_env("ATR_BIN"), repo_root, instance_settings,
                    overrides={"BulkDataExport.LeaseDuration": "00:10:00"})
    yield inst
    inst.close()


def test_a_scheduler_restarted_on_the_same_host_takes_over_a_dead_ones_task_at_once(long_lease_instance):
    instance = long_lease_instance
    generated = generate_atr_group(os.path.join(instance.root, "data"), "robust-lease", 3000, opt_out_every=100)
    instance.import_files(*generated.files)
    task_id = instance.kickoff(generated.group_id, TYPES)
    first = instance.start_scheduler(log_name="holder")
    stop_in_the_middle(first.pid, lambda: well_under_way(instance, task_id))
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    started = time.monotonic()
    instance.start_scheduler(log_name="successor")
    done = instance.wait_for_state([task_id], "complete", timeout=120)[task_id]
    assert time.monotonic() - started < 120, "not waiting out the ten-minute lease"
    assert done["attempts"] == "2", done
    assert_complete_export(instance, task_id, generated, TYPES)
    instance.stop_schedulers()
