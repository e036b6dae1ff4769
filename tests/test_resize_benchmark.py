"""Tests of benchmarks/resize: the reference resize, PSNR, inputs, recipes, the entry point."""

from __future__ import annotations

import io
import math
import pathlib
import subprocess
import sys
from typing import Any

import numpy as np
from PIL import Image
import pytest

from benchmarks.resize import inputs
from benchmarks.resize import measuring
from benchmarks.resize import quality
from benchmarks.resize import recipes
from imagenet_custom.ilsvrc import images

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize('in_size, out_size', [(400, 256), (1279, 320), (256, 256), (97, 13)])
def test_lanczos_matrix_rows_are_normalised_and_local(in_size, out_size):
  weights = quality.lanczos_matrix(in_size, out_size)
  assert weights.shape == (out_size, in_size)
  np.testing.assert_allclose(weights.sum(axis=1), 1.0)
  # Each output pixel draws on +-3 lobes of the stretched kernel around its centre.
  scale = in_size / out_size
  reach = np.abs(np.nonzero(weights[out_size // 2])[0] + 0.5 - (out_size // 2 + 0.5) * scale)
  assert reach.max() < 3 * max(scale, 1.0)


def test_lanczos_matrix_at_the_same_size_is_the_identity():
  np.testing.assert_allclose(quality.lanczos_matrix(50, 50), np.eye(50), atol=1e-12)


def test_reference_resize_keeps_a_constant_image_and_matches_pil():
  constant = np.full((300, 420, 3), 77, np.uint8)
  np.testing.assert_allclose(quality.reference_resize(constant, (299, 213)), 77.0)
  y, x = np.mgrid[0:300, 0:420]
  smooth = (127 + 100 * np.sin(x / 17.0) * np.cos(y / 23.0)).astype(np.uint8)
  reference = quality.reference_resize(smooth, (299, 213))
  assert reference.shape == (213, 299)
  pil = np.asarray(Image.fromarray(smooth).resize((299, 213), Image.Resampling.LANCZOS))
  # PIL's Lanczos differs only by its 8-bit fixed-point arithmetic.
  assert quality.psnr(pil, reference) > 45


def test_psnr():
  reference = np.zeros((4, 4))
  assert quality.psnr(reference.astype(np.uint8), reference) == math.inf
  # An error of 1 everywhere: 20 log10(255).
  assert quality.psnr(np.ones((4, 4), np.uint8), reference) == pytest.approx(48.13, abs=0.01)


def test_photo_like_jpegs_are_seeded_and_sized():
  first = inputs.photo_like_jpegs(3, seed=5)
  assert first == inputs.photo_like_jpegs(3, seed=5)
  for data in first:
    width, height = Image.open(io.BytesIO(data)).size
    assert inputs.PHOTO_WIDTHS[0] <= width <= inputs.PHOTO_WIDTHS[1]
    assert inputs.PHOTO_HEIGHTS[0] <= height <= inputs.PHOTO_HEIGHTS[1]


def test_folder_jpegs_keeps_what_a_build_would_resize(tmp_path: pathlib.Path):
  small, large = inputs.photo_like_jpegs(1)[0], inputs.large_jpegs(1)[0]
  (tmp_path / 'sub').mkdir()
  (tmp_path / 'a.JPEG').write_bytes(large)
  (tmp_path / 'sub' / 'b.jpg').write_bytes(small)
  (tmp_path / 'c.jpg').write_bytes(b'not a jpeg')
  (tmp_path / 'd.png').write_bytes(large)
  assert inputs.folder_jpegs(tmp_path, 10, 256) == [large, small]
  assert inputs.folder_jpegs(tmp_path, 10, 400) == [large]
  assert inputs.folder_jpegs(tmp_path, 1, 256) == [large]


def test_the_build_recipe_writes_the_builds_bytes():
  for data in inputs.realistic_jpegs(2) + inputs.large_jpegs(2):
    width, height = Image.open(io.BytesIO(data)).size
    prepared = images.PreparedImage(data, images.Fix.KEPT, 'JPEG', width, height)
    built = images.resize_to_shorter_side(prepared, 256, images.DEFAULT_JPEG_QUALITY)
    assert recipes.BUILD.run(data, 256)[1] == built.data


@pytest.mark.parametrize('name', list(recipes.CANDIDATES))
def test_every_candidate_writes_the_target_size(name):
  shrunk, stored = recipes.CANDIDATES[name].run(inputs.large_jpegs(1)[0], 256)
  decoded = Image.open(io.BytesIO(stored))
  assert decoded.size == shrunk.size and min(decoded.size) == 256


def _check_stage_output(name: str, out: Any, size: tuple[int, int]) -> None:
  """Asserts that a stage made what its name says, from a JPEG of `size`."""
  if name.startswith('header'):
    assert out == size
  elif name.startswith('decode'):
    assert out.mode == ('YCbCr' if 'YCbCr' in name else 'RGB')
    if 'draft' in name:  # The input is over twice the target: draft scales it.
      assert 256 <= min(out.size) < min(size)
    else:
      assert out.size == size
  elif name.startswith('reduce'):
    # By the largest integer factor that keeps the shorter side >= 256
    # (PIL's `reduce` rounds the sides up).
    factor = round(size[0] / out.size[0])
    assert factor > 1 and out.size == tuple(-(-side // factor) for side in size)
    assert min(out.size) >= 256 > -(-min(size) // (factor + 1))
  elif name.startswith(('convert', 'split')):
    assert (out.mode, out.size) == ('YCbCr', size)
  elif name.startswith('resize'):
    assert min(out.size) == 256
    assert out.mode == ('L' if '1 channel' in name else 'RGB')
  elif name.startswith('encode'):
    decoded = Image.open(io.BytesIO(out))
    assert decoded.format == 'JPEG' and min(decoded.size) == 256
  else:
    raise AssertionError(f'no expectation for stage {name!r}: add one here')


def test_every_stage_makes_what_its_name_says():
  data = inputs.large_jpegs(1)[0]
  size = Image.open(io.BytesIO(data)).size
  assert min(size) >= 2 * 256  # So that draft and reduce have work to do.
  for name, stage in recipes.stages(256).items():
    _check_stage_output(name, stage.run(stage.prepare(data)), size)


def test_best_ms_per_item_takes_the_fastest_pass():
  calls: list[int] = []
  result = measuring.best_ms_per_item(
      {'a': calls.append, 'b': calls.append}, {'a': [1, 2], 'b': [3]}, passes=3
  )
  assert sorted(calls) == [1, 1, 1, 2, 2, 2, 3, 3, 3]
  assert set(result) == {'a', 'b'} and all(ms >= 0 for ms in result.values())


def test_entry_point_prints_both_tables():
  result = subprocess.run(
      [sys.executable, 'benchmarks/resize_benchmark.py', '--images', '2', '--large', '1',
       '--passes', '1'],
      cwd=REPO, capture_output=True, text=True, timeout=300,
  )
  assert result.returncode == 0, result.stderr
  assert 'Each stage alone' in result.stdout
  for name in recipes.CANDIDATES:
    assert name in result.stdout
