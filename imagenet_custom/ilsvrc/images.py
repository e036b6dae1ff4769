"""Image content checks, re-encoding and resizing. Pure: bytes in, bytes out.

Real ImageNet holds 22 CMYK JPEGs and one PNG named `.JPEG`; they are found
here by content, not by a list of names. Every other image keeps its original
bytes, after a cheap check that the whole file decodes.

Resized builds (`shorter_side` > 0) shrink the larger images with PIL's
`reduce` (a box filter by an integer factor) followed by Lanczos on the luma
and a box filter on the chroma to the exact size, and store them as baseline
4:2:0 JPEGs (`resize_to_shorter_side`).
"""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
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
# inverse DCT and colour conversion. Used only for JPEGs that do not end with
# their end-of-image marker.
_CHECK_SCALE = 8
# JPEG end-of-image marker. Inside entropy-coded data a 0xFF byte is always
# followed by 0x00 or a restart marker, so data ending with it was written to
# the end; a truncated file does not end with it.
_EOI = bytes([0xFF, 0xD9])
# Bytes some writers append after the end-of-image marker.
_PADDING = bytes([0x00, 0x0D, 0x0A, 0x20, 0x09])
# Guards against decompression bombs (far above any ImageNet image).
_MAX_PIXELS = 1 << 28
# Quality of the JPEGs a resized build writes, unless configured (FFCV stores
# its reduced-size ImageNet at ~90).
DEFAULT_JPEG_QUALITY = 90
# The resize kernel, as named in the dataset's metadata. The chroma is stored
# at half resolution (4:2:0), so Lanczos on it buys nothing a box filter does
# not (the same stored PSNR to 0.05 dB, 10-16% less CPU; docs/resized.md).
RESIZE_KERNEL = 'PIL reduce + Lanczos (luma), box (chroma)'
# Chroma subsampling of the resized JPEGs: 4:2:0, PIL's default.
RESIZE_SUBSAMPLING = '4:2:0'


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


# Start-of-frame markers (ITU T.81 table B.1): 0xC0-0xCF except DHT (0xC4),
# JPG (0xC8) and DAC (0xCC). Their segment holds precision, height, width.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length: TEM, RST0-7 (SOI and EOI are not met before SOF).
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_APP0, _COM, _DQT, _DHT, _DRI, _SOS, _EOI_MARKER = 0xE0, 0xFE, 0xDB, 0xC4, 0xDD, 0xDA, 0xD9
# The segments a plain JFIF file holds before its scan (`_plain_jpeg_size`).
_PLAIN_SOF = frozenset({0xC0, 0xC1, 0xC2})  # Baseline, extended, progressive DCT.
_PLAIN_OTHERS = frozenset({_APP0, _COM, _DQT, _DHT, _DRI})


def _segments(data: bytes | memoryview) -> Iterator[tuple[int, int, int]]:
  """`(marker, payload start, payload end)` of a JPEG's header segments.

  From the start of the file up to and including the start of scan (SOS) or
  the end of image, as decoders walk them: fill bytes and standalone markers
  are passed over. It stops early, without a sign, at anything malformed (not
  a JPEG, a byte where a marker must be, a segment cut short): a caller that
  needs the SOS sees that it never came.
  """
  if data[:2] != b'\xff\xd8':
    return
  pos, end = 2, len(data)
  while pos + 4 <= end:
    if data[pos] != 0xFF:
      return
    marker = data[pos + 1]
    if marker == 0xFF:  # Fill byte before a marker.
      pos += 1
      continue
    if marker in _STANDALONE:
      pos += 2
      continue
    length = (data[pos + 2] << 8) | data[pos + 3]
    start, stop = pos + 4, pos + 2 + length
    if length < 2 or stop > end:
      return
    yield marker, start, stop
    if marker in (_SOS, _EOI_MARKER):
      return
    pos = stop


def _frame_size(data: bytes | memoryview, start: int) -> tuple[int, int]:
  """`(width, height)` in a start-of-frame segment's payload at `start`."""
  return (data[start + 3] << 8) | data[start + 4], (data[start + 1] << 8) | data[start + 2]


def jpeg_size(data: bytes | memoryview) -> tuple[int, int] | None:
  """`(width, height)` from a JPEG's frame header, without decoding; None if not found.

  Walks the marker segments from the start of the file to the first
  start-of-frame (`_segments`): a few segments, microseconds, where opening
  the image with PIL parses its tables too. The size is what decoding gives
  (EXIF orientation is not applied, as TensorFlow's and PIL's decoders do not).
  Returns None for anything else (not a JPEG, truncated, a zero height
  defined later by a DNL marker), for the caller to fall back to decoding.
  """
  for marker, start, stop in _segments(data):
    if marker in _SOF_MARKERS:
      size = _frame_size(data, start) if stop - start >= 5 else (0, 0)
      return size if size[0] and size[1] else None
  return None


