"""Where a plain build's time goes: py-spy (all threads) or cProfile."""

from __future__ import annotations

import collections
import dataclasses
import io
import pathlib
import pstats
import re
import shutil
import sys

from benchmarks.build import contenders
from benchmarks.build import inputs
from benchmarks.build import measuring
from benchmarks.build import page_cache
from benchmarks.build import tables

PYSPY_RATE = 50
TOP_FUNCTIONS = 25

_LINE_NUMBER = re.compile(r':\d+\)$')
_THREAD_NUMBERS = re.compile(r'[-_]\d+')
# With `--subprocesses`, py-spy puts `process <pid>:"<command line>"` first.
_PROCESS = re.compile(r'^process \d+:"?(.*?)"?$')


def _process_label(frame: str) -> str:
  """A short name for py-spy's process frame.

  Args:
    frame: `process <pid>:"<command line>"`.

  Returns:
    The module of `python -m <module>`, else the program's (or the script's)
    file name.
  """
  match = _PROCESS.match(frame)
  words = (match.group(1) if match else frame).split()
  if '-m' in words[:-1]:
    return words[words.index('-m') + 1]
  programs = [word.rsplit('/', 1)[-1] for word in words[:2]]
  if len(programs) == 2 and programs[0].startswith('python'):
    return programs[1]  # A script run by the interpreter, e.g. `tfds`.
  return programs[0] if programs else frame


@dataclasses.dataclass(frozen=True)
class PySpyProfile:
  """Sample counts from `py-spy record --format raw --threads`.

  Attributes:
    total: all samples.
    threads: samples by thread group (pool threads grouped).
    thread_ids: distinct threads seen by thread group.
    own: samples whose innermost frame is the function.
    inclusive: samples with the function anywhere on the stack.
  """

  total: int
  threads: collections.Counter[str]
  thread_ids: dict[str, set[str]]
  own: collections.Counter[str]
  inclusive: collections.Counter[str]


def parse_pyspy_raw(text: str) -> PySpyProfile:
  """Sums `py-spy record --format raw --threads` output by function and thread.

  Args:
    text: the raw output: one `[process;]thread;frame;...;frame count` line
      per stack (the process with `--subprocesses`); threads of other
      processes are grouped under the process's program or module.

  Returns:
    The sample counts.
  """
  threads: collections.Counter[str] = collections.Counter()
  thread_ids: dict[str, set[str]] = collections.defaultdict(set)
  own: collections.Counter[str] = collections.Counter()
  inclusive: collections.Counter[str] = collections.Counter()
  total = 0
  for line in text.splitlines():
    stack, _, count_text = line.rpartition(' ')
    if not stack or not count_text.isdigit():
      continue  # Not a stack line (py-spy writes none other in raw format).
    count = int(count_text)
    thread, *frames = stack.split(';')
    process = ''
    if thread.startswith('process ') and frames:
      process = _process_label(thread) + ': '
      thread, *frames = frames
    thread_id, _, thread_name = thread.partition(': ')
    thread_id = process + thread_id
    group = process + _THREAD_NUMBERS.sub('', thread_name or thread_id)
    total += count
    threads[group] += count
    thread_ids[group].add(thread_id)
    functions = [_LINE_NUMBER.sub(')', frame) for frame in frames]
    if functions:
      own[functions[-1]] += count
    for function in set(functions):
      inclusive[function] += count
  return PySpyProfile(total, threads, dict(thread_ids), own, inclusive)


def format_pyspy(
    profile: PySpyProfile, rate: int, wall_s: float, images: int, top: int
) -> str:
  """The profile summary: threads, then functions by own and inclusive time.

  Args:
    profile: parsed samples.
    rate: samples per second per thread.
    wall_s: the build's wall time.
    images: images written.
    top: functions listed per table.

  Returns:
    The text.
  """
  lines = [
      f'py-spy: {profile.total:,} samples at {rate}/s of active threads over'
      f' {wall_s:.1f} s, {images:,} images.',
      'Time by thread (busy = thread-seconds / wall / threads):',
  ]
  rows = []
  for group, samples in profile.threads.most_common():
    seconds = samples / rate
    count = len(profile.thread_ids[group])
    rows.append([
        group, str(count), f'{seconds:.1f}',
        f'{100 * seconds / wall_s / count:.0f}%',
        f'{seconds / images * 1000:.3f}',
    ])
  lines.append(tables.format_table(
      ['thread', 'threads', 'CPU s', 'busy', 'ms/image'], rows
  ))
  for title, counter in (('own', profile.own), ('inclusive', profile.inclusive)):
    lines.append(f'\nTop {top} functions by {title} time (all threads):')
    rows = [
        [function[:110], f'{samples / rate:.1f}',
         f'{100 * samples / profile.total:.1f}%',
         f'{samples / rate / images * 1000:.3f}']
        for function, samples in counter.most_common(top)
    ]
    lines.append(tables.format_table(
        ['function (file)', 's', 'share', 'ms/image'], rows
    ))
  return '\n'.join(lines)


