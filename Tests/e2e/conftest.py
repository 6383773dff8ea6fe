"""Fixtures for the end-to-end suite (real nginx + TLS + FastCGI + atr-fcgi + SQLite).

The harness that starts the stack sets:
  ATR_BASE               FHIR base, e.g. https://localhost:9443/fhir (no trailing slash)
  ATR_CA                 PEM certificate to trust (self-signed dev cert)
  ATR_BIN                directory with atr-fcgi, atr-scheduler, atrctl
  ATR_INSTANCE_SETTINGS  JSON settings overlay the stack runs with (passed to subprocesses)
  ATR_MAX_BODY           configured request body limit in bytes
  ATR_ROOT               repository root (also the cwd)
  ATR_TOKEN              optional bearer token sent with every request

Nothing is read at import time, so `pytest --collect-only` works without a stack.
Every test builds its own ids with `new_id()`, so tests are independent of each other, of
the order they run in, and of the sample data already in the database.
"""
from __future__ import annotations

import os
import threading

import pytest

from fhir_support import Fhir, FhirSession, new_id as _new_id, require_env


@pytest.fixture(scope="session")
def base() -> str:
    return require_env("ATR_BASE").rstrip("/")


@pytest.fixture(scope="session")
def ca() -> str:
    path = require_env("ATR_CA")
    if not os.path.isfile(path):
        pytest.fail(f"ATR_CA={path} is not a file", pytrace=False)
    return path


@pytest.fixture(scope="session")
def make_session(ca):
    """Factory for new sessions (one per thread in the concurrency tests); closes them all."""
    sessions: list[FhirSession] = []
    lock = threading.Lock()

    def factory() -> FhirSession:
        session = FhirSession(verify=ca)
        with lock:
            sessions.append(session)
        return session

    yield factory
    for session in sessions:
        session.close()


@pytest.fixture(scope="session")
def http(make_session) -> FhirSession:
    """A requests.Session trusting ATR_CA, with Accept: application/fhir+json."""
    return make_session()


@pytest.fixture(scope="session")
def fhir(http, base) -> Fhir:
    """Thin FHIR client over `http` (see fhir_support.Fhir)."""
    return Fhir(http, base)


@pytest.fixture
def new_id():
    """Callable returning a fresh unique FHIR id: new_id() -> 't-1a2b3c4d5e6f'."""
    return _new_id


@pytest.fixture(scope="session")
def max_body() -> int:
    return int(require_env("ATR_MAX_BODY"))


@pytest.fixture(scope="session")
def repo_root() -> str:
    return os.environ.get("ATR_ROOT") or os.getcwd()


@pytest.fixture(scope="session")
def instance_settings() -> str:
    return require_env("ATR_INSTANCE_SETTINGS")


@pytest.fixture(scope="session")
def atr_fcgi() -> str:
    """Path of the built atr-fcgi binary."""
    path = os.path.join(require_env("ATR_BIN"), "atr-fcgi")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not an executable file", pytrace=False)
    return path
