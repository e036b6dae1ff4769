"""Pre-flight check: will a build start, and what will it need? Writes nothing.

Usage:
  python -m imagenet_custom.tools.check --manual_dir=DIR [--data_dir=OUT]

Reports, for the layout found in DIR:
  * the layout and the files it reads;
  * image counts per split, as the default config would write them;
  * the classes with no train or no val images;
  * files missing (named by the layout's reference lists or val labels but
    absent), unlisted (val images no label names; train images whose name
    is not `<wnid>_<n>` of their class folder), junk (ignored), and not
    images (their first bytes are neither JPEG nor PNG);
  * the official archives' sizes against `checksums.tsv`;
  * the disk the build needs against the free space at OUT;
  * an estimated build time, from a per-image rate measured here on a sample
    of the input.

It reads listings, tar and zip headers, the metadata files and the first
bytes of each image (in the official tars, with the headers: one read per
image); only the small timing sample is read whole. The face-blurred
archives are the exception: listing a .tar.gz means inflating it, so they
are indexed in memory (nothing is written) and inflated again, one class
at a time, for the first bytes.

Exit status 0 only when a build with the default config would start and run:
the layout and val labels are complete, no file is not an image, and OUT has
the space. Size mismatches of the official archives are warnings, as in a
build.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection, Iterable, Sequence
import concurrent.futures
import dataclasses
import functools
import os
import pathlib
import shutil
import sys
import time
from typing import NamedTuple, TypeVar

from etils import epath

from imagenet_custom import layouts
from imagenet_custom.build import example_proto
from imagenet_custom.build import generate
from imagenet_custom.build import parallel_build
from imagenet_custom.build import report as report_lib
from imagenet_custom.build import spill
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import checksums
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import selection as selection_lib
from imagenet_custom.ilsvrc import splits
from imagenet_custom.ilsvrc import val_labels
from imagenet_custom.layouts.base import ImageSource
from imagenet_custom.layouts.base import Listing
from imagenet_custom.layouts.base import Reader

# First bytes of the image formats a build accepts (PNG is re-encoded).
JPEG_MAGIC = b'\xff\xd8\xff'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
HEAD_BYTES = 8
# Images read whole and prepared to measure the per-image rate.
RATE_SAMPLE = 32
# TFRecord framing of each record: length (8 bytes) and two CRCs (4 each).
# The sample's examples are serialised without boxes, which add 16 bytes a
# box (about 1 box for every 2 train images of ImageNet): left out.
RECORD_FRAMING_BYTES = 16
# How many names a line of the report lists at most.
MAX_LISTED = 5
_HEAD_THREADS = 16
# From the per-image time of the worker-side work to the build's: measured on
# 10,000 realistic fake images (1.1 GB; `python -m
# imagenet_custom.testing.fake_imagenet --preset realistic --train-images 9000
# --val-images 1000`), 2 cores, input in the page cache: the check measured
# 0.2 ms per image; a build took 2.5 s beyond the 2.4 s a build of the
# 65-image dummy data takes, for the folders and the archives layouts alike:
# 0.5 ms per image per worker, 2.5 times the worker-side time (the rest is
# the parent's shuffling and writing, and the workers' traffic to it).
WORKER_TO_BUILD = 2.5
STARTUP_SECONDS = 2.4
# A disk read rate to express the input's size as a time (a SATA SSD or a
# fast disk array; the check does not measure the user's disk).
REFERENCE_READ_BYTES_PER_SECOND = 200e6
_T = TypeVar('_T')


@dataclasses.dataclass
class CheckResult:
  """What the check found.

  Attributes:
    layout: the layout found, or None.
    counts: image count by split (train, validation, test, test_blacklisted).
    classes_without_train: WNIDs with no train images (none if eval-only).
    classes_without_val: WNIDs with no val images.
    missing: image names the input should hold but does not.
    unlisted: files no list or label names, as `origin`.
    not_images: files whose first bytes are no image, as `origin`.
    reencoded: images in another format that a build re-encodes (PNG).
    junk: junk entries ignored.
    image_bytes: estimated bytes of all images.
    problems: what stops a build; empty when one would start.
    warnings: what a build warns about.
    lines: the report, line by line.
  """

  layout: str | None = None
  counts: dict[str, int] = dataclasses.field(default_factory=dict)
  classes_without_train: list[str] = dataclasses.field(default_factory=list)
  classes_without_val: list[str] = dataclasses.field(default_factory=list)
  missing: list[str] = dataclasses.field(default_factory=list)
  unlisted: list[str] = dataclasses.field(default_factory=list)
  not_images: list[str] = dataclasses.field(default_factory=list)
  reencoded: list[str] = dataclasses.field(default_factory=list)
  junk: int = 0
  image_bytes: int = 0
  problems: list[str] = dataclasses.field(default_factory=list)
  warnings: list[str] = dataclasses.field(default_factory=list)
  lines: list[str] = dataclasses.field(default_factory=list)

  def say(self, line: str) -> None:
    """Adds a line to the report."""
    self.lines.append(line)

  @property
  def exit_code(self) -> int:
    """0 when a build would start, else 1."""
    return 1 if self.problems else 0


def _listed(names: list[str]) -> str:
  shown = ', '.join(names[:MAX_LISTED])
  return shown + (f', ... ({len(names):,} in all)' if len(names) > MAX_LISTED else '')


def _kind(head: bytes) -> str:
  """`jpeg`, `png` or `other`, from a file's first bytes."""
  if head.startswith(JPEG_MAGIC):
    return 'jpeg'
  if head.startswith(PNG_MAGIC):
    return 'png'
  return 'other'


