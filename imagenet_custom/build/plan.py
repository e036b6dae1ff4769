"""The build plan: the val set's labels, blacklist and boxes, checked before any image is read.

`make_plan` asks the reader for the val metadata and listings, resolves the
val labels (`ilsvrc/val_labels.py`), and counts what the driver sees (val
images, junk, annotations without an image). `Options` are the builder
config's fields that generation uses.

Plain and picklable, without TensorFlow or TFDS: worker processes unpickle
`Options` and `Plan`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from absl import logging

from imagenet_custom.build import report as report_lib
from imagenet_custom.build.report import Count
from imagenet_custom.build.report import Family
from imagenet_custom.build.report import skip_or_raise
from imagenet_custom.errors import BadFileError
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import annotations as annotations_lib
from imagenet_custom.ilsvrc import images
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import real_labels as real_labels_lib
from imagenet_custom.ilsvrc import selection as selection_lib
from imagenet_custom.ilsvrc import splits
from imagenet_custom.ilsvrc import val_labels as val_labels_lib
from imagenet_custom.layouts.base import Listing
from imagenet_custom.layouts.base import Reader

# An example: feature name to plain value (no TFDS types).
Example = dict[str, Any]


class ConfigFields(Protocol):
  """The builder config's fields that generation reads (`Options.from_config`)."""

  name: str
  validation_fraction: float
  split_seed: str
  skip_bad_files: bool
  shorter_side: int
  jpeg_quality: int


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
  def from_config(cls, config: ConfigFields) -> Options:
    """The options of a builder config, each field named here.

    Every field is read by name and passed by keyword, so a field renamed on
    either side fails here (AttributeError, TypeError; and in mypy) instead
    of falling back to its default.

    Args:
      config: e.g. an `ImagenetCustomConfig`.

    Returns:
      The options.

    Raises:
      InputError: the resize fields are out of range.
    """
    try:
      resize = images.ResizeOptions(
          shorter_side=config.shorter_side, jpeg_quality=config.jpeg_quality
      )
    except ValueError as e:
      raise InputError(f'Config {config.name!r}: {e}.') from None
    return cls(
        validation_fraction=config.validation_fraction,
        split_seed=config.split_seed,
        skip_bad_files=config.skip_bad_files,
        resize=resize,
    )


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
    eval_splits: the evaluation-set splits, each a tuple of chunks with
      `outcomes(options, tally, pool)` and `describe()`
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
  eval_splits: dict[str, tuple[Any, ...]] = dataclasses.field(default_factory=dict)

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
      tally.skip(*skip_or_raise(e, skip_bad_files))
      tally.add(Count.ANNOTATIONS_SKIPPED)
  return parsed


def _val_numbers(reader: Reader, listing: Listing) -> dict[int, str]:
  """Val file name by val number; every listed name must be a val image name."""
  val_names = {}
  for name in listing.names:
    number = metadata.val_index(name)
    if number is None:
      raise InputError(
          f'{reader.sources().val_images}: {name!r} is not a val image'
          ' name (ILSVRC2012_val_NNNNNNNN.JPEG), so its label cannot be'
          ' found. Remove it or restore the original name.'
      )
    val_names[number] = name
  return val_names


def _count_train_side(
    reader: Reader, selection: selection_lib.Selection, tally: report_lib.Tally
) -> None:
  """Checks the file list against the train classes; counts their junk and orphans."""
  classes = reader.train_classes()
  selection_lib.check_listed_classes(selection, classes.names)
  tally.add(Count.JUNK_IGNORED, len(classes.junk))
  for wnid, count in reader.annotation_counts().items():
    if wnid not in classes.names:
      tally.add(Count.ANNOTATIONS_WITHOUT_IMAGE, count)


def _all_class_names(found: dict[str, str] | None) -> dict[str, str]:
  """A name for each of the 1,000 WNIDs: the metadata's, else the WNID itself."""
  class_names = dict(found or {})
  missing_names = [w for w in metadata.wnids() if w not in class_names]
  if missing_names:
    logging.warning(
        'No class name for %d WNIDs (no devkit or LOC_synset_mapping.txt'
        ' found); their WNID is used as name.', len(missing_names)
    )
  for wnid in missing_names:
    class_names[wnid] = wnid
  return class_names


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
  val_parsed = parse_val_annotations(reader, options.skip_bad_files, tally)
  listing = reader.list_val()
  val_names = _val_numbers(reader, listing)
  sources = list(val_meta.label_sources)
  if val_parsed:
    sources.append(val_labels_lib.xml_label_source(val_parsed))
  val_labels = val_labels_lib.resolve_val_labels(val_names, sources)
  blacklist = frozenset(val_meta.blacklist or ()) & val_names.keys()
  tally.add(Count.VAL_READ, len(val_names))
  tally.add(Family.SOURCE.key(f'{reader.layout} val'), len(val_names))
  tally.add(Count.BLACKLISTED, len(blacklist))
  tally.add(Count.JUNK_IGNORED, len(listing.junk))
  tally.add(
      Count.ANNOTATIONS_WITHOUT_IMAGE, len(val_parsed.keys() - val_names.keys())
  )
  outside = sum(not selection.keeps_class(w) for w in val_labels.values())
  if outside:
    tally.add(Count.VAL_OUTSIDE_CLASSES, outside)
  train_built = reader.sources().train_images is not None
  if train_built:
    _count_train_side(reader, selection, tally)
  return Plan(
      reader=reader,
      options=options,
      val_labels=val_labels,
      val_names=val_names,
      blacklist=blacklist,
      val_annotations=val_parsed,
      class_names=_all_class_names(val_meta.class_names),
      selection=selection,
      train_built=train_built,
      real_labels=real_labels,
  )
