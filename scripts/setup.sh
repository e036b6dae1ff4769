#!/usr/bin/env bash
# Usage: scripts/setup.sh [--test]
#
# Creates .venv from requirements.lock and installs this package (editable):
# what building and `tfds.load` need, no PyTorch. With --test, also
# requirements-test.lock (pytest, ruff, mypy) and requirements-examples.lock
# (PyTorch, tf-keras). Idempotent: each part is skipped while its lock files
# are unchanged.
#
# Python: $PYTHON if set, else the first of python3.11, 3.12, 3.13 found on
# PATH or in pyenv (the versions requirements.lock supports).
set -euo pipefail
cd "$(dirname "$0")/.."
supported=(3.11 3.12 3.13)
with_test=false
case ${1:-} in
  '') ;;
  --test) with_test=true ;;
  *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
esac

python=${PYTHON:-$(bash scripts/find_python.sh "${supported[@]}")}
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [[ " ${supported[*]} " != *" $version "* ]]; then
  echo "error: $python is Python $version; requirements.lock supports ${supported[*]}." >&2
  echo "Set PYTHON to one of those, or use \`pip install .\` (Python >= 3.10) in a venv of your own." >&2
  exit 1
fi

pip=(.venv/bin/python -m pip --quiet --disable-pip-version-check)
# pip's warning for each package missing from a local extra index (as on this
# project's machines) would bury the output.
pip_install() {
  "${pip[@]}" install "$@" 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
}
runtime_stamp=.venv/.requirements.lock
if [ ! -f "$runtime_stamp" ] || ! { echo "$version"; cat requirements.lock; } | cmp -s - "$runtime_stamp"; then
  echo "setup: creating .venv (Python $version) from requirements.lock" >&2
  "$python" -m venv --clear .venv
  pip_install --upgrade pip
  pip_install -r requirements.lock
  pip_install --no-deps --no-build-isolation -e .
  "${pip[@]}" check
  { echo "$version"; cat requirements.lock; } > "$runtime_stamp"
  rm -f .venv/.requirements-test.lock
fi

test_stamp=.venv/.requirements-test.lock
if $with_test && { [ ! -f "$test_stamp" ] ||
    ! cat requirements-test.lock requirements-examples.lock | cmp -s - "$test_stamp"; }; then
  echo "setup: installing requirements-test.lock and requirements-examples.lock" >&2
  pip_install -r requirements-test.lock -r requirements-examples.lock -c requirements.lock
  "${pip[@]}" check
  cat requirements-test.lock requirements-examples.lock > "$test_stamp"
fi
