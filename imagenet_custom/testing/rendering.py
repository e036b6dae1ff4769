"""Rendering planned images to JPEG (or PNG) bytes, in a process pool if large.

Each image's pixels come from its own seed (`ImagePlan.noise_seed`), so the
bytes do not depend on the order or the process that renders them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
import io
import multiprocessing
import os

import numpy as np
from PIL import Image

from imagenet_custom.testing import plan_types

JPEG_QUALITY = 90
# Dummy images: a class colour plus mild noise, so a tiny CNN can learn them.
DUMMY_LUMA_NOISE_STD = 12.0
DUMMY_CHROMA_NOISE_STD = 4.0
# Realistic images: strong noise sized so that a ~420x360 JPEG at quality 90
# is ~110 KB, like real ImageNet.
REALISTIC_LUMA_NOISE_SPAN = 176
REALISTIC_CHROMA_NOISE_SPAN = 32
REALISTIC_BASE_RANGE = (60, 196)
# Below this many images, rendering in one process is faster than a pool.
PARALLEL_THRESHOLD = 500
# Images per worker in a batch: at most two batches are in memory.
RENDER_BATCH_PER_WORKER = 64


def _dummy_pixels(
    rng: np.random.Generator, image: plan_types.ImagePlan
) -> np.ndarray:
  """Class colour plus mild seeded noise: small and easy to classify.

  Args:
    rng: the image's random stream.
    image: the image.

  Returns:
    `(height, width, 3)` uint8 pixels.
  """
  shape = (image.height, image.width)
  luma = rng.normal(0.0, DUMMY_LUMA_NOISE_STD, size=shape + (1,))
  chroma = rng.normal(0.0, DUMMY_CHROMA_NOISE_STD, size=shape + (3,))
  pixels = np.asarray(image.colour, dtype=np.float64) + luma + chroma
  return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def _realistic_pixels(
    rng: np.random.Generator, image: plan_types.ImagePlan
) -> np.ndarray:
  """Class-tinted strong noise that compresses like a real photo's size.

  Args:
    rng: the image's random stream.
    image: the image.

  Returns:
    `(height, width, 3)` uint8 pixels.
  """
  shape = (image.height, image.width)
  low, high = REALISTIC_BASE_RANGE
  base = low + np.asarray(image.colour, dtype=np.int16) * (high - low) // 255
  luma_half = REALISTIC_LUMA_NOISE_SPAN // 2
  chroma_half = REALISTIC_CHROMA_NOISE_SPAN // 2
  luma = rng.integers(-luma_half, luma_half, size=shape + (1,), dtype=np.int16)
  chroma = rng.integers(
      -chroma_half, chroma_half, size=shape + (3,), dtype=np.int16
  )
  return np.clip(base + luma + chroma, 0, 255).astype(np.uint8)


def encode(pixels: np.ndarray, planted: str) -> bytes:
  """Encodes RGB pixels as the planted format.

  Args:
    pixels: `(height, width, 3)` uint8.
    planted: `RGB`, `L` or `CMYK` for a JPEG in that mode, `PNG` for PNG.

  Returns:
    The file bytes.
  """
  image = Image.fromarray(pixels)
  buffer = io.BytesIO()
  if planted == 'PNG':
    image.save(buffer, format='PNG')
  else:
    image.convert(planted).save(
        buffer, format='JPEG', quality=JPEG_QUALITY, optimize=False,
        progressive=False,
    )
  return buffer.getvalue()


def render_image(image: plan_types.ImagePlan) -> bytes:
  """Renders one planned image. Deterministic; safe to run in a worker.

  Args:
    image: the plan.

  Returns:
    The file bytes.
  """
  rng = np.random.default_rng(image.noise_seed)
  if image.realistic:
    pixels = _realistic_pixels(rng, image)
  else:
    pixels = _dummy_pixels(rng, image)
  return encode(pixels, image.planted)


def default_workers(num_images: int) -> int:
  """One process for small outputs, all CPUs for large ones.

  Args:
    num_images: how many images will be rendered.

  Returns:
    The number of worker processes.
  """
  if num_images < PARALLEL_THRESHOLD:
    return 1
  return os.cpu_count() or 1


def render_stream(
    images: Sequence[plan_types.ImagePlan], workers: int
) -> Iterator[tuple[plan_types.ImagePlan, bytes]]:
  """Renders images in order, in a process pool when `workers` > 1.

  At most two batches are in memory: the one being written and the one being
  rendered.

  Args:
    images: the images, in writing order.
    workers: processes to render with.

  Yields:
    `(plan, bytes)` in the order of `images`.
  """
  if workers <= 1:
    for image in images:
      yield image, render_image(image)
    return
  size = workers * RENDER_BATCH_PER_WORKER
  batches = [images[start:start + size] for start in range(0, len(images), size)]
  # `spawn`: workers do not inherit the parent's state (or its threads).
  context = multiprocessing.get_context('spawn')
  with context.Pool(workers) as pool:
    pending = pool.map_async(render_image, batches[0])
    for number, batch in enumerate(batches):
      rendered = pending.get()
      if number + 1 < len(batches):
        pending = pool.map_async(render_image, batches[number + 1])
      yield from zip(batch, rendered, strict=True)
