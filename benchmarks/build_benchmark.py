"""Benchmarks the imagenet_custom build against TFDS `imagenet2012` and the I/O floor.

One command writes (once, seeded, with the project's fake ImageNet generator)
a realistic synthetic download in the archive layout and the Kaggle tree, then
runs every contender as a separate process on that same input, alternating
them and repeating each, and prints a table of medians:

  python benchmarks/build_benchmark.py [--images 20000] [--repeats 2]
      [--work_dir DIR] [--contenders imagenet2012,plain,beam,kaggle,floor]

Other modes:

  --scales 10000,30000,70000 --small    the plain build (and generation alone)
                                        at several scales of 64x64 images:
                                        per-image time and peak RSS by scale
                                        (the fake generator stops at 65,535
                                        train images, i.e. ~72,000 in all).
  --profile                             the plain build under py-spy (or
                                        cProfile): where the time goes.

Measurements (see benchmarks/README.md): wall time from spawn to exit; CPU
time of the process tree (`wait4` rusage); peak RSS summed over the process
tree (polled); bytes read, from the build process's `/proc/<pid>/io` read
just before it is reaped (it then includes every reaped descendant); peak
disk used by the output and temporary directories (polled). Before each run
the input files are evicted from the page cache (`posix_fadvise`), so
`read_bytes` counts what the run read from disk.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
import collections
import dataclasses
import importlib
import importlib.metadata
import io
import json
import os
import pathlib
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from types import ModuleType

import psutil

PROJECT_DIR = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_WORK_DIR = pathlib.Path(tempfile.gettempdir()) / 'imagenet_custom_bench'

DEFAULT_IMAGES = 20_000
# Share of the images that are val images (real ImageNet: 50,000 of 1.33M,
# but a larger share exercises the val path at small scales).
VAL_SHARE = 0.1
MAX_VAL_IMAGES = 50_000
MAX_CLASSES = 100
SMALL_SIDE = 64
DEFAULT_SEED = 0
POLL_SECONDS = 0.2
PYSPY_RATE = 50
TOP_FUNCTIONS = 25
MB = 1 << 20

TRAIN_TAR = 'ILSVRC2012_img_train.tar'
VAL_TAR = 'ILSVRC2012_img_val.tar'
ARCHIVES = 'archives'
KAGGLE = 'kaggle'
MANIFEST = 'manifest.json'
TFDS_MANUAL = 'tfds_manual'

# Contender key -> row label, in the default order.
CONTENDERS = {
    'imagenet2012': 'TFDS imagenet2012',
    'plain': 'imagenet_custom plain',
    'beam': 'imagenet_custom Beam',
    'kaggle': 'imagenet_custom kaggle',
    'floor': 'I/O floor (copy tars)',
    'generate': 'imagenet_custom generate only',
}
DEFAULT_CONTENDERS = ('imagenet2012', 'plain', 'beam', 'kaggle', 'floor')
SCALE_CONTENDERS = ('plain', 'generate')
# The startup cost subtracted from each contender's bytes read.
PYTHON_BASELINE = 'python'
TFDS_BASELINE = 'tfds'
IMPORT_BASELINE = 'import'
BASELINE_OF = {'floor': PYTHON_BASELINE, 'generate': IMPORT_BASELINE}
# What `GENERATE_CODE` imports before it reads anything.
IMPORT_CODE = """
import sys
sys.path.insert(0, sys.argv[1])
import tensorflow_datasets as tfds
from imagenet_custom import Builder
"""

# The I/O floor: read both tars and write their bytes to the output disk.
FLOOR_CODE = """
import sys
with open(sys.argv[1], 'wb') as out:
  for path in sys.argv[2:]:
    with open(path, 'rb', buffering=0) as source:
      while chunk := source.read(1 << 20):
        out.write(chunk)
"""

# imagenet_custom's examples without TFDS: listing, reading, image checks and
# boxes, but no serialisation, shuffling or writing. A diagnostic (it calls
# the builder's `_split_generators`), not a way to build.
GENERATE_CODE = """
import sys
project, manual, data_dir = sys.argv[1:4]
sys.path.insert(0, project)
import tensorflow_datasets as tfds
from imagenet_custom import Builder
builder = Builder(data_dir=data_dir)
manager = tfds.download.DownloadManager(
    download_dir=data_dir + '/downloads', manual_dir=manual,
    manual_dir_instructions=Builder.MANUAL_DOWNLOAD_INSTRUCTIONS)
count = 0
for split, examples in builder._split_generators(manager).items():
  for _ in examples:
    count += 1
print('examples generated:', count)
"""

# The plain build in one process under cProfile (main thread only).
CPROFILE_CODE = """
import cProfile, sys
project, manual, data_dir, stats_path = sys.argv[1:5]
sys.path.insert(0, project)
import tensorflow_datasets as tfds
from imagenet_custom import Builder
builder = Builder(data_dir=data_dir)
config = tfds.download.DownloadConfig(manual_dir=manual)
cProfile.runctx(
    'builder.download_and_prepare(download_config=config)',
    globals(), locals(), stats_path)
"""


class BuildFailed(RuntimeError):
  """A contender's process exited with an error."""


