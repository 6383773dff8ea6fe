#!/usr/bin/env python3
"""Differential test of the Swift FHIRPath engine against fhirpathpy (the reference).

corpus.json holds FHIR R4 resources and FHIRPath expressions; each expression is paired
with every resource (or the resources it lists). This script evaluates every pair with
fhirpathpy and the R4 model (`models["r4"]`) and writes the selections to expected.json.
The Swift test (Tests/ExportDomainTests/FHIRPathDifferentialTests.swift) evaluates the same
pairs with the Swift engine and compares. expected.json is committed, so the Swift test
needs no Python.

  .venv/bin/python Tests/fhirpath-differential/generate.py           # regenerate expected.json
  .venv/bin/python Tests/fhirpath-differential/generate.py --check   # verify it is current

(`scripts/python-env.sh` creates .venv with fhirpathpy from scripts/python-requirements.txt.)

A selection is a set of items [path, value]:
  * an element: path = JSON location from the resource root (keys and array indices),
    value = the element's JSON in canonical form (keys sorted, compact, number literals as
    written);
  * a computed value (true, 'x', 5): path = null, value = canonical JSON (numbers normalised).
A pair whose evaluation fails (e.g. `is` applied to several items) expects {"error": ...}.

fhirpathpy represents FHIR JSON slightly differently from the Swift engine; these
differences are normalised here, not hidden from the comparison of selections:
  * fhirpathpy returns a primitive's `_name` companion as a separate node (and nulls of
    aligned `_name` arrays); the Swift engine treats value + companion as one element. Nodes
    located at a `_name` key, and null nodes, are dropped.
  * fhirpathpy returns `resourceType` as a child; it is not an element. Dropped.
fhirpathpy locations: dicts are found by identity in the resource; primitives by their
`propName` (e.g. Patient.name[0].given[1]), checked against the value.
"""

import argparse
import copy
import json
import os
import re
import sys
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus.json")
EXPECTED = os.path.join(HERE, "expected.json")

try:
    import fhirpathpy
    from fhirpathpy import evaluate
    from fhirpathpy.engine.nodes import ResourceNode, TypeInfo
    from fhirpathpy.models import models
except ImportError:
    sys.exit("fhirpathpy is not installed: run scripts/python-env.sh and use .venv/bin/python")


