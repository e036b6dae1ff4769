"""Random access into a gzip file, through access points into its deflate stream.

gzip has no random access: each byte of deflate output may copy from the
32 KiB before it, and each block's Huffman codes start wherever the previous
block ended, at any bit. zlib's own answer (`examples/zran.c` in the zlib
sources; the `indexed_gzip` package does the same) is used here: one
sequential pass notes *access points* at deflate block boundaries — the
boundary's bit position in the file, its offset in the uncompressed data, and
the 32 KiB of output before it — and inflating can then start at any access
point (prime the boundary byte's remaining bits, load the 32 KiB as the
dictionary) instead of at the start of the file.

Python's `zlib` module can do neither half: it cannot stop at block
boundaries (zlib's `Z_BLOCK` flush, which reports the bit position) nor start
at a bit (`inflatePrime`). So this module calls the zlib library itself —
libz, the library Python's `zlib` module is linked to — through `ctypes`
(`inflateInit2_`, `inflate`, `inflatePrime`, `inflateSetDictionary`,
`inflateReset2`, `inflateEnd`; the `z_stream` layout has been zlib's ABI since
1.0, and `inflateInit2_` checks its size). Where no libz can be loaded
(Windows builds of Python link zlib in), `LibzUnavailableError` says so.

Which access points to keep is the caller's choice (`IndexingPass.point_before`):
`tar_gz` keeps one before each folder of a tar, so that reading a class
starts at its own access point. Concatenated gzip members (`cat a.gz b.gz`)
are one stream of uncompressed data, as for `gzip -d`; zero padding after
the last member is allowed, anything else after it is an error.

Contracts: an `IndexingPass` or an `Inflating` belongs to one thread at a
time; both own their own `z_stream` and read the file only through the file
object they were given. Inflating runs outside the GIL (ctypes releases it).
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
import ctypes
import ctypes.util
import functools
from typing import BinaryIO, NamedTuple
import weakref

from imagenet_custom.errors import InputError

# Deflate's window: a block may copy from this many bytes before it.
WINDOW_BYTES = 32768
# Compressed bytes read from the file at a time, and output per `inflate` call.
_INPUT_BYTES = 1 << 20
_OUTPUT_BYTES = 1 << 18
_GZIP_MAGIC = b'\x1f\x8b'
_GZIP_TRAILER_BYTES = 8  # CRC-32 and size, after each member's deflate data.

# From zlib.h.
_Z_OK = 0
_Z_STREAM_END = 1
_Z_NEED_DICT = 2
_Z_BUF_ERROR = -5
_Z_NO_FLUSH = 0
_Z_BLOCK = 5
_GZIP_WINDOW_BITS = 15 + 16  # a gzip header and trailer around the deflate data
_RAW_WINDOW_BITS = -15  # deflate data alone
# `data_type` after `inflate(Z_BLOCK)`: at a block boundary; in the last block;
# the bits of the last byte read that belong to the next block.
_AT_BOUNDARY = 128
_IN_LAST_BLOCK = 64
_UNUSED_BITS = 7


class GzipError(ValueError):
  """The gzip data is truncated or corrupt (the message says where)."""


class LibzUnavailableError(InputError):
  """No zlib library can be loaded through `ctypes`."""


class AccessPoint(NamedTuple):
  """A deflate block boundary where inflating can start.

  Attributes:
    in_offset: the file offset after the byte holding the boundary's first
      bits (zran.c's `in`): the block starts `bits` bits before it.
    bits: how many bits of byte `in_offset - 1` belong to the block (0: it
      starts at `in_offset`, on a byte).
    out_offset: the boundary's offset in the uncompressed data.
  """

  in_offset: int
  bits: int
  out_offset: int


class _ZStream(ctypes.Structure):
  """zlib's `z_stream` (zlib.h)."""

  _fields_ = [
      ('next_in', ctypes.c_void_p),
      ('avail_in', ctypes.c_uint),
      ('total_in', ctypes.c_ulong),
      ('next_out', ctypes.c_void_p),
      ('avail_out', ctypes.c_uint),
      ('total_out', ctypes.c_ulong),
      ('msg', ctypes.c_char_p),
      ('state', ctypes.c_void_p),
      ('zalloc', ctypes.c_void_p),
      ('zfree', ctypes.c_void_p),
      ('opaque', ctypes.c_void_p),
      ('data_type', ctypes.c_int),
      ('adler', ctypes.c_ulong),
      ('reserved', ctypes.c_ulong),
  ]


# Names under which libz is found: Linux, macOS, then the linker's search.
_LIBZ_NAMES = ('libz.so.1', 'libz.dylib')


@functools.cache
def _libz() -> ctypes.CDLL:
  """The zlib library, with the signatures used here.

  Raises:
    LibzUnavailableError: none can be loaded.
  """
  names = list(_LIBZ_NAMES)
  for found in (ctypes.util.find_library('z'), ctypes.util.find_library('zlib1')):
    if found:
      names.append(found)
  for name in names:
    try:
      lib = ctypes.CDLL(name)
    except OSError:
      continue
    stream = ctypes.POINTER(_ZStream)
    lib.zlibVersion.restype = ctypes.c_char_p
    lib.zlibVersion.argtypes = []
    lib.inflateInit2_.argtypes = [stream, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.inflate.argtypes = [stream, ctypes.c_int]
    lib.inflateEnd.argtypes = [stream]
    lib.inflateReset2.argtypes = [stream, ctypes.c_int]
    lib.inflatePrime.argtypes = [stream, ctypes.c_int, ctypes.c_int]
    lib.inflateSetDictionary.argtypes = [stream, ctypes.c_char_p, ctypes.c_uint]
    return lib
  raise LibzUnavailableError(
      'Reading a .tar.gz in place needs the zlib library (libz) loadable'
      f' through ctypes; none was found (tried {", ".join(names)}). Extract'
      ' the archive (`tar -xzf`) and read the extracted folder instead.'
  )


def check_available() -> None:
  """Raises `LibzUnavailableError` when this module cannot work here."""
  _libz()


class _Inflater:
  """One `z_stream` reading a file: input buffer, position, errors.

  Attributes:
    origin: the file's name, for errors.
    input_end: the file offset after the last byte read into the buffer.
  """

  def __init__(self, fileobj: BinaryIO, origin: str, window_bits: int):
    self._lib = _libz()
    self._file = fileobj
    self.origin = origin
    self._stream = _ZStream()
    self._ref = ctypes.byref(self._stream)
    status = self._lib.inflateInit2_(
        self._ref, window_bits, self._lib.zlibVersion(), ctypes.sizeof(_ZStream)
    )
    if status != _Z_OK:
      raise RuntimeError(f'inflateInit2_ failed ({status}): libz does not match zlib.h')
    self._finalizer = weakref.finalize(self, self._lib.inflateEnd, self._ref)
    self._input = bytearray(_INPUT_BYTES)
    self._input_address = ctypes.addressof(
        (ctypes.c_char * _INPUT_BYTES).from_buffer(self._input)
    )
    self.input_end = fileobj.tell()
    self.eof = False

  def close(self) -> None:
    """Frees zlib's state."""
    self._finalizer()

  @property
  def consumed(self) -> int:
    """The file offset of the next compressed byte zlib will read."""
    return self.input_end - self._stream.avail_in

  @property
  def data_type(self) -> int:
    return self._stream.data_type

  def refill(self) -> None:
    """Reads more compressed data once zlib has used all it had."""
    if self._stream.avail_in or self.eof:
      return
    readinto = getattr(self._file, 'readinto', None)
    if readinto is not None:
      count = readinto(memoryview(self._input))
    else:
      data = self._file.read(_INPUT_BYTES)
      count = len(data)
      self._input[:count] = data
    if not count:
      self.eof = True
      return
    self._stream.next_in = self._input_address
    self._stream.avail_in = count
    self.input_end += count

  def inflate_into(self, address: int, size: int, flush: int) -> tuple[int, int]:
    """Inflates into `size` bytes at `address`, reading input as needed.

    Args:
      address: where output goes.
      size: room there.
      flush: `_Z_NO_FLUSH`, or `_Z_BLOCK` to stop at the next block boundary.

    Returns:
      zlib's status (`_Z_OK`, `_Z_STREAM_END` or `_Z_BUF_ERROR` when more
      input is needed) and the bytes written.

    Raises:
      GzipError: the data is corrupt.
    """
    self.refill()
    self._stream.next_out = address
    self._stream.avail_out = size
    status = self._lib.inflate(self._ref, flush)
    if status == _Z_NEED_DICT or (status < 0 and status != _Z_BUF_ERROR):
      message = (self._stream.msg or b'').decode('ascii', 'replace') or f'zlib status {status}'
      raise GzipError(f'corrupt deflate data near byte {self.consumed:,} ({message})')
    return status, size - self._stream.avail_out

  @property
  def available(self) -> int:
    """How many compressed bytes are read but not yet used."""
    return self._stream.avail_in

  def unused_input(self) -> bytes:
    """The compressed bytes read but not used (after a stream's end)."""
    offset = self._stream.next_in - self._input_address if self._stream.avail_in else 0
    return bytes(self._input[offset : offset + self._stream.avail_in])

  def drop_input(self, count: int) -> None:
    """Skips `count` compressed bytes (all in the buffer)."""
    self._stream.next_in += count
    self._stream.avail_in -= count

  def reset_for_gzip(self) -> None:
    """Starts over on the next member's gzip header (input is kept)."""
    self._lib.inflateReset2(self._ref, _GZIP_WINDOW_BITS)

  def prime(self, bits: int, value: int) -> None:
    self._lib.inflatePrime(self._ref, bits, value)

  def set_dictionary(self, window: bytes) -> None:
    self._lib.inflateSetDictionary(self._ref, window, len(window))

  def truncated(self, what: str) -> GzipError:
    return GzipError(
        f'truncated: the file ends at byte {self.input_end:,} {what}'
    )


def _next_member(inflater: _Inflater) -> bool:
  """After a gzip member's end: moves to the next member, if there is one.

  Args:
    inflater: just returned `_Z_STREAM_END`, in gzip mode (trailer read).

  Returns:
    Whether another member follows (the inflater is reset for it); False at
    the end of the file, or when only zero padding follows.

  Raises:
    GzipError: something else follows the last member.
  """
  while True:
    rest = inflater.unused_input()
    if rest:
      break
    inflater.refill()
    if inflater.eof:
      return False
  if rest.startswith(_GZIP_MAGIC) or (len(rest) == 1 and rest == _GZIP_MAGIC[:1]):
    inflater.reset_for_gzip()
    return True
  while True:
    if rest.count(0) != len(rest):
      raise GzipError(
          f'unexpected data after the end of the gzip stream, near byte'
          f' {inflater.consumed:,}'
      )
    inflater.drop_input(len(rest))
    inflater.refill()
    if inflater.eof:
      return False
    rest = inflater.unused_input()


class IndexingPass:
  """Inflates a whole gzip file in order, offering access points as it goes.

  Iterate `chunks()` for the uncompressed data. While doing so, the consumer
  asks `point_before(offset)` for an access point at the last block boundary
  at or before `offset`, with its window; it may ask for any offset from the
  last one it passed to `release` on. `release(offset)` lets go of the
  boundaries and window bytes no longer needed, so memory stays bounded.

  Attributes:
    origin: the file's name, for errors.
    size: the uncompressed size (known once `chunks()` is exhausted).
  """

  def __init__(self, fileobj: BinaryIO, origin: str):
    self._file = fileobj
    self.origin = origin
    self.size = 0
    # Boundaries not yet released, oldest first, and the output from
    # `WINDOW_BYTES` before the oldest on (`_history_start` is its offset).
    self._boundaries: collections.deque[AccessPoint] = collections.deque()
    self._history = bytearray()
    self._history_start = 0

  def chunks(self) -> Iterator[bytes]:
    """The uncompressed data, in order, in chunks of up to 256 KiB.

    Raises:
      GzipError: the file is truncated, corrupt, or not gzip.
    """
    self._file.seek(0)
    if self._file.read(2) != _GZIP_MAGIC:
      raise GzipError('not a gzip file (it does not start with 1f 8b)')
    self._file.seek(0)
    inflater = _Inflater(self._file, self.origin, _GZIP_WINDOW_BITS)
    output = bytearray(_OUTPUT_BYTES)
    address = ctypes.addressof((ctypes.c_char * _OUTPUT_BYTES).from_buffer(output))
    try:
      while True:
        status, produced = inflater.inflate_into(address, _OUTPUT_BYTES, _Z_BLOCK)
        chunk = bytes(memoryview(output)[:produced])
        if chunk:
          self._history += chunk
          self.size += produced
        data_type = inflater.data_type
        if (
            status != _Z_STREAM_END
            and data_type & _AT_BOUNDARY
            and not data_type & _IN_LAST_BLOCK
        ):
          self._boundaries.append(
              AccessPoint(inflater.consumed, data_type & _UNUSED_BITS, self.size)
          )
        if chunk:
          yield chunk
        if status == _Z_STREAM_END:
          if not _next_member(inflater):
            return
        elif not produced and inflater.eof:
          raise inflater.truncated(
              f'before the end of the gzip stream ({self.size:,} bytes inflated)'
          )
    finally:
      inflater.close()

  @property
  def bytes_read(self) -> int:
    """How far into the compressed file the pass has read."""
    return self._file.tell()

  def point_before(self, offset: int) -> tuple[AccessPoint, bytes]:
    """The access point at the last block boundary at or before `offset`.

    Args:
      offset: an uncompressed offset, not before the last `release`.

    Returns:
      The point and its window (up to 32 KiB of output before it).
    """
    for point in reversed(self._boundaries):
      if point.out_offset <= offset:
        start = point.out_offset - self._history_start
        window = bytes(self._history[max(0, start - WINDOW_BYTES) : start])
        return point, window
    raise ValueError(
        f'no block boundary kept at or before offset {offset} (released past it)'
    )

  def release(self, offset: int) -> None:
    """No access point before `offset` will be asked for any more."""
    boundaries = self._boundaries
    while len(boundaries) >= 2 and boundaries[1].out_offset <= offset:
      boundaries.popleft()
    keep_from = (boundaries[0].out_offset if boundaries else self.size) - WINDOW_BYTES
    drop = keep_from - self._history_start
    if drop > 0:
      del self._history[:drop]
      self._history_start += drop


class Inflating:
  """The uncompressed data of a gzip file, read forward from an access point.

  Attributes:
    origin: the file's name, for errors.
    position: the uncompressed offset of the next byte `read` returns.
  """

  def __init__(
      self, fileobj: BinaryIO, origin: str, point: AccessPoint, window: bytes
  ):
    self.origin = origin
    self.position = point.out_offset
    fileobj.seek(point.in_offset - (1 if point.bits else 0))
    first = fileobj.read(1) if point.bits else b''
    if point.bits and len(first) != 1:
      raise GzipError(f'truncated: no byte at {point.in_offset - 1:,}')
    self._inflater = _Inflater(fileobj, origin, _RAW_WINDOW_BITS)
    if point.bits:
      self._inflater.prime(point.bits, first[0] >> (8 - point.bits))
    if window:
      self._inflater.set_dictionary(window)
    self._raw = True  # In a member started from a point (no gzip header).
    self._ended = False
    self._scratch = bytearray(_OUTPUT_BYTES)
    self._scratch_address = ctypes.addressof(
        (ctypes.c_char * _OUTPUT_BYTES).from_buffer(self._scratch)
    )

  def close(self) -> None:
    """Frees zlib's state (the file stays open: it is the caller's)."""
    self._inflater.close()

  def __enter__(self) -> Inflating:
    return self

  def __exit__(self, *exc_info: object) -> None:
    self.close()

  def _fill(self, address: int, size: int) -> None:
    """Writes the next `size` uncompressed bytes at `address`."""
    done = 0
    while done < size:
      if self._ended:
        raise GzipError(
            f'the data ends at uncompressed byte {self.position + done:,}, before'
            f' the {size:,} bytes asked for at {self.position:,}'
        )
      status, produced = self._inflater.inflate_into(address + done, size - done, _Z_NO_FLUSH)
      done += produced
      if status == _Z_STREAM_END:
        self._end_of_member()
      elif not produced and self._inflater.eof:
        raise self._inflater.truncated(f'while inflating uncompressed byte {self.position + done:,}')
    self.position += size

  def _end_of_member(self) -> None:
    if self._raw:
      # Raw inflating stops before the member's trailer (its CRC-32 is not
      # checked: inflating started mid-member); later members are read
      # whole, in gzip mode, which checks theirs.
      self._skip_input(_GZIP_TRAILER_BYTES)
      self._raw = False
    if not _next_member(self._inflater):
      self._ended = True

  def _skip_input(self, count: int) -> None:
    while count:
      available = self._inflater.available
      if not available:
        self._inflater.refill()
        if self._inflater.eof:
          raise self._inflater.truncated('inside a gzip trailer')
        continue
      step = min(count, available)
      self._inflater.drop_input(step)
      count -= step

  def read(self, size: int) -> bytes:
    """The next `size` uncompressed bytes.

    Raises:
      GzipError: the data is corrupt, or ends first.
    """
    if size <= 0:
      return b''
    out = bytearray(size)
    self._fill(ctypes.addressof((ctypes.c_char * size).from_buffer(out)), size)
    return bytes(out)

  def skip(self, size: int) -> None:
    """Inflates and drops the next `size` uncompressed bytes."""
    while size > 0:
      step = min(size, _OUTPUT_BYTES)
      self._fill(self._scratch_address, step)
      size -= step
