"""The input pipelines over a built dataset: loading, shuffling, batching, prefetch.

What is done to one example is in `pipeline.ops`; this module maps those ops
over a split loaded with the JPEG bytes left encoded (`SkipDecoding`).
"""

from __future__ import annotations

from collections.abc import Sequence
import functools

from absl import logging
import tensorflow as tf
import tensorflow_datasets as tfds

from imagenet_custom.pipeline.ops import CROP_PADDING
from imagenet_custom.pipeline.ops import normalize
from imagenet_custom.pipeline.ops import preprocess_eval
from imagenet_custom.pipeline.ops import preprocess_train

DATASET_NAME = 'imagenet_custom'
DEFAULT_SHUFFLE_BUFFER = 10_000
# Files read at once when interleaving the shards of a split.
INTERLEAVE_CYCLE_LENGTH = 16
INTERLEAVE_BLOCK_LENGTH = 16
DEFAULT_CONFIG = 'default'
# The features the training pipeline uses.
TRAIN_FEATURES = ('image', 'label', 'bboxes')


def pipeline_options(deterministic: bool) -> tf.data.Options:
  """The `tf.data.Options` of both pipelines.

  Args:
    deterministic: whether elements must come out in a reproducible order
      (slower when one element takes long: the others wait for it).

  Returns:
    Options with autotuning, parallel map/batch rewrites and one intra-op
    thread per input op (the parallelism comes from tf.data itself).
  """
  options = tf.data.Options()
  options.deterministic = deterministic
  options.autotune.enabled = True
  options.experimental_optimization.map_parallelization = True
  options.experimental_optimization.parallel_batch = True
  options.threading.max_intra_op_parallelism = 1
  return options


def read_config(
    seed: int | None = None, deterministic: bool = False
) -> tfds.ReadConfig:
  """The `tfds.ReadConfig` the pipelines are meant to be fed by.

  Args:
    seed: seed of the file shuffle; None for a random one.
    deterministic: whether the file interleave must be reproducible.

  Returns:
    A read config that interleaves `INTERLEAVE_CYCLE_LENGTH` shard files in
    parallel and leaves caching and the final prefetch to the pipeline.
  """
  return tfds.ReadConfig(
      options=pipeline_options(deterministic),
      try_autocache=False,
      shuffle_seed=seed,
      interleave_cycle_length=INTERLEAVE_CYCLE_LENGTH,
      interleave_block_length=INTERLEAVE_BLOCK_LENGTH,
      num_parallel_calls_for_interleave_files=tf.data.AUTOTUNE,
      skip_prefetch=True,
  )


def _train_element(
    example: dict[str, tf.Tensor],
    image_size: int,
    dtype: tf.dtypes.DType,
) -> tuple[tf.Tensor, tf.Tensor]:
  """`(image, label)` of one example with the stateful random ops."""
  image = preprocess_train(example['image'], example['bboxes'], image_size, None, dtype)
  return image, example['label']


def _seeded_train_element(
    index: tf.Tensor,
    example: dict[str, tf.Tensor],
    image_size: int,
    dtype: tf.dtypes.DType,
    seed: int,
) -> tuple[tf.Tensor, tf.Tensor]:
  """`(image, label)` of the `index`-th example drawn, seeded by `(seed, index)`."""
  element_seed = tf.stack([tf.constant(seed, tf.int64), tf.cast(index, tf.int64)])
  image = preprocess_train(
      example['image'], example['bboxes'], image_size, element_seed, dtype
  )
  return image, example['label']


def _eval_element(
    example: dict[str, tf.Tensor],
    image_size: int,
    crop_padding: int,
    dtype: tf.dtypes.DType,
) -> tuple[tf.Tensor, tf.Tensor]:
  """`(image, label)` of one eval example."""
  image = preprocess_eval(example['image'], image_size, crop_padding, dtype)
  return image, example['label']


def _normalize_batch(
    images: tf.Tensor,
    labels: tf.Tensor,
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
) -> tuple[tf.Tensor, tf.Tensor]:
  """`normalize` on a batch, passing the labels through."""
  return normalize(images, mean, std), labels


