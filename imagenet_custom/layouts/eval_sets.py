"""The evaluation sets in the manual dir: found, listed and read in place.

Each set of `ilsvrc.eval_sets.EVAL_SETS` is found by its download as
distributed (`imagenet-a.tar`, `imagenetv2-*.tar.gz`, `ImageNet-Sketch.zip`,
read through `archives.tar_tree`, `archives.tar_gz_tree` and
`archives.zip_tree`, never extracted) or by its extracted folder
(`imagenet-a/`, ...), beside an ImageNet download or alone. ObjectNet is read
only extracted (`objectnet-1.0/`; its zip is password-protected).

Every image's `file_name` is `<class folder>/<file>`: unique within a split
although ImageNet-R repeats `art_0.jpg` in every class and V2's first release
names each class's images `0.jpeg`..`9.jpeg`.

`EvalSource` and `EvalImage` are plain and picklable: worker processes get
chunks of images and read them here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
import dataclasses
import functools
from typing import Any, NamedTuple

from etils import epath

from imagenet_custom.archives.base import file_span
from imagenet_custom.archives.base import is_junk
from imagenet_custom.archives.tar_gz_tree import read_in_order
from imagenet_custom.archives.tar_gz_tree import TarGzTree
from imagenet_custom.archives.tar_tree import TarTree
from imagenet_custom.archives.zip_tree import ZipTree
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import eval_sets as facts
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import objectnet
from imagenet_custom.ilsvrc.val_labels import ValMetadata
from imagenet_custom.layouts.base import ImageSource
from imagenet_custom.layouts.base import Listing
from imagenet_custom.layouts.base import Reader
from imagenet_custom.layouts.base import Sources
from imagenet_custom.layouts.devkit import DevkitFacts
from imagenet_custom.layouts.devkit import NO_FACTS

# Where the index of a `.tar.gz` set is kept (under the reader's cache dir).
INDEX_FOLDER = 'eval_set_index'
_IMAGES = 'images'
_MAPPINGS = 'mappings'


class EvalImage(NamedTuple):
  """One image of a set, labelled.

  Attributes:
    file_name: `<class folder>/<file>`, unique within the set.
    labels: its sorted-1,000 labels, ascending (one, except ObjectNet classes
      that map to several ImageNet classes).
  """

  file_name: str
  labels: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class EvalSource:
  """A set found in the manual dir.

  Attributes:
    split: the set's split name (`ilsvrc.eval_sets`).
    path: the archive or extracted folder read.
    kind: `tar`, `tar.gz`, `zip` or `folder`.
    index_dir: where a `.tar.gz` set's index is kept, or None (memory only).
  """

  split: str
  path: str
  kind: str
  index_dir: str | None = None

  @property
  def eval_set(self) -> facts.EvalSet:
    """The set's facts (`ilsvrc.eval_sets`)."""
    return facts.by_split()[self.split]

  def top(self) -> Any:
    """The set's top folder (`imagenet-a/`, ...), as a path to list and read."""
    folder = self.eval_set.folder
    if self.kind == 'folder':
      return epath.Path(self.path)
    if self.kind == 'tar':
      top: Any = TarTree(self.path)
    elif self.kind == 'tar.gz':
      top = TarGzTree(self.path, '', self.index_dir)
    else:
      top = ZipTree(self.path)
    if not (top / folder).is_dir():
      held = ', '.join(child.name for child in list(top.iterdir())[:5]) or 'nothing'
      raise InputError(
          f'{self.path}: expected the folder {folder}/ inside (as the'
          f' {self.eval_set.title} download holds), found at its top: {held}.'
      )
    return top / folder

  def images_folder(self) -> Any:
    """The folder holding the class folders."""
    top = self.top()
    return top / _IMAGES if self.split == facts.OBJECTNET else top


