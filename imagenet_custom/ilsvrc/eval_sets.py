"""Facts about the evaluation sets ImageNet models are tested on.

One `EvalSet` per set: its split name, its downloads as distributed and their
top folder, how its class folders are named, how many classes and images the
release has, its class list and how its authors score it. The registry
`EVAL_SETS` is the only place these are written; layouts, the build, the
metadata and the scoring look them up.

Labels are always positions among the 1,000 WNIDs sorted (`metadata.wnids`).
ImageNetV2's class folders are those positions written as integers
(`0`..`999`): read as integers, never sorted as strings (`0, 1, 10, 100, ...`,
what `ImageFolder` does, gives wrong labels: modestyachts/ImageNetV2#4, #10).

The 200-class lists of ImageNet-A, -O and -R are shipped in
`eval_classes/` (each file says where it was taken from). ObjectNet's mapping
to ImageNet is never shipped: it is read from the user's own `mappings/`
files (`objectnet.py`).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import importlib.resources

from imagenet_custom.ilsvrc import metadata


class FolderNames(enum.Enum):
  """How a set's class folders are named."""

  WNID = 'wnid'  # n01440764
  INDEX = 'index'  # 0..999, the sorted-WNID position (or WNIDs: V2's first release)
  OBJECTNET = 'objectnet'  # ObjectNet's own names, mapped by its mappings/ files


class Scoring(enum.Enum):
  """How a set's authors score a model's 1,000 logits."""

  TOP1 = 'top1'  # argmax over all 1,000
  MASKED_TOP1 = 'masked_top1'  # argmax over the set's 200 classes only
  AUPR = 'aupr'  # out-of-distribution: AUPR against test images of the 200 classes
  OBJECTNET = 'objectnet'  # argmax over the mapped classes; right if any mapped label


@dataclasses.dataclass(frozen=True)
class EvalSet:
  """One evaluation set as its authors distribute it.

  Attributes:
    split: the split it is written to (a TFDS split name).
    title: its name in messages.
    downloads: the archive file names as distributed (read in place).
    folder: the top folder inside the archive, and the extracted folder's name.
    folder_names: how its class folders are named.
    num_classes: class folders in the release (a different count is an error).
    num_images: images in the release (a different count is noted).
    class_list: the shipped `eval_classes/` file of its classes, or None
      (all 1,000, or ObjectNet's mapping).
    scoring: how a model is scored on it.
    extracted_only: read only when extracted (ObjectNet's zip is
      password-protected).
    reference: where the set and its counts are described.
  """

  split: str
  title: str
  downloads: tuple[str, ...]
  folder: str
  folder_names: FolderNames
  num_classes: int
  num_images: int
  class_list: str | None
  scoring: Scoring
  extracted_only: bool = False
  reference: str = ''


def _v2(variant: str, split_variant: str) -> EvalSet:
  return EvalSet(
      split=f'imagenet_v2_{split_variant}',
      title=f'ImageNetV2 {variant}',
      downloads=(f'imagenetv2-{variant}.tar.gz',),
      folder=f'imagenetv2-{variant}-format-val',
      folder_names=FolderNames.INDEX,
      num_classes=1000,
      num_images=10_000,
      class_list=None,
      scoring=Scoring.TOP1,
      reference='github.com/modestyachts/ImageNetV2 (Recht et al., ICML 2019)',
  )


