"""Datasets for the training-side tests, built once per test session.

Test modules define their session fixtures with `build_once`, e.g.

  @pytest.fixture(scope='session', name='data_dir')
  def _data_dir(tmp_path_factory):
    return conftest_training.build_once(tmp_path_factory, 'tfrecord')

The builds are cached in this module, so all those fixtures share one build
per file format of the dummy data's `folders/` layout (41 train images in 6
separable classes, boxes on about half, grayscale and CMYK JPEGs among them).
"""

from __future__ import annotations

import pathlib

import pytest
import tensorflow_datasets as tfds

import imagenet_custom  # noqa: F401  Registers the builder for tfds.builder.

REPO = pathlib.Path(__file__).resolve().parents[1]
DUMMY_FOLDERS = REPO / 'dummy_data' / 'folders'
# Split sizes of the dummy data with the default 80/20 split.
SPLIT_SIZES = {'train': 32, 'validation': 9, 'test': 21, 'test_blacklisted': 3}
NUM_DUMMY_CLASSES = 6

_BUILT: dict[str, pathlib.Path] = {}


def build_once(
    tmp_path_factory: pytest.TempPathFactory, file_format: str
) -> pathlib.Path:
  """Builds the dummy data in `file_format` the first time; returns its data dir.

  Args:
    tmp_path_factory: pytest's session temp dir factory.
    file_format: `tfrecord` or `array_record`.

  Returns:
    The `data_dir` to pass to `tfds.load` / `tfds.data_source`.
  """
  if file_format not in _BUILT:
    data_dir = tmp_path_factory.mktemp(f'training_{file_format}')
    builder = tfds.builder(
        'imagenet_custom', data_dir=str(data_dir), file_format=file_format
    )
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(DUMMY_FOLDERS))
    )
    _BUILT[file_format] = data_dir
  return _BUILT[file_format]

