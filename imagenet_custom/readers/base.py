"""The interface every input layout implements, and what they share."""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection, Iterator
import dataclasses
import os
from typing import Any, ClassVar, NamedTuple

from etils import epath

# Files that operating systems and archivers leave behind (macOS Finder,
# AppleDouble resource forks, Windows thumbnails). Ignored and counted.
_JUNK_NAMES = frozenset({'.DS_Store', 'Thumbs.db', 'desktop.ini', '.directory'})


def is_junk(name: str) -> bool:
  """Whether a file name is OS or archiver junk, not data."""
  base = name.rsplit('/', 1)[-1]
  return base in _JUNK_NAMES or base.startswith('._') or base == '__MACOSX'


class RawFile(NamedTuple):
  """One file's bytes as found in the input.

  Attributes:
    name: the file name, e.g. `n01440764_10026.JPEG`.
    origin: where it is, e.g. `ILSVRC2012_img_train.tar:n01440764.tar:...`.
    data: the bytes.
  """

  name: str
  origin: str
  data: bytes


class Span(NamedTuple):
  """Where a file's bytes lie in a local regular file (an archive or itself).

  Attributes:
    path: the local file.
    offset: the first byte's offset in it.
  """

  path: str
  offset: int


def file_span(path: Any) -> Span | None:
  """A whole local file's span, or None for a remote path or a zip entry."""
  if not isinstance(path, os.PathLike):
    return None
  try:
    local = os.fspath(path)
  except (TypeError, ValueError, NotImplementedError):
    return None
  if not isinstance(local, str) or '://' in local:
    return None
  return Span(os.path.abspath(local), 0)


class ArchivePath:
  """A file or folder inside an archive, as a read-only, picklable path.

  What the archive trees (`zip_tree.ZipTree`, `tar_gz_tree.TarGzTree`)
  share: the path arithmetic and identity; each adds the reading.

  Attributes:
    archive: the archive's path.
    inner: the path inside it, `/`-separated, '' for the top.
  """

  def __init__(self, archive: epath.PathLike, inner: str = ''):
    self.archive = str(archive)
    self.inner = inner.strip('/')

  def _at(self, inner: str) -> Any:
    """The same kind of path, in the same archive, at `inner`."""
    return type(self)(self.archive, inner)

  def __truediv__(self, part: str) -> Any:
    return self._at(f'{self.inner}/{part}' if self.inner else str(part))

  def __str__(self) -> str:
    return f'{self.archive}:{self.inner}' if self.inner else self.archive

  def __repr__(self) -> str:
    return f'{type(self).__name__}({self.archive!r}, {self.inner!r})'

  def __eq__(self, other: object) -> bool:
    return type(other) is type(self) and (
        (self.archive, self.inner) == (other.archive, other.inner)
    )

  def __hash__(self) -> int:
    return hash((self.archive, self.inner))

  @property
  def name(self) -> str:
    """The last part of the path ('' for the top)."""
    return self.inner.rsplit('/', 1)[-1]

  def read_bytes(self) -> bytes:
    raise NotImplementedError

  def read_text(self, encoding: str = 'utf-8') -> str:
    """The file's text."""
    return self.read_bytes().decode(encoding)


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


@dataclasses.dataclass(frozen=True)
class LabelSource:
  """One source of val labels.

  Attributes:
    name: e.g. `ILSVRC2012_devkit_t12.tar.gz:.../ground_truth.txt`.
    labels: WNID by val image number.
  """

  name: str
  labels: dict[int, str]


@dataclasses.dataclass(frozen=True)
class ValMetadata:
  """Everything about the val set that comes from metadata files.

  Attributes:
    label_sources: all sources of labels found (they must agree).
    blacklist: blacklisted val image numbers; None when no devkit was found.
    class_names: human-readable name by WNID, when a source has them.
  """

  label_sources: tuple[LabelSource, ...]
  blacklist: frozenset[int] | None
  class_names: dict[str, str] | None


class Reader(abc.ABC):
  """Reads one input layout in place. Picklable: holds paths, not files.

  Image listing and reading is per train class (the unit of parallel work) or
  for the whole val set. Implementations never extract or move files. Each
  call stands alone: any method may be called from any thread or process, in
  any order (readers may cache, but never require an earlier call).

  A layout is one subclass that sets `layout` and `help_text` and implements
  `detect`, listed in `readers.READERS`.

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
  # each process's memory and writes nothing. Set by `readers.find_reader`.
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
  def sources(self) -> dict[str, str]:
    """The files read, by role (`train images`, `val labels`, ...)."""

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
