"""What the benchmark compares, and running each contender in turn.

A contender is a command run as its own process tree on the same input, with
a cold input and a fresh output directory each time. `contender(key)` finds
one: the fixed ones in `CONTENDERS`, and `plain_w<N>` for the plain build
with the config field `num_workers=N` (a custom config named `w<N>`). Every
`imagenet_custom` build names its config: without `--config`, `tfds build`
builds each predefined config in turn (`default`, then `s256`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
import json
import os
import pathlib
import re
import shutil
import sys

from benchmarks.build import inputs
from benchmarks.build import measuring
from benchmarks.build import page_cache
from benchmarks.build.programs import generate_only

HARNESS_DIR = pathlib.Path(__file__).resolve().parents[2]
MB = measuring.MB

# The startup cost subtracted from each contender's bytes read.
TFDS_BASELINE = 'tfds'
PYTHON_BASELINE = 'python'
IMPORT_BASELINE = 'import'
# A plain build of the project's dummy data (65 images), 2 workers: its
# parent's CPU is the start-up the per-image figures leave out.
TINY_BASELINE = 'tiny_build'
TINY_IMAGES = 65
_WORKERS_KEY = re.compile(r'^plain_w(\d+)$')
# The configs the plain and resized contenders build.
DEFAULT_CONFIG = '--config=default'
RESIZED_CONFIG = '--config=s256'


class BuildFailed(RuntimeError):
  """A contender's process exited with an error."""


@dataclasses.dataclass(frozen=True)
class Options:
  """How runs are made.

  Attributes:
    project_dir: the checkout whose `imagenet_custom` is built.
    work_dir: inputs, run outputs and logs.
    cache: `evict` (the inputs from the page cache), `drop` (all caches) or
      `none` before each run.
    poll: seconds between memory, disk and log samples.
    beam_options: `--beam_pipeline_options` of the Beam contender.
    keep_outputs: keep each run's output directory.
  """

  project_dir: pathlib.Path
  work_dir: pathlib.Path
  cache: str = 'evict'
  poll: float = measuring.POLL_SECONDS
  beam_options: str = 'runner=DirectRunner'
  keep_outputs: bool = False


@dataclasses.dataclass(frozen=True)
class RunPaths:
  """Where one run writes.

  Attributes:
    run_dir: the run's directory.
    out: the `--data_dir` (or the copy's target directory).
    tmp: `TMPDIR` of the run.
    log: the run's stdout and stderr.
  """

  run_dir: pathlib.Path
  out: pathlib.Path
  tmp: pathlib.Path
  log: pathlib.Path


CommandFn = Callable[[inputs.BenchInput, RunPaths, Options], list[str]]


@dataclasses.dataclass(frozen=True)
class Contender:
  """One thing measured.

  Attributes:
    key: its name on the command line.
    label: its row in the tables.
    command: its command line for an input, a run and the options.
    baseline: the startup baseline subtracted from its bytes read.
    program: it runs a module of `benchmarks.build.programs` (from this
      harness's checkout, which is then its working directory).
    num_workers: the `num_workers` config field it sets, if any.
  """

  key: str
  label: str
  command: CommandFn
  baseline: str = TFDS_BASELINE
  program: bool = False
  num_workers: int | None = None


def tfds_command() -> list[str]:
  """The `tfds` command line tool of this interpreter's environment.

  Returns:
    The program to run, as a list.
  """
  script = pathlib.Path(sys.executable).parent / 'tfds'
  if script.exists():
    return [str(script)]
  found = shutil.which('tfds')
  if found:
    return [found]
  return [sys.executable, '-m', 'tensorflow_datasets.scripts.cli.main']


def _program(name: str) -> list[str]:
  """`python -m benchmarks.build.programs.<name>`."""
  return [sys.executable, '-m', f'benchmarks.build.programs.{name}']


def _build(
    manual_dir: Callable[[inputs.BenchInput], pathlib.Path],
    *extra: str,
    dataset: str = 'imagenet_custom',
) -> CommandFn:
  """A `tfds build` command.

  Args:
    manual_dir: picks the `--manual_dir` from the input.
    *extra: more arguments.
    dataset: the dataset built.

  Returns:
    The command function.
  """
  def command(
      inp: inputs.BenchInput, paths: RunPaths, options: Options
  ) -> list[str]:
    del options  # Unused.
    return [*tfds_command(), 'build', dataset,
            f'--manual_dir={manual_dir(inp)}', f'--data_dir={paths.out}',
            *extra]
  return command


def _beam(inp: inputs.BenchInput, paths: RunPaths, options: Options) -> list[str]:
  """The plain command plus `--beam_pipeline_options`."""
  plain = _build(lambda i: i.archives, DEFAULT_CONFIG)(inp, paths, options)
  return [*plain, f'--beam_pipeline_options={options.beam_options}']


