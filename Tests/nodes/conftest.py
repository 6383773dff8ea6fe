"""Fixtures of the two-node suite: the end-to-end suite's fixtures (its conftest, loaded under
another name so both suites keep one definition) and the two nodes.

The harness (`scripts/two-nodes.sh`) sets what the e2e harness sets, plus NODES_STATE,
NODE_A_PORT, NODE_B_PORT and ATR_POSTGRES.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

E2E = Path(__file__).resolve().parent.parent / "e2e"
sys.path.insert(0, str(E2E))
_spec = importlib.util.spec_from_file_location("e2e_conftest", E2E / "conftest.py")
_e2e = importlib.util.module_from_spec(_spec)
sys.modules["e2e_conftest"] = _e2e
_spec.loader.exec_module(_e2e)

from e2e_conftest import base, ca, http, make_session, repo_root  # noqa: E402,F401  (fixtures, found by name)
