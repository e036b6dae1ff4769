"""Seeded fake ImageNet downloads in three layouts, for tests and benchmarks.

One call writes the same images (byte for byte) as three complete `manual_dir`s:

* `archives/`: the official ILSVRC2012 tars (train tar of per-class tars, flat
  val tar, box tars, devkit with `meta.mat`);
* `kaggle/`: the Kaggle "ImageNet Object Localization Challenge" tree
  (`ILSVRC/Data/CLS-LOC/...`, `LOC_*.csv`, the 2015 devkit text files);
* `folders/`: extracted class folders (`train/<wnid>/`, `val/<wnid>/`) beside
  the official box and devkit archives.

Metadata always describes all 1,000 classes, with ILSVRC IDs given in a seeded
random order (never the sorted-WNID index); images exist for a few classes.
The `dummy` preset plants the quirks of real ImageNet (CMYK and grayscale
JPEGs, a PNG named `.JPEG`, broken box annotations, junk files); every planted
quirk and the expected normalised boxes are recorded in `manifest.json`.
The `realistic` preset writes real-sized JPEGs for benchmarks.

Usage:
  python -m imagenet_custom.testing.fake_imagenet --out DIR [--seed N]
      [--preset dummy|realistic] [--train-images N --val-images N --classes N]

Output is byte-identical for the same spec and seed (fixed tar metadata,
gzip mtime 0, sorted members, a fixed `meta.mat` header).

The work is done by the package's modules: `spec` (what to generate),
`planning`, `quirks` and `box_annotations` (every random choice), `rendering`
(image bytes), `image_writer`, `official_archives` and `kaggle_files` (the
layouts), `manifest`. This module writes a whole download and is the command line; it
also re-exports what other code uses.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import dataclasses
import os
import pathlib
import shutil
import sys
import time

from imagenet_custom.testing import eval_sets as eval_fakes
from imagenet_custom.testing import image_writer
from imagenet_custom.testing import kaggle_files
from imagenet_custom.testing import manifest as manifest_lib
from imagenet_custom.testing import names
from imagenet_custom.testing import official_archives
from imagenet_custom.testing import planning
from imagenet_custom.testing import rendering
from imagenet_custom.testing import spec as spec_lib
from imagenet_custom.testing import tars

# The public API, re-exported for `from imagenet_custom.testing import
# fake_imagenet` users.
ARCHIVES = names.ARCHIVES
KAGGLE = names.KAGGLE
FOLDERS = names.FOLDERS
ALL_LAYOUTS = names.ALL_LAYOUTS
MANIFEST_NAME = names.MANIFEST_NAME
FakeSpec = spec_lib.FakeSpec
dummy_spec = spec_lib.dummy_spec
realistic_spec = spec_lib.realistic_spec
plan_dataset = planning.plan_dataset
render_image = rendering.render_image
Manifest = manifest_lib.Manifest
ImageRecord = manifest_lib.ImageRecord
load_manifest = manifest_lib.load_manifest


def _prepare_out_dir(
    out_dir: pathlib.Path, layouts: Sequence[str], overwrite: bool
) -> None:
  """Makes sure generated paths do not exist, removing them if `overwrite`.

  Only the layout directories and the manifest are touched; other files
  (such as a README) are left alone.

  Args:
    out_dir: the output directory.
    layouts: the layouts about to be written.
    overwrite: remove existing output instead of refusing.

  Raises:
    FileExistsError: output exists and `overwrite` is False.
  """
  targets = [out_dir / name for name in ALL_LAYOUTS + (MANIFEST_NAME,)]
  existing = [path for path in targets if path.exists()]
  if existing and not overwrite:
    raise FileExistsError(
        f'{", ".join(map(str, existing))} already exist; pass overwrite=True'
        ' (--overwrite) to replace them'
    )
  for path in existing:
    if path.is_dir():
      shutil.rmtree(path)
    else:
      path.unlink()
  for layout in layouts:
    (out_dir / layout).mkdir(parents=True)


def write_fake_imagenet(
    out_dir: str | os.PathLike[str],
    spec: spec_lib.FakeSpec,
    workers: int | None = None,
    overwrite: bool = False,
    eval_sets: bool = False,
) -> manifest_lib.Manifest:
  """Writes a fake ImageNet download in the spec's layouts, plus its manifest.

  Images are rendered (in a process pool for large specs) and streamed to
  every layout one at a time; no layout is held in memory.

  Args:
    out_dir: where to write `archives/`, `kaggle/`, `folders/` and
      `manifest.json`.
    spec: what to generate.
    workers: rendering processes; by default 1 for small specs and one per
      CPU for large ones. The output does not depend on it.
    overwrite: replace existing layouts and manifest in `out_dir`.
    eval_sets: also write fakes of the evaluation sets' downloads into
      `out_dir/eval_sets/` (issue 17: `testing.eval_sets`).

  Returns:
    The manifest, also written to `out_dir/manifest.json`.
  """
  out = pathlib.Path(out_dir)
  plan = planning.plan_dataset(spec)
  _prepare_out_dir(out, spec.layouts, overwrite)
  images = plan.train + plan.val
  if workers is None:
    workers = rendering.default_workers(len(images))
  records = []
  with image_writer.ImageWriter(out, plan) as writer:
    for image, data in rendering.render_stream(images, workers):
      writer.write(image, data)
      records.append(manifest_lib.image_record(image, data))
  for layout in (ARCHIVES, FOLDERS):
    if layout in spec.layouts:
      official_archives.write_official_metadata(out / layout, plan)
  if KAGGLE in spec.layouts:
    kaggle_files.write_kaggle_metadata(out / KAGGLE, plan)
  for junk in plan.junk:
    tars.write_file(out / junk.layout / junk.path, junk.content)
  manifest = manifest_lib.build_manifest(plan, records)
  manifest_lib.save_manifest(manifest, out / MANIFEST_NAME)
  if eval_sets:  # Issue 17 hook.
    eval_fakes.write_eval_sets(out / eval_fakes.FOLDER, spec.seed)
  return manifest


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  """Parses the command line.

  Args:
    argv: arguments without the program name (None: `sys.argv[1:]`).

  Returns:
    The parsed arguments.
  """
  parser = argparse.ArgumentParser(
      prog='python -m imagenet_custom.testing.fake_imagenet',
      description='Writes a seeded fake ImageNet download in three layouts.',
  )
  parser.add_argument('--out', required=True, type=pathlib.Path)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument(
      '--preset', choices=('dummy', 'realistic'), default='dummy'
  )
  parser.add_argument(
      '--train-images', type=int,
      help=f'realistic only (default {spec_lib.DEFAULT_REALISTIC_TRAIN})',
  )
  parser.add_argument(
      '--val-images', type=int,
      help=f'realistic only (default {spec_lib.DEFAULT_REALISTIC_VAL})',
  )
  parser.add_argument(
      '--classes', type=int,
      help=f'realistic only (default {spec_lib.DEFAULT_REALISTIC_CLASSES})',
  )
  parser.add_argument(
      '--layouts', default=','.join(ALL_LAYOUTS),
      help='comma-separated subset of ' + ','.join(ALL_LAYOUTS),
  )
  parser.add_argument('--workers', type=int, help='rendering processes')
  parser.add_argument(
      '--eval-sets', action='store_true',
      help='also write fakes of the evaluation sets into --out/eval_sets',
  )
  parser.add_argument(
      '--overwrite', action='store_true',
      help='replace existing layouts and manifest in --out',
  )
  args = parser.parse_args(argv)
  sizes = (args.train_images, args.val_images, args.classes)
  if args.preset == 'dummy' and any(size is not None for size in sizes):
    parser.error(
        '--train-images/--val-images/--classes need --preset realistic'
    )
  return args


def _spec_from_args(args: argparse.Namespace) -> spec_lib.FakeSpec:
  """Builds the spec the command line asks for.

  Args:
    args: parsed arguments.

  Returns:
    The spec.
  """
  layouts = tuple(layout for layout in args.layouts.split(',') if layout)
  if args.preset == 'dummy':
    return dataclasses.replace(dummy_spec(args.seed), layouts=layouts)
  return realistic_spec(
      num_train=args.train_images or spec_lib.DEFAULT_REALISTIC_TRAIN,
      num_val=args.val_images or spec_lib.DEFAULT_REALISTIC_VAL,
      num_classes=args.classes or spec_lib.DEFAULT_REALISTIC_CLASSES,
      seed=args.seed,
      layouts=layouts,
  )


def _summary(
    manifest: manifest_lib.Manifest, out_dir: pathlib.Path, seconds: float
) -> str:
  """A one-paragraph report of what was written.

  Args:
    manifest: the manifest.
    out_dir: the output directory.
    seconds: how long it took.

  Returns:
    The text.
  """
  counts = manifest.counts
  return (
      f'Wrote {manifest.preset} fake ImageNet to {out_dir}'
      f' ({", ".join(manifest.layouts)}) in {seconds:.1f} s:'
      f' {counts["num_train_images"]} train images in'
      f' {counts["num_classes_with_images"]} classes,'
      f' {counts["num_val_images"]} val images'
      f' ({counts["num_val_blacklisted"]} blacklisted),'
      f' {counts["num_train_annotations"]} train and'
      f' {counts["num_val_annotations"]} val annotations.'
  )


def main(argv: Sequence[str] | None = None) -> int:
  """Command-line entry point.

  Args:
    argv: arguments without the program name.

  Returns:
    The exit status.
  """
  args = _parse_args(argv)
  spec = _spec_from_args(args)
  started = time.monotonic()
  manifest = write_fake_imagenet(
      args.out, spec, workers=args.workers, overwrite=args.overwrite,
      eval_sets=args.eval_sets,
  )
  print(_summary(manifest, args.out, time.monotonic() - started))
  return 0


if __name__ == '__main__':
  sys.exit(main())
