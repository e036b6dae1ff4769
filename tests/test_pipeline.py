"""Tests of imagenet_custom.pipeline on the dummy data and synthetic JPEGs."""

from __future__ import annotations

import io
import pathlib

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from imagenet_custom import pipeline

import conftest_training
from conftest_training import SPLIT_SIZES

SIZE = 32
BATCH = 8
RED = (230, 20, 20)
BLUE = (20, 20, 230)
GREEN = (20, 200, 20)


@pytest.fixture(scope='session', name='data_dir')
def _data_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
  """The dummy data built as TFRecord, once per session."""
  return conftest_training.build_once(tmp_path_factory, 'tfrecord')


def _jpeg(pixels: np.ndarray, mode: str = 'RGB') -> bytes:
  buffer = io.BytesIO()
  Image.fromarray(pixels).convert(mode).save(buffer, format='JPEG', quality=95)
  return buffer.getvalue()


def _batches(ds: tf.data.Dataset, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
  return [(images.numpy(), labels.numpy()) for images, labels in ds.take(n)]


def _is_red(image: np.ndarray) -> np.ndarray:
  return (image[..., 0] > 150) & (image[..., 2] < 100)


def _corner_box_image() -> tuple[bytes, np.ndarray]:
  """A blue 200x200 JPEG with a red 30x30 square (its box) in the top-left corner."""
  pixels = np.zeros((200, 200, 3), np.uint8)
  pixels[:] = BLUE
  pixels[0:30, 0:30] = RED
  return _jpeg(pixels), np.array([[0.0, 0.0, 0.15, 0.15]], np.float32)


def test_train_batches_have_the_promised_shape_dtype_and_range(data_dir):
  ds = pipeline.load_train(str(data_dir), BATCH, SIZE, seed=0)
  batches = _batches(ds, 5)
  labels = set()
  for images, batch_labels in batches:
    assert images.shape == (BATCH, SIZE, SIZE, 3)
    assert images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 255.0
    assert images.std() > 10  # Real pictures, not a constant.
    assert batch_labels.shape == (BATCH,) and batch_labels.dtype == np.int64
    labels.update(batch_labels.tolist())
  assert len(labels) > 1
  assert all(0 <= label < 1000 for label in labels)


def test_normalised_and_uint8_outputs(data_dir):
  mean, std = pipeline.IMAGENET_MEAN_RGB, pipeline.IMAGENET_STD_RGB
  normalised = pipeline.load_eval(
      str(data_dir), BATCH, SIZE, split='test', mean=mean, std=std
  )
  plain = pipeline.load_eval(str(data_dir), BATCH, SIZE, split='test')
  quantised = pipeline.load_eval(
      str(data_dir), BATCH, SIZE, split='test', dtype=tf.uint8
  )
  (x, _), = _batches(normalised, 1)
  (y, _), = _batches(plain, 1)
  (z, _), = _batches(quantised, 1)
  np.testing.assert_allclose(x, (y - np.array(mean)) / np.array(std), rtol=1e-5, atol=1e-4)
  assert abs(float(x.mean())) < 2.5
  assert z.dtype == np.uint8
  np.testing.assert_allclose(z, np.round(y), atol=1)


def test_eval_covers_the_split_once_in_order_and_is_deterministic(data_dir):
  ds = pipeline.load_eval(str(data_dir), BATCH, SIZE, split='test')
  first = _batches(ds, 100)
  again = _batches(ds, 100)
  fresh = _batches(pipeline.load_eval(str(data_dir), BATCH, SIZE, split='test'), 100)
  sizes = [len(labels) for _, labels in first]
  assert sum(sizes) == SPLIT_SIZES['test']
  assert sizes[-1] == SPLIT_SIZES['test'] % BATCH  # The partial batch is kept.
  for other in (again, fresh):
    assert len(other) == len(first)
    for (a, la), (b, lb) in zip(first, other, strict=True):
      np.testing.assert_array_equal(a, b)
      np.testing.assert_array_equal(la, lb)
  stored = tfds.load(
      'imagenet_custom', split='test', data_dir=str(data_dir),
      decoders={'image': tfds.decode.SkipDecoding()},
  )
  labels = np.concatenate([labels for _, labels in first])
  np.testing.assert_array_equal(labels, [int(ex['label']) for ex in stored])


def test_seeded_training_is_deterministic(data_dir):
  data_dir = str(data_dir)
  first = _batches(pipeline.load_train(data_dir, BATCH, SIZE, seed=7), 6)
  second = _batches(pipeline.load_train(data_dir, BATCH, SIZE, seed=7), 6)
  other = _batches(pipeline.load_train(data_dir, BATCH, SIZE, seed=8), 6)
  for (a, la), (b, lb) in zip(first, second, strict=True):
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
  assert any(not np.array_equal(a, b) for (a, _), (b, _) in zip(first, other, strict=True))


def test_unseeded_training_draws_new_crops(data_dir):
  data_dir = str(data_dir)
  first = _batches(pipeline.load_train(data_dir, BATCH, SIZE), 4)
  second = _batches(pipeline.load_train(data_dir, BATCH, SIZE), 4)
  assert any(not np.array_equal(a, b) for (a, _), (b, _) in zip(first, second, strict=True))


def test_train_dataset_on_tfds_load_output_keeps_every_example(data_dir):
  ds = tfds.load(
      'imagenet_custom', split='train', data_dir=str(data_dir),
      decoders={'image': tfds.decode.SkipDecoding()},
  )
  train = pipeline.train_dataset(ds, BATCH, SIZE, repeat=False, drop_remainder=False, seed=1)
  labels = np.concatenate([labels for _, labels in _batches(train, 100)])
  expected = [int(ex['label']) for ex in ds]
  assert sorted(labels.tolist()) == sorted(expected)
  assert len(labels) == SPLIT_SIZES['train']


def test_examples_without_boxes_and_with_boxes_are_both_in_the_data(data_dir):
  ds = tfds.load(
      'imagenet_custom', split='train', data_dir=str(data_dir),
      decoders={'image': tfds.decode.SkipDecoding()},
  )
  counts = [int(ex['bboxes'].shape[0]) for ex in ds]
  assert 0 in counts and max(counts) > 0
  for example in ds.take(SPLIT_SIZES['train']):
    image = pipeline.preprocess_train(example['image'], example['bboxes'], SIZE)
    assert image.shape == (SIZE, SIZE, 3)


@pytest.mark.parametrize('seed', [None, tf.constant([3, 4])])
def test_image_without_boxes_uses_the_whole_image(seed):
  pixels = np.zeros((60, 90, 3), np.uint8)
  pixels[:] = GREEN
  image = pipeline.preprocess_train(_jpeg(pixels), tf.zeros([0, 4]), SIZE, seed)
  assert image.shape == (SIZE, SIZE, 3)
  np.testing.assert_allclose(image.numpy().mean(axis=(0, 1)), GREEN, atol=6)


def test_grayscale_jpegs_give_three_equal_channels():
  rng = np.random.default_rng(0)
  pixels = rng.integers(0, 255, (50, 70, 3), dtype=np.uint8)
  gray = _jpeg(pixels, 'L')
  assert tf.io.decode_jpeg(gray).shape[-1] == 1
  boxes = tf.constant([[0.1, 0.1, 0.9, 0.9]])
  for tensor in (
      pipeline.preprocess_train(gray, boxes, SIZE),
      pipeline.preprocess_train(gray, boxes, SIZE, tf.constant([1, 2])),
      pipeline.preprocess_eval(gray, SIZE),
  ):
    image = tensor.numpy()
    assert image.shape == (SIZE, SIZE, 3)
    np.testing.assert_allclose(image[..., 0], image[..., 1], atol=1e-3)
    np.testing.assert_allclose(image[..., 0], image[..., 2], atol=1e-3)


def test_dummy_data_grayscale_images_come_out_rgb(data_dir):
  ds = tfds.load(
      'imagenet_custom', split='train+validation+test',
      data_dir=str(data_dir),
      decoders={'image': tfds.decode.SkipDecoding()},
  )
  gray = [ex for ex in ds if tf.io.decode_jpeg(ex['image']).shape[-1] == 1]
  assert gray, 'the dummy data should hold grayscale JPEGs'
  for example in gray:
    assert pipeline.preprocess_train(example['image'], example['bboxes'], SIZE).shape == (SIZE, SIZE, 3)
    assert pipeline.preprocess_eval(example['image'], SIZE).shape == (SIZE, SIZE, 3)


def test_crop_windows_cover_part_of_the_box():
  data, box = _corner_box_image()
  shape = tf.image.extract_jpeg_shape(data)
  fallback = pipeline.center_crop_window(shape, SIZE).numpy().tolist()
  box_area = 30 * 30
  covering = 0
  for seed in range(100):
    y, x, h, w = pipeline.random_crop_window(shape, box, SIZE, tf.constant([seed, 0])).numpy()
    assert 0 <= y and 0 <= x and y + h <= 200 and x + w <= 200
    overlap = max(0, min(y + h, 30) - y) * max(0, min(x + w, 30) - x)
    if [y, x, h, w] != fallback:
      assert overlap >= pipeline.MIN_OBJECT_COVERED * box_area - 30  # Rounding.
      covering += 1
  assert covering >= 80


def test_training_crops_follow_the_box():
  """With its box, the small red corner is in nearly every crop; without, in few."""
  data, box = _corner_box_image()
  with_box = without_box = 0
  for seed in range(60):
    seed_tensor = tf.constant([seed, 1])
    with_box += _is_red(pipeline.preprocess_train(data, box, SIZE, seed_tensor).numpy()).any()
    without_box += _is_red(
        pipeline.preprocess_train(data, tf.zeros([0, 4]), SIZE, seed_tensor).numpy()
    ).any()
  assert with_box >= 50
  assert without_box <= with_box - 20


def test_eval_takes_the_centre_crop():
  # 256x256: a red 16-pixel frame around a green 224x224 centre, which is the
  # crop at image_size 224 with crop_padding 32.
  pixels = np.zeros((256, 256, 3), np.uint8)
  pixels[:] = RED
  pixels[16:240, 16:240] = GREEN
  window = pipeline.center_crop_window(tf.constant([256, 256, 3]), 224).numpy()
  np.testing.assert_array_equal(window, [16, 16, 224, 224])
  image = pipeline.preprocess_eval(_jpeg(pixels), 224).numpy()
  assert image.shape == (224, 224, 3)
  assert not _is_red(image).any()
  np.testing.assert_allclose(image.mean(axis=(0, 1)), GREEN, atol=8)


def test_eval_crop_window_of_a_wide_image():
  window = pipeline.center_crop_window(tf.constant([300, 500, 3]), 224).numpy()
  side = int(224 / 256 * 300)
  np.testing.assert_array_equal(window, [(300 - side + 1) // 2, (500 - side + 1) // 2, side, side])


def test_mean_and_std_need_a_float_dtype(data_dir):
  with pytest.raises(ValueError, match='float'):
    pipeline.load_eval(
        str(data_dir), BATCH, SIZE, split='test', dtype=tf.uint8,
        mean=pipeline.IMAGENET_MEAN_RGB,
    )
