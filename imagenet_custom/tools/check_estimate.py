"""The pre-flight check's estimates: the disk and the time a build needs.

Both come from a sample of the input's images, made into examples and
serialised as a build worker does (`build.generate`, `build.example_proto`),
and from the image counts per split.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import time
from typing import NamedTuple

from etils import epath

from imagenet_custom.build import example_proto
from imagenet_custom.build import generate
from imagenet_custom.build import parallel_build
from imagenet_custom.build import report as report_lib
from imagenet_custom.build import spill
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.layouts.base import ImageSource

# TFRecord framing of each record: length (8 bytes) and two CRCs (4 each).
# The sample's examples are serialised without boxes, which add 16 bytes a
# box (about 1 box for every 2 train images of ImageNet): left out.
RECORD_FRAMING_BYTES = 16
# A build's time per image per worker over the worker-side time the check
# measures (the rest is the parent's shuffling and writing, and the workers'
# traffic to it), and a build's fixed start-up time; both measured on a
# reference build: docs/performance.md, "The pre-flight check's estimate".
WORKER_TO_BUILD = 2.5
STARTUP_SECONDS = 2.4
# A disk read rate to express the input's size as a time (a SATA SSD or a
# fast disk array; the check does not measure the user's disk).
REFERENCE_READ_BYTES_PER_SECOND = 200e6


class Rate(NamedTuple):
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


class Estimate(NamedTuple):
  """The estimates, as the check reports them.

  Attributes:
    image_bytes: estimated bytes of all images.
    lines: the report's lines (disk, then time).
    problems: what stops a build (not enough disk).
  """

  image_bytes: int
  lines: list[str]
  problems: list[str]


def default_specs() -> tuple[example_proto.FieldSpec, ...]:
  """The default config's features, as a build's workers serialise them."""
  # TFDS is imported only here: the rest of the check runs without it.
  from imagenet_custom.tfds_glue import features  # pylint: disable=g-import-not-at-top
  from imagenet_custom.tfds_glue import tfds_patches  # pylint: disable=g-import-not-at-top

  return tfds_patches.field_specs(
      features.make_features(metadata.wnids(), real_labels=False)
  )


def measure_rate(sources: list[ImageSource]) -> Rate:
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
    return Rate(0.0, 0.0, 0.0, 0)
  return Rate(elapsed / measured, total / measured, spilled / measured, measured)


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


def format_bytes(size: float) -> str:
  """`1.2 GB`: decimal units, bytes as an integer."""
  for unit in ('bytes', 'KB', 'MB', 'GB', 'TB'):
    if size < 1000 or unit == 'TB':
      return f'{size:,.0f} {unit}' if unit == 'bytes' else f'{size:,.1f} {unit}'
    size /= 1000
  raise AssertionError('unreachable')


def format_duration(seconds: float) -> str:
  """`40 s`, `12 min`, `1.5 h`."""
  if seconds < 60:
    return f'{seconds:.0f} s'
  if seconds < 3600:
    return f'{seconds / 60:.0f} min'
  return f'{seconds / 3600:.1f} h'


def _disk(counts: dict[str, int], rate: Rate, data_dir: epath.PathLike | None) -> tuple[str, list[str]]:
  """The disk line and its problem, if the build does not fit."""
  per_example = rate.example_bytes + RECORD_FRAMING_BYTES
  shards = sum(counts.values()) * per_example
  largest_split = max(counts.values(), default=0) * rate.spill_bytes
  needed = shards + largest_split
  out = pathlib.Path(data_dir) if data_dir else _default_data_dir()
  free = shutil.disk_usage(_existing_parent(out)).free
  line = (
      f'disk at {out}: needs about {format_bytes(needed)} (shards'
      f' {format_bytes(shards)}, plus up to {format_bytes(largest_split)} of'
      ' temporary spill files while the largest split is written: images'
      ' stored unchanged stay in the input, config spill_images copies'
      ' them);'
      f' free {format_bytes(free)}'
  )
  if needed <= free:
    return line, []
  return line, [
      f'{out} has {format_bytes(free)} free; the build needs about'
      f' {format_bytes(needed)}. Free space or choose another --data_dir.'
  ]


def _time(total_images: int, rate: Rate, image_bytes: int, num_workers: int) -> str:
  """The time line."""
  if not rate.measured:
    return 'time: no readable image to measure the per-image rate on'
  workers = num_workers or os.cpu_count() or 1
  estimate = STARTUP_SECONDS + total_images * rate.seconds * WORKER_TO_BUILD / workers
  read_floor = image_bytes / REFERENCE_READ_BYTES_PER_SECOND
  return (
      f'time: about {format_duration(estimate)} for {total_images:,} images'
      f' on {workers} worker processes: {rate.seconds * 1000:.2f} ms per'
      f' image measured now on {rate.measured} images of this input (read,'
      ' checked or re-encoded and serialised as a build worker does, one'
      f' thread), times {WORKER_TO_BUILD} for the rest of the build'
      ' (measured on a reference build). If the input is not in the page'
      f' cache, reading its {format_bytes(image_bytes)} takes at'
      ' least what your disk needs for that (at'
      f' {format_bytes(REFERENCE_READ_BYTES_PER_SECOND)}/s:'
      f' {format_duration(read_floor)})'
  )


def estimate(
    counts: dict[str, int],
    sample: list[ImageSource],
    data_dir: epath.PathLike | None,
    num_workers: int,
) -> Estimate:
  """The disk and time a build of `counts` images needs, from a measured sample.

  Args:
    counts: image count by split.
    sample: images to measure the per-image rate and example size on.
    data_dir: where the build will write; TFDS's default when None.
    num_workers: the build's worker processes (0: one per core).

  Returns:
    The estimates.
  """
  rate = measure_rate(sample)
  image_bytes = int(rate.example_bytes * sum(counts.values()))
  disk_line, problems = _disk(counts, rate, data_dir)
  time_line = _time(sum(counts.values()), rate, image_bytes, num_workers)
  return Estimate(image_bytes, [disk_line, time_line], problems)
