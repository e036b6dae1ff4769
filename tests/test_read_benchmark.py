"""Tests of benchmarks/read: scaled decoding, the tables, the entry point."""

from __future__ import annotations

import io
import pathlib
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from benchmarks.read import inputs
from benchmarks.read import scaled
from benchmarks.read import tables
from benchmarks.read.measure import Measurement
from benchmarks.read.measure import Method

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    'crop, image_size, ratio',
    [
        ((447, 900), 224, 1),  # Shorter side under twice the output: full scale.
        ((448, 448), 224, 2),
        ((1000, 895), 224, 2),  # 895 < 4 x 224.
        ((896, 1200), 224, 4),
        ((1792, 2000), 224, 8),
        ((5000, 5000), 224, 8),  # 8 is libjpeg's largest.
        ((300, 400), 64, 4),
        ((100, 80), 224, 1),  # Smaller than the output: upsampled at full scale.
    ],
)
def test_decode_ratio_keeps_the_crop_at_least_the_output_size(crop, image_size, ratio):
  chosen = scaled.decode_ratio(tf.constant(crop[0]), tf.constant(crop[1]), image_size)
  assert int(chosen) == ratio


def _gradient_jpeg(height: int, width: int) -> bytes:
  y, x = np.mgrid[0:height, 0:width]
  pixels = np.stack(
      [x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height)], -1
  ).astype(np.uint8)
  buffer = io.BytesIO()
  Image.fromarray(pixels).save(buffer, format='JPEG', quality=95)
  return buffer.getvalue()


@pytest.mark.parametrize(
    'window, ratio',
    [
        ((0, 0, 601, 803), 2),  # The whole image at 1/2: odd sides.
        ((37, 13, 520, 780), 2),
        ((3, 5, 597, 797), 4),
        ((0, 0, 601, 803), 8),
    ],
)
def test_scaled_decode_crop_scales_the_window(window, ratio):
  data = _gradient_jpeg(601, 803)
  image_size = min(window[2], window[3]) // ratio
  crop = scaled.scaled_decode_crop(
      tf.constant(data), tf.constant(window), image_size
  ).numpy()
  y, x, height, width = window
  begin = [int(y / ratio + 0.5), int(x / ratio + 0.5)]
  end = [int((y + height) / ratio + 0.5), int((x + width) / ratio + 0.5)]
  whole = tf.io.decode_jpeg(data, channels=3, ratio=ratio).numpy()
  np.testing.assert_array_equal(crop, whole[begin[0]:end[0], begin[1]:end[1]])
  # It shows the same part of the picture as the full-scale crop.
  full = scaled.full_scale_decode_crop(tf.constant(data), tf.constant(window), 0)
  reference = tf.image.resize(full, crop.shape[:2], antialias=True).numpy()
  assert np.abs(crop.astype(float) - reference).mean() < 3


def test_window_in_jpeg_pixels_is_refused_at_reduced_scale():
  # Why `scaled_window` exists: the op crops the scaled image.
  data = _gradient_jpeg(480, 640)
  with pytest.raises(tf.errors.InvalidArgumentError):
    tf.image.decode_and_crop_jpeg(data, [100, 200, 160, 240], channels=3, ratio=2)


def test_small_crop_is_decoded_at_full_scale():
  data = _gradient_jpeg(200, 300)
  crop = scaled.scaled_decode_crop(tf.constant(data), tf.constant([10, 20, 150, 200]), 100)
  np.testing.assert_array_equal(
      crop.numpy(), tf.image.decode_and_crop_jpeg(data, [10, 20, 150, 200], channels=3)
  )


def _method(key: str, *rates: float) -> Method:
  method = Method(key, key, lambda: iter(()))
  method.runs = [Measurement(1000, 1000 / rate, 1.0, 0.0) for rate in rates]
  return method


def test_ratios_use_the_best_epochs_and_say_whether_targets_are_met():
  methods = [
      _method('a3', 300, 400), _method('b', 1000, 900), _method('c', 1050, 800),
      _method('c256', 2000, 1500), _method('e', 1000),
  ]
  text = tables.format_results(methods)
  ratios = {
      line.split()[0]: line.split()[1:5] for line in text.splitlines() if '/' in line
  }
  # Best epochs: 1050 / 400, whatever the medians.
  assert ratios['(c)/(a3)'] == ['2.62', '>=', '2.0', 'met']
  assert ratios['(c)/(b)'] == ['1.05', '>=', '1.1', 'MISSED']
  assert ratios['(c256)/(b)'] == ['2.00', '>=', '1.8', 'met']
  # tf-keras's generator was not measured.
  assert ratios['(c)/(a2)'][0] == 'n/a'


def _build(config: str, shard_bytes: int, seconds: float) -> inputs.Build:
  return inputs.Build(
      config, seconds, 2 * seconds, shard_bytes, 0, 0, [], [], 0.0, (0.0, 0.0)
  )


def test_config_table_gives_the_disk_ratio():
  corpus = inputs.Corpus(
      pathlib.Path('.'), pathlib.Path('.'),
      {'default': _build('default', 100 << 20, 10.0), 's256': _build('s256', 45 << 20, 14.0)},
  )
  text = tables.format_configs(corpus, [_method('c', 900), _method('c256', 1800)])
  assert 's256/default: shards 0.45 (target <= 0.6, met); build time 1.40, build CPU 1.40' in text
  default_row = next(line for line in text.splitlines() if line.startswith('default'))
  assert default_row.split()[1:4] == ['100.0', '10.0', '20.0']
  assert default_row.split()[-2:] == ['900', 'n/a']


def test_entry_point_runs_end_to_end(tmp_path: pathlib.Path):
  result = subprocess.run(
      [sys.executable, str(REPO / 'benchmarks' / 'read_benchmark.py'),
       '--images', '24', '--classes', '3', '--rounds', '1', '--no_variants',
       '--no_profile', '--work_dir', str(tmp_path / 'work')],
      capture_output=True, text=True, timeout=600, check=False,
      env={'PYTHONPATH': str(REPO), 'TF_CPP_MIN_LOG_LEVEL': '2',
           'PATH': '/usr/bin:/bin'},
  )
  assert result.returncode == 0, result.stderr[-3000:]
  for key in ('a3', 'a2', 'b', 'c', 'd', 'e', 'c256', 'd256'):
    assert f'({key:11})' in result.stdout, key
  assert 's256/default: shards' in result.stdout
  assert not (tmp_path / 'work').exists() or not any((tmp_path / 'work').iterdir())


def test_cpu_seconds_counts_ended_child_processes():
  before = inputs.cpu_seconds()
  subprocess.run(
      [sys.executable, '-c', 'import time\nend = time.process_time() + 0.3\n'
       'while time.process_time() < end: pass'],
      check=True,
  )
  assert inputs.cpu_seconds() - before >= 0.3