@dataclasses.dataclass(frozen=True)
class BenchInput:
  """A generated synthetic download.

  Attributes:
    root: the generator's output directory.
    small: 64x64 images instead of realistic ones.
    num_train: train images.
    num_val: val images.
    num_classes: classes with images.
    train_tar_bytes: size of `ILSVRC2012_img_train.tar`.
    val_tar_bytes: size of `ILSVRC2012_img_val.tar`.
  """

  root: pathlib.Path
  small: bool
  num_train: int
  num_val: int
  num_classes: int
  train_tar_bytes: int
  val_tar_bytes: int

  @property
  def archives(self) -> pathlib.Path:
    return self.root / ARCHIVES

  @property
  def kaggle(self) -> pathlib.Path:
    return self.root / KAGGLE

  @property
  def tfds_manual(self) -> pathlib.Path:
    """A folder with only the two image tars (symlinks), for imagenet2012."""
    return self.root / TFDS_MANUAL

  @property
  def images(self) -> int:
    return self.num_train + self.num_val

  @property
  def archive_bytes(self) -> int:
    """The two image tars' size: the reference for bytes read."""
    return self.train_tar_bytes + self.val_tar_bytes


@dataclasses.dataclass(frozen=True)
class Options:
  """How runs are made.

  Attributes:
    project_dir: the checkout whose `imagenet_custom` is built.
    work_dir: inputs, run outputs and logs.
    cache: `evict` (the inputs from the page cache), `drop` (all caches) or
      `none` before each run.
    poll: seconds between RSS and disk samples.
    beam_options: `--beam_pipeline_options` of the Beam contender.
    keep_outputs: keep each run's output directory.
  """

  project_dir: pathlib.Path
  work_dir: pathlib.Path
  cache: str = 'evict'
  poll: float = POLL_SECONDS
  beam_options: str = 'runner=DirectRunner'
  keep_outputs: bool = False


@dataclasses.dataclass(frozen=True)
class Measurement:
  """One run of one process tree.

  Attributes:
    wall_s: spawn to exit.
    cpu_s: user + system time of the tree.
    peak_rss: largest sum of the tree's resident set sizes seen.
    peak_disk: largest disk use of the watched directories seen.
    rchar: bytes returned by read-like system calls (page cache or not).
    read_bytes: bytes the tree caused to be read from the block device.
    load1: the machine's 1-minute load average when the run started.
    images: images written (0 when not counted).
    output_bytes: disk use of the watched directories at exit.
  """

  wall_s: float
  cpu_s: float
  peak_rss: int
  peak_disk: int
  rchar: int
  read_bytes: int
  load1: float
  images: int = 0
  output_bytes: int = 0


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


# --- Machine and versions ----------------------------------------------------


def machine_summary(work_dir: pathlib.Path) -> str:
  """Describes the machine and the software measured.

  Args:
    work_dir: where inputs and outputs go (its disk's free space is shown).

  Returns:
    A few lines of text.
  """
  model = platform.processor() or platform.machine()
  cpuinfo = pathlib.Path('/proc/cpuinfo')
  if cpuinfo.exists():
    for line in cpuinfo.read_text().splitlines():
      if line.startswith('model name'):
        model = line.split(':', 1)[1].strip()
        break
  work_dir.mkdir(parents=True, exist_ok=True)
  disk = shutil.disk_usage(work_dir)
  versions = ', '.join(
      f'{name} {importlib.metadata.version(name)}'
      for name in ('tensorflow-datasets', 'tensorflow-cpu', 'apache-beam', 'pillow')
      if _installed(name)
  )
  return '\n'.join([
      f'Machine: {os.cpu_count()} logical cores'
      f' ({psutil.cpu_count(logical=False)} physical), {model};'
      f' RAM {psutil.virtual_memory().total / (1 << 30):.1f} GiB;'
      f' {platform.system()} {platform.release()}',
      f'Disk at {work_dir}: {disk.free / (1 << 30):.0f} GiB free of'
      f' {disk.total / (1 << 30):.0f} GiB',
      f'Python {platform.python_version()}; {versions}',
  ])


def _installed(distribution: str) -> bool:
  """Whether a distribution is installed.

  Args:
    distribution: its name on PyPI.

  Returns:
    True when its metadata is found.
  """
  try:
    importlib.metadata.version(distribution)
  except importlib.metadata.PackageNotFoundError:
    return False
  return True


def project_version(project_dir: pathlib.Path) -> str:
  """The commit of the checkout measured, if it is a git checkout.

  Args:
    project_dir: the checkout.

  Returns:
    e.g. `commit 20c8e80 (+ local changes)`, or a note that it is no checkout.
  """
  head = subprocess.run(
      ['git', '-C', str(project_dir), 'rev-parse', '--short', 'HEAD'],
      capture_output=True, text=True, check=False,
  )
  if head.returncode != 0:
    return 'not a git checkout'
  status = subprocess.run(
      ['git', '-C', str(project_dir), 'status', '--porcelain', '--untracked-files=no'],
      capture_output=True, text=True, check=False,
  )
  dirty = ' (+ local changes)' if status.stdout.strip() else ''
  return f'commit {head.stdout.strip()}{dirty}'


# --- Input -------------------------------------------------------------------


def load_generator(project_dir: pathlib.Path) -> ModuleType:
  """Imports the project's fake ImageNet generator.

  Args:
    project_dir: the checkout holding `imagenet_custom/testing/`.

  Returns:
    The `imagenet_custom.testing.fake_imagenet` module.
  """
  if str(project_dir) not in sys.path:
    sys.path.insert(0, str(project_dir))
  return importlib.import_module('imagenet_custom.testing.fake_imagenet')


