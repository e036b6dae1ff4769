"""Resized builds (`shorter_side`) of the dummy data."""

from __future__ import annotations

import importlib.util
import io
import pathlib
import types

import numpy as np
from PIL import Image
import pytest
import tensorflow_datasets as tfds

import imagenet_custom
from imagenet_custom import pipeline
from imagenet_custom.build import report as report_lib
from imagenet_custom.errors import InputError

from builds import build
from builds import DUMMY
from builds import read_all
from builds import REPO

# The dummy images are 40 to 64 px on their shorter side: `s256` keeps them
# all, a 32 px build shrinks them all.
SMALL_SIDE = 32


@pytest.fixture(scope='module', name='s256')
def _s256(tmp_path_factory) -> tfds.core.DatasetBuilder:
  builder = tfds.builder(
      'imagenet_custom/s256', data_dir=str(tmp_path_factory.mktemp('s256'))
  )
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=str(DUMMY / 'folders'))
  )
  return builder


@pytest.fixture(scope='module', name='small')
def _small(tmp_path_factory) -> tfds.core.DatasetBuilder:
  return build(
      DUMMY / 'folders', tmp_path_factory.mktemp('small'), shorter_side=SMALL_SIDE,
      jpeg_quality=85,
  )


def _report(builder: tfds.core.DatasetBuilder) -> report_lib.BuildReport:
  return report_lib.BuildReport.from_dict(builder.info.metadata['build_report'])


def _written(builder: tfds.core.DatasetBuilder) -> int:
  return sum(split.num_examples for split in builder.info.splits.values())


def test_default_config_is_first_and_keeps_originals():
  # `tfds build` without --config builds BUILDER_CONFIGS: only `default`.
  assert [c.name for c in imagenet_custom.Builder.BUILDER_CONFIGS] == ['default']
  configs = list(imagenet_custom.Builder.builder_configs.values())
  assert configs[0].name == 'default' and configs[0].shorter_side == 0
  assert [c.name for c in configs] == ['default', 's256']
  assert configs[1].shorter_side == 256 and configs[1].jpeg_quality == 90


def test_s256_keeps_the_small_dummy_images(s256, built, examples):
  default = built['folders']
  assert {k: v.num_examples for k, v in s256.info.splits.items()} == {
      k: v.num_examples for k, v in default.info.splits.items()
  }
  counts = _report(s256).counts
  assert counts[report_lib.RESIZE_KEPT] == _written(s256)
  assert counts[report_lib.RESIZED] == 0
  assert s256.info.metadata['resize'] == {
      'shorter_side': 256, 'kernel': 'PIL reduce + Lanczos (luma), box (chroma)',
      'jpeg_quality': 90,
  }
  # Nothing to shrink: the very bytes of the default build.
  stored = read_all(s256)
  assert {k: v.image for k, v in stored.items()} == {
      k: v.image for k, v in examples['folders'].items()
  }


def test_small_build_shrinks_every_image_and_keeps_labels_and_boxes(small, examples):
  originals = examples['folders']
  stored = read_all(small)
  assert stored.keys() == originals.keys()
  for name, example in stored.items():
    original = originals[name]
    assert (example.split, example.label) == (original.split, original.label), name
    np.testing.assert_array_equal(example.bboxes, original.bboxes, err_msg=name)
    decoded = Image.open(io.BytesIO(example.image))
    before = Image.open(io.BytesIO(original.image))
    assert decoded.format == 'JPEG' and decoded.mode == before.mode, name
    assert min(decoded.size) == SMALL_SIDE, name
    # The aspect ratio is kept to the rounding of the longer side.
    assert abs(
        max(decoded.size) - max(before.size) * SMALL_SIDE / min(before.size)
    ) <= 0.5, name
  counts = _report(small).counts
  assert counts[report_lib.RESIZED] == len(stored)
  assert counts[report_lib.RESIZED] + counts[report_lib.RESIZE_KEPT] == _written(small)
  assert 'shorter side: 65 images resized, 0 already small enough kept' in (
      _report(small).format()
  )
  assert small.info.metadata['resize']['jpeg_quality'] == 85


def test_default_build_has_no_resize_counts(built):
  report = _report(built['folders'])
  assert report.counts[report_lib.RESIZED] == 0
  assert report.counts[report_lib.RESIZE_KEPT] == 0
  assert 'shorter side' not in report.format()
  assert 'resize' not in built['folders'].info.metadata


