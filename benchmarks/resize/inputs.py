"""The benchmark's JPEGs: realistic (the project's generator), photo-like, large.

* `realistic`: the train images of `fake_imagenet.realistic_spec` (340-500 x
  290-430 px, ~107 KiB at quality 90, like real ImageNet's bytes per image).
  Their pixels are strong seeded noise, so they cost what a real JPEG of
  that size costs to decode, but they are white noise: a worst case for any
  resize kernel's quality, not a model of a photo.
* `photo_like`: the same sizes, with what natural images have that noise
  lacks: a 1/f amplitude spectrum (power falling as 1/f^2, as measured on
  photos), sharp-edged shapes and a little sensor-like grain. The quality
  figures that matter are taken on these.
* `large`: photo-like images of 900-1600 x 700-1200 px, where PIL's
  `reduce`, `reducing_gap` and libjpeg's scaled decoding (`Image.draft`)
  apply at 256 px; few ImageNet images are that large.
* `files`: JPEGs from a folder (`--photos`), e.g. a sample of real ImageNet:
  the quality figures on real photos.
"""

from __future__ import annotations

import io
import pathlib

import numpy as np
from PIL import Image

from imagenet_custom.errors import BadFileError
from imagenet_custom.ilsvrc import images
from imagenet_custom.testing import fake_imagenet
from imagenet_custom.testing import planning
from imagenet_custom.testing import rendering

SEED = 0
# The sizes of the realistic preset (`testing/spec.py`).
PHOTO_WIDTHS = (340, 500)
PHOTO_HEIGHTS = (290, 430)
LARGE_WIDTHS = (900, 1600)
LARGE_HEIGHTS = (700, 1200)
# Photo-like content: standard deviations of the 1/f fields (grey levels).
LUMA_STD = 40.0
CHROMA_STD = 12.0
# Shapes with sharp edges per image, their opacity and grain.
SHAPES = 6
SHAPE_OPACITY = 0.7
GRAIN_STD = 4.0
JPEG_QUALITY = rendering.JPEG_QUALITY


def realistic_jpegs(count: int, seed: int = SEED) -> list[bytes]:
  """RGB train JPEGs of the project's realistic fake ImageNet.

  Args:
    count: how many.
    seed: the generator's seed.

  Returns:
    The JPEG bytes, as `fake_imagenet` writes them.
  """
  # A few extra images: the preset plants some CMYK and PNG files.
  spec = fake_imagenet.realistic_spec(
      num_train=count + count // 10 + 10, num_val=1, num_classes=1, seed=seed,
      layouts=(fake_imagenet.FOLDERS,),
  )
  plan = planning.plan_dataset(spec)
  rgb = [image for image in plan.train if image.planted == 'RGB'][:count]
  return [rendering.render_image(image) for image in rgb]


def _one_over_f_field(
    rng: np.random.Generator, height: int, width: int
) -> np.ndarray:
  """A random field with a 1/f amplitude spectrum, zero mean, unit std."""
  fy = np.fft.fftfreq(height)[:, None]
  fx = np.fft.rfftfreq(width)[None, :]
  frequency = np.hypot(fx, fy)
  frequency[0, 0] = 1.0
  amplitude = 1.0 / frequency
  amplitude[0, 0] = 0.0
  phase = rng.uniform(0.0, 2.0 * np.pi, size=amplitude.shape)
  field = np.fft.irfft2(amplitude * np.exp(1j * phase), s=(height, width))
  return field / field.std()


def photo_like_pixels(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
  """Pixels with a photo's statistics: 1/f spectrum, edges, grain.

  Args:
    rng: the image's random stream.
    width: pixels.
    height: pixels.

  Returns:
    `(height, width, 3)` uint8.
  """
  luma = _one_over_f_field(rng, height, width)
  channels = [
      128.0 + rng.uniform(-30.0, 30.0) + LUMA_STD * luma
      + CHROMA_STD * _one_over_f_field(rng, height, width)
      for _ in range(3)
  ]
  pixels = np.stack(channels, axis=-1)
  y, x = np.mgrid[0:height, 0:width]
  for _ in range(SHAPES):
    centre_x, centre_y = rng.uniform(0, width), rng.uniform(0, height)
    radius_x = rng.uniform(20, width / 3)
    radius_y = rng.uniform(20, height / 3)
    inside = ((x - centre_x) / radius_x) ** 2 + ((y - centre_y) / radius_y) ** 2 < 1
    colour = rng.uniform(20, 235, size=3)
    pixels[inside] = (1 - SHAPE_OPACITY) * pixels[inside] + SHAPE_OPACITY * colour
  pixels += rng.normal(0.0, GRAIN_STD, size=pixels.shape)
  return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def _encode(pixels: np.ndarray) -> bytes:
  """Baseline JPEG at the generator's quality (PIL's 4:2:0), as the realistic ones."""
  buffer = io.BytesIO()
  Image.fromarray(pixels).save(
      buffer, format='JPEG', quality=JPEG_QUALITY, optimize=False, progressive=False
  )
  return buffer.getvalue()


def photo_like_jpegs(
    count: int,
    widths: tuple[int, int] = PHOTO_WIDTHS,
    heights: tuple[int, int] = PHOTO_HEIGHTS,
    seed: int = SEED,
) -> list[bytes]:
  """Photo-like JPEGs of random sizes in the given ranges (inclusive).

  Args:
    count: how many.
    widths: smallest and largest width.
    heights: smallest and largest height.
    seed: the seed; the same seed gives the same bytes.

  Returns:
    The JPEG bytes.
  """
  rng = np.random.default_rng(seed)
  jpegs = []
  for _ in range(count):
    width = int(rng.integers(widths[0], widths[1] + 1))
    height = int(rng.integers(heights[0], heights[1] + 1))
    jpegs.append(_encode(photo_like_pixels(rng, width, height)))
  return jpegs


def large_jpegs(count: int, seed: int = SEED) -> list[bytes]:
  """Photo-like JPEGs of 900-1600 x 700-1200 px."""
  return photo_like_jpegs(count, LARGE_WIDTHS, LARGE_HEIGHTS, seed)


def folder_jpegs(folder: pathlib.Path, count: int, shorter_side: int) -> list[bytes]:
  """JPEGs from a folder (recursively, in name order) that a build would resize.

  Files that are not RGB or grayscale JPEGs, and images whose shorter side is
  at most `shorter_side` (a build keeps them), are passed over.

  Args:
    folder: where to look for `*.jpg`, `*.jpeg`, `*.JPEG`.
    count: how many to return at most.
    shorter_side: the target of the shorter side.

  Returns:
    The JPEG bytes.
  """
  jpegs: list[bytes] = []
  for path in sorted(folder.rglob('*')):
    if len(jpegs) == count:
      break
    if path.suffix.lower() not in ('.jpg', '.jpeg') or not path.is_file():
      continue
    data = path.read_bytes()
    try:
      prepared = images.prepare_image(data, str(path))
    except BadFileError:
      continue
    if prepared.fix is images.Fix.KEPT and min(prepared.width, prepared.height) > shorter_side:
      jpegs.append(data)
  return jpegs
