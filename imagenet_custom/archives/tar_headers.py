"""Tar headers parsed out of a tar's uncompressed data, fed chunk by chunk.

`tar_gz` reads a `.tar.gz` in one pass and cannot seek back, so the headers
are parsed as the inflated data goes by, without `tarfile`'s file object:
each header's block, GNU long names and pax `path`/`size` records are
collected across chunk boundaries. Paths are the tar's, without a leading
`./`. Regular files and folders are returned; links and devices are ignored
with a warning; sparse files are an error.
"""

from __future__ import annotations

import dataclasses
import tarfile

from absl import logging

from imagenet_custom.errors import InputError

_BLOCK = tarfile.BLOCKSIZE
# Long names and pax records are a few hundred bytes; more is damage.
_LARGEST_EXTENSION = 1 << 20
# Tar entries that only carry data for the next header.
_EXTENSIONS = (
    tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE,
    tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
)


def normalise(name: str) -> str:
  """A tar name as a path: no leading `./` or `/`, no trailing `/`."""
  parts = [part for part in name.split('/') if part not in ('', '.')]
  return '/'.join(parts)


@dataclasses.dataclass
class TarEntry:
  """A header parsed by `TarScanner`: a file or a folder.

  Attributes:
    path: its path in the archive (see `normalise`).
    offset: where its data starts in the uncompressed tar.
    size: its size in bytes (0 for a folder).
    is_dir: whether it is a folder.
  """

  path: str
  offset: int
  size: int
  is_dir: bool


class TarScanner:
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

  def feed(self, chunk: bytes, start: int) -> list[TarEntry]:
    """Parses what `chunk` (at uncompressed offset `start`) completes.

    Returns:
      The entries whose headers it completed, in order.

    Raises:
      InputError: a header is corrupt.
    """
    entries: list[TarEntry] = []
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

  def _header(self, block: bytes) -> TarEntry | None:
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
    path = normalise(self._pax.get('path') or self._long_name or info.name)
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
      return TarEntry(path, data_offset, size, False)
    if info.isdir():
      return TarEntry(path, data_offset, 0, True)
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
