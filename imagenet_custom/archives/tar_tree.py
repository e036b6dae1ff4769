"""A folder tree inside an uncompressed tar, read in place through its headers.

`TarTree` offers the part of `epath.Path` that folder readers list with
(`/`, `name`, `exists`, `is_dir`, `iterdir`, `read_bytes`, `read_text`), as
`zip_tree.ZipTree` and `tar_gz_tree.TarGzTree` do for zip and `.tar.gz`
files, so one reader lists `imagenet-a.tar` and its extracted `imagenet-a/`
folder with the same code.

The headers are listed once per process (`tario.list_files`, which raises on a
truncated or corrupt archive); folders are the parents of the files' paths
(directory entries are not needed). A file's bytes lie unchanged in the tar,
so `span()` says where, for a build that reads them again there.

Contracts: a `TarTree` holds two strings, so it pickles (worker processes
unpickle readers); the listing is per process and shared by its threads;
reads use `pread` on this process's own file, so they are thread-safe.
"""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
import os
import threading
from typing import BinaryIO

from etils import epath

from imagenet_custom.archives import tario
from imagenet_custom.archives.base import ArchivePath
from imagenet_custom.archives.base import Span
from imagenet_custom.errors import InputError


@dataclasses.dataclass
class _Index:
  """A tar's regular files, as files and folders.

  Attributes:
    file: the open tar (this process's).
    files: each file's listing by path (no leading `./` or `/`).
    children: the names in each folder ('' is the top), sorted.
  """

  file: BinaryIO
  files: dict[str, tario.TarFile]
  children: dict[str, tuple[str, ...]]


_lock = threading.Lock()
# (process id, archive path) -> index. A forked child lists its own.
_indexes: dict[tuple[int, str], _Index] = {}


def _after_fork_in_child() -> None:
  global _lock  # noqa: PLW0603 (the module lock is replaced in a forked child)
  _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _normalise(name: str) -> str:
  while name.startswith('./'):
    name = name[2:]
  return name.strip('/')


def _build_index(path: str) -> _Index:
  """Lists a tar's headers and lays its files out as folders.

  Raises:
    InputError: the tar is truncated or corrupt (named, with what to do).
  """
  try:
    file = tario.open_raw(epath.Path(path))
  except OSError as e:
    raise InputError(f'{path}: cannot open the archive ({e}).') from e
  origin = os.path.basename(path)
  files: dict[str, tario.TarFile] = {}
  children: dict[str, set[str]] = {'': set()}
  for listed in tario.list_files(file, origin):
    name = _normalise(listed.name)
    if not name:
      continue
    parts = name.split('/')
    for depth in range(len(parts)):
      children.setdefault('/'.join(parts[:depth]), set()).add(parts[depth])
    files[name] = listed
  for name in files:
    children.pop(name, None)
  return _Index(
      file, files, {folder: tuple(sorted(names)) for folder, names in children.items()}
  )


def index_of(path: str) -> _Index:
  """This process's index of a tar, listed on first use.

  Args:
    path: the tar file.

  Returns:
    The index (shared by the process's threads).
  """
  key = (os.getpid(), path)
  with _lock:
    found = _indexes.get(key)
    if found is None:
      found = _indexes[key] = _build_index(path)
    return found


class TarTree(ArchivePath):
  """A file or folder inside an uncompressed tar: a read-only, picklable path.

  Attributes:
    archive: the tar file's path.
    inner: the path inside it, `/`-separated, '' for the top.
  """

  def _index(self) -> _Index:
    return index_of(self.archive)

  def exists(self) -> bool:
    """Whether the archive has this file or folder."""
    index = self._index()
    return self.inner in index.files or self.inner in index.children

  def is_dir(self) -> bool:
    """Whether this is a folder of the archive."""
    return self.inner in self._index().children

  def iterdir(self) -> Iterator[TarTree]:
    """The entries of this folder, sorted by name.

    Raises:
      InputError: this is not a folder of the archive.
    """
    children = self._index().children.get(self.inner)
    if children is None:
      raise InputError(f'{self}: no such folder in the archive.')
    for child in children:
      yield self / child

  def _member(self) -> tario.TarFile:
    found = self._index().files.get(self.inner)
    if found is None:
      raise InputError(f'{self}: no such file in the archive.')
    return found

  def read_bytes(self) -> bytes:
    """The file's bytes (one `pread`).

    Raises:
      InputError: no such file, or the archive is shorter than its header says.
    """
    member = self._member()
    return tario.read_member(self._index().file, member.offset, member.size, str(self))

  def size(self) -> int:
    """The file's size in bytes."""
    return self._member().size

  def span(self) -> Span | None:
    """Where the file's bytes lie in the tar (None for a remote archive)."""
    if '://' in self.archive:
      return None
    return Span(os.path.abspath(self.archive), self._member().offset)
