"""Every patch of TFDS internals, applied only while the builder writes.

Written against TFDS 4.9.10. Each patch replaces one internal; a TFDS release
may change it. `check_compatible()` checks, before any patch is applied, that
the installed TFDS still has what each patch relies on, and raises
`TfdsIncompatibleError` naming the patch and the TFDS version otherwise: a
changed TFDS stops the build with a clear message, never writes a wrong
dataset. `tests/test_tfds_patches.py` runs the same checks.

The one patch left, for Beam builds (plain builds write their shards in the
workers, `build.shard_writer`, and patch nothing):
- `deterministic_serialization`: byte-identical shards from TFDS's Beam
  writer.

`field_specs` tells the workers how TFDS would serialise the examples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import inspect
from typing import Any

import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_serializer

from imagenet_custom.build import example_proto

# The TFDS release the patches were written against and tested with.
WRITTEN_FOR_TFDS = '4.9.10'
DETERMINISTIC_SERIALIZATION = 'deterministic_serialization'


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


# Each patch's name and the check of what it relies on.
CHECKS: dict[str, Callable[[], None]] = {
    DETERMINISTIC_SERIALIZATION: _check_serializer,
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