def canonical(value):
    """Compact JSON with sorted keys; Decimal numbers keep their literal text."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        raise ValueError("float in corpus data: load with parse_float=Decimal")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(value[k]) for k in sorted(value)) + "}"
    raise ValueError(f"cannot serialise {type(value).__name__}")


def normalised_number(value):
    d = Decimal(value)
    if d == 0:
        return "0"
    text = format(d.normalize(), "f")
    return text


def index_objects(resource):
    """id(dict) -> JSON path, for every object in the resource."""
    index = {}

    def walk(value, path):
        if isinstance(value, dict):
            index[id(value)] = path
            for k, v in value.items():
                walk(v, path + [k])
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, path + [i])

    walk(resource, [])
    return index


def parse_prop_name(prop_name):
    """'Patient.name[0].given[1]' -> [('name', 0), ('given', 1)] (the first step is the type)."""
    steps = []
    for part in prop_name.split(".")[1:]:
        if part.endswith("]") and "[" in part:
            name, idx = part[:-1].split("[")
            steps.append((name, int(idx)))
        else:
            steps.append((part, None))
    return steps


def same_value(a, b):
    return type(a) is type(b) and a == b


def locate_primitive(resource, node):
    if not node.propName:
        raise ValueError(f"cannot locate primitive {node.data!r}: no propName")
    candidates = [([], resource)]
    for name, idx in parse_prop_name(node.propName):
        nxt = []
        for path, value in candidates:
            if not isinstance(value, dict):
                continue
            for key in value:
                base = key[1:] if key.startswith("_") else key
                if not (base == name or (base.startswith(name) and len(base) > len(name) and base[len(name)].isupper())):
                    continue
                child = value[key]
                if idx is None:
                    if not isinstance(child, list):
                        nxt.append((path + [key], child))
                elif isinstance(child, list) and idx < len(child):
                    nxt.append((path + [key, idx], child[idx]))
        candidates = nxt
    matches = [p for p, v in candidates if same_value(v, node.data)]
    if len(matches) > 1:
        plain = [p for p in matches if not any(isinstance(c, str) and c.startswith("_") for c in p)]
        if len(plain) == 1:
            matches = plain
    if len(matches) != 1:
        raise ValueError(f"cannot locate primitive {node.data!r} at {node.propName}: {len(matches)} candidates")
    return matches[0]


def value_at(resource, path):
    value = resource
    for c in path:
        value = value[c]
    return value


def is_companion_path(path):
    keys = [c for c in path if isinstance(c, str)]
    return bool(keys) and keys[-1].startswith("_")


def selection(resource, expression):
    """fhirpathpy's selection as a sorted list of [path, canonical value]."""
    data = copy.deepcopy(resource)
    index = index_objects(data)
    model = models["r4"]
    # fhirpathpy keeps the model for type tests in a class attribute that only `is`/`as` set
    # (so `ofType` before any `is` would run without it): set it for every evaluation.
    TypeInfo.model = model
    result = evaluate(data, expression, model=model, options={"returnRawData": True})
    items = set()
    for item in result:
        if isinstance(item, ResourceNode):
            value = item.data
            if value is None:
                continue
            if isinstance(value, dict):
                path = index.get(id(value))
                if path is None:
                    raise ValueError(f"cannot locate object {value!r}")
            else:
                path = locate_primitive(data, item)
            if is_companion_path(path) or (path and path[-1] == "resourceType"):
                continue
            items.add((json.dumps(path), canonical(value_at(data, path))))
        elif isinstance(item, bool):
            items.add(("null", canonical(item)))
        elif isinstance(item, (int, Decimal, float)):
            items.add(("null", normalised_number(item)))
        elif isinstance(item, str):
            items.add(("null", canonical(item)))
        else:
            raise ValueError(f"unexpected result item {item!r}")
    return [[json.loads(p), v] for p, v in sorted(items)]


def build(corpus):
    cases = []
    resources = corpus["resources"]
    for entry in corpus["expressions"]:
        expression = entry["expression"]
        names = list(resources) if entry.get("resources", "*") == "*" else entry["resources"]
        for name in names:
            resource = resources[name]
            case = {"expression": expression, "resource": name}
            try:
                case["selection"] = selection(resource, expression)
            except Exception as error:  # noqa: BLE001 - any evaluation failure is an expected error
                # Without object addresses, so that --check is stable.
                message = re.sub(r"\[.*", "[…]", re.sub(r" at 0x[0-9a-f]+", "", str(error)))
                case["error"] = f"{type(error).__name__}: {message}"[:160]
            cases.append(case)
    return {
        "generator": f"fhirpathpy {fhirpathpy.__version__} with models['r4'] (Tests/fhirpath-differential/generate.py)",
        "count": len(cases),
        "cases": cases,
    }


def render(expected):
    # One case per line: readable diffs.
    lines = ["{", f'  "generator": {json.dumps(expected["generator"])},', f'  "count": {expected["count"]},', '  "cases": [']
    for i, case in enumerate(expected["cases"]):
        comma = "," if i < len(expected["cases"]) - 1 else ""
        lines.append("    " + json.dumps(case, ensure_ascii=False) + comma)
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if expected.json is not what fhirpathpy gives now")
    args = parser.parse_args()
    with open(CORPUS, encoding="utf-8") as f:
        corpus = json.load(f, parse_float=Decimal)
    text = render(build(corpus))
    if args.check:
        try:
            with open(EXPECTED, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            sys.exit("expected.json differs from fhirpathpy's results: run Tests/fhirpath-differential/generate.py")
        print(f"expected.json matches fhirpathpy {fhirpathpy.__version__} ({json.loads(text)['count']} cases)")
        return
    with open(EXPECTED, "w", encoding="utf-8") as f:
        f.write(text)
    expected = json.loads(text)
    errors = sum(1 for c in expected["cases"] if "error" in c)
    print(f"wrote expected.json: {expected['count']} cases ({errors} expected errors)")


if __name__ == "__main__":
    main()