def split_counts(images: int) -> tuple[int, int, int]:
  """How a total number of images is generated.

  Args:
    images: train + val images wanted.

  Returns:
    `(train, val, classes)`.
  """
  num_val = min(MAX_VAL_IMAGES, max(1, round(images * VAL_SHARE)))
  num_train = max(1, images - num_val)
  return num_train, num_val, min(MAX_CLASSES, num_train)


def input_dir(work_dir: pathlib.Path, images: int, small: bool, seed: int) -> pathlib.Path:
  """Where the input of a scale is generated.

  Args:
    work_dir: the benchmark's work directory.
    images: total images.
    small: 64x64 images.
    seed: the generator seed.

  Returns:
    The directory.
  """
  kind = f'small{SMALL_SIDE}' if small else 'realistic'
  return work_dir / f'input-{kind}-{images}-seed{seed}'


def prepare_input(
    project_dir: pathlib.Path,
    work_dir: pathlib.Path,
    images: int,
    small: bool,
    seed: int,
    layouts: Sequence[str],
) -> BenchInput:
  """Generates a synthetic download, or reuses the one already in `work_dir`.

  Args:
    project_dir: the checkout whose generator is used.
    work_dir: the benchmark's work directory.
    images: total images (train + val).
    small: 64x64 images instead of realistic ~400x350 ones.
    seed: the generator seed.
    layouts: the layouts needed (`archives`, `kaggle`).

  Returns:
    The input.
  """
  root = input_dir(work_dir, images, small, seed)
  fake = load_generator(project_dir)
  complete = (root / MANIFEST).exists() and all(
      (root / layout).is_dir() for layout in layouts
  )
  if complete:
    print(f'Reusing the input in {root}', flush=True)
  else:
    num_train, num_val, num_classes = split_counts(images)
    spec = fake.realistic_spec(
        num_train=num_train, num_val=num_val, num_classes=num_classes,
        seed=seed, layouts=tuple(layouts),
    )
    if small:
      side = (SMALL_SIDE, SMALL_SIDE)
      spec = dataclasses.replace(spec, width_range=side, height_range=side)
    print(f'Generating {images:,} images in {root} ...', flush=True)
    started = time.monotonic()
    fake.write_fake_imagenet(root, spec, overwrite=True)
    print(f'  generated in {time.monotonic() - started:.0f} s', flush=True)
  counts = fake.load_manifest(root / MANIFEST).counts
  manual = root / TFDS_MANUAL
  manual.mkdir(exist_ok=True)
  for name in (TRAIN_TAR, VAL_TAR):
    link = manual / name
    if not link.is_symlink():
      link.symlink_to(root / ARCHIVES / name)
  return BenchInput(
      root=root,
      small=small,
      num_train=counts['num_train_images'],
      num_val=counts['num_val_images'],
      num_classes=counts['num_classes_with_images'],
      train_tar_bytes=(root / ARCHIVES / TRAIN_TAR).stat().st_size,
      val_tar_bytes=(root / ARCHIVES / VAL_TAR).stat().st_size,
  )


def input_summary(inp: BenchInput) -> str:
  """Describes an input's size.

  Args:
    inp: the input.

  Returns:
    Two or three lines of text.
  """
  kind = f'{SMALL_SIDE}x{SMALL_SIDE}' if inp.small else 'realistic ~400x350'
  lines = [
      f'Input: {inp.images:,} {kind} JPEGs ({inp.num_train:,} train in'
      f' {inp.num_classes} classes, {inp.num_val:,} val), seeded, in {inp.root}',
      f'  archives: {TRAIN_TAR} {inp.train_tar_bytes / MB:,.1f} MB +'
      f' {VAL_TAR} {inp.val_tar_bytes / MB:,.1f} MB ='
      f' {inp.archive_bytes / MB:,.1f} MB'
      f' ({inp.archive_bytes / inp.images / 1024:.1f} KiB/image);'
      f' whole archives/ dir {dir_usage(inp.archives) / MB:,.1f} MB on disk',
  ]
  if inp.kaggle.is_dir():
    lines.append(f'  kaggle/ tree {dir_usage(inp.kaggle) / MB:,.1f} MB on disk')
  return '\n'.join(lines)


# --- Page cache --------------------------------------------------------------


def iter_files(roots: Iterable[pathlib.Path]) -> Iterable[pathlib.Path]:
  """The regular files under some directories (symlinks not followed).

  Args:
    roots: directories or files.

  Yields:
    Each regular file.
  """
  for root in roots:
    if root.is_file() and not root.is_symlink():
      yield root
      continue
    for directory, _, names in os.walk(root):
      for name in names:
        path = pathlib.Path(directory) / name
        if not path.is_symlink():
          yield path


def evict_from_page_cache(roots: Iterable[pathlib.Path]) -> int:
  """Drops the pages of some files from the page cache.

  Args:
    roots: directories (or files) whose files are evicted.

  Returns:
    The bytes of the files evicted.
  """
  os.sync()
  total = 0
  for path in iter_files(roots):
    fd = os.open(path, os.O_RDONLY)
    try:
      os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
      total += os.fstat(fd).st_size
    finally:
      os.close(fd)
  return total