def _head(source: ImageSource) -> bytes:
  if source.head is not None:
    return source.head(HEAD_BYTES)
  return source.read()[:HEAD_BYTES]


def _classify(kind: str, origin: str, result: CheckResult) -> None:
  if kind == 'png':
    result.reencoded.append(origin)
  elif kind == 'other':
    result.not_images.append(origin)


def _check_images(
    names: Sequence[str],
    heads: dict[str, bytes] | None,
    read: Callable[[Collection[str]], Iterable[ImageSource]],
    keep: Collection[str],
    result: CheckResult,
) -> list[ImageSource]:
  """Checks the first bytes of some images; returns those named in `keep`.

  Args:
    names: the images.
    heads: their first bytes when the listing read them (then only the
      images that are not JPEG are read, for their origin), else None: each
      image's head is read, one image at a time.
    read: the reader's `read_train_class` (for one class) or `read_val`.
    keep: images to return (the timing sample).
    result: where findings go.

  Returns:
    The images named in `keep`.
  """
  if heads is not None:
    odd = {name: kind for name in names if (kind := _kind(heads[name])) != 'jpeg'}
    wanted = set(odd) | set(keep)
    sources = read(wanted) if wanted else ()
    kept = []
    for source in sources:
      if source.name in odd:
        _classify(odd[source.name], source.origin, result)
      if source.name in keep:
        kept.append(source)
    return kept
  kept = []
  for source in read(names):  # One at a time: never a whole class in memory.
    _classify(_kind(_head(source)), source.origin, result)
    if source.name in keep:
      kept.append(source)
  return kept


def _scan_class(
    reader: Reader, wnid: str, sampled: int
) -> tuple[Listing, CheckResult, list[ImageSource]]:
  """Lists a class and checks its images' first bytes.

  Args:
    reader: the layout.
    wnid: the class.
    sampled: how many of its images the timing sample takes.

  Returns:
    Its listing, the header check's findings, and its images for the timing
    sample.
  """
  listing = reader.list_train_class(wnid)
  keep = set(_spread(listing.names, sampled)) if sampled else set()
  found = CheckResult()
  sample = _check_images(
      listing.names, reader.train_heads(wnid),
      functools.partial(reader.read_train_class, wnid), keep, found,
  )
  return listing, found, sample


class _Rate(NamedTuple):
  """What a sample of images measured.

  Attributes:
    seconds: per image, one thread.
    example_bytes: mean serialised example.
    spill_bytes: mean bytes the build spills per image (a few hundred for an
      image left in the input, the whole example otherwise).
    measured: images measured (bad ones are left out: the header check
      reports them).
  """

  seconds: float
  example_bytes: float
  spill_bytes: float
  measured: int


def _measure_rate(sources: list[ImageSource]) -> _Rate:
  """Makes, serialises and sizes the examples of a sample as a build worker does.

  Args:
    sources: the sample.

  Returns:
    The figures.
  """
  specs = default_specs()
  start = time.perf_counter()
  total = spilled = measured = 0
  for source in sources:
    outcome = generate.make_example(
        source, metadata.wnids()[0], None, True, report_lib.Count.TRAIN_SKIPPED
    )
    if outcome.example is None:
      continue
    record = parallel_build.spill_record(specs, outcome)
    total += len(example_proto.serialize(specs, outcome.example))
    spilled += spill.spilled_size(record)
    measured += 1
  elapsed = time.perf_counter() - start
  if not measured:
    return _Rate(0.0, 0.0, 0.0, 0)
  return _Rate(elapsed / measured, total / measured, spilled / measured, measured)


