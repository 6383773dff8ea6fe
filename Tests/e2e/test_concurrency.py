"""Many clients writing at once through nginx -> FastCGI -> SQLite."""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from fhir_support import FHIR_JSON, Fhir, dumps, fhir_json, patient

THREADS = 8
PER_THREAD = 200


def run_threads(make_session, base, work):
    """Run work(fhir, thread_index) on THREADS threads, each with its own Session, all
    starting together; returns the per-thread results in thread order."""
    barrier = threading.Barrier(THREADS)

    def worker(t: int):
        client = Fhir(make_session(), base)
        client.metadata()              # open the TLS connection before the race starts
        barrier.wait()
        return work(client, t)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(worker, t) for t in range(THREADS)]
        return [f.result() for f in futures]


def test_concurrent_puts_of_one_resource(make_session, base, new_id):
    pid = new_id()

    def work(client: Fhir, t: int):
        results = []
        for i in range(PER_THREAD):
            family = f"T{t}-{i}"
            resp = client.s.put(client.url("Patient", pid), data=dumps(patient(pid, family=family)),
                                headers={"Content-Type": FHIR_JSON})
            version = None
            if resp.status_code in (200, 201):
                version = resp.json()["meta"]["versionId"]
            results.append((resp.status_code, version, family, resp.text[:300]))
        return results

    results = [r for per_thread in run_threads(make_session, base, work) for r in per_thread]
    total = THREADS * PER_THREAD
    assert len(results) == total

    statuses = Counter(status for status, *_ in results)
    unexpected = [r for r in results if r[0] not in (200, 201)]
    assert not unexpected, f"{statuses}; first: {unexpected[:3]}"
    assert statuses[201] == 1, statuses
    assert statuses[200] == total - 1, statuses

    created = next(r for r in results if r[0] == 201)
    assert created[1] == "1", created
    versions = [int(v) for _, v, _, _ in results]
    assert sorted(versions) == list(range(1, total + 1)), "every write gets its own version"

    family_of = {int(v): family for _, v, family, _ in results}
    final = fhir_json(Fhir(make_session(), base).get("Patient", pid), 200)
    assert final["meta"]["versionId"] == str(total)
    assert final["name"][0]["family"] == family_of[total], "the last version wins"


def test_concurrent_puts_of_distinct_resources(make_session, base, new_id):
    prefix = new_id("c")

    def ids_of(t: int):
        return [f"{prefix}-{t}-{i}" for i in range(PER_THREAD)]

    def write(client: Fhir, t: int):
        out = []
        for pid in ids_of(t):
            resp = client.put("Patient", pid, patient(pid, family=pid))
            out.append((pid, resp.status_code,
                        resp.json().get("meta", {}).get("versionId")
                        if resp.status_code == 201 else resp.text[:300]))
        return out

    results = [r for per in run_threads(make_session, base, write) for r in per]
    assert len(results) == THREADS * PER_THREAD
    bad = [r for r in results if r[1] != 201 or r[2] != "1"]
    assert not bad, f"{len(bad)} writes not '201, version 1'; first: {bad[:3]}"

    def read(client: Fhir, t: int):
        out = []
        for pid in ids_of(t):
            resp = client.get("Patient", pid)
            ok = resp.status_code == 200 and resp.json()["name"][0]["family"] == pid
            out.append((pid, resp.status_code, ok))
        return out

    reads = [r for per in run_threads(make_session, base, read) for r in per]
    missing = [r for r in reads if not r[2]]
    assert not missing, f"{len(missing)} not readable; first: {missing[:3]}"