def drop_all_caches() -> None:
  """Syncs and drops the whole page cache (root only; affects everyone)."""
  os.sync()
  pathlib.Path('/proc/sys/vm/drop_caches').write_text('1\n')


def check_cache_mode(mode: str) -> None:
  """Fails early when the cache mode cannot work here.

  Args:
    mode: `evict`, `drop` or `none`.

  Raises:
    SystemExit: `drop` is not permitted, or `evict` is not supported.
  """
  if mode == 'drop':
    try:
      drop_all_caches()
    except OSError as e:
      raise SystemExit(
          f'--cache=drop: cannot write /proc/sys/vm/drop_caches ({e}); use'
          ' --cache=evict.'
      ) from None
  elif mode == 'evict' and not hasattr(os, 'posix_fadvise'):
    raise SystemExit('--cache=evict needs os.posix_fadvise (Linux); use --cache=none.')


def reset_cache(mode: str, inp: BenchInput) -> None:
  """Makes the input cold before a run.

  Args:
    mode: `evict`, `drop` or `none`.
    inp: the input.
  """
  if mode == 'drop':
    drop_all_caches()
  elif mode == 'evict':
    evict_from_page_cache([inp.root])


# --- Measuring a process tree -----------------------------------------------


def tree_rss(pid: int) -> int:
  """The summed resident set size of a process and its descendants.

  Shared pages are counted once per process that maps them.

  Args:
    pid: the root process.

  Returns:
    Bytes; 0 when the process is gone.
  """
  try:
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
  except psutil.NoSuchProcess:
    return 0  # Exited (or a zombie) between two samples: nothing resident.
  total = 0
  for process in processes:
    try:
      total += process.memory_info().rss
    except psutil.NoSuchProcess:
      continue  # Exited after it was listed: it holds no memory any more.
  return total


def dir_usage(root: pathlib.Path) -> int:
  """Disk space allocated to the files under a directory.

  Args:
    root: the directory (may not exist yet).

  Returns:
    Bytes allocated (`st_blocks`), so sparse files count what they use.
  """
  total = 0
  stack = [str(root)]
  while stack:
    directory = stack.pop()
    try:
      entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
      continue  # Not created yet, or removed while the build runs.
    for entry in entries:
      try:
        if entry.is_dir(follow_symlinks=False):
          stack.append(entry.path)
        else:
          total += entry.stat(follow_symlinks=False).st_blocks * 512
      except FileNotFoundError:
        continue  # A temporary file deleted between listing and stat.
  return total


def read_proc_io(pid: int) -> dict[str, int]:
  """Reads `/proc/<pid>/io` (also works for a zombie not yet reaped).

  Args:
    pid: the process.

  Returns:
    Counter name (`rchar`, `read_bytes`, ...) to value.
  """
  text = pathlib.Path(f'/proc/{pid}/io').read_text()
  counters = {}
  for line in text.splitlines():
    name, _, value = line.partition(':')
    counters[name.strip()] = int(value)
  return counters


class _Sampler(threading.Thread):
  """Polls a process tree's RSS and some directories' disk use."""

  def __init__(self, pid: int, watch: Sequence[pathlib.Path], interval: float):
    super().__init__(daemon=True)
    self._pid = pid
    self._watch = list(watch)
    self._interval = interval
    self._stopping = threading.Event()
    self.peak_rss = 0
    self.peak_disk = 0
    self.last_disk = 0

  def sample(self) -> None:
    """Takes one sample."""
    self.peak_rss = max(self.peak_rss, tree_rss(self._pid))
    self.last_disk = sum(dir_usage(path) for path in self._watch)
    self.peak_disk = max(self.peak_disk, self.last_disk)

  def run(self) -> None:
    while True:
      self.sample()
      if self._stopping.wait(self._interval):
        return

  def stop(self) -> None:
    """Stops polling and takes a last sample."""
    self._stopping.set()
    self.join()
    self.sample()


def measure_command(
    command: Sequence[str],
    cwd: pathlib.Path,
    env: dict[str, str],
    log: pathlib.Path,
    watch: Sequence[pathlib.Path],
    interval: float = POLL_SECONDS,
) -> tuple[Measurement, int]:
  """Runs a command and measures its process tree.

  The process is waited for without being reaped (`WNOWAIT`), so its
  `/proc/<pid>/io` can still be read: it then holds its own counts plus those
  of every descendant it reaped. `wait4` then gives the tree's CPU time.

  Args:
    command: the program and its arguments.
    cwd: its working directory.
    env: its environment.
    log: where its stdout and stderr go.
    watch: directories whose disk use is polled.
    interval: seconds between samples.

  Returns:
    The measurement and the exit code.
  """
  load1 = os.getloadavg()[0]
  with log.open('wb') as output:
    started = time.monotonic()
    process = subprocess.Popen(
        list(command), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=output, stderr=subprocess.STDOUT,
    )
  sampler = _Sampler(process.pid, watch, interval)
  sampler.start()
  os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
  wall = time.monotonic() - started
  counters = read_proc_io(process.pid)
  sampler.stop()
  _, status, usage = os.wait4(process.pid, 0)
  process.returncode = os.waitstatus_to_exitcode(status)
  measurement = Measurement(
      wall_s=wall,
      cpu_s=usage.ru_utime + usage.ru_stime,
      peak_rss=sampler.peak_rss,
      peak_disk=sampler.peak_disk,
      rchar=counters['rchar'],
      read_bytes=counters['read_bytes'],
      load1=load1,
      output_bytes=sampler.last_disk,
  )
  return measurement, process.returncode


