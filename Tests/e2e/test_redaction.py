"""ResourceRedactionOptions end to end: the ATR redaction (every Money, Coverage.costToBeneficiary)
applied by atr-scheduler to a real export of the sample, and both servers refusing to start on
an expression they cannot run."""
from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path

import pytest

from export_support import ALL_TYPES, export_get, has_subsetted_tag
from fhir_support import require_env

SUNRISE = "atr-group-sunrise"


def _without_money(value):
    """What the seed's two expressions leave of a stored resource, computed independently:
    `valueMoney` removed anywhere (the sample's only Money elements besides costToBeneficiary),
    extensions left without value or nested extensions dropped, empty containers pruned."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "valueMoney":
                continue
            pruned = _without_money(item)
            if pruned in ({}, []) and item not in ({}, []):
                continue
            out[key] = pruned
        return out
    if isinstance(value, list):
        items = [_without_money(item) for item in value]
        kept = []
        for original, item in zip(value, items):
            if isinstance(original, dict) and "url" in original and not any(
                    k.startswith("value") or k == "extension" for k in item):
                continue  # an extension that lost its only value
            if item in ({}, []) and original not in ({}, []):
                continue
            kept.append(item)
        return kept
    return value


def _expected(stored: dict) -> dict:
    expected = copy.deepcopy(stored)
    if expected["resourceType"] == "Coverage":
        expected.pop("costToBeneficiary", None)
    return _without_money(expected)


def _without_subsetted(resource: dict) -> dict:
    result = copy.deepcopy(resource)
    tags = [tag for tag in result.get("meta", {}).get("tag", []) if tag.get("code") != "SUBSETTED"]
    if tags:
        result["meta"]["tag"] = tags
    else:
        result.get("meta", {}).pop("tag", None)
    return result


def _money_paths(value, path="") -> list[str]:
    found = []
    if isinstance(value, dict):
        if "currency" in value:
            found.append(path)
        for key, item in value.items():
            found += _money_paths(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _money_paths(item, f"{path}[{index}]")
    return found


@pytest.fixture(scope="module")
def sunrise_export(http, base):
    return export_get(http, base, SUNRISE, "_type=" + ",".join(ALL_TYPES))


def test_no_money_and_no_cost_to_beneficiary_anywhere(sunrise_export):
    data = sunrise_export.all_bytes()
    assert b"costToBeneficiary" not in data
    assert b"valueMoney" not in data
    for resource in sunrise_export.resources():
        assert _money_paths(resource) == [], f"{resource['resourceType']}/{resource['id']}"


def test_every_other_element_equals_the_stored_resource(sunrise_export, http, base):
    checked = 0
    for resource in sunrise_export.resources():
        if resource["resourceType"] == "Group":
            continue  # member-filtered for opt-outs; covered by the export tests
        stored = http.get(f"{base}/{resource['resourceType']}/{resource['id']}").json()
        expected = _expected(stored)
        assert _without_subsetted(resource) == expected, f"{resource['resourceType']}/{resource['id']}"
        assert has_subsetted_tag(resource) == (expected != stored), f"{resource['resourceType']}/{resource['id']}"
        checked += 1
    assert checked >= 20


def test_redacted_coverages_are_tagged_subsetted(sunrise_export):
    coverages = sunrise_export.resources("Coverage")
    assert coverages and all(has_subsetted_tag(coverage) for coverage in coverages)


def test_untouched_resources_are_byte_identical_to_what_is_stored(sunrise_export, http, base):
    identical = 0
    for url, data in sunrise_export.raw.items():
        for line in data.splitlines():
            resource = json.loads(line)
            if resource["resourceType"] in ("Group", "OperationOutcome") or has_subsetted_tag(resource):
                continue
            stored = http.get(f"{base}/{resource['resourceType']}/{resource['id']}")
            assert line == stored.content, f"{resource['resourceType']}/{resource['id']}"
            identical += 1
    assert identical >= 10  # Patients, Practitioners, Organizations, … carry no Money in the sample


BAD_REDACTION = {"hl7.fhir.us.davinci-atr": {"FhirVersions": ["Fhir4.0"],
                                             "OmitElements": ["descendants().where($this is Money)",
                                                              "Coverage.descendants().frobnicate()"]}}


def _bad_config(tmp_path: Path) -> Path:
    config = json.loads((Path(require_env("ATR_ROOT")) / "Config" / "appsettings.json").read_text())
    config["ResourceRedactionOptions"]["Redactions"] = BAD_REDACTION
    path = tmp_path / "appsettings.json"
    path.write_text(json.dumps(config))
    return path


@pytest.mark.parametrize("program", [["atr-scheduler", "--once"], ["atr-fcgi", "--socket", "UNUSED"]])
def test_a_bad_expression_in_appsettings_stops_the_servers(tmp_path, program):
    env = {**os.environ, "ATR_CONFIG": str(_bad_config(tmp_path))}
    args = [os.path.join(require_env("ATR_BIN"), program[0])] + [
        str(tmp_path / "never.sock") if arg == "UNUSED" else arg for arg in program[1:]]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60,
                            cwd=require_env("ATR_ROOT"))
    assert result.returncode == 78, result.stderr
    assert "OmitElements" in result.stderr
    assert "Coverage.descendants().frobnicate()" in result.stderr
    assert "frobnicate" in result.stderr and "position" in result.stderr
    assert not (tmp_path / "never.sock").exists()


def test_a_bad_expression_from_the_environment_stops_the_scheduler():
    env = {**os.environ, "ATR_ResourceRedactionOptions__Redactions": json.dumps(
        {"hl7.fhir.us.davinci-atr": {"FhirVersions": ["Fhir4.0"], "OmitElements": ["Coverage.costToBeneficiary.("]}})}
    result = subprocess.run([os.path.join(require_env("ATR_BIN"), "atr-scheduler"), "--once"], env=env,
                            capture_output=True, text=True, timeout=60, cwd=require_env("ATR_ROOT"))
    assert result.returncode == 78, result.stderr
    assert "Coverage.costToBeneficiary.(" in result.stderr and "position" in result.stderr
