"""The loaders measured, each an endless stream of `(images, labels)` batches.

Every stream gives float32 batches of 64 x 224 x 224 x 3.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
import functools
import pathlib
from typing import Any

import tensorflow as tf

from benchmarks.read import inputs
from benchmarks.read.measure import BATCH_SIZE
from benchmarks.read.measure import IMAGE_SIZE
from benchmarks.read.measure import Method
from imagenet_custom import pipeline

try:
  import tf_keras  # pylint: disable=g-import-not-at-top
except ImportError:  # Reported as method (a2) being unavailable.
  tf_keras = None

TF_KERAS_HINT = 'pip install --no-deps tf-keras==2.21.0'
SEED = inputs.SEED

METHODS = {
    'a3': 'Keras 3 ImageDataGenerator.flow_from_directory',
    'a2': 'tf-keras ImageDataGenerator.flow_from_directory',
    'b': 'Keras image_dataset_from_directory',
    'c': 'imagenet_custom training pipeline',
    'd': 'imagenet_custom evaluation pipeline',
    'e': 'limit: decode_jpeg+resize of bytes in memory',
    'c256': 'training pipeline on the s256 build',
    'd256': 'evaluation pipeline on the s256 build',
}
VARIANTS = {
    'c-seeded': 'c, seeded (deterministic order and crops)',
    'c-uint8': 'c, uint8 batches cast to float32 after batching',
    'c-shuf1k': 'c, shuffle buffer 1,000 instead of 10,000',
    'e-opts': "e, with the pipeline's tf.data options",
}


def keras_generator_stream(generator_class: Any, folders: pathlib.Path) -> Iterator[Any]:
  """(a3), (a2): `ImageDataGenerator().flow_from_directory`, float32, bilinear.

  Args:
    generator_class: Keras 3's or tf-keras's `ImageDataGenerator`.
    folders: the class-folder tree.

  Returns:
    The endless batch iterator (it reshuffles every epoch).
  """
  return generator_class().flow_from_directory(
      str(folders),
      target_size=(IMAGE_SIZE, IMAGE_SIZE),
      batch_size=BATCH_SIZE,
      class_mode='sparse',
      interpolation='bilinear',
      shuffle=True,
      seed=SEED,
  )


def keras_dataset_stream(folders: pathlib.Path) -> Iterator[Any]:
  """(b): `tf.keras.utils.image_dataset_from_directory`, repeated, prefetched.

  Args:
    folders: the class-folder tree.

  Returns:
    The endless batch iterator.
  """
  ds = tf.keras.utils.image_dataset_from_directory(
      str(folders),
      labels='inferred',
      label_mode='int',
      batch_size=BATCH_SIZE,
      image_size=(IMAGE_SIZE, IMAGE_SIZE),
      shuffle=True,
      seed=SEED,
      verbose=False,
  )
  return iter(ds.repeat().prefetch(tf.data.AUTOTUNE))


def decode_and_resize(image_bytes: tf.Tensor) -> tf.Tensor:
  """The limit's per-image work: full decode, resize to 224x224 float32.

  Args:
    image_bytes: scalar string, a JPEG.

  Returns:
    float32 `[224, 224, 3]`.
  """
  image = tf.io.decode_jpeg(image_bytes, channels=3)
  return tf.image.resize(image, [IMAGE_SIZE, IMAGE_SIZE])


def _with_zero_labels(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """Pairs a batch with dummy labels, like the other streams."""
  return images, tf.zeros(tf.shape(images)[:1], tf.int64)


def limit_dataset(jpegs: Sequence[bytes], options: tf.data.Options | None) -> tf.data.Dataset:
  """(e): the JPEG bytes in memory, decoded and resized, batched.

  Args:
    jpegs: the JPEG bytes.
    options: tf.data options, or None for the defaults.

  Returns:
    Endless `(images, zero labels)` batches.
  """
  ds = tf.data.Dataset.from_tensor_slices(tf.constant(list(jpegs)))
  ds = ds.repeat().map(
      decode_and_resize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False
  )
  ds = ds.batch(BATCH_SIZE).map(_with_zero_labels).prefetch(tf.data.AUTOTUNE)
  return ds if options is None else ds.with_options(options)


def _to_float(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """Casts a uint8 batch to float32."""
  return tf.cast(images, tf.float32), labels


def train_stream(data_dir: str, config: str) -> Iterator[Any]:
  """(c), (c256): `pipeline.load_train`, endless."""
  return iter(pipeline.load_train(data_dir, BATCH_SIZE, IMAGE_SIZE, config=config))


def eval_stream(data_dir: str, config: str) -> Iterator[Any]:
  """(d), (d256): `pipeline.load_eval` on the train split, repeated."""
  ds = pipeline.load_eval(data_dir, BATCH_SIZE, IMAGE_SIZE, split='train', config=config)
  return iter(ds.repeat())


def variant_stream(key: str, corpus: inputs.Corpus) -> Iterator[Any]:
  """A variant's stream (see `VARIANTS`).

  Args:
    key: the variant.
    corpus: the images.

  Returns:
    The endless batch iterator.
  """
  data_dir = str(corpus.data_dir)
  if key == 'c-seeded':
    return iter(pipeline.load_train(data_dir, BATCH_SIZE, IMAGE_SIZE, seed=SEED))
  if key == 'c-uint8':
    ds = pipeline.load_train(data_dir, BATCH_SIZE, IMAGE_SIZE, dtype=tf.uint8)
    return iter(ds.map(_to_float, num_parallel_calls=tf.data.AUTOTUNE))
  if key == 'c-shuf1k':
    return iter(pipeline.load_train(data_dir, BATCH_SIZE, IMAGE_SIZE, shuffle_buffer=1000))
  if key == 'e-opts':
    return iter(limit_dataset(corpus.jpegs, pipeline.pipeline_options(False)))
  raise ValueError(f'unknown variant {key!r}')


def _generator_methods(folders: pathlib.Path) -> list[Method]:
  """(a3) and (a2), the latter unavailable without tf-keras."""
  methods = [Method(
      'a3', METHODS['a3'],
      functools.partial(
          keras_generator_stream,
          tf.keras.preprocessing.image.ImageDataGenerator, folders,
      ),
  )]
  if tf_keras is None:
    methods.append(Method(
        'a2', METHODS['a2'], None, f'tf_keras not installed ({TF_KERAS_HINT})'
    ))
  else:
    methods.append(Method(
        'a2', METHODS['a2'],
        functools.partial(
            keras_generator_stream,
            tf_keras.preprocessing.image.ImageDataGenerator, folders,
        ),
    ))
  return methods


def make_methods(corpus: inputs.Corpus, variants: bool) -> list[Method]:
  """Sets up the methods and, optionally, the variants.

  Args:
    corpus: the images.
    variants: whether to add `VARIANTS`.

  Returns:
    The methods, in measuring order.
  """
  data_dir = str(corpus.data_dir)
  methods = _generator_methods(corpus.folders)
  methods += [
      Method('b', METHODS['b'], functools.partial(keras_dataset_stream, corpus.folders)),
      Method('c', METHODS['c'], functools.partial(train_stream, data_dir, 'default')),
      Method('d', METHODS['d'], functools.partial(eval_stream, data_dir, 'default')),
      Method('e', METHODS['e'], lambda: iter(limit_dataset(corpus.jpegs, None))),
  ]
  if 's256' in corpus.builds:
    methods += [
        Method('c256', METHODS['c256'], functools.partial(train_stream, data_dir, 's256')),
        Method('d256', METHODS['d256'], functools.partial(eval_stream, data_dir, 's256')),
    ]
  if variants:
    methods += [
        Method(key, label, functools.partial(variant_stream, key, corpus))
        for key, label in VARIANTS.items()
    ]
  return methods
