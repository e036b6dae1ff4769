#!/usr/bin/env bash
# Usage: scripts/lint.sh  Lints (ruff) and type-checks (mypy) imagenet_custom/,
# benchmarks/ and tests/ with the settings in pyproject.toml. Uses .venv (made
# by scripts/setup.sh) with requirements-test.lock installed (scripts/setup.sh --test). Exits non-zero
# when either tool finds anything.
set -uo pipefail
cd "$(dirname "$0")/.."
for tool in ruff mypy; do
  if [[ ! -x .venv/bin/$tool ]]; then
    echo "lint.sh: .venv/bin/$tool is missing: .venv/bin/pip install -r requirements-test.lock" >&2
    exit 2
  fi
done
status=0
.venv/bin/ruff check imagenet_custom benchmarks tests || status=1
.venv/bin/mypy imagenet_custom benchmarks tests || status=1
exit "$status"