# --- Contenders --------------------------------------------------------------


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


def contender_command(
    key: str, inp: BenchInput, paths: RunPaths, options: Options
) -> list[str]:
  """The command line of one contender.

  Args:
    key: a key of `CONTENDERS`.
    inp: the input.
    paths: where the run writes.
    options: run options.

  Returns:
    The command.
  """
  data_dir = f'--data_dir={paths.out}'
  if key == 'imagenet2012':
    return [*tfds_command(), 'build', 'imagenet2012',
            f'--manual_dir={inp.tfds_manual}', data_dir]
  if key == 'plain':
    return [*tfds_command(), 'build', 'imagenet_custom',
            f'--manual_dir={inp.archives}', data_dir]
  if key == 'beam':
    return [*tfds_command(), 'build', 'imagenet_custom',
            f'--manual_dir={inp.archives}', data_dir,
            f'--beam_pipeline_options={options.beam_options}']
  if key == 'kaggle':
    return [*tfds_command(), 'build', 'imagenet_custom',
            f'--manual_dir={inp.kaggle}', data_dir]
  if key == 'floor':
    return [sys.executable, '-c', FLOOR_CODE, str(paths.out / 'copy.tar'),
            str(inp.archives / TRAIN_TAR), str(inp.archives / VAL_TAR)]
  if key == 'generate':
    return [sys.executable, '-c', GENERATE_CODE, str(options.project_dir),
            str(inp.archives), str(paths.out)]
  raise ValueError(f'unknown contender {key!r}; choose from {", ".join(CONTENDERS)}')


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
  paths = RunPaths(run_dir, run_dir / 'out', run_dir / 'tmp', run_dir / 'log.txt')
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


def run_contender(
    key: str, inp: BenchInput, options: Options, name: str
) -> Measurement:
  """Runs one contender once, with a cold input and a fresh output dir.

  Args:
    key: a key of `CONTENDERS`.
    inp: the input.
    options: run options.
    name: the run's directory name.

  Returns:
    The measurement, with the images written.

  Raises:
    BuildFailed: the process failed or wrote no images.
  """
  paths = run_paths(options.work_dir, name)
  command = contender_command(key, inp, paths, options)
  reset_cache(options.cache, inp)
  measurement, code = measure_command(
      command, options.project_dir, run_env(paths), paths.log,
      [paths.out, paths.tmp], options.poll,
  )
  if code != 0:
    raise BuildFailed(
        f'{CONTENDERS[key]} exited with {code}: {" ".join(command)[:300]}\n'
        f'log {paths.log}:\n{log_tail(paths.log)}'
    )
  if key == 'floor':
    images = inp.images
  elif key == 'generate':
    images = _generated_count(paths.log)
  else:
    images = count_written(paths.out)
  if images <= 0:
    raise BuildFailed(f'{CONTENDERS[key]} wrote no images; log {paths.log}')
  if not options.keep_outputs:
    shutil.rmtree(paths.out)
    shutil.rmtree(paths.tmp)
  return dataclasses.replace(measurement, images=images)


def _generated_count(log: pathlib.Path) -> int:
  """The example count printed by `GENERATE_CODE`.

  Args:
    log: the run's log.

  Returns:
    The count, 0 if not printed.
  """
  match = re.search(r'examples generated: (\d+)', log.read_text(errors='replace'))
  return int(match.group(1)) if match else 0


def measure_baselines(inp: BenchInput, options: Options) -> dict[str, Measurement]:
  """Measures what starting the tools costs, to subtract from bytes read.

  `tfds`: the `tfds` command that imports TFDS and its CLI, then exits
  (`tfds build --help`). `python`: an interpreter that does nothing.
  `import`: an interpreter that imports TFDS and the builder, then exits.

  Args:
    inp: the input (made cold first, as before a run).
    options: run options.

  Returns:
    Baseline name to measurement.
  """
  commands = {
      TFDS_BASELINE: [*tfds_command(), 'build', '--help'],
      PYTHON_BASELINE: [sys.executable, '-c', 'pass'],
      IMPORT_BASELINE: [sys.executable, '-c', IMPORT_CODE, str(options.project_dir)],
  }
  baselines = {}
  for name, command in commands.items():
    paths = run_paths(options.work_dir, f'baseline-{name}')
    reset_cache(options.cache, inp)
    measurement, code = measure_command(
        command, options.project_dir, run_env(paths), paths.log, [], options.poll
    )
    if code != 0:
      raise BuildFailed(f'baseline {name} exited with {code}:\n{log_tail(paths.log)}')
    baselines[name] = measurement
  return baselines


def run_alternating(
    keys: Sequence[str], inp: BenchInput, options: Options, repeats: int, tag: str
) -> dict[str, list[Measurement]]:
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
  results: dict[str, list[Measurement]] = {key: [] for key in keys}
  for repeat in range(repeats):
    shift = repeat % len(keys)
    for key in [*keys[shift:], *keys[:shift]]:
      measurement = run_contender(key, inp, options, f'{tag}-{key}-{repeat}')
      results[key].append(measurement)
      print(
          f'  [{repeat + 1}/{repeats}] {CONTENDERS[key]:30s}'
          f' {measurement.wall_s:8.1f} s  {measurement.images:,} images'
          f'  peak RSS {measurement.peak_rss / MB:,.0f} MB'
          f'  load {measurement.load1:.1f}',
          flush=True,
      )
  return results