def _floor(inp: inputs.BenchInput, paths: RunPaths, options: Options) -> list[str]:
  """Copies both image tars into the output directory."""
  del options  # Unused.
  return [*_program('copy_tars'), str(paths.out / 'copy.tar'),
          str(inp.archives / inputs.TRAIN_TAR),
          str(inp.archives / inputs.VAL_TAR)]


def _generate(
    inp: inputs.BenchInput, paths: RunPaths, options: Options
) -> list[str]:
  """Consumes the builder's split generators (no TFDS writer)."""
  return [*_program('generate_only'), str(options.project_dir),
          str(inp.archives), str(paths.out)]


CONTENDERS = {
    contender.key: contender for contender in (
        Contender('imagenet2012', 'TFDS imagenet2012',
                  _build(lambda i: i.tfds_manual, dataset='imagenet2012')),
        Contender('plain', 'imagenet_custom plain',
                  _build(lambda i: i.archives, DEFAULT_CONFIG)),
        Contender('s256', 'imagenet_custom plain, s256',
                  _build(lambda i: i.archives, RESIZED_CONFIG)),
        Contender('beam', 'imagenet_custom Beam', _beam),
        Contender('kaggle', 'imagenet_custom kaggle',
                  _build(lambda i: i.kaggle, DEFAULT_CONFIG)),
        Contender('floor', 'I/O floor (copy tars)', _floor,
                  baseline=PYTHON_BASELINE, program=True),
        Contender('generate', 'imagenet_custom generate only', _generate,
                  baseline=IMPORT_BASELINE, program=True),
    )
}
DEFAULT_CONTENDERS = ('imagenet2012', 'plain', 'beam', 'kaggle', 'floor')
SCALE_CONTENDERS = ('plain', 'generate')


def workers_config(num_workers: int) -> str:
  """The `--config` JSON of a plain build with `num_workers` set.

  Args:
    num_workers: the config field's value (0: one per core).

  Returns:
    e.g. `{"name": "w2", "num_workers": 2}`.
  """
  return json.dumps({'name': f'w{num_workers}', 'num_workers': num_workers})


def contender(key: str) -> Contender:
  """The contender a command-line key names.

  Args:
    key: a key of `CONTENDERS`, or `plain_w<N>`.

  Returns:
    The contender.

  Raises:
    ValueError: an unknown key.
  """
  if key in CONTENDERS:
    return CONTENDERS[key]
  match = _WORKERS_KEY.match(key)
  if match:
    workers = int(match.group(1))
    return Contender(
        key, f'imagenet_custom plain, {workers} worker'
        + ('s' if workers != 1 else ''),
        _build(lambda i: i.archives, f'--config={workers_config(workers)}'),
        num_workers=workers,
    )
  raise ValueError(
      f'unknown contender {key!r}; choose from {", ".join(CONTENDERS)} or'
      ' plain_w<N> (the plain build with num_workers=N)'
  )


def run_paths(work_dir: pathlib.Path, name: str) -> RunPaths:
  """Fresh directories for one run (an old run's are removed).

  Args:
    work_dir: the benchmark's work directory.
    name: the run's name.

  Returns:
    The run's paths, `out` and `tmp` created empty.
  """
  run_dir = work_dir / 'runs' / name
  if run_dir.exists():
    shutil.rmtree(run_dir)
  paths = RunPaths(
      run_dir, run_dir / 'out', run_dir / 'tmp', run_dir / 'log.txt'
  )
  paths.out.mkdir(parents=True)
  paths.tmp.mkdir()
  return paths


def run_env(paths: RunPaths) -> dict[str, str]:
  """The environment of a run: this one, with `TMPDIR` inside the run.

  Args:
    paths: the run's paths.

  Returns:
    The environment.
  """
  env = dict(os.environ)
  env['TMPDIR'] = str(paths.tmp)
  return env


def count_written(out: pathlib.Path) -> int:
  """The examples of every split of the datasets written under a data dir.

  Args:
    out: the `--data_dir`.

  Returns:
    The total number of examples in the `dataset_info.json` files found.
  """
  total = 0
  for info_path in out.rglob('dataset_info.json'):
    info = json.loads(info_path.read_text())
    for split in info.get('splits', []):
      total += sum(int(length) for length in split.get('shardLengths', []))
  return total


def generated_count(log: pathlib.Path) -> int:
  """The example count printed by `programs.generate_only`.

  Args:
    log: the run's log.

  Returns:
    The count, 0 if not printed.
  """
  prefix = re.escape(generate_only.COUNT_PREFIX)
  match = re.search(prefix + r'(\d+)', log.read_text(errors='replace'))
  return int(match.group(1)) if match else 0


def log_tail(log: pathlib.Path, lines: int = 30) -> str:
  """The end of a run's log.

  Args:
    log: the log file.
    lines: how many lines.

  Returns:
    The text.
  """
  text = log.read_text(errors='replace').splitlines()
  return '\n'.join(line[:300] for line in text[-lines:])


