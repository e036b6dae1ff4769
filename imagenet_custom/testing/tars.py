"""Reproducible files: tars with fixed headers, gzip with mtime 0, plain files.

Same members in the same order give the same bytes, whenever and wherever
they are written.
"""

from __future__ import annotations

import gzip
import io
import pathlib
import tarfile
from typing import BinaryIO

# 2012-05-01, about when ILSVRC2012 was released: the mtime of every member.
TAR_MTIME = 1_335_830_400


def _tar_info(name: str, size: int, directory: bool = False) -> tarfile.TarInfo:
  """A tar header with fixed time, owner (root) and mode (644 or 755).

  Args:
    name: member name.
    size: member size in bytes.
    directory: a directory entry rather than a file.

  Returns:
    The header.
  """
  info = tarfile.TarInfo(name)
  info.size = 0 if directory else size
  info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
  info.mode = 0o755 if directory else 0o644
  info.mtime = TAR_MTIME
  info.uid = info.gid = 0
  info.uname = info.gname = 'root'
  return info


class DeterministicTar:
  """Writes a tar (optionally gzipped) member by member, reproducibly."""

  def __init__(
      self, fileobj: BinaryIO, compress: bool, owns_file: bool
  ) -> None:
    self._file = fileobj
    self._owns_file = owns_file
    self._gzip = None
    if compress:
      self._gzip = gzip.GzipFile(
          filename='', mode='wb', fileobj=fileobj, compresslevel=9, mtime=0,
      )
    self._tar = tarfile.open(
        fileobj=self._gzip or fileobj, mode='w', format=tarfile.GNU_FORMAT
    )

  @classmethod
  def create(
      cls, path: pathlib.Path, compress: bool = False
  ) -> DeterministicTar:
    """Opens a new tar file at `path`.

    Args:
      path: where to write.
      compress: gzip it (gzip header mtime 0, no file name).

    Returns:
      The writer.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    return cls(open(path, 'wb'), compress, owns_file=True)

  def add_bytes(self, name: str, data: bytes) -> None:
    """Adds a file member holding `data`."""
    self._tar.addfile(_tar_info(name, len(data)), io.BytesIO(data))

  def add_directory(self, name: str) -> None:
    """Adds a directory entry (`name` ends with `/`)."""
    self._tar.addfile(_tar_info(name, 0, directory=True))

  def add_stream(self, name: str, fileobj: BinaryIO, size: int) -> None:
    """Adds a file member copied from the next `size` bytes of `fileobj`."""
    self._tar.addfile(_tar_info(name, size), fileobj)

  def close(self) -> None:
    """Ends the tar (and gzip stream); closes the file if it opened it."""
    self._tar.close()
    if self._gzip is not None:
      self._gzip.close()
    if self._owns_file:
      self._file.close()

  def __enter__(self) -> DeterministicTar:
    return self

  def __exit__(self, *exc_info: object) -> None:
    self.close()


def write_file(path: pathlib.Path, data: bytes) -> None:
  """Writes `data` to `path`, creating parent directories.

  Args:
    path: the file.
    data: its content.
  """
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_bytes(data)


def write_text(path: pathlib.Path, text: str) -> None:
  """Writes ASCII text with `\\n` line ends, creating parent directories.

  Args:
    path: the file.
    text: its content.
  """
  write_file(path, text.encode('ascii'))