def default_specs() -> tuple[example_proto.FieldSpec, ...]:
  """The default config's features, as a build's workers serialise them."""
  # TFDS is imported only here: the rest of the check runs without it.
  from imagenet_custom.tfds_glue import features  # pylint: disable=g-import-not-at-top
  from imagenet_custom.tfds_glue import tfds_patches  # pylint: disable=g-import-not-at-top

  return tfds_patches.field_specs(
      features.make_features(metadata.wnids(), real_labels=False)
  )


def _spread(items: Sequence[_T], count: int) -> list[_T]:
  """`count` items evenly spread over `items` (all when there are fewer)."""
  if len(items) <= count:
    return list(items)
  step = len(items) / count
  return [items[int(i * step)] for i in range(count)]


def _existing_parent(path: pathlib.Path) -> pathlib.Path:
  path = path.absolute()
  while not path.exists():
    path = path.parent
  return path


def _default_data_dir() -> pathlib.Path:
  # TFDS's default, read without importing TensorFlow.
  return pathlib.Path(
      os.environ.get('TFDS_DATA_DIR', '~/tensorflow_datasets')
  ).expanduser()


def _format_bytes(size: float) -> str:
  for unit in ('bytes', 'KB', 'MB', 'GB', 'TB'):
    if size < 1000 or unit == 'TB':
      return f'{size:,.0f} {unit}' if unit == 'bytes' else f'{size:,.1f} {unit}'
    size /= 1000
  raise AssertionError('unreachable')


def _format_duration(seconds: float) -> str:
  if seconds < 60:
    return f'{seconds:.0f} s'
  if seconds < 3600:
    return f'{seconds / 60:.0f} min'
  return f'{seconds / 3600:.1f} h'


def _check_archives(reader: Reader, result: CheckResult) -> None:
  expected = checksums.expected_archives()
  for name, path in sorted(reader.archives().items()):
    size = path.stat().length
    want = expected.get(name)
    if want is None:
      result.say(f'  {name}: {size:,} bytes (not in checksums.tsv)')
    elif size == want.size:
      result.say(f'  {name}: {size:,} bytes, as published')
    else:
      result.say(
          f'  {name}: {size:,} bytes, published {want.size:,}: MISMATCH'
      )
  result.warnings.extend(checksums.check_sizes(reader.archives()))


def _val_numbers_labelled(reader: Reader) -> set[int]:
  """Val numbers named by the label files (not by the images' own folders)."""
  labelled: set[int] = set()
  for source in reader.val_metadata().label_sources:
    if source.kind is not val_labels.LabelKind.CLASS_FOLDERS:
      labelled.update(source.labels)
  return labelled


