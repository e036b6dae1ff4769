"""Image content checks and re-encoding. Pure: bytes in, bytes out.

Real ImageNet holds 22 CMYK JPEGs and one PNG named `.JPEG`; they are found
here by content, not by a list of names. Every other image keeps its original
bytes, after a cheap check that the whole file decodes.
"""

from __future__ import annotations

import enum
import io
from typing import NamedTuple
import warnings

from PIL import Image

from imagenet_custom.errors import BadFileError

# Quality used when an image must be re-encoded (CMYK, PNG, ...).
REENCODE_QUALITY = 95
# The largest JPEG DCT scaling: decoding at 1/8 size still reads and
# Huffman-decodes every byte (so truncation is caught) but skips most of the
# inverse DCT and colour conversion.
_CHECK_SCALE = 8
# Guards against decompression bombs (far above any ImageNet image).
_MAX_PIXELS = 1 << 28


class Fix(enum.Enum):
  """What was done to an image's bytes."""

  KEPT = 'kept'
  CMYK_TO_RGB = 'cmyk_reencoded'
  NOT_JPEG = 'non_jpeg_reencoded'
  MODE_CONVERTED = 'mode_reencoded'


class PreparedImage(NamedTuple):
  """An image's bytes as they will be stored.

  Attributes:
    data: baseline-compatible JPEG bytes in RGB or grayscale.
    fix: what was done to reach them.
    source_format: the format found by content (`JPEG`, `PNG`, ...).
    width: pixels.
    height: pixels.
  """

  data: bytes
  fix: Fix
  source_format: str
  width: int
  height: int


def _open(data: bytes, origin: str) -> Image.Image:
  try:
    with warnings.catch_warnings():
      warnings.simplefilter('error', Image.DecompressionBombWarning)
      image = Image.open(io.BytesIO(data))
  except (OSError, ValueError, Image.DecompressionBombWarning,
          Image.DecompressionBombError) as e:
    raise BadFileError(origin, f'not a readable image ({e})') from None
  if image.width * image.height > _MAX_PIXELS:
    raise BadFileError(
        origin, f'image is {image.width}x{image.height}, too large to be real'
    )
  return image


def _reencode(image: Image.Image, origin: str) -> bytes:
  try:
    image.load()
    target_mode = 'L' if image.mode in ('L', 'LA', 'I', 'I;16', '1') else 'RGB'
    if image.mode in ('RGBA', 'LA', 'PA') or (
        image.mode == 'P' and 'transparency' in image.info
    ):
      # Flatten transparency on white, as a viewer would show it.
      rgba = image.convert('RGBA')
      background = Image.new('RGBA', rgba.size, (255, 255, 255, 255))
      image = Image.alpha_composite(background, rgba)
    converted = image.convert(target_mode)
  except (OSError, ValueError) as e:
    raise BadFileError(origin, f'image does not decode ({e})') from None
  buffer = io.BytesIO()
  converted.save(
      buffer, format='JPEG', quality=REENCODE_QUALITY, optimize=False,
      progressive=False,
  )
  return buffer.getvalue()


def prepare_image(data: bytes, origin: str) -> PreparedImage:
  """Checks that an image decodes and returns the bytes to store.

  RGB and grayscale JPEGs keep their bytes. CMYK JPEGs, other modes and other
  formats (PNG named `.JPEG`, ...) are decoded and re-encoded as JPEG.

  Args:
    data: the file's bytes.
    origin: the file or archive member, for errors.

  Returns:
    The bytes to store and what was done.

  Raises:
    BadFileError: the data is not an image or does not decode entirely
      (including a truncated JPEG whose header is intact).
  """
  image = _open(data, origin)
  source_format = image.format or 'unknown'
  width, height = image.size
  if source_format == 'JPEG' and image.mode in ('RGB', 'L'):
    try:
      image.draft(
          image.mode, (max(1, width // _CHECK_SCALE), max(1, height // _CHECK_SCALE))
      )
      image.load()
    except (OSError, ValueError, SyntaxError) as e:
      raise BadFileError(origin, f'JPEG does not decode ({e})') from None
    return PreparedImage(data, Fix.KEPT, source_format, width, height)
  if source_format == 'JPEG' and image.mode == 'CMYK':
    fix = Fix.CMYK_TO_RGB
  elif source_format == 'JPEG':
    fix = Fix.MODE_CONVERTED
  else:
    fix = Fix.NOT_JPEG
  return PreparedImage(
      _reencode(image, origin), fix, source_format, width, height
  )
