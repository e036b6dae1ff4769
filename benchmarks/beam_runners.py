"""Time and peak memory of the Beam engines that run here, beside the plain build.

Each contender is one `tfds build imagenet_custom` process; its whole process
tree (Dask workers, Beam SDK worker processes) is polled for the summed RSS
and PSS. Inputs: the checked-in dummy data, then a generated download of
`--images` realistic images (made once by `inputs.prepare_input`).

  python benchmarks/beam_runners.py --images 3000
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import dataclasses
import os
import pathlib
import subprocess
import sys
import threading
import time

import psutil

if __package__ in (None, ''):
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from benchmarks.build import cli  # pylint: disable=g-import-not-at-top
from benchmarks.build import contenders as contenders_lib  # pylint: disable=g-import-not-at-top
from benchmarks.build import environment  # pylint: disable=g-import-not-at-top
from benchmarks.build import inputs  # pylint: disable=g-import-not-at-top

PROJECT_DIR = pathlib.Path(__file__).resolve().parent.parent
DUMMY_ARCHIVES = PROJECT_DIR / 'dummy_data' / 'archives'
# `--beam_pipeline_options` per contender; None is the plain build.
CONTENDERS: dict[str, str | None] = {
    'plain': None,
    'direct': 'runner=DirectRunner',
    'fnapi_2proc': (
        'runner=FnApiRunner,direct_num_workers=2,direct_running_mode=multi_processing'
    ),
    'dask_2proc': 'runner=imagenet_custom.build.beam_patches.DaskRunner',
}
POLL_SECONDS = 0.5


@dataclasses.dataclass(frozen=True)
class Result:
  """One contender's run."""

  wall_s: float
  cpu_s: float
  peak_rss: int
  peak_pss: int
  peak_processes: int
  examples: int


def tree_memory(pid: int) -> tuple[int, int, int]:
  """Summed RSS and PSS of a process and its descendants, and their number.

  Args:
    pid: the root process.

  Returns:
    `(rss bytes, pss bytes, processes)`; zeros once the root is gone.
  """
  try:
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
  except psutil.NoSuchProcess:
    return 0, 0, 0
  rss = pss = 0
  for process in processes:
    try:
      info = process.memory_full_info()
    except psutil.NoSuchProcess:
      continue  # Exited after it was listed: it holds no memory any more.
    rss += info.rss
    pss += info.pss
  return rss, pss, len(processes)


class _Peaks(threading.Thread):
  """Polls a process tree's memory until stopped."""

  def __init__(self, pid: int) -> None:
    super().__init__(daemon=True)
    self._pid = pid
    self._stopping = threading.Event()
    self.rss = self.pss = self.processes = 0

  def run(self) -> None:
    while not self._stopping.wait(POLL_SECONDS):
      rss, pss, processes = tree_memory(self._pid)
      self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
      self.processes = max(self.processes, processes)

  def stop(self) -> None:
    self._stopping.set()
    self.join()


def run_contender(
    name: str, beam_options: str | None, manual_dir: pathlib.Path, work_dir: pathlib.Path
) -> Result:
  """Builds `manual_dir` with one contender and measures it.

  Args:
    name: the run's name (its directory under `work_dir/runs`).
    beam_options: `--beam_pipeline_options`, or None for the plain build.
    manual_dir: the archives.
    work_dir: the benchmark's work directory.

  Returns:
    The measurement.

  Raises:
    contenders_lib.BuildFailed: the build exited with an error.
  """
  paths = contenders_lib.run_paths(work_dir, name)
  command = [*contenders_lib.tfds_command(), 'build', 'imagenet_custom',
             f'--manual_dir={manual_dir}', f'--data_dir={paths.out}']
  if beam_options:
    command.append(f'--beam_pipeline_options={beam_options}')
  env = contenders_lib.run_env(paths)
  env['PYTHONPATH'] = os.pathsep.join([str(PROJECT_DIR), env.get('PYTHONPATH', '')])
  with paths.log.open('wb') as log:
    started = time.monotonic()
    process = psutil.Popen(command, cwd=PROJECT_DIR, env=env, stdin=subprocess.DEVNULL,
                           stdout=log, stderr=log)
    peaks = _Peaks(process.pid)
    peaks.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    peaks.stop()
  if os.waitstatus_to_exitcode(status) != 0:
    raise contenders_lib.BuildFailed(
        f'{name} failed; see {paths.log}:\n{contenders_lib.log_tail(paths.log)}'
    )
  return Result(
      wall_s=wall,
      cpu_s=usage.ru_utime + usage.ru_stime,
      peak_rss=peaks.rss,
      peak_pss=peaks.pss,
      peak_processes=peaks.processes,
      examples=contenders_lib.count_written(paths.out),
  )


def format_rows(title: str, results: dict[str, Result]) -> str:
  """A Markdown table of one input's results.

  Args:
    title: the input's description.
    results: contender name to result.

  Returns:
    The table, headed by `title`.
  """
  plain = results.get('plain')
  lines = [
      f'{title}',
      '',
      '| contender | wall s | CPU s | x plain wall | peak RSS MB (sum) | peak PSS MB (sum)'
      ' | processes | examples |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for name, result in results.items():
    ratio = f'{result.wall_s / plain.wall_s:.1f}x' if plain else '-'
    lines.append(
        f'| {name} | {result.wall_s:.1f} | {result.cpu_s:.1f} | {ratio}'
        f' | {result.peak_rss / 2**20:,.0f} | {result.peak_pss / 2**20:,.0f}'
        f' | {result.peak_processes} | {result.examples:,} |'
    )
  return '\n'.join(lines)


def measure_input(
    title: str, manual_dir: pathlib.Path, work_dir: pathlib.Path, contenders: Sequence[str]
) -> str:
  """Runs every contender on one input; returns the table."""
  results = {}
  for name in contenders:
    print(f'{title}: {name} ...', flush=True)
    results[name] = run_contender(name, CONTENDERS[name], manual_dir, work_dir)
  return format_rows(title, results)


def main(argv: Sequence[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--images', type=int, default=3000,
                      help='generated images (train + val); 0 = dummy data only')
  parser.add_argument('--work_dir', type=pathlib.Path,
                      default=cli.DEFAULT_WORK_DIR)
  parser.add_argument('--contenders', default=','.join(CONTENDERS),
                      help=f'comma-separated subset of {",".join(CONTENDERS)}')
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args(argv)
  contenders = args.contenders.split(',')
  unknown = set(contenders) - set(CONTENDERS)
  if unknown:
    parser.error(f'unknown contenders {sorted(unknown)}; choose from {", ".join(CONTENDERS)}')
  print(environment.machine_summary(args.work_dir), flush=True)
  tables = [measure_input('Dummy data (dummy_data/archives)', DUMMY_ARCHIVES, args.work_dir, contenders)]
  if args.images:
    inp = inputs.prepare_input(
        PROJECT_DIR, args.work_dir, args.images, small=False, seed=args.seed,
        layouts=('archives',),
    )
    title = (f'Generated: {inp.images:,} images, {inp.num_classes} classes,'
             f' {inp.archive_bytes / 2**20:,.0f} MiB of tars')
    tables.append(measure_input(title, inp.archives, args.work_dir, contenders))
  print('\n\n'.join(tables))


if __name__ == '__main__':
  main()
