"""A bounded TFDS shuffle buffer, so a build's peak memory stays small.

TFDS keeps up to 1 GB of serialised examples in memory
(`tensorflow_datasets.core.shuffle.MAX_MEM_BUFFER_SIZE`) before it spills
them to its temporary bucket files; with the ~650 MB that TensorFlow and the
TFDS command take, a plain build then peaks near 1.7 GB. A split of real
ImageNet spills anyway, so a smaller buffer only makes it spill earlier: the
examples and their order (by hashed key) are the same either way.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib

from tensorflow_datasets.core import shuffle

# Serialised examples TFDS holds in memory before spilling to disk.
SHUFFLE_BUFFER_BYTES = 200 << 20


@contextlib.contextmanager
def bounded_shuffle_buffer(limit: int = SHUFFLE_BUFFER_BYTES) -> Iterator[None]:
  """Within this block, TFDS's plain writer buffers at most `limit` bytes.

  Args:
    limit: bytes of serialised examples kept in memory per split.

  Yields:
    Nothing; the TFDS default is restored on exit.
  """
  original = shuffle.MAX_MEM_BUFFER_SIZE
  shuffle.MAX_MEM_BUFFER_SIZE = limit
  try:
    yield
  finally:
    shuffle.MAX_MEM_BUFFER_SIZE = original
