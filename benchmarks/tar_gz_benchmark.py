"""What reading the face-blurred archives in place costs, against extracting them.

  python benchmarks/tar_gz_benchmark.py --work_dir /work/bench/blurred
      [--train_images 9000] [--val_images 1000] [--classes 30] [--baseline REV]

The first run writes (reused after: `WORK/stamp.json`) a face-blurred layout
from realistic fake images (~400x350 noise JPEGs, blurred whole and re-saved
at quality 90 by `imagenet_custom.testing.blurred`: ~30 KB each, where the
release's are ~110 KB, since only faces were blurred), about 300 MB, and packs its two folders
as `train_blurred.tar.gz` and `val_blurred.tar.gz` the way `tar -czf` does
(gzip level 6, sorted members). Then it times, `--repeats` times each (the
median and the range are printed), with the archive evicted from the page
cache before each run:

* inflating: reading the archive through Python's `zlib` and discarding the
  output (the floor for anything that reads a .tar.gz);
* the index pass (`tar_gz.build_index` and writing the index file): what the
  build does once before reading in place;
* reading every image through the index, class folder by class folder, as the
  build's workers do;
* extracting: `tar -xzf` into a folder on the same disk (what the layout
  asked for before; until `tar` exits, its writes reaching the disk later),
  and the disk that takes.

Each run of the index pass and of the reading is a fresh (spawned) process,
which reports its peak resident memory above what it held before the step;
implementations take turns run by run. With
`--baseline REV`, `imagenet_custom/archives/tar_gz.py` (and `gzip_index.py`,
if the revision has one) are taken from that git revision into a temporary
folder and measured the same way in processes of their own, and the report
shows both side by side; the baseline is importable only in those processes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import dataclasses
import functools
import importlib.util
import json
import multiprocessing
import pathlib
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import types
from typing import Any
import zlib

if __name__ == '__main__':
  # Run as a script: make the checkout importable.
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import psutil  # pylint: disable=g-import-not-at-top

from benchmarks.build import page_cache  # pylint: disable=g-import-not-at-top
from imagenet_custom.archives import tar_gz  # pylint: disable=g-import-not-at-top
from imagenet_custom.layouts import blurred  # pylint: disable=g-import-not-at-top
from imagenet_custom.testing import blurred as blurred_data  # pylint: disable=g-import-not-at-top
from imagenet_custom.testing import fake_imagenet  # pylint: disable=g-import-not-at-top
from imagenet_custom.testing import names  # pylint: disable=g-import-not-at-top

STAMP = 'stamp.json'
MANUAL_DIR = 'manual'
# `gzip` and `tar -z` compress at level 6 unless told otherwise.
GZIP_LEVEL = 6
_CHUNK = 1 << 20
# The files of the archive access code that a `--baseline` revision provides.
_IMPLEMENTATION = 'imagenet_custom/archives'
_MODULES = ('gzip_index', 'tar_gz')
CURRENT = 'this checkout'


@dataclasses.dataclass(frozen=True)
class Scale:
  """The realistic fake images the layout is made from."""

  train_images: int = 9000
  val_images: int = 1000
  classes: int = 30
  seed: int = 0


def pack(folder: pathlib.Path, archive: pathlib.Path) -> None:
  """`tar -czf archive folder`, reproducibly: sorted members, gzip level 6."""
  with tarfile.open(archive, 'w:gz', compresslevel=GZIP_LEVEL, format=tarfile.GNU_FORMAT) as tar:
    tar.add(folder, arcname=folder.name, filter=_fixed, recursive=False)
    for path in sorted(folder.rglob('*')):
      tar.add(path, arcname=f'{folder.name}/{path.relative_to(folder).as_posix()}', filter=_fixed, recursive=False)


def _fixed(info: tarfile.TarInfo) -> tarfile.TarInfo:
  info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, 'root', 'root'
  return info


def ensure_input(work_dir: pathlib.Path, scale: Scale) -> pathlib.Path:
  """The blurred layout with its two archives, written unless already there.

  Args:
    work_dir: the benchmark's folder.
    scale: the fake images.

  Returns:
    The manual dir holding the archives.
  """
  stamp = work_dir / STAMP
  wanted = dataclasses.asdict(scale)
  manual = work_dir / MANUAL_DIR
  if stamp.exists() and json.loads(stamp.read_text()) == wanted:
    return manual
  stamp.unlink(missing_ok=True)
  shutil.rmtree(manual, ignore_errors=True)
  with tempfile.TemporaryDirectory(dir=work_dir) as scratch:
    source = pathlib.Path(scratch)
    spec = fake_imagenet.realistic_spec(
        scale.train_images, scale.val_images, scale.classes, scale.seed, (names.FOLDERS,)
    )
    fake_imagenet.write_fake_imagenet(source, spec)
    blurred_data.write_blurred(source / names.FOLDERS, manual)
  for folder, archive in blurred.ARCHIVE_OF.items():
    pack(manual / folder, manual / archive)
    shutil.rmtree(manual / folder)
  stamp.write_text(json.dumps(wanted) + '\n')
  return manual


def inflate(archive: pathlib.Path) -> int:
  """Inflates a gzip file with Python's `zlib`, discarding the output."""
  decompressor = zlib.decompressobj(31)
  size = 0
  with archive.open('rb') as f:
    while chunk := f.read(_CHUNK):
      size += len(decompressor.decompress(chunk))
  return size