def median_measurement(runs: Sequence[Measurement]) -> Measurement:
  """The field-wise median of some runs.

  Args:
    runs: at least one measurement.

  Returns:
    A measurement of medians.
  """
  fields = {}
  for field in dataclasses.fields(Measurement):
    values = [getattr(run, field.name) for run in runs]
    median = statistics.median(values)
    fields[field.name] = type(values[0])(median)
  return Measurement(**fields)


# --- Tables ------------------------------------------------------------------


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1
) -> str:
  """Aligns a table: the first `left` columns to the left, the others right.

  Args:
    headers: column titles.
    rows: cells, as text.
    left: how many leading (text) columns are left-aligned.

  Returns:
    The table's lines.
  """
  widths = [
      max(len(headers[i]), *(len(row[i]) for row in rows)) if rows else len(headers[i])
      for i in range(len(headers))
  ]
  lines = []
  for cells in [headers, *rows]:
    parts = [
        cell.ljust(widths[i]) if i < left else cell.rjust(widths[i])
        for i, cell in enumerate(cells)
    ]
    lines.append('  '.join(parts).rstrip())
  lines.insert(1, '  '.join('-' * width for width in widths))
  return '\n'.join(lines)


def _ratio(value: float, reference: float | None) -> str:
  """`value / reference` as `0.00x`, or `-` without a reference.

  Args:
    value: the numerator.
    reference: the denominator, if measured.

  Returns:
    The text.
  """
  if not reference:
    return '-'
  return f'{value / reference:.2f}x'


def comparison_table(
    medians: dict[str, Measurement],
    baselines: dict[str, Measurement],
    inp: BenchInput,
) -> str:
  """The main table: one row per contender, medians of its runs.

  Args:
    medians: contender key to its median measurement.
    baselines: startup baselines (see `measure_baselines`).
    inp: the input.

  Returns:
    The table.
  """
  reference = medians.get('imagenet2012')
  floor = medians.get('floor')
  headers = [
      'contender', 'wall s', 'images/s', 'CPU s', 'peak RSS MB',
      'disk read MB', 'read/arch', 'rchar MB', 'rchar/arch', 'peak disk MB',
      'vs imagenet2012', 'vs floor', 'load',
  ]
  rows = []
  for key, m in medians.items():
    base = baselines[BASELINE_OF.get(key, TFDS_BASELINE)]
    read = m.read_bytes - base.read_bytes
    rchar = m.rchar - base.rchar
    rows.append([
        CONTENDERS[key],
        f'{m.wall_s:.2f}',
        f'{m.images / m.wall_s:.0f}',
        f'{m.cpu_s:.1f}',
        f'{m.peak_rss / MB:,.0f}',
        f'{read / MB:,.0f}',
        f'{read / inp.archive_bytes:.3f}',
        f'{rchar / MB:,.0f}',
        f'{rchar / inp.archive_bytes:.3f}',
        f'{m.peak_disk / MB:,.0f}',
        _ratio(m.wall_s, reference.wall_s if reference else None),
        _ratio(m.wall_s, floor.wall_s if floor else None),
        f'{m.load1:.1f}',
    ])
  return format_table(headers, rows)


def baseline_summary(baselines: dict[str, Measurement]) -> str:
  """One line on the startup baselines.

  Args:
    baselines: baseline name to measurement.

  Returns:
    The text.
  """
  parts = [
      f'{name}: {m.wall_s:.1f} s, rchar {m.rchar / MB:.1f} MB,'
      f' disk read {m.read_bytes / MB:.1f} MB, RSS {m.peak_rss / MB:.0f} MB'
      for name, m in baselines.items()
  ]
  return (
      'Startup baselines subtracted from bytes read (tfds = `tfds build'
      ' --help`, for the builds; python = `python -c pass`, for the floor;'
      ' import = importing TFDS and the builder, for generate only): '
      + '; '.join(parts)
  )


def scale_table(
    results: dict[int, dict[str, Measurement]],
    inputs: dict[int, BenchInput],
    baselines: dict[str, Measurement],
) -> str:
  """Per-image cost and memory by scale.

  Args:
    results: scale to contender key to median measurement.
    inputs: scale to input.
    baselines: startup baselines.

  Returns:
    The table.
  """
  headers = [
      'contender', 'images', 'wall s', 'ms/image', 'images/s', 'CPU ms/image',
      'peak RSS MB', 'read/arch', 'output MB', 'peak disk MB',
  ]
  rows = []
  for scale, medians in results.items():
    inp = inputs[scale]
    for key, m in medians.items():
      base = baselines[BASELINE_OF.get(key, TFDS_BASELINE)]
      rows.append([
          CONTENDERS[key],
          f'{inp.images:,}',
          f'{m.wall_s:.2f}',
          f'{m.wall_s / m.images * 1000:.2f}',
          f'{m.images / m.wall_s:.0f}',
          f'{m.cpu_s / m.images * 1000:.2f}',
          f'{m.peak_rss / MB:,.0f}',
          f'{(m.read_bytes - base.read_bytes) / inp.archive_bytes:.3f}',
          f'{m.output_bytes / MB:,.0f}',
          f'{m.peak_disk / MB:,.0f}',
      ])
  return format_table(headers, rows)