def _measure(
    command: list[str],
    cwd: pathlib.Path,
    inp: inputs.BenchInput,
    options: contenders.Options,
    paths: contenders.RunPaths,
) -> measuring.Measurement:
  """Runs a profiled build with a cold input and checks it succeeded.

  Args:
    command: the command.
    cwd: its working directory.
    inp: the input.
    options: run options.
    paths: the run's paths.

  Returns:
    The measurement, with the images written.

  Raises:
    contenders.BuildFailed: the build failed.
  """
  page_cache.reset_cache(options.cache, inp.root)
  measurement, code = measuring.measure_command(
      command, cwd, contenders.run_env(paths), paths.log,
      [paths.out, paths.tmp], options.poll,
  )
  if code != 0:
    raise contenders.BuildFailed(
        f'profiled run failed ({code}):\n{contenders.log_tail(paths.log)}'
    )
  images = contenders.count_written(paths.out)
  if not options.keep_outputs:
    shutil.rmtree(paths.out)
  return dataclasses.replace(measurement, images=images)


def profile_with_pyspy(
    py_spy: str,
    inp: inputs.BenchInput,
    options: contenders.Options,
    top: int,
    build: str = 'plain',
) -> str:
  """Runs the plain build under py-spy and summarises where time goes.

  Args:
    py_spy: the `py-spy` executable.
    inp: the input.
    options: run options.
    top: functions listed.
    build: the contender profiled: `plain`, or `plain_w<N>`.

  Returns:
    The summary.
  """
  paths = contenders.run_paths(options.work_dir, 'profile-pyspy')
  raw = paths.run_dir / 'pyspy.txt'
  plain = contenders.contender(build).command(inp, paths, options)
  command = [
      py_spy, 'record', '--format', 'raw', '--threads', '--subprocesses',
      '--rate', str(PYSPY_RATE), '--output', str(raw), '--', *plain,
  ]
  measurement = _measure(command, options.project_dir, inp, options, paths)
  if not raw.exists():
    raise contenders.BuildFailed(f'py-spy wrote no {raw}')
  profile = parse_pyspy_raw(raw.read_text())
  return (
      f'{contenders.contender(build).label} under py-spy (raw samples in'
      f' {raw}):\n'
      + format_pyspy(
          profile, PYSPY_RATE, measurement.wall_s, measurement.images, top
      )
  )


def profile_with_cprofile(
    inp: inputs.BenchInput, options: contenders.Options, top: int
) -> str:
  """Runs the plain build in one process under cProfile.

  cProfile sees the main thread only: work in threads or worker processes
  appears as waits.

  Args:
    inp: the input.
    options: run options.
    top: functions listed.

  Returns:
    The summary.
  """
  paths = contenders.run_paths(options.work_dir, 'profile-cprofile')
  stats_path = paths.run_dir / 'cprofile.stats'
  command = [
      sys.executable, '-m', 'benchmarks.build.programs.cprofile_build',
      str(options.project_dir), str(inp.archives), str(paths.out),
      str(stats_path),
  ]
  measurement = _measure(command, contenders.HARNESS_DIR, inp, options, paths)
  text = io.StringIO()
  stats = pstats.Stats(str(stats_path), stream=text)
  for order in ('cumulative', 'tottime'):
    text.write(f'\n== by {order} ==\n')
    stats.sort_stats(order).print_stats(top)
  return (
      'Plain build under cProfile (main thread only),'
      f' {measurement.wall_s:.1f} s, {measurement.images:,} images:\n'
      f'{text.getvalue()}'
  )
