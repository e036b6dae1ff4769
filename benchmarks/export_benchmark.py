"""Export throughput: `folders` and `inception` beside a plain copy of the same bytes.

  python benchmarks/export_benchmark.py [--images 500,2000] [--repeats 3]
      [--num_workers 0] [--baseline CHECKOUT] [--work_dir DIR] [--keep]

For each size in `--images` it generates that many real-sized train JPEGs
(~110 KB, the project's generator, `folders` layout, 20 classes) and builds the
`default` config. Then, `--repeats` rounds, each contender in turn, it runs as
a measured process tree, after evicting the build's shards from the page
cache:

  copy       Python copying the build's shard files to a new folder (the
             same bytes read and written, no parsing: the disk's limit);
  copy_tree  Python copying a `folders` export made before the rounds (the
             same image files in the same 4 x 1,000 class folders: the
             file system's limit for that output, a file and its metadata
             per image);
  folders    `python -m imagenet_custom.export folders`;
  inception  `python -m imagenet_custom.export inception` (16 train and 4
             validation shards);
  folders@base, inception@base  with `--baseline CHECKOUT` (another
             checkout of this project, e.g. a `git worktree` of an earlier
             commit): the same two exports from that code, in the same
             rounds, to measure a change side by side.

Every contender ends with `os.sync()`, so the time includes putting its
output on the disk. Each run writes a new output folder, kept until the end
(`_measure` says why): the run needs free disk of about the images' bytes
times contenders times rounds, summed over the sizes. It prints, per size, the median wall time, MB/s of the
build's image bytes, the ratio to the copy, and the peak memory (PSS summed
over the process tree: the export's parent and its workers). With two sizes
or more it also prints each contender's time per extra image between the
smallest and the largest (the throughput without fixed costs: start-up,
workers' start, the class folders). A row times
`python -m imagenet_custom.export --help` (the start-up the exports pay:
Python and the package, which leaves TensorFlow unimported).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import sys
import tempfile

if __package__ in (None, ''):
  # Run as a script: make the checkout importable.
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks.build import measuring
from benchmarks.build import page_cache

_SEED = 0
_CLASSES = 20
_COPY = (
    'import os, shutil, sys\n'
    'out = sys.argv[1]\n'
    'os.makedirs(out)\n'
    'for path in sys.argv[2:]:\n'
    '  shutil.copyfile(path, os.path.join(out, os.path.basename(path)))\n'
    'os.sync()\n'
)
_COPY_TREE = (
    'import os, shutil, sys\n'
    'shutil.copytree(sys.argv[2], sys.argv[1])\n'
    'os.sync()\n'
)
_EXPORT = (
    'import os, runpy, sys\n'
    "sys.argv = ['imagenet_custom.export'] + sys.argv[1:]\n"
    "try:\n"
    "  runpy.run_module('imagenet_custom.export', run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    '  os.sync()\n'
)


def _build(work_dir: pathlib.Path, images: int) -> pathlib.Path:
  """Generates the fake download and builds `default`; returns the build folder."""
  import tensorflow_datasets as tfds

  from imagenet_custom.testing import fake_imagenet

  spec = fake_imagenet.realistic_spec(
      num_train=images, num_val=max(1, images // 20), num_classes=_CLASSES, seed=_SEED,
      layouts=(fake_imagenet.FOLDERS,),
  )
  fake_imagenet.write_fake_imagenet(work_dir / 'input', spec)
  builder = tfds.builder('imagenet_custom/default', data_dir=str(work_dir / 'data'))
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(
          manual_dir=str(work_dir / 'input' / fake_imagenet.FOLDERS)
      )
  )
  return pathlib.Path(builder.data_dir)


_CHECKOUT = pathlib.Path(__file__).resolve().parent.parent


def _commands(
    build: pathlib.Path, tree: pathlib.Path, out: pathlib.Path, num_workers: int,
    baseline: pathlib.Path | None = None,
) -> dict[str, tuple[list[str], pathlib.Path]]:
  """Each contender's command and the checkout it runs (its PYTHONPATH)."""
  shards = sorted(str(p) for p in build.glob('*.tfrecord-*'))
  export = [sys.executable, '-c', _EXPORT]
  common = [f'--data_dir={build}', f'--out={out}', f'--num_workers={num_workers}']
  exports = {
      'folders': [*export, 'folders', *common],
      'inception': [*export, 'inception', *common, '--train_shards=16', '--validation_shards=4',
                    '--train_splits=train,validation', '--validation_splits=test,test_blacklisted'],
  }
  commands = {
      'copy': ([sys.executable, '-c', _COPY, str(out), *shards], _CHECKOUT),
      'copy_tree': ([sys.executable, '-c', _COPY_TREE, str(out), str(tree)], _CHECKOUT),
  }
  for name, command in exports.items():
    commands[name] = (command, _CHECKOUT)
    if baseline is not None:
      commands[f'{name}@base'] = (command, baseline)
  return commands


def _image_bytes(build: pathlib.Path) -> tuple[int, int]:
  """Images and their bytes in the build (the JPEGs every contender moves)."""
  from imagenet_custom.tools.export import dataset as dataset_lib
  from imagenet_custom.tools.export import records

  built = dataset_lib.open_dataset(str(build))
  count = size = 0
  for shards in built.splits.values():
    for shard in shards:
      for data in records.iter_records(shard.path, built.file_format):
        count += 1
        size += len(records.decode_stored(data, shard.path).image)
  return count, size


