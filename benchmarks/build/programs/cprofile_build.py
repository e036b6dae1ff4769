"""The plain build in one process under cProfile (main thread only).

Run as `python -m benchmarks.build.programs.cprofile_build PROJECT_DIR
MANUAL_DIR DATA_DIR STATS_PATH`.
"""

from __future__ import annotations

import cProfile
import sys


def main(argv: list[str]) -> int:
  """Builds the dataset under cProfile and writes the stats.

  Args:
    argv: `[project_dir, manual_dir, data_dir, stats_path]`.

  Returns:
    The exit status.
  """
  project_dir, manual_dir, data_dir, stats_path = argv
  sys.path.insert(0, project_dir)
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from imagenet_custom import Builder  # pylint: disable=g-import-not-at-top

  builder = Builder(data_dir=data_dir)
  config = tfds.download.DownloadConfig(manual_dir=manual_dir)
  profiler = cProfile.Profile()
  profiler.runcall(builder.download_and_prepare, download_config=config)
  profiler.dump_stats(stats_path)
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
