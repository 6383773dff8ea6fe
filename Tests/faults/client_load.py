"""A bounded load of real clients through nginx on loopback: kick-offs of one Group, status
polls of the tasks they started, reads of the Group and metadata, each thread with its own
session, until stopped. Every answer is counted, every accepted kick-off remembered."""
from __future__ import annotations

import threading
import time
from collections import Counter

import requests

from export_support import EXPORT_OP, kickoff_headers
from fault_support import FIGURES

#: Most kick-offs one thread sends a second: enough to keep the scheduler busy, far below
#: BulkDataExport.MaxActiveTasksPerClient.
KICKOFFS_PER_SECOND = 2


class ClientLoad:
    def __init__(self, make_session, base: str, group_id: str, threads: int = 4):
        self.make_session = make_session
        self.base = base
        self.group_id = group_id
        self.statuses: Counter = Counter()
        #: (request, status, body) of every answer that is neither 2xx nor expected by the test.
        self.answers: list[tuple[str, int, str, dict]] = []
        self.accepted: list[str] = []
        self.kickoffs = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> "ClientLoad":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)
        FIGURES.add(responses=sum(self.statuses.values()))

    def _record(self, what: str, resp: requests.Response) -> None:
        with self._lock:
            self.statuses[resp.status_code] += 1
            if not 200 <= resp.status_code < 300:
                self.answers.append((what, resp.status_code, resp.text[:300], dict(resp.headers)))

    def _run(self) -> None:
        session = self.make_session()
        mine: list[str] = []
        next_kickoff = 0.0
        try:
            while not self._stop.is_set():
                if time.monotonic() >= next_kickoff:
                    next_kickoff = time.monotonic() + 1 / KICKOFFS_PER_SECOND
                    with self._lock:
                        self.kickoffs += 1
                    resp = session.get(f"{self.base}/Group/{self.group_id}/{EXPORT_OP}", headers=kickoff_headers())
                    self._record("kick-off", resp)
                    if resp.status_code == 202:
                        task_id = resp.headers["Content-Location"].rsplit("_id=", 1)[1]
                        mine.append(task_id)
                        with self._lock:
                            self.accepted.append(task_id)
                if mine:
                    self._record("status", session.get(f"{self.base}/$exportstatus?_id={mine[-1]}"))
                self._record("read", session.get(f"{self.base}/Group/{self.group_id}"))
                self._record("metadata", session.get(f"{self.base}/metadata"))
        except requests.RequestException as error:
            with self._lock:
                self.failures.append(repr(error))
