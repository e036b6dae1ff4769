"""The build report: every input image and annotation accounted for. Pure."""

from __future__ import annotations

import collections
import dataclasses
import enum
import threading
from typing import Any, Protocol

from imagenet_custom.errors import BadFileError
from imagenet_custom.ilsvrc.splits import TRAIN_SPLITS
from imagenet_custom.ilsvrc.splits import VAL_SPLITS


class _StrEnum(str, enum.Enum):
  """A string enum whose members print as their value (`enum.StrEnum` needs Python 3.11)."""

  def __str__(self) -> str:
    return str.__str__(self)

  def __format__(self, spec: str) -> str:
    return str.__format__(str.__str__(self), spec)


@enum.unique
class Count(_StrEnum):
  """The report's fixed counters; each value is the counter's stored name.

  `*_READ` count images found in the input; the split counts (`Family.WRITTEN`)
  are images written; the rest explain the difference and what was fixed.
  Members are strings, so counts gathered elsewhere under the stored names
  (worker processes, Beam metrics, a stored report) add to the same counter.
  """

  TRAIN_READ = 'train_images_read'
  VAL_READ = 'val_images_read'
  TRAIN_SKIPPED = 'train_images_skipped'
  VAL_SKIPPED = 'val_images_skipped'
  BOXES_KEPT = 'boxes_kept'
  BOXES_SWAPPED = 'boxes_swapped'
  BOXES_CLIPPED = 'boxes_clipped'
  BOXES_DROPPED = 'boxes_dropped'
  ANNOTATIONS_USED = 'annotations_used'
  ANNOTATIONS_WITHOUT_IMAGE = 'annotations_without_image'
  ANNOTATIONS_SKIPPED = 'annotations_skipped'
  JUNK_IGNORED = 'junk_files_ignored'
  BLACKLISTED = 'val_images_blacklisted'
  # Resized builds: images shrunk to the shorter side, and images already
  # small enough that kept their bytes. Both stay 0 when the build keeps the
  # originals.
  RESIZED = 'resized/resized'
  RESIZE_KEPT = 'resized/kept'
  # Left out by the config's `train_subset` and `classes` (see selection.py).
  TRAIN_NOT_IN_SUBSET = 'train_images_not_in_subset'
  VAL_OUTSIDE_CLASSES = 'val_images_outside_classes'
  # Named by the layout's reference lists but not in the input (e.g.
  # originals with no face-blurred version); never read, so outside the
  # balance.
  IMAGES_MISSING = 'images_missing_from_input'


@enum.unique
class Family(_StrEnum):
  """Counters with one member per name: `Family.WRITTEN.key('train')`."""

  # Images written, per split.
  WRITTEN = 'written/'
  # Images read, per `<layout> train` or `<layout> val`.
  SOURCE = 'source/'
  # Images re-encoded, per `images.Fix` value.
  REENCODED = 'reencoded/'

  def key(self, name: str) -> str:
    """The counter of `name` in this family."""
    return self.value + name

  def members(self, counts: collections.Counter[str]) -> dict[str, int]:
    """The counters of this family in `counts`, by name, sorted."""
    return {
        key[len(self.value):]: value
        for key, value in sorted(counts.items())
        if key.startswith(self.value)
    }


# The counters by their former module-level names, which other modules use.
TRAIN_READ = Count.TRAIN_READ
VAL_READ = Count.VAL_READ
TRAIN_SKIPPED = Count.TRAIN_SKIPPED
VAL_SKIPPED = Count.VAL_SKIPPED
BOXES_KEPT = Count.BOXES_KEPT
BOXES_SWAPPED = Count.BOXES_SWAPPED
BOXES_CLIPPED = Count.BOXES_CLIPPED
BOXES_DROPPED = Count.BOXES_DROPPED
ANNOTATIONS_USED = Count.ANNOTATIONS_USED
ANNOTATIONS_WITHOUT_IMAGE = Count.ANNOTATIONS_WITHOUT_IMAGE
ANNOTATIONS_SKIPPED = Count.ANNOTATIONS_SKIPPED
JUNK_IGNORED = Count.JUNK_IGNORED
BLACKLISTED = Count.BLACKLISTED
RESIZED = Count.RESIZED
RESIZE_KEPT = Count.RESIZE_KEPT
TRAIN_NOT_IN_SUBSET = Count.TRAIN_NOT_IN_SUBSET
VAL_OUTSIDE_CLASSES = Count.VAL_OUTSIDE_CLASSES
IMAGES_MISSING = Count.IMAGES_MISSING
WRITTEN_PREFIX = Family.WRITTEN.value
SOURCE_PREFIX = Family.SOURCE.value
REENCODED_PREFIX = Family.REENCODED.value


def skip_or_raise(error: BadFileError, skip_bad_files: bool) -> tuple[str, str]:
  """What to record of a file that cannot be read: raises unless skipping.

  Call it in the `except BadFileError` clause.

  Args:
    error: the file's error.
    skip_bad_files: the config's choice to skip (count and list) bad files.

  Returns:
    `(origin, problem)` to record with `Tally.skip`.

  Raises:
    BadFileError: `error`, unless skipping.
  """
  if not skip_bad_files:
    raise error
  return error.origin, error.problem


class Tally(Protocol):
  """Where generation code counts what it does. Implementations are thread-safe."""

  def add(self, key: str, amount: int = 1) -> None:
    """Adds `amount` to counter `key` (a `Count`, or a `Family` key)."""

  def skip(self, origin: str, reason: str) -> None:
    """Records a file skipped because it could not be read."""


