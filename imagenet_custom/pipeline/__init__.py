"""tf.data input pipelines for a built `imagenet_custom` dataset.

Training: an Inception-style random-resized crop guided by the stored boxes,
decoded with the fused `decode_and_crop_jpeg` (only the crop's pixels are
decoded), a random horizontal flip and a resize. Evaluation: the usual centre
crop (`image_size / (image_size + crop_padding)` of the shorter side), also
decoded fused. Both read the JPEG bytes as stored, so load the dataset with
`decoders={'image': tfds.decode.SkipDecoding()}`, or use `load_train` and
`load_eval`, which do it for you (for any config: `config='s256'`):

  train = pipeline.load_train(data_dir, batch_size=256, image_size=224)
  for images, labels in train:  # float32 [256, 224, 224, 3], int64 [256]
    ...

This package reads the built dataset only; it never imports the builder.
`pipeline.ops` holds what is done to one example (crop windows, decode,
resize, normalise), `pipeline.datasets` the loading, shuffling, batching and
prefetch around them; their public names are all here.

JPEG decoding is most of the CPU time: to go faster, decode fewer pixels
(build a resized config and pass `config='s256'`), and start TensorFlow with
`TF_CPU_ALLOCATOR_USE_BFC=true`. The figures are in docs/training.md, "Input
pipeline speed".
"""

from __future__ import annotations

from imagenet_custom.pipeline.datasets import DATASET_NAME
from imagenet_custom.pipeline.datasets import DEFAULT_CONFIG
from imagenet_custom.pipeline.datasets import DEFAULT_SHUFFLE_BUFFER
from imagenet_custom.pipeline.datasets import eval_dataset
from imagenet_custom.pipeline.datasets import INTERLEAVE_BLOCK_LENGTH
from imagenet_custom.pipeline.datasets import INTERLEAVE_CYCLE_LENGTH
from imagenet_custom.pipeline.datasets import load_eval
from imagenet_custom.pipeline.datasets import load_train
from imagenet_custom.pipeline.datasets import pipeline_options
from imagenet_custom.pipeline.datasets import read_config
from imagenet_custom.pipeline.datasets import train_dataset
from imagenet_custom.pipeline.datasets import TRAIN_FEATURES
from imagenet_custom.pipeline.ops import AREA_RANGE
from imagenet_custom.pipeline.ops import ASPECT_RATIO_RANGE
from imagenet_custom.pipeline.ops import center_crop_window
from imagenet_custom.pipeline.ops import CROP_PADDING
from imagenet_custom.pipeline.ops import IMAGENET_MEAN_RGB
from imagenet_custom.pipeline.ops import IMAGENET_STD_RGB
from imagenet_custom.pipeline.ops import MAX_ATTEMPTS
from imagenet_custom.pipeline.ops import MIN_OBJECT_COVERED
from imagenet_custom.pipeline.ops import normalize
from imagenet_custom.pipeline.ops import preprocess_eval
from imagenet_custom.pipeline.ops import preprocess_train
from imagenet_custom.pipeline.ops import random_crop_window
from imagenet_custom.pipeline.ops import RESIZE_METHOD

__all__ = [
    'AREA_RANGE', 'ASPECT_RATIO_RANGE', 'CROP_PADDING', 'DATASET_NAME', 'DEFAULT_CONFIG',
    'DEFAULT_SHUFFLE_BUFFER', 'IMAGENET_MEAN_RGB', 'IMAGENET_STD_RGB',
    'INTERLEAVE_BLOCK_LENGTH', 'INTERLEAVE_CYCLE_LENGTH', 'MAX_ATTEMPTS',
    'MIN_OBJECT_COVERED', 'RESIZE_METHOD', 'TRAIN_FEATURES', 'center_crop_window',
    'eval_dataset', 'load_eval', 'load_train', 'normalize', 'pipeline_options',
    'preprocess_eval', 'preprocess_train', 'random_crop_window', 'read_config',
    'train_dataset',
]
