"""Byte-identical shards: deterministic `tf.train.Example` serialisation.

TFDS serialises examples with `SerializeToString()`, whose order of the
feature map's entries can change from one process to the next, so two builds
of the same input write the same examples as different bytes. During a build,
serialisation here uses `deterministic=True` (map entries sorted by key): the
protos are equal either way, only their byte order is fixed.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from typing import Any

from tensorflow_datasets.core import example_serializer


def _serialize_deterministically(
    self: example_serializer.ExampleSerializer, example: Any
) -> bytes:
  return self.get_tf_example(example).SerializeToString(deterministic=True)


@contextlib.contextmanager
def deterministic_serialization() -> Iterator[None]:
  """Within this block, TFDS writes examples with sorted feature maps."""
  original = example_serializer.ExampleSerializer.serialize_example
  example_serializer.ExampleSerializer.serialize_example = (
      _serialize_deterministically
  )
  try:
    yield
  finally:
    example_serializer.ExampleSerializer.serialize_example = original
