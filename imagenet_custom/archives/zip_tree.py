"""A folder tree inside a zip file, read in place through its central directory.

`ZipTree` offers the part of `epath.Path` that the folder readers use
(`/`, `name`, `exists`, `is_dir`, `iterdir`, `read_bytes`, `read_text`), so
the Kaggle reader reads the unextracted Kaggle zip with the same code as the
extracted tree (`readers/kaggle_zip.py`).

The central directory is read once per process with the stdlib `zipfile`
(stored and deflated entries, zip64 when the archive needs it); each entry's
bytes are read and inflated on demand, never extracted to disk.

Contracts: a `ZipTree` holds only two strings, so it pickles (worker
processes unpickle readers); the open archive is per process (a forked child
never shares its parent's file offset) and shared by that process's threads:
`zipfile` serialises the raw reads under its own lock, and inflating runs
outside it, so reads are thread-safe.
"""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
import os
import threading
from typing import IO
import zipfile

from imagenet_custom.archives.base import ArchivePath
from imagenet_custom.errors import BadFileError
from imagenet_custom.errors import InputError

# Compression methods `zipfile` inflates without extra packages.
_SUPPORTED_METHODS = {zipfile.ZIP_STORED: 'stored', zipfile.ZIP_DEFLATED: 'deflated'}


@dataclasses.dataclass
class _Index:
  """An archive's central directory, as files and folders.

  Attributes:
    archive: the open zip file (this process's).
    files: entry by path (no trailing slash).
    children: the names in each folder ('' is the top), sorted.
  """

  archive: zipfile.ZipFile
  files: dict[str, zipfile.ZipInfo]
  children: dict[str, tuple[str, ...]]


_lock = threading.Lock()
# (process id, archive path) -> index. A forked child builds its own.
_indexes: dict[tuple[int, str], _Index] = {}


def _after_fork_in_child() -> None:
  # Another thread of the parent may have held the lock when it forked.
  global _lock  # noqa: PLW0603 (the module lock is replaced in a forked child)
  _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _build_index(path: str) -> _Index:
  """Opens an archive and lays its entries out as folders.

  Args:
    path: the zip file.

  Returns:
    Its index.

  Raises:
    InputError: not a zip file, or an entry uses a compression method
      other than stored or deflated.
  """
  try:
    archive = zipfile.ZipFile(path)
  except (zipfile.BadZipFile, OSError) as e:
    raise InputError(
        f'{path}: cannot read the zip central directory ({e}). The download'
        ' is incomplete or damaged: download it again (check its size).'
    ) from e
  files: dict[str, zipfile.ZipInfo] = {}
  children: dict[str, set[str]] = {'': set()}
  for info in archive.infolist():
    name = info.filename.rstrip('/')
    if not name:
      continue
    parts = name.split('/')
    for depth in range(len(parts)):
      parent = '/'.join(parts[:depth])
      children.setdefault(parent, set()).add(parts[depth])
      children.setdefault('/'.join(parts[: depth + 1]), set())
    if info.is_dir():
      continue
    if info.compress_type not in _SUPPORTED_METHODS:
      raise InputError(
          f'{path}:{name}: compression method {info.compress_type} is not'
          ' supported (only stored and deflated, as Kaggle writes). Extract'
          ' the archive and use the extracted tree instead.'
      )
    files[name] = info
  for name in files:
    # A file is not a folder, even if another entry misuses its path.
    if not children.get(name):
      children.pop(name, None)
  return _Index(
      archive, files, {folder: tuple(sorted(names)) for folder, names in children.items()}
  )


def index_of(path: str) -> _Index:
  """This process's index of an archive, built on first use.

  Args:
    path: the zip file.

  Returns:
    The index (shared by the process's threads).
  """
  key = (os.getpid(), path)
  with _lock:
    found = _indexes.get(key)
    if found is None:
      found = _indexes[key] = _build_index(path)
    return found


class ZipTree(ArchivePath):
  """A file or folder inside a zip file: a read-only, picklable path.

  Attributes:
    archive: the zip file's path.
    inner: the path inside it, `/`-separated, '' for the top.
  """

  def _index(self) -> _Index:
    return index_of(self.archive)

  def exists(self) -> bool:
    """Whether the archive has this file or folder."""
    index = self._index()
    return self.inner in index.files or self.inner in index.children

  def is_dir(self) -> bool:
    """Whether this is a folder in the archive."""
    return self.inner in self._index().children

  def iterdir(self) -> Iterator[ZipTree]:
    """The entries of this folder, sorted by name.

    Raises:
      InputError: this is not a folder of the archive.
    """
    children = self._index().children.get(self.inner)
    if children is None:
      raise InputError(f'{self}: no such folder in the zip file.')
    for child in children:
      yield self / child

  def read_bytes(self) -> bytes:
    """The entry's bytes, inflated; the zip's CRC-32 is checked.

    Raises:
      InputError: no such file in the archive.
      BadFileError: the entry's data is damaged.
    """
    index = self._index()
    info = index.files.get(self.inner)
    if info is None:
      raise InputError(f'{self}: no such file in the zip file.')
    try:
      with index.archive.open(info) as entry:
        return entry.read()
    except (zipfile.BadZipFile, EOFError, OSError) as e:
      raise BadFileError(
          str(self), f'damaged zip entry ({e}); download the zip again'
      ) from e

  def open(self, mode: str = 'rb') -> IO[bytes]:
    """The entry as a file, inflated as it is read (read-only).

    Raises:
      InputError: no such file in the archive.
    """
    if mode != 'rb':
      raise ValueError(f'{self}: a zip entry opens read-only (rb), not {mode!r}')
    index = self._index()
    info = index.files.get(self.inner)
    if info is None:
      raise InputError(f'{self}: no such file in the zip file.')
    return index.archive.open(info)

  def size(self) -> int:
    """The entry's uncompressed size in bytes."""
    return self._index().files[self.inner].file_size
