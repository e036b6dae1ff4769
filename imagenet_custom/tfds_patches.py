"""Every patch of TFDS internals, applied only while the builder writes.

Written against TFDS 4.9.10. Each patch replaces one internal; a TFDS release
may change it. `check_compatible()` checks, before any patch is applied, that
the installed TFDS still has what each patch relies on, and raises
`TfdsIncompatibleError` naming the patch and the TFDS version otherwise: a
changed TFDS stops the build with a clear message, never writes a wrong
dataset. `tests/test_tfds_patches.py` runs the same checks.

The patches:
- `deterministic_serialization`: byte-identical shards.
- `bounded_shuffle_buffer`: a build's peak memory stays small.
- `serialized_passthrough`: examples serialised by the build's worker
  processes go through TFDS's encoder and serializer unchanged; `field_specs`
  tells the workers how TFDS would have serialised them.
- `released_bucket_writes`: the shuffler's spill files are written with
  Python's file objects, which release the GIL while the kernel copies the
  bytes, so the threads that receive the workers' examples keep running.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import inspect
import os
import struct
from typing import Any

import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_serializer
from tensorflow_datasets.core import shuffle
from tensorflow_datasets.core.features import features_dict

from imagenet_custom import example_proto

# The TFDS release the patches were written against and tested with.
WRITTEN_FOR_TFDS = '4.9.10'
DETERMINISTIC_SERIALIZATION = 'deterministic_serialization'
BOUNDED_SHUFFLE_BUFFER = 'bounded_shuffle_buffer'
SERIALIZED_PASSTHROUGH = 'serialized_passthrough'
RELEASED_BUCKET_WRITES = 'released_bucket_writes'
# Serialised examples TFDS holds in memory before spilling to disk.
SHUFFLE_BUFFER_BYTES = 200 << 20


class TfdsIncompatibleError(RuntimeError):
  """The installed TFDS lacks an internal that a patch here replaces."""

  def __init__(self, patch: str, problem: str):
    self.patch = patch
    super().__init__(
        f'imagenet_custom cannot patch TFDS {tfds.__version__}: patch {patch!r}'
        f' (imagenet_custom/tfds_patches.py, written for TFDS'
        f' {WRITTEN_FOR_TFDS}) relies on {problem}. Install'
        f' tensorflow-datasets=={WRITTEN_FOR_TFDS}, or update the patch for'
        ' this TFDS release.'
    )


def _global_names(cls: type) -> set[str]:
  """The global and attribute names that a class's own methods use."""
  names: set[str] = set()
  for member in vars(cls).values():
    code = getattr(member, '__code__', None)
    if code is not None:
      names.update(code.co_names)
  return names


def _check_serializer() -> None:
  """What `deterministic_serialization` relies on; raises if it changed."""
  serializer = getattr(example_serializer, 'ExampleSerializer', None)
  if serializer is None:
    raise TfdsIncompatibleError(
        DETERMINISTIC_SERIALIZATION,
        'tensorflow_datasets.core.example_serializer.ExampleSerializer, which'
        ' is gone',
    )
  for method in ('serialize_example', 'get_tf_example'):
    if not callable(getattr(serializer, method, None)):
      raise TfdsIncompatibleError(
          DETERMINISTIC_SERIALIZATION,
          f'ExampleSerializer.{method}, which is gone',
      )
  # TFDS's writer calls `serialize_example(example=...)`.
  parameters = list(inspect.signature(serializer.serialize_example).parameters)
  if parameters != ['self', 'example']:
    raise TfdsIncompatibleError(
        DETERMINISTIC_SERIALIZATION,
        'ExampleSerializer.serialize_example(self, example), which now takes'
        f' ({", ".join(parameters)})',
    )


def _check_shuffler() -> None:
  """What `bounded_shuffle_buffer` relies on; raises if it changed."""
  limit = getattr(shuffle, 'MAX_MEM_BUFFER_SIZE', None)
  if not isinstance(limit, int) or isinstance(limit, bool):
    raise TfdsIncompatibleError(
        BOUNDED_SHUFFLE_BUFFER,
        'tensorflow_datasets.core.shuffle.MAX_MEM_BUFFER_SIZE being an int'
        f' (it is {limit!r})',
    )
  shuffler = getattr(shuffle, 'Shuffler', None)
  if shuffler is None or 'MAX_MEM_BUFFER_SIZE' not in _global_names(shuffler):
    raise TfdsIncompatibleError(
        BOUNDED_SHUFFLE_BUFFER,
        'tensorflow_datasets.core.shuffle.Shuffler reading'
        ' MAX_MEM_BUFFER_SIZE, which it no longer does',
    )