def find_eval_sets(
    root: epath.Path, cache_dir: epath.Path | None = None
) -> tuple[list[EvalSource], list[str]]:
  """The evaluation sets in the manual dir.

  Args:
    root: the manual dir.
    cache_dir: where a `.tar.gz` set's index may be kept (None: memory only).

  Returns:
    The sets found, in `EVAL_SETS` order, and notes for the build report
    (a download that cannot be read as it is, e.g. ObjectNet's zip).

  Raises:
    InputError: a set is there both as an archive and extracted.
  """
  found, notes = [], []
  index_dir = None if cache_dir is None else str(cache_dir / INDEX_FOLDER)
  for eval_set in facts.EVAL_SETS:
    folder = root / eval_set.folder
    archives = [root / name for name in eval_set.downloads if (root / name).exists()]
    if eval_set.extracted_only:
      if folder.is_dir():
        found.append(EvalSource(eval_set.split, str(folder), 'folder'))
      elif archives:
        notes.append(
            f'{archives[0]}: {eval_set.title} is read only extracted (its zip'
            f' is password-protected): extract it to {folder}/ to build the'
            f' {eval_set.split} split.'
        )
      continue
    if folder.is_dir() and archives:
      raise InputError(
          f'{root} holds {eval_set.title} twice: {archives[0].name} and the'
          f' folder {eval_set.folder}/. Move one of them out.'
      )
    if folder.is_dir():
      found.append(EvalSource(eval_set.split, str(folder), 'folder'))
    elif archives:
      name = archives[0].name
      kind = 'tar.gz' if name.endswith('.tar.gz') else name.rsplit('.', 1)[-1]
      found.append(EvalSource(eval_set.split, str(archives[0]), kind, index_dir))
  return found, notes


def _sorted_children(folder: Any) -> list[Any]:
  return sorted(folder.iterdir(), key=lambda p: p.name)


def _folder_label(source: EvalSource, name: str, allowed: frozenset[str]) -> int:
  """The label of a class folder named by WNID or (V2) by index."""
  eval_set = source.eval_set
  where = f'{source.path}:{eval_set.folder}/{name}'
  if eval_set.folder_names is facts.FolderNames.INDEX and not name.startswith('n'):
    if not (name.isdigit() and str(int(name)) == name and int(name) < 1000):
      raise InputError(
          f'{where}: {eval_set.title} class folders are the class indices 0..999'
          f' (or WNIDs), not {name!r}. Restore the download as distributed.'
      )
    return int(name)
  metadata.check_known_wnid(name, where)
  if name not in allowed:
    raise InputError(
        f'{where}: {name} is not one of the {len(allowed)} classes of'
        f' {eval_set.title}. Restore the download as distributed.'
    )
  return metadata.wnids().index(name)


class Listed(NamedTuple):
  """A set's images and what was found beside them.

  Attributes:
    images: the images to write, in storage order.
    ignored: files beside the class folders (README.txt) and junk, by path.
    unmapped: images of classes with no ImageNet counterpart (ObjectNet).
  """

  images: tuple[EvalImage, ...]
  ignored: tuple[str, ...]
  unmapped: int


def objectnet_mapping(source: EvalSource) -> dict[str, tuple[int, ...]]:
  """ObjectNet's mapping read from the set's own `mappings/` files."""
  mappings = source.top() / _MAPPINGS
  texts = {}
  for name in objectnet.MAPPING_FILES:
    path = mappings / name
    if not path.exists():
      raise InputError(
          f'{path}: missing; ObjectNet\'s labels are read from its mappings/'
          ' files. Extract the whole objectnet-1.0.zip.'
      )
    texts[name] = path.read_text()
  return objectnet.parse_mappings(texts, str(mappings))


