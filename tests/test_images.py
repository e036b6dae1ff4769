"""Tests for imagenet_custom.ilsvrc.images: content checks and re-encoding."""

from __future__ import annotations

import io
import re

import numpy as np
from PIL import Image
from PIL import ImageCms
from PIL import JpegImagePlugin
import pytest

from imagenet_custom.errors import BadFileError
from imagenet_custom.ilsvrc import images


def _encode(mode: str, fmt: str = 'JPEG', size=(48, 32), **kwargs) -> bytes:
  rng = np.random.default_rng(0)
  pixels = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
  image = Image.fromarray(pixels).convert(mode)
  buffer = io.BytesIO()
  image.save(buffer, format=fmt, **kwargs)
  return buffer.getvalue()


@pytest.mark.parametrize('mode', ['RGB', 'L'])
def test_rgb_and_grayscale_jpegs_keep_their_bytes(mode):
  data = _encode(mode)
  prepared = images.prepare_image(data, 'x.JPEG')
  assert prepared.data is data
  assert prepared.fix is images.Fix.KEPT
  assert (prepared.width, prepared.height) == (48, 32)


def test_progressive_jpeg_keeps_its_bytes():
  data = _encode('RGB', progressive=True)
  assert images.prepare_image(data, 'x.JPEG').data is data


@pytest.mark.parametrize(
    'mode, fmt, fix, out_mode',
    [
        ('CMYK', 'JPEG', images.Fix.CMYK_TO_RGB, 'RGB'),  # 22 such in ImageNet train.
        ('RGB', 'PNG', images.Fix.NOT_JPEG, 'RGB'),  # n02105855_2933.JPEG is a PNG.
        ('L', 'PNG', images.Fix.NOT_JPEG, 'L'),
        ('RGBA', 'PNG', images.Fix.NOT_JPEG, 'RGB'),
        ('P', 'GIF', images.Fix.NOT_JPEG, 'RGB'),
    ],
)
def test_other_content_is_reencoded_as_jpeg(mode, fmt, fix, out_mode):
  prepared = images.prepare_image(_encode(mode, fmt), 'n02105855_2933.JPEG')
  assert prepared.fix is fix
  decoded = Image.open(io.BytesIO(prepared.data))
  assert decoded.format == 'JPEG'
  assert decoded.mode == out_mode
  assert decoded.size == (48, 32)


def test_reencoding_keeps_the_picture():
  rgb = np.zeros((32, 48, 3), np.uint8)
  rgb[:, :24] = (200, 30, 30)
  rgb[:, 24:] = (20, 40, 220)
  buffer = io.BytesIO()
  Image.fromarray(rgb).convert('CMYK').save(buffer, format='JPEG', quality=95)
  decoded = np.asarray(Image.open(io.BytesIO(images.prepare_image(buffer.getvalue(), 'c').data)))
  assert np.abs(decoded.astype(int) - rgb).mean() < 12


