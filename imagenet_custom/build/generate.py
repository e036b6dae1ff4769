"""Per-image examples: one image checked, re-encoded if needed, with its boxes.

`make_example` turns one image (and its box annotation) into an example;
`class_outcomes` and `val_outcomes` do it for one train class or a chunk of
val images of a `plan.Plan`. The rules they apply live in their own modules:
the split rule in `ilsvrc/splits.py` (with subsets in `ilsvrc/selection.py`),
box normalisation in `ilsvrc/annotations.py`, image checks in
`ilsvrc/images.py`; val labels are resolved before, by `plan.make_plan`
(`ilsvrc/val_labels.py`).

Knows nothing of TFDS beyond the shape of an example (a dict of plain values),
and never imports TensorFlow or TFDS: worker processes run it. The same
functions run in the plain build (with a thread pool for per-image work) and
in Beam workers (one class or val chunk per work item).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator
import concurrent.futures
import functools
from typing import NamedTuple, TypeVar

from absl import logging
import numpy as np

from imagenet_custom.archives.base import RawFile
from imagenet_custom.archives.base import Span
from imagenet_custom.build import report as report_lib
from imagenet_custom.build.plan import ConfigFields
from imagenet_custom.build.plan import Example
from imagenet_custom.build.plan import make_plan
from imagenet_custom.build.plan import Options
from imagenet_custom.build.plan import parse_val_annotations
from imagenet_custom.build.plan import Plan
from imagenet_custom.build.report import Count
from imagenet_custom.build.report import Family
from imagenet_custom.build.report import skip_or_raise
from imagenet_custom.errors import BadFileError
from imagenet_custom.ilsvrc import annotations as annotations_lib
from imagenet_custom.ilsvrc import images
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import selection as selection_lib
from imagenet_custom.layouts.base import ImageSource

# The plan's names, imported from here by the build's other modules.
__all__ = [
    'VAL_TASK_SIZE', 'ConfigFields', 'Example', 'Options', 'Outcome', 'Plan',
    'class_outcomes', 'keyed_examples', 'make_example', 'make_plan', 'ordered_map',
    'parse_val_annotations', 'skip_or_raise', 'tally_outcome', 'val_outcomes',
]

# Val images per work item (a worker task of the plain build, a Beam work
# item): enough to amortise opening the val archive, small enough to spread
# 50,000 images over many workers.
VAL_TASK_SIZE = 500
_In = TypeVar('_In')
_Out = TypeVar('_Out')


class Outcome(NamedTuple):
  """The result of preparing one image.

  Attributes:
    key: the example's unique key (its file name).
    example: the example, or None if the image was skipped.
    counts: report counters to add.
    skipped: `(origin, reason)` of a file skipped with `skip_bad_files`:
      the image (then `example` is None) or its annotation (then the example
      has no boxes).
    span: where the example's image bytes lie, as they are, in a local file
      (the source's span when the image is stored unchanged), else None.
  """

  key: str
  example: Example | None
  counts: dict[str, int]
  skipped: tuple[str, str] | None
  span: Span | None = None


def ordered_map(
    function: Callable[[_In], _Out],
    items: Iterable[_In],
    pool: concurrent.futures.Executor | None,
    window: int,
) -> Iterator[_Out]:
  """`map` on a pool, in order, with at most `window` items in flight.

  Args:
    function: applied to each item.
    items: consumed lazily by the calling thread (tar headers are listed
      there; the bytes are read by `function`).
    pool: where `function` runs; None runs it in the calling thread.
    window: bound on items held in memory at once.

  Yields:
    `function(item)` for each item, in order. Exceptions propagate.
  """
  if pool is None:
    yield from map(function, items)
    return
  pending: collections.deque[concurrent.futures.Future[_Out]] = (
      collections.deque()
  )
  for item in items:
    pending.append(pool.submit(function, item))
    if len(pending) >= window:
      yield pending.popleft().result()
  while pending:
    yield pending.popleft().result()


def _boxes(annotation: annotations_lib.Annotation, counts: dict[str, int]) -> np.ndarray:
  normalized = annotations_lib.normalize_boxes(annotation)
  counts[Count.ANNOTATIONS_USED] = 1
  counts[Count.BOXES_KEPT] = len(normalized.boxes)
  counts[Count.BOXES_SWAPPED] = normalized.swapped
  counts[Count.BOXES_CLIPPED] = normalized.clipped
  counts[Count.BOXES_DROPPED] = normalized.dropped
  return np.array(normalized.boxes, dtype=np.float64).reshape(-1, 4)


def make_example(
    source: ImageSource,
    wnid: str,
    annotation: annotations_lib.Annotation | RawFile | None,
    skip_bad_files: bool,
    skipped_key: str,
    resize: images.ResizeOptions = images.ResizeOptions(),
    extra: Example | None = None,
) -> Outcome:
  """Checks one image and builds its example. Thread-safe, pure.

  Args:
    source: the image, read here (in the calling worker thread).
    wnid: its class.
    annotation: its box annotation, parsed or as XML bytes, if any.
    skip_bad_files: return a skip instead of raising on unreadable files.
    skipped_key: the report counter for a skipped image of this split.
    resize: the shorter side to shrink the image to (0: keep its size).
    extra: features added to the example as they are (`Plan.extra_fields`).

  Returns:
    The example and the counters it adds to the report.

  Raises:
    BadFileError: the image or annotation cannot be read, unless skipping.
  """
  counts: dict[str, int] = {}
  try:
    data = source.read()
    prepared = _prepared(data, source.origin, resize, counts)
  except BadFileError as e:
    return Outcome(source.name, None, {skipped_key: 1}, skip_or_raise(e, skip_bad_files))
  boxes = np.zeros((0, 4), np.float64)
  skipped = None
  if isinstance(annotation, RawFile):
    try:
      annotation = annotations_lib.parse_annotation(annotation.data, annotation.origin)
    except BadFileError as e:
      skipped = skip_or_raise(e, skip_bad_files)
      counts[Count.ANNOTATIONS_SKIPPED] = 1
      annotation = None
  if annotation is not None:
    boxes = _boxes(annotation, counts)
  example = {
      'image': prepared.data,
      'label': wnid,
      'file_name': source.name,
      'bboxes': boxes,
      **(extra or {}),
  }
  span = source.span if prepared.data is data else None
  return Outcome(source.name, example, counts, skipped, span)


def _prepared(
    data: bytes, origin: str, resize: images.ResizeOptions, counts: dict[str, int]
) -> images.PreparedImage:
  """An image's bytes checked, re-encoded or resized if needed; counts what was done.

  Raises:
    BadFileError: the image does not decode (nothing is counted then).
  """
  prepared = images.prepare_image(data, origin)
  original = prepared
  if resize.shorter_side:
    try:
      prepared = images.resize_to_shorter_side(
          prepared, resize.shorter_side, resize.jpeg_quality
      )
    except (OSError, SyntaxError, ValueError) as e:
      # The content check reads headers and the end marker only; damaged
      # data in between shows when the image is decoded to resize it.
      raise BadFileError(origin, f'image does not decode to resize ({e})') from None
  if prepared.fix is not images.Fix.KEPT:
    counts[Family.REENCODED.key(prepared.fix.value)] = 1
  if resize.shorter_side:
    counts[Count.RESIZE_KEPT if prepared is original else Count.RESIZED] = 1
  return prepared


def tally_outcome(outcome: Outcome, split: str, tally: report_lib.Tally) -> None:
  """Adds one outcome's counters to the report."""
  for key, amount in outcome.counts.items():
    if amount:
      tally.add(key, amount)
  if outcome.skipped is not None:
    tally.skip(*outcome.skipped)
  if outcome.example is not None:
    tally.add(Family.WRITTEN.key(split))


def keyed_examples(outcomes: Iterable[Outcome]) -> Iterator[tuple[str, Example]]:
  """`(key, example)` of outcomes of images written (`class_outcomes`, `val_outcomes`)."""
  for outcome in outcomes:
    assert outcome.example is not None
    yield outcome.key, outcome.example


def class_outcomes(
    plan: Plan,
    wnid: str,
    split: str,
    tally: report_lib.Tally,
    pool: concurrent.futures.Executor | None = None,
    window: int = 64,
) -> Iterator[Outcome]:
  """The `train` or `validation` examples of one class.

  The class's images are listed (headers only), split by keyed hash, and only
  the images of `split` are read. The `train` pass also accounts for the
  class: images read, junk, annotations without image.

  Args:
    plan: the build plan.
    wnid: the class.
    split: `train` or `validation`.
    tally: where counts go.
    pool: where per-image work runs (None: this thread).
    window: images in flight at most.

  Yields:
    The outcome of each image written (counted in `tally`, as are skips).
  """
  reader = plan.reader
  listing = reader.list_train_class(wnid)
  divided = selection_lib.split_class(
      wnid, listing.names, plan.options.validation_fraction,
      plan.options.split_seed, plan.selection, reader.class_origin(wnid),
  )
  validation = divided.validation
  wanted = validation if split == 'validation' else divided.train
  class_annotations = reader.train_annotations(wnid)
  if split == 'train':
    logging.info(
        'Reading %s: %d images (%d to validation), %d annotations',
        reader.class_origin(wnid), len(listing.names), len(validation),
        len(class_annotations),
    )
    tally.add(Count.TRAIN_READ, len(listing.names))
    if divided.left_out:
      tally.add(Count.TRAIN_NOT_IN_SUBSET, len(divided.left_out))
    tally.add(Family.SOURCE.key(f'{reader.layout} train'), len(listing.names))
    tally.add(Count.JUNK_IGNORED, len(listing.junk))
    stems = {metadata.file_stem(name) for name in listing.names}
    tally.add(
        Count.ANNOTATIONS_WITHOUT_IMAGE,
        len(class_annotations.keys() - stems),
    )
  work = functools.partial(_class_image_example, plan, wnid, class_annotations)
  for outcome in ordered_map(work, reader.read_train_class(wnid, wanted), pool, window):
    tally_outcome(outcome, split, tally)
    if outcome.example is not None:
      yield outcome


def _class_image_example(
    plan: Plan,
    wnid: str,
    class_annotations: dict[str, RawFile],
    source: ImageSource,
) -> Outcome:
  return make_example(
      source,
      wnid,
      class_annotations.get(metadata.file_stem(source.name)),
      plan.options.skip_bad_files,
      Count.TRAIN_SKIPPED,
      plan.options.resize,
      plan.extra_fields(source.name),
  )


def val_outcomes(
    plan: Plan,
    names: list[str],
    split: str,
    tally: report_lib.Tally,
    pool: concurrent.futures.Executor | None = None,
    window: int = 64,
) -> Iterator[Outcome]:
  """The `test` or `test_blacklisted` examples among the named val images.

  Args:
    plan: the build plan.
    names: val file names, all of `split` (see `Plan.val_split_names`).
    split: `test` or `test_blacklisted`.
    tally: where counts go.
    pool: where per-image work runs (None: this thread).
    window: images in flight at most.

  Yields:
    The outcome of each image written (counted in `tally`, as are skips).
  """
  work = functools.partial(_val_image_example, plan)
  for outcome in ordered_map(work, plan.reader.read_val(names), pool, window):
    tally_outcome(outcome, split, tally)
    if outcome.example is not None:
      yield outcome


def _val_image_example(plan: Plan, source: ImageSource) -> Outcome:
  number = metadata.val_index(source.name)
  assert number is not None  # Checked by `make_plan`.
  return make_example(
      source,
      plan.val_labels[number],
      plan.val_annotations.get(number),
      plan.options.skip_bad_files,
      Count.VAL_SKIPPED,
      plan.options.resize,
      plan.extra_fields(source.name),
  )
