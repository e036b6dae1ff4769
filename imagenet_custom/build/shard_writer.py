"""The final shard files, written by the build workers.

When a split's examples are all spilled (`spill`), its shards are decided in
the parent by TFDS's rule (how many, how many examples each, their file
names: `tfds_glue.shard_plan`), and each shard becomes a `WriteShard` task:
the worker reads the buckets its range of examples covers, sorts each by
hashed key, reads the images kept in place and writes the records, in the
order TFDS's writer would, as TFRecord (`_TfRecordFile`: each record framed
by its length and the masked CRC32C of the length and of the data) or
ArrayRecord (`array_record`'s writer with TFDS's options, `group_size:1`).

A shard is written to its final name in the build's temporary directory,
which TFDS renames when the whole dataset is done and deletes otherwise.

This module runs in the workers: it must not import TensorFlow or TFDS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
import dataclasses
import itertools
import os
import struct
from typing import Any, NamedTuple, Protocol

import google_crc32c

from imagenet_custom.build import spill as spill_lib

TFRECORD = 'tfrecord'
ARRAY_RECORD = 'array_record'
# TFDS 4.9.10's `ArrayRecordFileAdapter.write_examples` writes with these.
ARRAY_RECORD_OPTIONS = 'group_size:1'
_LENGTH = struct.Struct('<Q')
_CRC = struct.Struct('<I')
_MASK_DELTA = 0xA282EAD8


class ShardWriteError(RuntimeError):
  """A shard could not be written (full disk, file size limit, I/O error)."""


class DuplicateKeyError(RuntimeError):
  """Two examples of a split have the same key."""


def masked_crc(data: bytes) -> int:
  """TFRecord's checksum: CRC32C of `data`, rotated right by 15 bits, plus a constant."""
  return _mask(google_crc32c.value(data))


def tfrecord_frame(data: bytes) -> tuple[bytes, bytes]:
  """The bytes TFRecord writes before and after a record's data."""
  return tfrecord_frame_parts((data,))


def tfrecord_frame_parts(parts: Sequence[bytes]) -> tuple[bytes, bytes]:
  """`tfrecord_frame` of the record whose data is `parts` joined, without joining them."""
  length = _LENGTH.pack(sum(map(len, parts)))
  crc = 0
  for part in parts:
    crc = google_crc32c.extend(crc, part)
  return length + _CRC.pack(masked_crc(length)), _CRC.pack(_mask(crc))


def _mask(crc: int) -> int:
  return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


class _RecordFile(Protocol):
  def write(self, data: bytes) -> None: ...

  def close(self) -> None: ...


class _TfRecordFile:
  """A TFRecord file, as TensorFlow's `TFRecordWriter` writes it (no compression)."""

  def __init__(self, path: str):
    self._file = open(path, 'wb')  # pylint: disable=consider-using-with

  def write(self, data: bytes) -> None:
    head, tail = tfrecord_frame(data)
    self._file.write(head)
    self._file.write(data)
    self._file.write(tail)

  def close(self) -> None:
    self._file.close()


class _ArrayRecordFile:
  """An ArrayRecord file, through `array_record`'s writer."""

  def __init__(self, path: str):
    from array_record.python import array_record_module  # pylint: disable=g-import-not-at-top

    self._writer = array_record_module.ArrayRecordWriter(path, ARRAY_RECORD_OPTIONS)

  def write(self, data: bytes) -> None:
    self._writer.write(data)

  def close(self) -> None:
    ok = self._writer.ok()
    self._writer.close()
    if not ok:
      raise OSError('the ArrayRecord writer failed')


_FILE_KINDS: dict[str, Callable[[str], _RecordFile]] = {
    TFRECORD: _TfRecordFile,
    ARRAY_RECORD: _ArrayRecordFile,
}


@dataclasses.dataclass(frozen=True)
class BucketSlice:
  """The examples a shard takes from one bucket.

  Attributes:
    files: `(spill file, end offset)` of the bucket's records.
    skip: examples of the bucket (in hashed-key order) before this shard's.
    take: how many of them go to this shard.
    whole: the shard takes the whole bucket, so it deletes its files once read.
  """

  files: tuple[tuple[str, int], ...]
  skip: int
  take: int
  whole: bool


def shard_slices(
    boundaries: Sequence[int], bucket_lengths: Sequence[int]
) -> list[list[tuple[int, int, int]]]:
  """Which buckets each shard reads: `(bucket, skip, take)` per shard.

  Args:
    boundaries: the end (exclusive) of each shard among the split's examples
      in hashed-key order; the last is the number of examples.
    bucket_lengths: examples per bucket.

  Returns:
    For each shard, the buckets it reads and the examples it takes of each.
  """
  slices: list[list[tuple[int, int, int]]] = []
  bucket, bucket_start = 0, 0
  start = 0
  for end in boundaries:
    pieces = []
    while start < end:
      while bucket_start + bucket_lengths[bucket] <= start:
        bucket_start += bucket_lengths[bucket]
        bucket += 1
      skip = start - bucket_start
      take = min(end, bucket_start + bucket_lengths[bucket]) - start
      pieces.append((bucket, skip, take))
      start += take
    slices.append(pieces)
  return slices


class ShardWritten(NamedTuple):
  """A shard written: its path, examples and bytes on disk."""

  path: str
  num_examples: int
  file_size: int


@dataclasses.dataclass(frozen=True)
class WriteShard:
  """Writes one shard of a split from its buckets' spill files.

  Attributes:
    split: the split's name.
    path: the shard's file (its final name in the build's directory).
    file_format: `TFRECORD` or `ARRAY_RECORD`.
    buckets: the slices of buckets it holds, in order.
  """

  split: str
  path: str
  file_format: str
  buckets: tuple[BucketSlice, ...]

  def __call__(self, state: Any, emit: Callable[[Any], None]) -> ShardWritten:
    del state, emit
    count = 0
    try:
      out = _FILE_KINDS[self.file_format](self.path)
      try:
        for data in self._examples():
          out.write(data)
          count += 1
      finally:
        out.close()
      size = os.path.getsize(self.path)
    except OSError as e:
      raise ShardWriteError(
          f'Could not write {self.describe()}: {e}. Nothing was kept; check'
          ' the free space (and any file size limit, `ulimit -f`) where the'
          ' dataset is written, then run the same command again: the build'
          ' starts over and writes identical shards.'
      ) from None
    return ShardWritten(self.path, count, size)

  def _examples(self) -> Iterator[bytes]:
    """The shard's serialised examples, in hashed-key order."""
    reader = spill_lib.InPlaceReader()
    try:
      for piece in self.buckets:
        records = spill_lib.bucket_records(piece.files)
        for (hkey, _), (next_hkey, _) in itertools.pairwise(records):
          if hkey == next_hkey:
            raise DuplicateKeyError(
                f'Two examples of split {self.split!r} have the same key'
                f' (hashed {hkey:032x}): every image must have a unique'
                ' file name. This is a bug in imagenet_custom or its layout'
                ' reader.'
            )
        if piece.whole:
          for path, _ in piece.files:
            os.remove(path)
        chosen = records[piece.skip : piece.skip + piece.take]
        for _, data in reader.examples(chosen):
          yield data
    finally:
      reader.close()

  def describe(self) -> str:
    return (
        f'shard {os.path.basename(self.path)} of split {self.split!r} in'
        f' {os.path.dirname(self.path)}'
    )
