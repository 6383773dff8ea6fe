"""Isolated instances (own database, task directory and secret; see export_support.Instance)
under the fault stack's state directory, so that one `rm -rf var/faults` clears them too."""
from __future__ import annotations

import itertools
import os
import time

from export_support import Instance
from fault_support import state_dir
from fhir_support import require_env

_numbers = itertools.count(1)


def isolated_instance(repo_root: str, base_settings: str, name: str, **overrides) -> Instance:
    """``overrides``: settings as {"BulkDataExport.RetryLimit": 10}."""
    root = os.path.join(state_dir(), "instances", f"{name}-{next(_numbers)}")
    return Instance(root, require_env("ATR_BIN"), repo_root, base_settings, overrides=overrides)


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