def list_eval_set(source: EvalSource) -> Listed:
  """Lists and labels a set's images (headers only), checking its classes.

  Args:
    source: the set.

  Returns:
    Its images and what was found beside them.

  Raises:
    InputError: a class folder that is not one of the set's classes, the
      wrong number of classes, a folder inside a class folder, or an archive
      that is truncated or corrupt.
  """
  eval_set = source.eval_set
  images_folder = source.images_folder()
  mapping: dict[str, tuple[int, ...]] = {}
  allowed: frozenset[str] = frozenset()
  if eval_set.folder_names is facts.FolderNames.OBJECTNET:
    mapping = objectnet_mapping(source)
  else:
    allowed = frozenset(facts.class_wnids(eval_set.split))
  images, ignored, unmapped, classes = [], [], 0, 0
  for folder in _sorted_children(images_folder):
    if is_junk(folder.name) or not folder.is_dir():
      ignored.append(str(folder))
      continue
    classes += 1
    if eval_set.folder_names is facts.FolderNames.OBJECTNET:
      labels = mapping.get(folder.name)
    else:
      labels = (_folder_label(source, folder.name, allowed),)
    for file in _sorted_children(folder):
      if is_junk(file.name):
        ignored.append(str(file))
        continue
      if file.is_dir():
        raise InputError(
            f'{file}: a folder inside the class folder {folder.name}/;'
            f' {eval_set.title} holds images only there.'
        )
      if labels is None:
        unmapped += 1
      else:
        images.append(EvalImage(f'{folder.name}/{file.name}', labels))
  labels_of_folders = [image.labels for image in images]
  if eval_set.folder_names is facts.FolderNames.INDEX and len(set(labels_of_folders)) < len(
      {image.file_name.split('/')[0] for image in images}
  ):
    raise InputError(
        f'{source.path}: two class folders of {eval_set.folder}/ name the same'
        ' class (an index and its WNID): keep one release of the set.'
    )
  if classes != eval_set.num_classes:
    raise InputError(
        f'{source.path}: {classes} class folders in {eval_set.folder}/, but'
        f' {eval_set.title} has {eval_set.num_classes}. The download is'
        ' incomplete or not the release this build knows: download it again.'
    )
  return Listed(tuple(images), tuple(ignored), unmapped)


def read_eval_images(
    source: EvalSource, file_names: Sequence[str]
) -> Iterator[ImageSource]:
  """The named images of a set, each read when asked (or in one pass).

  Args:
    source: the set.
    file_names: `EvalImage.file_name`s of the set.

  Yields:
    The images, in the order given (a `.tar.gz` set: in archive order).
  """
  folder = source.images_folder()
  paths = [(name, folder / name) for name in file_names]
  if source.kind == 'tar.gz':
    # Inflated here, so the bytes lie in no file as they are: no span.
    name_of = {path: name for name, path in paths}
    for path, data in read_in_order(path for _, path in paths):
      yield ImageSource(name_of[path], str(path), functools.partial(_same, data))
    return
  for name, path in paths:
    if isinstance(path, TarTree):
      span = path.span()
    elif isinstance(path, ZipTree):
      span = None
    else:
      span = file_span(path)
    yield ImageSource(name, str(path), path.read_bytes, None, span)


def _same(data: bytes) -> bytes:
  return data


class NoImageNet(Reader):
  """The ImageNet side of a build from evaluation sets alone: no images.

  Not in the layout registry: the builder uses it when the manual dir holds
  evaluation sets and no ImageNet layout, so every ImageNet split is empty.
  """

  layout = 'eval_sets_only'
  help_text = 'evaluation sets only (no ImageNet download)'

  @classmethod
  def detect(cls, root: epath.Path) -> bool:
    del root
    return False

  def sources(self) -> Sources:
    return Sources()

  def devkit_facts(self) -> DevkitFacts:
    return NO_FACTS

  def train_classes(self) -> Listing:
    return Listing((), ())

  def class_origin(self, wnid: str) -> str:
    raise ValueError(f'{self}: no train class {wnid}')

  def list_train_class(self, wnid: str) -> Listing:
    raise ValueError(f'{self}: no train class {wnid}')

  def read_train_class(self, wnid: str, names: Collection[str]) -> Iterator[ImageSource]:
    raise ValueError(f'{self}: no train class {wnid}')

  def train_annotations(self, wnid: str) -> dict[str, Any]:
    return {}

  def annotation_counts(self) -> dict[str, int]:
    return {}

  def list_val(self) -> Listing:
    return Listing((), ())

  def read_val(self, names: Collection[str]) -> Iterator[ImageSource]:
    return iter(())

  def val_annotations(self) -> dict[int, Any]:
    return {}

  def val_metadata(self) -> ValMetadata:
    return ValMetadata((), None, None)
