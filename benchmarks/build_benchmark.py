"""Benchmarks the imagenet_custom build against TFDS `imagenet2012` and the I/O floor.

  python benchmarks/build_benchmark.py [--images 20000] [--repeats 2]
      [--contenders imagenet2012,plain,beam,kaggle,floor] [--workers 1,2]

The benchmark lives in the package `benchmarks/build/` (see its `cli` module
and benchmarks/README.md); this file is its entry point.
"""

from __future__ import annotations

import pathlib
import sys

if __name__ == '__main__':
  # Run as a script: make the checkout importable as `benchmarks.build`.
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks.build import cli  # pylint: disable=g-import-not-at-top

main = cli.main

if __name__ == '__main__':
  sys.exit(main())
