"""`tf.train.Example` bytes without TensorFlow. Pure.

The build's worker processes serialise examples themselves, so that the
parent process (where TFDS's writer runs) only shuffles and writes bytes.
Workers do not import TensorFlow (it would cost each one ~2 s and ~400 MB),
so the protobuf wire format is written here. The bytes equal what TFDS writes
for the same example with `SerializeToString(deterministic=True)` (map entries
sorted by key), which `tests/test_example_proto.py` checks against the
installed TFDS for every feature kind the builder uses.

Wire format (tensorflow/core/example/{example,feature}.proto):
  Example  { Features features = 1; }
  Features { map<string, Feature> feature = 1; }
  Feature  { oneof { BytesList bytes_list = 1; FloatList float_list = 2;
                     Int64List int64_list = 3; } }
  BytesList { repeated bytes value = 1; }
  FloatList { repeated float value = 1 [packed]; }
  Int64List { repeated int64 value = 1 [packed]; }
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import dataclasses
import enum
import functools
from typing import Any

import numpy as np


class Kind(enum.Enum):
  """How a feature's value is stored in the example."""

  BYTES = 'bytes'  # One bytes or str value (images, text).
  INT64 = 'int64'  # One integer, or a class name looked up in `class_names`.
  INT64_LIST = 'int64_list'  # Integers or class names, any length.
  FLOAT_LIST = 'float_list'  # float32 values of any shape, flattened.


@dataclasses.dataclass(frozen=True)
class FieldSpec:
  """One top-level feature of the example.

  Attributes:
    name: the feature's key.
    kind: how its value is stored.
    class_names: for class labels, the names in index order; a str value is
      stored as its index here.
  """

  name: str
  kind: Kind
  class_names: tuple[str, ...] = ()
  _index: dict[str, int] = dataclasses.field(
      init=False, repr=False, compare=False
  )

  def __post_init__(self) -> None:
    object.__setattr__(
        self, '_index', {name: i for i, name in enumerate(self.class_names)}
    )

  def label_index(self, value: str | int) -> int:
    """The stored integer of a class label given by name or index."""
    if isinstance(value, str):
      index = self._index.get(value)
      if index is None:
        raise ValueError(f'{value!r} is not a class of feature {self.name!r}')
      return index
    index = int(value)
    if self.class_names and not 0 <= index < len(self.class_names):
      raise ValueError(
          f'label {index} is outside [0, {len(self.class_names)}) for'
          f' feature {self.name!r}'
      )
    return index


def _encode_varint(value: int) -> bytes:
  if value < 0:
    value += 1 << 64  # int64 as two's complement, 10 bytes.
  out = bytearray()
  while value > 0x7F:
    out.append((value & 0x7F) | 0x80)
    value >>= 7
  out.append(value)
  return bytes(out)


# Varints of 0 .. 2**14 - 1 (one or two bytes): labels and most lengths.
_SHORT_VARINTS = tuple(_encode_varint(v) for v in range(1 << 14))


def _varint(value: int) -> bytes:
  if 0 <= value < 1 << 14:
    return _SHORT_VARINTS[value]
  return _encode_varint(value)


def _field(tag: int, payload: bytes) -> bytes:
  """A length-delimited field: key byte (field number << 3 | 2), length, payload."""
  return bytes([tag]) + _varint(len(payload)) + payload


# Key bytes of length-delimited fields (field number << 3 | wire type 2).
_FIELD_1 = 0x0A
_FIELD_2 = 0x12
_FIELD_3 = 0x1A
_KEY_1 = bytes([_FIELD_1])


def _as_bytes(value: Any) -> bytes:
  if isinstance(value, bytes):
    return value
  if isinstance(value, str):
    return value.encode('utf-8')
  if isinstance(value, (bytearray, memoryview)):
    return bytes(value)
  raise TypeError(f'expected bytes or str, got {type(value).__name__}')


def float_feature(payload: bytes) -> bytes:
  """The serialised `Feature` of a float list, from its packed little-endian float32 bytes."""
  return _field(_FIELD_2, _field(_FIELD_1, payload) if payload else b'')


def int64_feature(values: Sequence[int]) -> bytes:
  """The serialised `Feature` of an int64 list."""
  packed = b''.join(_varint(v) for v in values)
  return _field(_FIELD_3, _field(_FIELD_1, packed) if packed else b'')


