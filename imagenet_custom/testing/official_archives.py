"""The official box and devkit archives (shared by `archives/` and `folders/`).

`ILSVRC2012_bbox_train_v2.tar.gz`, `ILSVRC2012_bbox_val_v3.tgz` and
`ILSVRC2012_devkit_t12.tar.gz` with its `meta.mat`, val ground truth and
blacklist.
"""

from __future__ import annotations

from collections.abc import Sequence
import io
import pathlib

import numpy as np
import scipy.io

from imagenet_custom.testing import box_annotations
from imagenet_custom.testing import names
from imagenet_custom.testing import plan_types
from imagenet_custom.testing import tars

META_MAT_FIELDS = (
    'ILSVRC2012_ID', 'WNID', 'words', 'gloss', 'num_children', 'children',
    'wordnet_height', 'num_train_images',
)
# scipy.io.savemat writes the current time into the 116-byte text header.
MAT_HEADER_BYTES = 116
MAT_HEADER_TEXT = (
    b'MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: fake_imagenet'
)


def write_official_metadata(
    directory: pathlib.Path, plan: plan_types.DatasetPlan
) -> None:
  """Writes the box and devkit archives into a layout directory.

  Args:
    directory: the layout directory.
    plan: the plan.
  """
  _write_bbox_train_tar(directory / names.BBOX_TRAIN_TAR, plan)
  _write_bbox_val_tar(directory / names.BBOX_VAL_TAR, plan)
  _write_devkit_tar(directory / names.DEVKIT_TAR, plan)


def _write_bbox_train_tar(
    path: pathlib.Path, plan: plan_types.DatasetPlan
) -> None:
  """Writes `ILSVRC2012_bbox_train_v2.tar.gz`: `<wnid>/<wnid>_<N>.xml`.

  Args:
    path: the archive to write.
    plan: the plan.
  """
  with tars.DeterministicTar.create(path, compress=True) as archive:
    folder = None
    for wnid, stem, annotation in box_annotations.train_annotations(plan):
      if wnid != folder:
        archive.add_directory(f'{wnid}/')
        folder = wnid
      archive.add_bytes(
          f'{wnid}/{stem}.xml', box_annotations.annotation_xml(annotation)
      )


def _write_bbox_val_tar(
    path: pathlib.Path, plan: plan_types.DatasetPlan
) -> None:
  """Writes `ILSVRC2012_bbox_val_v3.tgz`: `val/ILSVRC2012_val_%08d.xml`.

  Args:
    path: the archive to write.
    plan: the plan.
  """
  with tars.DeterministicTar.create(path, compress=True) as archive:
    archive.add_directory('val/')
    for _, stem, annotation in box_annotations.val_annotations(plan):
      archive.add_bytes(
          f'val/{stem}.xml', box_annotations.annotation_xml(annotation)
      )


def _mat_uint(value: int) -> np.ndarray:
  """A MATLAB 1x1 uint16, or uint32 past 65,535 (reads back as a Python int).

  Args:
    value: the number.

  Returns:
    The array.
  """
  dtype = np.uint16 if value <= np.iinfo(np.uint16).max else np.uint32
  return np.array([[value]], dtype=dtype)


def _mat_ids(values: Sequence[int]) -> np.ndarray:
  """A MATLAB 1xN uint16 row (0x0 when empty, as leaves' `children`).

  Args:
    values: the numbers.

  Returns:
    The array.
  """
  if not values:
    return np.zeros((0, 0), dtype=np.uint16)
  return np.array([list(values)], dtype=np.uint16)


def meta_mat_bytes(plan: plan_types.DatasetPlan) -> bytes:
  """Writes the devkit's `meta.mat`: a 1-column struct array `synsets`.

  The 1,000 leaves come first in ILSVRC ID order (as in the real file), then
  the inner nodes. The text header's timestamp is replaced by a fixed text.

  Args:
    plan: the plan.

  Returns:
    The MATLAB v5 file bytes.
  """
  sizes = dict(plan.spec.class_sizes)
  leaves = sorted(plan.classes, key=lambda info: info.ilsvrc_id)
  synsets = np.zeros(
      (len(leaves) + len(plan.inner_nodes), 1),
      dtype=[(field, object) for field in META_MAT_FIELDS],
  )
  for row, info in enumerate(leaves):
    synsets[row, 0] = (
        _mat_uint(info.ilsvrc_id), info.wnid, info.words, info.gloss,
        _mat_uint(0), _mat_ids(()), _mat_uint(0),
        _mat_uint(sizes.get(info.wnid, 0)),
    )
  for row, node in enumerate(plan.inner_nodes, start=len(leaves)):
    words = f'synthetic group {node.ilsvrc_id}'
    synsets[row, 0] = (
        _mat_uint(node.ilsvrc_id), node.wnid, words,
        f'a made-up group of classes ({node.wnid})',
        _mat_uint(len(node.children)), _mat_ids(node.children),
        _mat_uint(node.wordnet_height), _mat_uint(node.num_train_images),
    )
  buffer = io.BytesIO()
  scipy.io.savemat(buffer, {'synsets': synsets}, format='5')
  data = buffer.getvalue()
  header = MAT_HEADER_TEXT.ljust(MAT_HEADER_BYTES, b' ')
  return header + data[MAT_HEADER_BYTES:]


def ground_truth_text(plan: plan_types.DatasetPlan) -> str:
  """Line i is the ILSVRC ID (not the sorted index) of val image i.

  Args:
    plan: the plan.

  Returns:
    The file text.
  """
  ids = {info.wnid: info.ilsvrc_id for info in plan.classes}
  return ''.join(f'{ids[image.wnid]}\n' for image in plan.val)


def blacklist_text(plan: plan_types.DatasetPlan) -> str:
  """Blacklisted 1-based val numbers, sorted, one a line.

  Args:
    plan: the plan.

  Returns:
    The file text.
  """
  return ''.join(
      f'{image.val_index}\n' for image in plan.val if image.blacklisted
  )


def _write_devkit_tar(path: pathlib.Path, plan: plan_types.DatasetPlan) -> None:
  """Writes `ILSVRC2012_devkit_t12.tar.gz` (meta.mat, ground truth, blacklist).

  Args:
    path: the archive to write.
    plan: the plan.
  """
  data = names.DEVKIT_DATA
  top = data.split('/')[0]
  with tars.DeterministicTar.create(path, compress=True) as archive:
    archive.add_directory(f'{top}/')
    archive.add_directory(f'{data}/')
    archive.add_bytes(f'{data}/{names.META_MAT}', meta_mat_bytes(plan))
    archive.add_bytes(
        f'{data}/{names.GROUND_TRUTH_2012}',
        ground_truth_text(plan).encode('ascii'),
    )
    archive.add_bytes(
        f'{data}/{names.BLACKLIST_2012}', blacklist_text(plan).encode('ascii')
    )
