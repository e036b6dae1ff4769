"""An extracted class-folder tree (`train/<wnid>/`, `val/`), read in place.

This is what torchvision and hand-made scripts leave behind. Val images are
either flat in `val/` or sorted into `val/<wnid>/`. The official devkit and
box archives, or Kaggle's CSV files, are used when they lie beside.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
import functools
from typing import ClassVar

from etils import epath

from imagenet_custom.archives.base import file_span
from imagenet_custom.archives.base import RawFile
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc.val_labels import LabelKind
from imagenet_custom.ilsvrc.val_labels import LabelSource
from imagenet_custom.ilsvrc.val_labels import ValMetadata
from imagenet_custom.layouts import box_archives
from imagenet_custom.layouts import devkit
from imagenet_custom.layouts.base import ImageSource
from imagenet_custom.layouts.base import Listing
from imagenet_custom.layouts.base import Reader
from imagenet_custom.layouts.base import Sources
from imagenet_custom.layouts.devkit import DevkitFacts
from imagenet_custom.layouts.directories import class_folders
from imagenet_custom.layouts.directories import list_directory
from imagenet_custom.layouts.directories import read_folder
from imagenet_custom.layouts.directories import read_head


class FolderReader(Reader):
  """Reads `train/<wnid>/*` and `val/` or `val/<wnid>/*`."""

  layout = 'folders'
  # The folders read; the face-blurred layout (`layouts/blurred.py`) renames them.
  train_dir: ClassVar[str] = 'train'
  val_dir: ClassVar[str] = 'val'
  help_text = f"""\
folders (an extracted tree, e.g. torchvision's):
     train/<wnid>/*.JPEG (optional: evaluation-only without it) and
     val/*.JPEG or val/<wnid>/*.JPEG, with
     {devkit.DEVKIT_2012} or {devkit.LOC_VAL_SOLUTION} beside them for val
     labels and the blacklist, and the box archives if you have them."""

  @classmethod
  def detect(cls, root: epath.Path) -> bool:
    return (root / cls.train_dir).is_dir() or (root / cls.val_dir).is_dir()

  def _folder(self, name: str) -> epath.Path:
    """Where the images of `name` (`train_dir` or `val_dir`) are read from.

    The manual dir's folder; the face-blurred layout gives the same folder
    inside its archive when only the archive is there (`layouts/blurred.py`).
    """
    return self.root / name

  def _images(
      self, directory: epath.Path
  ) -> tuple[dict[str, epath.Path], tuple[str, ...]]:
    """The images of a folder by example file name, and the junk beside them.

    Args:
      directory: a class folder, or a flat val folder.

    Returns:
      Path by file name (sorted), and the junk entries' names.
    """
    listing = list_directory(directory)
    return {name: directory / name for name in listing.names}, listing.junk

  def sources(self) -> Sources:
    return Sources.existing(
        train_images=self.root / self.train_dir,
        val_images=self.root / self.val_dir,
        train_boxes=self.root / box_archives.BBOX_TRAIN,
        val_boxes=self.root / box_archives.BBOX_VAL,
        devkit=self.root / devkit.DEVKIT_2012,
        val_solution=self.root / devkit.LOC_VAL_SOLUTION,
        synset_mapping=self.root / devkit.LOC_SYNSET_MAPPING,
    )

  def devkit_facts(self) -> DevkitFacts:
    # A bare `map_clsloc.txt` beside the folders also gives the IDs.
    return devkit.read_devkit_facts(
        (self.root / devkit.DEVKIT_2012, self.root / devkit.MAP_CLSLOC),
        self.root / devkit.LOC_SYNSET_MAPPING,
    )

  def train_classes(self) -> Listing:
    return class_folders(self._folder(self.train_dir), self.train_dir)

  def class_origin(self, wnid: str) -> str:
    return str(self._folder(self.train_dir) / wnid)

  def list_train_class(self, wnid: str) -> Listing:
    files, junk = self._images(self._folder(self.train_dir) / wnid)
    return Listing(tuple(files), junk)

  def read_train_class(
      self, wnid: str, names: Collection[str]
  ) -> Iterator[ImageSource]:
    return read_folder(self._folder(self.train_dir) / wnid, names)

  def train_annotations(self, wnid: str) -> dict[str, RawFile]:
    return box_archives.train_annotations(self.root, wnid)

  def annotation_counts(self) -> dict[str, int]:
    return box_archives.annotation_counts(self.root)

  @functools.cached_property
  def _val_listing(self) -> tuple[dict[str, tuple[epath.Path, str | None]], tuple[str, ...]]:
    """Val image name to (path, class folder or None), and the junk names."""
    val_dir = self._folder(self.val_dir)
    files: dict[str, tuple[epath.Path, str | None]] = {}
    if not any(child.is_dir() for child in val_dir.iterdir()):
      flat, flat_junk = self._images(val_dir)
      return {name: (path, None) for name, path in flat.items()}, flat_junk
    folders = class_folders(val_dir, self.val_dir)
    junk = list(folders.junk)
    for wnid in folders.names:
      images, class_junk = self._images(val_dir / wnid)
      junk.extend(class_junk)
      for name, path in images.items():
        files[name] = (path, wnid)
    return files, tuple(junk)

  def list_val(self) -> Listing:
    files, junk = self._val_listing
    return Listing(tuple(sorted(files)), junk)

  def read_val(self, names: Collection[str]) -> Iterator[ImageSource]:
    files = self._val_listing[0]
    for name in sorted(names):
      path = files[name][0]
      yield ImageSource(
          name, str(path), path.read_bytes, functools.partial(read_head, path),
          file_span(path),
      )

  def val_annotations(self) -> dict[int, RawFile]:
    return box_archives.val_annotations(self.root)

  def val_metadata(self) -> ValMetadata:
    folder_labels = {
        number: wnid
        for name, (_, wnid) in self._val_listing[0].items()
        if wnid is not None and (number := metadata.val_index(name)) is not None
    }
    own = []
    if folder_labels:
      own.append(LabelSource(
          f'{self.val_dir}/<wnid>/ class folders', folder_labels, LabelKind.CLASS_FOLDERS
      ))
    devkit_path = self.root / devkit.DEVKIT_2012
    found = devkit.load_devkit_2012(devkit_path) if devkit_path.exists() else None
    val_meta = devkit.val_metadata_with_csvs(
        self.root, found, f'{devkit.DEVKIT_2012} in {self.root}', own
    )
    has_val_boxes = (self.root / box_archives.BBOX_VAL).exists()
    if not val_meta.label_sources and not has_val_boxes:
      raise InputError(
          f'{self.root / self.val_dir}: no val labels. Sort val images into'
          f' {self.val_dir}/<wnid>/ folders, or put {devkit.DEVKIT_2012},'
          f' {devkit.LOC_VAL_SOLUTION} or {box_archives.BBOX_VAL} beside'
          f' {self.train_dir}/ and {self.val_dir}/.'
      )
    return val_meta