def test_bad_resize_config_names_the_config(tmp_path: pathlib.Path):
  with pytest.raises(InputError, match="Config 'custom': jpeg_quality must be in 1..100"):
    build(DUMMY / 'folders', tmp_path, jpeg_quality=0)


def _load_example(name: str) -> types.ModuleType:
  """Imports `examples/<name>.py` as a module."""
  spec = importlib.util.spec_from_file_location(name, REPO / 'examples' / f'{name}.py')
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


@pytest.fixture(scope='module', name='training_dir')
def _training_dir(tmp_path_factory) -> pathlib.Path:
  """The dummy data built twice in one data dir: `default` and `s32`."""
  data_dir = tmp_path_factory.mktemp('resized_training')
  for config in (
      'default',
      imagenet_custom.ImagenetCustomConfig(name='s32', shorter_side=SMALL_SIDE),
  ):
    builder = imagenet_custom.Builder(data_dir=str(data_dir), config=config)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=str(DUMMY / 'folders')
        )
    )
  return data_dir


def test_a_model_learns_as_well_from_a_resized_build(training_dir):
  train_keras = _load_example('train_keras')
  settings = dict(
      data_dir=str(training_dir), steps=60, image_size=SMALL_SIDE, batch_size=16,
      seed=0,
  )
  originals = train_keras.train_and_test(**settings)
  resized = train_keras.train_and_test(**settings, config='s32')
  # Trained on the resized build, tested on the originals' centre crops.
  resized_on_originals = train_keras.train_and_test(
      **settings, config='s32', eval_config='default'
  )
  print(f'test accuracy: originals {originals:.3f}, s32 {resized:.3f},'
        f' s32 tested on originals {resized_on_originals:.3f}')
  # 6 classes (chance 1/6) and 21 test images: 0.1 is two images.
  assert originals >= 0.5
  assert resized >= originals - 0.1, (originals, resized)
  assert resized_on_originals >= originals - 0.1, (originals, resized_on_originals)


def test_beam_build_resizes_and_counts_like_the_plain_build(small, tmp_path: pathlib.Path):
  beam_built = build(
      DUMMY / 'folders', tmp_path, beam=True, shorter_side=SMALL_SIDE, jpeg_quality=85
  )
  plain, beam_stored = read_all(small), read_all(beam_built)
  assert {k: v.image for k, v in beam_stored.items()} == {
      k: v.image for k, v in plain.items()
  }
  counts = _report(beam_built).counts
  assert counts[report_lib.RESIZED] == len(beam_stored)
  assert beam_built.info.metadata['resize'] == small.info.metadata['resize']


def test_pipelines_read_the_named_config(training_dir):
  originals = tfds.load(
      'imagenet_custom/default', split='test', data_dir=str(training_dir),
      decoders={'image': tfds.decode.SkipDecoding()},
  )
  resized = tfds.load(
      'imagenet_custom/s32', split='test', data_dir=str(training_dir),
      decoders={'image': tfds.decode.SkipDecoding()},
  )
  labels = [int(example['label']) for example in resized]
  # Same images in the same order, smaller bytes.
  assert labels == [int(example['label']) for example in originals]
  assert sum(len(e['image'].numpy()) for e in resized) < sum(
      len(e['image'].numpy()) for e in originals
  )
  eval_batches = pipeline.load_eval(str(training_dir), 8, SMALL_SIDE, split='test', config='s32')
  assert np.concatenate([batch_labels.numpy() for _, batch_labels in eval_batches]).tolist() == labels
  # eval_dataset on a tfds.load result of the resized config: the same centre crop.
  first = next(iter(pipeline.eval_dataset(resized, 1, SMALL_SIDE)))[0].numpy()[0]
  expected = pipeline.preprocess_eval(next(iter(resized))['image'], SMALL_SIDE).numpy()
  np.testing.assert_array_equal(first, expected)
  # Any tfds.load result, both configs mixed: 42 images, 5 full batches.
  train = pipeline.train_dataset(
      resized.concatenate(originals), 8, SMALL_SIDE, seed=0, repeat=False
  )
  assert sum(int(images.shape[0]) for images, _ in train) == 40
  train = pipeline.load_train(
      str(training_dir), 8, SMALL_SIDE, seed=0, config='s32', repeat=False
  )
  assert sum(int(images.shape[0]) for images, _ in train) == 32
