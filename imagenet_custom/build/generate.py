"""From a reader to examples: the build plan, split selection, boxes, image checks.

The rules it applies live in their own modules: val labels in `val_labels.py`,
the split rule in `splits.py`, box normalisation in `annotations.py`, image
checks in `images.py`.

Knows nothing of TFDS beyond the shape of an example (a dict of plain values),
and never imports TensorFlow or TFDS: worker processes unpickle its `Options`
and `Plan`.
The same functions run in the plain build (with a thread pool for per-image
work) and in Beam workers (one class or val chunk per work item).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator
import concurrent.futures
import dataclasses
import functools
from typing import Any, NamedTuple, TypeVar

from absl import logging
import numpy as np

from imagenet_custom.archives.base import RawFile
from imagenet_custom.archives.base import Span
from imagenet_custom.build import report as report_lib
from imagenet_custom.errors import BadFileError
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import annotations as annotations_lib
from imagenet_custom.ilsvrc import images
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import real_labels as real_labels_lib
from imagenet_custom.ilsvrc import selection as selection_lib
from imagenet_custom.ilsvrc import splits
from imagenet_custom.ilsvrc import val_labels as val_labels_lib
from imagenet_custom.layouts.base import ImageSource
from imagenet_custom.layouts.base import Reader

Example = dict[str, Any]
_In = TypeVar('_In')
_Out = TypeVar('_Out')


@dataclasses.dataclass(frozen=True)
class Options:
  """How examples are made: the builder config's fields that generation uses.

  Plain and picklable (no TFDS): worker processes receive it. The defaults
  here are the builder config's defaults.

  Attributes:
    validation_fraction: share of each class's train images for validation.
    split_seed: key of the hash that picks them.
    skip_bad_files: skip (and report) unreadable images and annotations
      instead of stopping the build.
    resize: shrink the images to a shorter side (default: keep them).
  """

  validation_fraction: float = splits.DEFAULT_VALIDATION_FRACTION
  split_seed: str = splits.DEFAULT_SPLIT_SEED
  skip_bad_files: bool = False
  resize: images.ResizeOptions = images.ResizeOptions()

  @classmethod
  def from_config(cls, config: Any) -> Options:
    """The options of a builder config (any object with these fields).

    Args:
      config: e.g. an `ImagenetCustomConfig`.

    Returns:
      The options, each field copied by name.
    """
    return cls(**{
        field.name: getattr(config, field.name)
        for field in dataclasses.fields(cls)
        if hasattr(config, field.name)
    })


@dataclasses.dataclass(frozen=True)
class Plan:
  """What every split's generation needs, computed once before it starts.

  Attributes:
    reader: the input layout.
    options: the builder config's options.
    val_labels: WNID by val image number, agreed by every source.
    val_names: val image file names by val number, in the reader's listing order.
    blacklist: blacklisted val image numbers (empty without a devkit).
    val_annotations: parsed val annotations by val number.
    class_names: human-readable name of each of the 1,000 WNIDs.
    selection: the classes and train images kept (default: all).
    train_built: False in an evaluation-only build (no train images).
    real_labels: the parsed `real.json` (labels of val number n at n - 1), or
      None when the build has no `real_label` feature.
    eval_splits: issue 17 hook: the evaluation-set splits, each a tuple of
      chunks with `outcomes(options, tally, pool)` and `describe()`
      (`eval_examples.EvalChunk`); empty without evaluation sets.
  """

  reader: Reader
  options: Options
  val_labels: dict[int, str]
  val_names: dict[int, str]
  blacklist: frozenset[int]
  val_annotations: dict[int, annotations_lib.Annotation]
  class_names: dict[str, str]
  selection: selection_lib.Selection = selection_lib.Selection()
  train_built: bool = True
  real_labels: tuple[tuple[int, ...], ...] | None = None
  eval_splits: dict[str, tuple[Any, ...]] = dataclasses.field(default_factory=dict)  # Issue 17 hook.

  def extra_fields(self, file_name: str) -> Example:
    """The config-dependent features of one example (e.g. `real_label`).

    Args:
      file_name: the example's file name.

    Returns:
      Feature name to value; empty for the default features only.
    """
    if self.real_labels is None:
      return {}
    return {
        real_labels_lib.FEATURE: real_labels_lib.real_label_wnids(
            self.real_labels, file_name, self.selection.label_names()
        )
    }

  def val_split_names(self, split: str) -> list[str]:
    """The val file names that go to `split` (`test` or `test_blacklisted`).

    In the reader's listing order, which is its storage order: chunks of this
    list are stretches of an archive (the order examples are written in does
    not depend on it: TFDS orders them by key).
    """
    if split not in splits.VAL_SPLITS:
      raise ValueError(f'{split!r} is not a split of val images ({splits.VAL_SPLITS})')
    return [
        name
        for number, name in self.val_names.items()
        if splits.val_split_of(number, self.blacklist) == split
        and self.selection.keeps_class(self.val_labels[number])
    ]

  def train_wnids(self) -> list[str]:
    """The classes whose train images are built, in storage order."""
    if not self.train_built:
      return []
    return [
        wnid for wnid in self.reader.train_classes().names
        if self.selection.keeps_class(wnid)
    ]


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
  counts[report_lib.ANNOTATIONS_USED] = 1
  counts[report_lib.BOXES_KEPT] = len(normalized.boxes)
  counts[report_lib.BOXES_SWAPPED] = normalized.swapped
  counts[report_lib.BOXES_CLIPPED] = normalized.clipped
  counts[report_lib.BOXES_DROPPED] = normalized.dropped
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
    prepared = images.prepare_image(data, source.origin)
    if resize.shorter_side:
      original = prepared
      try:
        prepared = images.resize_to_shorter_side(
            prepared, resize.shorter_side, resize.jpeg_quality
        )
      except (OSError, SyntaxError, ValueError) as e:
        # The content check reads headers and the end marker only; damaged
        # data in between shows when the image is decoded to resize it.
        raise BadFileError(
            source.origin, f'image does not decode to resize ({e})'
        ) from None
  except BadFileError as e:
    if not skip_bad_files:
      raise
    return Outcome(source.name, None, {skipped_key: 1}, (e.origin, e.problem))
  if prepared.fix is not images.Fix.KEPT:
    counts[report_lib.REENCODED_PREFIX + prepared.fix.value] = 1
  if resize.shorter_side:
    counts[report_lib.RESIZE_KEPT if prepared is original else report_lib.RESIZED] = 1
  boxes = np.zeros((0, 4), np.float64)
  skipped = None
  if isinstance(annotation, RawFile):
    try:
      annotation = annotations_lib.parse_annotation(annotation.data, annotation.origin)
    except BadFileError as e:
      if not skip_bad_files:
        raise
      counts[report_lib.ANNOTATIONS_SKIPPED] = 1
      skipped = (e.origin, e.problem)
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


def tally_outcome(outcome: Outcome, split: str, tally: report_lib.Tally) -> None:
  """Adds one outcome's counters to the report."""
  for key, amount in outcome.counts.items():
    if amount:
      tally.add(key, amount)
  if outcome.skipped is not None:
    tally.skip(*outcome.skipped)
  if outcome.example is not None:
    tally.add(report_lib.WRITTEN_PREFIX + split)


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
    tally.add(report_lib.TRAIN_READ, len(listing.names))
    if divided.left_out:
      tally.add(report_lib.TRAIN_NOT_IN_SUBSET, len(divided.left_out))
    tally.add(report_lib.SOURCE_PREFIX + f'{reader.layout} train', len(listing.names))
    tally.add(report_lib.JUNK_IGNORED, len(listing.junk))
    stems = {metadata.file_stem(name) for name in listing.names}
    tally.add(
        report_lib.ANNOTATIONS_WITHOUT_IMAGE,
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
      report_lib.TRAIN_SKIPPED,
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
      report_lib.VAL_SKIPPED,
      plan.options.resize,
      plan.extra_fields(source.name),
  )


