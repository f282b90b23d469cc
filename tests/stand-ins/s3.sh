#!/usr/bin/env bash
# Starts the S3-compatible stand-in the document tests run against: moto's server (PyPI `moto`,
# the AWS API emulator), in a private virtual environment made on first use. Usage: s3.sh PORT
# It serves until killed; `exec` makes the caller's process handle the server itself.
set -euo pipefail
port="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${MOTCUA_S3_VENV:-$root/target/stand-ins/moto}"
if [ ! -x "$venv/bin/moto_server" ]; then
  mkdir -p "$(dirname "$venv")"
  # Tests start stand-ins in parallel: one of them installs, the others wait for it.
  exec 9>"$(dirname "$venv")/moto.lock"
  flock 9
  if [ ! -x "$venv/bin/moto_server" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==5.2.1" >&2
  fi
  flock -u 9
fi
exec "$venv/bin/moto_server" -H 127.0.0.1 -p "$port"
