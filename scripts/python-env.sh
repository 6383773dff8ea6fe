#!/usr/bin/env bash
# The test tooling's Python packages (PyPI), in the ignored virtual environment .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.requirements
if [ -x .venv/bin/python ] && cmp -s scripts/python-requirements.txt "$stamp"; then exit 0; fi
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r scripts/python-requirements.txt
cp scripts/python-requirements.txt "$stamp"
