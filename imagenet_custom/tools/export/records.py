"""The records of a built dataset's shards, and TFRecord files written. Pure.

TFRecord framing (tensorflow/core/lib/io/record_writer.cc): each record is
  uint64 length (little-endian), uint32 masked CRC-32C of those 8 bytes,
  the data, uint32 masked CRC-32C of the data,
where mask(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8 (mod 2**32).

Examples are decoded from the protobuf wire format of `tf.train.Example`
(tensorflow/core/example/{example,feature}.proto) without TensorFlow; the
encoder is `imagenet_custom.build.example_proto`.
"""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
import struct
from typing import IO

import google_crc32c
import numpy as np

_HEADER = struct.Struct('<QI')
_CRC = struct.Struct('<I')
_MASK_DELTA = 0xA282EAD8


class CorruptShardError(ValueError):
  """A shard's framing or checksum is wrong."""


def masked_crc(data: bytes) -> int:
  """TFRecord's masked CRC-32C of `data`."""
  crc = google_crc32c.value(data)
  return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def write_record(stream: IO[bytes], data: bytes) -> int:
  """Appends one TFRecord record to `stream`; returns the bytes written."""
  length = struct.pack('<Q', len(data))
  stream.write(length)
  stream.write(_CRC.pack(masked_crc(length)))
  stream.write(data)
  stream.write(_CRC.pack(masked_crc(data)))
  return len(data) + _HEADER.size + _CRC.size


def iter_tfrecord(path: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
  """The records `start` to `stop` (exclusive) of a TFRecord file, checked.

  Records before `start` are skipped by their lengths, unread.

  Raises:
    CorruptShardError: a truncated record or a CRC mismatch, naming the file
      and the record.
  """
  with open(path, 'rb') as stream:
    index = 0
    while stop is None or index < stop:
      header = stream.read(_HEADER.size)
      if not header:
        break
      if len(header) != _HEADER.size:
        raise CorruptShardError(f'{path}: record {index} is truncated (header)')
      length, length_crc = _HEADER.unpack(header)
      if masked_crc(header[:8]) != length_crc:
        raise CorruptShardError(
            f'{path}: record {index} has a bad length checksum: the shard is'
            ' corrupt; build the dataset again.'
        )
      if index < start:
        stream.seek(length + _CRC.size, 1)
        index += 1
        continue
      data = stream.read(length)
      footer = stream.read(_CRC.size)
      if len(data) != length or len(footer) != _CRC.size:
        raise CorruptShardError(f'{path}: record {index} is truncated')
      if masked_crc(data) != _CRC.unpack(footer)[0]:
        raise CorruptShardError(
            f'{path}: record {index} has a bad data checksum: the shard is'
            ' corrupt; build the dataset again.'
        )
      yield data
      index += 1


def iter_array_record(path: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
  """The records `start` to `stop` (exclusive) of an ArrayRecord file."""
  from array_record.python import array_record_module  # pylint: disable=g-import-not-at-top

  reader = array_record_module.ArrayRecordReader(path)
  try:
    end = reader.num_records() if stop is None else min(stop, reader.num_records())
    yield from reader.read(start, end) if end > start else ()
  finally:
    reader.close()


def iter_records(path: str, file_format: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
  """The records of a shard of either format TFDS writes."""
  if file_format == 'tfrecord':
    return iter_tfrecord(path, start, stop)
  if file_format == 'array_record':
    return iter_array_record(path, start, stop)
  raise ValueError(f'{path}: unknown file format {file_format!r}: expected tfrecord or array_record')


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
  result = shift = 0
  while True:
    byte = data[pos]
    pos += 1
    result |= (byte & 0x7F) << shift
    if byte < 0x80:
      return result, pos
    shift += 7


def _fields(data: memoryview) -> Iterator[tuple[int, int | memoryview]]:
  """(field number, value) of a message: varints as int, the rest as views (not copied)."""
  pos, end = 0, len(data)
  while pos < end:
    key = data[pos]
    if key < 0x80:  # One-byte keys (field numbers below 16): every key here.
      pos += 1
    else:
      key, pos = _varint(data, pos)
    number, wire_type = key >> 3, key & 7
    if wire_type == 2:
      size = data[pos]
      if size < 0x80:
        pos += 1
      else:
        size, pos = _varint(data, pos)
      yield number, data[pos:pos + size]
      pos += size
    elif wire_type == 0:
      value, pos = _varint(data, pos)
      yield number, value
    elif wire_type == 5:
      yield number, data[pos:pos + 4]
      pos += 4
    elif wire_type == 1:
      yield number, data[pos:pos + 8]
      pos += 8
    else:
      raise ValueError(f'unsupported protobuf wire type {wire_type}')


def _feature_values(feature: memoryview) -> list[bytes] | np.ndarray | list[int]:
  for kind, payload in _fields(feature):
    assert isinstance(payload, memoryview)
    if kind == 1:  # BytesList
      return [bytes(v) for _, v in _fields(payload) if isinstance(v, memoryview)]
    if kind == 2:  # FloatList, packed or not
      parts = [v for _, v in _fields(payload)]
      return np.frombuffer(b''.join(p for p in parts if isinstance(p, memoryview)), '<f4')
    if kind == 3:  # Int64List, packed or not
      values: list[int] = []
      for _, v in _fields(payload):
        if isinstance(v, int):
          values.append(v)
        else:
          pos = 0
          while pos < len(v):
            value, pos = _varint(v, pos)
            values.append(value - (1 << 64) if value >= 1 << 63 else value)
      return values
  return []


def parse_example(data: bytes) -> dict[str, list[bytes] | np.ndarray | list[int]]:
  """The features of a serialised `tf.train.Example`, by key.

  Returns:
    Bytes features as lists of bytes, floats as float32 arrays, int64s as
    lists of ints.
  """
  features: dict[str, list[bytes] | np.ndarray | list[int]] = {}
  for _, features_message in _fields(memoryview(data)):
    assert isinstance(features_message, memoryview)
    for _, entry in _fields(features_message):
      assert isinstance(entry, memoryview)
      key, value = '', memoryview(b'')
      for number, part in _fields(entry):
        assert isinstance(part, memoryview)
        if number == 1:
          key = bytes(part).decode('utf-8')
        else:
          value = part
      features[key] = _feature_values(value)
  return features


@dataclasses.dataclass(frozen=True)
class StoredExample:
  """One example of a built `imagenet_custom`, as stored.

  Attributes:
    file_name: the original file name, e.g. `n01440764_10026.JPEG`.
    label: the `label` feature (sorted-WNID index, or the relabelled one).
    image: the JPEG bytes as stored.
    bboxes: float32 [N, 4], TFDS's `[ymin, xmin, ymax, xmax]` in [0, 1].
  """

  file_name: str
  label: int
  image: bytes
  bboxes: np.ndarray


def decode_stored(data: bytes, source: str) -> StoredExample:
  """A built example from its record.

  Raises:
    ValueError: a feature is missing (naming `source`, the shard and record).
  """
  features = parse_example(data)
  try:
    image, file_name, label = features['image'], features['file_name'], features['label']
  except KeyError as e:
    raise ValueError(
        f'{source}: the example lacks feature {e}: not an imagenet_custom build'
    ) from None
  boxes = np.asarray(features.get('bboxes', np.zeros(0, np.float32)), np.float32)
  return StoredExample(
      file_name=bytes(file_name[0]).decode('utf-8'),
      label=int(label[0]),
      image=bytes(image[0]),
      bboxes=boxes.reshape(-1, 4),
  )
