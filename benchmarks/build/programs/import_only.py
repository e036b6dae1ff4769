"""Imports TFDS and the builder, then exits: the startup cost of `generate_only`.

Run as `python -m benchmarks.build.programs.import_only PROJECT_DIR`.
"""

from __future__ import annotations

import importlib
import sys


def main(argv: list[str]) -> int:
  """Imports what `generate_only` imports before it reads anything.

  Args:
    argv: `[project_dir]`.

  Returns:
    The exit status.
  """
  sys.path.insert(0, argv[0])
  importlib.import_module('tensorflow_datasets')
  importlib.import_module('imagenet_custom')
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
