"""The dataset's features: the one place they are written.

The Builder's `_info` declares them, and the pre-flight check serialises its
timing sample with them (through `tfds_patches.field_specs`), so both see the
same spec.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow_datasets as tfds

from imagenet_custom.ilsvrc import eval_sets as eval_sets_lib
from imagenet_custom.ilsvrc import real_labels as real_labels_lib


def make_features(
    label_names: Sequence[str], *, real_labels: bool, objectnet_labels: bool = False
) -> tfds.features.FeaturesDict:
  """The features of an example. Pure.

  Args:
    label_names: the `ClassLabel` names, label i at i: the 1,000 sorted WNIDs,
      or a relabelled subset.
    real_labels: whether examples carry ReaL's `real_label` (config
      `real_labels`).
    objectnet_labels: whether examples carry ObjectNet's multi-label
      `objectnet_labels` (config `eval_sets` naming `objectnet`).

  Returns:
    `image` (JPEG), `label`, `file_name`, `bboxes` (normalised ymin, xmin,
    ymax, xmax), and `real_label` / `objectnet_labels` (labels of the same
    names) when asked.
  """
  features: dict[str, tfds.features.FeatureConnector] = {
      'image': tfds.features.Image(encoding_format='jpeg'),
      'label': tfds.features.ClassLabel(names=label_names),
      'file_name': tfds.features.Text(),
      'bboxes': tfds.features.Sequence(tfds.features.BBoxFeature()),
  }
  if real_labels:
    features[real_labels_lib.FEATURE] = tfds.features.Sequence(
        tfds.features.ClassLabel(names=label_names)
    )
  if objectnet_labels:
    features[eval_sets_lib.OBJECTNET_FEATURE] = tfds.features.Sequence(
        tfds.features.ClassLabel(names=label_names)
    )
  return tfds.features.FeaturesDict(features)