def _check_passthrough() -> None:
  """What `serialized_passthrough` relies on; raises if it changed."""
  # Each must be defined by the class itself: that is what is replaced.
  if not callable(vars(features_dict.FeaturesDict).get('encode_example')):
    raise TfdsIncompatibleError(
        SERIALIZED_PASSTHROUGH,
        'tensorflow_datasets.core.features.FeaturesDict.encode_example,'
        ' which is gone',
    )
  serialize = vars(example_serializer.ExampleSerializer).get('serialize_example')
  if not callable(serialize):
    raise TfdsIncompatibleError(
        SERIALIZED_PASSTHROUGH,
        'ExampleSerializer.serialize_example, which is gone',
    )


def _check_buckets() -> None:
  """What `released_bucket_writes` relies on; raises if it changed."""
  bucket = getattr(shuffle, '_Bucket', None)
  if bucket is None:
    raise TfdsIncompatibleError(
        RELEASED_BUCKET_WRITES,
        'tensorflow_datasets.core.shuffle._Bucket, which is gone',
    )
  for method in ('add', 'flush', 'read_values'):
    if not callable(vars(bucket).get(method)):
      raise TfdsIncompatibleError(
          RELEASED_BUCKET_WRITES, f'shuffle._Bucket.{method}, which is gone'
      )
  # The record format written here: hkey (16 bytes), size (8), data.
  if getattr(shuffle, 'HKEY_SIZE_BYTES', None) != 16 or not callable(
      getattr(shuffle, '_hkey_to_bytes', None)
  ):
    raise TfdsIncompatibleError(
        RELEASED_BUCKET_WRITES,
        'shuffle._hkey_to_bytes and 16-byte HKEY_SIZE_BYTES (the bucket'
        ' record format), which changed',
    )
  attributes = {'_fobj', '_path', '_length', '_size'}
  used = set(vars(bucket)['add'].__code__.co_names)
  if not attributes <= used:
    raise TfdsIncompatibleError(
        RELEASED_BUCKET_WRITES,
        f'shuffle._Bucket.add using {", ".join(sorted(attributes - used))},'
        ' which it no longer does',
    )


# Each patch's name and the check of what it relies on.
CHECKS: dict[str, Callable[[], None]] = {
    DETERMINISTIC_SERIALIZATION: _check_serializer,
    BOUNDED_SHUFFLE_BUFFER: _check_shuffler,
    SERIALIZED_PASSTHROUGH: _check_passthrough,
    RELEASED_BUCKET_WRITES: _check_buckets,
}


def check_compatible() -> None:
  """Checks that the installed TFDS has what every patch relies on.

  Raises:
    TfdsIncompatibleError: naming the first patch whose internal changed, and
      the installed TFDS version.
  """
  for check in CHECKS.values():
    check()


def _serialize_deterministically(
    self: example_serializer.ExampleSerializer, example: Any
) -> bytes:
  return self.get_tf_example(example).SerializeToString(deterministic=True)


@contextlib.contextmanager
def deterministic_serialization() -> Iterator[None]:
  """Within this block, TFDS writes examples with sorted feature maps.

  Replaces `example_serializer.ExampleSerializer.serialize_example` (TFDS
  4.9.10: `self.get_tf_example(example).SerializeToString()`). The order of
  the feature map's entries in `SerializeToString()` can change from one
  process to the next, so two builds of the same input would write the same
  examples as different bytes. Here serialisation uses `deterministic=True`
  (map entries sorted by key): the protos are equal either way, only their
  byte order is fixed, so the shards are byte-identical.

  Yields:
    Nothing; TFDS's method is restored on exit.
  """
  original = example_serializer.ExampleSerializer.serialize_example
  example_serializer.ExampleSerializer.serialize_example = (
      _serialize_deterministically
  )
  try:
    yield
  finally:
    example_serializer.ExampleSerializer.serialize_example = original


