#!/usr/bin/env bash
# Usage: scripts/lint.sh  Lints (ruff) and type-checks (mypy) imagenet_custom/,
# benchmarks/ and tests/ with the settings in pyproject.toml. Uses .venv (made
# by scripts/setup.sh). Exits non-zero when either finds anything.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
.venv/bin/ruff check imagenet_custom benchmarks tests || status=1
.venv/bin/mypy imagenet_custom benchmarks tests || status=1
exit "$status"
