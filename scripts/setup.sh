#!/usr/bin/env bash
# Creates .venv (Python 3.11) with the pinned dependencies and this package.
# Idempotent: a venv whose lock file is unchanged is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
if ! command -v "$PYTHON" >/dev/null; then PYTHON=python3; fi
stamp=.venv/.requirements.lock
if [ ! -f "$stamp" ] || ! cat requirements.lock requirements-examples.lock | cmp -s - "$stamp"; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.lock
  # The training examples: PyTorch (CPU) for examples/train_torch.py, and
  # tf-keras for the read benchmark's ImageDataGenerator baseline (without
  # its dependencies, which would add a second TensorFlow).
  .venv/bin/python -m pip install --quiet -r requirements-examples.lock
  .venv/bin/python -m pip install --quiet --no-deps tf-keras==2.21.0
  .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
  cat requirements.lock requirements-examples.lock > "$stamp"
fi
