"""What reading the face-blurred archives in place costs, against extracting them.

  python benchmarks/tar_gz_benchmark.py --work_dir /work/bench/blurred
      [--train_images 9000] [--val_images 1000] [--classes 30]

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
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib

if __name__ == '__main__':
  # Run as a script: make the checkout importable.
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

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


def read_everything(index: tar_gz.TarGzIndex) -> int:
  """Reads every file through the index, one folder at a time."""
  total = 0
  for folder in index.folders:
    for _, data in index.read(index.members(folder).values()):
      total += len(data)
  return total


def _timed(archive: pathlib.Path, step, repeats: int) -> tuple[str, object]:
  """Runs `step` `repeats` times, each with the archive evicted first.

  Returns:
    The median and range of the times, and the last result.
  """
  times, result = [], None
  for _ in range(repeats):
    page_cache.evict_from_page_cache([archive])
    started = time.perf_counter()
    result = step()
    times.append(time.perf_counter() - started)
  times.sort()
  spread = f' ({times[0]:.2f}-{times[-1]:.2f})' if repeats > 1 else ''
  return f'{times[len(times) // 2]:6.2f} s{spread}', result


def _disk_bytes(folder: pathlib.Path) -> int:
  return sum(p.stat().st_blocks * 512 for p in folder.rglob('*') if p.is_file())


def measure(manual: pathlib.Path, work_dir: pathlib.Path, repeats: int) -> list[str]:
  """Times the steps on each archive (see the module docstring).

  Returns:
    The report's lines: median times (and their range over the repeats).
  """
  lines = []
  for archive_name in (blurred.TRAIN_ARCHIVE, blurred.VAL_ARCHIVE):
    archive = manual / archive_name
    size = archive.stat().st_size
    inflate_s, uncompressed = _timed(archive, lambda a=archive: inflate(a), repeats)
    assert isinstance(uncompressed, int)
    index_file = work_dir / 'index' / tar_gz.index_file_name(archive)

    def index_pass(a=archive, f=index_file) -> tar_gz.TarGzIndex:
      built = tar_gz.build_index(a)
      tar_gz.save_index(built, f)
      return built

    index_s, index = _timed(archive, index_pass, repeats)
    assert isinstance(index, tar_gz.TarGzIndex)
    loaded = tar_gz.load_index(index_file, archive)
    assert loaded is not None
    read_s, read_bytes = _timed(archive, lambda i=loaded: read_everything(i), repeats)
    assert isinstance(read_bytes, int)
    lines.append(
        f'{archive_name}: {size / 1e6:,.1f} MB ({uncompressed / 1e6:,.1f} MB'
        f' uncompressed, {read_bytes / 1e6:,.1f} MB of files,'
        f' {sum(len(index.members(f)) for f in index.folders):,} files)'
    )
    lines.append(f'  inflate with zlib (the floor):     {inflate_s}')
    lines.append(
        f'  index pass + index file:           {index_s}'
        f' ({len(index.points)} access points, index file'
        f' {index_file.stat().st_size / 1e6:,.2f} MB)'
    )
    lines.append(f'  read every file through the index: {read_s}')
    if shutil.which('tar'):
      extract_s, disk = _timed(archive, lambda a=archive: _extract(a, work_dir), repeats)
      assert isinstance(disk, int)
      lines.append(
          f'  tar -xzf (extracting):             {extract_s},'
          f' {disk / 1e6:,.1f} MB of disk'
      )
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
  args = parser.parse_args(argv)
  args.work_dir.mkdir(parents=True, exist_ok=True)
  started = time.perf_counter()
  manual = ensure_input(args.work_dir, Scale(args.train_images, args.val_images, args.classes))
  print(f'input: {manual} ({time.perf_counter() - started:.0f} s to make or find)')
  print('\n'.join(measure(manual, args.work_dir, args.repeats)))
  return 0


if __name__ == '__main__':
  sys.exit(main())
