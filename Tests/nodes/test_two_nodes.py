"""Two nodes on one PostgreSQL database and one task directory (README "Several nodes"):
whichever node a client reaches answers for every task, the two schedulers share the queue
without running a task twice, and a scheduler killed mid-export is replaced by the other's.

Both nodes have node A's public URL, as behind a load balancer; a request "on node B" is the
same URL sent to node B's port.
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from export_support import (
    assert_accepted, atrctl, download, generate_atr_group, kickoff_get, manifest_entries,
    manifest_of, parse_ndjson, poll, resources_written, stop_in_the_middle,
)
from fhir_support import describe, require_env
from malformed_corpus import SUNRISE


def state(*parts: str) -> str:
    return os.path.join(require_env("NODES_STATE"), *parts)


def on_b(url: str) -> str:
    a, b = require_env("NODE_A_PORT"), require_env("NODE_B_PORT")
    assert f"://localhost:{a}/" in url, url
    return url.replace(f"://localhost:{a}/", f"://localhost:{b}/", 1)


def node_atrctl(node: str, *args: str) -> str:
    proc = atrctl(require_env("ATR_BIN"), state(node, "appsettings.instance.json"), require_env("ATR_ROOT"), *args, timeout=120)
    return proc.stdout.decode()


def task_info(task_id: str) -> dict[str, str]:
    info = {}
    for line in node_atrctl("b", "tasks", "show", "--id", task_id).splitlines():
        key, sep, value = line.partition(": ")
        if sep and key not in info:
            info[key] = value
    return info


def scheduler_log(node: str) -> str:
    with open(state(node, "log", "atr-scheduler.log"), encoding="utf-8", errors="replace") as handle:
        return handle.read()


def completed_by(node: str) -> set[str]:
    return set(re.findall(r"task-id=(\S+) \[Scheduler\] export complete", scheduler_log(node)))


def started_by(node: str) -> list[str]:
    return re.findall(r"task-id=(\S+) \[Scheduler\] export started", scheduler_log(node))


def scheduler_pid(node: str) -> int:
    with open(state(node, "run", "atr-scheduler.pid"), encoding="utf-8") as handle:
        return int(handle.read().strip())


@pytest.fixture(scope="module")
def big_group() -> object:
    generated = generate_atr_group(state("data"), "nodes-big", 3000)
    node_atrctl("a", "import", *generated.files)
    return generated


def test_a_kickoff_on_node_a_is_polled_and_downloaded_on_node_b(http, base):
    status_url, task_id = assert_accepted(kickoff_get(http, base, SUNRISE), base)
    status = poll(http, on_b(status_url))
    manifest = manifest_of(status)
    assert manifest["request"].startswith(base), manifest
    entries = manifest_entries(manifest)
    assert {entry["type"] for entry in entries} >= {"Group", "Patient", "Coverage"}, manifest
    for entry in entries:
        assert entry["url"].startswith(base.rsplit("/", 1)[0] + "/files/"), entry
        from_b = download(http, on_b(entry["url"]))
        assert from_b.status_code == 200, describe(from_b)
        resources = parse_ndjson(from_b.content, entry["url"])
        assert len(resources) == entry["count"] and {r["resourceType"] for r in resources} == {entry["type"]}, entry
        from_a = download(http, entry["url"])
        assert from_a.status_code == 200 and from_a.content == from_b.content, describe(from_a)
    # Cancelled on node B: gone on node A too.
    deleted = http.delete(on_b(status_url))
    assert deleted.status_code == 202, describe(deleted)
    assert http.get(status_url).status_code == 404
    assert download(http, entries[0]["url"]).status_code == 404


def test_forty_concurrent_exports_spread_over_both_schedulers_each_run_exactly_once(http, base, big_group):
    # Each export of a 300-member slice takes long enough that both schedulers wake to the queue.
    group = generate_atr_group(state("data"), "nodes-forty", 300)
    node_atrctl("b", "import", *group.files)

    def kickoff(n: int) -> str:
        target = base if n % 2 == 0 else on_b(base)
        resp = kickoff_get(http, target, group.group_id)
        assert resp.status_code == 202, describe(resp)
        return resp.headers["Content-Location"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        status_urls = list(pool.map(kickoff, range(40)))
    task_ids = [url.rsplit("=", 1)[1] for url in status_urls]
    assert len(set(task_ids)) == 40
    for n, url in enumerate(status_urls):
        manifest = manifest_of(poll(http, url if n % 2 else on_b(url), timeout=300))
        counts = {entry["type"]: entry["count"] for entry in manifest_entries(manifest)}
        assert counts == {"Group": 1, "Patient": 300, "Coverage": 300}, manifest
    by_a, by_b = completed_by("a") & set(task_ids), completed_by("b") & set(task_ids)
    assert by_a | by_b == set(task_ids) and not by_a & by_b, (sorted(by_a), sorted(by_b))
    assert by_a and by_b, f"one scheduler ran all 40: a {len(by_a)}, b {len(by_b)}"
    started = [task for task in started_by("a") + started_by("b") if task in set(task_ids)]
    assert sorted(started) == sorted(task_ids), "every task started exactly once"
    assert all(task_info(task)["attempts"] == "1" for task in task_ids)


def test_zz_a_scheduler_killed_mid_export_on_node_a_is_finished_by_node_b(http, base, big_group):
    """Last in the file: node A's scheduler stays dead."""
    b_pid = scheduler_pid("b")
    a_pid = None
    os.kill(b_pid, signal.SIGSTOP)  # node A's scheduler takes the task
    try:
        status_url, task_id = assert_accepted(kickoff_get(http, base, "nodes-big", query="_type=Group,Patient,Coverage,RelatedPerson"), base)

        def under_way() -> bool:
            info = task_info(task_id)
            assert info["state"] in ("queued", "active"), info
            return info["state"] == "active" and resources_written(info.get("progress", "")) > 0

        # Node A's scheduler runs in short steps and is looked at while stopped: however fast the
        # export, it is caught in the middle.
        a_pid = scheduler_pid("a")
        stop_in_the_middle(a_pid, under_way)
        assert task_id in started_by("a") and task_id not in completed_by("a")
        os.kill(a_pid, signal.SIGKILL)
    finally:
        os.kill(b_pid, signal.SIGCONT)
        if a_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(a_pid, signal.SIGCONT)  # left stopped by a failed assertion, it would ignore teardown's SIGTERM
    manifest = manifest_of(poll(http, on_b(status_url), timeout=300))
    assert task_id in completed_by("b") and task_id not in completed_by("a")
    assert task_info(task_id)["attempts"] == "2"
    found: dict[str, list[str]] = {}
    for entry in manifest_entries(manifest):
        got = download(http, on_b(entry["url"]))
        assert got.status_code == 200, describe(got)
        found.setdefault(entry["type"], []).extend(r["id"] for r in parse_ndjson(got.content, entry["url"]))
    for rtype in ("Patient", "Coverage", "RelatedPerson"):
        assert sorted(found[rtype]) == sorted(big_group.expected[rtype]), f"{rtype}: each resource exactly once"
    building = state("shared", "tasks", ".building")
    assert not [e for e in (os.listdir(building) if os.path.isdir(building) else []) if e.startswith(task_id)]
