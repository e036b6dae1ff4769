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

from collections.abc import Iterator, Sequence
import dataclasses
import struct
from typing import IO

import numpy as np

from imagenet_custom.build import drop_behind
from imagenet_custom.build import shard_writer

_HEADER = struct.Struct('<QI')
_CRC = struct.Struct('<I')


class CorruptShardError(ValueError):
  """A shard's framing or checksum is wrong."""


def write_record(stream: IO[bytes], data: bytes) -> int:
  """Appends one TFRecord record to `stream`; returns the bytes written."""
  head, tail = shard_writer.tfrecord_frame(data)
  stream.write(head)
  stream.write(data)
  stream.write(tail)
  return len(head) + len(data) + len(tail)


def record_buffers(parts: Sequence[bytes]) -> list[bytes]:
  """One TFRecord record whose data is `parts` joined, as buffers for one `writev`.

  The parts (e.g. an image) are not copied into one buffer: the framing is
  computed over them (`shard_writer.tfrecord_frame_parts`).
  """
  head, tail = shard_writer.tfrecord_frame_parts(parts)
  return [head, *parts, tail]


def iter_tfrecord(path: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
  """The records `start` to `stop` (exclusive) of a TFRecord file, checked.

  Records before `start` are skipped by their lengths, unread. What has been
  read is dropped from the page cache every `drop_behind.CHUNK` bytes (an
  export reads each byte once; its pages are then reused at once).

  Raises:
    CorruptShardError: a truncated record or a CRC mismatch, naming the file
      and the record.
  """
  with open(path, 'rb') as stream:
    index = dropped = 0
    while stop is None or index < stop:
      header = stream.read(_HEADER.size)
      if not header:
        break
      if len(header) != _HEADER.size:
        raise CorruptShardError(f'{path}: record {index} is truncated (header)')
      length, length_crc = _HEADER.unpack(header)
      if shard_writer.masked_crc(header[:8]) != length_crc:
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
      if shard_writer.masked_crc(data) != _CRC.unpack(footer)[0]:
        raise CorruptShardError(
            f'{path}: record {index} has a bad data checksum: the shard is'
            ' corrupt; build the dataset again.'
        )
      yield data
      index += 1
      position = stream.tell()
      if position - dropped >= drop_behind.CHUNK:
        drop_behind.drop(stream.fileno(), dropped, position - dropped)
        dropped = position


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


def _varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
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

  Records as TFDS writes them (deterministic serialisation: each map entry
  its key then its value, lists packed) are read by `_stored_canonical`, in
  one pass; anything else by `parse_example`.

  Raises:
    ValueError: a feature is missing (naming `source`, the shard and record).
  """
  stored = _stored_canonical(data)
  if stored is not None:
    return stored
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


# Feature kinds (the `Feature` oneof's key bytes) of the four stored features.
_STORED_KINDS = {b'image': 0x0A, b'file_name': 0x0A, b'label': 0x1A, b'bboxes': 0x12}


def _stored_canonical(data: bytes) -> StoredExample | None:
  """`decode_stored` of a record in TFDS's canonical encoding; None for any other.

  Walks the `Features` map's entries once, by index into the bytes, and
  takes the first value of `image`, `file_name` and `label` and the packed
  floats of `bboxes`. Anything it does not expect (a missing feature, a key
  after its value, an unpacked list, another kind, bytes cut short) returns
  None, for the general parser to decide.
  """
  try:
    values = _stored_lists(data)
  except IndexError:
    return None
  if values is None:
    return None
  image, file_name = _first_bytes(data, values[b'image']), _first_bytes(data, values[b'file_name'])
  label, boxes = _packed(data, values[b'label']), _packed(data, values[b'bboxes'])
  if image is None or file_name is None or not label or boxes is None or len(boxes) % 16:
    return None
  value, _ = _varint(label, 0)
  return StoredExample(
      file_name=file_name.decode('utf-8'),
      label=value - (1 << 64) if value >= 1 << 63 else value,
      image=image,
      bboxes=np.frombuffer(boxes, '<f4').astype(np.float32, copy=False).reshape(-1, 4),
  )


def _stored_lists(data: bytes) -> dict[bytes, tuple[int, int]] | None:
  """Where the list message of each of `_STORED_KINDS` is in `data`, if canonical."""
  if data[:1] != b'\x0a':
    return None
  size, pos = _varint(data, 1)
  end = len(data)
  if pos + size != end:
    return None
  values: dict[bytes, tuple[int, int]] = {}
  while pos < end:
    if data[pos] != 0x0A:
      return None
    size, pos = _varint(data, pos + 1)
    entry_end = pos + size
    key_size = data[pos + 1]
    key_end = pos + 2 + key_size
    if data[pos] != 0x0A or key_size >= 0x80 or data[key_end] != 0x12:
      return None
    kind = _STORED_KINDS.get(data[pos + 2:key_end])
    if kind is not None:
      size, pos = _varint(data, key_end + 1)  # The `Feature`.
      if pos + size != entry_end or data[pos] != kind:
        return None
      size, pos = _varint(data, pos + 1)  # Its list message.
      if pos + size != entry_end:
        return None
      values[data[key_end - key_size:key_end]] = (pos, entry_end)
    pos = entry_end
  return values if len(values) == len(_STORED_KINDS) else None


def _first_bytes(data: bytes, span: tuple[int, int]) -> bytes | None:
  """The first value of the `BytesList` message at `span` of `data`."""
  start, stop = span
  if start == stop or data[start] != 0x0A:
    return None
  size, pos = _varint(data, start + 1)
  return data[pos:pos + size] if pos + size <= stop else None


def _packed(data: bytes, span: tuple[int, int]) -> bytes | None:
  """The packed values of the list message at `span` (b'' if empty); None if not packed."""
  start, stop = span
  if start == stop:
    return b''
  if data[start] != 0x0A:
    return None
  size, pos = _varint(data, start + 1)
  return data[pos:pos + size] if pos + size == stop else None