def test_truncated_jpeg_with_good_header_is_caught():
  data = _encode('RGB', size=(200, 150), quality=90)
  with pytest.raises(BadFileError, match='JPEG does not decode') as error:
    images.prepare_image(data[: len(data) // 2], 'train.tar:n01.tar:n01_1.JPEG')
  assert error.value.origin == 'train.tar:n01.tar:n01_1.JPEG'


@pytest.mark.parametrize('data', [b'', b'not an image', b'\xff\xd8\xff' + b'\x00' * 20])
def test_garbage_is_caught(data):
  with pytest.raises(BadFileError, match='bad.JPEG: '):
    images.prepare_image(data, 'bad.JPEG')


def test_bytes_after_the_end_marker_are_checked_by_decoding():
  data = _encode('RGB', size=(200, 150)) + b'appended by some camera'
  prepared = images.prepare_image(data, 'x.JPEG')
  assert prepared.data is data and prepared.fix is images.Fix.KEPT


def _smooth(size: tuple[int, int], mode: str = 'RGB', **kwargs) -> images.PreparedImage:
  """A prepared JPEG: red left half, blue right half, a vertical gradient."""
  width, height = size
  pixels = np.zeros((height, width, 3), np.uint8)
  pixels[:, : width // 2] = (200, 30, 30)
  pixels[:, width // 2 :] = (20, 40, 220)
  pixels[..., 1] = np.linspace(0, 120, height, dtype=np.uint8)[:, None]
  buffer = io.BytesIO()
  Image.fromarray(pixels).convert(mode).save(buffer, format='JPEG', quality=95, **kwargs)
  return images.prepare_image(buffer.getvalue(), 'x.JPEG')


def _frame_markers(data: bytes) -> set[int]:
  """The JPEG's start-of-frame markers (0xC0 baseline, 0xC2 progressive, ...)."""
  markers, position = set(), 2
  while position + 4 <= len(data) and data[position] == 0xFF:
    marker = data[position + 1]
    if marker == 0xDA:  # Start of scan: the headers end here.
      break
    if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
      markers.add(marker)
    position += 2 + int.from_bytes(data[position + 2 : position + 4], 'big')
  return markers


@pytest.mark.parametrize(
    'size, expected',
    [
        ((600, 400), (384, 256)),  # Reduce by 1 (600 // 384), then Lanczos.
        ((400, 600), (256, 384)),
        ((1100, 700), (402, 256)),  # Reduce by 2, then Lanczos.
        ((2600, 520), (1280, 256)),  # Reduce by 2 (520 // 256), long side too.
        ((1024, 1024), (256, 256)),  # Reduce by 4 is already exact.
        ((1279, 1023), (320, 256)),  # Reduce by 3: 426.3 x 341 px of the original.
    ],
)
def test_larger_images_are_shrunk_to_the_shorter_side(size, expected):
  prepared = _smooth(size)
  resized = images.resize_to_shorter_side(prepared, 256, 90)
  decoded = Image.open(io.BytesIO(resized.data))
  assert decoded.size == expected
  assert (resized.width, resized.height) == expected
  assert resized.fix is prepared.fix and resized.source_format == 'JPEG'


@pytest.mark.parametrize('size', [(300, 256), (256, 256), (48, 32), (100, 900)])
def test_images_not_larger_than_the_target_keep_their_bytes(size):
  prepared = _smooth(size)
  assert images.resize_to_shorter_side(prepared, 256, 90) is prepared


def test_zero_shorter_side_keeps_every_image():
  prepared = _smooth((1200, 900))
  assert images.resize_to_shorter_side(prepared, 0, 90) is prepared


@pytest.mark.parametrize('mode', ['RGB', 'L'])
def test_resized_images_keep_their_mode_and_are_baseline(mode):
  prepared = _smooth((640, 480), mode, progressive=True)
  assert _frame_markers(prepared.data) == {0xC2}
  resized = images.resize_to_shorter_side(prepared, 120, 90)
  decoded = Image.open(io.BytesIO(resized.data))
  assert decoded.format == 'JPEG' and decoded.mode == mode
  assert _frame_markers(resized.data) == {0xC0}


def test_resizing_keeps_the_picture():
  resized = images.resize_to_shorter_side(_smooth((800, 600)), 96, 90)
  pixels = np.asarray(Image.open(io.BytesIO(resized.data))).astype(int)
  assert pixels.shape == (96, 128, 3)
  # Away from the red/blue edge the halves keep their colours.
  np.testing.assert_allclose(pixels[:, :56, [0, 2]].mean(axis=(0, 1)), (200, 30), atol=6)
  np.testing.assert_allclose(pixels[:, 72:, [0, 2]].mean(axis=(0, 1)), (20, 220), atol=6)
  # The vertical gradient survives: green rises from top to bottom.
  assert pixels[-4:, :, 1].mean() - pixels[:4, :, 1].mean() > 90


def _edge_position(row: np.ndarray) -> float:
  """Where a dark-to-bright step crosses half-way, in pixel centres, interpolated."""
  middle = (row[:8].mean() + row[-8:].mean()) / 2
  after = int(np.argmax(row > middle))
  before = after - 1
  return before + (middle - row[before]) / (row[after] - row[before])


@pytest.mark.parametrize('mode', ['RGB', 'L'])
def test_reduce_keeps_the_geometry(mode):
  # 1279 x 1023 px to 320 x 256: `reduce` by 3 gives 427 x 341 px, whose last
  # column covers 1 px of the original, not 3. Resizing all 427 columns to 320
  # would move an edge at x = 1200 by 0.47 px to the left.
  pixels = np.zeros((1023, 1279), np.uint8)
  pixels[:, 1200:] = 255
  buffer = io.BytesIO()
  Image.fromarray(pixels).convert(mode).save(buffer, format='JPEG', quality=95)
  prepared = images.prepare_image(buffer.getvalue(), 'x.JPEG')
  resized = images.resize_to_shorter_side(prepared, 256, 95)
  row = np.asarray(Image.open(io.BytesIO(resized.data)).convert('L'), float)[128]
  # Pixel centres: x_out + 0.5 = (x_in + 0.5) * 320 / 1279; the edge is between 1199 and 1200.
  expected = 1200 * 320 / 1279 - 0.5
  assert abs(_edge_position(row) - expected) < 0.1


def test_resized_colour_images_are_4_2_0():
  resized = images.resize_to_shorter_side(_smooth((640, 480)), 120, 90)
  decoded = Image.open(io.BytesIO(resized.data))
  assert isinstance(decoded, JpegImagePlugin.JpegImageFile)
  assert JpegImagePlugin.get_sampling(decoded) == 2  # 4:2:0


@pytest.mark.parametrize('mode', ['RGB', 'L'])
def test_resized_images_keep_their_icc_profile(mode):
  profile = ImageCms.ImageCmsProfile(ImageCms.createProfile('sRGB')).tobytes()
  prepared = _smooth((640, 480), mode, icc_profile=profile)
  resized = images.resize_to_shorter_side(prepared, 120, 90)
  assert Image.open(io.BytesIO(resized.data)).info['icc_profile'] == profile


def test_rgb_coded_jpegs_are_resized_like_ycbcr_ones():
  # An Adobe marker with transform 0: libjpeg cannot decode it to YCbCr.
  rgb_coded = _smooth((800, 600), keep_rgb=True)
  assert Image.open(io.BytesIO(rgb_coded.data)).info['adobe_transform'] == 0
  resized = images.resize_to_shorter_side(rgb_coded, 96, 90)
  from_ycbcr = images.resize_to_shorter_side(_smooth((800, 600)), 96, 90)
  pixels = np.asarray(Image.open(io.BytesIO(resized.data))).astype(int)
  assert pixels.shape == (96, 128, 3)
  expected = np.asarray(Image.open(io.BytesIO(from_ycbcr.data))).astype(int)
  assert np.abs(pixels - expected).mean() < 2


def test_jpeg_quality_sets_the_quantization():
  prepared = _smooth((800, 600))
  low = images.resize_to_shorter_side(prepared, 300, 30)
  high = images.resize_to_shorter_side(prepared, 300, 95)
  # Luma quantization scales with quality (libjpeg: table 0, first entry 16 at 50).
  low_q = Image.open(io.BytesIO(low.data)).quantization[0][0]  # type: ignore[attr-defined]  # JpegImageFile has it.
  high_q = Image.open(io.BytesIO(high.data)).quantization[0][0]  # type: ignore[attr-defined]  # JpegImageFile has it.
  assert (low_q, high_q) == (27, 2)
  assert len(low.data) < len(high.data)


@pytest.mark.parametrize(
    'kwargs, message',
    [
        ({'shorter_side': -1}, 'shorter_side must be 0'),
        ({'jpeg_quality': 0}, 'jpeg_quality must be in 1..100, not 0'),
        ({'jpeg_quality': 101}, 'jpeg_quality must be in 1..100, not 101'),
    ],
)
def test_resize_options_are_checked(kwargs, message):
  with pytest.raises(ValueError, match=message):
    images.ResizeOptions(**kwargs)


def test_resize_options_metadata_names_the_kernel():
  assert images.ResizeOptions(256, 85).metadata() == {
      'shorter_side': 256, 'kernel': 'PIL reduce + Lanczos (luma), box (chroma)',
      'jpeg_quality': 85,
  }


@pytest.mark.parametrize('mode, kwargs', [
    ('RGB', {}),
    ('L', {}),
    ('CMYK', {}),
    ('RGB', {'progressive': True}),
    ('RGB', {'subsampling': 0, 'quality': 100}),
    ('RGB', {'exif': b'Exif\x00\x00' + bytes(200), 'icc_profile': bytes(3000)}),
])
@pytest.mark.parametrize('size', [(48, 32), (1, 1), (3000, 17)])
def test_jpeg_size_reads_the_frame_header_as_pil_does(mode, kwargs, size):
  data = _encode(mode, size=size, **kwargs)
  with Image.open(io.BytesIO(data)) as image:
    assert images.jpeg_size(data) == image.size == size


def test_jpeg_size_skips_fill_bytes_and_restart_intervals():
  data = _encode('RGB')
  # A DRI segment and fill bytes (0xFF padding before a marker) before the frame.
  data = data[:2] + b'\xff\xdd\x00\x04\x00\x10' + b'\xff\xff' + data[2:]
  with Image.open(io.BytesIO(data)) as image:
    assert images.jpeg_size(data) == image.size == (48, 32)


@pytest.mark.parametrize('data', [
    b'',
    b'\x89PNG\r\n\x1a\n' + bytes(40),
    _encode('RGB')[:20],  # Cut before the frame header.
    b'\xff\xd8\xff\xda\x00\x02',  # Scan data before any frame.
    b'\xff\xd8\xff\xc0\x00\x0b\x08\x00\x00\x00\x10\x03',  # Height 0: set later by DNL.
    b'\xff\xd8\x00\x00\x00\x00',  # Not a marker where one must be.
])
def test_jpeg_size_is_none_when_the_header_does_not_give_it(data):
  assert images.jpeg_size(data) is None


def _through_pil(monkeypatch, data: bytes) -> images.PreparedImage | str:
  """What `prepare_image` gives (or the error it raises) without the header walk."""
  with monkeypatch.context() as patch:
    patch.setattr(images, '_plain_jpeg_size', lambda data: None)
    return _prepared(data)


def _prepared(data: bytes) -> images.PreparedImage | str:
  """The prepared image, or the error's text (object addresses left out)."""
  try:
    return images.prepare_image(data, 'x.JPEG')
  except BadFileError as e:
    return re.sub(r' at 0x[0-9a-f]+', '', str(e))


def _with_segment(data: bytes, marker: int, payload: bytes) -> bytes:
  """`data` with one more marker segment right after SOI."""
  return data[:2] + bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, 'big') + payload + data[2:]


_PLAIN = _encode('RGB')


@pytest.mark.parametrize('data', [
    _PLAIN,
    _encode('L'),
    _encode('RGB', progressive=True),
    _encode('RGB', size=(1, 1)),
    _encode('CMYK'),
    _encode('RGB', exif=b'Exif\x00\x00' + bytes(40)),
    _encode('RGB', icc_profile=bytes(500)),
    _encode('RGB', 'PNG'),
    _PLAIN[:-2],  # No end-of-image marker: decoded at 1/8.
    _PLAIN[:len(_PLAIN) // 2],  # Truncated in the scan.
    _PLAIN + b'\x00\r\n',  # Padding after the end.
    _PLAIN[:2] + b'\xff\xff\xff' + _PLAIN[2:],  # Fill bytes.
    _with_segment(_PLAIN, 0xDB, b'\x00' + bytes(60)),  # A DQT table cut short.
    _with_segment(_PLAIN, 0xE0, b'JFIF\x00'),  # A JFIF segment shorter than PIL reads.
    _with_segment(_PLAIN, 0xE1, b'Exif\x00\x00MM\x00*\xff\xff'),  # Broken EXIF.
    _with_segment(_PLAIN, 0xE2, b'MPF\x00' + bytes(8)),
    _with_segment(_PLAIN, 0xEE, b'Adobe'),  # Shorter than PIL reads.
    _PLAIN.replace(b'\xff\xc0\x00\x11\x08', b'\xff\xc0\x00\x11\x0c', 1),  # 12-bit samples.
], ids=[
    'rgb', 'gray', 'progressive', '1x1', 'cmyk', 'exif', 'icc', 'png', 'no_eoi', 'truncated',
    'padding', 'fill_bytes', 'short_dqt', 'short_jfif', 'broken_exif', 'mpf', 'short_adobe', '12_bit',
])
def test_the_header_walk_gives_what_pil_gives(monkeypatch, data):
  assert _prepared(data) == _through_pil(monkeypatch, data)


def test_the_header_walk_reads_plain_jpegs_and_leaves_the_rest_to_pil():
  assert images._plain_jpeg_size(_PLAIN) == (48, 32)
  assert images._plain_jpeg_size(_encode('L', progressive=True, size=(7, 300))) == (7, 300)
  for other in (
      _encode('CMYK'), _encode('RGB', exif=b'Exif\x00\x00' + bytes(40)),
      _encode('RGB', icc_profile=bytes(500)), _with_segment(_PLAIN, 0xDB, b'\x00' + bytes(60)),
      _PLAIN[:40], b'\x89PNG\r\n\x1a\n',
  ):
    assert images._plain_jpeg_size(other) is None


def test_the_header_walk_keeps_pils_pixel_limit(monkeypatch):
  monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 48 * 32 // 4)
  assert isinstance(_prepared(_PLAIN), str)
  assert _prepared(_PLAIN) == _through_pil(monkeypatch, _PLAIN)