def load_implementation(source: str | None) -> types.ModuleType:
  """The `tar_gz` module measured: this checkout's, or one from `baseline_files`.

  Args:
    source: None for this checkout's; else a folder written by
      `baseline_files`. Its `gzip_index.py`, when there, replaces this
      checkout's in `sys.modules` (only the benchmark's own child processes
      call this).
  """
  if source is None:
    return tar_gz
  folder = pathlib.Path(source)
  loaded = {}
  for name in _MODULES:
    path = folder / f'{name}.py'
    if not path.exists():
      continue
    spec = importlib.util.spec_from_file_location(f'imagenet_custom.archives.{name}', path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    # `from imagenet_custom.archives import gzip_index` reads the package's attribute.
    setattr(sys.modules['imagenet_custom.archives'], name, module)
    spec.loader.exec_module(module)
    loaded[name] = module
  return loaded['tar_gz']


def baseline_files(revision: str, into: pathlib.Path) -> str:
  """Writes the archive access modules of a git revision into a folder.

  Returns:
    The revision's short hash.
  """
  root = pathlib.Path(__file__).resolve().parent.parent
  commit = subprocess.run(
      ['git', 'rev-parse', '--short', revision], cwd=root, check=True, capture_output=True,
      text=True,
  ).stdout.strip()
  for name in _MODULES:
    shown = subprocess.run(
        ['git', 'show', f'{commit}:{_IMPLEMENTATION}/{name}.py'], cwd=root, capture_output=True,
    )
    if shown.returncode == 0:
      (into / f'{name}.py').write_bytes(shown.stdout)
  if not (into / 'tar_gz.py').exists():
    raise SystemExit(f'--baseline {revision}: no {_IMPLEMENTATION}/tar_gz.py there')
  return commit


def read_everything(index: Any) -> int:
  """Reads every file through the index, one folder at a time."""
  total = 0
  for folder in index.folders:
    for _, data in index.read(index.members(folder).values()):
      total += len(data)
  return total


def _timed(archive: pathlib.Path, step: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
  """Runs `step` `repeats` times, each with the archive evicted first.

  Returns:
    The times, sorted, and the last result.
  """
  times, result = [], None
  for _ in range(repeats):
    page_cache.evict_from_page_cache([archive])
    started = time.perf_counter()
    result = step()
    times.append(time.perf_counter() - started)
  return sorted(times), result


def _seconds(times: list[float]) -> str:
  spread = f' ({times[0]:.2f}-{times[-1]:.2f})' if len(times) > 1 else ''
  return f'{times[len(times) // 2]:.2f} s{spread}'


def _peak_growth(rss_before: int) -> int:
  """This process's peak resident memory above `rss_before`, in bytes."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before


def index_step(source: str | None, archive: str, index_file: str) -> dict[str, Any]:
  """In a fresh process: one index pass and index file, timed."""
  module = load_implementation(source)
  rss_before = psutil.Process().memory_info().rss
  path = pathlib.Path(archive)

  def index_pass() -> Any:
    built = module.build_index(path)
    module.save_index(built, index_file)
    return built

  times, index = _timed(path, index_pass, 1)
  points = index.access_points if hasattr(index, 'access_points') else len(index.points)
  return dict(
      times=times, memory=_peak_growth(rss_before), points=points,
      index_bytes=pathlib.Path(index_file).stat().st_size, size=index.size,
      files=sum(len(index.members(f)) for f in index.folders),
  )


def read_step(source: str | None, archive: str, index_file: str) -> dict[str, Any]:
  """In a fresh process: reading every file through the index file once, timed."""
  module = load_implementation(source)
  rss_before = psutil.Process().memory_info().rss
  path = pathlib.Path(archive)

  def read_once() -> int:
    loaded = module.load_index(index_file, path)
    assert loaded is not None, f'{index_file} was not read back'
    return read_everything(loaded)

  times, total = _timed(path, read_once, 1)
  return dict(times=times, memory=_peak_growth(rss_before), bytes=total)


def _in_child(step: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
  """Runs a step in a fresh (spawned) process, so its memory and caches are its own."""
  with multiprocessing.get_context('spawn').Pool(1) as pool:
    return pool.apply(step, args)


def _repeated(
    step: Callable[..., dict[str, Any]], implementations: dict[str, str | None],
    archive: pathlib.Path, index_files: dict[str, pathlib.Path], repeats: int,
) -> dict[str, dict[str, Any]]:
  """Runs a step `repeats` times per implementation, taking turns (so that
  the load of the machine falls on each alike), each run in a fresh process.

  Returns:
    Per implementation: every run's time, sorted, the largest memory, and
    the last run's other figures.
  """
  results: dict[str, dict[str, Any]] = {}
  for _ in range(repeats):
    for name, source in implementations.items():
      run = _in_child(step, source, str(archive), str(index_files[name]))
      kept = results.setdefault(name, dict(run, times=[], memory=0))
      kept.update({k: v for k, v in run.items() if k not in ('times', 'memory')})
      kept['times'] = sorted(kept['times'] + run['times'])
      kept['memory'] = max(kept['memory'], run['memory'])
  return results


def _disk_bytes(folder: pathlib.Path) -> int:
  return sum(p.stat().st_blocks * 512 for p in folder.rglob('*') if p.is_file())


def _row(label: str, cells: list[str]) -> str:
  return f'  {label:<36}' + ''.join(f'{cell:<26}' for cell in cells).rstrip()


def _ratio(after: list[float], before: list[float]) -> str:
  return f'{after[len(after) // 2] / before[len(before) // 2]:.2f}x the time'


def measure(
    manual: pathlib.Path, work_dir: pathlib.Path, repeats: int,
    implementations: dict[str, str | None],
) -> list[str]:
  """Times the steps on each archive, per implementation (see the module docstring).

  Args:
    manual: the folder holding the archives.
    work_dir: the benchmark's folder (index files, extraction).
    repeats: runs of each step.
    implementations: column name -> `load_implementation`'s source; the
      first is the baseline a ratio compares with.

  Returns:
    The report's lines: median times (and their range over the repeats).
  """
  lines = []
  names = list(implementations)
  for archive_name in (blurred.TRAIN_ARCHIVE, blurred.VAL_ARCHIVE):
    archive = manual / archive_name
    inflate_times, uncompressed = _timed(archive, functools.partial(inflate, archive), repeats)
    index_files = {
        name: work_dir / 'index' / name.replace(' ', '_') / tar_gz.index_file_name(archive)
        for name in names
    }
    for index_file in index_files.values():
      index_file.parent.mkdir(parents=True, exist_ok=True)
    indexed = _repeated(index_step, implementations, archive, index_files, repeats)
    read = _repeated(read_step, implementations, archive, index_files, repeats)
    first = indexed[names[0]]
    lines.append(
        f'{archive_name}: {archive.stat().st_size / 1e6:,.1f} MB ({uncompressed / 1e6:,.1f} MB'
        f' uncompressed, {read[names[0]]["bytes"] / 1e6:,.1f} MB of files, {first["files"]:,} files)'
    )
    ratio = len(names) > 1
    lines.append(_row('', names + (['last / first'] if ratio else [])))
    lines.append(_row('inflate with zlib (the floor)', [_seconds(inflate_times)]))
    for label, results, key in (
        ('index pass + index file', indexed, 'times'),
        ('read every file through the index', read, 'times'),
    ):
      cells = [_seconds(results[name][key]) for name in names]
      if ratio:
        cells.append(_ratio(results[names[-1]][key], results[names[0]][key]))
      lines.append(_row(label, cells))
    lines.append(_row('  peak memory of the pass', [f'+{indexed[n]["memory"] / 1e6:,.0f} MB' for n in names]))
    lines.append(_row('  peak memory of the reading', [f'+{read[n]["memory"] / 1e6:,.0f} MB' for n in names]))
    lines.append(_row('  index file', [
        f'{indexed[n]["index_bytes"] / 1e3:,.1f} kB, {indexed[n]["points"]} points' for n in names
    ]))
    if shutil.which('tar'):
      extract_times, disk = _timed(archive, functools.partial(_extract, archive, work_dir), repeats)
      lines.append(_row('tar -xzf (extracting)', [f'{_seconds(extract_times)}, {disk / 1e6:,.1f} MB of disk']))
  return lines


def _extract(archive: pathlib.Path, work_dir: pathlib.Path) -> int:
  """`tar -xzf` into a temporary folder; returns the disk it took.

  Timed as a user sees it: until `tar` exits (the kernel writes the files to
  disk after that; waiting for it with `sync` would also wait for every
  other process's writes).
  """
  with tempfile.TemporaryDirectory(dir=work_dir) as target:
    subprocess.run(['tar', '-xzf', str(archive), '-C', target], check=True)
    return _disk_bytes(pathlib.Path(target))


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
  parser.add_argument('--work_dir', type=pathlib.Path, required=True)
  parser.add_argument('--train_images', type=int, default=Scale.train_images)
  parser.add_argument('--val_images', type=int, default=Scale.val_images)
  parser.add_argument('--classes', type=int, default=Scale.classes)
  parser.add_argument('--repeats', type=int, default=3, help='runs of each step (median shown)')
  parser.add_argument(
      '--baseline', metavar='REV',
      help='also measure the archive access code of this git revision, side by side',
  )
  args = parser.parse_args(argv)
  args.work_dir.mkdir(parents=True, exist_ok=True)
  started = time.perf_counter()
  manual = ensure_input(args.work_dir, Scale(args.train_images, args.val_images, args.classes))
  print(f'input: {manual} ({time.perf_counter() - started:.0f} s to make or find)')
  with tempfile.TemporaryDirectory(dir=args.work_dir) as scratch:
    implementations: dict[str, str | None] = {}
    if args.baseline:
      commit = baseline_files(args.baseline, pathlib.Path(scratch))
      implementations[f'baseline {commit}'] = scratch
    implementations[CURRENT] = None
    print('\n'.join(measure(manual, args.work_dir, args.repeats, implementations)))
  return 0


if __name__ == '__main__':
  sys.exit(main())