def _cwd(entry: Contender, options: Options) -> pathlib.Path:
  """Builds run from the checkout measured; programs from this harness."""
  return HARNESS_DIR if entry.program else options.project_dir


def run_contender(
    key: str, inp: inputs.BenchInput, options: Options, name: str
) -> measuring.Measurement:
  """Runs one contender once, with a cold input and a fresh output dir.

  Args:
    key: a contender key (see `contender`).
    inp: the input.
    options: run options.
    name: the run's directory name.

  Returns:
    The measurement, with the images written.

  Raises:
    BuildFailed: the process failed or wrote no images.
  """
  entry = contender(key)
  paths = run_paths(options.work_dir, name)
  command = entry.command(inp, paths, options)
  page_cache.reset_cache(options.cache, inp.root)
  measurement, code = measuring.measure_command(
      command, _cwd(entry, options), run_env(paths), paths.log,
      [paths.out, paths.tmp], options.poll,
  )
  if code != 0:
    raise BuildFailed(
        f'{entry.label} exited with {code}: {" ".join(command)[:300]}\n'
        f'log {paths.log}:\n{log_tail(paths.log)}'
    )
  if key == 'floor':
    images = inp.images
  elif key == 'generate':
    images = generated_count(paths.log)
  else:
    images = count_written(paths.out)
  if images <= 0:
    raise BuildFailed(f'{entry.label} wrote no images; log {paths.log}')
  if not options.keep_outputs:
    shutil.rmtree(paths.out)
    shutil.rmtree(paths.tmp)
  return dataclasses.replace(measurement, images=images)


def measure_baselines(
    inp: inputs.BenchInput, options: Options
) -> dict[str, measuring.Measurement]:
  """Measures what starting the tools costs, to subtract from bytes read.

  `tfds`: the `tfds` command that imports TFDS and its CLI, then exits
  (`tfds build --help`). `tiny_build`: the plain build of the dummy data
  (`TINY_IMAGES` images, 2 workers). `python`: `programs.start_only`, which starts like
  the other programs and exits. `import`: `programs.import_only`, which
  imports TFDS and the builder, then exits.

  Args:
    inp: the input (made cold first, as before a run).
    options: run options.

  Returns:
    Baseline name to measurement.
  """
  commands = {
      TFDS_BASELINE: ([*tfds_command(), 'build', '--help'], options.project_dir),
      PYTHON_BASELINE: (_program('start_only'), HARNESS_DIR),
      IMPORT_BASELINE: (
          [*_program('import_only'), str(options.project_dir)], HARNESS_DIR
      ),
  }
  tiny = run_paths(options.work_dir, f'baseline-{TINY_BASELINE}')
  commands[TINY_BASELINE] = ([
      *tfds_command(), 'build', 'imagenet_custom',
      f'--manual_dir={options.project_dir / "dummy_data" / "archives"}',
      f'--data_dir={tiny.out}', f'--config={workers_config(2)}',
  ], options.project_dir)
  baselines = {}
  for name, (command, cwd) in commands.items():
    paths = run_paths(options.work_dir, f'baseline-{name}')
    page_cache.reset_cache(options.cache, inp.root)
    measurement, code = measuring.measure_command(
        command, cwd, run_env(paths), paths.log, [], options.poll
    )
    if code != 0:
      raise BuildFailed(
          f'baseline {name} exited with {code}:\n{log_tail(paths.log)}'
      )
    baselines[name] = measurement
  return baselines


def run_alternating(
    keys: Sequence[str],
    inp: inputs.BenchInput,
    options: Options,
    repeats: int,
    tag: str,
) -> dict[str, list[measuring.Measurement]]:
  """Runs every contender `repeats` times, alternating them.

  Each repetition runs all contenders, starting one further along the list,
  so that no contender always runs first or after the same one.

  Args:
    keys: contender keys.
    inp: the input.
    options: run options.
    repeats: runs of each contender.
    tag: prefix of the run directories.

  Returns:
    Contender key to its measurements.
  """
  results: dict[str, list[measuring.Measurement]] = {key: [] for key in keys}
  for repeat in range(repeats):
    shift = repeat % len(keys)
    for key in [*keys[shift:], *keys[:shift]]:
      measurement = run_contender(key, inp, options, f'{tag}-{key}-{repeat}')
      results[key].append(measurement)
      print(
          f'  [{repeat + 1}/{repeats}] {contender(key).label:34s}'
          f' {measurement.wall_s:8.1f} s  {measurement.images:,} images'
          f'  peak PSS {measurement.peak_pss / MB:,.0f} MB'
          f'  generate {measurement.generate_s:.1f} s'
          f'  load {measurement.load1:.1f}',
          flush=True,
      )
  return results
