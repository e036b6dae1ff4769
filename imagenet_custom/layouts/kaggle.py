"""The Kaggle ImageNet Object Localization tree, read in place."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from etils import epath

from imagenet_custom.archives.base import RawFile
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc.val_labels import ValMetadata
from imagenet_custom.layouts import devkit
from imagenet_custom.layouts.base import ImageSource
from imagenet_custom.layouts.base import Listing
from imagenet_custom.layouts.base import Reader
from imagenet_custom.layouts.base import Sources
from imagenet_custom.layouts.devkit import DevkitFacts
from imagenet_custom.layouts.directories import class_folders
from imagenet_custom.layouts.directories import list_directory
from imagenet_custom.layouts.directories import read_folder

DATA_DIR = 'ILSVRC/Data/CLS-LOC'
ANNOTATIONS_DIR = 'ILSVRC/Annotations/CLS-LOC'
DEVKIT_DIR = 'ILSVRC/devkit/data'


def annotation_folder(directory: epath.Path) -> dict[str, RawFile]:
  """The annotation XMLs of a folder, by image stem (nothing if absent)."""
  if not directory.exists():
    return {}
  return {
      metadata.file_stem(name): RawFile(
          name, str(directory / name), (directory / name).read_bytes()
      )
      for name in list_directory(directory).names
      if name.endswith('.xml')
  }


class KaggleReader(Reader):
  """Reads the Kaggle `imagenet-object-localization-challenge` download."""

  layout = 'kaggle'
  help_text = f"""\
kaggle (kaggle competitions download imagenet-object-localization-challenge,
   unzipped):
     {DATA_DIR}/train/<wnid>/*.JPEG and {DATA_DIR}/val/*.JPEG
     {ANNOTATIONS_DIR}/{{train/<wnid>,val}}/*.xml (boxes)
     {devkit.LOC_VAL_SOLUTION}, {devkit.LOC_SYNSET_MAPPING}
     {DEVKIT_DIR}/{{{devkit.MAP_CLSLOC},{devkit.GROUND_TRUTH_2015},
       {devkit.BLACKLIST_2015}}} (ILSVRC2015 devkit, for the blacklist)"""

  @classmethod
  def detect(cls, root: epath.Path) -> bool:
    return (root / DATA_DIR).exists()

  @property
  def _tree(self) -> epath.Path:
    """Where the Kaggle tree is: the manual dir (see `kaggle_zip` for the zip)."""
    return self.root

  def _data(self, split: str) -> epath.Path:
    return self._tree / DATA_DIR / split

  def _annotations(self, split: str) -> epath.Path:
    return self._tree / ANNOTATIONS_DIR / split

  def sources(self) -> Sources:
    return Sources.existing(
        train_images=self._data('train'),
        val_images=self._data('val'),
        train_boxes=self._annotations('train'),
        val_boxes=self._annotations('val'),
        devkit=self._tree / DEVKIT_DIR,
        val_solution=self._tree / devkit.LOC_VAL_SOLUTION,
        synset_mapping=self._tree / devkit.LOC_SYNSET_MAPPING,
    )

  def devkit_facts(self) -> DevkitFacts:
    return devkit.read_devkit_facts(
        (self._tree / DEVKIT_DIR / devkit.MAP_CLSLOC, self.root / devkit.MAP_CLSLOC),
        self._tree / devkit.LOC_SYNSET_MAPPING,
    )

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
    devkit_dir = self._tree / DEVKIT_DIR
    found = devkit.load_devkit_2015(devkit_dir) if devkit_dir.exists() else None
    val_meta = devkit.val_metadata_with_csvs(
        self._tree, found, f'ILSVRC2015 devkit in {devkit_dir}'
    )
    if not val_meta.label_sources:
      raise InputError(
          f'{self._tree}: no val labels. The Kaggle layout needs'
          f' {devkit.LOC_VAL_SOLUTION} beside ILSVRC/ or the ILSVRC2015'
          f' devkit in {DEVKIT_DIR} ({devkit.MAP_CLSLOC},'
          f' {devkit.GROUND_TRUTH_2015}, {devkit.BLACKLIST_2015}).'
      )
    return val_meta