def _measure(
    command: list[str], work_dir: pathlib.Path, inputs: list[pathlib.Path],
    checkout: pathlib.Path = _CHECKOUT,
) -> measuring.Measurement:
  """Runs one contender, its inputs evicted from the page cache; its output is kept.

  Outputs are deleted only at the end of the whole run: ext4 without a
  journal (as here) will not reuse an inode freed in the last minute and
  checks every such inode it passes when it creates a file
  (`recently_deleted` in fs/ext4/ialloc.c), so deleting one contender's
  6,000 files right before the next made that one's file creation 2-3x
  slower (a `perf` profile: 45% of the samples in `recently_deleted`).
  """
  page_cache.evict_from_page_cache(inputs)
  env = dict(os.environ, PYTHONPATH=str(checkout))
  measurement, code = measuring.measure_command(command, work_dir, env, work_dir / 'log.txt', [])
  if code:
    raise SystemExit(f'{command[3:5]} failed ({code}):\n{(work_dir / "log.txt").read_text()[-3000:]}')
  return measurement


def _run_size(
    work_dir: pathlib.Path, images: int, repeats: int, num_workers: int,
    baseline: pathlib.Path | None,
) -> tuple[list[str], int, dict[str, float]]:
  """Measures every contender on one size; returns its lines, images and median walls."""
  build = _build(work_dir, images)
  count, size = _image_bytes(build)
  tree = work_dir / 'tree'
  if not tree.exists():
    # The reference tree: a folders export of this build, made once.
    _measure(_commands(build, tree, tree, num_workers)['folders'][0], work_dir, [build])
    (tree / 'export_report.json').unlink()
  names = list(_commands(build, tree, work_dir, num_workers, baseline))
  runs: dict[str, list[measuring.Measurement]] = {name: [] for name in names}
  for round_ in range(repeats):
    for name in names:
      # A new output folder each time (see `_measure`).
      command, checkout = _commands(build, tree, work_dir / f'out.{round_}.{name}', num_workers, baseline)[name]
      inputs = [tree] if name == 'copy_tree' else [build]
      runs[name].append(_measure(command, work_dir, inputs, checkout))
  walls = {name: statistics.median(m.wall_s for m in measured) for name, measured in runs.items()}
  lines = [f'{count:,} images, {size / 1e6:,.1f} MB of JPEG bytes (median of {repeats}):']
  for name, measured in runs.items():
    wall = walls[name]
    peak = max(m.peak_pss for m in measured)
    lines.append(
        f'  {name:<14} {wall:7.2f} s {size / 1e6 / wall:8.1f} MB/s'
        f' {walls["copy"] / wall:6.2f}x copy {walls["copy_tree"] / wall:6.2f}x copy_tree'
        f'  peak PSS {peak / measuring.MB:7.0f} MB'
        f'  load {statistics.median(m.load1 for m in measured):.1f}'
    )
  return lines, count, walls


def _per_image(sizes: list[tuple[int, dict[str, float]]]) -> list[str]:
  """Each contender's ms per extra image between the smallest and largest size."""
  (small, low), (large, high) = sizes[0], sizes[-1]
  slope = {name: (high[name] - low[name]) / (large - small) * 1e3 for name in low}
  lines = [f'per extra image, {small:,} -> {large:,} images:']
  for name, ms in slope.items():
    lines.append(
        f'  {name:<14} {ms:7.3f} ms {slope["copy"] / ms:6.2f}x copy'
        f' {slope["copy_tree"] / ms:6.2f}x copy_tree'
    )
  return lines


def main() -> None:
  """Runs the benchmark and prints the table."""
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--images', default='500,2000', help='comma-separated sizes (train images)')
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--num_workers', type=int, default=0)
  parser.add_argument('--baseline', type=pathlib.Path, help='another checkout, measured beside this one')
  parser.add_argument('--work_dir', help='default: a temporary folder')
  parser.add_argument('--keep', action='store_true', help='keep the work dir')
  args = parser.parse_args()
  root = pathlib.Path(args.work_dir or tempfile.mkdtemp(prefix='export_benchmark_'))
  root.mkdir(parents=True, exist_ok=True)
  lines: list[str] = []
  sizes: list[tuple[int, dict[str, float]]] = []
  try:
    startup, _ = measuring.measure_command(
        [sys.executable, '-m', 'imagenet_custom.export', '--help'], root, dict(os.environ),
        root / 'help.txt', [],
    )
    for images in (int(n) for n in args.images.split(',')):
      work_dir = root / f'images_{images}'
      work_dir.mkdir(parents=True, exist_ok=True)
      size_lines, count, walls = _run_size(
          work_dir, images, args.repeats, args.num_workers, args.baseline and args.baseline.resolve()
      )
      lines += size_lines
      sizes.append((count, walls))
    if len(sizes) > 1:
      lines += _per_image(sizes)
  finally:
    if not args.keep:
      shutil.rmtree(root, ignore_errors=True)
  lines.append(f'start-up of python -m imagenet_custom.export --help: {startup.wall_s:.2f} s')
  print('\n'.join(lines))
  print(json.dumps({'cpu_count': os.cpu_count(), 'num_workers': args.num_workers}))


if __name__ == '__main__':
  main()
