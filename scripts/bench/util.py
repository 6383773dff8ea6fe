#!/usr/bin/env python3
"""Small helpers for scripts/bench.sh (stdlib only).

  util.py status-url HEADERS_FILE             Content-Location of a kick-off response
  util.py manifest MANIFEST SUMMARY TASK_DIR  check a manifest against the generator's summary;
                                              prints shell assignments (resources=, files=,
                                              biggest_name=, biggest_url=, biggest_bytes=, …)
  util.py files MANIFEST                      the manifest's output files, one "name<TAB>url" a line
  util.py wrk WRK_OUTPUT                      requests/s and transfer/s of a wrk run as shell
                                              assignments; exit 1 on socket errors or non-2xx
  util.py time-v TIME_OUTPUT                  peak RSS (kB) and exit status from GNU time -v
  util.py table RESULTS                       the results table (lines figure<TAB>value<TAB>goal)
"""
from __future__ import annotations

import json
import os
import re
import shlex
import sys


def fail(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)
    sys.exit(1)


def status_url(headers_file: str) -> None:
    with open(headers_file, encoding="latin-1") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-location":
                print(value.strip())
                return
    fail(f"no Content-Location in {headers_file}")


def manifest(manifest_file: str, summary_file: str, task_dir: str) -> None:
    with open(manifest_file, encoding="utf-8") as handle:
        data = json.load(handle)
    with open(summary_file, encoding="utf-8") as handle:
        summary = json.load(handle)
    counts: dict[str, int] = {}
    biggest = ("", "", -1)
    files = 0
    for entry in data.get("output") or []:
        files += 1
        counts[entry["type"]] = counts.get(entry["type"], 0) + int(entry["count"])
        name = entry["url"].split("?", 1)[0].rsplit("/", 1)[-1]
        path = os.path.join(task_dir, name)
        if not os.path.isfile(path):
            fail(f"manifest lists {name}, but {path} does not exist")
        size = os.path.getsize(path)
        if size > biggest[2]:
            biggest = (name, entry["url"], size)
    warnings = []
    for rtype, expected in summary["expected"].items():
        if counts.get(rtype, 0) != expected:
            warnings.append(f"{rtype}: exported {counts.get(rtype, 0)}, expected {expected}")
    for rtype in counts:
        if rtype not in summary["expected"]:
            warnings.append(f"unexpected type {rtype} in the manifest")
    errors = data.get("error") or []
    out = {
        "resources": sum(counts.values()),
        "files": files,
        "error_files": len(errors),
        "biggest_name": biggest[0],
        "biggest_url": biggest[1],
        "biggest_bytes": biggest[2],
        "counts": " ".join(f"{k}={v}" for k, v in counts.items()),
        "count_warnings": "; ".join(warnings),
    }
    for key, value in out.items():
        print(f"{key}={shlex.quote(str(value))}")


def files(manifest_file: str) -> None:
    with open(manifest_file, encoding="utf-8") as handle:
        data = json.load(handle)
    for entry in data.get("output") or []:
        name = entry["url"].split("?", 1)[0].rsplit("/", 1)[-1]
        print(f"{name}\t{entry['url']}")


UNITS = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}
BYTE_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}


def wrk(output_file: str) -> None:
    with open(output_file, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    match = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not match:
        fail(f"no Requests/sec in {output_file}:\n{text}")
    rps = float(match.group(1))
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", text)
    mbps = float(transfer.group(1)) * BYTE_UNITS[transfer.group(2)] / 1024 ** 2 if transfer else 0.0
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", text)
    total = re.search(r"(\d+) requests in", text)
    problems = []
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if non2xx:
        problems.append(f"{non2xx.group(1)} non-2xx/3xx responses")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if errors and any(int(x) for x in errors.groups()):
        problems.append(f"socket errors (connect/read/write/timeout {'/'.join(errors.groups())})")
    if total and int(total.group(1)) == 0:
        problems.append("no request completed")
    print(f"rps={rps:.0f}")
    print(f"mbps={mbps:.1f}")
    print(f"latency_avg={shlex.quote(latency.group(1) if latency else '?')}")
    print(f"latency_max={shlex.quote(latency.group(3) if latency else '?')}")
    if problems:
        print(f"wrk_problems={shlex.quote('; '.join(problems))}")
        sys.exit(1)


def time_v(output_file: str) -> None:
    with open(output_file, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    rss = re.search(r"Maximum resident set size \(kbytes\):\s+(\d+)", text)
    status = re.search(r"Exit status:\s+(\d+)", text)
    if not rss:
        fail(f"no 'Maximum resident set size' in {output_file} (is /usr/bin/time GNU time?)")
    print(f"rss_kb={rss.group(1)}")
    print(f"exit_status={status.group(1) if status else 0}")
    for name, pattern in (("user_s", r"User time \(seconds\):\s+([\d.]+)"),
                          ("sys_s", r"System time \(seconds\):\s+([\d.]+)")):
        found = re.search(pattern, text)
        print(f"{name}={found.group(1) if found else 0}")


def table(results_file: str) -> None:
    rows = []
    with open(results_file, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if not line:
                continue
            parts = line.split("\t")
            rows.append((parts + ["", "", ""])[:3])
    header = ("figure", "value", "goal")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(3)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    print(rule)
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print(rule)
    for row in rows:
        print("| " + row[0].ljust(widths[0]) + " | " + row[1].rjust(widths[1]) + " | "
              + row[2].ljust(widths[2]) + " |")
    print(rule)


def main() -> None:
    commands = {"status-url": status_url, "manifest": manifest, "files": files, "wrk": wrk,
                "time-v": time_v, "table": table}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    commands[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