def parse_val_annotations(
    reader: Reader, skip_bad_files: bool, tally: report_lib.Tally
) -> dict[int, annotations_lib.Annotation]:
  """Parses the val box annotations of a layout.

  Args:
    reader: the input layout.
    skip_bad_files: skip (count and list) unreadable XMLs instead of raising.
    tally: where skipped annotations are counted.

  Returns:
    The parsed annotations by val image number.

  Raises:
    BadFileError: an annotation cannot be read, unless skipping.
  """
  parsed = {}
  for number, raw in reader.val_annotations().items():
    try:
      parsed[number] = annotations_lib.parse_annotation(raw.data, raw.origin)
    except BadFileError as e:
      if not skip_bad_files:
        raise
      tally.add(report_lib.ANNOTATIONS_SKIPPED)
      tally.skip(e.origin, e.problem)
  return parsed


def make_plan(
    reader: Reader,
    options: Options,
    tally: report_lib.Tally,
    selection: selection_lib.Selection = selection_lib.Selection(),
    real_labels: tuple[tuple[int, ...], ...] | None = None,
) -> Plan:
  """Reads val metadata and checks it before any image is read.

  Args:
    reader: the input layout.
    options: the builder config's options.
    tally: where driver-side counts go (val images listed, junk, orphans).
    selection: the classes and train images kept.
    real_labels: the parsed `real.json`, or None for no `real_label` feature.

  Returns:
    The plan every split's generation uses.

  Raises:
    InputError: val images misnamed or unlabelled, label sources disagree.
  """
  val_meta = reader.val_metadata()
  val_parsed = parse_val_annotations(
      reader, options.skip_bad_files, tally
  )
  listing = reader.list_val()
  val_names = {}
  for name in listing.names:
    number = metadata.val_index(name)
    if number is None:
      raise InputError(
          f'{reader.sources().get("val images")}: {name!r} is not a val image'
          ' name (ILSVRC2012_val_NNNNNNNN.JPEG), so its label cannot be'
          ' found. Remove it or restore the original name.'
      )
    val_names[number] = name
  sources = list(val_meta.label_sources)
  if val_parsed:
    sources.append(val_labels_lib.xml_label_source(val_parsed))
  val_labels = val_labels_lib.resolve_val_labels(val_names, sources)
  blacklist = frozenset(val_meta.blacklist or ()) & val_names.keys()
  tally.add(report_lib.VAL_READ, len(val_names))
  tally.add(report_lib.SOURCE_PREFIX + f'{reader.layout} val', len(val_names))
  tally.add(report_lib.BLACKLISTED, len(blacklist))
  tally.add(report_lib.JUNK_IGNORED, len(listing.junk))
  tally.add(
      report_lib.ANNOTATIONS_WITHOUT_IMAGE, len(val_parsed.keys() - val_names.keys())
  )
  outside = sum(not selection.keeps_class(w) for w in val_labels.values())
  if outside:
    tally.add(report_lib.VAL_OUTSIDE_CLASSES, outside)
  train_built = 'train images' in reader.sources()
  if train_built:
    classes = reader.train_classes()
    selection_lib.check_listed_classes(selection, classes.names)
    tally.add(report_lib.JUNK_IGNORED, len(classes.junk))
    for wnid, count in reader.annotation_counts().items():
      if wnid not in classes.names:
        tally.add(report_lib.ANNOTATIONS_WITHOUT_IMAGE, count)
  class_names = dict(val_meta.class_names or {})
  missing_names = [w for w in metadata.wnids() if w not in class_names]
  if missing_names:
    logging.warning(
        'No class name for %d WNIDs (no devkit or LOC_synset_mapping.txt'
        ' found); their WNID is used as name.', len(missing_names)
    )
  for wnid in missing_names:
    class_names[wnid] = wnid
  return Plan(
      reader=reader,
      options=options,
      val_labels=val_labels,
      val_names=val_names,
      blacklist=blacklist,
      val_annotations=val_parsed,
      class_names=class_names,
      selection=selection,
      train_built=train_built,
      real_labels=real_labels,
  )
