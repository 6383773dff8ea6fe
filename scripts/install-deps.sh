#!/usr/bin/env bash
# Installs the Debian packages the project needs, only when one is missing.
#   --test  also what the end-to-end tests use beyond running the stack (scripts/e2e.sh passes it)
set -euo pipefail
# libpq-dev: the PostgreSQL client library the build links (the server is only for tests).
packages=(libfcgi-dev libsqlite3-dev libpq-dev nginx spawn-fcgi openssl python3-venv curl)
if [ "${1:-}" = --test ]; then
    # systemd: systemd-analyze, systemd-sysusers, systemd-tmpfiles (Tests/e2e/test_deploy.py);
    # base-passwd: the www-data group the tmpfiles rules name (essential, so normally there);
    # strace: the fault-injection suite delays system calls with it (Tests/faults).
    # postgresql: the server the PostgreSQL backend's tests start (scripts/postgres.sh).
    packages+=(systemd base-passwd strace postgresql)
fi
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
