#!/usr/bin/env bash
# Usage: scripts/test.sh [pytest args...]
# Sets up .venv with the test tools and PyTorch (scripts/setup.sh --test) and
# runs the tests; exits with pytest's status (non-zero when a test fails).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
