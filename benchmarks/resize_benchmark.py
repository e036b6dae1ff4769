"""Per-image cost and quality of ways of shrinking a JPEG for resized builds.

  python benchmarks/resize_benchmark.py [--images 200] [--large 40] [--passes 5]
      [--shorter_side 256]

Times each stage of `images.resize_to_shorter_side` alone (decode, reduce,
each resize kernel, encode) and each candidate method whole, single thread,
CPU time per image, best of interleaved passes; beside each candidate, its
PSNR against a float Lanczos-3 resize of the full image (before encoding and
of the stored JPEG) and its stored size. The benchmark lives in the package
`benchmarks/resize/` (see its `cli` module and docs/resized.md); this file is
its entry point.
"""

from __future__ import annotations

import pathlib
import sys

if __name__ == '__main__':
  # Run as a script: make the checkout importable as `benchmarks.resize`.
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks.resize import cli  # pylint: disable=g-import-not-at-top

main = cli.main

if __name__ == '__main__':
  sys.exit(main())