def _finish(
    ds: tf.data.Dataset,
    batch_size: int,
    drop_remainder: bool,
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
    dtype: tf.dtypes.DType,
    deterministic: bool,
) -> tf.data.Dataset:
  """Batches, normalises (once per batch), prefetches and sets the options."""
  if (mean is not None or std is not None) and not dtype.is_floating:
    raise ValueError(f'mean/std need a float dtype, not {dtype.name}')
  ds = ds.batch(
      batch_size,
      drop_remainder=drop_remainder,
      num_parallel_calls=tf.data.AUTOTUNE,
      deterministic=deterministic,
  )
  if mean is not None or std is not None:
    ds = ds.map(
        functools.partial(_normalize_batch, mean=mean, std=std),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
  ds = ds.prefetch(tf.data.AUTOTUNE)
  return ds.with_options(pipeline_options(deterministic))


def _select_train_features(example: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
  """Keeps the features the training pipeline uses (smaller cache)."""
  return {key: example[key] for key in TRAIN_FEATURES}


def train_dataset(
    ds: tf.data.Dataset,
    batch_size: int,
    image_size: int,
    *,
    seed: int | None = None,
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
    repeat: bool = True,
    drop_remainder: bool = True,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    dtype: tf.dtypes.DType = tf.float32,
    cache: bool = False,
    deterministic: bool | None = None,
) -> tf.data.Dataset:
  """The training pipeline over examples loaded with `SkipDecoding`.

  Args:
    ds: examples with `image` (JPEG bytes), `bboxes` and `label`, e.g. from
      `tfds.load(..., decoders={'image': tfds.decode.SkipDecoding()})`.
    batch_size: images per batch.
    image_size: side of the square output images.
    seed: makes the shuffle, crops and flips reproducible: each element's
      augmentation is seeded by `(seed, its position in the stream)`. None for
      fresh randomness.
    shuffle_buffer: examples in the shuffle buffer; 0 or 1 for none.
    repeat: repeat forever (one epoch after another, reshuffled).
    drop_remainder: drop the last partial batch of a non-repeated epoch.
    mean: subtracted per channel (0..255 scale), e.g. `IMAGENET_MEAN_RGB`.
    std: divides per channel after `mean`, e.g. `IMAGENET_STD_RGB`.
    dtype: output image dtype (float32, bfloat16, float16 or uint8).
    cache: cache the encoded examples in memory after the first epoch
      (before the random augmentation).
    deterministic: keep the element order reproducible; defaults to
      `seed is not None`.

  Returns:
    Prefetched batches `(images [B, S, S, 3] dtype, labels [B] int64)`.
  """
  if deterministic is None:
    deterministic = seed is not None
  if cache:
    ds = ds.map(
        _select_train_features, num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    ).cache()
  if shuffle_buffer > 1:
    ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
  if repeat:
    ds = ds.repeat()
  ds = _augment(ds, image_size, dtype, seed, deterministic)
  return _finish(ds, batch_size, drop_remainder, mean, std, dtype, deterministic)


def _augment(
    ds: tf.data.Dataset,
    image_size: int,
    dtype: tf.dtypes.DType,
    seed: int | None,
    deterministic: bool,
) -> tf.data.Dataset:
  """Maps `preprocess_train` over the stream, seeded by position when `seed` is given."""
  if seed is None:
    return ds.map(
        functools.partial(_train_element, image_size=image_size, dtype=dtype),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
  return ds.enumerate().map(
      functools.partial(
          _seeded_train_element, image_size=image_size, dtype=dtype, seed=seed
      ),
      num_parallel_calls=tf.data.AUTOTUNE,
      deterministic=deterministic,
  )


def eval_dataset(
    ds: tf.data.Dataset,
    batch_size: int,
    image_size: int,
    *,
    crop_padding: int = CROP_PADDING,
    drop_remainder: bool = False,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    dtype: tf.dtypes.DType = tf.float32,
    cache: bool = False,
) -> tf.data.Dataset:
  """The evaluation pipeline: deterministic, in the dataset's order.

  Args:
    ds: examples with `image` (JPEG bytes) and `label`, loaded with
      `SkipDecoding` and without file shuffling.
    batch_size: images per batch.
    image_size: side of the square output images.
    crop_padding: see `center_crop_window`.
    drop_remainder: drop the last partial batch (off: every image counts).
    mean: subtracted per channel (0..255 scale).
    std: divides per channel after `mean`.
    dtype: output image dtype (float32, bfloat16, float16 or uint8).
    cache: cache the preprocessed images in memory after the first pass.

  Returns:
    Prefetched batches `(images [B, S, S, 3] dtype, labels [B] int64)`.
  """
  ds = ds.map(
      functools.partial(
          _eval_element, image_size=image_size, crop_padding=crop_padding,
          dtype=dtype,
      ),
      num_parallel_calls=tf.data.AUTOTUNE,
      deterministic=True,
  )
  if cache:
    ds = ds.cache()
  return _finish(ds, batch_size, drop_remainder, mean, std, dtype, True)


def _load_split(
    data_dir: str,
    config: str,
    split: str,
    shuffle_files: bool,
    seed: int | None,
    deterministic: bool,
    file_format: str | None,
) -> tf.data.Dataset:
  """`tfds.load` of a split of a config, the JPEG bytes left encoded.

  Every feature is parsed: parsing only the used ones
  (`tfds.decode.PartialDecoding`) measured no faster (docs/resized.md).
  """
  read = read_config(seed, deterministic)
  if file_format is not None:
    read = read.replace(file_format=file_format)
  name = f'{DATASET_NAME}/{config}'
  logging.info(
      'Loading %s[%s] from %s (shuffle_files=%s, seed=%s, deterministic=%s)',
      name, split, data_dir, shuffle_files, seed, deterministic,
  )
  return tfds.load(
      name,
      split=split,
      data_dir=data_dir,
      shuffle_files=shuffle_files,
      decoders={'image': tfds.decode.SkipDecoding()},
      read_config=read,
      download=False,
  )


def load_train(
    data_dir: str,
    batch_size: int,
    image_size: int,
    *,
    split: str = 'train',
    seed: int | None = None,
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
    repeat: bool = True,
    drop_remainder: bool = True,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    dtype: tf.dtypes.DType = tf.float32,
    cache: bool = False,
    file_format: str | None = None,
    config: str = DEFAULT_CONFIG,
) -> tf.data.Dataset:
  """Loads a split of a built dataset through `train_dataset`.

  Args:
    data_dir: the `--data_dir` the dataset was built into.
    batch_size: images per batch.
    image_size: side of the square output images.
    split: any TFDS split expression (`train`, `train[:90%]`, ...).
    seed: reproducible file order, shuffle and augmentation when set; it
      also makes the pipeline deterministic.
    shuffle_buffer: see `train_dataset`.
    repeat: see `train_dataset`.
    drop_remainder: see `train_dataset`.
    mean: see `train_dataset`.
    std: see `train_dataset`.
    dtype: see `train_dataset`.
    cache: see `train_dataset`.
    file_format: `tfrecord` or `array_record` when both were written.
    config: the build's config name (`default`, `s256`, ...).

  Returns:
    Prefetched batches `(images, labels)`.
  """
  deterministic = seed is not None
  ds = _load_split(
      data_dir, config, split, True, seed, deterministic, file_format
  )
  return train_dataset(
      ds, batch_size, image_size, seed=seed, shuffle_buffer=shuffle_buffer,
      repeat=repeat, drop_remainder=drop_remainder, mean=mean, std=std,
      dtype=dtype, cache=cache, deterministic=deterministic,
  )


def load_eval(
    data_dir: str,
    batch_size: int,
    image_size: int,
    *,
    split: str = 'validation',
    crop_padding: int = CROP_PADDING,
    drop_remainder: bool = False,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    dtype: tf.dtypes.DType = tf.float32,
    cache: bool = False,
    file_format: str | None = None,
    config: str = DEFAULT_CONFIG,
) -> tf.data.Dataset:
  """Loads a split of a built dataset, in order, through `eval_dataset`.

  A resized build (`s256`) gets the same centre crop, of its smaller images.

  Args:
    data_dir: the `--data_dir` the dataset was built into.
    batch_size: images per batch.
    image_size: side of the square output images.
    split: `validation`, `test`, `test_blacklisted` or any split expression.
    crop_padding: see `center_crop_window`.
    drop_remainder: see `eval_dataset`.
    mean: see `eval_dataset`.
    std: see `eval_dataset`.
    dtype: see `eval_dataset`.
    cache: see `eval_dataset`.
    file_format: `tfrecord` or `array_record` when both were written.
    config: the build's config name (`default`, `s256`, ...).

  Returns:
    Prefetched batches `(images, labels)`, the same on every pass.
  """
  ds = _load_split(
      data_dir, config, split, False, None, True, file_format
  )
  return eval_dataset(
      ds, batch_size, image_size, crop_padding=crop_padding,
      drop_remainder=drop_remainder, mean=mean, std=std, dtype=dtype,
      cache=cache,
  )
