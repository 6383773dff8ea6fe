"""The operator's commands against the running stack: `atrctl doctor`, `atrctl status`,
`atrctl db backup`."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess

import pytest

from export_support import SQLITE_ONLY, export_get
from fhir_support import require_env
from malformed_corpus import SUNRISE


def run_atrctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(require_env("ATR_BIN"), "atrctl"), *args], capture_output=True, text=True,
                          timeout=120, cwd=require_env("ATR_ROOT"), env={**os.environ, **(env or {})})


def nginx_options() -> list[str]:
    nginx = os.path.join(require_env("ATR_STATE_DIR"), "nginx")
    return ["--nginx-conf", os.path.join(nginx, "nginx.conf"), "--nginx-prefix", nginx]


def verdicts(output: str) -> dict[str, str]:
    """`ok    name: detail` lines → {name: verdict}."""
    found = {}
    for line in output.splitlines():
        verdict, _, rest = line.partition("  ")
        found[rest.strip().split(":")[0]] = verdict.strip()
    return found


def test_doctor_passes_every_check_on_the_test_stack():
    proc = run_atrctl("doctor", *nginx_options())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = {
        "configuration": "ok", "database": "ok", "task directory": "ok", "database directory": "ok",
        "URL signing secret": "ok", "token signing key": "ok", "nginx": "ok", "clock": "ok",
    }
    if os.environ.get("ATR_BACKEND") == "postgresql":
        del expected["database directory"]
    assert verdicts(proc.stdout) == expected, proc.stdout


def test_doctor_fails_on_a_world_readable_secret_a_missing_database_and_a_broken_nginx_config(tmp_path):
    state = require_env("ATR_STATE_DIR")
    secret = tmp_path / "url-signing.key"
    shutil.copy(os.path.join(state, "secrets", "url-signing.key"), secret)
    os.chmod(secret, 0o644)
    broken = tmp_path / "nginx.conf"
    broken.write_text("events {}\nhttp { server { listen 1; nonsense; } }\n")
    proc = run_atrctl("doctor", "--nginx-conf", str(broken), env={
        "ATR_SignedUrls__SecretFile": str(secret), "ATR_Database__Provider": "Sqlite",
        "ATR_Database__Path": str(tmp_path / "none.sqlite")})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found = verdicts(proc.stdout)
    assert found["URL signing secret"] == "FAIL" and "mode 644" in proc.stdout, proc.stdout
    assert found["database"] == "FAIL" and "atrctl migrate" in proc.stdout, proc.stdout
    assert found["nginx"] == "FAIL" and "nonsense" in proc.stdout, proc.stdout
    assert found["task directory"] == "ok", proc.stdout


def test_doctor_fails_on_an_unreachable_postgresql_database(tmp_path):
    proc = run_atrctl("doctor", *nginx_options(), env={
        "ATR_Database__Provider": "PostgreSQL",
        "ATR_Database__ConnectionString": f"host={tmp_path} port=1 dbname=atr user=atr connect_timeout=2"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found = verdicts(proc.stdout)
    assert found["database"] == "FAIL" and "cannot connect" in proc.stdout, proc.stdout
    assert found["clock"] == "warn" and "unreachable" in proc.stdout, proc.stdout
    assert found["configuration"] == "ok" and found["nginx"] == "ok", proc.stdout


def test_doctor_refuses_a_password_in_the_connection_string():
    proc = run_atrctl("doctor", env={"ATR_Database__Provider": "PostgreSQL",
                                     "ATR_Database__ConnectionString": "host=/tmp dbname=atr password=secret"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL  configuration: configuration error at 'Database.ConnectionString': must not hold a password" in proc.stdout, proc.stdout
    assert "secret" not in proc.stdout.replace("password=secret", ""), proc.stdout


def test_status_shows_the_queue_and_each_groups_last_export(http, base):
    result = export_get(http, base, SUNRISE)
    proc = run_atrctl("status")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("tasks: queued "), proc.stdout
    assert any(line.startswith("oldest queued: ") for line in lines), proc.stdout
    assert any(line.startswith("running: ") for line in lines), proc.stdout
    sunrise = [line.split() for line in lines if line.strip().startswith(f"Group/{SUNRISE} ")]
    assert len(sunrise) == 1, proc.stdout
    assert sunrise[0][1] == "complete" and sunrise[0][-2:] == ["task", result.task_id], proc.stdout


@pytest.mark.skipif(os.environ.get("ATR_BACKEND") != "postgresql", reason="PostgreSQL backend")
def test_db_backup_on_postgresql_names_pg_dump(tmp_path):
    proc = run_atrctl("db", "backup", str(tmp_path / "backup.dump"))
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "use pg_dump" in proc.stderr and f"pg_dump --format=custom --file={tmp_path / 'backup.dump'}" in proc.stderr, proc.stderr
    assert not (tmp_path / "backup.dump").exists()


@SQLITE_ONLY
def test_db_backup_copies_the_live_database_and_never_overwrites(tmp_path):
    target = tmp_path / "backup.sqlite"
    proc = run_atrctl("db", "backup", str(target))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "integrity ok" in proc.stdout, proc.stdout
    live = sqlite3.connect(f"file:{os.path.join(require_env('ATR_STATE_DIR'), 'db', 'atr.sqlite')}?mode=ro", uri=True)
    copy = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        live_groups = live.execute("SELECT id FROM resources WHERE type = 'Group' ORDER BY id").fetchall()
        assert copy.execute("SELECT id FROM resources WHERE type = 'Group' ORDER BY id").fetchall() == live_groups
        assert copy.execute("PRAGMA user_version").fetchone() == live.execute("PRAGMA user_version").fetchone()
    finally:
        live.close()
        copy.close()
    size = target.stat().st_size
    again = run_atrctl("db", "backup", str(target))
    assert again.returncode != 0 and "never overwrites" in again.stderr, again.stdout + again.stderr
    assert target.stat().st_size == size


def fcgi_log_lines_with(request_id: str) -> list[str]:
    with open(os.path.join(require_env("ATR_STATE_DIR"), "log", "atr-fcgi.log"), encoding="utf-8", errors="replace") as handle:
        return [line for line in handle if f"request-id={request_id}" in line]


def test_every_request_is_logged_once_under_nginxs_request_id_without_query_values(http, base):
    read = http.get(f"{base}/Group/{SUNRISE}")
    assert read.status_code == 200
    request_id = read.headers["X-Request-Id"]
    assert len(request_id) == 32 and all(c in "0123456789abcdef" for c in request_id), request_id
    [line] = fcgi_log_lines_with(request_id)
    for field in ("method=GET", f"route=/fhir/Group/{SUNRISE}", "status=200", "client-id=e2e-admin"):
        assert field in line, line
    unknown = http.get(f"{base}/$exportstatus", params={"_id": "secret-looking-value"})
    assert unknown.status_code == 404
    [line] = fcgi_log_lines_with(unknown.headers["X-Request-Id"])
    assert "route=/fhir/$exportstatus?_id " in line and "status=404" in line, line
    assert "secret-looking-value" not in line, line
    nginx_only = http.get(base.rsplit("/", 1)[0] + "/nope")
    assert nginx_only.status_code == 404 and len(nginx_only.headers["X-Request-Id"]) == 32, "nginx's own answers carry it too"


def test_metrics_are_served_on_the_loopback_listener_only(http, base):
    export_get(http, base, SUNRISE)
    socket_path = os.path.join(require_env("ATR_STATE_DIR"), "run", "metrics.sock")
    proc = subprocess.run(["curl", "-s", "--unix-socket", socket_path, "-w", "\n%{http_code}", "http://localhost/metrics"],
                          capture_output=True, text=True, timeout=30)
    body, _, status = proc.stdout.rpartition("\n")
    assert status == "200", proc.stdout + proc.stderr
    lines = body.splitlines()
    for prefix in ('atr_http_requests_total{route="Group/{id}/$davinci-data-export",status="202"} ',
                   'atr_tasks{state="complete"} ', "atr_queue_depth ", "atr_queue_oldest_age_seconds ",
                   'atr_exports_total{outcome="complete"} ', 'atr_export_resources_total{type="Patient"} ',
                   "atr_export_duration_seconds_count ", "atr_file_download_bytes_total "):
        assert any(line.startswith(prefix) for line in lines), f"{prefix!r} not in\n{body}"
    public = http.get(base.rsplit("/", 1)[0] + "/metrics")
    assert public.status_code == 404
    assert http.get(f"{base}/../metrics").status_code == 404
    other = subprocess.run(["curl", "-s", "--unix-socket", socket_path, "-o", "/dev/null", "-w", "%{http_code}",
                            "http://localhost/fhir/metadata"], capture_output=True, text=True, timeout=30)
    assert other.stdout == "404", "the metrics listener serves nothing else"