@dataclasses.dataclass
class BuildReport:
  """Counters and skipped files of one build. Implements `Tally`.

  Attributes:
    layout: the input layout's name.
    counts: counter name to value.
    skipped: `origin: reason` for every skipped file.
    notes: what the build did not do, said plainly (e.g. an
      evaluation-only build's missing splits).
  """

  layout: str = ''
  counts: collections.Counter[str] = dataclasses.field(
      default_factory=collections.Counter
  )
  skipped: list[str] = dataclasses.field(default_factory=list)
  notes: list[str] = dataclasses.field(default_factory=list)
  _lock: threading.Lock = dataclasses.field(
      default_factory=threading.Lock, repr=False, compare=False
  )

  def add(self, key: str, amount: int = 1) -> None:
    with self._lock:
      self.counts[key] += amount

  def skip(self, origin: str, reason: str) -> None:
    with self._lock:
      self.skipped.append(f'{origin}: {reason}')

  def merge(self, counts: dict[str, int], skipped: list[str]) -> None:
    """Adds counters and skipped files gathered elsewhere (e.g. in a worker)."""
    with self._lock:
      self.counts.update(counts)
      self.skipped.extend(skipped)

  def written(self, split: str) -> int:
    """Images written to `split`."""
    return self.counts[Family.WRITTEN.key(split)]

  def imbalances(self) -> list[str]:
    """What does not add up; empty when every image is accounted for.

    Returns:
      One sentence per broken equation.
    """
    problems = []
    train_out = sum(self.written(s) for s in TRAIN_SPLITS)
    train_out += self.counts[Count.TRAIN_SKIPPED] + self.counts[Count.TRAIN_NOT_IN_SUBSET]
    if train_out != self.counts[Count.TRAIN_READ]:
      problems.append(
          f'train + validation + skipped = {train_out}, but'
          f' {self.counts[Count.TRAIN_READ]} train images were read'
      )
    val_out = sum(self.written(s) for s in VAL_SPLITS)
    val_out += self.counts[Count.VAL_SKIPPED] + self.counts[Count.VAL_OUTSIDE_CLASSES]
    if val_out != self.counts[Count.VAL_READ]:
      problems.append(
          f'test + test_blacklisted + skipped = {val_out}, but'
          f' {self.counts[Count.VAL_READ]} val images were read'
      )
    return problems

  def to_dict(self) -> dict[str, Any]:
    """A JSON-ready form, stored in the dataset's metadata."""
    return {
        'layout': self.layout,
        'counts': {str(key): value for key, value in sorted(self.counts.items())},
        'skipped_files': sorted(self.skipped),
        'notes': list(self.notes),
        'balanced': not self.imbalances(),
    }

  @classmethod
  def from_dict(cls, data: dict[str, Any]) -> BuildReport:
    """Reads back `to_dict`'s output (e.g. from a built dataset's metadata)."""
    return cls(
        layout=data['layout'],
        counts=collections.Counter(data['counts']),
        skipped=list(data['skipped_files']),
        notes=list(data.get('notes', [])),
    )

  def format(self) -> str:
    """A human-readable summary for the end of a build."""
    c = self.counts
    lines = [f'imagenet_custom build report (layout: {self.layout})']
    lines.extend(f'  NOTE: {note}' for note in self.notes)
    lines.append(
        '  written: '
        + ', '.join(
            f'{split} {self.written(split):,}'
            for split in TRAIN_SPLITS + VAL_SPLITS
        )
    )
    lines.append(
        f'  train images read {c[Count.TRAIN_READ]:,} = train + validation'
        f' + skipped {c[Count.TRAIN_SKIPPED]:,}'
        + (f' + not in train_subset {c[Count.TRAIN_NOT_IN_SUBSET]:,}'
           if c[Count.TRAIN_NOT_IN_SUBSET] else '')
    )
    lines.append(
        f'  val images read {c[Count.VAL_READ]:,} = test + test_blacklisted'
        f' ({c[Count.BLACKLISTED]:,} blacklisted) + skipped {c[Count.VAL_SKIPPED]:,}'
        + (f' + outside classes {c[Count.VAL_OUTSIDE_CLASSES]:,}'
           if c[Count.VAL_OUTSIDE_CLASSES] else '')
    )
    for name, count in Family.SOURCE.members(c).items():
      lines.append(f'  read from {name}: {count:,}')
    reencoded = Family.REENCODED.members(c)
    lines.append(
        '  images re-encoded: '
        + (', '.join(f'{k} {v}' for k, v in reencoded.items()) or 'none')
    )
    if c[Count.RESIZED] or c[Count.RESIZE_KEPT]:
      lines.append(
          f'  shorter side: {c[Count.RESIZED]:,} images resized,'
          f' {c[Count.RESIZE_KEPT]:,} already small enough kept'
      )
    lines.append(
        f'  boxes: {c[Count.BOXES_KEPT]:,} kept, {c[Count.BOXES_SWAPPED]} swapped,'
        f' {c[Count.BOXES_CLIPPED]} clipped, {c[Count.BOXES_DROPPED]} dropped;'
        f' annotations used {c[Count.ANNOTATIONS_USED]:,}, without image'
        f' {c[Count.ANNOTATIONS_WITHOUT_IMAGE]}, skipped {c[Count.ANNOTATIONS_SKIPPED]}'
    )
    lines.append(f'  junk files ignored: {c[Count.JUNK_IGNORED]}')
    if c[Count.IMAGES_MISSING]:
      lines.append(
          f'  images missing from the input (not fatal): {c[Count.IMAGES_MISSING]:,}'
      )
    lines.append(f'  files skipped: {len(self.skipped)}')
    lines.extend(f'    {line}' for line in sorted(self.skipped))
    problems = self.imbalances()
    lines.append(
        '  balance: OK, every image accounted for'
        if not problems
        else '  balance: BROKEN: ' + '; '.join(problems)
    )
    return '\n'.join(lines)