def _small_feature(spec: FieldSpec, value: Any) -> bytes:
  """The serialised `Feature` message of a float or int64 value."""
  if spec.kind is Kind.FLOAT_LIST:
    floats = np.asarray(value, dtype=np.float32).reshape(-1)
    return float_feature(floats.astype('<f4').tobytes())
  integers: Sequence[Any] = [value] if spec.kind is Kind.INT64 else list(value)
  return int64_feature([spec.label_index(v) for v in integers])


def key_part(name: str) -> bytes:
  """A map entry's key field and the tag of its value field, for feature `name`."""
  return _field(_FIELD_1, name.encode('utf-8')) + bytes([_FIELD_2])


def small_entry(key: bytes, feature: bytes) -> bytes:
  """One map entry, whole: `key` from `key_part`, `feature` a serialised `Feature`."""
  return b''.join((_KEY_1, _varint(len(key) + len(_varint(len(feature))) + len(feature)), key, _varint(len(feature)), feature))


def bytes_entry_header(key: bytes, size: int) -> bytes:
  """The map entry of a one-value bytes feature, up to its `size` value bytes.

  The entry is this header followed by the value itself.
  """
  # Feature { bytes_list (1) { value (1): data } }
  inner = 1 + len(_varint(size)) + size
  feature = 1 + len(_varint(inner)) + inner
  entry = len(key) + len(_varint(feature)) + feature
  return b''.join((
      _KEY_1, _varint(entry), key, _varint(feature),
      _KEY_1, _varint(inner), _KEY_1, _varint(size),
  ))


def example_header(entries_size: int) -> bytes:
  """The `Example`'s bytes before its map entries, which total `entries_size` bytes."""
  return _KEY_1 + _varint(entries_size)


def entry_order(names: Sequence[str]) -> list[str]:
  """Feature names in the order deterministic serialisation writes them (by UTF-8 key)."""
  return sorted(names, key=lambda name: name.encode('utf-8'))


@dataclasses.dataclass(frozen=True)
class _Layout:
  """What every example of a spec list shares: the entry order and key bytes.

  Attributes:
    entries: `(spec, key part)` in serialisation order (map entries sorted by
      key, as deterministic serialisation writes them); the key part is the
      entry's key field and the tag of its value field.
    names: the feature names.
  """

  entries: tuple[tuple[FieldSpec, bytes], ...]
  names: frozenset[str]


@functools.lru_cache(maxsize=64)
def _layout(specs: tuple[FieldSpec, ...]) -> _Layout:
  ordered = sorted(specs, key=lambda s: s.name.encode('utf-8'))  # As `entry_order`.
  return _Layout(
      tuple((spec, key_part(spec.name)) for spec in ordered),
      frozenset(spec.name for spec in specs),
  )


def serialize_parts(
    specs: Sequence[FieldSpec], example: Mapping[str, Any]
) -> list[bytes]:
  """Serialises one example, as TFDS does with deterministic serialisation.

  Every length is computed from the parts' sizes, so each bytes value is
  written once, without nesting copies.

  Args:
    specs: the example's features.
    example: a value for each spec, by name, and nothing else.

  Returns:
    The `tf.train.Example` bytes in parts, to be joined: each bytes value of
    the example (e.g. an image) is one of the parts, the very object given.

  Raises:
    ValueError: a feature is missing or extra, or a label is unknown.
  """
  layout = _layout(tuple(specs))
  if example.keys() != layout.names:
    raise ValueError(
        f'example has features {sorted(example)}, expected {sorted(layout.names)}'
    )
  parts: list[bytes] = [b'']  # The Example's own header, set below.
  total = 0
  for spec, key in layout.entries:
    value = example[spec.name]
    if spec.kind is Kind.BYTES:
      data = _as_bytes(value)
      header = bytes_entry_header(key, len(data))
      parts += (header, data)
      total += len(header) + len(data)
    else:
      part = small_entry(key, _small_feature(spec, value))
      parts.append(part)
      total += len(part)
  parts[0] = example_header(total)
  return parts


def serialize(specs: Sequence[FieldSpec], example: Mapping[str, Any]) -> bytes:
  """`serialize_parts`, joined: the `tf.train.Example` bytes."""
  return b''.join(serialize_parts(specs, example))