# --- Profiles ----------------------------------------------------------------

_LINE_NUMBER = re.compile(r':\d+\)$')
_THREAD_NUMBERS = re.compile(r'[-_]\d+')


def parse_pyspy_raw(text: str) -> PySpyProfile:
  """Sums `py-spy record --format raw --threads` output by function and thread.

  Args:
    text: the raw output: one `thread;frame;...;frame count` line per stack.

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
      continue
    count = int(count_text)
    thread, *frames = stack.split(';')
    thread_id, _, thread_name = thread.partition(': ')
    group = _THREAD_NUMBERS.sub('', thread_name or thread_id)
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
  lines.append(format_table(['thread', 'threads', 'CPU s', 'busy', 'ms/image'], rows))
  for title, counter in (('own', profile.own), ('inclusive', profile.inclusive)):
    lines.append(f'\nTop {top} functions by {title} time (all threads):')
    rows = [
        [function[:110], f'{samples / rate:.1f}',
         f'{100 * samples / profile.total:.1f}%',
         f'{samples / rate / images * 1000:.3f}']
        for function, samples in counter.most_common(top)
    ]
    lines.append(format_table(['function (file)', 's', 'share', 'ms/image'], rows))
  return '\n'.join(lines)


def profile_with_pyspy(
    py_spy: str, inp: BenchInput, options: Options, top: int
) -> str:
  """Runs the plain build under py-spy and summarises where time goes.

  Args:
    py_spy: the `py-spy` executable.
    inp: the input.
    options: run options.
    top: functions listed.

  Returns:
    The summary.
  """
  paths = run_paths(options.work_dir, 'profile-pyspy')
  raw = paths.run_dir / 'pyspy.txt'
  command = [
      py_spy, 'record', '--format', 'raw', '--threads', '--rate',
      str(PYSPY_RATE), '--output', str(raw), '--',
      *contender_command('plain', inp, paths, options),
  ]
  reset_cache(options.cache, inp)
  measurement, code = measure_command(
      command, options.project_dir, run_env(paths), paths.log,
      [paths.out, paths.tmp], options.poll,
  )
  if code != 0 or not raw.exists():
    raise BuildFailed(f'py-spy run failed ({code}):\n{log_tail(paths.log)}')
  images = count_written(paths.out)
  profile = parse_pyspy_raw(raw.read_text())
  if not options.keep_outputs:
    shutil.rmtree(paths.out)
  return (
      f'Plain build under py-spy (raw samples in {raw}):\n'
      + format_pyspy(profile, PYSPY_RATE, measurement.wall_s, images, top)
  )


def profile_with_cprofile(inp: BenchInput, options: Options, top: int) -> str:
  """Runs the plain build in one process under cProfile.

  cProfile sees the main thread only: the image checks run on the builder's
  thread pool and appear as waits on futures.

  Args:
    inp: the input.
    options: run options.
    top: functions listed.

  Returns:
    The summary.
  """
  paths = run_paths(options.work_dir, 'profile-cprofile')
  stats_path = paths.run_dir / 'cprofile.stats'
  command = [
      sys.executable, '-c', CPROFILE_CODE, str(options.project_dir),
      str(inp.archives), str(paths.out), str(stats_path),
  ]
  reset_cache(options.cache, inp)
  measurement, code = measure_command(
      command, options.project_dir, run_env(paths), paths.log,
      [paths.out, paths.tmp], options.poll,
  )
  if code != 0:
    raise BuildFailed(f'cProfile run failed ({code}):\n{log_tail(paths.log)}')
  images = count_written(paths.out)
  text = io.StringIO()
  stats = pstats.Stats(str(stats_path), stream=text)
  for order in ('cumulative', 'tottime'):
    text.write(f'\n== by {order} ==\n')
    stats.sort_stats(order).print_stats(top)
  if not options.keep_outputs:
    shutil.rmtree(paths.out)
  return (
      f'Plain build under cProfile (main thread only), {measurement.wall_s:.1f} s,'
      f' {images:,} images:\n{text.getvalue()}'
  )


# --- Modes -------------------------------------------------------------------


def compare_mode(
    args: argparse.Namespace, options: Options, keys: Sequence[str]
) -> str:
  """Measures the contenders on one input and returns the report.

  Args:
    args: parsed arguments.
    options: run options.
    keys: contender keys.

  Returns:
    The report (also printed as it goes).
  """
  layouts = [ARCHIVES, KAGGLE] if 'kaggle' in keys else [ARCHIVES]
  inp = prepare_input(
      options.project_dir, options.work_dir, args.images, args.small, args.seed, layouts
  )
  header = '\n'.join([
      machine_summary(options.work_dir),
      input_summary(inp),
      f'Cache before each run: {options.cache}; repeats: {args.repeats}'
      ' (medians shown); RSS and disk polled every'
      f' {options.poll} s; project built: {options.project_dir}'
      f' ({project_version(options.project_dir)})',
  ])
  print(header, flush=True)
  baselines = measure_baselines(inp, options)
  results = run_alternating(keys, inp, options, args.repeats, 'compare')
  medians = {key: median_measurement(runs) for key, runs in results.items()}
  report = '\n'.join([
      '', header, baseline_summary(baselines), '',
      comparison_table(medians, baselines, inp),
  ])
  print(report, flush=True)
  return report


def scale_mode(
    args: argparse.Namespace, options: Options, keys: Sequence[str]
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
  print(machine_summary(options.work_dir), flush=True)
  inputs = {}
  for scale in scales:
    inputs[scale] = prepare_input(
        options.project_dir, options.work_dir, scale, args.small, args.seed, [ARCHIVES]
    )
    print(input_summary(inputs[scale]), flush=True)
  baselines = measure_baselines(inputs[scales[0]], options)
  results = {}
  for scale in scales:
    print(f'Scale {scale:,}:', flush=True)
    runs = run_alternating(keys, inputs[scale], options, args.repeats, f'scale{scale}')
    results[scale] = {key: median_measurement(m) for key, m in runs.items()}
  report = '\n'.join([
      '', machine_summary(options.work_dir),
      *(input_summary(inputs[scale]) for scale in scales),
      f'Cache before each run: {options.cache}; repeats: {args.repeats} (medians)',
      baseline_summary(baselines), '',
      scale_table(results, inputs, baselines),
  ])
  print(report, flush=True)
  return report


def profile_mode(args: argparse.Namespace, options: Options) -> str:
  """Profiles the plain build and returns the summary.

  Args:
    args: parsed arguments.
    options: run options.

  Returns:
    The summary.
  """
  inp = prepare_input(
      options.project_dir, options.work_dir, args.images, args.small, args.seed, [ARCHIVES]
  )
  print(input_summary(inp), flush=True)
  py_spy = shutil.which('py-spy') or str(pathlib.Path(sys.executable).parent / 'py-spy')
  use_pyspy = args.profiler == 'py-spy' or (
      args.profiler == 'auto' and pathlib.Path(py_spy).exists()
  )
  if use_pyspy:
    report = profile_with_pyspy(py_spy, inp, options, args.top)
  else:
    print('py-spy not found (pip install py-spy): using cProfile.', flush=True)
    report = profile_with_cprofile(inp, options, args.top)
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
      description=__doc__.split('\n\n')[0],
      formatter_class=argparse.RawDescriptionHelpFormatter,
  )
  parser.add_argument('--images', type=int, default=DEFAULT_IMAGES,
                      help='train + val images of the input (default %(default)s)')
  parser.add_argument('--repeats', type=int, default=2,
                      help='runs of each contender; medians are shown')
  parser.add_argument('--work_dir', type=pathlib.Path, default=DEFAULT_WORK_DIR,
                      help='inputs (reused), run outputs and logs')
  parser.add_argument('--contenders',
                      help='comma-separated subset of ' + ','.join(CONTENDERS))
  parser.add_argument('--scales', help='e.g. 10000,30000,100000: scale mode')
  parser.add_argument('--small', action='store_true',
                      help=f'{SMALL_SIDE}x{SMALL_SIDE} images instead of realistic ones')
  parser.add_argument('--profile', action='store_true',
                      help='profile the plain build instead of comparing')
  parser.add_argument('--profiler', choices=('auto', 'py-spy', 'cprofile'),
                      default='auto')
  parser.add_argument('--top', type=int, default=TOP_FUNCTIONS,
                      help='functions listed by --profile')
  parser.add_argument('--cache', choices=('evict', 'drop', 'none'), default='evict',
                      help='before each run: evict the input from the page'
                      ' cache (default), drop all caches (root), or nothing')
  parser.add_argument('--project_dir', type=pathlib.Path, default=PROJECT_DIR,
                      help='checkout whose imagenet_custom is built')
  parser.add_argument('--seed', type=int, default=DEFAULT_SEED)
  parser.add_argument('--poll', type=float, default=POLL_SECONDS,
                      help='seconds between RSS and disk samples')
  parser.add_argument('--beam_options', default='runner=DirectRunner',
                      help='--beam_pipeline_options of the Beam contender')
  parser.add_argument('--keep_outputs', action='store_true',
                      help='keep each run\'s output directory')
  parser.add_argument('--report', type=pathlib.Path,
                      help='also write the final report to this file')
  args = parser.parse_args(argv)
  if args.repeats < 1 or args.images < 2:
    parser.error('--repeats must be >= 1 and --images >= 2')
  return args


def main(argv: Sequence[str] | None = None) -> int:
  """Runs the benchmark the command line asks for.

  Args:
    argv: arguments without the program name.

  Returns:
    The exit status.
  """
  args = parse_args(argv)
  options = Options(
      project_dir=args.project_dir.resolve(),
      work_dir=args.work_dir.resolve(),
      cache=args.cache,
      poll=args.poll,
      beam_options=args.beam_options,
      keep_outputs=args.keep_outputs,
  )
  check_cache_mode(options.cache)
  default_keys = SCALE_CONTENDERS if args.scales else DEFAULT_CONTENDERS
  keys = args.contenders.split(',') if args.contenders else list(default_keys)
  unknown = [key for key in keys if key not in CONTENDERS]
  if unknown:
    raise SystemExit(f'unknown contenders {unknown}; choose from {", ".join(CONTENDERS)}')
  if args.profile:
    report = profile_mode(args, options)
  elif args.scales:
    report = scale_mode(args, options, keys)
  else:
    report = compare_mode(args, options, keys)
  if args.report:
    args.report.write_text(report + '\n')
  return 0


if __name__ == '__main__':
  sys.exit(main())
