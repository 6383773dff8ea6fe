"""`atrctl db migrate-to-postgres` (README "Storage backends and several nodes"): an SQLite
site with resources, a finished export and its audit trail, copied into an empty PostgreSQL
database, serves the same task and the same data once its settings name PostgreSQL.
Runs in the PostgreSQL pass of the suite (it needs the suite's PostgreSQL server)."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from export_support import Instance, psql, require_env, subprocess_env

pytestmark = pytest.mark.skipif(os.environ.get("ATR_BACKEND") != "postgresql", reason="needs the PostgreSQL pass")


def test_a_copied_site_serves_the_same_task_and_data_from_postgresql(tmp_path, repo_root, instance_settings):
    site = Instance(str(tmp_path / "site"), require_env("ATR_BIN"), repo_root, instance_settings,
                    overrides={"Database.Provider": "Sqlite"})
    try:
        site.import_files(os.path.join(repo_root, "samples/atr-sample.json"))
        task_id = site.kickoff("atr-group-sunrise")
        site.start_scheduler("--once").wait(timeout=120)
        before = site.status(task_id)
        assert before.status == 200, before.describe()
        group_before = site.cgi("GET", "/fhir/Group/atr-group-sunrise")
        assert group_before.status == 200, group_before.describe()

        target = f"{require_env('ATR_POSTGRES')} dbname=copy_{os.urandom(4).hex()}"
        psql(require_env("ATR_POSTGRES"), f"CREATE DATABASE {target.rsplit('=', 1)[1]}")
        copied = site.atrctl("db", "migrate-to-postgres", "--connection", target).stdout.decode()
        counts = dict(line.split(": ") for line in copied.splitlines() if line.endswith(" rows"))
        assert counts["resources"] == "42 rows" and counts["tasks"] == "1 rows", copied
        assert int(counts["audit_events"].split()[0]) >= 2, copied
        assert copied.splitlines()[-1].endswith("every table's count verified"), copied
        again = subprocess.run([os.path.join(site.bin_dir, "atrctl"), "db", "migrate-to-postgres", "--connection", target],
                               cwd=site.cwd, env=subprocess_env(site.settings_file), capture_output=True, timeout=120)
        assert again.returncode != 0 and b"not empty" in again.stderr, again

        site.settings["Database"].update({"Provider": "PostgreSQL", "ConnectionString": target})
        with open(site.settings_file, "w", encoding="utf-8") as handle:
            json.dump(site.settings, handle)
        assert site.task(task_id)["state"] == "complete"
        after = site.status(task_id)
        def files(response) -> list[tuple[str, str, int]]:  # links are signed afresh on every poll
            return [(o["type"], o["url"].split("?")[0], o["count"]) for o in json.loads(response.body)["output"]]
        assert after.status == 200 and files(after) == files(before), after.describe()
        group_after = site.cgi("GET", "/fhir/Group/atr-group-sunrise")
        assert group_after.status == 200 and group_after.body == group_before.body, group_after.describe()
        history = site.cgi("GET", "/fhir/Group/atr-group-sunrise/_history")
        assert history.status == 200, history.describe()
    finally:
        site.close()
