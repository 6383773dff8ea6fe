"""Writing or checking a generated, committed Swift file: shared by the generators in scripts/
(`generate-r4-model.py`, `generate-r4-mandatory-elements.py`)."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_or_check(text, output, generator, check):
    """With `check`, exits non-zero unless `output` holds exactly `text`; else writes it."""
    shown = os.path.relpath(output, ROOT)
    if check:
        try:
            with open(output, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            sys.exit(f"{shown} is out of date: run scripts/{generator}")
        print(f"{shown} is up to date")
        return
    with open(output, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {shown} ({len(text)} bytes)")
