"""A `.tar.gz` read in place: its members found in one pass, then read through a gzip index.

A compressed tar cannot be read from the middle (see `gzip_index`), so one
sequential pass inflates the archive, parses its tar headers as they go by
(`tar_headers`), and keeps an *index*: every member (path, the offset of its
data in the uncompressed tar, size), by folder, and rapidgzip's gzip index
(access points about every `gzip_index.CHUNK_BYTES` of the archive). Reading
a folder's members then starts at the access point before its first member:
a build worker reading one class inflates that class and at most one chunk
before it. Nothing is extracted.

The pass costs what `gunzip` of the archive costs, so its index is kept in an
*index file* when the caller gives a folder for it (the build: TFDS's download
dir), written once and read by every process after (the build's workers read
it rather than repeat the pass). The file is found by the archive's path and
used only while the archive's size and modification time match those it
records; otherwise (and when it is damaged, or of another version) the pass
runs again. Format (version 2): a magic line, the length and text of a JSON
header (archive size and mtime, uncompressed size, where the rest lies), then
the gzip index (rapidgzip's export), then each folder's member table
(zlib-compressed JSON), read only when that folder is.

Member paths are the tar's, without a leading `./` (see `tar_headers` for the
entries kept).

Contracts: a `TarGzIndex` is shared by the threads of a process; each read
takes an open gzip reader of its own from the index's pool (opened on first
need, kept for the next read), so a process opens the archive once per thread
that reads at the same time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import hashlib
import json
import os
import struct
import threading
import time
from typing import NamedTuple
import zlib

from absl import logging
from etils import epath

from imagenet_custom.archives import gzip_index
from imagenet_custom.archives import tar_headers
from imagenet_custom.errors import InputError

_MAGIC = b'imagenet_custom tar.gz index\n'
# 2: the gzip index is rapidgzip's (1 held zran-style windows of our own).
_VERSION = 2
_LENGTH = struct.Struct('<Q')
_PROGRESS_SECONDS = 30.0


class Member(NamedTuple):
  """A regular file in the archive.

  Attributes:
    path: its path in the archive, e.g. `train_blurred/n01440764/x.jpg`.
    offset: where its data starts in the uncompressed tar.
    size: its size in bytes.
  """

  path: str
  offset: int
  size: int


def parent_of(path: str) -> str:
  """The folder holding a member ('' for the top)."""
  return path.rpartition('/')[0]


class TarGzIndex:
  """What one pass learned of a `.tar.gz`: its members and its gzip index.

  Either all in memory (just built: `gzip_index` and `members` given) or read
  from an index file on use (`file` and the offsets given). Thread-safe:
  member tables load on first use, under a lock.

  Attributes:
    archive: the archive's path.
    archive_size: its size in bytes when indexed.
    archive_mtime: its modification time (ns for local files) when indexed.
    size: the uncompressed tar's size.
    access_points: how many access points the gzip index holds.
    folders: every folder ('' is the top), sorted.
  """

  def __init__(
      self,
      archive: str,
      archive_size: int,
      archive_mtime: int,
      size: int,
      access_points: int,
      folders: Iterable[str],
      *,
      gzip_index_bytes: bytes | None = None,
      members: dict[str, list[Member]] | None = None,
      file: str | None = None,
      gzip_index_span: tuple[int, int] | None = None,
      member_offsets: dict[str, tuple[int, int]] | None = None,
  ):
    self.archive = archive
    self.archive_size = archive_size
    self.archive_mtime = archive_mtime
    self.size = size
    self.access_points = access_points
    self.folders = tuple(sorted(folders))
    self._folder_set = frozenset(self.folders)
    self._gzip_index = gzip_index_bytes
    self._members = {
        folder: {member.path.rpartition('/')[2]: member for member in listed}
        for folder, listed in (members or {}).items()
    }
    self._file = file
    self._gzip_index_span = gzip_index_span
    self._member_offsets = member_offsets or {}
    self._lock = threading.Lock()
    self._idle_readers: list[gzip_index.Reader] = []

  def __repr__(self) -> str:
    return f'TarGzIndex({self.archive!r}, {self.access_points} access points)'

  def is_folder(self, path: str) -> bool:
    """Whether `path` is a folder of the archive."""
    return path in self._folder_set

  def subfolders(self, folder: str) -> list[str]:
    """The names of the folders directly in `folder`."""
    prefix = f'{folder}/' if folder else ''
    return [
        path[len(prefix):] for path in self.folders
        if path and path.startswith(prefix) and '/' not in path[len(prefix):]
    ]

  def members(self, folder: str) -> dict[str, Member]:
    """The files directly in `folder` by name, in archive order."""
    with self._lock:
      found = self._members.get(folder)
      if found is None:
        found = self._members[folder] = {
            member.path.rpartition('/')[2]: member for member in self._load_members(folder)
        }
      return found

  def member(self, path: str) -> Member | None:
    """The file at `path`, or None."""
    return self.members(parent_of(path)).get(path.rpartition('/')[2])

  def _load_members(self, folder: str) -> list[Member]:
    if self._file is None or folder not in self._member_offsets:
      return []
    start, length = self._member_offsets[folder]
    try:
      table = json.loads(zlib.decompress(_read_at(self._file, start, length)))
    except (zlib.error, ValueError) as e:
      raise _damaged(self._file, self.archive, e) from None
    return [
        Member(f'{folder}/{name}' if folder else name, offset, size)
        for name, offset, size in table
    ]

  def exported_gzip_index(self) -> bytes:
    """The gzip index, as rapidgzip exported it."""
    if self._gzip_index is not None:
      return self._gzip_index
    assert self._file is not None and self._gzip_index_span is not None
    return _read_at(self._file, *self._gzip_index_span)

  def _take_reader(self) -> gzip_index.Reader:
    with self._lock:
      if self._idle_readers:
        return self._idle_readers.pop()
    try:
      return gzip_index.Reader(self.archive, self.archive, self.exported_gzip_index())
    except gzip_index.GzipError as e:
      raise _damaged(self._file or 'the index in memory', self.archive, e) from None

  def forget_readers(self) -> None:
    """Drops the pooled readers without closing them (a forked child's)."""
    self._lock = threading.Lock()
    self._idle_readers = []

  def read(self, members: Iterable[Member]) -> Iterator[tuple[Member, bytes]]:
    """Reads members in archive order, inflating only what leads to them.

    Args:
      members: members of this archive.

    Yields:
      `(member, data)` in archive order.

    Raises:
      InputError: the archive is damaged or changed since it was indexed.
    """
    wanted = sorted(members, key=lambda m: m.offset)
    if not wanted:
      return
    reader = self._take_reader()
    broken = False  # A reader that failed is closed, not pooled.
    try:
      for member in wanted:
        broken = True
        try:
          data = reader.read_at(member.offset, member.size)
        except gzip_index.GzipError as e:
          raise InputError(
              f'{self.archive}:{member.path}: {e}. The archive is damaged or'
              ' changed since it was indexed: download it again.'
          ) from None
        broken = False
        yield member, data
    finally:
      if broken:
        reader.close()
      else:
        with self._lock:
          self._idle_readers.append(reader)


def _damaged(file: str, archive: str, error: Exception) -> InputError:
  return InputError(
      f'{file}: damaged index file ({error}). Delete it: the next run'
      f' indexes {archive} again.'
  )


def _read_at(path: str, start: int, length: int) -> bytes:
  with epath.Path(path).open('rb') as f:
    f.seek(start)
    data = f.read(length)
  if len(data) != length:
    raise InputError(
        f'{path}: truncated index file. Delete it: the next run indexes the'
        ' archive again.'
    )
  return data


def _identity(path: epath.Path) -> tuple[int, int]:
  """An archive's size and modification time (ns for local files)."""
  if '://' not in os.fspath(path):
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns
  found = path.stat()
  return found.length, int(found.mtime)


class _Listing:
  """The members by folder, and every folder, as the pass finds them."""

  def __init__(self) -> None:
    self.members: dict[str, list[Member]] = {}
    self.folders = {''}

  def add(self, entry: tar_headers.TarEntry) -> None:
    folder = entry.path if entry.is_dir else parent_of(entry.path)
    while folder not in self.folders:
      self.folders.add(folder)
      folder = parent_of(folder)
    if not entry.is_dir:
      self.members.setdefault(parent_of(entry.path), []).append(
          Member(entry.path, entry.offset, entry.size)
      )


def _check_tar_ended(scanner: tar_headers.TarScanner, size: int, path: epath.Path) -> None:
  """Raises `InputError` when the tar stopped before its end-of-archive marker."""
  if scanner.ended:
    return
  after = f' (after member {scanner.last_path})' if scanner.last_path else ''
  stored = gzip_index.stored_size(path)
  if scanner.wanted > size and stored is not None and stored != size % (1 << 32):
    problem = (
        f'truncated: the file ends at byte {_identity(path)[0]:,} before the end of the'
        f' gzip stream ({size:,} bytes inflated){after}'
    )
  elif scanner.wanted > size:
    problem = (
        f'the tar ends inside member {scanner.last_path}'
        if scanner.last_path else 'the tar ends inside its first header'
    ) + f' (uncompressed size {size:,})'
  else:
    problem = f'the tar has no end-of-archive marker (uncompressed size {size:,})'
  raise InputError(
      f'{path}: {problem}. The archive is incomplete or damaged: download'
      f' {path.name} again.'
  )


def build_index(path: epath.PathLike) -> TarGzIndex:
  """Inflates an archive once and indexes its members (see the module docstring).

  Args:
    path: the `.tar.gz`.

  Returns:
    Its index, all in memory.

  Raises:
    InputError: the archive is not gzip, or truncated or corrupt (the error
      names the member where it stopped).
  """
  path = epath.Path(path)
  origin = str(path)
  size, mtime = _identity(path)
  logging.info('Indexing %s (%.1f GB) to read it in place: one pass.', origin, size / 1e9)
  started = last_log = time.monotonic()
  scanner = tar_headers.TarScanner(origin)
  listing = _Listing()
  indexing = gzip_index.IndexingPass(path, origin)
  try:
    for chunk in indexing.chunks():
      for entry in scanner.feed(chunk, indexing.size - len(chunk)):
        listing.add(entry)
      if time.monotonic() - last_log > _PROGRESS_SECONDS:
        last_log = time.monotonic()
        logging.info(
            'Indexing %s: %.1f of %.1f GB read, %.0f MB/s.', origin, indexing.bytes_read / 1e9,
            size / 1e9, indexing.bytes_read / 1e6 / (last_log - started),
        )
    exported, access_points = indexing.export()
  except gzip_index.GzipError as e:
    where = f' (after member {scanner.last_path})' if scanner.last_path else ''
    raise InputError(
        f'{origin}: {e}{where}. The archive is incomplete or damaged:'
        f' download {path.name} again.'
    ) from None
  finally:
    indexing.close()
  _check_tar_ended(scanner, indexing.size, path)
  logging.info(
      'Indexed %s in %.0f s: %d files, %d access points.', origin, time.monotonic() - started,
      sum(map(len, listing.members.values())), access_points,
  )
  return TarGzIndex(
      origin, size, mtime, indexing.size, access_points, listing.folders,
      gzip_index_bytes=exported, members=listing.members,
  )


def save_index(index: TarGzIndex, file: epath.PathLike) -> None:
  """Writes an index file (to a temporary name first, then renamed).

  Args:
    index: the index.
    file: where to write it.
  """
  file = epath.Path(file)
  exported = index.exported_gzip_index()
  blobs = [exported]
  member_offsets = {}
  position = len(exported)
  for folder in index.folders:
    table = [
        [name, member.offset, member.size]
        for name, member in index.members(folder).items()
    ]
    blob = zlib.compress(json.dumps(table, separators=(',', ':')).encode(), 1)
    member_offsets[folder] = (position, len(blob))
    blobs.append(blob)
    position += len(blob)
  header = json.dumps({
      'version': _VERSION,
      'archive': index.archive,
      'archive_size': index.archive_size,
      'archive_mtime': index.archive_mtime,
      'size': index.size,
      'access_points': index.access_points,
      'gzip_index': [0, len(exported)],
      'members': member_offsets,
  }).encode()
  file.parent.mkdir(parents=True, exist_ok=True)
  partial = file.parent / f'{file.name}.{os.getpid()}.partial'
  with partial.open('wb') as out:
    out.write(_MAGIC + _LENGTH.pack(len(header)) + header)
    for blob in blobs:
      out.write(blob)
  partial.replace(file)


def load_index(file: epath.PathLike, archive: epath.PathLike) -> TarGzIndex | None:
  """Reads an index file's header, if it is for `archive` as it is now.

  Args:
    file: the index file.
    archive: the archive it should index.

  Returns:
    The index (gzip index and member tables read on use), or None when the
    file is missing, damaged, of another version, or the archive changed.
  """
  file, archive = epath.Path(file), epath.Path(archive)
  try:
    with file.open('rb') as f:
      if f.read(len(_MAGIC)) != _MAGIC:
        return None
      (length,) = _LENGTH.unpack(f.read(_LENGTH.size))
      header = json.loads(f.read(length))
  except (OSError, ValueError, struct.error):
    return None
  size, mtime = _identity(archive)
  try:
    if header['version'] != _VERSION or (
        header['archive_size'], header['archive_mtime']
    ) != (size, mtime):
      logging.info('%s is not an index of %s as it is now: indexing again.', file, archive)
      return None
    # Offsets in the header count from the end of the header.
    data_start = len(_MAGIC) + _LENGTH.size + length
    spans = {
        folder: (data_start + start, count)
        for folder, (start, count) in header['members'].items()
    }
    gzip_start, gzip_length = header['gzip_index']
    end = max([data_start + gzip_start + gzip_length] + [start + n for start, n in spans.values()])
    if file.stat().length != end:
      logging.warning('%s is truncated: indexing %s again.', file, archive)
      return None
    return TarGzIndex(
        str(archive), size, mtime, header['size'], header['access_points'], header['members'],
        file=os.fspath(file), gzip_index_span=(data_start + gzip_start, gzip_length),
        member_offsets=spans,
    )
  except (KeyError, TypeError, ValueError):
    logging.warning('%s is damaged: indexing %s again.', file, archive)
    return None


def index_file_name(archive: epath.PathLike) -> str:
  """The index file's name for an archive: its name and a hash of its path."""
  where = os.fspath(archive)
  if '://' not in where:
    where = os.path.realpath(where)
  return f'{epath.Path(archive).name}.{hashlib.sha256(where.encode()).hexdigest()[:16]}.index'


_registry_lock = threading.Lock()
# Archive path -> (lock, index). One pass per archive and process at a time.
_registry: dict[str, tuple[threading.Lock, list[TarGzIndex]]] = {}


def _after_fork_in_child() -> None:
  # Another thread of the parent may have held a lock when it forked.
  global _registry_lock  # noqa: PLW0603 (the module lock is replaced in a forked child)
  _registry_lock = threading.Lock()
  for key, (_, found) in list(_registry.items()):
    _registry[key] = (threading.Lock(), found)
    for index in found:
      index.forget_readers()  # rapidgzip's threads stayed in the parent.


os.register_at_fork(after_in_child=_after_fork_in_child)


def index_of(archive: epath.PathLike, index_dir: epath.PathLike | None) -> TarGzIndex:
  """This process's index of an archive: loaded, or built (and saved) once.

  Args:
    archive: the `.tar.gz`.
    index_dir: where index files are kept; None keeps the index in this
      process's memory only (nothing is written).

  Returns:
    The index.
  """
  archive = epath.Path(archive)
  key = os.fspath(archive)
  with _registry_lock:
    lock, found = _registry.setdefault(key, (threading.Lock(), []))
  with lock:
    if found:
      return found[0]
    file = epath.Path(index_dir) / index_file_name(archive) if index_dir is not None else None
    index = load_index(file, archive) if file is not None else None
    if index is None:
      index = build_index(archive)
      if file is not None:
        save_index(index, file)
        logging.info('Wrote the index of %s to %s.', archive, file)
        # Read back, member tables are read on use, as in the worker
        # processes, rather than all held in this one.
        index = load_index(file, archive) or index
    found.append(index)
    return index


def clear_registry() -> None:
  """Forgets the indexes this process holds (tests)."""
  with _registry_lock:
    _registry.clear()
