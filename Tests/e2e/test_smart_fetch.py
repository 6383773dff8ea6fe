"""A real SMART bulk-data client against the stack: smart-fetch (PyPI) discovers the token
endpoint through smart-configuration, signs an ES384 client assertion with a PEM key (so the
server must find the key by its RFC 7638 thumbprint), exports through `Group/{id}/$export`,
downloads every file with its bearer token, and deletes the task at the end."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from fhir_support import require_env

EXPECTED_PATIENTS = {
    "patient-alice", "patient-bob", "patient-erin", "patient-frank",
    "patient-grace", "patient-henry", "patient-ivy", "patient-jack",
}


def _register_client(tmp_path: Path, client_id: str) -> Path:
    key = tmp_path / "client-key.pem"
    public = tmp_path / "client-key.pub.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384",
                    "-out", str(key)], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(public)],
                   check=True, capture_output=True)
    subprocess.run([os.path.join(require_env("ATR_BIN"), "atrctl"), "clients", "add", "--id", client_id,
                    "--jwks", str(public), "--scope", "system/*.read", "--group", "atr-group-sunrise"],
                   check=True, capture_output=True, text=True)
    return key


def _read_ndjson(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def test_smart_fetch_exports_the_attribution_list(tmp_path):
    smart_fetch = Path(require_env("ATR_ROOT")) / ".venv" / "bin" / "smart-fetch"
    if not smart_fetch.exists():
        pytest.fail("smart-fetch is not installed in .venv (scripts/python-env.sh installs it)")
    client_id = f"smart-fetch-{uuid.uuid4().hex[:8]}"
    key = _register_client(tmp_path, client_id)
    out = tmp_path / "out"
    env = {**os.environ, "SSL_CERT_FILE": require_env("ATR_CA"), "REQUESTS_CA_BUNDLE": require_env("ATR_CA")}
    result = subprocess.run(
        [str(smart_fetch), "bulk", str(out), "--fhir-url", require_env("ATR_BASE"),
         "--group", "atr-group-sunrise", "--smart-client-id", client_id, "--smart-key", str(key),
         "--type", "Patient", "--no-compression"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, f"smart-fetch failed:\n{result.stdout}\n{result.stderr}"
    files = [path for path in out.rglob("*") if path.is_file() and ".ndjson" in path.name and "Patient" in path.name]
    assert files, f"no Patient files in {sorted(p.name for p in out.rglob('*'))}"
    patients = [resource for path in files for resource in _read_ndjson(path)]
    assert {resource["resourceType"] for resource in patients} == {"Patient"}
    assert sorted(resource["id"] for resource in patients) == sorted(EXPECTED_PATIENTS)
