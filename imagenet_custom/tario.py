"""Reading tar archives in place: seekable windows and nested tars.

Nothing here extracts to disk or holds a whole member tar in memory. Reads go
straight to an unbuffered file so that skipping a member costs a seek, not a
read, and so that the bytes read from an archive can be accounted for.
"""

from __future__ import annotations

from collections.abc import Iterator
import io
import os
import tarfile
from typing import BinaryIO, NamedTuple, TypeAlias

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

  @property
  def base(self) -> Stream:
    """The file this is a window of."""
    return self._base

  @property
  def start(self) -> int:
    """Where the window starts in `base`."""
    return self._start


def file_size(fileobj: Stream) -> int:
  """The size of a seekable file, leaving its position unchanged."""
  position = fileobj.tell()
  size = fileobj.seek(0, io.SEEK_END)
  fileobj.seek(position)
  return size


def iter_members(fileobj: Stream, origin: str) -> Iterator[tarfile.TarInfo]:
  """Lists the regular files of an uncompressed tar, reading headers only.

  Unlike `tarfile`, which stops silently at a corrupt header or at the end of
  a truncated archive, this raises: an ImageNet tar that ends early must not
  become a dataset with fewer images.

  Args:
    fileobj: a seekable binary file holding the tar.
    origin: the archive's name (and member, for nested tars), for errors.

  Yields:
    Each regular file's header; `offset_data` and `size` locate its bytes.

  Raises:
    InputError: the archive is truncated or corrupt.
  """
  size = file_size(fileobj)
  fix = (
      f'Download {origin.split(":")[0]} again (compare its size with'
      ' checksums.tsv).'
  )
  try:
    tar = tarfile.open(fileobj=fileobj, mode='r:')
    while (member := tar.next()) is not None:
      tar.members.clear()  # type: ignore[attr-defined]  # tarfile keeps every header otherwise.
      if member.offset_data + member.size > size:
        raise InputError(
            f'{origin}: truncated archive: member {member.name} needs'
            f' {member.size} bytes at offset {member.offset_data} but the'
            f' archive ends at {size}. {fix}'
        )
      if member.isfile():
        yield member
    end = tar.offset
  except tarfile.TarError as e:
    raise InputError(f'{origin}: corrupt tar archive ({e}). {fix}') from None
  fileobj.seek(end)
  marker = fileobj.read(_BLOCK)
  if len(marker) < _BLOCK or marker.count(0) != _BLOCK:
    raise InputError(
        f'{origin}: the archive is truncated or corrupt at byte {end} of'
        f' {size} (no valid tar header or end-of-archive marker there). {fix}'
    )


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


def iter_compressed_members(
    path: epath.Path,
) -> Iterator[tuple[tarfile.TarInfo, bytes]]:
  """Streams the regular files of a compressed tar (`.tar.gz`, `.tgz`).

  Args:
    path: the archive.

  Yields:
    `(header, bytes)` of each regular file, in archive order.

  Raises:
    InputError: the archive is truncated or corrupt.
  """
  try:
    with path.open('rb') as raw, tarfile.open(fileobj=raw, mode='r|*') as tar:
      for member in tar:
        if member.isfile():
          extracted = tar.extractfile(member)
          assert extracted is not None
          yield member, extracted.read()
  except (tarfile.TarError, EOFError, OSError) as e:
    raise InputError(
        f'{path}: corrupt or truncated compressed archive ({e}). Download'
        f' {path.name} again.'
    ) from None


class TarFile(NamedTuple):
  """A regular file of a tar, located.

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


# Header fields (POSIX ustar / GNU): name, size, checksum, type, ustar prefix.
_NAME = slice(0, 100)
_SIZE = slice(124, 136)
_CHECKSUM = slice(148, 156)
_TYPE = 156
_PREFIX = slice(345, 500)
_FILE_TYPES = frozenset(b'0\x007')
_DIR_TYPE = ord('5')
# The checksum is computed with its own 8 bytes taken as spaces.
_CHECKSUM_SPACES = 8 * ord(' ')


def list_files(fileobj: Stream, origin: str, head_bytes: int = 0) -> list[TarFile]:
  """Lists the regular files of an uncompressed tar, each with its first bytes.

  `iter_members` with the first bytes of each file, and fast: for a local
  file (or a window of one), each member costs one `pread` of its header and
  first bytes together, parsed here. Headers this fast path does not handle
  (long names, pax records, links, base-256 sizes, a checksum to verify the
  tarfile way) send the whole archive through `iter_members` instead, so the
  result and the errors are the same.

  Args:
    fileobj: a seekable binary file holding the tar, or a `Window` of one.
    origin: the archive's name (and member, for nested tars), for errors.
    head_bytes: how many first bytes of each file to return.

  Returns:
    The regular files, in archive order.

  Raises:
    InputError: the archive is truncated or corrupt.
  """
  base, start = (fileobj.base, fileobj.start) if isinstance(fileobj, Window) else (fileobj, 0)
  if supports_pread(base):
    found = _list_plain_headers(base, start, file_size(fileobj), head_bytes)
    if found is not None:
      return found
  files = []
  for info in iter_members(fileobj, origin):
    head = b''
    if head_bytes:
      head = read_member(fileobj, info.offset_data, min(info.size, head_bytes), origin)
    files.append(TarFile(info.name, info.offset_data, info.size, head))
  return files


def _list_plain_headers(
    base: Stream, start: int, size: int, head_bytes: int
) -> list[TarFile] | None:
  """`list_files` for plain headers; None at anything else (or a damaged tar)."""
  fd = base.fileno()
  pread = os.pread
  files: list[TarFile] = []
  position = 0
  while position + _BLOCK <= size:
    block = pread(fd, _BLOCK + head_bytes, start + position)
    if len(block) < _BLOCK:
      return None
    header = block[:_BLOCK]
    if not header[_TYPE] and header.count(0) == _BLOCK:
      return files  # The end-of-archive marker.
    kind = header[_TYPE]
    size_field = header[_SIZE]
    try:
      checksum = int(header[_CHECKSUM].split(b'\0', 1)[0].strip() or b'x', 8)
      member_size = int(size_field.split(b'\0', 1)[0].strip() or b'0', 8)
    except ValueError:
      return None  # Base-256 sizes, damaged fields: tarfile decides.
    if (
        (kind not in _FILE_TYPES and kind != _DIR_TYPE)
        or any(header[_PREFIX])
        or sum(header) - sum(header[_CHECKSUM]) + _CHECKSUM_SPACES != checksum
    ):
      return None
    name = header[_NAME].split(b'\0', 1)[0].decode('utf-8', 'surrogateescape')
    offset = position + _BLOCK
    if kind == _DIR_TYPE or (not kind and name.endswith('/')):
      position = offset
      continue
    if offset + member_size > size:
      return None  # Truncated: tarfile's path words the error.
    files.append(TarFile(name, offset, member_size, block[_BLOCK : _BLOCK + min(member_size, head_bytes)]))
    position = offset + -(-member_size // _BLOCK) * _BLOCK
  return None  # No end-of-archive marker.
