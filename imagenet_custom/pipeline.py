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

This module reads the built dataset only; it never imports the builder.

Performance (benchmarks/read_benchmark.py, 2 cores, ~110 KB ~400x350 JPEGs,
224x224 float32 batches of 64): both pipelines run at ~0.9x the speed of
decoding and resizing the same JPEG bytes held in memory. JPEG decoding is
~75% of the CPU time; the fused crop saves little of it, because the entropy
decoding of every row above the crop's bottom edge cannot be skipped, and
libjpeg's scaled decoding saves less than choosing its ratio per image costs
(docs/resized.md). To go faster, decode fewer pixels: build a resized config
(`s256`) and pass `config='s256'`, which cuts the CPU per image by a third
(training) to a half (evaluation). Start TensorFlow with
`TF_CPU_ALLOCATOR_USE_BFC=true` in the environment: the default allocator
maps every 38 MB float batch afresh, and its page faults cost ~15% more CPU
per image.
"""

from __future__ import annotations

from collections.abc import Sequence
import functools

from absl import logging
import tensorflow as tf
import tensorflow_datasets as tfds

DATASET_NAME = 'imagenet_custom'

# Centre crop of eval: image_size / (image_size + CROP_PADDING) of the shorter
# side (224 of 256).
CROP_PADDING = 32
# Inception-style crop sampling (as in the reference ResNet preprocessing).
MIN_OBJECT_COVERED = 0.1
ASPECT_RATIO_RANGE = (3.0 / 4.0, 4.0 / 3.0)
AREA_RANGE = (0.08, 1.0)
MAX_ATTEMPTS = 10
# ImageNet channel statistics on the 0..255 scale, for `mean` and `std`.
IMAGENET_MEAN_RGB = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD_RGB = (0.229 * 255, 0.224 * 255, 0.225 * 255)
DEFAULT_SHUFFLE_BUFFER = 10_000
# Files read at once when interleaving the shards of a split.
INTERLEAVE_CYCLE_LENGTH = 16
INTERLEAVE_BLOCK_LENGTH = 16
RESIZE_METHOD = tf.image.ResizeMethod.BILINEAR
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


def _boxes_for_sampling(bboxes: tf.Tensor) -> tf.Tensor:
  """Shapes an example's boxes as `sample_distorted_bounding_box` wants them.

  Args:
    bboxes: float `[N, 4]` normalised `ymin, xmin, ymax, xmax`; N may be 0.

  Returns:
    float32 `[1, N, 4]`; with N == 0 the sampler uses the whole image
    (`use_image_if_no_bounding_boxes`).
  """
  boxes = tf.reshape(tf.cast(bboxes, tf.float32), [1, -1, 4])
  return tf.clip_by_value(boxes, 0.0, 1.0)


def center_crop_window(
    image_shape: tf.Tensor, image_size: int, crop_padding: int = CROP_PADDING
) -> tf.Tensor:
  """The centre square of side `image_size / (image_size + crop_padding)`.

  Args:
    image_shape: int32 `[height, width, channels]` of the JPEG.
    image_size: side of the network input.
    crop_padding: pixels of padding at network scale (32: crop 224 of 256).

  Returns:
    int32 `[y, x, height, width]` for `decode_and_crop_jpeg`.
  """
  height = image_shape[0]
  width = image_shape[1]
  fraction = image_size / (image_size + crop_padding)
  side = tf.cast(fraction * tf.cast(tf.minimum(height, width), tf.float32), tf.int32)
  side = tf.maximum(side, 1)
  offset_y = (height - side + 1) // 2
  offset_x = (width - side + 1) // 2
  return tf.stack([offset_y, offset_x, side, side])


def random_crop_window(
    image_shape: tf.Tensor,
    bboxes: tf.Tensor,
    image_size: int,
    seed: tf.Tensor | None = None,
) -> tf.Tensor:
  """Samples an Inception-style crop that covers part of a box.

  The crop covers at least `MIN_OBJECT_COVERED` of one of the boxes (of the
  whole image when there are none), has an aspect ratio in
  `ASPECT_RATIO_RANGE` and an area in `AREA_RANGE` of the image. When no such
  crop is found in `MAX_ATTEMPTS`, the eval centre crop is used.

  Args:
    image_shape: int32 `[height, width, channels]` of the JPEG.
    bboxes: float `[N, 4]` normalised boxes; N may be 0.
    image_size: output side, for the fallback centre crop.
    seed: int `[2]` stateless seed; None for the stateful random op.

  Returns:
    int32 `[y, x, height, width]` for `decode_and_crop_jpeg`.
  """
  boxes = _boxes_for_sampling(bboxes)
  if seed is None:
    begin, size, _ = tf.image.sample_distorted_bounding_box(
        image_shape,
        bounding_boxes=boxes,
        min_object_covered=MIN_OBJECT_COVERED,
        aspect_ratio_range=ASPECT_RATIO_RANGE,
        area_range=AREA_RANGE,
        max_attempts=MAX_ATTEMPTS,
        use_image_if_no_bounding_boxes=True,
    )
  else:
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        image_shape,
        bounding_boxes=boxes,
        seed=seed,
        min_object_covered=MIN_OBJECT_COVERED,
        aspect_ratio_range=ASPECT_RATIO_RANGE,
        area_range=AREA_RANGE,
        max_attempts=MAX_ATTEMPTS,
        use_image_if_no_bounding_boxes=True,
    )
  window = tf.stack([begin[0], begin[1], size[0], size[1]])
  # The sampler falls back to the whole image; the reference then centre-crops.
  failed = tf.reduce_all(tf.equal(size[:2], image_shape[:2]))
  return tf.where(failed, center_crop_window(image_shape, image_size), window)


def _to_output(
    image: tf.Tensor, image_size: int, dtype: tf.dtypes.DType
) -> tf.Tensor:
  """Resizes a decoded uint8 crop to `image_size` squared in `dtype`.

  Args:
    image: uint8 `[height, width, 3]`.
    image_size: output side.
    dtype: output dtype: a float type, or uint8 (rounded).

  Returns:
    `[image_size, image_size, 3]` in `dtype`, values on the 0..255 scale.
  """
  resized = tf.image.resize(image, [image_size, image_size], method=RESIZE_METHOD)
  resized.set_shape([image_size, image_size, 3])
  if dtype == tf.uint8:
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)
  return tf.cast(resized, dtype)


def preprocess_train(
    image_bytes: tf.Tensor,
    bboxes: tf.Tensor,
    image_size: int,
    seed: tf.Tensor | None = None,
    dtype: tf.dtypes.DType = tf.float32,
) -> tf.Tensor:
  """Random box-guided crop, flip and resize of one JPEG, decoding only the crop.

  Args:
    image_bytes: scalar string, the JPEG as stored (grayscale ones too).
    bboxes: float `[N, 4]` normalised `ymin, xmin, ymax, xmax`; N may be 0.
    image_size: output side.
    seed: int `[2]` stateless seed (same seed, same crop and flip); None to
      use the stateful random ops.
    dtype: output dtype (a float type or uint8).

  Returns:
    `[image_size, image_size, 3]` in `dtype`, values on the 0..255 scale.
  """
  shape = tf.image.extract_jpeg_shape(image_bytes)
  if seed is None:
    window = random_crop_window(shape, bboxes, image_size)
  else:
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=2)
    window = random_crop_window(shape, bboxes, image_size, seeds[0])
  image = tf.image.decode_and_crop_jpeg(
      image_bytes, window, channels=3, try_recover_truncated=False
  )
  image = _to_output(image, image_size, dtype)
  if seed is None:
    return tf.image.random_flip_left_right(image)
  return tf.image.stateless_random_flip_left_right(image, seeds[1])


def preprocess_eval(
    image_bytes: tf.Tensor,
    image_size: int,
    crop_padding: int = CROP_PADDING,
    dtype: tf.dtypes.DType = tf.float32,
) -> tf.Tensor:
  """Centre crop and resize of one JPEG, decoding only the crop.

  Args:
    image_bytes: scalar string, the JPEG as stored.
    image_size: output side.
    crop_padding: see `center_crop_window`.
    dtype: output dtype (a float type or uint8).

  Returns:
    `[image_size, image_size, 3]` in `dtype`, values on the 0..255 scale.
  """
  shape = tf.image.extract_jpeg_shape(image_bytes)
  window = center_crop_window(shape, image_size, crop_padding)
  image = tf.image.decode_and_crop_jpeg(image_bytes, window, channels=3)
  return _to_output(image, image_size, dtype)


def normalize(
    images: tf.Tensor,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> tf.Tensor:
  """`(images - mean) / std` per channel; identity when both are None.

  Args:
    images: float `[..., 3]` on the 0..255 scale.
    mean: per-channel mean (e.g. `IMAGENET_MEAN_RGB`), or None for 0.
    std: per-channel standard deviation (e.g. `IMAGENET_STD_RGB`), or None
      for 1.

  Returns:
    The normalised images, same shape and dtype.
  """
  if mean is not None:
    images = images - tf.constant(mean, images.dtype)
  if std is not None:
    images = images * tf.constant([1.0 / s for s in std], images.dtype)
  return images


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
  if seed is None:
    ds = ds.map(
        functools.partial(_train_element, image_size=image_size, dtype=dtype),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
  else:
    ds = ds.enumerate().map(
        functools.partial(
            _seeded_train_element, image_size=image_size, dtype=dtype, seed=seed
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
  return _finish(ds, batch_size, drop_remainder, mean, std, dtype, deterministic)



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