@contextlib.contextmanager
def bounded_shuffle_buffer(limit: int = SHUFFLE_BUFFER_BYTES) -> Iterator[None]:
  """Within this block, TFDS's plain writer buffers at most `limit` bytes.

  Replaces `shuffle.MAX_MEM_BUFFER_SIZE` (TFDS 4.9.10: 1 GB), the serialised
  examples `shuffle.Shuffler` keeps in memory before it spills them to its
  temporary bucket files; with the ~650 MB that TensorFlow and the TFDS
  command take, a plain build would peak near 1.7 GB. A split of real
  ImageNet spills anyway, so a smaller buffer only makes it spill earlier: the
  examples and their order (by hashed key) are the same either way.

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


class Serialized:
  """A `tf.train.Example` serialised already; TFDS writes its bytes as they are.

  A wrapper rather than a `bytes` subclass, so that the bytes are not copied.
  """

  __slots__ = ('data',)

  def __init__(self, data: bytes):
    self.data = data


@contextlib.contextmanager
def serialized_passthrough() -> Iterator[None]:
  """Within this block, `Serialized` examples skip TFDS's encode and serialise.

  Replaces `features_dict.FeaturesDict.encode_example` and
  `example_serializer.ExampleSerializer.serialize_example`. TFDS 4.9.10's
  `SplitBuilder._build_from_generator` runs, for each `(key, example)` the
  generator yields, `features.encode_example(example)` and then
  `Writer.write(key, example)`, which calls `serialize_example(example)`
  before handing the bytes to the shuffler. Both run in the one process that
  writes and took most of its time; the build's workers already produce the
  final bytes, so a `Serialized` value goes through both unchanged. Anything
  else is encoded and serialised by TFDS as usual (through whatever
  `serialize_example` is in place on entry, e.g. the deterministic one).

  Yields:
    Nothing; TFDS's methods are restored on exit.
  """
  encode = features_dict.FeaturesDict.encode_example
  serialize = example_serializer.ExampleSerializer.serialize_example

  def encode_example(self: features_dict.FeaturesDict, example_dict: Any) -> Any:
    if isinstance(example_dict, Serialized):
      return example_dict
    return encode(self, example_dict)

  def serialize_example(
      self: example_serializer.ExampleSerializer, example: Any
  ) -> bytes:
    if isinstance(example, Serialized):
      return example.data
    return serialize(self, example)

  features_dict.FeaturesDict.encode_example = encode_example
  example_serializer.ExampleSerializer.serialize_example = serialize_example
  try:
    yield
  finally:
    features_dict.FeaturesDict.encode_example = encode
    example_serializer.ExampleSerializer.serialize_example = serialize


def field_specs(
    features: tfds.features.FeaturesDict,
) -> tuple[example_proto.FieldSpec, ...]:
  """How `example_proto` serialises examples of these features, as TFDS would.

  Args:
    features: the builder's top-level features.

  Returns:
    One spec per feature.

  Raises:
    TypeError: a feature kind `example_proto` cannot write.
  """
  kind = example_proto.Kind
  specs = []
  for name, feature in features.items():
    inner = getattr(feature, 'feature', None)
    if isinstance(feature, (tfds.features.Image, tfds.features.Text)):
      specs.append(example_proto.FieldSpec(name, kind.BYTES))
    elif isinstance(feature, tfds.features.ClassLabel):
      specs.append(example_proto.FieldSpec(name, kind.INT64, tuple(feature.names)))
    elif isinstance(feature, tfds.features.Sequence) and isinstance(
        inner, tfds.features.BBoxFeature
    ):
      specs.append(example_proto.FieldSpec(name, kind.FLOAT_LIST))
    elif isinstance(feature, tfds.features.Sequence) and isinstance(
        inner, tfds.features.ClassLabel
    ):
      specs.append(
          example_proto.FieldSpec(name, kind.INT64_LIST, tuple(inner.names))
      )
    else:
      raise TypeError(
          f'Feature {name!r} ({type(feature).__name__}) cannot be serialised'
          ' by the build workers; add its kind to example_proto and to'
          ' tfds_patches.field_specs.'
      )
  return tuple(specs)


# Buffer of each spill file for the small record headers; the records
# themselves are larger and go straight to the kernel.
_BUCKET_BUFFER_BYTES = 16 << 10


@contextlib.contextmanager
def released_bucket_writes() -> Iterator[None]:
  """Within this block, the shuffler writes its spill files with Python I/O.

  Replaces `shuffle._Bucket.add` (TFDS 4.9.10: three `tf.io.gfile.GFile`
  writes per record). TensorFlow's file writes hold the GIL while the kernel
  copies the bytes; in a build whose examples arrive from worker processes,
  that stopped the threads receiving them for most of the split. Python's
  file objects release the GIL during the write. The file format is TFDS's
  (16-byte hashed key, 8-byte size, data) and TFDS reads the files back with
  its own `read_values`. Remote paths (`gs://`, ...) keep TFDS's `add`.

  Yields:
    Nothing; TFDS's method is restored on exit.
  """
  original = shuffle._Bucket.add  # pylint: disable=protected-access

  def add(self: Any, key: int, data: bytes) -> None:
    path = os.fspath(self._path)
    if '://' in path:
      return original(self, key, data)
    if not self._fobj:
      os.makedirs(os.path.dirname(path), exist_ok=True)
      self._fobj = open(path, 'wb', buffering=_BUCKET_BUFFER_BYTES)  # pylint: disable=consider-using-with
    self._fobj.write(
        shuffle._hkey_to_bytes(key) + struct.pack('=Q', len(data))  # pylint: disable=protected-access
    )
    self._fobj.write(data)
    self._length += 1
    self._size += len(data)

  shuffle._Bucket.add = add  # pylint: disable=protected-access
  try:
    yield
  finally:
    shuffle._Bucket.add = original  # pylint: disable=protected-access
