"""`example_proto` writes the bytes TFDS writes, for every feature kind used."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_serializer

import imagenet_custom
from imagenet_custom.build import example_proto
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.tfds_glue import tfds_patches


def _jpeg(size: tuple[int, int], mode: str = 'RGB') -> bytes:
  buffer = io.BytesIO()
  Image.new(mode, size, 128).save(buffer, 'JPEG')
  return buffer.getvalue()


def _tfds_bytes(features: tfds.features.FeaturesDict, example: dict) -> bytes:
  serializer = example_serializer.ExampleSerializer(features.get_serialized_info())
  encoded = features.encode_example(example)
  return serializer.get_tf_example(encoded).SerializeToString(deterministic=True)


BUILDER_EXAMPLES = [
    # No boxes: an empty float list must still be written.
    {'image': _jpeg((4, 4)), 'label': 'n01440764', 'file_name': 'n01440764_1.JPEG',
     'bboxes': np.zeros((0, 4), np.float64)},
    # Several boxes, float64 in: stored as float32, like TFDS's cast.
    {'image': _jpeg((300, 200), 'L'), 'label': 'n15075141',
     'file_name': 'n15075141_99.JPEG',
     'bboxes': np.array([[0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 1.0, 1.0],
                         [1 / 3, 2 / 3, 0.7, 0.9]], np.float64)},
    # A large image: multi-byte lengths; a non-ASCII file name.
    {'image': bytes(range(256)) * 1200, 'label': 'n03126707',
     'file_name': 'ILSVRC2012_val_00000001_é.JPEG',
     'bboxes': np.array([[0.5, 0.5, 0.5, 0.5]])},
]


@pytest.mark.parametrize('example', BUILDER_EXAMPLES, ids=['no_boxes', 'boxes', 'large'])
def test_builder_features_serialise_like_tfds(example):
  features = imagenet_custom.Builder(config='default').info.features
  specs = tfds_patches.field_specs(features)
  assert example_proto.serialize(specs, example) == _tfds_bytes(features, example)


def test_the_image_is_one_part_of_the_serialised_example_not_a_copy():
  features = imagenet_custom.Builder(config='default').info.features
  specs = tfds_patches.field_specs(features)
  example = BUILDER_EXAMPLES[2]
  parts = example_proto.serialize_parts(specs, example)
  assert sum(part is example['image'] for part in parts) == 1
  assert b''.join(parts) == _tfds_bytes(features, example)


def test_label_by_index_equals_label_by_name():
  features = imagenet_custom.Builder(config='default').info.features
  specs = tfds_patches.field_specs(features)
  by_name = dict(BUILDER_EXAMPLES[0])
  by_index = dict(by_name, label=metadata.wnids().index(by_name['label']))
  assert example_proto.serialize(specs, by_index) == example_proto.serialize(specs, by_name)


@pytest.mark.parametrize('values', [[], [0], [2, 0, 1], [1] * 300])
def test_sequence_of_class_labels_serialises_like_tfds(values):
  names = ['a', 'b', 'c']
  features = tfds.features.FeaturesDict({
      'real_label': tfds.features.Sequence(tfds.features.ClassLabel(names=names)),
      'label': tfds.features.ClassLabel(names=names),
  })
  example = {'real_label': values, 'label': 2}
  specs = tfds_patches.field_specs(features)
  assert example_proto.serialize(specs, example) == _tfds_bytes(features, example)


def test_unknown_label_and_wrong_features_are_errors():
  spec = example_proto.FieldSpec('label', example_proto.Kind.INT64, ('a', 'b'))
  with pytest.raises(ValueError, match="'z' is not a class of feature 'label'"):
    example_proto.serialize([spec], {'label': 'z'})
  with pytest.raises(ValueError, match=r'label 2 is outside \[0, 2\)'):
    example_proto.serialize([spec], {'label': 2})
  with pytest.raises(ValueError, match=r"expected \['label'\]"):
    example_proto.serialize([spec], {'label': 'a', 'extra': 1})


def test_unsupported_feature_kind_is_named():
  features = tfds.features.FeaturesDict({'depth': tfds.features.Tensor(shape=(2,), dtype=np.float32)})
  with pytest.raises(TypeError, match="Feature 'depth' \\(Tensor\\)"):
    tfds_patches.field_specs(features)
