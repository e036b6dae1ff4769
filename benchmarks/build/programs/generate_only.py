"""imagenet_custom's examples without TFDS's writer: a diagnostic.

Consumes the builder's split generators in one process: listing, reading,
image checks and boxes, but no serialisation, shuffling or writing. It calls
the builder's `_split_generators`, so it is not a way to build.

Run as `python -m benchmarks.build.programs.generate_only PROJECT_DIR
MANUAL_DIR DATA_DIR`; prints `examples generated: N`.
"""

from __future__ import annotations

import sys

# The line the harness looks for in the log.
COUNT_PREFIX = 'examples generated: '


def main(argv: list[str]) -> int:
  """Generates every split's examples and prints how many there were.

  Args:
    argv: `[project_dir, manual_dir, data_dir]`.

  Returns:
    The exit status.
  """
  project_dir, manual_dir, data_dir = argv
  sys.path.insert(0, project_dir)
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from imagenet_custom import Builder  # pylint: disable=g-import-not-at-top

  builder = Builder(data_dir=data_dir)
  manager = tfds.download.DownloadManager(
      download_dir=data_dir + '/downloads', manual_dir=manual_dir,
      manual_dir_instructions=Builder.MANUAL_DOWNLOAD_INSTRUCTIONS,
  )
  count = 0
  for examples in builder._split_generators(manager).values():  # pylint: disable=protected-access
    for _ in examples:
      count += 1
  print(f'{COUNT_PREFIX}{count}', flush=True)
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
