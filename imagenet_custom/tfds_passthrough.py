"""Handing TFDS's plain writer examples that are already serialised.

Written against TFDS 4.9.10. `SplitBuilder._build_from_generator` runs, for
every `(key, example)` the generator yields, `features.encode_example(example)`
and then `Writer.write(key, example)`, which calls
`ExampleSerializer.serialize_example(example)` before shuffling the bytes.
Both run in the one process that writes, and take most of its time. The build's
worker processes already produce the final bytes (`example_proto`), so within
`passthrough()` a `Serialized` value goes through both unchanged; anything
else is encoded and serialised by TFDS as usual.

`check_compatible()` fails, naming this patch and the installed TFDS version,
when what it relies on is gone; tests/test_tfds_passthrough.py also checks
that a passed-through record reaches the shard file byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import inspect
from typing import Any

import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_serializer
from tensorflow_datasets.core import split_builder
from tensorflow_datasets.core.features import features_dict

from imagenet_custom import example_proto

PATCH_NAME = 'imagenet_custom.tfds_passthrough'
WRITTEN_AGAINST = '4.9.10'


class Serialized(bytes):
  """A `tf.train.Example` serialised already: TFDS writes it as it is."""


class IncompatibleTfdsError(RuntimeError):
  """The installed TFDS no longer has what a patch of ours relies on."""


def check_compatible() -> None:
  """Raises if TFDS changed what `passthrough` patches.

  Raises:
    IncompatibleTfdsError: naming the patch, the TFDS version and what is
      missing.
  """
  problems = []
  # Each must be defined by the class itself, which is what is replaced.
  if not callable(vars(features_dict.FeaturesDict).get('encode_example')):
    problems.append('FeaturesDict.encode_example is gone')
  serialize = vars(example_serializer.ExampleSerializer).get('serialize_example')
  if not callable(serialize):
    problems.append('ExampleSerializer.serialize_example is gone')
  elif list(inspect.signature(serialize).parameters) != ['self', 'example']:
    problems.append(
        'ExampleSerializer.serialize_example(self, example) changed signature'
    )
  build = getattr(split_builder.SplitBuilder, '_build_from_generator', None)
  if build is None:
    problems.append('SplitBuilder._build_from_generator is gone')
  if problems:
    raise IncompatibleTfdsError(
        f'{PATCH_NAME} (written against TFDS {WRITTEN_AGAINST}) does not fit'
        f' the installed TFDS {tfds.__version__}: {"; ".join(problems)}.'
        ' Install a TFDS version in the range setup.cfg allows.'
    )


@contextlib.contextmanager
def passthrough() -> Iterator[None]:
  """Within this block, `Serialized` examples skip TFDS's encode and serialise.

  Yields:
    Nothing; TFDS's methods are restored on exit.
  """
  check_compatible()
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
  """How `example_proto` serialises examples of these features.

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
    if isinstance(feature, (tfds.features.Image, tfds.features.Text)):
      specs.append(example_proto.FieldSpec(name, kind.BYTES))
    elif isinstance(feature, tfds.features.ClassLabel):
      specs.append(example_proto.FieldSpec(name, kind.INT64, tuple(feature.names)))
    elif isinstance(feature, tfds.features.Sequence) and isinstance(
        feature.feature, tfds.features.BBoxFeature
    ):
      specs.append(example_proto.FieldSpec(name, kind.FLOAT_LIST))
    elif isinstance(feature, tfds.features.Sequence) and isinstance(
        feature.feature, tfds.features.ClassLabel
    ):
      specs.append(
          example_proto.FieldSpec(
              name, kind.INT64_LIST, tuple(feature.feature.names)
          )
      )
    else:
      raise TypeError(
          f'Feature {name!r} ({type(feature).__name__}) cannot be serialised'
          ' by the build workers; add its kind to example_proto.'
      )
  return tuple(specs)
