#!/usr/bin/env bash
# The tooling's Python packages (PyPI), in the ignored virtual environment .venv.
#   scripts/python-env.sh                 the test tooling's (scripts/python-requirements.txt)
#   scripts/python-env.sh REQUIREMENTS…   other pinned sets into the same .venv, e.g. `make bench`'s
#                                         chart (scripts/bench/requirements.txt)
# Each set is installed once and again only when its file changes (a copy of it in .venv is the stamp).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- scripts/python-requirements.txt
for requirements in "$@"; do
    case "$requirements" in
        scripts/python-requirements.txt) stamp=.venv/.requirements ;;
        *) stamp=.venv/.requirements-$(printf '%s' "$requirements" | tr -c 'A-Za-z0-9._-' '_') ;;
    esac
    if [ -x .venv/bin/python ] && cmp -s "$requirements" "$stamp"; then continue; fi
    python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r "$requirements"
    cp "$requirements" "$stamp"
done
