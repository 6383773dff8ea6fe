"""`atr-fcgi` killed with SIGKILL while clients keep working: the stack starts it again
(scripts/respawn.sh; in production systemd, Restart=on-failure), clients see only 502 or 503
from nginx while it is gone, and no task row is lost or duplicated — every accepted kick-off
has its row, and no more rows appear than kick-offs were sent."""
from __future__ import annotations

import os
import time

import requests

from client_load import ClientLoad
from fault_support import FIGURES, TaskRows, state_dir
from instances import kill, running

GROUP = "atr-group-sunrise"
OUTAGE_STATUSES = (502, 503)


def fcgi_pid() -> int | None:
    try:
        with open(os.path.join(state_dir(), "run", "atr-fcgi.pid"), encoding="ascii") as handle:
            return int(handle.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def wait_until_restarted(killed: int, base: str, ca: str) -> int:
    deadline = time.monotonic() + 60
    while True:
        pid = fcgi_pid()
        if pid and pid != killed and running(pid):
            try:
                if requests.get(f"{base}/metadata", verify=ca, timeout=10).status_code == 200:
                    return pid
            except requests.RequestException:
                pass
        assert time.monotonic() < deadline, f"atr-fcgi not back 60 s after pid {killed} was killed"
        time.sleep(0.1)


def test_atr_fcgi_killed_under_load_comes_back_and_loses_no_task(make_session, base, ca, sizes):
    rows = TaskRows(os.path.join(state_dir(), "db", "atr.sqlite"))
    started_ms = int(time.time() * 1000)
    with ClientLoad(make_session, base, GROUP) as load:
        for _ in range(sizes.fcgi_kills):
            time.sleep(1)
            pid = fcgi_pid()
            assert pid and running(pid), "atr-fcgi is not running"
            kill(pid)
            FIGURES.fault("atr-fcgi SIGKILL")
            wait_until_restarted(pid, base, ca)
        time.sleep(1)
    assert not load.failures, load.failures[:3]

    unexpected = [a for a in load.answers if a[1] not in OUTAGE_STATUSES]
    outage = sum(n for status, n in load.statuses.items() if status in OUTAGE_STATUSES)
    FIGURES.add(server_errors=sum(1 for a in unexpected if a[1] >= 500), outage_responses=outage)
    assert not unexpected, f"{load.statuses}; first: {unexpected[:3]}"

    found = {task_id: rows.count("id = ?", task_id) for task_id in load.accepted}
    lost = [task_id for task_id, n in found.items() if n == 0]
    created = rows.count("created_at >= ?", started_ms)
    FIGURES.add(runs=1, tasks=len(load.accepted), lost=len(lost), duplicated=max(0, created - load.kickoffs))
    assert not lost, f"accepted kick-offs without a task row: {lost[:5]}"
    assert len(load.accepted) <= created <= load.kickoffs, (len(load.accepted), created, load.kickoffs)
    assert load.accepted, f"no kick-off was accepted: {load.statuses}"
    rows.close()