def run_check(
    manual_dir: epath.PathLike,
    data_dir: epath.PathLike | None = None,
    num_workers: int = 0,
) -> CheckResult:
  """Checks a manual dir as a build would, reading headers and listings.

  Args:
    manual_dir: the folder holding the ImageNet download.
    data_dir: where the build will write; TFDS's default when None.
    num_workers: the build's worker processes (0: one per core), for the
      time estimate.

  Returns:
    The findings and the report's lines.
  """
  result = CheckResult()
  root = epath.Path(manual_dir)
  result.say(f'imagenet_custom pre-flight check of {root} (nothing is written)')
  try:
    reader = layouts.find_reader(root)
  except InputError as e:
    result.problems.append(str(e).split('\n\n', 1)[0])
    result.say(f'layout: none usable. {result.problems[-1]}')
    return _finish(result)
  result.layout = reader.layout
  result.say(f'layout: {reader.layout}' + (' (face-blurred)' if reader.face_blurred else ''))
  for role, path in reader.sources().described():
    result.say(f'  {role}: {path}')
  result.say('archives against checksums.tsv:')
  _check_archives(reader, result)
  if not reader.archives():
    result.say('  (no official archive in this layout)')

  tally = report_lib.BuildReport(layout=reader.layout)
  val = reader.list_val()
  result.junk += len(val.junk)
  found_val = set()
  for name in val.names:
    number = metadata.val_index(name)
    if number is None:
      result.unlisted.append(f'{name} (not a val image name)')
    else:
      found_val.add(number)
  plan = None
  try:
    labelled = _val_numbers_labelled(reader)
    # Val labels and blacklist are checked as a build checks them.
    plan = generate.make_plan(reader, generate.Options(), tally)
  except InputError as e:
    result.problems.append(str(e))
    labelled = set()
  result.missing.extend(
      f'ILSVRC2012_val_{n:08d}.JPEG' for n in sorted(labelled - found_val)
  )
  for name in reader.missing_images():
    if name not in result.missing:
      result.missing.append(name)

  train_sample: list[ImageSource] = []
  class_counts: dict[str, tuple[int, int]] = {}
  train_built = reader.sources().train_images is not None
  if train_built:
    classes = reader.train_classes()
    result.junk += len(classes.junk)
    # The timing sample: images of classes spread over the listing.
    sampled = set(_spread(classes.names, RATE_SAMPLE // 2))
    per_class = -(-(RATE_SAMPLE // 2) // max(len(sampled), 1))
    with concurrent.futures.ThreadPoolExecutor(_HEAD_THREADS) as pool:
      scans = dict(zip(
          classes.names,
          pool.map(
              lambda wnid: _scan_class(reader, wnid, per_class if wnid in sampled else 0),
              classes.names,
          ),
          strict=True,
      ))
    for wnid, (listing, found, sample) in scans.items():
      result.junk += len(listing.junk)
      result.not_images.extend(found.not_images)
      result.reencoded.extend(found.reencoded)
      divided = selection_lib.split_class(
          wnid, listing.names, splits.DEFAULT_VALIDATION_FRACTION,
          splits.DEFAULT_SPLIT_SEED, selection_lib.Selection(),
          reader.class_origin(wnid),
      )
      class_counts[wnid] = (len(divided.train), len(divided.validation))
      for name in listing.names:
        if not metadata.file_stem(name).startswith(f'{wnid}_'):
          result.unlisted.append(f'{reader.class_origin(wnid)}/{name} (not {wnid}_<n>)')
      train_sample.extend(sample)
  val_sample = _check_val(reader, val.names, result)

  result.counts = {
      'train': sum(t for t, _ in class_counts.values()),
      'validation': sum(v for _, v in class_counts.values()),
  }
  for split in splits.VAL_SPLITS:
    result.counts[split] = len(plan.val_split_names(split)) if plan else 0
  result.say(
      'images per split (default config): '
      + ', '.join(f'{split} {n:,}' for split, n in result.counts.items())
      + f'; total {sum(result.counts.values()):,}'
  )
  if not train_built:
    result.say('  evaluation-only: no train images, so train and validation would not be built')
  with_train = {w for w, (t, v) in class_counts.items() if t + v}
  with_val = set(plan.val_labels.values()) if plan else set()
  if train_built:
    result.classes_without_train = [w for w in metadata.wnids() if w not in with_train]
  result.classes_without_val = [w for w in metadata.wnids() if w not in with_val]
  result.say(
      f'classes: {len(with_train):,} of {metadata.NUM_CLASSES:,} have train images,'
      f' {len(with_val):,} have val images'
  )
  if result.classes_without_train:
    result.say(
        f'  no train images: {len(result.classes_without_train):,}'
        f' ({_listed(result.classes_without_train)})'
    )
  if result.classes_without_val:
    result.say(
        f'  no val images: {len(result.classes_without_val):,}'
        f' ({_listed(result.classes_without_val)})'
    )

  result.not_images.sort()
  result.reencoded.sort()
  result.say('files:')
  result.say(f'  missing: {len(result.missing):,}' + (f' ({_listed(result.missing)})' if result.missing else ''))
  result.say(f'  unlisted: {len(result.unlisted):,}' + (f' ({_listed(result.unlisted)})' if result.unlisted else ''))
  result.say(f'  not images: {len(result.not_images):,}' + (f' ({_listed(result.not_images)})' if result.not_images else ''))
  result.say(f'  PNG, re-encoded by the build: {len(result.reencoded):,}')
  result.say(f'  junk, ignored: {result.junk:,}')
  if result.not_images:
    result.problems.append(
        f'{len(result.not_images):,} files are not images'
        f' ({_listed(result.not_images)}): a build stops at the first. Replace'
        ' them with good copies, or build with config skip_bad_files=True.'
    )
  if result.unlisted and plan is not None:
    result.warnings.append(f'{len(result.unlisted):,} files are unlisted; see above.')

  total_images = sum(result.counts.values())
  seconds_per_image, mean_bytes, spill_bytes, measured = _measure_rate(
      _spread(train_sample, RATE_SAMPLE // 2) + val_sample
  )
  result.image_bytes = int(mean_bytes * total_images)
  per_example = mean_bytes + RECORD_FRAMING_BYTES
  shards = total_images * per_example
  largest_split = max(result.counts.values(), default=0) * spill_bytes
  needed = shards + largest_split
  out = pathlib.Path(data_dir) if data_dir else _default_data_dir()
  free = shutil.disk_usage(_existing_parent(out)).free
  result.say(
      f'disk at {out}: needs about {_format_bytes(needed)} (shards'
      f' {_format_bytes(shards)}, plus up to {_format_bytes(largest_split)} of'
      ' temporary spill files while the largest split is written: images'
      ' stored unchanged stay in the input, config spill_images copies'
      ' them);'
      f' free {_format_bytes(free)}'
  )
  if needed > free:
    result.problems.append(
        f'{out} has {_format_bytes(free)} free; the build needs about'
        f' {_format_bytes(needed)}. Free space or choose another --data_dir.'
    )
  workers = num_workers or os.cpu_count() or 1
  if measured:
    estimate = (
        STARTUP_SECONDS
        + total_images * seconds_per_image * WORKER_TO_BUILD / workers
    )
    read_floor = result.image_bytes / REFERENCE_READ_BYTES_PER_SECOND
    result.say(
        f'time: about {_format_duration(estimate)} for {total_images:,} images'
        f' on {workers} worker processes: {seconds_per_image * 1000:.2f} ms per'
        f' image measured now on {measured} images of this input (read,'
        ' checked or re-encoded and serialised as a build worker does, one'
        f' thread), times {WORKER_TO_BUILD} for the rest of the build'
        ' (measured on a reference build). If the input is not in the page'
        f' cache, reading its {_format_bytes(result.image_bytes)} takes at'
        ' least what your disk needs for that (at'
        f' {_format_bytes(REFERENCE_READ_BYTES_PER_SECOND)}/s:'
        f' {_format_duration(read_floor)})'
    )
  else:
    result.say('time: no readable image to measure the per-image rate on')
  return _finish(result)


def _check_val(reader: Reader, names: Sequence[str], result: CheckResult) -> list[ImageSource]:
  """Checks the val images' first bytes; returns the val timing sample.

  Without heads from the listing, threads read stretches of the listing
  (in storage order: a stretch of an archive is read in one pass).
  """
  keep = set(_spread(names, RATE_SAMPLE // 2))
  heads = reader.val_heads()
  if heads is not None:
    return _check_images(names, heads, reader.read_val, keep, result)
  size = -(-len(names) // _HEAD_THREADS) or 1
  stretches = [names[start : start + size] for start in range(0, len(names), size)]
  parts = [CheckResult() for _ in stretches]
  with concurrent.futures.ThreadPoolExecutor(_HEAD_THREADS) as pool:
    samples = list(pool.map(
        lambda stretch, part: _check_images(stretch, None, reader.read_val, keep, part),
        stretches, parts,
    ))
  for part in parts:
    result.not_images.extend(part.not_images)
    result.reencoded.extend(part.reencoded)
  return [source for sample in samples for source in sample]


def _finish(result: CheckResult) -> CheckResult:
  for warning in result.warnings:
    result.say(f'WARNING: {warning}')
  if result.problems:
    result.say('result: a build would NOT start or would stop:')
    result.lines.extend(f'  - {problem}' for problem in result.problems)
  else:
    result.say('result: a build would start (exit status 0)')
  return result


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      prog='python -m imagenet_custom.tools.check',
      description=__doc__.split('\n', 1)[0],
  )
  parser.add_argument('--manual_dir', required=True, help='the ImageNet download')
  parser.add_argument(
      '--data_dir', default=None,
      help='where the build will write (default: TFDS_DATA_DIR or ~/tensorflow_datasets)',
  )
  parser.add_argument(
      '--num_workers', type=int, default=0,
      help='worker processes of the build, for the time estimate (0: one per core)',
  )
  args = parser.parse_args(argv)
  result = run_check(args.manual_dir, args.data_dir, args.num_workers)
  print('\n'.join(result.lines))
  return result.exit_code


if __name__ == '__main__':
  sys.exit(main())
