"""Tests for imagenet_custom.tfds_glue.tfds_patches, and that TFDS still fits them.

When a TFDS release changes an internal that a patch replaces, the first test
fails with the patch's name and the installed TFDS version.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_serializer

from imagenet_custom.tfds_glue import tfds_patches


def test_installed_tfds_has_what_every_patch_relies_on():
  for patch, check in tfds_patches.CHECKS.items():
    try:
      check()
    except tfds_patches.TfdsIncompatibleError as e:
      pytest.fail(f'TFDS {tfds.__version__} breaks patch {patch!r}: {e}')
  tfds_patches.check_compatible()


def test_deterministic_serialization_is_the_one_patch_left_and_it_has_a_check():
  # Plain builds write their shards in the workers and patch nothing; Beam
  # builds keep TFDS's Beam writer, whose serialiser this patch fixes.
  assert set(tfds_patches.CHECKS) == {tfds_patches.DETERMINISTIC_SERIALIZATION}


def _assert_names_patch_and_version(error: Exception, patch: str) -> None:
  message = str(error)
  assert f'patch {patch!r}' in message
  assert f'TFDS {tfds.__version__}' in message
  assert f'written for TFDS {tfds_patches.WRITTEN_FOR_TFDS}' in message


def test_missing_get_tf_example_names_the_serialization_patch(monkeypatch):
  monkeypatch.delattr(example_serializer.ExampleSerializer, 'get_tf_example')
  with pytest.raises(tfds_patches.TfdsIncompatibleError) as raised:
    tfds_patches.check_compatible()
  _assert_names_patch_and_version(raised.value, 'deterministic_serialization')
  assert 'ExampleSerializer.get_tf_example' in str(raised.value)


def test_changed_serialize_signature_names_the_serialization_patch(monkeypatch):
  def serialize_example(self, values):
    del self, values

  monkeypatch.setattr(
      example_serializer.ExampleSerializer, 'serialize_example', serialize_example
  )
  with pytest.raises(tfds_patches.TfdsIncompatibleError) as raised:
    tfds_patches.check_compatible()
  _assert_names_patch_and_version(raised.value, 'deterministic_serialization')
  assert 'now takes (self, values)' in str(raised.value)


def _serializer() -> example_serializer.ExampleSerializer:
  features = tfds.features.FeaturesDict({
      'label': tfds.features.ClassLabel(num_classes=3),
      'file_name': tfds.features.Text(),
      'score': tfds.features.Tensor(shape=(2,), dtype=np.float32),
  })
  return example_serializer.ExampleSerializer(features.get_serialized_info())


def test_deterministic_serialization_sorts_the_feature_map_and_restores():
  serializer = _serializer()
  example = {'label': 2, 'file_name': 'a.JPEG', 'score': np.array([1, 2], np.float32)}
  original = example_serializer.ExampleSerializer.serialize_example
  with tfds_patches.deterministic_serialization():
    written = serializer.serialize_example(example=example)
  assert example_serializer.ExampleSerializer.serialize_example is original
  expected = serializer.get_tf_example(example)
  assert written == expected.SerializeToString(deterministic=True)
  # The same proto as TFDS's own serialisation, only the byte order fixed.
  assert type(expected).FromString(written) == type(expected).FromString(
      serializer.serialize_example(example)
  )
