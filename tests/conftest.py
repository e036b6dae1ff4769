"""Session fixtures: builds of the dummy data, each made once per test session.

The helpers they use, and that tests import, are in `builds.py`.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
import tensorflow_datasets as tfds

import builds


@pytest.fixture(scope='session')
def manifest() -> dict[str, Any]:
  """The dummy data's manifest: what each image is and where it goes."""
  return json.loads((builds.DUMMY / 'manifest.json').read_text())


@pytest.fixture(scope='session')
def built(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tfds.core.DatasetBuilder]:
  """Each layout of the dummy data, built with the default config."""
  return {
      layout: builds.build(
          builds.DUMMY / layout, tmp_path_factory.mktemp(f'built_{layout}')
      )
      for layout in builds.LAYOUTS
  }


@pytest.fixture(scope='session')
def examples(
    built: dict[str, tfds.core.DatasetBuilder],
) -> dict[str, dict[str, builds.Stored]]:
  """Every example of each layout's build, by file name."""
  return {layout: builds.read_all(builder) for layout, builder in built.items()}


@pytest.fixture(scope='session')
def training_tfrecord_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
  """The data dir of the dummy `folders/` layout built as TFRecord."""
  return builds.build_training_data(tmp_path_factory.getbasetemp(), 'tfrecord')


@pytest.fixture(scope='session')
def training_array_record_dir(
    tmp_path_factory: pytest.TempPathFactory,
) -> pathlib.Path:
  """The data dir of the dummy `folders/` layout built as ArrayRecord."""
  return builds.build_training_data(tmp_path_factory.getbasetemp(), 'array_record')