# The registry, in the order splits are listed. Counts from each set's paper
# or README, except ImageNet-Sketch: its zip holds 50,889 images, not the
# 50,000 its README says.
EVAL_SETS: tuple[EvalSet, ...] = (
    _v2('matched-frequency', 'matched_frequency'),
    # TFDS split names allow letters, digits, `_` and `-`: `0.7` is `0_7`.
    _v2('threshold0.7', 'threshold0_7'),
    _v2('top-images', 'top_images'),
    EvalSet(
        split='imagenet_a', title='ImageNet-A', downloads=('imagenet-a.tar',),
        folder='imagenet-a', folder_names=FolderNames.WNID, num_classes=200,
        num_images=7_500, class_list='imagenet_a.txt',
        scoring=Scoring.MASKED_TOP1,
        reference='github.com/hendrycks/natural-adv-examples',
    ),
    EvalSet(
        split='imagenet_r', title='ImageNet-R', downloads=('imagenet-r.tar',),
        folder='imagenet-r', folder_names=FolderNames.WNID, num_classes=200,
        num_images=30_000, class_list='imagenet_r.txt',
        scoring=Scoring.MASKED_TOP1,
        reference='github.com/hendrycks/imagenet-r',
    ),
    EvalSet(
        split='imagenet_sketch', title='ImageNet-Sketch',
        downloads=('ImageNet-Sketch.zip',), folder='sketch',
        folder_names=FolderNames.WNID, num_classes=1000, num_images=50_889,
        class_list=None, scoring=Scoring.TOP1,
        reference='github.com/HaohanWang/ImageNet-Sketch',
    ),
    EvalSet(
        split='imagenet_o', title='ImageNet-O', downloads=('imagenet-o.tar',),
        folder='imagenet-o', folder_names=FolderNames.WNID, num_classes=200,
        num_images=2_000, class_list='imagenet_o.txt', scoring=Scoring.AUPR,
        reference='github.com/hendrycks/natural-adv-examples',
    ),
    EvalSet(
        split='objectnet', title='ObjectNet', downloads=('objectnet-1.0.zip',),
        folder='objectnet-1.0', folder_names=FolderNames.OBJECTNET,
        num_classes=313, num_images=50_000, class_list=None,
        scoring=Scoring.OBJECTNET, extracted_only=True,
        reference='objectnet.dev (Barbu et al., NeurIPS 2019)',
    ),
)

SPLITS = tuple(s.split for s in EVAL_SETS)
assert len(set(SPLITS)) == len(SPLITS), 'two evaluation sets share a split'
OBJECTNET = 'objectnet'
# ObjectNet's images carry a 1-pixel red border (its README: crop it before
# evaluating); the build crops this many pixels from each side.
OBJECTNET_BORDER = 1
# ObjectNet's licence forbids training on it; recorded in the metadata.
OBJECTNET_LICENCE_NOTE = (
    'ObjectNet may be used to evaluate models only: its licence forbids'
    ' training on it (objectnet.dev).'
)
# The multi-label feature of ObjectNet images (every 1k class an image's
# ObjectNet class maps to), added only to builds that ask for ObjectNet.
OBJECTNET_FEATURE = 'objectnet_labels'


def by_split() -> dict[str, EvalSet]:
  """The sets by split name."""
  return {s.split: s for s in EVAL_SETS}


@functools.cache
def class_wnids(split: str) -> tuple[str, ...]:
  """The WNIDs of a set's classes, sorted: its shipped list, or all 1,000.

  Args:
    split: the set's split name (not ObjectNet: its classes come from the
      user's mapping files).

  Returns:
    The WNIDs.
  """
  found = by_split()[split]
  if found.folder_names is FolderNames.OBJECTNET:
    raise ValueError('ObjectNet classes come from its mappings/ files')
  if found.class_list is None:
    return metadata.wnids()
  text = (
      importlib.resources.files('imagenet_custom.ilsvrc')
      .joinpath('eval_classes', found.class_list)
      .read_text()
  )
  wnids = tuple(
      line.strip() for line in text.splitlines()
      if line.strip() and not line.startswith('#')
  )
  assert len(wnids) == found.num_classes, (split, len(wnids))
  return wnids


def class_mask(wnids: tuple[str, ...]) -> tuple[int, ...]:
  """The sorted-1,000 positions of some WNIDs, ascending.

  Args:
    wnids: known WNIDs.

  Returns:
    Their label indices.
  """
  position = {wnid: i for i, wnid in enumerate(metadata.wnids())}
  return tuple(sorted(position[w] for w in wnids))
