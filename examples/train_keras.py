"""Trains a small Keras CNN on a built imagenet_custom dataset, then tests it.

  python examples/train_keras.py --data_dir OUT [--steps 200] [--image_size 64]
      [--batch_size 32] [--config s256] [--eval_config default]

Reads the dataset with `tfds.load` through `imagenet_custom.pipeline`
(box-guided random crops for training, centre crops for evaluation), trains
for `--steps` steps and prints the accuracy on the `test` split as
`test accuracy: 0.xxx`. The defaults are sized for the dummy data; on real
ImageNet use `--image_size 224` and many more steps. `--config` picks the
build to train on (e.g. the resized `s256`); `--eval_config default` tests a
model trained on a resized build on the original images.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import os
import pathlib
import sys

# Before TensorFlow starts: its BFC allocator reuses the batch buffers.
os.environ.setdefault('TF_CPU_ALLOCATOR_USE_BFC', 'true')

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import logging
import keras
import tensorflow as tf

PROJECT_DIR = pathlib.Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
  sys.path.insert(0, str(PROJECT_DIR))

from imagenet_custom import pipeline

# pylint: enable=g-import-not-at-top,wrong-import-position

NUM_CLASSES = 1000
LEARNING_RATE = 3e-3
# Short runs: batch-norm statistics must settle within a few dozen steps.
BN_MOMENTUM = 0.9


def build_model(image_size: int, num_classes: int = NUM_CLASSES) -> keras.Model:
  """A small CNN: three strided conv blocks, global pooling, a linear head.

  Args:
    image_size: side of the square input images.
    num_classes: outputs (logits).

  Returns:
    The uncompiled model.
  """
  inputs = keras.Input((image_size, image_size, 3))
  x = inputs
  for filters in (16, 32, 64):
    x = keras.layers.Conv2D(filters, 3, strides=2, padding='same', use_bias=False)(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = keras.layers.ReLU()(x)
  x = keras.layers.GlobalAveragePooling2D()(x)
  outputs = keras.layers.Dense(num_classes)(x)
  return keras.Model(inputs, outputs, name='small_cnn')


def train_and_test(
    data_dir: str,
    steps: int,
    image_size: int,
    batch_size: int,
    seed: int,
    test_split: str = 'test',
    config: str = pipeline.DEFAULT_CONFIG,
    eval_config: str | None = None,
) -> float:
  """Trains the model for `steps` steps and returns its test accuracy.

  Args:
    data_dir: the `--data_dir` the dataset was built into.
    steps: training steps.
    image_size: input side.
    batch_size: images per step.
    seed: seeds Keras and the input pipeline.
    test_split: split to evaluate on.
    config: the build to train on (`default`, `s256`, ...).
    eval_config: the build to test on; None for `config`.

  Returns:
    Top-1 accuracy on `test_split`.
  """
  keras.utils.set_random_seed(seed)
  train = pipeline.load_train(
      data_dir, batch_size, image_size, seed=seed,
      mean=pipeline.IMAGENET_MEAN_RGB, std=pipeline.IMAGENET_STD_RGB,
      config=config,
  )
  test = pipeline.load_eval(
      data_dir, batch_size, image_size, split=test_split,
      mean=pipeline.IMAGENET_MEAN_RGB, std=pipeline.IMAGENET_STD_RGB,
      config=eval_config or config,
  )
  model = build_model(image_size)
  model.compile(
      optimizer=keras.optimizers.Adam(LEARNING_RATE),
      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
      metrics=['accuracy'],
  )
  model.fit(train, steps_per_epoch=steps, epochs=1, verbose=2)
  _, accuracy = model.evaluate(test, verbose=0)
  return float(accuracy)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--data_dir', required=True, help='where the dataset was built')
  parser.add_argument('--steps', type=int, default=200)
  parser.add_argument('--image_size', type=int, default=64)
  parser.add_argument('--batch_size', type=int, default=32)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--test_split', default='test')
  parser.add_argument('--config', default=pipeline.DEFAULT_CONFIG,
                      help='the build to train on, e.g. s256')
  parser.add_argument('--eval_config', default=None,
                      help='the build to test on (default: --config)')
  return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
  """Command-line entry point.

  Args:
    argv: arguments without the program name; None for `sys.argv[1:]`.

  Returns:
    The exit code.
  """
  args = _parse_args(argv)
  logging.info('TensorFlow %s, Keras %s', tf.__version__, keras.__version__)
  accuracy = train_and_test(
      args.data_dir, args.steps, args.image_size, args.batch_size, args.seed,
      args.test_split, args.config, args.eval_config,
  )
  print(f'test accuracy: {accuracy:.3f}', flush=True)
  return 0


if __name__ == '__main__':
  sys.exit(main())
