"""Spill files: the build workers write each split's examples, bucketed by key.

A split's shards hold its examples ordered by a hash of their keys, as TFDS's
writer orders them (md5 of the split's name and the key, `hash_key`). A
worker hashes each key, appends the record to its own file for that key's
bucket (`SpillWriter`: 1,000 buckets per split, each a consecutive range of
hashes) and sends the parent only a `Spilled` (hashed key, size, file, end
offset). The parent keeps a `SpillIndex` of what it took; when the split is
complete, the workers that write its shards read the buckets back, sort each
by hashed key (`bucket_records`) and write the examples in that order.

An image stored unchanged is not copied: a worker spills the rest of the
example and where the image lies (`InPlace`: an archive and offset, or the
image file), and the image is read again from the input when its shard is
written (`InPlaceReader`). Images re-encoded or resized are spilled whole.

A worker owns its files (one per bucket and split, named by a token unique
to the process), so nobody else writes them, and records arrive in the order
they were written. Each file is read only up to the end of the last record
the parent took: a worker stopped mid-task (a crash, a split capped by
`max_examples_per_split`) may have written records nobody took, and they are
never read.

This module runs in the workers: it must not import TensorFlow or TFDS.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator, Sequence
import concurrent.futures
import hashlib
import operator
import os
import struct
import threading
from typing import NamedTuple, TypeAlias

# Buckets per split: a bucket's records are read whole into memory when its
# shard is written (for images referenced in place, a few hundred bytes per
# example).
NUM_BUCKETS = 1000
# A record's header: hashed key (two 64-bit halves), example size, body
# size, image offset, prefix size, path size, kind; then the body.
_HEADER = struct.Struct('=QQQQQIHB')
_INLINE = 0
_IN_PLACE = 1
_LOW_64 = (1 << 64) - 1
# Reads of images in place kept in flight while the shards are written.
_READ_THREADS = 4
_READ_WINDOW = 32
# Input files kept open for those reads (archives; a folder layout's first
# files, the others are opened for each read).
_OPEN_FILES = 256


class InPlace(NamedTuple):
  """An example whose image bytes are read from the input when written.

  The example's bytes are `prefix + <image_size bytes of path at offset> +
  suffix`: an image stored unchanged is not copied into the spill.

  Attributes:
    prefix: the serialised example up to the image bytes.
    suffix: the serialised example after them.
    path: the local file holding the image (an archive, or the image file).
    offset: where the image starts in it.
    image_size: the image's size.
  """

  prefix: bytes
  suffix: bytes
  path: str
  offset: int
  image_size: int


# What a worker spills for one example: its bytes, or where they are.
Record: TypeAlias = 'bytes | InPlace'


def spilled_size(record: Record) -> int:
  """Bytes a record takes in a spill file."""
  if isinstance(record, InPlace):
    return (
        _HEADER.size + len(record.prefix) + len(record.suffix)
        + len(record.path.encode('utf-8'))
    )
  return _HEADER.size + len(record)


def _key_bytes(key: str | bytes) -> bytes:
  """A key as TFDS's `hashing` turns it into bytes (`\\` read as `/`)."""
  if isinstance(key, bytes):
    return key
  return key.replace('\\', '/').encode('utf-8')


def hash_key(salt: str, key: str | bytes) -> int:
  """The 128-bit hash TFDS's shuffler orders examples by (md5 of salt + key).

  Args:
    salt: TFDS salts with the split's name.
    key: the example's key.

  Returns:
    The hash as an integer, equal to `tfds.core.hashing.Hasher(salt)
    .hash_key(key)`.
  """
  md5 = hashlib.md5(_key_bytes(salt))
  md5.update(_key_bytes(key))
  return int.from_bytes(md5.digest(), 'big')


def bucket_of(hkey: int) -> int:
  """The bucket of a hashed key; buckets hold consecutive ranges of hashes."""
  return (hkey * NUM_BUCKETS) >> 128


class Spilled(NamedTuple):
  """Where a worker spilled one serialised example.

  Attributes:
    hkey: the example's hashed key (`hash_key(split, key)`).
    size: bytes of the serialised example.
    path: the spill file.
    end: offset in `path` just past this record.
  """

  hkey: int
  size: int
  path: str
  end: int


class SpillError(RuntimeError):
  """A spill file is shorter than the records taken from it."""


class SpillWriter:
  """One worker's spill files for one split."""

  def __init__(self, directory: str, split: str, token: str):
    """Writes to `directory/<split>-<token>-<bucket>.spill`.

    Args:
      directory: the build's spill directory (exists).
      split: the split's name, also the hash salt.
      token: unique to the writing process.
    """
    self._split = split
    self._salt = hashlib.md5(_key_bytes(split))
    self._paths = [
        os.path.join(directory, f'{split}-{token}-{bucket:03d}.spill')
        for bucket in range(NUM_BUCKETS)
    ]
    self._ends: dict[str, int] = {}
    # Files kept open (up to `_max_open`, which the process's limit on open
    # files sets); the others are opened for each write.
    self._fds: dict[str, int] = {}
    self._max_open = _open_files_allowed()

  def write(self, records: Sequence[tuple[str, Record]]) -> list[tuple[str, Spilled]]:
    """Appends records to their buckets' files; returns where each went.

    Args:
      records: `(key, serialised example or where its image is)`.

    Returns:
      `(key, Spilled)` for each record, in the same order. Every record is in
      its file when this returns.
    """
    by_path: dict[str, list[bytes]] = {}
    spilled = []
    for key, record in records:
      md5 = self._salt.copy()
      md5.update(_key_bytes(key))
      hkey = int.from_bytes(md5.digest(), 'big')
      path = self._paths[bucket_of(hkey)]
      if isinstance(record, InPlace):
        source = record.path.encode('utf-8')
        size = len(record.prefix) + record.image_size + len(record.suffix)
        body = [record.prefix, record.suffix, source]
        header = _HEADER.pack(
            hkey >> 64, hkey & _LOW_64, size,
            len(record.prefix) + len(record.suffix) + len(source),
            record.offset, len(record.prefix), len(source), _IN_PLACE,
        )
      else:
        size = len(record)
        body = [record]
        header = _HEADER.pack(
            hkey >> 64, hkey & _LOW_64, size, size, 0, 0, 0, _INLINE
        )
      by_path.setdefault(path, []).extend((header, *body))
      end = self._ends.get(path, 0) + len(header) + sum(map(len, body))
      self._ends[path] = end
      spilled.append((key, Spilled(hkey, size, path, end)))
    for path, parts in by_path.items():
      fd = self._fds.get(path)
      if fd is None and len(self._fds) < self._max_open:
        fd = self._fds[path] = os.open(path, _APPEND_FLAGS, 0o644)
      if fd is None:
        with open(path, 'ab') as f:
          f.write(b''.join(parts))
      else:
        _write_all(fd, b''.join(parts))
    return spilled

  def close(self) -> None:
    """Closes the files kept open; later writes open them again."""
    for fd in self._fds.values():
      os.close(fd)
    self._fds.clear()


_APPEND_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, 'O_BINARY', 0)


def _open_files_allowed() -> int:
  """Spill files a writer may keep open: one per bucket if the limit allows.

  Raises the process's soft limit on open files towards its hard limit when
  that is needed (as TFDS's shuffler does), keeping 256 for everything else.
  """
  try:
    import resource  # pylint: disable=g-import-not-at-top  # POSIX only.
  except ImportError:
    return 0
  soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
  wanted = NUM_BUCKETS + 256
  if soft != resource.RLIM_INFINITY and soft < wanted:
    raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
      resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
      soft = raised
    except (ValueError, OSError):
      pass
  if soft == resource.RLIM_INFINITY:
    return NUM_BUCKETS
  return max(0, min(NUM_BUCKETS, soft - 256))


def _write_all(fd: int, data: bytes) -> None:
  view = memoryview(data)
  while view:
    view = view[os.write(fd, view):]


def _read_records(path: str, end: int) -> list[tuple[int, Record]]:
  """The records of a spill file up to offset `end`."""
  records: list[tuple[int, Record]] = []
  with open(path, 'rb') as f:
    position = 0
    while position < end:
      header = f.read(_HEADER.size)
      if len(header) < _HEADER.size:
        break
      high, low, size, body_size, offset, prefix_size, path_size, kind = (
          _HEADER.unpack(header)
      )
      body = f.read(body_size)
      if len(body) < body_size:
        break
      position += _HEADER.size + body_size
      hkey = (high << 64) | low
      if kind == _INLINE:
        records.append((hkey, body))
        continue
      suffix_end = body_size - path_size
      records.append((hkey, InPlace(
          body[:prefix_size], body[prefix_size:suffix_end],
          body[suffix_end:].decode('utf-8'), offset,
          size - suffix_end,
      )))
  if position != end:
    raise SpillError(
        f'The spill file {path} ends at byte {position}, but a build worker'
        f' reported records up to byte {end}. Something else changed the'
        ' build directory while the build ran (or the disk is full); run the'
        ' build again.'
    )
  return records


class InPlaceReader:
  """Reads images in place from the input files, on a few threads."""

  def __init__(self) -> None:
    self._files: dict[str, int] = {}
    self._lock = threading.Lock()
    self._executor: concurrent.futures.ThreadPoolExecutor | None = None

  def _read(self, record: InPlace) -> bytes:
    if not hasattr(os, 'pread'):  # Windows: a file object of its own per read.
      with open(record.path, 'rb') as f:
        f.seek(record.offset)
        return self._example(record, f.read(record.image_size))
    with self._lock:
      fd = self._files.get(record.path)
    opened = fd is None
    if fd is None:
      fd = os.open(record.path, os.O_RDONLY)
    try:
      image = os.pread(fd, record.image_size, record.offset)
    finally:
      if opened:
        with self._lock:
          if len(self._files) < _OPEN_FILES and record.path not in self._files:
            self._files[record.path] = fd
            opened = False
        if opened:
          os.close(fd)
    return self._example(record, image)

  @staticmethod
  def _example(record: InPlace, image: bytes) -> bytes:
    if len(image) != record.image_size:
      raise SpillError(
          f'{record.path} holds {len(image)} bytes at offset {record.offset}'
          f' where the build read an image of {record.image_size} bytes: the'
          ' input changed while the build ran. Run the build again.'
      )
    return b''.join((record.prefix, image, record.suffix))

  def examples(self, records: Iterable[tuple[int, Record]]) -> Iterator[tuple[int, bytes]]:
    """`(hkey, example bytes)` of each record, in order."""
    if self._executor is None:
      self._executor = concurrent.futures.ThreadPoolExecutor(
          _READ_THREADS, thread_name_prefix='imagenet_custom-spill-read'
      )
    pending: collections.deque[tuple[int, bytes | concurrent.futures.Future[bytes]]] = (
        collections.deque()
    )
    for hkey, record in records:
      if isinstance(record, InPlace):
        pending.append((hkey, self._executor.submit(self._read, record)))
      else:
        pending.append((hkey, record))
      if len(pending) >= _READ_WINDOW:
        yield _resolved(pending.popleft())
    while pending:
      yield _resolved(pending.popleft())

  def close(self) -> None:
    if self._executor is not None:
      self._executor.shutdown(wait=True)
      self._executor = None
    for fd in self._files.values():
      os.close(fd)
    self._files.clear()


def _resolved(
    item: tuple[int, bytes | concurrent.futures.Future[bytes]],
) -> tuple[int, bytes]:
  hkey, value = item
  return hkey, value if isinstance(value, bytes) else value.result()


def bucket_records(files: Iterable[tuple[str, int]]) -> list[tuple[int, Record]]:
  """A bucket's records, from its files up to their end offsets, by hashed key.

  Args:
    files: `(spill file, offset just past the last record taken)`.

  Raises:
    SpillError: a file holds fewer bytes than the records taken from it.
  """
  records: list[tuple[int, Record]] = []
  for path, end in sorted(files):
    records.extend(_read_records(path, end))
  records.sort(key=operator.itemgetter(0))
  return records


class SpillIndex:
  """The spilled examples of one split the parent took, bucket by bucket."""

  def __init__(self) -> None:
    # Per bucket: each file's end offset (of the last record taken).
    self._files: list[dict[str, int]] = [{} for _ in range(NUM_BUCKETS)]
    self._lengths = [0] * NUM_BUCKETS
    self.count = 0
    self.size = 0

  def add(self, spilled: Spilled) -> None:
    """Takes one spilled example."""
    bucket = bucket_of(spilled.hkey)
    files = self._files[bucket]
    files[spilled.path] = max(files.get(spilled.path, 0), spilled.end)
    self._lengths[bucket] += 1
    self.count += 1
    self.size += spilled.size

  @property
  def bucket_lengths(self) -> list[int]:
    """Examples taken per bucket."""
    return list(self._lengths)

  def bucket_files(self, bucket: int) -> tuple[tuple[str, int], ...]:
    """`(spill file, end offset)` of every file holding the bucket's records."""
    return tuple(sorted(self._files[bucket].items()))

  def paths(self) -> list[str]:
    """Every spill file records were taken from."""
    return sorted({path for files in self._files for path in files})
