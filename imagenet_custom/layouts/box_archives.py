"""The official bounding box archives, read in place (shared by layouts)."""

from __future__ import annotations

import functools
import pickle
from typing import NamedTuple
import zlib

from etils import epath

from imagenet_custom.archives import tario
from imagenet_custom.archives.base import is_junk
from imagenet_custom.archives.base import RawFile
from imagenet_custom.ilsvrc import metadata

BBOX_TRAIN = 'ILSVRC2012_bbox_train_v2.tar.gz'
BBOX_VAL = 'ILSVRC2012_bbox_val_v3.tgz'


class _ClassBoxes(NamedTuple):
  num_annotations: int
  blob: bytes


@functools.cache
def _train_boxes_by_class(path_str: str) -> dict[str, _ClassBoxes]:
  """Reads the train box archive once per process, grouped by class.

  The 544,546 XMLs of the real archive are kept as one compressed blob per
  class (about the archive's own size in memory) and unpacked one class at a
  time.

  Args:
    path_str: the archive's path.

  Returns:
    Per WNID, the number of annotations and a zlib-compressed pickle of
    `[(member name, xml bytes)]`.
  """
  path = epath.Path(path_str)
  grouped: dict[str, list[tuple[str, bytes]]] = {}
  for member, data in tario.iter_compressed_members(path):
    if is_junk(member.name) or not member.name.endswith('.xml'):
      continue
    wnid = metadata.file_stem(member.name).split('_')[0]
    grouped.setdefault(wnid, []).append((member.name, data))
  return {
      wnid: _ClassBoxes(len(members), zlib.compress(pickle.dumps(members), 1))
      for wnid, members in grouped.items()
  }


def train_annotations(root: epath.Path, wnid: str) -> dict[str, RawFile]:
  """The train annotations of one class from `ILSVRC2012_bbox_train_v2.tar.gz`.

  Args:
    root: the folder that may hold the archive.
    wnid: the class.

  Returns:
    Annotation XMLs by image stem (e.g. `n01440764_10026`); none without
    the archive.
  """
  path = root / BBOX_TRAIN
  if not path.exists():
    return {}
  boxes = _train_boxes_by_class(str(path)).get(wnid)
  if boxes is None:
    return {}
  found = {}
  for name, data in pickle.loads(zlib.decompress(boxes.blob)):
    stem = metadata.file_stem(name)
    found[stem] = RawFile(stem + '.xml', f'{path}:{name}', data)
  return found


def annotation_counts(root: epath.Path) -> dict[str, int]:
  """The number of train annotations per class in `root`'s train box archive."""
  path = root / BBOX_TRAIN
  if not path.exists():
    return {}
  return {
      wnid: boxes.num_annotations
      for wnid, boxes in _train_boxes_by_class(str(path)).items()
  }


def val_annotations(root: epath.Path) -> dict[int, RawFile]:
  """The val annotations from `ILSVRC2012_bbox_val_v3.tgz`, by val number.

  Args:
    root: the folder that may hold the archive.

  Returns:
    Annotation XMLs by val image number; none without the archive.
  """
  path = root / BBOX_VAL
  if not path.exists():
    return {}
  found = {}
  for member, data in tario.iter_compressed_members(path):
    stem = metadata.file_stem(member.name)
    number = metadata.val_index(stem)
    if number is not None and member.name.endswith('.xml'):
      found[number] = RawFile(stem + '.xml', f'{path}:{member.name}', data)
  return found
