"""Random access into a gzip file, through rapidgzip's index of access points.

gzip has no random access: each byte of deflate output may copy from the
32 KiB before it, and each block's Huffman codes start wherever the previous
block ended, at any bit. The `rapidgzip` library (zran's method, in C++; it
releases the GIL while it inflates) notes *access points* while it inflates a
file once — a deflate block boundary's bit position, its offset in the
uncompressed data and the window of output before it that later blocks use —
about every `CHUNK_BYTES` of compressed data, and can then start inflating at
any of them. Its index is exported as bytes (gztool's format: the windows
zlib-compressed, only the bytes later blocks refer to kept) and imported by
every process that reads the file.

Concatenated gzip members (`cat a.gz b.gz`) are one stream of uncompressed
data, as for `gzip -d`; zero padding after the last member is an error
(rapidgzip reads it as a header), and other bytes there may come out as a
few more bytes of data, after the real data (in a tar, after its
end-of-archive marker, which is where `tar_gz` stops). rapidgzip checks each member's CRC-32 when it reads
the member whole (the index pass does); a file that is cut short is not an
error here (the data just ends): `tar_gz` finds it by the tar inside, and
tells it apart by the size in the gzip trailer (`stored_size`).

Contracts: an `IndexingPass` or a `Reader` belongs to one thread at a time;
each holds one open rapidgzip file (and its threads) until `close` or until
it is collected; at exit, open ones are closed. A forked child never uses,
and never closes, a file its parent opened (rapidgzip's threads do not
survive a fork).
"""

from __future__ import annotations

from collections.abc import Iterator
import io
import os
from typing import BinaryIO
import weakref

from etils import epath
import rapidgzip

from imagenet_custom.archives import tario

# rapidgzip's spacing of access points (its `chunk_size`), in compressed
# bytes: reading from an offset inflates up to this much before it.
CHUNK_BYTES = 4 << 20
# rapidgzip's threads for the index pass (see docs/variants.md: on 2 cores,
# two threads took longer than one).
PASS_THREADS = 1
# Uncompressed bytes per chunk the index pass yields.
_CHUNK_OUT = 1 << 20
_GZIP_MAGIC = b'\x1f\x8b'
_GZIP_TRAILER_BYTES = 8  # CRC-32 and size, after each member's deflate data.
# What rapidgzip raises for corrupt data (its messages say what: a CRC-32
# mismatch, an invalid header, an unexpected end).
_LIBRARY_ERRORS = (ValueError, RuntimeError, OSError)
# Files opened in this process and not yet closed (forgotten in a forked child).
_open_files: weakref.WeakSet[_File] = weakref.WeakSet()


class GzipError(ValueError):
  """The gzip data is corrupt or not gzip (the message says where)."""


class _File:
  """One open rapidgzip file: closed by `close`, when collected, or at exit."""

  def __init__(self, path: epath.Path, origin: str, parallelization: int):
    self.origin = origin
    # A local file is read by rapidgzip itself, without the GIL.
    self._source: BinaryIO | None = None
    target: str | BinaryIO = os.fspath(path)
    if '://' in os.fspath(path):
      target = self._source = tario.open_raw(path)
    try:
      self.file = rapidgzip.RapidgzipFile(
          target, parallelization=parallelization, chunk_size=CHUNK_BYTES
      )
    except _LIBRARY_ERRORS as e:
      if self._source is not None:
        self._source.close()
      raise GzipError(f'{origin}: cannot be opened as gzip ({e})') from None
    self._finalizer = weakref.finalize(self, _close, self.file, self._source)
    _open_files.add(self)

  def close(self) -> None:
    self._finalizer()

  def forget(self) -> None:
    """In a forked child: drops the parent's file without touching it."""
    self._finalizer.detach()
    _inherited.append(self.file)


# Files a forked child inherited: kept referenced, so never destroyed there.
_inherited: list[object] = []


