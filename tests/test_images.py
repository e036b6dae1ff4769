"""Tests for imagenet_custom.images: content checks and re-encoding."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
import pytest

from imagenet_custom import images
from imagenet_custom.errors import BadFileError


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
