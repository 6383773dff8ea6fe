"""A task that fails tells its client why in stable words, and nothing else (README "Decisions a user
could trip over", Export, failed tasks): a full disk and a read-only task directory end the task Failed with a 500
OperationOutcome naming the cause, its temporary files are removed, the scheduler keeps
running and the next task completes. The technical detail (errno text, paths) is in the
scheduler's log, never in the client's answer.

The task directory of an isolated instance is a small tmpfs (CI runs as root), so the disk
really fills up while the scheduler writes.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from export_support import (
    DISK_FULL, UNWRITABLE, GeneratedGroup, Instance, assert_failed_with, generate_atr_group, mount_tmpfs,
    require_env,
)

TYPES = ["Group", "Patient", "Coverage", "RelatedPerson"]


@pytest.fixture(scope="module")
def instance(tmp_path_factory, repo_root, instance_settings):
    assert os.geteuid() == 0, "these tests mount a tmpfs for the task directory: run them as root (CI does)"
    inst = Instance(str(tmp_path_factory.mktemp("failures")), require_env("ATR_BIN"), repo_root, instance_settings)
    mount_tmpfs(inst.storage, "64k")
    yield inst
    inst.close()
    subprocess.run(["umount", inst.storage], check=False)


@pytest.fixture(scope="module")
def big_group(instance) -> GeneratedGroup:
    generated = generate_atr_group(os.path.join(instance.root, "data"), "fail-big", 600)
    instance.import_files(*generated.files)
    return generated


@pytest.fixture(scope="module")
def small_group(instance) -> GeneratedGroup:
    generated = generate_atr_group(os.path.join(instance.root, "data"), "fail-small", 3)
    instance.import_files(*generated.files)
    return generated


@pytest.fixture(scope="module")
def scheduler(instance):
    proc = instance.start_scheduler(log_name="failures")
    yield proc


def test_disk_full_fails_the_task_cleanly_and_the_next_one_completes(instance, big_group, small_group, scheduler):
    task_id = instance.kickoff(big_group.group_id, TYPES)
    assert_failed_with(instance, task_id, "transient", DISK_FULL)
    with open(scheduler.log_path, encoding="utf-8", errors="replace") as log:
        assert "No space left on device" in log.read(), "the scheduler's log should hold the detail"
    assert scheduler.poll() is None, instance.logs()

    small = instance.kickoff(small_group.group_id, TYPES)
    instance.wait_for_state([small], "complete", timeout=60)
    assert instance.status(small).status == 200
    assert sorted(os.listdir(instance.task_dir(small))) == [
        "contentCoverage.ndjson", "contentGroup.ndjson", "contentPatient.ndjson", "contentRelatedPerson.ndjson"]


def test_a_read_only_task_directory_fails_the_task_and_the_scheduler_goes_on(instance, small_group, scheduler):
    subprocess.run(["mount", "-o", "remount,ro", instance.storage], check=True)
    try:
        task_id = instance.kickoff(small_group.group_id, TYPES)
        assert_failed_with(instance, task_id, "transient", UNWRITABLE)
        assert scheduler.poll() is None, instance.logs()
    finally:
        subprocess.run(["mount", "-o", "remount,rw", instance.storage], check=True)
    again = instance.kickoff(small_group.group_id, TYPES)
    instance.wait_for_state([again], "complete", timeout=60)
    assert instance.status(again).status == 200
