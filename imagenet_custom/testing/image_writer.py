"""Streams rendered images into every layout: image tars, Kaggle, folders."""

from __future__ import annotations

import pathlib
import tempfile
from typing import BinaryIO

from imagenet_custom.testing import names
from imagenet_custom.testing import plan_types
from imagenet_custom.testing import quirks
from imagenet_custom.testing import tars


class ImageWriter:
  """Writes each rendered image into every requested layout as it arrives.

  Train images must arrive grouped by class: each class is collected in a
  temporary per-class tar, appended to the train tar when the class ends.
  """

  def __init__(
      self, out_dir: pathlib.Path, plan: plan_types.DatasetPlan
  ) -> None:
    self._out = out_dir
    self._layouts = plan.spec.layouts
    self._apple_double_train = plan.apple_double_train
    self._apple_double_val = plan.apple_double_val
    # With the archive layout: the train and val tars.
    self._image_tars: tuple[tars.DeterministicTar, tars.DeterministicTar] | None
    self._image_tars = None
    # The class being collected: its WNID, temporary file and tar.
    self._class: tuple[str, BinaryIO, tars.DeterministicTar] | None = None
    if names.ARCHIVES in self._layouts:
      archives = out_dir / names.ARCHIVES
      self._image_tars = (
          tars.DeterministicTar.create(archives / names.TRAIN_TAR),
          tars.DeterministicTar.create(archives / names.VAL_TAR),
      )

  def write(self, image: plan_types.ImagePlan, data: bytes) -> None:
    """Writes one image everywhere it belongs.

    Args:
      image: its plan.
      data: its bytes.
    """
    if image.split == 'train':
      self._write_train(image, data)
    else:
      self._write_val(image, data)

  def _write_train(self, image: plan_types.ImagePlan, data: bytes) -> None:
    """Writes a train image to its class tar and class folders."""
    if self._image_tars:
      if self._class is None or image.wnid != self._class[0]:
        self._finish_class_tar()
        self._class = self._start_class_tar(image.wnid)
      class_tar = self._class[2]
      if image.file_name == self._apple_double_train:
        class_tar.add_bytes(
            names.APPLE_DOUBLE_PREFIX + image.file_name,
            quirks.APPLE_DOUBLE_BYTES,
        )
      class_tar.add_bytes(image.file_name, data)
    relative = f'{image.wnid}/{image.file_name}'
    if names.KAGGLE in self._layouts:
      tars.write_file(
          self._out / names.KAGGLE / names.KAGGLE_IMAGES / 'train' / relative,
          data,
      )
    if names.FOLDERS in self._layouts:
      tars.write_file(self._out / names.FOLDERS / 'train' / relative, data)

  def _write_val(self, image: plan_types.ImagePlan, data: bytes) -> None:
    """Writes a val image to the val tar, Kaggle val and class folders."""
    if self._image_tars:
      val_tar = self._image_tars[1]
      if image.file_name == self._apple_double_val:
        val_tar.add_bytes(
            names.APPLE_DOUBLE_PREFIX + image.file_name,
            quirks.APPLE_DOUBLE_BYTES,
        )
      val_tar.add_bytes(image.file_name, data)
    if names.KAGGLE in self._layouts:
      tars.write_file(
          self._out / names.KAGGLE / names.KAGGLE_IMAGES / 'val'
          / image.file_name,
          data,
      )
    if names.FOLDERS in self._layouts:
      tars.write_file(
          self._out / names.FOLDERS / 'val' / image.wnid / image.file_name,
          data,
      )

  def _start_class_tar(
      self, wnid: str
  ) -> tuple[str, BinaryIO, tars.DeterministicTar]:
    """Starts collecting a class's images in a temporary tar.

    Args:
      wnid: the class.

    Returns:
      `(wnid, temporary file, tar writing into it)`.
    """
    class_file = tempfile.TemporaryFile(dir=self._out / names.ARCHIVES)
    class_tar = tars.DeterministicTar(class_file, compress=False, owns_file=False)
    return wnid, class_file, class_tar

  def _finish_class_tar(self) -> None:
    """Appends the current class tar, if any, to the train tar."""
    if self._class is None or self._image_tars is None:
      return
    wnid, class_file, class_tar = self._class
    class_tar.close()
    size = class_file.tell()
    class_file.seek(0)
    self._image_tars[0].add_stream(f'{wnid}.tar', class_file, size)
    class_file.close()
    self._class = None

  def close(self) -> None:
    """Finishes the last class and closes the image tars."""
    self._finish_class_tar()
    for archive in self._image_tars or ():
      archive.close()

  def __enter__(self) -> ImageWriter:
    return self

  def __exit__(self, *exc_info: object) -> None:
    self.close()
