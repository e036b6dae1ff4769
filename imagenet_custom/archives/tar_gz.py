"""A `.tar.gz` read in place: its members found in one pass, then read from access points.

A compressed tar cannot be read from the middle (see `gzip_index`), so one
sequential pass inflates the archive, parses its tar headers as they go by,
and keeps an *index*: every member (path, the offset of its data in the
uncompressed tar, size), by folder, and gzip access points — one at the last
deflate block boundary before the data of each folder's first member, and
one at least every `SPAN` uncompressed bytes. Reading a folder's members then
starts at that folder's own access point: a build worker reading one class
inflates that class only. Nothing is extracted.

The pass costs what `gunzip` of the archive costs, so its index is kept in an
*index file* when the caller gives a folder for it (the build: TFDS's download
dir), written once and read by every process after (the build's workers read
it rather than repeat the pass). The file is found by the archive's path and
used only while the archive's size and modification time match those it
records; otherwise (and when it is damaged) the pass runs again. Format: a
magic line, the length and text of a JSON header (archive size and mtime,
uncompressed size, access points, folders), then the 32 KiB windows, then
each folder's member table (zlib-compressed JSON), read only when that folder
is.

Member paths are the tar's, without a leading `./`. Regular files and
folders are kept; links and devices are ignored with a warning. GNU long
names and pax `path`/`size` records are followed.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
import dataclasses
import hashlib
import json
import os
import struct
import tarfile
import threading
import time
from typing import NamedTuple
import zlib

from absl import logging
from etils import epath

from imagenet_custom.archives import gzip_index
from imagenet_custom.archives import tario
from imagenet_custom.archives.gzip_index import AccessPoint
from imagenet_custom.errors import InputError

# An access point at least every this many uncompressed bytes (besides one
# before each folder): bounds what reading a member in a long folder inflates
# before it. The index grows by one 32 KiB window each: 0.05% of the data.
SPAN = 64 << 20
_BLOCK = tarfile.BLOCKSIZE
_MAGIC = b'imagenet_custom tar.gz index\n'
_VERSION = 1
_LENGTH = struct.Struct('<Q')
_PROGRESS_SECONDS = 30.0
# Long names and pax records are a few hundred bytes; more is damage.
_LARGEST_EXTENSION = 1 << 20
# Tar entries that only carry data for the next header.
_EXTENSIONS = (
    tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE,
    tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
)


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


def _normalise(name: str) -> str:
  """A tar name as a path: no leading `./` or `/`, no trailing `/`."""
  parts = [part for part in name.split('/') if part not in ('', '.')]
  return '/'.join(parts)


@dataclasses.dataclass
class _Entry:
  """A header parsed by `_TarScanner`: a file or a folder."""

  path: str
  offset: int
  size: int
  is_dir: bool


class _TarScanner:
  """Parses tar headers out of the uncompressed data, fed chunk by chunk.

  Attributes:
    origin: the archive's name, for errors.
    wanted: the offset of the next byte the scanner needs (a header, or an
      extension header's data); everything before it has been used.
    ended: the end-of-archive marker was read.
    last_path: the last entry parsed, for errors.
  """

  def __init__(self, origin: str):
    self.origin = origin
    self.wanted = 0
    self.ended = False
    self.last_path: str | None = None
    self._need = _BLOCK
    self._collected = bytearray()
    self._extension: tarfile.TarInfo | None = None
    self._long_name: str | None = None
    self._pax: dict[str, str] = {}

  def feed(self, chunk: bytes, start: int) -> list[_Entry]:
    """Parses what `chunk` (at uncompressed offset `start`) completes.

    Returns:
      The entries whose headers it completed, in order.

    Raises:
      InputError: a header is corrupt.
    """
    entries: list[_Entry] = []
    end = start + len(chunk)
    while not self.ended:
      position = self.wanted + len(self._collected)
      if position >= end:
        break
      take = min(end, self.wanted + self._need) - position
      self._collected += chunk[position - start : position - start + take]
      if len(self._collected) < self._need:
        break
      data = bytes(self._collected)
      self._collected.clear()
      if self._extension is not None:
        self._end_extension(data)
      else:
        entry = self._header(data)
        if entry is not None:
          entries.append(entry)
    return entries

  def _after(self) -> str:
    return f' (after {self.last_path})' if self.last_path else ''

  def _header(self, block: bytes) -> _Entry | None:
    """Parses one header block; moves `wanted` past its data."""
    offset = self.wanted
    if block.count(0) == _BLOCK:
      self.ended = True
      return None
    try:
      info = tarfile.TarInfo.frombuf(block, 'utf-8', 'surrogateescape')
    except tarfile.HeaderError as e:
      raise InputError(
          f'{self.origin}: corrupt tar header at uncompressed byte'
          f' {offset:,}{self._after()} ({e}). Download the archive again.'
      ) from None
    data_offset = offset + _BLOCK
    if info.type in _EXTENSIONS:
      if info.size > _LARGEST_EXTENSION:
        raise InputError(
            f'{self.origin}: a {info.size:,}-byte extended header at uncompressed'
            f' byte {offset:,}{self._after()}: the archive is damaged. Download it again.'
        )
      self._extension = info
      self.wanted, self._need = data_offset, info.size
      if not info.size:
        self._end_extension(b'')
      return None
    if info.type == tarfile.GNUTYPE_SPARSE:
      raise InputError(
          f'{self.origin}:{info.name}: a sparse file; this reader reads only'
          ' plain files. Extract the archive and read the folder instead.'
      )
    path = _normalise(self._pax.get('path') or self._long_name or info.name)
    try:
      size = int(self._pax['size']) if 'size' in self._pax else info.size
    except ValueError:
      raise InputError(
          f'{self.origin}:{path}: corrupt pax size {self._pax["size"]!r}. Download the'
          ' archive again.'
      ) from None
    self._long_name, self._pax = None, {}
    has_data = info.isreg() or info.type not in tarfile.SUPPORTED_TYPES
    self.wanted = data_offset + (_padded(size) if has_data else 0)
    self._need = _BLOCK
    self.last_path = path
    if info.isreg():
      return _Entry(path, data_offset, size, False)
    if info.isdir():
      return _Entry(path, data_offset, 0, True)
    logging.warning('%s:%s: not a file or folder (tar type %r), ignored.', self.origin, path, info.type)
    return None

  def _end_extension(self, data: bytes) -> None:
    """Applies a long name or pax header to the next header."""
    info = self._extension
    assert info is not None
    if info.type == tarfile.GNUTYPE_LONGNAME:
      self._long_name = data.split(b'\0', 1)[0].decode('utf-8', 'surrogateescape')
    elif info.type in (tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE):
      self._pax.update(_pax_records(data, f'{self.origin}{self._after()}'))
    self._extension = None
    self.wanted += _padded(info.size)
    self._need = _BLOCK


def _padded(size: int) -> int:
  """The bytes a member's data takes in a tar: whole 512-byte blocks."""
  return -(-size // _BLOCK) * _BLOCK


def _pax_records(data: bytes, origin: str) -> dict[str, str]:
  """The `path` and `size` records of a pax header (`"%d %s=%s\\n"` each)."""
  records = {}
  position = 0
  while position < len(data) and data[position] != 0:
    length_text, _, _ = data[position : position + 20].partition(b' ')
    try:
      length = int(length_text)
      key, _, value = data[position + len(length_text) + 1 : position + length - 1].partition(b'=')
    except ValueError:
      raise InputError(f'{origin}: corrupt pax header. Download the archive again.') from None
    if length <= 0:
      raise InputError(f'{origin}: corrupt pax header. Download the archive again.')
    if key in (b'path', b'size'):
      records[key.decode()] = value.decode('utf-8', 'surrogateescape')
    position += length
  return records


class TarGzIndex:
  """What one pass learned of a `.tar.gz`: its members and access points.

  Either all in memory (just built: `windows` and `members` given) or read
  from an index file on use (`file` and the offsets given). Thread-safe:
  member tables load on first use, under a lock.

  Attributes:
    archive: the archive's path.
    archive_size: its size in bytes when indexed.
    archive_mtime: its modification time (ns for local files) when indexed.
    size: the uncompressed tar's size.
    points: access points, by uncompressed offset.
    folders: every folder ('' is the top), sorted.
  """

  def __init__(
      self,
      archive: str,
      archive_size: int,
      archive_mtime: int,
      size: int,
      points: list[AccessPoint],
      folders: Iterable[str],
      *,
      windows: list[bytes] | None = None,
      members: dict[str, list[Member]] | None = None,
      file: str | None = None,
      window_offsets: list[tuple[int, int]] | None = None,
      member_offsets: dict[str, tuple[int, int]] | None = None,
  ):
    self.archive = archive
    self.archive_size = archive_size
    self.archive_mtime = archive_mtime
    self.size = size
    self.points = points
    self.folders = tuple(sorted(folders))
    self._folder_set = frozenset(self.folders)
    self._windows = windows
    self._members = {
        folder: {member.path.rpartition('/')[2]: member for member in listed}
        for folder, listed in (members or {}).items()
    }
    self._file = file
    self._window_offsets = window_offsets or []
    self._member_offsets = member_offsets or {}
    self._lock = threading.Lock()

  def __repr__(self) -> str:
    return f'TarGzIndex({self.archive!r}, {len(self.points)} access points)'

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
      raise InputError(
          f'{self._file}: damaged index file ({e}). Delete it: the next run'
          f' indexes {self.archive} again.'
      ) from None
    return [
        Member(f'{folder}/{name}' if folder else name, offset, size)
        for name, offset, size in table
    ]

  def window(self, number: int) -> bytes:
    """The window of access point `number`."""
    if self._windows is not None:
      return self._windows[number]
    assert self._file is not None
    start, length = self._window_offsets[number]
    return _read_at(self._file, start, length)

  def point_for(self, offset: int) -> int:
    """The number of the last access point at or before `offset`."""
    return bisect.bisect_right(self.points, offset, key=lambda p: p.out_offset) - 1

  def read(self, members: Iterable[Member]) -> Iterator[tuple[Member, bytes]]:
    """Reads members in archive order, inflating only what leads to them.

    One pass forward: it starts at the access point before the first member
    and starts again at a later access point only when that saves inflating.

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
    stream: gzip_index.Inflating | None = None
    with tario.open_raw(epath.Path(self.archive)) as fileobj:
      try:
        for member in wanted:
          number = self.point_for(member.offset)
          point = self.points[number]
          if stream is None or stream.position > member.offset or point.out_offset > stream.position:
            if stream is not None:
              stream.close()
            stream = gzip_index.Inflating(fileobj, self.archive, point, self.window(number))
          try:
            stream.skip(member.offset - stream.position)
            data = stream.read(member.size)
          except gzip_index.GzipError as e:
            raise InputError(
                f'{self.archive}:{member.path}: {e}. The archive is damaged or'
                ' changed since it was indexed: download it again.'
            ) from None
          yield member, data
      finally:
        if stream is not None:
          stream.close()


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
  gzip_index.check_available()
  logging.info('Indexing %s (%.1f GB) to read it in place: one pass.', origin, size / 1e9)
  started = last_log = time.monotonic()
  scanner = _TarScanner(origin)
  points: list[AccessPoint] = []
  windows: list[bytes] = []
  members: dict[str, list[Member]] = {}
  folders = {''}
  last_folder = None
  with tario.open_raw(path) as fileobj:
    indexing = gzip_index.IndexingPass(fileobj, origin)
    position = 0
    try:
      for chunk in indexing.chunks():
        for entry in scanner.feed(chunk, position):
          folder = entry.path if entry.is_dir else parent_of(entry.path)
          while folder not in folders:
            folders.add(folder)
            folder = parent_of(folder)
          if entry.is_dir:
            continue
          folder = parent_of(entry.path)
          if folder != last_folder or entry.offset - points[-1].out_offset >= SPAN:
            point, window = indexing.point_before(entry.offset)
            if not points or point.out_offset > points[-1].out_offset:
              points.append(point)
              windows.append(window)
          last_folder = folder
          members.setdefault(folder, []).append(Member(entry.path, entry.offset, entry.size))
        position += len(chunk)
        indexing.release(scanner.wanted)
        if time.monotonic() - last_log > _PROGRESS_SECONDS:
          last_log = time.monotonic()
          done = fileobj.tell()
          logging.info(
              'Indexing %s: %.1f of %.1f GB read, %.0f MB/s.', origin, done / 1e9,
              size / 1e9, done / 1e6 / (last_log - started),
          )
    except gzip_index.GzipError as e:
      where = f' (after member {scanner.last_path})' if scanner.last_path else ''
      raise InputError(
          f'{origin}: {e}{where}. The archive is incomplete or damaged:'
          f' download {path.name} again.'
      ) from None
  if not scanner.ended:
    if scanner.wanted > position:
      problem = (
          f'the tar ends inside member {scanner.last_path}'
          if scanner.last_path else 'the tar ends inside its first header'
      )
    else:
      problem = 'the tar has no end-of-archive marker'
    raise InputError(
        f'{origin}: {problem} (uncompressed size {position:,}). The archive is'
        f' incomplete or damaged: download {path.name} again.'
    )
  logging.info(
      'Indexed %s in %.0f s: %d files, %d access points.', origin,
      time.monotonic() - started, sum(map(len, members.values())), len(points),
  )
  return TarGzIndex(
      origin, size, mtime, position, points, folders, windows=windows, members=members
  )


def save_index(index: TarGzIndex, file: epath.PathLike) -> None:
  """Writes an index file (to a temporary name first, then renamed).

  Args:
    index: the index.
    file: where to write it.
  """
  file = epath.Path(file)
  windows = [index.window(number) for number in range(len(index.points))]
  blobs = []
  member_offsets = {}
  position = sum(map(len, windows))
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
      'points': [[*point, len(window)] for point, window in zip(index.points, windows, strict=True)],
      'members': member_offsets,
  }).encode()
  file.parent.mkdir(parents=True, exist_ok=True)
  partial = file.parent / f'{file.name}.{os.getpid()}.partial'
  with partial.open('wb') as out:
    out.write(_MAGIC + _LENGTH.pack(len(header)) + header)
    for chunk in windows + blobs:
      out.write(chunk)
  partial.replace(file)


def load_index(file: epath.PathLike, archive: epath.PathLike) -> TarGzIndex | None:
  """Reads an index file's header, if it is for `archive` as it is now.

  Args:
    file: the index file.
    archive: the archive it should index.

  Returns:
    The index (windows and member tables read on use), or None when the
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
    # Windows, then member tables: offsets in the header count from here.
    data_start = len(_MAGIC) + _LENGTH.size + length
    points, window_offsets = [], []
    position = data_start
    for in_offset, bits, out_offset, window_length in header['points']:
      points.append(AccessPoint(in_offset, bits, out_offset))
      window_offsets.append((position, window_length))
      position += window_length
    end = max(
        [position] + [data_start + start + n for start, n in header['members'].values()]
    )
    if file.stat().length != end:
      logging.warning('%s is truncated: indexing %s again.', file, archive)
      return None
    return TarGzIndex(
        str(archive), size, mtime, header['size'], points, header['members'],
        file=os.fspath(file),
        window_offsets=window_offsets,
        member_offsets={
            folder: (data_start + start, length)
            for folder, (start, length) in header['members'].items()
        },
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
        # Read back, windows and member tables are read on use, as in the
        # worker processes, rather than all held in this one.
        index = load_index(file, archive) or index
    found.append(index)
    return index


def clear_registry() -> None:
  """Forgets the indexes this process holds (tests)."""
  with _registry_lock:
    _registry.clear()
