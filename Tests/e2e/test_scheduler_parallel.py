"""The scheduler runs several exports at once and is woken by each kick-off (README "Export",
"Performance"): a small export kicked off while a large one runs completes before the large one
does, and long before the next `RepeatPeriod` poll (here ten minutes), so neither the wait behind
another export nor the poll interval delays it. Every resource is still exported exactly once.
The scheduler runs in short steps between SIGSTOP and SIGCONT while the two exports overlap, so
"the large one still runs when the small one is done" holds however fast the export becomes.

An isolated instance (own database and task files, SMART off) with `MaxParallelExports` 2 and
`RepeatPeriod` 600 000 ms: any task that starts at all was started by a wake-up.
"""
from __future__ import annotations

import concurrent.futures
import os
import signal
import time

import pytest

from export_support import (
    GeneratedGroup, Instance, assert_complete_export, generate_atr_group, require_env, stop_in_the_middle,
)

LARGE_MEMBERS = 12000
LARGE_DISPLAY_PADDING = 200
SMALL_MEMBERS = 20
TYPES = ["Group", "Patient", "Coverage", "RelatedPerson"]
#: Far below RepeatPeriod: only a wake-up starts a task this soon.
WOKEN_WITHIN = 30.0


@pytest.fixture(scope="module")
def instance(tmp_path_factory, repo_root, instance_settings):
    inst = Instance(str(tmp_path_factory.mktemp("parallel")), require_env("ATR_BIN"), repo_root, instance_settings,
                    overrides={"BulkDataExport.RepeatPeriod": 600_000, "BulkDataExport.MaxParallelExports": 2,
                               "BulkDataExport.LeaseDuration": "00:01:00"})
    yield inst
    inst.close()


@pytest.fixture(scope="module")
def groups(instance) -> tuple[GeneratedGroup, GeneratedGroup]:
    data = os.path.join(instance.root, "data")
    large = generate_atr_group(data, "parallel-large", LARGE_MEMBERS, opt_out_every=100,
                               display_padding=LARGE_DISPLAY_PADDING)
    small = generate_atr_group(data, "parallel-small", SMALL_MEMBERS, opt_out_every=10)
    instance.import_files(*large.files, *small.files)
    return large, small


def wait_for_state(instance: Instance, task_id: str, states: tuple[str, ...], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        info = instance.task(task_id)
        if info.get("state") in states:
            return info
        assert time.monotonic() < deadline, f"task {task_id} is {info} after {timeout:.0f} s\n{instance.logs()}"
        time.sleep(0.05)


def test_a_small_export_does_not_wait_behind_a_large_one_nor_for_the_next_poll(instance, groups):
    large, small = groups
    scheduler = instance.start_scheduler(log_name="parallel")
    try:
        # The scheduler's first pass finds nothing; everything after it is started by kick-offs.
        time.sleep(1.0)
        large_task = instance.kickoff(large.group_id, TYPES)
        # From here on the scheduler runs in steps of 30 ms and is looked at only while stopped
        # (stop_in_the_middle): the large export takes many steps however fast it has become, the
        # small one a few, and what is seen between two steps cannot change while it is looked at.
        stop_in_the_middle(scheduler.pid, lambda: instance.task(large_task)["state"] == "active", timeout=WOKEN_WITHIN)
        # Kicked off on a thread while the scheduler goes on in steps: a stopped scheduler may hold
        # the database's write lock, which the kick-off then gets at its next step.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            kickoff = pool.submit(instance.kickoff, small.group_id, TYPES)
            stop_in_the_middle(scheduler.pid, lambda: kickoff.done() and instance.task(kickoff.result())["state"] == "complete",
                               timeout=WOKEN_WITHIN)
            small_task = kickoff.result()
        assert instance.task(large_task)["state"] == "active", \
            "the large export should still run when the small one is done (make LARGE_MEMBERS larger)"
        os.kill(scheduler.pid, signal.SIGCONT)
        wait_for_state(instance, large_task, ("complete",), 300)
        assert scheduler.poll() is None, instance.logs()
    finally:
        if scheduler.poll() is None:
            os.kill(scheduler.pid, signal.SIGCONT)  # a stopped process would not act on the SIGTERM
        instance.stop_schedulers()
    assert_complete_export(instance, small_task, small, TYPES)
    assert_complete_export(instance, large_task, large, TYPES)
    log = open(scheduler.log_path, encoding="utf-8").read()  # type: ignore[attr-defined]
    assert "parallelExports=2" in log, log[-2000:]
