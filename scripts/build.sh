#!/usr/bin/env bash
# Usage: scripts/build.sh [MANUAL_DIR [DATA_DIR [extra `tfds build` flags...]]]
# Sets up .venv (scripts/setup.sh: no PyTorch), builds imagenet_custom from
# MANUAL_DIR (default: the bundled dummy data, archives layout) into DATA_DIR
# (default: ./out) and prints a summary of what was written.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
manual_dir=${1:-dummy_data/archives}
data_dir=${2:-out}
shift $(( $# > 2 ? 2 : $# ))
.venv/bin/tfds build imagenet_custom --config=default --manual_dir="$manual_dir" \
  --data_dir="$data_dir" --overwrite "$@" 2>&1 | grep -v "apitools not found"
.venv/bin/python -m imagenet_custom.summary --data_dir="$data_dir"
