"""An extracted class-folder tree (`train/<wnid>/`, `val/`), read in place.

This is what torchvision and hand-made scripts leave behind. Val images are
either flat in `val/` or sorted into `val/<wnid>/`. The official devkit and
box archives, or Kaggle's CSV files, are used when they lie beside.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
import functools

from etils import epath

from imagenet_custom.errors import InputError
from imagenet_custom.readers import box_archives
from imagenet_custom.readers import devkit
from imagenet_custom.readers.base import ImageSource
from imagenet_custom.readers.base import LabelSource
from imagenet_custom.readers.base import Listing
from imagenet_custom.readers.base import RawFile
from imagenet_custom.readers.base import Reader
from imagenet_custom.readers.base import ValMetadata
from imagenet_custom.readers.directories import class_folders
from imagenet_custom.readers.directories import list_directory
from imagenet_custom.readers.directories import read_folder
from imagenet_custom import metadata


class FolderReader(Reader):
  """Reads `train/<wnid>/*` and `val/` or `val/<wnid>/*`."""

  layout = 'folders'
  help_text = f"""\
folders (an extracted tree, e.g. torchvision's):
     train/<wnid>/*.JPEG (optional: evaluation-only without it) and
     val/*.JPEG or val/<wnid>/*.JPEG, with
     {devkit.DEVKIT_2012} or {devkit.LOC_VAL_SOLUTION} beside them for val
     labels and the blacklist, and the box archives if you have them."""

  @classmethod
  def detect(cls, root: epath.Path) -> bool:
    return (root / 'train').is_dir() or (root / 'val').is_dir()

  def sources(self) -> dict[str, str]:
    found = {
        'train images': self.root / 'train',
        'val images': self.root / 'val',
        'train boxes': self.root / box_archives.BBOX_TRAIN,
        'val boxes': self.root / box_archives.BBOX_VAL,
        'val labels, blacklist, class names': self.root / devkit.DEVKIT_2012,
        'val labels': self.root / devkit.LOC_VAL_SOLUTION,
        'class names': self.root / devkit.LOC_SYNSET_MAPPING,
    }
    return {role: str(path) for role, path in found.items() if path.exists()}

  def train_classes(self) -> Listing:
    return class_folders(self.root / 'train', 'train')

  def class_origin(self, wnid: str) -> str:
    return str(self.root / 'train' / wnid)

  def list_train_class(self, wnid: str) -> Listing:
    return list_directory(self.root / 'train' / wnid)

  def read_train_class(
      self, wnid: str, names: Collection[str]
  ) -> Iterator[ImageSource]:
    return read_folder(self.root / 'train' / wnid, names)

  def train_annotations(self, wnid: str) -> dict[str, RawFile]:
    return box_archives.train_annotations(self.root, wnid)

  def annotation_counts(self) -> dict[str, int]:
    return box_archives.annotation_counts(self.root)

  @functools.cached_property
  def _val_listing(self) -> tuple[dict[str, tuple[epath.Path, str | None]], tuple[str, ...]]:
    """Val image name to (path, class folder or None), and the junk names."""
    val_dir = self.root / 'val'
    files: dict[str, tuple[epath.Path, str | None]] = {}
    if not any(child.is_dir() for child in val_dir.iterdir()):
      flat = list_directory(val_dir)
      return {name: (val_dir / name, None) for name in flat.names}, flat.junk
    folders = class_folders(val_dir, 'val')
    junk = list(folders.junk)
    for wnid in folders.names:
      listing = list_directory(val_dir / wnid)
      junk.extend(listing.junk)
      for name in listing.names:
        files[name] = (val_dir / wnid / name, wnid)
    return files, tuple(junk)

  def list_val(self) -> Listing:
    files, junk = self._val_listing
    return Listing(tuple(sorted(files)), junk)

  def read_val(self, names: Collection[str]) -> Iterator[ImageSource]:
    files = self._val_listing[0]
    for name in sorted(names):
      path = files[name][0]
      yield ImageSource(name, str(path), path.read_bytes)

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
      own.append(LabelSource('val/<wnid>/ class folders', folder_labels))
    devkit_path = self.root / devkit.DEVKIT_2012
    found = devkit.load_devkit_2012(devkit_path) if devkit_path.exists() else None
    val_meta = devkit.val_metadata_with_csvs(
        self.root, found, f'{devkit.DEVKIT_2012} in {self.root}', own
    )
    has_val_boxes = (self.root / box_archives.BBOX_VAL).exists()
    if not val_meta.label_sources and not has_val_boxes:
      raise InputError(
          f'{self.root}/val: no val labels. Sort val images into'
          f' val/<wnid>/ folders, or put {devkit.DEVKIT_2012},'
          f' {devkit.LOC_VAL_SOLUTION} or {box_archives.BBOX_VAL} beside'
          ' train/ and val/.'
      )
    return val_meta
