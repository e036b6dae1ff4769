"""Per-example ops of the input pipelines: crop windows, decode-and-crop, resize, normalise.

Each op works on one example's tensors (JPEG bytes as stored, boxes) and
knows nothing of batching, shuffling or loading (`pipeline.datasets`).
Both crops decode only the crop's pixels (`decode_and_crop_jpeg`).
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

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
RESIZE_METHOD = tf.image.ResizeMethod.BILINEAR


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
