"""What the archive readers share: files, spans and paths inside archives."""

from __future__ import annotations

import os
from typing import Any, NamedTuple

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
