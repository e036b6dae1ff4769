"""Every patch of TFDS internals, applied only while the builder writes.

Written against TFDS 4.9.10. Each patch replaces one internal; a TFDS release
may change it. `check_compatible()` checks, before any patch is applied, that
the installed TFDS still has what each patch relies on, and raises
`TfdsIncompatibleError` naming the patch and the TFDS version otherwise: a
changed TFDS stops the build with a clear message, never writes a wrong
dataset. `tests/test_tfds_patches.py` runs the same checks.

The patches:
- `deterministic_serialization`: byte-identical shards.
- `serialized_passthrough`: examples that the build's worker processes
  serialised and spilled (`spill.Spilled`) go through TFDS's encoder and
  serializer unchanged; `field_specs` tells the workers how TFDS would have
  serialised them.
- `spilled_shuffle`: TFDS's shuffler takes spilled examples by reference and
  reads them back from the workers' spill files, in TFDS's order, when it
  writes the shards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import inspect
import os
import shutil
import tempfile
from typing import Any

import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_serializer
from tensorflow_datasets.core import shuffle
from tensorflow_datasets.core import writer as writer_lib
from tensorflow_datasets.core.features import features_dict

from imagenet_custom.build import example_proto
from imagenet_custom.build import spill

# The TFDS release the patches were written against and tested with.
WRITTEN_FOR_TFDS = '4.9.10'
DETERMINISTIC_SERIALIZATION = 'deterministic_serialization'
SERIALIZED_PASSTHROUGH = 'serialized_passthrough'
SPILLED_SHUFFLE = 'spilled_shuffle'


class TfdsIncompatibleError(RuntimeError):
  """The installed TFDS lacks an internal that a patch here replaces."""

  def __init__(self, patch: str, problem: str):
    self.patch = patch
    super().__init__(
        f'imagenet_custom cannot patch TFDS {tfds.__version__}: patch {patch!r}'
        f' (imagenet_custom/tfds_glue/tfds_patches.py, written for TFDS'
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


# What `spilled_shuffle`'s subclass of the shuffler reads and sets.
_SHUFFLER_STATE = (
    '_hasher', '_read_only', '_total_bytes', '_num_examples',
    '_disable_shuffling', '_ignore_duplicates',
)


def _check_shuffle() -> None:
  """What `spilled_shuffle` relies on; raises if it changed."""
  shuffler = getattr(shuffle, 'Shuffler', None)
  if not isinstance(shuffler, type):
    raise TfdsIncompatibleError(
        SPILLED_SHUFFLE,
        'tensorflow_datasets.core.shuffle.Shuffler, which is gone',
    )
  for name in ('add', '__iter__'):
    if not callable(vars(shuffler).get(name)):
      raise TfdsIncompatibleError(
          SPILLED_SHUFFLE, f'shuffle.Shuffler.{name}, which is gone'
      )
  for name in ('size', 'num_examples', 'bucket_lengths'):
    if not isinstance(vars(shuffler).get(name), property):
      raise TfdsIncompatibleError(
          SPILLED_SHUFFLE, f'the property shuffle.Shuffler.{name}, which is gone'
      )
  init_code = getattr(vars(shuffler).get('__init__'), '__code__', None)
  used = set(init_code.co_names if init_code is not None else ())
  if not set(_SHUFFLER_STATE) <= used:
    missing = ', '.join(sorted(set(_SHUFFLER_STATE) - used))
    raise TfdsIncompatibleError(
        SPILLED_SHUFFLE,
        f'shuffle.Shuffler.__init__ setting {missing}, which it no longer does',
    )
  if not isinstance(getattr(shuffle, 'DuplicatedKeysError', None), type):
    raise TfdsIncompatibleError(
        SPILLED_SHUFFLE, 'shuffle.DuplicatedKeysError, which is gone'
    )
  # The writer must make its shuffler as `shuffle.Shuffler(...)`, looked up
  # when it runs, for the replacement to be the one it makes.
  writer_init = getattr(getattr(writer_lib, 'Writer', None), '__init__', None)
  writer_code = getattr(writer_init, '__code__', None)
  names = set(writer_code.co_names if writer_code is not None else ())
  if not {'shuffle', 'Shuffler'} <= names:
    raise TfdsIncompatibleError(
        SPILLED_SHUFFLE,
        'tensorflow_datasets.core.writer.Writer making its shuffler with'
        ' shuffle.Shuffler(...), which it no longer does',
    )


# Each patch's name and the check of what it relies on.
CHECKS: dict[str, Callable[[], None]] = {
    DETERMINISTIC_SERIALIZATION: _check_serializer,
    SERIALIZED_PASSTHROUGH: _check_passthrough,
    SPILLED_SHUFFLE: _check_shuffle,
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
def serialized_passthrough() -> Iterator[None]:
  """Within this block, `spill.Spilled` examples skip TFDS's encode and serialise.

  Replaces `features_dict.FeaturesDict.encode_example` and
  `example_serializer.ExampleSerializer.serialize_example`. TFDS 4.9.10's
  `SplitBuilder._build_from_generator` runs, for each `(key, example)` the
  generator yields, `features.encode_example(example)` and then
  `Writer.write(key, example)`, which calls `serialize_example(example)`
  before handing the result to the shuffler. Both run in the one process that
  writes and took most of its time; the build's workers already wrote the
  final bytes, so a `Spilled` value goes through both unchanged, to the
  shuffler that `spilled_shuffle` puts in place. Anything else is encoded and
  serialised by TFDS as usual (through whatever `serialize_example` is in
  place on entry, e.g. the deterministic one).

  Yields:
    Nothing; TFDS's methods are restored on exit.
  """
  encode = features_dict.FeaturesDict.encode_example
  serialize = example_serializer.ExampleSerializer.serialize_example

  def encode_example(self: features_dict.FeaturesDict, example_dict: Any) -> Any:
    if isinstance(example_dict, spill.Spilled):
      return example_dict
    return encode(self, example_dict)

  def serialize_example(
      self: example_serializer.ExampleSerializer, example: Any
  ) -> Any:
    if isinstance(example, spill.Spilled):
      return example
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


def _spill_aware(base: type) -> type:
  """TFDS's shuffler class extended to take spilled examples.

  Made when the patch is applied, after `check_compatible()`, so that a TFDS
  without `shuffle.Shuffler` fails with the patch's error, not at import.
  """

  class _SpillAwareShuffler(base):
    """TFDS's shuffler, which also takes examples spilled by the build workers.

    A `spill.Spilled` passed to `add` is recorded in a `spill.SpillIndex`
    (nothing is copied); iterating reads them back from the spill files,
    ordered by hashed key as TFDS's own buckets would be, with TFDS's duplicate
    check. Other data goes through TFDS's shuffler unchanged. One split's
    examples are either all spilled or none.
    """

    def __init__(self, *args: Any, **kwargs: Any):
      super().__init__(*args, **kwargs)
      self._spilled = spill.SpillIndex()

    def add(self, key: Any, data: Any) -> Any:
      if not isinstance(data, spill.Spilled):
        if self._spilled.count:
          raise AssertionError(
              'imagenet_custom: a split mixed spilled and in-memory examples.'
          )
        return super().add(key, data)
      if self._read_only:
        raise AssertionError('add() cannot be called after __iter__.')
      if self._disable_shuffling or self._ignore_duplicates:
        raise AssertionError(
            'imagenet_custom: spilled examples need TFDS to shuffle and to'
            ' report duplicated keys (disable_shuffling and ignore_duplicates'
            ' are off in this builder).'
        )
      if self._num_examples != self._spilled.count:
        raise AssertionError(
            'imagenet_custom: a split mixed spilled and in-memory examples.'
        )
      if self._hasher.hash_key(key) != data.hkey:
        raise TfdsIncompatibleError(
            SPILLED_SHUFFLE,
            'the shuffler hashing keys as md5(split name + key), which it no'
            f' longer does (key {key!r})',
        )
      self._spilled.add(data)
      self._total_bytes += data.size
      self._num_examples += 1
      return None

    @property
    def bucket_lengths(self) -> list[int]:
      if self._spilled.count:
        return self._spilled.bucket_lengths
      return list(super().bucket_lengths)

    def __iter__(self) -> Iterator[Any]:
      if not self._spilled.count:
        yield from super().__iter__()
        return
      self._read_only = True
      previous_hkey, previous_data = None, None
      for hkey, data in self._spilled.sorted_records():
        if hkey == previous_hkey:
          raise shuffle.DuplicatedKeysError(data, previous_data)
        yield hkey, data
        previous_hkey, previous_data = hkey, data

  return _SpillAwareShuffler


@contextlib.contextmanager
def spilled_shuffle(directory: str) -> Iterator[str]:
  """Within this block, TFDS's writer takes examples spilled by the workers.

  Replaces `shuffle.Shuffler` (which TFDS 4.9.10's `writer.Writer` makes for
  each split) with a subclass that takes `spill.Spilled` examples by
  reference and reads them from the spill files when the writer writes the
  shards (see `spill`). The shards hold the same examples in the same order
  as with TFDS's own shuffler: both order a split by the md5 of its name and
  the key, and `add` checks each worker's hash against TFDS's.

  Args:
    directory: where to make the spill directory: the build's own directory
      when it is local, else a local temporary one is made.

  Yields:
    The spill directory; it is deleted, with anything left in it, on exit.
  """
  if '://' in directory:
    spill_dir = tempfile.mkdtemp(prefix='imagenet_custom-spill-')
  else:
    spill_dir = os.path.join(directory, 'spill')
    os.makedirs(spill_dir, exist_ok=True)
  original = shuffle.Shuffler
  shuffle.Shuffler = _spill_aware(original)
  try:
    yield spill_dir
  finally:
    shuffle.Shuffler = original
    shutil.rmtree(spill_dir, ignore_errors=True)
