#!/usr/bin/env bash
# Usage: scripts/test.sh [pytest args...]  Sets up .venv and runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
