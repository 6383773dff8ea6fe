"""What the fault tests share: the mode's sizes, the figures they add up, and direct looks
at an instance's task rows (SQLite, read-only) that are fast enough to catch a scheduler
between two of its steps.

The short mode runs inside `make test`; the long mode (`make chaos`) the sizes the README's
"Fault injection" figures come from.
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field

from fhir_support import require_env


@dataclass(frozen=True)
class Mode:
    name: str
    #: Members of the Group a killed scheduler exports (three resources each).
    kill_members: int
    #: Exports killed, and how often each is killed before it may finish.
    kill_runs: int
    kills_per_run: int
    shared_tasks: int
    #: Members of the file `atrctl import` loads while clients work.
    import_members: int
    #: Repetitions of the cancel and purge races, and of the full-disk task.
    races: int
    disk_full_rounds: int
    fcgi_kills: int


MODES = {
    "short": Mode("short", kill_members=3000, kill_runs=1, kills_per_run=4, shared_tasks=20,
                  import_members=5000, races=5, disk_full_rounds=1, fcgi_kills=2),
    "long": Mode("long", kill_members=20000, kill_runs=3, kills_per_run=4, shared_tasks=50,
                 import_members=100000, races=40, disk_full_rounds=3, fcgi_kills=6),
}


def mode() -> Mode:
    name = os.environ.get("FAULTS_MODE", "short")
    assert name in MODES, f"FAULTS_MODE={name}: expected one of {sorted(MODES)}"
    return MODES[name]


@dataclass
class Figures:
    """Counted over the whole run and printed at its end (`make chaos` prints the README's)."""
    runs: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    tasks: int = 0
    resources_checked: int = 0
    responses: int = 0
    server_errors: int = 0
    documented_503: int = 0
    #: 502/503 from nginx while atr-fcgi was down.
    outage_responses: int = 0
    lost: int = 0
    duplicated: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fault(self, kind: str, count: int = 1) -> None:
        with self._lock:
            self.faults[kind] = self.faults.get(kind, 0) + count

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def lines(self) -> list[str]:
        faults = ", ".join(f"{kind} {n}" for kind, n in sorted(self.faults.items())) or "none"
        return [f"runs: {self.runs}",
                f"faults injected: {sum(self.faults.values())} ({faults})",
                f"tasks: {self.tasks}",
                f"resources checked: {self.resources_checked}",
                f"responses: {self.responses}; 5xx: {self.server_errors} "
                f"(besides {self.documented_503} documented 503 + Retry-After, "
                f"and {self.outage_responses} 502/503 while atr-fcgi was down)",
                f"lost: {self.lost}, duplicated: {self.duplicated}"]

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as out:
            json.dump({k: v for k, v in self.__dict__.items() if not k.startswith("_")}, out, indent=2)


FIGURES = Figures()


def state_dir() -> str:
    return require_env("ATR_STATE_DIR")


class TaskRows:
    """The tasks table of one database, read directly: `atrctl tasks show` starts a process per
    look, too slow to see a scheduler between publishing and completing."""

    def __init__(self, database: str):
        self.connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30,
                                          check_same_thread=False)
        self.connection.row_factory = sqlite3.Row

    def row(self, task_id: str) -> dict:
        found = self.connection.execute(
            "SELECT state, attempts, progress, lease_owner, manifest FROM tasks WHERE id = ?",
            (task_id,)).fetchone()
        assert found is not None, f"task {task_id} has no row"
        return dict(found)

    def wait_until_finished(self, task_ids: list[str], timeout: float, logs=lambda: "") -> dict[str, dict]:
        """Each task's row once none is queued or active any more."""
        deadline = time.monotonic() + timeout
        while True:
            found = {task_id: self.row(task_id) for task_id in task_ids}
            if all(row["state"] not in ("queued", "active") for row in found.values()):
                return found
            assert time.monotonic() < deadline, \
                f"tasks unfinished after {timeout:.0f} s: {[t for t, r in found.items() if r['state'] in ('queued', 'active')][:5]}\n{logs()}"
            time.sleep(0.1)

    def count(self, where: str, *args) -> int:
        return self.connection.execute(f"SELECT count(*) FROM tasks WHERE {where}", args).fetchone()[0]

    def close(self) -> None:
        self.connection.close()


@contextlib.contextmanager
def write_lock(database: str):
    """Holds the database's write lock: every writer (a scheduler renewing its lease or
    completing a task) waits at its next write until the block ends."""
    connection = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()
