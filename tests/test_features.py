"""Tests for imagenet_custom.tfds_glue.features: the one feature spec."""

from __future__ import annotations

import tensorflow_datasets as tfds

from imagenet_custom import imagenet_custom_dataset_builder as builder_lib
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.tfds_glue import features
from imagenet_custom.tfds_glue import tfds_patches
from imagenet_custom.tools import check_estimate


def test_default_features():
  made = features.make_features(metadata.wnids(), real_labels=False)
  assert list(made.keys()) == ['image', 'label', 'file_name', 'bboxes']
  assert made['label'].names == list(metadata.wnids())
  assert made['image'].encoding_format == 'jpeg'
  assert isinstance(made['bboxes'].feature, tfds.features.BBoxFeature)


def test_real_label_uses_the_same_names():
  names = ('n01440764', 'n01443537')
  made = features.make_features(names, real_labels=True)
  assert list(made.keys()) == ['image', 'label', 'file_name', 'bboxes', 'real_label']
  assert made['real_label'].feature.names == list(names)
  assert made['label'].names == list(names)


def test_builder_and_check_use_the_same_spec(tmp_path):
  builder = builder_lib.Builder(config='default', data_dir=str(tmp_path))
  assert repr(builder.info.features) == repr(
      features.make_features(metadata.wnids(), real_labels=False)
  )
  assert check_estimate.default_specs() == tfds_patches.field_specs(builder.info.features)