def _plain_jpeg_size(data: bytes) -> tuple[int, int] | None:
  """`(width, height)` of a JPEG whose opening by PIL is certain; else None.

  PIL's open of a JPEG walks its marker segments to the start of scan,
  checking them: every case where it could refuse the file, or open it as
  something other than an 8-bit grayscale or RGB JPEG (CMYK, MPO, ...), makes
  this return None, and the caller opens the file with PIL as before. What
  is accepted: SOI; then only fill bytes, standalone markers and the segments
  APP0 `JFIF` (at least PIL's 7 bytes read), COM, DQT (whose tables PIL's own
  length rule accepts), DHT, DRI and one SOF0/1/2 frame of 8 bits and 1 or 3
  components, each whole inside the data; then SOS. Every other segment
  (EXIF, ICC profiles, Adobe, MPF, ...) is left to PIL. About 10 us where
  PIL's open costs ~100 (it also reads every table).
  """
  if data[:3] != b'\xff\xd8\xff':
    return None
  size = None
  for marker, start, stop in _segments(data):
    if marker == _SOS:
      return size
    if marker in _PLAIN_SOF:
      components = data[start + 5] if stop - start >= 6 else 0
      if size is not None or components not in (1, 3) or stop - start != 6 + 3 * components or data[start] != 8:
        return None
      size = _frame_size(data, start)
      if not size[0] or not size[1]:
        return None
    elif marker == _DQT:
      table = start
      while table < stop:
        table += 1 + 64 * (1 if data[table] < 16 else 2)
      if table != stop:
        return None
    elif marker == _APP0:
      if data[start:start + 4] != b'JFIF' or stop - start < 7:
        return None
    elif marker not in _PLAIN_OTHERS:
      return None
  return None


def _max_pixels() -> int:
  """The most pixels an image may have before PIL or this module refuses it."""
  limit = Image.MAX_IMAGE_PIXELS
  return _MAX_PIXELS if limit is None else min(_MAX_PIXELS, int(limit))


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


