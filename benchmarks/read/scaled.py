"""libjpeg's scaled decoding of a crop, measured against the full-scale decode.

`decode_and_crop_jpeg(..., ratio=r)` decodes 1/r of each side (r = 2, 4, 8)
from the DCT coefficients, skipping most of the inverse DCT. The pipeline does
not use it: the ratio is an op attribute, so choosing it per image needs a
`tf.switch_case`, whose call costs ~0.1 ms per image, more than the scaled
decode saves on ImageNet-sized JPEGs, whose decoding is mostly entropy
decoding (see docs/resized.md). The profile measures both.
"""

from __future__ import annotations

import tensorflow as tf

# libjpeg's scalings (1/1 .. 1/8).
DECODE_RATIOS = (1, 2, 4, 8)


def decode_ratio(crop_height: tf.Tensor, crop_width: tf.Tensor, image_size: int) -> tf.Tensor:
  """The scaled-decoding ratio that keeps a crop at least the output size.

  Args:
    crop_height: int crop height in the JPEG's pixels.
    crop_width: int crop width.
    image_size: side of the output.

  Returns:
    int32 scalar: the largest of `DECODE_RATIOS` with both crop sides divided
    by it still at least `image_size` (1 unless the crop is at least twice
    the output size).
  """
  shorter = tf.minimum(tf.cast(crop_height, tf.int32), tf.cast(crop_width, tf.int32))
  ratio = tf.constant(1, tf.int32)
  for candidate in DECODE_RATIOS[1:]:
    ratio = tf.where(shorter >= candidate * image_size, candidate, ratio)
  return ratio


def scaled_window(window: tf.Tensor, ratio: int) -> tf.Tensor:
  """A crop window in the pixels of the JPEG decoded at 1/`ratio`.

  `decode_and_crop_jpeg` with `ratio` crops the scaled image: a window in the
  JPEG's pixels fails with "Invalid crop window ... for image_width" of the
  scaled image. Both edges are divided and rounded, so each is off by at most
  half a scaled pixel and the window stays inside the scaled image (whose
  sides libjpeg rounds up).

  Args:
    window: int32 `[y, x, height, width]` in the JPEG's pixels.
    ratio: one of `DECODE_RATIOS`.

  Returns:
    int32 `[y, x, height, width]` in the scaled image's pixels.
  """
  if ratio == 1:
    return window
  begin = (2 * window[:2] + ratio) // (2 * ratio)
  end = (2 * (window[:2] + window[2:]) + ratio) // (2 * ratio)
  return tf.concat([begin, end - begin], axis=0)


def scaled_decode_crop(
    image_bytes: tf.Tensor, window: tf.Tensor, image_size: int
) -> tf.Tensor:
  """Decodes a crop at 1/2, 1/4 or 1/8 scale when it is that much larger.

  Args:
    image_bytes: scalar string, a JPEG.
    window: int32 `[y, x, height, width]` in the JPEG's pixels.
    image_size: side of the output the crop is resized to.

  Returns:
    uint8 `[h, w, 3]`, the crop at the scale of `decode_ratio`.
  """
  ratio = decode_ratio(window[2], window[3], image_size)
  branches = [
      lambda r=r: tf.image.decode_and_crop_jpeg(
          image_bytes, scaled_window(window, r), channels=3, ratio=r,
          try_recover_truncated=False,
      )
      for r in DECODE_RATIOS
  ]
  index = tf.reduce_sum(tf.cast(ratio > tf.constant(DECODE_RATIOS[:-1]), tf.int32))
  return tf.switch_case(index, branches)


def full_scale_decode_crop(
    image_bytes: tf.Tensor, window: tf.Tensor, image_size: int
) -> tf.Tensor:
  """The pipeline's decode: the crop at full scale (`image_size` unused)."""
  del image_size
  return tf.image.decode_and_crop_jpeg(
      image_bytes, window, channels=3, try_recover_truncated=False
  )
