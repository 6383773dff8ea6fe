"""SQLite contention: `atrctl import` of a big synthetic data set (the `make bench` generator;
100k members in the long mode, 5k in the short one) while clients kick off exports, poll them
and read. Writers queue for the database's one write lock: no client sees a 5xx other than
the documented 503 + Retry-After, nor "database is locked"; every kick-off is accepted and
every task completes."""
from __future__ import annotations

import os
import subprocess
import sys

from client_load import ClientLoad
from export_support import subprocess_env
from fault_support import FIGURES, TaskRows, state_dir
from fhir_support import require_env

GROUP = "atr-group-sunrise"


def test_a_big_import_while_clients_export_refuses_no_client(make_session, base, instance_settings, repo_root, sizes):
    data = os.path.join(state_dir(), "data", "contention")
    subprocess.run([sys.executable, "scripts/bench/generate.py", data, str(sizes.import_members), "contention-group"],
                   cwd=repo_root, check=True, stdout=subprocess.DEVNULL, timeout=600)
    with ClientLoad(make_session, base, GROUP) as load:
        imported = subprocess.run(
            [os.path.join(require_env("ATR_BIN"), "atrctl"), "import",
             os.path.join(data, "resources.ndjson"), os.path.join(data, "group.ndjson")],
            cwd=repo_root, env=subprocess_env(instance_settings), capture_output=True, text=True, timeout=3600)
    assert imported.returncode == 0, imported.stdout[-2000:] + imported.stderr[-2000:]
    assert not load.failures, load.failures[:3]
    FIGURES.fault("import contention")

    busy = [a for a in load.answers if a[1] == 503 and a[3].get("Retry-After")]
    refused = [a for a in load.answers if a not in busy]
    locked = [a for a in load.answers if "database is locked" in a[2]]
    FIGURES.add(documented_503=len(busy), server_errors=sum(1 for a in refused if a[1] >= 500))
    assert not refused and not locked, f"{load.statuses}; first: {(refused or locked)[:3]}"
    assert len(load.accepted) == load.kickoffs, f"{load.kickoffs} kick-offs, {len(load.accepted)} accepted"

    rows = TaskRows(os.path.join(state_dir(), "db", "atr.sqlite"))
    finished = rows.wait_until_finished(load.accepted, timeout=600)
    rows.close()
    ended = {row["state"] for row in finished.values()}
    assert ended == {"complete"}, ended
    FIGURES.add(runs=1, tasks=len(load.accepted), lost=sum(1 for r in finished.values() if r["state"] != "complete"))
