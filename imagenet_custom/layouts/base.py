"""The interface every input layout implements, and what they share."""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection, Iterator
import dataclasses
from typing import ClassVar, NamedTuple

from etils import epath

from imagenet_custom.archives.base import RawFile
from imagenet_custom.archives.base import Span
from imagenet_custom.ilsvrc.val_labels import ValMetadata
from imagenet_custom.layouts.devkit import DevkitFacts


def _role(description: str) -> dict[str, str]:
  return {'role': description}


@dataclasses.dataclass(frozen=True)
class Sources:
  """The files a reader reads, by what they hold: a path, or None when absent.

  What other layers ask of a layout ("are there train images?") is a field
  here, never a display string; `described()` gives the display strings.

  Attributes:
    train_images: the train images (an archive, or the folder of class folders).
    val_images: the val images.
    train_boxes: the train box annotations.
    val_boxes: the val box annotations.
    devkit: the devkit (val labels, blacklist, class names).
    val_solution: Kaggle's `LOC_val_solution.csv` (val labels).
    synset_mapping: Kaggle's `LOC_synset_mapping.txt` (class names).
    train_reference: a list of every train image the input should hold
      (`train_cls.txt`), which makes missing ones countable.
  """

  train_images: str | None = dataclasses.field(default=None, metadata=_role('train images'))
  val_images: str | None = dataclasses.field(default=None, metadata=_role('val images'))
  train_boxes: str | None = dataclasses.field(default=None, metadata=_role('train boxes'))
  val_boxes: str | None = dataclasses.field(default=None, metadata=_role('val boxes'))
  devkit: str | None = dataclasses.field(
      default=None, metadata=_role('val labels, blacklist, class names')
  )
  val_solution: str | None = dataclasses.field(default=None, metadata=_role('val labels'))
  synset_mapping: str | None = dataclasses.field(default=None, metadata=_role('class names'))
  train_reference: str | None = dataclasses.field(
      default=None, metadata=_role('train reference list')
  )

  @classmethod
  def existing(cls, **paths: epath.Path) -> Sources:
    """The sources among `paths` (field name to path) that exist.

    Raises:
      TypeError: a name is not a field (a renamed field fails here).
    """
    return cls(**{field: str(path) for field, path in paths.items() if path.exists()})

  def described(self) -> list[tuple[str, str]]:
    """`(what the file holds, its path)` of each source present, in field order."""
    return [
        (field.metadata['role'], path)
        for field in dataclasses.fields(self)
        if (path := getattr(self, field.name)) is not None
    ]


class ImageSource(NamedTuple):
  """An image found in the input, read when `read()` is called.

  Reading is deferred so that it can happen in a worker thread, overlapping
  disk waits with the writer's work.

  Attributes:
    name: the file name, e.g. `n01440764_10026.JPEG`.
    origin: where it is, e.g. `ILSVRC2012_img_train.tar:n01440764.tar:...`.
    read: returns the file's bytes; thread-safe.
    head: returns the file's first n bytes without reading the rest
      (`head(n)`, thread-safe; for checks that read headers only), or None
      when the layout cannot read part of a file.
    span: where the bytes `read` returns lie in a local file, for a build
      that reads them again there instead of copying them (see `spill`);
      None when they do not lie as they are in a local file.
  """

  name: str
  origin: str
  read: Callable[[], bytes]
  head: Callable[[int], bytes] | None = None
  span: Span | None = None


class Listing(NamedTuple):
  """The images of one class folder, inner tar or val set.

  Attributes:
    names: image file names, in storage order.
    junk: junk entries found beside them (ignored).
  """

  names: tuple[str, ...]
  junk: tuple[str, ...]


