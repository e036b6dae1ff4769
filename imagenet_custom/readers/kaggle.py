"""The Kaggle ImageNet Object Localization tree, read in place."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from absl import logging
from etils import epath

from imagenet_custom import metadata
from imagenet_custom.errors import InputError
from imagenet_custom.readers import devkit
from imagenet_custom.readers.base import class_folders
from imagenet_custom.readers.base import ImageSource
from imagenet_custom.readers.base import LabelSource
from imagenet_custom.readers.base import list_directory
from imagenet_custom.readers.base import Listing
from imagenet_custom.readers.base import RawFile
from imagenet_custom.readers.base import Reader
from imagenet_custom.readers.base import ValMetadata

DATA_DIR = 'ILSVRC/Data/CLS-LOC'
ANNOTATIONS_DIR = 'ILSVRC/Annotations/CLS-LOC'
DEVKIT_DIR = 'ILSVRC/devkit/data'


def read_folder(
    directory: epath.Path, names: Collection[str]
) -> Iterator[ImageSource]:
  """The named files of a folder, in sorted order.

  Args:
    directory: the folder.
    names: the file names to read.

  Yields:
    Each file, read when asked.
  """
  for name in sorted(names):
    path = directory / name
    yield ImageSource(name, str(path), path.read_bytes)


def annotation_folder(directory: epath.Path) -> dict[str, RawFile]:
  """The annotation XMLs of a folder, by image stem (nothing if absent)."""
  if not directory.exists():
    return {}
  return {
      name.rsplit('.', 1)[0]: RawFile(
          name, str(directory / name), (directory / name).read_bytes()
      )
      for name in list_directory(directory).names
      if name.endswith('.xml')
  }


class KaggleReader(Reader):
  """Reads the Kaggle `imagenet-object-localization-challenge` download."""

  layout = 'kaggle'

  def _data(self, split: str) -> epath.Path:
    return self.root / DATA_DIR / split

  def _annotations(self, split: str) -> epath.Path:
    return self.root / ANNOTATIONS_DIR / split

  def sources(self) -> dict[str, str]:
    found = {
        'train images': self._data('train'),
        'val images': self._data('val'),
        'train boxes': self._annotations('train'),
        'val boxes': self._annotations('val'),
        'val labels, blacklist, class names': self.root / DEVKIT_DIR,
        'val labels': self.root / devkit.LOC_VAL_SOLUTION,
        'class names': self.root / devkit.LOC_SYNSET_MAPPING,
    }
    return {role: str(path) for role, path in found.items() if path.exists()}

  def train_classes(self) -> Listing:
    return class_folders(self._data('train'), f'{DATA_DIR}/train')

  def class_origin(self, wnid: str) -> str:
    return str(self._data('train') / wnid)

  def list_train_class(self, wnid: str) -> Listing:
    return list_directory(self._data('train') / wnid)

  def read_train_class(
      self, wnid: str, names: Collection[str]
  ) -> Iterator[ImageSource]:
    return read_folder(self._data('train') / wnid, names)

  def train_annotations(self, wnid: str) -> dict[str, RawFile]:
    return annotation_folder(self._annotations('train') / wnid)

  def annotation_counts(self) -> dict[str, int]:
    directory = self._annotations('train')
    if not directory.exists():
      return {}
    return {
        child.name: sum(1 for p in child.iterdir() if p.name.endswith('.xml'))
        for child in directory.iterdir()
        if child.is_dir()
    }

  def list_val(self) -> Listing:
    return list_directory(self._data('val'))

  def read_val(self, names: Collection[str]) -> Iterator[ImageSource]:
    return read_folder(self._data('val'), names)

  def val_annotations(self) -> dict[int, RawFile]:
    found = {}
    for stem, raw in annotation_folder(self._annotations('val')).items():
      number = metadata.val_index(stem)
      if number is not None:
        found[number] = raw
    return found

  def val_metadata(self) -> ValMetadata:
    sources: list[LabelSource] = []
    blacklist = names = None
    devkit_dir = self.root / DEVKIT_DIR
    if devkit_dir.exists():
      labels, blacklist, names = devkit.load_devkit_2015(devkit_dir)
      sources.append(labels)
    csv_sources, csv_names = devkit.load_kaggle_csvs(self.root)
    sources.extend(csv_sources)
    names = csv_names or names
    if blacklist is None:
      logging.warning(
          'No ILSVRC2015 devkit in %s: no blacklist applies, all val images'
          ' go to the test split.', devkit_dir
      )
    if not sources:
      raise InputError(
          f'{self.root}: no val labels. The Kaggle layout needs'
          f' {devkit.LOC_VAL_SOLUTION} beside ILSVRC/ or the ILSVRC2015'
          f' devkit in {DEVKIT_DIR} ({devkit.MAP_CLSLOC},'
          f' {devkit.GROUND_TRUTH_2015}, {devkit.BLACKLIST_2015}).'
      )
    return ValMetadata(tuple(sources), blacklist, names)
