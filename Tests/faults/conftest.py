"""Fixtures of the fault-injection suite: the end-to-end suite's fixtures (its conftest,
loaded under another name so both suites keep one definition), the mode and the figures.

The harness (`scripts/faults.sh`) sets what the e2e harness sets, plus `FAULTS_MODE`.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parent.parent / "e2e"
sys.path.insert(0, str(E2E))
_spec = importlib.util.spec_from_file_location("e2e_conftest", E2E / "conftest.py")
_e2e = importlib.util.module_from_spec(_spec)
sys.modules["e2e_conftest"] = _e2e
_spec.loader.exec_module(_e2e)

from e2e_conftest import (  # noqa: E402,F401  (fixtures, found by name)
    base, ca, fhir, http, instance_settings, make_session, new_id, repo_root,
)
from fault_support import FIGURES, mode, state_dir  # noqa: E402
from instances import isolated_instance  # noqa: E402


@pytest.fixture(scope="session")
def sizes():
    return mode()


@pytest.fixture(scope="module")
def isolated(repo_root, instance_settings):
    """Makes isolated instances (`isolated(name, **settings)`); their schedulers are stopped at
    the module's end."""
    made = []

    def make(name: str, **overrides):
        made.append(isolated_instance(repo_root, instance_settings, name, **overrides))
        return made[-1]

    yield make
    for inst in made:
        inst.close()


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_sep("=", f"fault injection figures ({mode().name} mode)")
    for line in FIGURES.lines():
        terminalreporter.write_line(line)
    FIGURES.save(os.path.join(state_dir(), "figures.json"))
