"""The build report: every input image and annotation accounted for. Pure."""

from __future__ import annotations

import collections
import dataclasses
import threading
from typing import Any, Protocol

from imagenet_custom.ilsvrc.splits import TRAIN_SPLITS
from imagenet_custom.ilsvrc.splits import VAL_SPLITS

# Counter names. `read_*` counts images found in the input; the split counts
# are images written; the rest explain the difference and what was fixed.
TRAIN_READ = 'train_images_read'
VAL_READ = 'val_images_read'
TRAIN_SKIPPED = 'train_images_skipped'
VAL_SKIPPED = 'val_images_skipped'
WRITTEN_PREFIX = 'written/'
SOURCE_PREFIX = 'source/'
REENCODED_PREFIX = 'reencoded/'
BOXES_KEPT = 'boxes_kept'
BOXES_SWAPPED = 'boxes_swapped'
BOXES_CLIPPED = 'boxes_clipped'
BOXES_DROPPED = 'boxes_dropped'
ANNOTATIONS_USED = 'annotations_used'
ANNOTATIONS_WITHOUT_IMAGE = 'annotations_without_image'
ANNOTATIONS_SKIPPED = 'annotations_skipped'
JUNK_IGNORED = 'junk_files_ignored'
BLACKLISTED = 'val_images_blacklisted'
# Resized builds: images shrunk to the shorter side, and images already small
# enough that kept their bytes. Both stay 0 when the build keeps the originals.
RESIZED = 'resized/resized'
RESIZE_KEPT = 'resized/kept'
# Left out by the config's `train_subset` and `classes` (see selection.py).
TRAIN_NOT_IN_SUBSET = 'train_images_not_in_subset'
VAL_OUTSIDE_CLASSES = 'val_images_outside_classes'
# Named by the layout's reference lists but not in the input (e.g. originals
# with no face-blurred version); never read, so outside the balance.
IMAGES_MISSING = 'images_missing_from_input'


class Tally(Protocol):
  """Where generation code counts what it does. Implementations are thread-safe."""

  def add(self, key: str, amount: int = 1) -> None:
    """Adds `amount` to counter `key`."""

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
    return self.counts[WRITTEN_PREFIX + split]

  def imbalances(self) -> list[str]:
    """What does not add up; empty when every image is accounted for.

    Returns:
      One sentence per broken equation.
    """
    problems = []
    train_out = sum(self.written(s) for s in TRAIN_SPLITS)
    train_out += self.counts[TRAIN_SKIPPED] + self.counts[TRAIN_NOT_IN_SUBSET]
    if train_out != self.counts[TRAIN_READ]:
      problems.append(
          f'train + validation + skipped = {train_out}, but'
          f' {self.counts[TRAIN_READ]} train images were read'
      )
    val_out = sum(self.written(s) for s in VAL_SPLITS)
    val_out += self.counts[VAL_SKIPPED] + self.counts[VAL_OUTSIDE_CLASSES]
    if val_out != self.counts[VAL_READ]:
      problems.append(
          f'test + test_blacklisted + skipped = {val_out}, but'
          f' {self.counts[VAL_READ]} val images were read'
      )
    return problems

  def to_dict(self) -> dict[str, Any]:
    """A JSON-ready form, stored in the dataset's metadata."""
    return {
        'layout': self.layout,
        'counts': dict(sorted(self.counts.items())),
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
        f'  train images read {c[TRAIN_READ]:,} = train + validation'
        f' + skipped {c[TRAIN_SKIPPED]:,}'
        + (f' + not in train_subset {c[TRAIN_NOT_IN_SUBSET]:,}'
           if c[TRAIN_NOT_IN_SUBSET] else '')
    )
    lines.append(
        f'  val images read {c[VAL_READ]:,} = test + test_blacklisted'
        f' ({c[BLACKLISTED]:,} blacklisted) + skipped {c[VAL_SKIPPED]:,}'
        + (f' + outside classes {c[VAL_OUTSIDE_CLASSES]:,}'
           if c[VAL_OUTSIDE_CLASSES] else '')
    )
    for key in sorted(k for k in c if k.startswith(SOURCE_PREFIX)):
      lines.append(f'  read from {key[len(SOURCE_PREFIX):]}: {c[key]:,}')
    reencoded = {
        k[len(REENCODED_PREFIX):]: v
        for k, v in sorted(c.items())
        if k.startswith(REENCODED_PREFIX)
    }
    lines.append(
        '  images re-encoded: '
        + (', '.join(f'{k} {v}' for k, v in reencoded.items()) or 'none')
    )
    if c[RESIZED] or c[RESIZE_KEPT]:
      lines.append(
          f'  shorter side: {c[RESIZED]:,} images resized,'
          f' {c[RESIZE_KEPT]:,} already small enough kept'
      )
    lines.append(
        f'  boxes: {c[BOXES_KEPT]:,} kept, {c[BOXES_SWAPPED]} swapped,'
        f' {c[BOXES_CLIPPED]} clipped, {c[BOXES_DROPPED]} dropped;'
        f' annotations used {c[ANNOTATIONS_USED]:,}, without image'
        f' {c[ANNOTATIONS_WITHOUT_IMAGE]}, skipped {c[ANNOTATIONS_SKIPPED]}'
    )
    lines.append(f'  junk files ignored: {c[JUNK_IGNORED]}')
    if c[IMAGES_MISSING]:
      lines.append(
          f'  images missing from the input (not fatal): {c[IMAGES_MISSING]:,}'
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
