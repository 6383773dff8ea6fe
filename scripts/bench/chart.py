#!/usr/bin/env python3
"""The export figures of `make bench` against the number of members (README "Performance").

  chart.py merge POINTS RUN_POINTS   merge a run's points into POINTS: a row replaces the row of
                                     the same backend and members, every other row stays
                                     (standard library only)
  chart.py draw POINTS PNG           export wall time, raw floor, import and import floor (log-log),
                                     and the scheduler's peak RSS, against members (matplotlib:
                                     scripts/bench/requirements.txt, in .venv)

POINTS and RUN_POINTS are tab-separated with this header line (an empty field: not measured):
  date backend members resources export_s floor_s rss_mb import_s import_floor_s
date is the run's (UTC, YYYY-MM-DD); backend is sqlite or postgresql.
"""
from __future__ import annotations

import os
import sys

COLUMNS = ("date", "backend", "members", "resources", "export_s", "floor_s", "rss_mb",
           "import_s", "import_floor_s")
BACKENDS = ("sqlite", "postgresql")
RSS_GOAL_MB = 64
EXPORT_GOAL = 3   # export ≤ 3× the raw floor


def fail(message: str) -> None:
    print(f"chart.py: {message}", file=sys.stderr)
    sys.exit(1)


def read_points(path: str, missing_ok: bool = False) -> list[dict[str, str]]:
    if missing_ok and not os.path.exists(path):
        return []
    rows = []
    with open(path, encoding="utf-8") as handle:
        lines = [line.rstrip("\n") for line in handle if line.strip()]
    if not lines or tuple(lines[0].split("\t")) != COLUMNS:
        fail(f"{path}: the first line must be the header {' '.join(COLUMNS)} (tab-separated)")
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(COLUMNS):
            fail(f"{path}:{number}: {len(fields)} fields, expected {len(COLUMNS)}")
        row = dict(zip(COLUMNS, fields))
        if row["backend"] not in BACKENDS:
            fail(f"{path}:{number}: backend {row['backend']!r} is not one of {', '.join(BACKENDS)}")
        try:
            int(row["members"])
            for key in COLUMNS[3:]:
                if row[key]:
                    float(row[key])
        except ValueError as error:
            fail(f"{path}:{number}: {error}")
        rows.append(row)
    return rows


def key(row: dict[str, str]) -> tuple[int, int]:
    return BACKENDS.index(row["backend"]), int(row["members"])


def merge(points: str, run_points: str) -> None:
    new = read_points(run_points)
    replaced = {key(row) for row in new}
    rows = [row for row in read_points(points, missing_ok=True) if key(row) not in replaced] + new
    rows.sort(key=key)
    tmp = points + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write("\t".join(COLUMNS) + "\n")
        for row in rows:
            handle.write("\t".join(row[c] for c in COLUMNS) + "\n")
    os.replace(tmp, points)


def series(rows, backend: str, column: str) -> tuple[list[int], list[float]]:
    picked = sorted((int(r["members"]), float(r[column])) for r in rows
                    if r["backend"] == backend and r[column])
    return [m for m, _ in picked], [v for _, v in picked]


def draw(points: str, png: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    rows = read_points(points)
    if not rows:
        fail(f"{points}: no points")
    colours = {"sqlite": "#2f6db5", "postgresql": "#b8571b", "import": "#2f8a3b"}
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    fig, (times, rss) = plt.subplots(1, 2, figsize=(12, 6), gridspec_kw={"width_ratios": [3, 2]})

    for backend in BACKENDS:
        xs, ys = series(rows, backend, "export_s")
        if xs:
            times.plot(xs, ys, "o-", color=colours[backend], label=f"export, {names[backend]}")
        xs, ys = series(rows, backend, "floor_s")
        if xs:
            times.plot(xs, ys, "o--", color=colours[backend], alpha=0.6, markerfacecolor="white",
                       label=f"raw floor ({'sqlite3 dump' if backend == 'sqlite' else 'psql COPY'})")
            if backend == "sqlite":
                times.plot(xs, [EXPORT_GOAL * y for y in ys], ":", color=colours[backend], alpha=0.6,
                           label=f"goal: export ≤ {EXPORT_GOAL}× floor")
    xs, ys = series(rows, "sqlite", "import_s")
    if xs:
        times.plot(xs, ys, "^-", color=colours["import"], label="atrctl import, SQLite")
    xs, ys = series(rows, "sqlite", "import_floor_s")
    if xs:
        times.plot(xs, ys, "^--", color=colours["import"], alpha=0.6, markerfacecolor="white",
                   label="import floor (sqlite3 inserting the rows)")
    times.set_xscale("log")
    times.set_yscale("log")
    times.set_xlabel("members of the ATR list")
    times.set_ylabel("wall time (s)")
    times.set_title("Export and import time")
    times.grid(True, which="both", alpha=0.25)
    times.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)

    for backend in BACKENDS:
        xs, ys = series(rows, backend, "rss_mb")
        if xs:
            rss.plot(xs, ys, "o-", color=colours[backend], label=f"export, {names[backend]}")
    rss.axhline(RSS_GOAL_MB, color="#a83b52", linestyle=":", label=f"goal: ≤ {RSS_GOAL_MB} MB at 1M members")
    rss.set_xscale("log")
    rss.set_ylim(0, max(RSS_GOAL_MB * 1.25, max(float(r["rss_mb"]) for r in rows if r["rss_mb"]) * 1.1))
    rss.set_xlabel("members of the ATR list")
    rss.set_ylabel("peak RSS (MB)")
    rss.set_title("atr-scheduler --once: peak RSS")
    rss.grid(True, which="both", alpha=0.25)
    rss.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)

    thousands = FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}")
    members = [int(r["members"]) for r in rows]
    for axis in (times, rss):
        axis.xaxis.set_major_formatter(thousands)
        axis.set_xlim(min(members) / 2, max(members) * 2)
    dates = sorted({r["date"] for r in rows})
    span = dates[0] if len(dates) == 1 else f"{dates[0]} … {dates[-1]}"
    fig.suptitle(f"ATR Export, make bench: {os.path.basename(points)}, measured {span}", fontsize=10)
    fig.tight_layout()
    tmp = png + ".tmp.png"
    # No Software/date metadata: the PNG changes only when the points do.
    fig.savefig(tmp, dpi=100, metadata={"Software": None})
    os.replace(tmp, png)


def main() -> None:
    commands = {"merge": merge, "draw": draw}
    if len(sys.argv) != 4 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    commands[sys.argv[1]](sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
