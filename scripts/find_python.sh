#!/usr/bin/env bash
# Usage: scripts/find_python.sh VERSION...   e.g. scripts/find_python.sh 3.11 3.12
# Prints the path of the first of these Python versions that runs here: the
# `pythonX.Y` on PATH, else a pyenv install of it. Fails, naming the versions
# looked for, when none does.
set -euo pipefail
for version in "$@"; do
  for candidate in "python$version" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/"python$version"; do
    if path=$(command -v "$candidate" 2>/dev/null) &&
       [ "$("$path" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$version" ] &&
       "$path" -c 'import venv, ensurepip' 2>/dev/null; then
      echo "$path"
      exit 0
    fi
  done
done
echo "error: none of Python $* (with venv and ensurepip) was found on PATH or in pyenv." >&2
echo "Install one of them (e.g. from python.org, your OS packages or pyenv), or set PYTHON=/path/to/python3.X." >&2
exit 1
