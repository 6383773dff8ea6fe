"""`atr-scheduler` killed with SIGKILL at random points of a large export, and at the two
points between its last steps: inside the rename that publishes the files, and after it,
while the completion commit waits. After each kill a new scheduler takes the task over at
once (the dead holder is of this host) and, at the end of a run, finishes it: every resource
exactly once, and no manifest that lists a missing or partial file — a task that is not
complete answers 202, however far its files got.

strace delays the publishing rename (`-e inject=…:delay_enter`) so the kill lands inside it;
holding the database's write lock keeps the completion commit waiting after it.
"""
from __future__ import annotations

import os
import random
import time

import pytest

from export_support import assert_complete_export, resources_written, stop_in_the_middle
from fault_support import FIGURES, TaskRows, write_lock
from instances import imported_group, in_attempt, kill, wait_for, wrapped_pid

TYPES = ["Group", "Patient", "Coverage", "RelatedPerson"]
RENAMES = "rename,renameat,renameat2"
RENAME_DELAY_SECONDS = 3
DELAYED_RENAME = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"trace={RENAMES}",
                  "-e", f"inject={RENAMES}:delay_enter={RENAME_DELAY_SECONDS * 1_000_000}"]
PHASES = ("mid-export", "in-rename", "in-completion-commit")


@pytest.fixture(scope="module")
def instance(isolated):
    # Every kill costs an attempt; the limit itself is tested in test_retry_limit.py.
    return isolated("kills", **{"BulkDataExport.RetryLimit": 50})


@pytest.fixture(scope="module")
def generated(instance, sizes):
    return imported_group(instance, "kill-large", sizes.kill_members, opt_out_every=100, display_padding=100)


def publishing(row: dict) -> bool:
    return row["progress"] == "publishing"


def kill_mid_export(instance, rows: TaskRows, task_id: str, attempt: int, total: int, rng: random.Random) -> str:
    # Progress is recorded every BatchSize (200) resources: a target in the last two batches
    # could be passed by the completion. The scheduler runs 5 ms at a time (far fewer than 400
    # resources) and is looked at while stopped, so the kill lands where it was seen.
    target = rng.randint(1, total - 400)
    proc = instance.start_scheduler(log_name="mid-export")
    row = stop_in_the_middle(
        proc.pid, lambda: in_attempt(rows, task_id, attempt, lambda r: resources_written(r["progress"]) >= target),
        timeout=300, step=0.005)
    kill(proc.pid)
    proc.wait(timeout=10)
    return f"mid-export at {resources_written(row['progress'])}/{total} resources"


def kill_in_rename(instance, rows: TaskRows, task_id: str, attempt: int) -> str:
    proc = instance.start_scheduler(log_name="in-rename", wrapper=DELAYED_RENAME)
    wait_for(lambda: in_attempt(rows, task_id, attempt, publishing), "publishing", instance)
    time.sleep(RENAME_DELAY_SECONDS / 3)
    assert not os.path.exists(instance.task_dir(task_id)), "the rename was not delayed"
    kill(wrapped_pid(proc))
    proc.wait(timeout=10)
    return "in the publishing rename"


def kill_in_completion_commit(instance, rows: TaskRows, task_id: str, attempt: int) -> str:
    proc = instance.start_scheduler(log_name="in-commit", wrapper=DELAYED_RENAME)
    wait_for(lambda: in_attempt(rows, task_id, attempt, publishing), "publishing", instance)
    with write_lock(instance.database):
        # An earlier attempt's published directory may still be there until this one's publish
        # replaces it; the temporary directory is gone only once this rename is done.
        wait_for(lambda: not instance.building_entries(task_id) and os.path.isdir(instance.task_dir(task_id)),
                 "the rename", instance)
        time.sleep(0.3)
        kill(wrapped_pid(proc))
    proc.wait(timeout=10)
    return "after the rename, in the completion commit"


def assert_not_published(instance, rows: TaskRows, task_id: str, where: str) -> None:
    row = rows.row(task_id)
    assert row["state"] == "active" and row["manifest"] is None, f"{where}: {row}"
    status = instance.status(task_id)
    assert status.status == 202, f"{where}: {status.describe()}"


def test_a_scheduler_killed_anywhere_in_an_export_leaves_it_to_finish_exactly_once(instance, generated, sizes):
    rows = TaskRows(instance.database)
    seed = int(os.environ.get("FAULTS_SEED") or time.time())
    rng = random.Random(seed)
    total = sum(len(ids) for ids in generated.expected.values())
    for run in range(sizes.kill_runs):
        task_id = instance.kickoff(generated.group_id, TYPES)
        phases = list(PHASES) + ["mid-export"] * (sizes.kills_per_run - len(PHASES))
        rng.shuffle(phases)
        for kills, phase in enumerate(phases, 1):
            if phase == "mid-export":
                where = kill_mid_export(instance, rows, task_id, kills, total, rng)
            elif phase == "in-rename":
                where = kill_in_rename(instance, rows, task_id, kills)
            else:
                where = kill_in_completion_commit(instance, rows, task_id, kills)
            where = f"run {run + 1} (seed {seed}), kill {kills}: {where}"
            assert_not_published(instance, rows, task_id, where)
            assert rows.row(task_id)["attempts"] == kills, where
            FIGURES.fault(f"scheduler SIGKILL {phase}")

        finisher = instance.start_scheduler(log_name="finisher")
        done = instance.wait_for_state([task_id], "complete", timeout=600)[task_id]
        assert done["attempts"] == str(len(phases) + 1), done
        assert_complete_export(instance, task_id, generated, TYPES)

        # Killed once the completion is committed: nothing runs again, the files stay.
        kill(finisher.pid)
        finisher.wait(timeout=10)
        FIGURES.fault("scheduler SIGKILL after-completion")
        again = instance.start_scheduler("--once", log_name="after-completion")
        assert again.wait(timeout=120) == 0, instance.logs()
        assert rows.row(task_id)["attempts"] == len(phases) + 1
        assert_complete_export(instance, task_id, generated, TYPES)
        FIGURES.add(runs=1, tasks=1, resources_checked=total)
    rows.close()
