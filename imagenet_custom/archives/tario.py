"""Reading tar archives in place: seekable windows and nested tars.

Nothing here extracts to disk or holds a whole member tar in memory. Reads go
straight to an unbuffered file so that skipping a member costs a seek, not a
read, and so that the bytes read from an archive can be accounted for.
"""

from __future__ import annotations

from collections.abc import Iterator
import gzip
import io
import os
import tarfile
from typing import BinaryIO, NamedTuple, TypeAlias
import zlib

from etils import epath

from imagenet_custom.errors import InputError

_BLOCK = tarfile.BLOCKSIZE


# A seekable binary file: an open file, or a `Window` into one.
Stream: TypeAlias = 'BinaryIO | io.RawIOBase'

def open_raw(path: epath.Path) -> BinaryIO:
  """Opens a file for unbuffered, seekable binary reading.

  Args:
    path: a local path or any `epath` path (e.g. `gs://`).

  Returns:
    A seekable binary file; local files are unbuffered.
  """
  if '://' not in os.fspath(path):
    return io.FileIO(os.fspath(path), 'r')
  return path.open('rb')


class Window(io.RawIOBase):
  """A read-only, seekable view of `size` bytes at `start` of another file."""

  def __init__(self, base: Stream, start: int, size: int):
    super().__init__()
    self._base = base
    self._start = start
    self._size = size
    self._position = 0

  def readable(self) -> bool:
    return True

  def seekable(self) -> bool:
    return True

  def tell(self) -> int:
    return self._position

  def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
    if whence == io.SEEK_SET:
      self._position = offset
    elif whence == io.SEEK_CUR:
      self._position += offset
    else:
      self._position = self._size + offset
    return self._position

  def readinto(self, buffer) -> int:  # pytype: disable=signature-mismatch
    wanted = min(len(buffer), self._size - self._position)
    if wanted <= 0:
      return 0
    self._base.seek(self._start + self._position)
    data = self._base.read(wanted)
    buffer[: len(data)] = data
    self._position += len(data)
    return len(data)

  def __repr__(self) -> str:
    return f'Window(start={self._start}, size={self._size})'


def file_size(fileobj: Stream) -> int:
  """The size of a seekable file, leaving its position unchanged."""
  position = fileobj.tell()
  size = fileobj.seek(0, io.SEEK_END)
  fileobj.seek(position)
  return size


class Member(NamedTuple):
  """A regular file in a tar: where its bytes are.

  Attributes:
    name: the member's path in the archive.
    offset_data: where its bytes start, in the (inner) tar.
    size: its size.
  """

  name: str
  offset_data: int
  size: int


# Type flags of regular files; of headers that only `tarfile` reads (long
# names, pax headers, sparse files) -- an archive with any is listed by it.
_REGULAR = frozenset(b'0\0' b'7')
_TARFILE_ONLY = frozenset(b'LKxgS')
_USTAR = b'ustar\x00'


class _NeedsTarfile(Exception):
  """A header the fast listing leaves to `tarfile`."""


def _read_at(fileobj: Stream, position: int, size: int) -> bytes:
  """`size` bytes at `position` (fewer at the end), by `pread` when possible."""
  base, start = fileobj, 0
  if isinstance(fileobj, Window):
    base, start = fileobj._base, fileobj._start  # pylint: disable=protected-access
    size = max(0, min(size, fileobj._size - position))  # pylint: disable=protected-access
  if supports_pread(base):
    return os.pread(base.fileno(), size, start + position)
  fileobj.seek(position)
  return fileobj.read(size) or b''


def _octal(field: bytes) -> int:
  if field[:1] and field[0] & 0x80:
    raise _NeedsTarfile  # Base-256 (GNU, for sizes past 8 GB).
  digits = field.split(b'\0', 1)[0].strip()
  return int(digits, 8) if digits else 0