def _close(file: rapidgzip.RapidgzipFile, source: BinaryIO | None) -> None:
  file.close()
  if source is not None:
    source.close()


def _after_fork_in_child() -> None:
  for open_file in list(_open_files):
    open_file.forget()
  _open_files.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _check_magic(path: epath.Path) -> None:
  with tario.open_raw(path) as f:
    if f.read(2) != _GZIP_MAGIC:
      raise GzipError('not a gzip file (it does not start with 1f 8b)')


def stored_size(path: epath.PathLike) -> int | None:
  """The size field of the file's last gzip trailer (None: too short for one).

  For a file of one gzip member (as `tar -czf` writes), that is the
  uncompressed size modulo 2**32: a pass that inflated another size was cut
  short.
  """
  with tario.open_raw(epath.Path(path)) as f:
    end = f.seek(0, io.SEEK_END)
    if end < _GZIP_TRAILER_BYTES:
      return None
    f.seek(end - 4)
    return int.from_bytes(f.read(4), 'little')


class IndexingPass:
  """Inflates a whole gzip file in order; its index is then `export()`ed.

  Attributes:
    origin: the file's name, for errors.
    size: the uncompressed bytes yielded so far (all, once `chunks()` ends).
  """

  def __init__(self, path: epath.PathLike, origin: str):
    self._path = epath.Path(path)
    self.origin = origin
    self.size = 0
    self._file: _File | None = None

  def chunks(self) -> Iterator[bytes]:
    """The uncompressed data, in order, in chunks of up to 1 MiB.

    Raises:
      GzipError: the file is corrupt (a CRC-32 or a header) or not gzip.
    """
    _check_magic(self._path)
    self._file = _File(self._path, self.origin, PASS_THREADS)
    try:
      while chunk := self._file.file.read(_CHUNK_OUT):
        self.size += len(chunk)
        yield chunk
    except _LIBRARY_ERRORS as e:
      raise GzipError(f'corrupt gzip data after uncompressed byte {self.size:,} ({e})') from None

  @property
  def bytes_read(self) -> int:
    """About how far into the compressed file the pass has read."""
    return 0 if self._file is None else self._file.file.tell_compressed() // 8

  def export(self) -> tuple[bytes, int]:
    """The index (once `chunks()` is exhausted) and its number of access points."""
    assert self._file is not None, 'chunks() was not read'
    out = io.BytesIO()
    self._file.file.export_index(out, rapidgzip.IndexFormat.GZTOOL)
    return out.getvalue(), len(self._file.file.block_offsets())

  def close(self) -> None:
    if self._file is not None:
      self._file.close()


class Reader:
  """Reads any stretch of a gzip file's uncompressed data through its index.

  Attributes:
    origin: the file's name, for errors.
  """

  def __init__(self, path: epath.PathLike, origin: str, index: bytes):
    self.origin = origin
    # One thread: each worker process reads with its own core.
    self._file = _File(epath.Path(path), origin, 1)
    try:
      self._file.file.import_index(io.BytesIO(index))
    except _LIBRARY_ERRORS as e:
      self._file.close()
      raise GzipError(f'the index does not fit the file ({e})') from None

  def read_at(self, offset: int, size: int) -> bytes:
    """The `size` uncompressed bytes at `offset`.

    Raises:
      GzipError: the data is corrupt, or ends first.
    """
    out = bytearray(size)
    view = memoryview(out)
    done = 0
    try:
      self._file.file.seek(offset)
      while done < size:
        count = self._file.file.readinto(view[done:])
        if not count:
          raise GzipError(
              f'the data ends at uncompressed byte {offset + done:,}, before'
              f' the {size:,} bytes asked for at {offset:,}'
          )
        done += count
    except _LIBRARY_ERRORS as e:
      if isinstance(e, GzipError):
        raise
      raise GzipError(f'corrupt gzip data at uncompressed byte {offset + done:,} ({e})') from None
    return bytes(out)

  def close(self) -> None:
    self._file.close()
