#!/usr/bin/env bash
# Usage: scripts/smoke.sh newest|lowest [WORK_DIR]
#
# CI's smoke stages: install this package in a fresh venv (in WORK_DIR, default
# a new temporary folder), then, from outside the repository, build the dummy
# data with `tfds build imagenet_custom --imports imagenet_custom` and read it
# back with `tfds.load` (scripts/smoke_check.py checks the split sizes and that
# only one TensorFlow distribution is installed).
#
#   newest  Python 3.13. `tensorflow` is installed first, as a user has it, then
#           `pip install .`: every other requirement resolved fresh, at the
#           newest release its range allows. Fails when pip brings a second
#           TensorFlow (tensorflow-cpu), or when an installed distribution caps
#           one of setup.cfg's upper bounds lower (`lower_bounds.py --capped`).
#   lowest  Python 3.10. The wheel built by `python -m build`, installed with
#           every direct requirement at its lower bound (scripts/lower_bounds.py).
#
# SMOKE_PYTHON=/path/to/python overrides the interpreter.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}
case $mode in
  newest) version=3.13 ;;
  lowest) version=3.10 ;;
  *) echo "usage: scripts/smoke.sh newest|lowest [WORK_DIR]" >&2; exit 2 ;;
esac
work=${2:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
python=${SMOKE_PYTHON:-$(bash "$repo/scripts/find_python.sh" "$version")}
venv=$work/venv
pip=("$venv/bin/python" -m pip --quiet --disable-pip-version-check)
# pip's warning for each package missing from a local extra index (as on this
# project's machines) would bury the log.
pip_install() {
  "${pip[@]}" install "$@" 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
}

echo "smoke $mode: $("$python" --version) in $venv"
rm -rf "$venv" "$work/data" "$work/dist"
"$python" -m venv "$venv"
pip_install --upgrade pip
case $mode in
  newest)
    pip_install "$("$python" "$repo/scripts/lower_bounds.py" "$repo/setup.cfg" --range tensorflow)"
    (cd "$repo" && pip_install .)
    ;;
  lowest)
    "$python" "$repo/scripts/lower_bounds.py" "$repo/setup.cfg" > "$work/lowest.txt"
    pip_install build
    "$venv/bin/python" -m build --wheel --outdir "$work/dist" "$repo" > "$work/wheel.log" 2>&1 ||
      { cat "$work/wheel.log"; exit 1; }
    pip_install --constraint "$work/lowest.txt" "$work"/dist/imagenet_custom-*.whl
    ;;
esac
"${pip[@]}" check
if [ "$mode" = newest ]; then
  # The top of every range is what got installed: nothing installed caps one
  # of setup.cfg's upper bounds lower (the message names the bound to lower).
  "$venv/bin/python" "$repo/scripts/lower_bounds.py" "$repo/setup.cfg" --capped
fi
if "${pip[@]}" list | grep -Ei '^tensorflow[-_](cpu|intel|macos) '; then
  echo "smoke $mode: a second TensorFlow distribution was installed beside tensorflow" >&2
  exit 1
fi

# Outside the repository, so that only the installed package can be found.
cd "$work"
"$venv/bin/tfds" build imagenet_custom --imports imagenet_custom \
  --manual_dir="$repo/dummy_data/archives" --data_dir="$work/data" > "$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log"; echo "smoke $mode: tfds build failed (log: $work/build.log)" >&2; exit 1; }
TF_CPP_MIN_LOG_LEVEL=2 "$venv/bin/python" "$repo/scripts/smoke_check.py" --data_dir="$work/data"
