#!/usr/bin/env bash
# Creates .venv (Python 3.11) with the pinned dependencies and this package.
# Idempotent: a venv whose lock file is unchanged is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
if ! command -v "$PYTHON" >/dev/null; then PYTHON=python3; fi
stamp=.venv/.requirements.lock
if [ ! -f "$stamp" ] || ! cmp -s requirements.lock "$stamp"; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.lock
  .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
  cp requirements.lock "$stamp"
fi
