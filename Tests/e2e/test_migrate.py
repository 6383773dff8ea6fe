"""Schema migrations are one explicit step, `atrctl migrate` (README "Configuration" and
"Deployment"): atr-fcgi, atr-scheduler and every other atrctl command refuse a database whose
schema is not this build's with exit 78 (EX_CONFIG) and a message that says what to run,
instead of each process (and each FastCGI thread) migrating on its own.
"""
from __future__ import annotations

import os
import re
import sqlite3
import subprocess

import pytest

from export_support import Instance, require_env, subprocess_env

BEHIND = re.compile(r"the database schema is at version 0, this build needs (\d+): run `atrctl migrate`")


@pytest.fixture
def instance(tmp_path, repo_root, instance_settings):
    inst = Instance(str(tmp_path / "migrate"), require_env("ATR_BIN"), repo_root, instance_settings, migrate=False)
    yield inst
    inst.close()


def run(instance: Instance, program: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(instance.bin_dir, program), *args], cwd=instance.cwd,
                          env=subprocess_env(instance.settings_file, **env), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def cgi_metadata(instance: Instance) -> subprocess.CompletedProcess:
    return run(instance, "atr-fcgi", GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="GET",
               DOCUMENT_URI="/fhir/metadata", SCRIPT_NAME="/fhir/metadata", QUERY_STRING="",
               REQUEST_URI="/fhir/metadata", SERVER_PROTOCOL="HTTP/1.1")


def refusals(instance: Instance) -> dict[str, subprocess.CompletedProcess]:
    return {
        "atr-scheduler --once": run(instance, "atr-scheduler", "--once"),
        "atr-fcgi": cgi_metadata(instance),
        "atrctl tasks list": run(instance, "atrctl", "tasks", "list"),
        "atrctl import": run(instance, "atrctl", "import", os.path.join(instance.cwd, "samples/atr-sample.json")),
    }


def test_no_process_but_atrctl_migrate_creates_or_changes_the_schema(instance):
    for name, proc in refusals(instance).items():
        assert proc.returncode == 78, (name, proc)
        assert BEHIND.search(proc.stderr.decode()), (name, proc.stderr)
        assert proc.stdout == b"", (name, proc.stdout)
    if not instance.postgres:
        assert not os.path.exists(instance.database), "a refusing process must not create the database"

    migrated = run(instance, "atrctl", "migrate")
    assert migrated.returncode == 0, migrated
    match = re.fullmatch(rf"database {re.escape(instance.description)}: schema migrated from version 0 to (\d+)\n",
                         migrated.stdout.decode())
    assert match, migrated.stdout
    again = run(instance, "atrctl", "migrate")
    assert again.stdout.decode() == f"database {instance.description}: schema already at version {match.group(1)}\n"

    assert run(instance, "atr-scheduler", "--once").returncode == 0
    metadata = cgi_metadata(instance)
    assert metadata.returncode == 0 and metadata.stdout.startswith(b"Status: 200"), metadata
    assert run(instance, "atrctl", "tasks", "list").returncode == 0


def schema_version(instance) -> int:
    if instance.postgres:
        return int(instance.sql("SELECT version FROM schema_version")[0][0])
    with sqlite3.connect(instance.database) as db:
        return db.execute("PRAGMA user_version").fetchall()[0][0]


def test_a_schema_newer_than_the_build_is_refused_untouched(instance):
    assert run(instance, "atrctl", "migrate").returncode == 0
    version = schema_version(instance)
    if instance.postgres:
        instance.sql(f"UPDATE schema_version SET version = {version + 1}")
    else:
        with sqlite3.connect(instance.database) as db:
            db.execute(f"PRAGMA user_version = {version + 1}")
    expected = f"the database schema is at version {version + 1}, newer than this build's {version}: run a newer build"
    for name, proc in {**refusals(instance), "atrctl migrate": run(instance, "atrctl", "migrate")}.items():
        assert proc.returncode == 78, (name, proc)
        assert expected in proc.stderr.decode(), (name, proc.stderr)
    assert schema_version(instance) == version + 1
