"""Isolated instances (own database, task directory and secret; see export_support.Instance)
under the fault stack's state directory, so that one `rm -rf var/faults` clears them too."""
from __future__ import annotations

import itertools
import os
import signal
import time

import pytest

from export_support import GeneratedGroup, Instance, generate_atr_group
from fault_support import TaskRows, state_dir
from fhir_support import require_env

_numbers = itertools.count(1)


def isolated_instance(repo_root: str, base_settings: str, name: str, **overrides) -> Instance:
    """``overrides``: settings as {"BulkDataExport.RetryLimit": 10}."""
    root = os.path.join(state_dir(), "instances", f"{name}-{next(_numbers)}")
    return Instance(root, require_env("ATR_BIN"), repo_root, base_settings, overrides=overrides)


def imported_group(instance: Instance, group_id: str, members: int, **shape) -> GeneratedGroup:
    """A generated ATR Group (export_support.generate_atr_group ``shape``) loaded into ``instance``."""
    group = generate_atr_group(os.path.join(instance.root, "data"), group_id, members, **shape)
    instance.import_files(*group.files)
    return group


def wrapped_pid(proc, timeout: float = 10) -> int:
    """The pid of the program a wrapper (strace) runs: the one to kill."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for thread in os.listdir(f"/proc/{proc.pid}/task"):
            with open(f"/proc/{proc.pid}/task/{thread}/children", encoding="ascii") as handle:
                children = handle.read().split()
            if children:
                return int(children[0])
        time.sleep(0.05)
    raise AssertionError(f"{proc.args} started no program")


def wait_for(condition, what: str, instance, timeout: float = 300):
    """condition()'s first true value, polled every 5 ms: fast enough to catch a scheduler between two of its steps."""
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {timeout:.0f} s\n{instance.logs()}")
        time.sleep(0.005)
    return found


def running(pid: int) -> bool:
    """Exists and is not a zombie nobody has reaped yet."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone before, or while, the file is read
        return False


def kill(pid: int) -> None:
    """SIGKILL, returning once the process is gone."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while running(pid):
        assert time.monotonic() < deadline, f"{pid} survived SIGKILL"
        time.sleep(0.01)


def in_attempt(rows: TaskRows, task_id: str, attempt: int, condition):
    """The task's row once the scheduler of ``attempt`` holds it and ``condition`` holds; the
    row keeps the progress of the attempt killed before until the next claim."""
    row = rows.row(task_id)
    return row if row["state"] == "active" and row["attempts"] == attempt and condition(row) else None