def _fast_members(
    fileobj: Stream, size: int, origin: str, fix: str, head_bytes: int = 0
) -> Iterator[tuple[Member | None, int, bytes]]:
  """Every header of a plain ustar/GNU tar, read directly.

  Each header is read with the first `head_bytes` of the data after it, in
  one `pread`.

  Yields:
    `(member or None for a non-file, end of the member's data blocks, its
    first bytes)`; the last item is `(None, offset of the end-of-archive
    marker, b'')`.

  Raises:
    _NeedsTarfile: a header of a kind `tarfile` must read, before any yield
      was acted on (the caller restarts with `tarfile`).
    InputError: a corrupt header or truncated member.
  """
  position = 0
  while True:
    block = _read_at(fileobj, position, _BLOCK + head_bytes)
    header = block[:_BLOCK]
    if len(header) < _BLOCK or header.count(0) == _BLOCK:
      yield None, position, b''
      return
    member, member_size = _header_member(header, position, origin, fix)
    offset_data = position + _BLOCK
    end = offset_data + -(-member_size // _BLOCK) * _BLOCK
    name = member.name if member is not None else 'a non-file entry'
    if offset_data + member_size > size:
      raise InputError(
          f'{origin}: truncated archive: member {name} needs {member_size}'
          f' bytes at offset {offset_data} but the archive ends at {size}.'
          f' {fix}'
      )
    yield member, end, block[_BLOCK : _BLOCK + min(member_size, head_bytes)]
    position = end


def _tarfile_members(
    fileobj: Stream, size: int, origin: str, fix: str, head_bytes: int = 0
) -> Iterator[tuple[Member | None, int, bytes]]:
  """As `_fast_members`, through `tarfile` (every header kind it knows)."""
  fileobj.seek(0)
  found = []
  try:
    tar = tarfile.open(fileobj=fileobj, mode='r:')
    while (info := tar.next()) is not None:
      tar.members.clear()  # type: ignore[attr-defined]  # tarfile keeps every header otherwise.
      if info.offset_data + info.size > size:
        raise InputError(
            f'{origin}: truncated archive: member {info.name} needs'
            f' {info.size} bytes at offset {info.offset_data} but the'
            f' archive ends at {size}. {fix}'
        )
      member = Member(info.name, info.offset_data, info.size) if info.isfile() else None
      found.append((member, tar.offset))
    end = tar.offset
  except tarfile.TarError as e:
    raise InputError(f'{origin}: corrupt tar archive ({e}). {fix}') from None
  for member, member_end in found:
    head = b''
    if member is not None and head_bytes:
      head = _read_at(fileobj, member.offset_data, min(member.size, head_bytes))
    yield member, member_end, head
  yield None, end, b''


def _listed(
    fileobj: Stream, origin: str, head_bytes: int
) -> Iterator[tuple[Member, bytes]]:
  """`iter_members`, each member with its first `head_bytes` bytes."""
  size = file_size(fileobj)
  fix = (
      f'Download {origin.split(":")[0]} again (compare its size with'
      ' checksums.tsv).'
  )
  try:
    # Listed whole before any is yielded, so that a header found late that
    # needs `tarfile` restarts the listing cleanly.
    headers = list(_fast_members(fileobj, size, origin, fix, head_bytes))
  except _NeedsTarfile:
    headers = list(_tarfile_members(fileobj, size, origin, fix, head_bytes))
  end = headers[-1][1]
  for member, _, head in headers[:-1]:
    if member is not None:
      yield member, head
  marker = _read_at(fileobj, end, _BLOCK)
  if len(marker) < _BLOCK or marker.count(0) != _BLOCK:
    raise InputError(
        f'{origin}: the archive is truncated or corrupt at byte {end} of'
        f' {size} (no valid tar header or end-of-archive marker there). {fix}'
    )


def iter_members(fileobj: Stream, origin: str) -> Iterator[Member]:
  """Lists the regular files of an uncompressed tar, reading headers only.

  Plain ustar and GNU headers (ImageNet's archives hold nothing else) are
  read directly, one `pread` each; an archive with long-name, pax or sparse
  headers is listed by `tarfile` instead. Unlike `tarfile`, which stops
  silently at a corrupt header or at the end of a truncated archive, this
  raises: an ImageNet tar that ends early must not become a dataset with
  fewer images.

  Args:
    fileobj: a seekable binary file holding the tar.
    origin: the archive's name (and member, for nested tars), for errors.

  Yields:
    Each regular file: its name, and `offset_data` and `size`, which locate
    its bytes.

  Raises:
    InputError: the archive is truncated or corrupt.
  """
  for member, _ in _listed(fileobj, origin, 0):
    yield member


class TarFile(NamedTuple):
  """A regular file of a tar, located, with its first bytes.

  Attributes:
    name: its name in the tar.
    offset: where its data starts, in the file (or window) listed.
    size: its size in bytes.
    head: its first bytes (as many as asked for, fewer if it is shorter).
  """

  name: str
  offset: int
  size: int
  head: bytes


def list_files(fileobj: Stream, origin: str, head_bytes: int = 0) -> list[TarFile]:
  """`iter_members` with each file's first bytes, read with its header.

  The header and the first `head_bytes` bytes after it are one `pread`, so a
  check of every image's first bytes (the pre-flight check) reads no more
  than the listing.

  Args:
    fileobj: a seekable binary file holding the tar, or a `Window` of one.
    origin: the archive's name (and member, for nested tars), for errors.
    head_bytes: how many first bytes of each file to return.

  Returns:
    The regular files, in archive order.

  Raises:
    InputError: the archive is truncated or corrupt.
  """
  return [
      TarFile(member.name, member.offset_data, member.size, head)
      for member, head in _listed(fileobj, origin, head_bytes)
  ]


def supports_pread(fileobj: Stream) -> bool:
  """Whether `read_member` on this file is safe from any thread.

  True for local files (`io.FileIO`) where the OS has `os.pread` (POSIX; not
  Windows). Elsewhere members must be read by seeking, from the thread that
  lists the archive (archive readers then read each member as it is listed).
  """
  return hasattr(os, 'pread') and isinstance(fileobj, io.FileIO)


def read_member(fileobj: Stream, offset: int, size: int, origin: str) -> bytes:
  """Reads one member's bytes at its offset.

  Local files (`io.FileIO`) are read with `pread` where the OS has it, which
  neither uses nor moves the file's position: any thread can read members
  while another lists headers. Other files, and every file where `os.pread` is
  missing (Windows), are read by seeking, from the listing thread only
  (`supports_pread` tells which).

  Args:
    fileobj: the tar file (or window) the member was listed from.
    offset: the member's `offset_data`, in `fileobj`.
    size: the member's size.
    origin: the member's full name, for errors.

  Returns:
    The member's bytes.
  """
  if supports_pread(fileobj):
    data = os.pread(fileobj.fileno(), size, offset)
  else:
    fileobj.seek(offset)
    data = fileobj.read(size)
  if len(data) != size:
    raise InputError(
        f'{origin}: truncated: {len(data)} of {size} bytes could be'
        ' read. Download the archive again.'
    )
  return data


def _header_member(
    header: bytes, position: int, origin: str, fix: str
) -> tuple[Member | None, int]:
  """Parses one plain ustar/GNU header at `position`.

  Returns:
    `(member, or None for a non-file; bytes of data that follow)`.

  Raises:
    _NeedsTarfile: a header of a kind `tarfile` must read.
    InputError: a corrupt header.
  """
  try:
    stored = _octal(header[148:156])
    size = _octal(header[124:136])
  except ValueError:
    raise InputError(
        f'{origin}: corrupt tar archive (bad header at byte {position}). {fix}'
    ) from None
  if stored != sum(header) - sum(header[148:156]) + 256:
    raise InputError(
        f'{origin}: corrupt tar archive (bad header checksum at byte'
        f' {position}). {fix}'
    )
  kind = header[156]
  if kind in _TARFILE_ONLY:
    raise _NeedsTarfile
  if kind not in _REGULAR:
    return None, 0 if kind in b'1256' else size
  name = header[:100].split(b'\0', 1)[0]
  if header[257:263] == _USTAR and header[345] != 0:
    name = header[345:500].split(b'\0', 1)[0] + b'/' + name
  return Member(name.decode('utf-8', 'surrogateescape'), position + _BLOCK, size), size


def _read_fully(stream: gzip.GzipFile, size: int) -> bytes:
  data = stream.read(size)
  return data if data is not None else b''


def _fast_compressed(
    path: epath.Path, origin: str, fix: str
) -> Iterator[tuple[Member, bytes]]:
  """The regular files of a gzip-compressed plain ustar/GNU tar, streamed."""
  with path.open('rb') as raw, gzip.GzipFile(fileobj=raw, mode='rb') as stream:
    position = 0
    while True:
      header = _read_fully(stream, _BLOCK)
      if len(header) < _BLOCK:
        raise EOFError(f'the tar ends inside the header at byte {position}')
      if header.count(0) == _BLOCK:
        return
      member, size = _header_member(header, position, origin, fix)
      padded = -(-size // _BLOCK) * _BLOCK
      data = _read_fully(stream, padded)
      if len(data) < padded:
        raise EOFError(f'the tar ends inside the member at byte {position}')
      if member is not None:
        yield member, data[:size]
      position += _BLOCK + padded


def _tarfile_compressed(path: epath.Path) -> Iterator[tuple[Member, bytes]]:
  """The regular files of any compressed tar `tarfile` reads, streamed."""
  with path.open('rb') as raw, tarfile.open(fileobj=raw, mode='r|*') as tar:
    for info in tar:
      if info.isfile():
        extracted = tar.extractfile(info)
        assert extracted is not None
        yield Member(info.name, info.offset_data, info.size), extracted.read()


def iter_compressed_members(path: epath.Path) -> Iterator[tuple[Member, bytes]]:
  """Streams the regular files of a compressed tar (`.tar.gz`, `.tgz`).

  A gzip-compressed tar of plain ustar/GNU headers (the box archives and the
  devkit) is read directly; anything else (other compressions, pax or
  long-name headers) through `tarfile`.

  Args:
    path: the archive.

  Yields:
    `(member, bytes)` of each regular file, in archive order.

  Raises:
    InputError: the archive is truncated or corrupt.
  """
  fix = f'Download {path.name} again.'
  origin = str(path)
  yielded = 0
  try:
    with path.open('rb') as raw:
      gzipped = raw.read(2) == b'\x1f\x8b'
    if gzipped:
      try:
        for item in _fast_compressed(path, origin, fix):
          yield item
          yielded += 1
        return
      except _NeedsTarfile:
        pass  # Restarted by `tarfile`, past what was already yielded.
    for index, item in enumerate(_tarfile_compressed(path)):
      if index >= yielded:
        yield item
  except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
    raise InputError(
        f'{path}: corrupt or truncated compressed archive ({e}). Download'
        f' {path.name} again.'
    ) from None
