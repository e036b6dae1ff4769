"""Tests of imagenet_custom.tools.show: the PNG grid of examples."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from PIL import Image
from PIL import ImageDraw
import tensorflow_datasets as tfds

from imagenet_custom.tools import show

from builds import REPO

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def _box_pixels(image: Image.Image) -> int:
  pixels = np.asarray(image.convert('RGB'))
  return int(np.all(pixels == show.BOX_COLOUR, axis=-1).sum())


def _boxes_in_first(data_dir: str, split: str, n: int) -> int:
  ds = tfds.load(
      'imagenet_custom', split=split, data_dir=data_dir,
      decoders={'image': tfds.decode.SkipDecoding()},
  )
  return sum(int(ex['bboxes'].shape[0]) for ex in ds.take(n))


def test_cli_writes_a_png_grid_with_boxes(training_tfrecord_dir, tmp_path):
  out = tmp_path / 'samples.png'
  env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL='2')
  result = subprocess.run(
      [sys.executable, '-m', 'imagenet_custom.tools.show', '--data_dir', str(training_tfrecord_dir),
       '--split', 'train', '--n', '9', '--out', str(out), '--tile', '96'],
      cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert out.read_bytes().startswith(PNG_SIGNATURE)
  with Image.open(out) as image:
    assert image.format == 'PNG'
    image.load()
    # 3x3 tiles of 96 px (plus captions, padding and a title).
    assert 3 * 96 < image.width < 3 * 96 + 60
    assert 3 * 96 < image.height < 3 * (96 + 60) + 60
    boxes = _boxes_in_first(str(training_tfrecord_dir), 'train', 9)
    assert boxes > 0
    assert _box_pixels(image) >= 40 * boxes


def test_no_box_colour_without_boxes(training_tfrecord_dir):
  examples, names = show.load_examples(str(training_tfrecord_dir), 'train', 32)
  unboxed = [ex for ex in examples if len(ex.boxes) == 0]
  boxed = [ex for ex in examples if len(ex.boxes) > 0]
  assert unboxed and boxed
  assert _box_pixels(show.render_grid(unboxed[:4], names, 'no boxes', tile=64)) == 0
  assert _box_pixels(show.render_grid(boxed[:4], names, 'boxes', tile=64)) > 0


def test_box_rectangles_scale_to_the_drawn_image():
  rectangles = show.box_rectangles(
      np.array([[0.0, 0.0, 1.0, 1.0], [0.5, 0.25, 0.75, 0.5]]), 10, 20, 101, 51
  )
  assert rectangles == [(10, 20, 110, 70), (35, 45, 60, 58)]


def test_display_names_disambiguate_repeated_names(training_tfrecord_dir):
  builder = tfds.builder('imagenet_custom', data_dir=str(training_tfrecord_dir))
  wnids = builder.info.features['label'].names
  names = show.display_names(wnids, builder.info.metadata['class_names'])
  assert len(names) == 1000 and len(set(names)) == 1000
  assert names[wnids.index('n02012849')] == 'crane (n02012849)'
  assert names[wnids.index('n03126707')] == 'crane (n03126707)'
  assert names[wnids.index('n01440764')] == 'tench'


def test_long_captions_are_shortened():
  image = Image.new('RGB', (10, 10))
  draw = ImageDraw.Draw(image)
  font = show.load_font(show.FONT_SIZE)
  text = show.fit_text(draw, 'x' * 500, font, 80)
  assert text.endswith(show.ELLIPSIS)
  assert draw.textlength(text, font=font) <= 80
  assert show.fit_text(draw, 'short', font, 80) == 'short'
