"""Ways of shrinking one JPEG to a shorter side (a registry), and the stages alone.

A `Recipe` is one candidate: how the JPEG is decoded (full, or scaled by
libjpeg; RGB, or YCbCr without colour conversion), how it is shrunk (PIL's
`reduce` by the largest integer factor first, as the build did, or PIL's
`reducing_gap`), the resampling kernel (optionally another one for the
chroma), and how it is re-encoded. `BUILD` is what
`imagenet_custom.ilsvrc.images.resize_to_shorter_side` does (the benchmark checks
that both give the same bytes); `PREVIOUS` what it did before the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import io
from typing import Any

from PIL import Image

from imagenet_custom.ilsvrc import images

Resampling = Image.Resampling


@dataclasses.dataclass(frozen=True)
class Recipe:
  """One way of shrinking a JPEG.

  Attributes:
    kernel: PIL's resampling filter (antialiasing: its support is stretched
      by the scale factor when shrinking); of the luma when `chroma_kernel`
      is set.
    chroma_kernel: None resizes the three channels alike; a filter resizes
      the image in YCbCr, the luma with `kernel` and the chroma with this.
    reduce_first: shrink by PIL's `reduce` (a box filter) by the largest
      integer factor that keeps the target size first.
    aligned: after `reduce_first`, resize from the area the original covers
      in the reduced image (`size / factor`); otherwise from the whole
      reduced image, whose last row and column cover less of the original
      when its sides are not multiples of the factor.
    reducing_gap: PIL's own `reduce` step in `resize` (None: off), which keeps
      the geometry exact; 1.0 reduces by the same factor as `reduce_first`.
    draft: let libjpeg decode at 1/2, 1/4 or 1/8 scale when the image is at
      least that many times the target (`Image.draft`).
    decode_mode: `RGB`, or `YCbCr` (libjpeg skips the colour conversion; the
      resize and the encoder work on YCbCr).
    subsampling: the encoder's chroma subsampling: 2 is 4:2:0 (PIL's
      default, as the build), 0 is 4:4:4.
    quality: JPEG quality.
  """

  kernel: Resampling = Resampling.LANCZOS
  chroma_kernel: Resampling | None = None
  reduce_first: bool = False
  aligned: bool = False
  reducing_gap: float | None = None
  draft: bool = False
  decode_mode: str = 'RGB'
  subsampling: int = 2
  quality: int = images.DEFAULT_JPEG_QUALITY

  def shrink(self, data: bytes, shorter_side: int) -> Image.Image:
    """Decodes and shrinks a JPEG (its shorter side above `shorter_side`).

    Args:
      data: JPEG bytes.
      shorter_side: the target of the shorter side.

    Returns:
      The shrunk image: YCbCr when `decode_mode` or `chroma_kernel` asks for
      it, else RGB (L for a grayscale JPEG).
    """
    image: Image.Image = Image.open(io.BytesIO(data))
    size = images.resized_size(image.width, image.height, shorter_side)
    box: tuple[float, float, float, float] | None = None
    if self.draft or self.decode_mode != 'RGB':
      drafted = image.draft(self.decode_mode, size if self.draft else None)
      if drafted is not None:
        box = drafted[1]
    try:
      image.load()
    except OSError:  # An RGB-coded JPEG: libjpeg cannot decode it to YCbCr.
      image = Image.open(io.BytesIO(data))
      box = None
      image.load()
    if self.reduce_first:
      factor = min(image.width // size[0], image.height // size[1])
      if factor > 1:
        if box is None and self.aligned:
          box = (0.0, 0.0, float(image.width), float(image.height))
        image = image.reduce(factor)
        box = None if box is None else (
            box[0] / factor, box[1] / factor, box[2] / factor, box[3] / factor
        )
    if self.chroma_kernel is None or image.mode == 'L':
      return image.resize(size, self.kernel, box=box, reducing_gap=self.reducing_gap)
    if image.mode != 'YCbCr':
      image = image.convert('YCbCr')
    luma, blue, red = image.split()
    return Image.merge('YCbCr', [
        luma.resize(size, self.kernel, box=box, reducing_gap=self.reducing_gap),
        blue.resize(size, self.chroma_kernel, box=box, reducing_gap=self.reducing_gap),
        red.resize(size, self.chroma_kernel, box=box, reducing_gap=self.reducing_gap),
    ])

  def encode(self, image: Image.Image, icc_profile: Any = None) -> bytes:
    """The baseline JPEG the recipe stores."""
    buffer = io.BytesIO()
    image.save(
        buffer, format='JPEG', quality=self.quality, subsampling=self.subsampling,
        optimize=False, progressive=False, icc_profile=icc_profile,
    )
    return buffer.getvalue()

  def run(self, data: bytes, shorter_side: int) -> tuple[Image.Image, bytes]:
    """Shrinks and re-encodes a JPEG.

    Args:
      data: JPEG bytes (shorter side above `shorter_side`).
      shorter_side: the target of the shorter side.

    Returns:
      The shrunk image before encoding, and the bytes stored.
    """
    icc_profile = Image.open(io.BytesIO(data)).info.get('icc_profile')
    shrunk = self.shrink(data, shorter_side)
    return shrunk, self.encode(shrunk, icc_profile)


# What the build did before this benchmark (commit d722aff).
PREVIOUS = Recipe(reduce_first=True)
# What it does: a YCbCr decode, the aligned reduce, luma Lanczos, chroma box.
BUILD = Recipe(
    chroma_kernel=Resampling.BOX, decode_mode='YCbCr', reduce_first=True, aligned=True
)

# The candidates, in the order printed: the build's methods first.
CANDIDATES: dict[str, Recipe] = {
    'build: luma Lanczos, chroma box': BUILD,
    'previous: reduce + Lanczos': PREVIOUS,
    'previous, aligned reduce': Recipe(reduce_first=True, aligned=True),
    'previous at quality 89': dataclasses.replace(PREVIOUS, quality=89),
    'previous at quality 85': dataclasses.replace(PREVIOUS, quality=85),
    'Lanczos, reducing_gap 1': Recipe(reducing_gap=1.0),
    'Lanczos, reducing_gap 2': Recipe(reducing_gap=2.0),
    'Lanczos, reducing_gap 3': Recipe(reducing_gap=3.0),
    'Lanczos, no reduce (exact)': Recipe(),
    'draft + Lanczos': Recipe(draft=True),
    'YCbCr decode + Lanczos': Recipe(decode_mode='YCbCr', reducing_gap=1.0),
    'Lanczos, 4:4:4': Recipe(subsampling=0, reducing_gap=1.0),
    'reduce + bicubic': Recipe(kernel=Resampling.BICUBIC, reduce_first=True),
    'reduce + Hamming': Recipe(kernel=Resampling.HAMMING, reduce_first=True),
    'reduce + bilinear': Recipe(kernel=Resampling.BILINEAR, reduce_first=True),
    'reduce + box': Recipe(kernel=Resampling.BOX, reduce_first=True),
    'luma Lanczos, chroma box': Recipe(
        chroma_kernel=Resampling.BOX, reducing_gap=1.0
    ),
    'YCbCr decode, luma Lanczos, chroma box': Recipe(
        chroma_kernel=Resampling.BOX, decode_mode='YCbCr', reducing_gap=1.0
    ),
    'YCbCr decode, luma Lanczos, chroma bilinear': Recipe(
        chroma_kernel=Resampling.BILINEAR, decode_mode='YCbCr', reducing_gap=1.0
    ),
    'YCbCr decode, luma bilinear, chroma box': Recipe(
        kernel=Resampling.BILINEAR, chroma_kernel=Resampling.BOX, decode_mode='YCbCr',
        reducing_gap=1.0,
    ),
}

KERNELS = {
    'Lanczos': Resampling.LANCZOS,
    'bicubic': Resampling.BICUBIC,
    'Hamming': Resampling.HAMMING,
    'bilinear': Resampling.BILINEAR,
    'box': Resampling.BOX,
}


def _decoded(data: bytes, mode: str = 'RGB', size: tuple[int, int] | None = None) -> Image.Image:
  """A JPEG decoded in `mode` (RGB-coded JPEGs in RGB), at full or draft scale."""
  image = Image.open(io.BytesIO(data))
  if mode != 'RGB' or size is not None:
    image.draft(mode, size)
  try:
    image.load()
  except OSError:  # An RGB-coded JPEG: libjpeg cannot decode it to YCbCr.
    image = Image.open(io.BytesIO(data))
    image.load()
  return image


def _target(image: Image.Image, shorter_side: int) -> tuple[int, int]:
  return images.resized_size(image.width, image.height, shorter_side)


def _reduced(image: Image.Image, shorter_side: int) -> Image.Image:
  """The image after a `reduce` step (itself when the factor is 1)."""
  size = _target(image, shorter_side)
  factor = min(image.width // size[0], image.height // size[1])
  return image.reduce(factor) if factor > 1 else image


@dataclasses.dataclass(frozen=True)
class Stage:
  """One stage alone: `prepare` (untimed) makes its input from the JPEG, `run` is timed."""

  prepare: Callable[[bytes], Any]
  run: Callable[[Any], Any]


def stages(shorter_side: int) -> dict[str, Stage]:
  """The stages of a resize, each alone, by name.

  Args:
    shorter_side: the target of the shorter side.

  Returns:
    Name to stage. The resizes start from the `reduce`d image (the whole
    image when the factor is 1, as at ImageNet's usual sizes); the encodes
    from the Lanczos result.
  """

  def header(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size

  def decode_draft(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    return _decoded(data, 'RGB', _target(image, shorter_side))

  def resize_with(kernel: Resampling) -> Callable[[Image.Image], Image.Image]:
    return lambda image: image.resize(_target(image, shorter_side), kernel)

  def lanczos_result(data: bytes) -> Image.Image:
    return PREVIOUS.run(data, shorter_side)[0]

  def ycbcr_result(data: bytes) -> Image.Image:
    return Recipe(decode_mode='YCbCr').run(data, shorter_side)[0]

  def encode_optimized(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format='JPEG', quality=PREVIOUS.quality, optimize=True)
    return buffer.getvalue()

  def as_is(data: bytes) -> bytes:
    return data

  def reduced(data: bytes) -> Image.Image:
    return _reduced(_decoded(data), shorter_side)

  def reduced_luma(data: bytes) -> Image.Image:
    return reduced(data).convert('L')

  def ycbcr_decoded(data: bytes) -> Image.Image:
    return _decoded(data, 'YCbCr').convert('YCbCr')

  named: dict[str, Stage] = {
      'header (open, size)': Stage(as_is, header),
      'decode, RGB': Stage(as_is, _decoded),
      'decode, YCbCr (no colour conversion)': Stage(
          as_is, lambda data: _decoded(data, 'YCbCr')
      ),
      'decode, scaled by draft when >= 2x': Stage(as_is, decode_draft),
      'reduce (integer factor; 1 = none)': Stage(
          _decoded, lambda image: _reduced(image, shorter_side)
      ),
      'convert RGB to YCbCr': Stage(_decoded, lambda image: image.convert('YCbCr')),
      'split YCbCr + merge': Stage(
          ycbcr_decoded, lambda image: Image.merge('YCbCr', image.split())
      ),
  }
  for name, kernel in KERNELS.items():
    named[f'resize {name}, 3 channels'] = Stage(reduced, resize_with(kernel))
  for name in ('Lanczos', 'bilinear', 'box'):
    named[f'resize {name}, 1 channel'] = Stage(reduced_luma, resize_with(KERNELS[name]))
  named.update({
      'encode q90 4:2:0 (the build)': Stage(lanczos_result, Recipe().encode),
      'encode q90 4:4:4': Stage(lanczos_result, Recipe(subsampling=0).encode),
      'encode q90 4:2:0 from YCbCr': Stage(ycbcr_result, Recipe().encode),
      'encode q90 4:2:0 optimized Huffman': Stage(lanczos_result, encode_optimized),
  })
  return named
