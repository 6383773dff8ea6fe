"""A client's DELETE racing the task's completion, and the retention purge racing downloads,
through the real stack: a file the manifest lists is never missing while the status says
complete, and no file is reachable once the DELETE has been answered or the task purged.

The purge race runs a second scheduler on the stack's database whose FileRetentionPeriod is
two seconds; it purges every finished task, so this module runs last (file names sort it so).
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest

from export_support import (
    assert_accepted, atrctl, generate_atr_group, kickoff_get, manifest_entries, manifest_of, poll, raw_get,
    signed_target, signing_secret, stack_task_dir, subprocess_env,
)
from fault_support import FIGURES, state_dir
from fhir_support import require_env

TYPES = "Group,Patient,Coverage"
FILES = ("contentGroup.ndjson", "contentPatient.ndjson", "contentCoverage.ndjson")


@pytest.fixture(scope="module")
def group_id(instance_settings, repo_root) -> str:
    """Big enough that an export takes a while (seconds), so a DELETE can land in it."""
    generated = generate_atr_group(os.path.join(state_dir(), "data"), "race", 1500)
    atrctl(require_env("ATR_BIN"), instance_settings, repo_root, "import", *generated.files)
    return generated.group_id


def url_path(url: str) -> str:
    return url[url.index("/files/"):]


def signed_paths(task_id: str) -> list[str]:
    """Links to the files a task of ours would have, whether or not a manifest was ever seen."""
    expires = int(time.time()) + 600
    return [signed_target(f"/files/{task_id}/{name}", expires, signing_secret()) for name in FILES]


def wait_gone(path: str) -> None:
    deadline = time.monotonic() + 30
    while os.path.exists(path):
        assert time.monotonic() < deadline, f"{path} still there"
        time.sleep(0.1)


def test_delete_racing_completion_leaves_no_file_reachable(http, base, group_id, sizes):
    rng = random.Random(int(os.environ.get("FAULTS_SEED") or time.time()))
    for _ in range(sizes.races):
        status_url, task_id = assert_accepted(kickoff_get(http, base, group_id, f"_type={TYPES}"), base)
        # Before the scheduler claims it, while it writes, while it publishes, or after.
        time.sleep(rng.uniform(0, 3))
        before = http.get(status_url)
        links = signed_paths(task_id)
        if before.status_code == 200:
            links += [url_path(e["url"]) for e in manifest_entries(manifest_of(before))]
            for link in links[len(FILES):]:
                got = raw_get(base, link)
                assert got.status == 200, f"listed while complete, but {got.describe(link)}"
        else:
            assert before.status_code == 202, before.text
        cancelled = http.delete(status_url)
        assert cancelled.status_code == 202, cancelled.text
        assert http.get(status_url).status_code == 404
        for link in links:
            got = raw_get(base, link)
            assert got.status in (403, 404), f"after the DELETE: {got.describe(link)}"
        wait_gone(stack_task_dir(task_id))
        FIGURES.fault("DELETE racing completion")
        FIGURES.add(runs=1, tasks=1, responses=3 + len(links))


@pytest.fixture
def purging_scheduler(instance_settings, repo_root):
    log = open(os.path.join(state_dir(), "log", "purging-scheduler.log"), "ab")
    proc = subprocess.Popen([os.path.join(require_env("ATR_BIN"), "atr-scheduler")], cwd=repo_root, stdout=log,
                            stderr=subprocess.STDOUT, env=subprocess_env(
                                instance_settings, ATR_BulkDataExport__FileRetentionPeriod="00:00:02",
                                ATR_BulkDataExport__CleanupCheckInterval="00:00:01"))
    log.close()
    yield proc
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def test_the_purge_racing_downloads_never_leaves_a_listed_file_missing(http, base, purging_scheduler, sizes):
    for _ in range(sizes.races):
        status_url, task_id = assert_accepted(kickoff_get(http, base, "atr-group-sunrise", f"_type={TYPES}"), base)
        links = [url_path(e["url"]) for e in manifest_entries(manifest_of(poll(http, status_url)))]
        downloads = 0
        deadline = time.monotonic() + 60
        while True:
            for link in links:
                got = raw_get(base, link)
                downloads += 1
                if got.status != 200:
                    status = http.get(status_url)
                    assert status.status_code != 200, f"complete, but a listed file: {got.describe(link)}"
                    assert got.status in (403, 404, 410), got.describe(link)
            status = http.get(status_url)
            if status.status_code == 410:
                break
            assert status.status_code == 200, status.text
            assert time.monotonic() < deadline, "not purged after 60 s"
        for link in links:
            got = raw_get(base, link)
            assert got.status != 200, f"purged, but {got.describe(link)}"
        wait_gone(stack_task_dir(task_id))
        FIGURES.fault("purge racing downloads")
        FIGURES.add(runs=1, tasks=1, responses=downloads + len(links))
    assert purging_scheduler.poll() is None