class Reader(abc.ABC):
  """Reads one input layout in place. Picklable: holds paths, not files.

  Image listing and reading is per train class (the unit of parallel work) or
  for the whole val set. Implementations never extract or move files. Each
  call stands alone: any method may be called from any thread or process, in
  any order (readers may cache, but never require an earlier call).

  A layout is one subclass that sets `layout` and `help_text` and implements
  `detect`, listed in `layouts.READERS`.

  Attributes:
    layout: the layout's name, as given in the builder config.
    help_text: what the layout needs in the manual dir: one item of the help
      shown when no layout is found (continuation lines indented by 3
      spaces).
    root: the manual dir.
  """

  layout: ClassVar[str] = ''
  help_text: ClassVar[str] = ''
  # Whether the layout's images are face-blurred (recorded in `info.metadata`).
  face_blurred: ClassVar[bool] = False
  # Where the reader may keep what it computes once per input and every
  # process reuses (the index of a compressed archive); None keeps it in
  # each process's memory and writes nothing. Set by `layouts.find_reader`.
  cache_dir: epath.Path | None = None

  def __init__(self, root: epath.Path):
    self.root = root

  def __repr__(self) -> str:
    return f'{type(self).__name__}({str(self.root)!r})'

  @classmethod
  @abc.abstractmethod
  def detect(cls, root: epath.Path) -> bool:
    """Whether `root` looks like this layout (existence checks only)."""

  @abc.abstractmethod
  def sources(self) -> Sources:
    """The files read, by what they hold; a build without train images is evaluation-only."""

  @abc.abstractmethod
  def train_classes(self) -> Listing:
    """The WNIDs of the classes with train images, in storage order.

    Every name is checked to be one of the 1,000 WNIDs; junk entries beside
    the class folders or inner tars are returned as `junk`.
    """

  @abc.abstractmethod
  def class_origin(self, wnid: str) -> str:
    """Where a class's train images are, e.g. `ILSVRC2012_img_train.tar:n01440764.tar`."""

  @abc.abstractmethod
  def list_train_class(self, wnid: str) -> Listing:
    """The train images of one class."""

  @abc.abstractmethod
  def read_train_class(
      self, wnid: str, names: Collection[str]
  ) -> Iterator[ImageSource]:
    """The named train images of one class, in storage order.

    Images not named are skipped without being read.
    """

  @abc.abstractmethod
  def train_annotations(self, wnid: str) -> dict[str, RawFile]:
    """The box annotation XMLs of one class, by image stem."""

  @abc.abstractmethod
  def annotation_counts(self) -> dict[str, int]:
    """The number of train annotations per class, for orphan accounting."""

  @abc.abstractmethod
  def list_val(self) -> Listing:
    """The val images."""

  @abc.abstractmethod
  def read_val(self, names: Collection[str]) -> Iterator[ImageSource]:
    """The named val images, in storage order."""

  @abc.abstractmethod
  def val_annotations(self) -> dict[int, RawFile]:
    """The val box annotation XMLs by val image number."""

  @abc.abstractmethod
  def val_metadata(self) -> ValMetadata:
    """Val labels, blacklist and class names from the metadata files."""

  @abc.abstractmethod
  def devkit_facts(self) -> DevkitFacts:
    """The devkit's class IDs and the class names, from the files this layout reads.

    Empty tables when the layout's input has no devkit (or no name source).
    """

  def train_heads(self, wnid: str) -> dict[str, bytes] | None:
    """The first bytes of each train image of a class, if listing read them.

    For header checks (the pre-flight check) without one read per image.
    None (the default) when the layout's listing does not read them: read
    `ImageSource.head` instead. Keys are those of `list_train_class`; at
    least 8 bytes of each image (all of a shorter one).
    """
    del wnid
    return None

  def val_heads(self) -> dict[str, bytes] | None:
    """The first bytes of each val image, as `train_heads` (None by default)."""
    return None

  def missing_images(self) -> tuple[str, ...]:
    """Images the layout's own reference lists name but its input lacks.

    Counted in the build report, not fatal (e.g. the originals that have no
    face-blurred version). Empty for layouts without such a list.
    """
    return ()

  def archives(self) -> dict[str, epath.Path]:
    """The official archives read, by file name.

    Their sizes are checked against `checksums.tsv`, and with the config's
    `verify_checksums` their SHA-256 too.
    """
    return {}