def _check_decodes(image: Image.Image, origin: str) -> None:
  """Decodes a JPEG at 1/8 scale, which reads every byte of it."""
  try:
    image.draft(
        image.mode,
        (max(1, image.width // _CHECK_SCALE), max(1, image.height // _CHECK_SCALE)),
    )
    image.load()
  except (OSError, ValueError, SyntaxError) as e:
    raise BadFileError(origin, f'JPEG does not decode ({e})') from None


def prepare_image(data: bytes, origin: str) -> PreparedImage:
  """Checks that an image decodes and returns the bytes to store.

  RGB and grayscale JPEGs keep their bytes. CMYK JPEGs, other modes and other
  formats (PNG named `.JPEG`, ...) are decoded and re-encoded as JPEG.

  The check costs a header parse for a JPEG that ends with its end-of-image
  marker (this module's own walk of a plain JFIF header, `_plain_jpeg_size`,
  else PIL's open); one that does not (truncated, or with bytes appended) is
  decoded at 1/8 scale, which fails if any of its data is missing.

  Args:
    data: the file's bytes.
    origin: the file or archive member, for errors.

  Returns:
    The bytes to store and what was done.

  Raises:
    BadFileError: the data is not an image or does not decode entirely
      (including a truncated JPEG whose header is intact).
  """
  plain = _plain_jpeg_size(data)
  if plain is not None and plain[0] * plain[1] <= _max_pixels() and data.rstrip(_PADDING).endswith(_EOI):
    # What PIL's open would find (an RGB or grayscale JPEG) and no decode needed.
    return PreparedImage(data, Fix.KEPT, 'JPEG', *plain)
  image = _open(data, origin)
  source_format = image.format or 'unknown'
  width, height = image.size
  if source_format == 'JPEG' and image.mode in ('RGB', 'L'):
    if not data.rstrip(_PADDING).endswith(_EOI):
      _check_decodes(image, origin)
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


@dataclasses.dataclass(frozen=True)
class ResizeOptions:
  """How a build resizes its images.

  Attributes:
    shorter_side: images whose shorter side is longer are shrunk to it;
      0 keeps every image at its original size.
    jpeg_quality: JPEG quality (1..100) of the resized images.
  """

  shorter_side: int = 0
  jpeg_quality: int = DEFAULT_JPEG_QUALITY

  def __post_init__(self) -> None:
    if self.shorter_side < 0:
      raise ValueError(
          f'shorter_side must be 0 (keep the original sizes) or a number of'
          f' pixels, not {self.shorter_side}'
      )
    if not 1 <= self.jpeg_quality <= 100:
      raise ValueError(
          f'jpeg_quality must be in 1..100, not {self.jpeg_quality}'
      )

  def metadata(self) -> dict[str, int | str]:
    """What the dataset's metadata records about the resize."""
    return {
        'shorter_side': self.shorter_side,
        'kernel': RESIZE_KERNEL,
        'jpeg_quality': self.jpeg_quality,
    }


def resized_size(width: int, height: int, shorter_side: int) -> tuple[int, int]:
  """The size of an image scaled so that its shorter side is `shorter_side`.

  Args:
    width: pixels.
    height: pixels.
    shorter_side: the target of the shorter side.

  Returns:
    `(width, height)`; the longer side is rounded, and at least 1.
  """
  if width <= height:
    return shorter_side, max(1, round(height * shorter_side / width))
  return max(1, round(width * shorter_side / height)), shorter_side


def _decode_for_resize(data: bytes) -> Image.Image:
  """Decodes a JPEG; a colour one in YCbCr, as most are coded.

  libjpeg then skips its colour conversion. An RGB-coded JPEG (an Adobe
  marker with transform 0) cannot be decoded to YCbCr: libjpeg refuses, and it
  is decoded to RGB instead. Damaged data fails both ways.

  Args:
    data: JPEG bytes that `prepare_image` accepted (RGB or L).

  Returns:
    The loaded image: YCbCr, RGB (RGB-coded JPEGs) or L.
  """
  image = Image.open(io.BytesIO(data))
  if image.mode == 'RGB':
    image.draft('YCbCr', None)
    try:
      image.load()
      return image
    except OSError:  # libjpeg's refusal; damaged data fails again below.
      image = Image.open(io.BytesIO(data))
  image.load()
  return image


def resize_to_shorter_side(
    prepared: PreparedImage, shorter_side: int, quality: int
) -> PreparedImage:
  """Shrinks an image so that its shorter side is `shorter_side`.

  An image whose shorter side is at most `shorter_side` is returned as it is
  (the same object, bytes untouched). A larger one is shrunk by PIL's
  `reduce` by the largest integer factor that keeps both sides at least the
  target size (a box filter, exact for that factor), then to the exact size
  from the area the original covers in the reduced image (its last row and
  column may cover less): Lanczos on the luma, a box filter on the chroma,
  which the 4:2:0 encoder halves anyway. It is re-encoded as a baseline 4:2:0
  JPEG in its mode (RGB or L), with its ICC profile. The whole JPEG is
  decoded: libjpeg's scaled decoding (`Image.draft`) would be faster for
  images at least twice the target, and closer to a full Lanczos on
  synthetic photos, but not on two real ones (docs/resized.md). PIL's
  resampling is integer arithmetic: no floating-point rounding differs
  between machines.

  Args:
    prepared: an image from `prepare_image` (RGB or grayscale JPEG bytes).
    shorter_side: the target of the shorter side; 0 keeps every image.
    quality: JPEG quality of a resized image (1..100).

  Returns:
    `prepared` itself, or the resized image (same `fix` and `source_format`,
    new data and size).
  """
  width, height = prepared.width, prepared.height
  if shorter_side <= 0 or min(width, height) <= shorter_side:
    return prepared
  image = _decode_for_resize(prepared.data)
  icc_profile = image.info.get('icc_profile')
  size = resized_size(width, height, shorter_side)
  factor = min(width // size[0], height // size[1])
  # The original's area in the reduced image, whose sides are rounded up.
  box = (0.0, 0.0, width / factor, height / factor)
  if factor > 1:
    image = image.reduce(factor)
  if image.mode == 'L':
    resized = image.resize(size, Image.Resampling.LANCZOS, box=box)
  else:
    if image.mode != 'YCbCr':
      image = image.convert('YCbCr')
    luma, blue, red = image.split()
    resized = Image.merge('YCbCr', [
        luma.resize(size, Image.Resampling.LANCZOS, box=box),
        blue.resize(size, Image.Resampling.BOX, box=box),
        red.resize(size, Image.Resampling.BOX, box=box),
    ])
  buffer = io.BytesIO()
  resized.save(
      buffer, format='JPEG', quality=quality, subsampling=RESIZE_SUBSAMPLING,
      optimize=False, progressive=False, icc_profile=icc_profile,
  )
  return prepared._replace(data=buffer.getvalue(), width=size[0], height=size[1])
