"""Benchmarks the imagenet_custom build against TFDS `imagenet2012` and the I/O floor.

One command writes (once, seeded, with the project's fake ImageNet generator)
a realistic synthetic download in the archive layout and the Kaggle tree, then
runs every contender as a separate process on that same input, alternating
them and repeating each, and prints a table of medians:

  python benchmarks/build_benchmark.py [--images 20000] [--repeats 2]
      [--work_dir DIR] [--contenders imagenet2012,plain,beam,kaggle,floor]
      [--workers 1,2]

`--workers 1,2` adds the plain build with the config field `num_workers` set
to 1 and to 2 (contenders `plain_w1`, `plain_w2`) and then prints the
generation phase's speedup, its serial fraction and a projection of the full
1.33M-image build on 8, 16 and 64 cores.

Other modes:

  --scales 10000,30000,70000 --small    the plain build (and generation alone)
                                        at several scales of 64x64 images:
                                        per-image time and peak memory by
                                        scale.
  --profile                             the plain build under py-spy (or
                                        cProfile): where the time goes.

Measurements (see benchmarks/README.md): wall time from spawn to exit; CPU
time of the process tree (`wait4` rusage); peak PSS and RSS summed over the
process tree (sampled), with the tree at the PSS peak; the build's phases
from TFDS's progress lines; bytes read, from the build process's
`/proc/<pid>/io` read just before it is reaped (it then includes every reaped
descendant); peak disk used by the output and temporary directories
(sampled). Before each run the input files are evicted from the page cache
(`posix_fadvise`), so `read_bytes` counts what the run read from disk.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import pathlib
import shutil
import sys
import tempfile

from benchmarks.build import contenders
from benchmarks.build import environment
from benchmarks.build import inputs
from benchmarks.build import measuring
from benchmarks.build import page_cache
from benchmarks.build import profiling
from benchmarks.build import tables

DEFAULT_WORK_DIR = pathlib.Path(tempfile.gettempdir()) / 'imagenet_custom_bench'
DEFAULT_IMAGES = 20_000
DEFAULT_SEED = 0


def compare_mode(
    args: argparse.Namespace,
    options: contenders.Options,
    keys: Sequence[str],
) -> str:
  """Measures the contenders on one input and returns the report.

  Args:
    args: parsed arguments.
    options: run options.
    keys: contender keys.

  Returns:
    The report (also printed as it goes).
  """
  layouts = [inputs.ARCHIVES, inputs.KAGGLE] if 'kaggle' in keys else [
      inputs.ARCHIVES
  ]
  inp = inputs.prepare_input(
      options.project_dir, options.work_dir, args.images, args.small,
      args.seed, layouts,
  )
  header = '\n'.join([
      environment.machine_summary(options.work_dir),
      inputs.input_summary(inp),
      f'Cache before each run: {options.cache}; repeats: {args.repeats}'
      ' (medians shown); memory, disk and log sampled every'
      f' {options.poll} s; project built: {options.project_dir}'
      f' ({environment.project_version(options.project_dir)})',
  ])
  print(header, flush=True)
  baselines = contenders.measure_baselines(inp, options)
  results = contenders.run_alternating(
      keys, inp, options, args.repeats, 'compare'
  )
  medians = {
      key: measuring.median_measurement(runs) for key, runs in results.items()
  }
  report = '\n'.join([
      '', header, tables.baseline_summary(baselines), '',
      tables.comparison_table(medians, baselines, inp), '',
      tables.cpu_table(medians, baselines), '',
      tables.cpu_projection(medians, baselines), '',
      tables.ratio_table(medians), '',
      tables.resized_ratio(medians), '',
      tables.memory_breakdown(medians), '',
      tables.scaling_report(medians, inp),
  ])
  print(report, flush=True)
  return report


def scale_mode(
    args: argparse.Namespace,
    options: contenders.Options,
    keys: Sequence[str],
) -> str:
  """Measures the contenders at several scales and returns the report.

  Args:
    args: parsed arguments.
    options: run options.
    keys: contender keys.

  Returns:
    The report.
  """
  scales = [int(scale) for scale in args.scales.split(',') if scale]
  print(environment.machine_summary(options.work_dir), flush=True)
  inputs_by_scale = {}
  for scale in scales:
    inputs_by_scale[scale] = inputs.prepare_input(
        options.project_dir, options.work_dir, scale, args.small, args.seed,
        [inputs.ARCHIVES],
    )
    print(inputs.input_summary(inputs_by_scale[scale]), flush=True)
  baselines = contenders.measure_baselines(inputs_by_scale[scales[0]], options)
  results = {}
  for scale in scales:
    print(f'Scale {scale:,}:', flush=True)
    runs = contenders.run_alternating(
        keys, inputs_by_scale[scale], options, args.repeats, f'scale{scale}'
    )
    results[scale] = {
        key: measuring.median_measurement(m) for key, m in runs.items()
    }
  report = '\n'.join([
      '', environment.machine_summary(options.work_dir),
      *(inputs.input_summary(inputs_by_scale[scale]) for scale in scales),
      f'Cache before each run: {options.cache}; repeats: {args.repeats}'
      ' (medians)',
      tables.baseline_summary(baselines), '',
      tables.scale_table(results, inputs_by_scale, baselines),
  ])
  print(report, flush=True)
  return report


def profile_mode(args: argparse.Namespace, options: contenders.Options) -> str:
  """Profiles the plain build and returns the summary.

  Args:
    args: parsed arguments.
    options: run options.

  Returns:
    The summary.
  """
  inp = inputs.prepare_input(
      options.project_dir, options.work_dir, args.images, args.small,
      args.seed, [inputs.ARCHIVES],
  )
  print(inputs.input_summary(inp), flush=True)
  py_spy = shutil.which('py-spy') or str(
      pathlib.Path(sys.executable).parent / 'py-spy'
  )
  use_pyspy = args.profiler == 'py-spy' or (
      args.profiler == 'auto' and pathlib.Path(py_spy).exists()
  )
  if use_pyspy:
    # `--workers N` profiles the build with num_workers=N (the first given).
    workers = (args.workers or '').split(',')[0]
    build = f'plain_w{workers}' if workers else 'plain'
    report = profiling.profile_with_pyspy(py_spy, inp, options, args.top, build)
  else:
    print('py-spy not found (pip install py-spy): using cProfile.', flush=True)
    report = profiling.profile_with_cprofile(inp, options, args.top)
  print(report, flush=True)
  return report


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  """Parses the command line.

  Args:
    argv: arguments without the program name (None: `sys.argv[1:]`).

  Returns:
    The arguments.
  """
  parser = argparse.ArgumentParser(
      prog='python benchmarks/build_benchmark.py',
      description=__doc__.split('\n\n')[0],
      formatter_class=argparse.RawDescriptionHelpFormatter,
  )
  parser.add_argument('--images', type=int, default=DEFAULT_IMAGES,
                      help='train + val images of the input (default'
                      ' %(default)s)')
  parser.add_argument('--repeats', type=int, default=2,
                      help='runs of each contender; medians are shown')
  parser.add_argument('--work_dir', type=pathlib.Path,
                      default=DEFAULT_WORK_DIR,
                      help='inputs (reused), run outputs and logs')
  parser.add_argument('--contenders',
                      help='comma-separated subset of '
                      + ','.join(contenders.CONTENDERS)
                      + ', or plain_w<N> (the plain build with num_workers=N)')
  parser.add_argument('--workers',
                      help='comma-separated num_workers values: adds a'
                      ' plain_w<N> contender for each (e.g. 1,2)')
  parser.add_argument('--scales', help='e.g. 10000,30000,100000: scale mode')
  parser.add_argument('--small', action='store_true',
                      help=f'{inputs.SMALL_SIDE}x{inputs.SMALL_SIDE} images'
                      ' instead of realistic ones')
  parser.add_argument('--profile', action='store_true',
                      help='profile the plain build instead of comparing')
  parser.add_argument('--profiler', choices=('auto', 'py-spy', 'cprofile'),
                      default='auto')
  parser.add_argument('--top', type=int, default=profiling.TOP_FUNCTIONS,
                      help='functions listed by --profile')
  parser.add_argument('--cache', default='evict',
                      help='before each run: evict the input from the page'
                      ' cache (default), drop all caches (root), or nothing'
                      ' (none: the input stays in the page cache); several,'
                      ' comma-separated (e.g. evict,none), compare the'
                      ' contenders once per mode, each printed')
  parser.add_argument('--project_dir', type=pathlib.Path,
                      default=contenders.HARNESS_DIR,
                      help='checkout whose imagenet_custom is built')
  parser.add_argument('--seed', type=int, default=DEFAULT_SEED)
  parser.add_argument('--poll', type=float, default=measuring.POLL_SECONDS,
                      help='seconds between memory, disk and log samples')
  parser.add_argument('--beam_options', default='runner=DirectRunner',
                      help='--beam_pipeline_options of the Beam contender')
  parser.add_argument('--keep_outputs', action='store_true',
                      help='keep each run\'s output directory')
  parser.add_argument('--report', type=pathlib.Path,
                      help='also write the final report to this file')
  args = parser.parse_args(argv)
  args.caches = _cache_modes(parser, args.cache)
  if args.repeats < 1 or args.images < 2:
    parser.error('--repeats must be >= 1 and --images >= 2')
  return args


def _cache_modes(parser: argparse.ArgumentParser, value: str) -> list[str]:
  """The `--cache` modes, in order; a bad one is a usage error."""
  modes = [mode for mode in value.split(',') if mode]
  for mode in modes or ['']:
    if mode not in page_cache.MODES:
      parser.error(f'--cache takes {", ".join(page_cache.MODES)}, not {mode!r}')
  return modes


def contender_keys(args: argparse.Namespace) -> list[str]:
  """The contenders the command line asks for, in order.

  Args:
    args: parsed arguments.

  Returns:
    `--contenders` (or the mode's default set), then one `plain_w<N>` per
    `--workers` value not already listed.

  Raises:
    SystemExit: an unknown contender or a bad `--workers` value.
  """
  if args.contenders:
    keys = [key for key in args.contenders.split(',') if key]
  elif args.scales:
    keys = list(contenders.SCALE_CONTENDERS)
  else:
    keys = list(contenders.DEFAULT_CONTENDERS)
  for value in (args.workers or '').split(','):
    if not value:
      continue
    if not value.isdigit():
      raise SystemExit(f'--workers takes whole numbers, not {value!r}')
    key = f'plain_w{int(value)}'
    if key not in keys:
      keys.append(key)
  for key in keys:
    try:
      contenders.contender(key)
    except ValueError as e:
      raise SystemExit(str(e)) from None
  return keys


def main(argv: Sequence[str] | None = None) -> int:
  """Runs the benchmark the command line asks for.

  Args:
    argv: arguments without the program name.

  Returns:
    The exit status: 1 when a run failed (its log's end is printed).
  """
  args = parse_args(argv)
  keys = contender_keys(args)
  reports = []
  try:
    for mode in args.caches if not (args.profile or args.scales) else args.caches[:1]:
      options = contenders.Options(
          project_dir=args.project_dir.resolve(),
          work_dir=args.work_dir.resolve(),
          cache=mode,
          poll=args.poll,
          beam_options=args.beam_options,
          keep_outputs=args.keep_outputs,
      )
      page_cache.check_cache_mode(options.cache)
      if args.profile:
        reports.append(profile_mode(args, options))
      elif args.scales:
        reports.append(scale_mode(args, options, keys))
      else:
        reports.append(compare_mode(args, options, keys))
    report = '\n\n'.join(reports)
  except contenders.BuildFailed as e:
    print(f'Benchmark stopped: {e}', file=sys.stderr, flush=True)
    return 1
  if args.report:
    args.report.write_text(report + '\n')
  return 0
