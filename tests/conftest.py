"""Shared fixtures: builds of the dummy data, read back as plain Python."""

from __future__ import annotations

import json
import pathlib
from typing import Any, NamedTuple

import pytest
import tensorflow_datasets as tfds

import imagenet_custom
from imagenet_custom import metadata

REPO = pathlib.Path(__file__).resolve().parents[1]
DUMMY = REPO / 'dummy_data'
LAYOUTS = ('archives', 'kaggle', 'folders')


class Stored(NamedTuple):
  """One example as written."""

  split: str
  label: int
  bboxes: Any  # float32 [N, 4]
  image: bytes


def build(
    manual_dir: pathlib.Path | str,
    data_dir: pathlib.Path | str,
    file_format: str | None = None,
    beam: bool = False,
    **config: Any,
) -> tfds.core.DatasetBuilder:
  """Builds imagenet_custom in-process and returns the builder."""
  builder = imagenet_custom.Builder(
      data_dir=str(data_dir),
      config=(
          imagenet_custom.ImagenetCustomConfig(name='custom', **config)
          if config
          else 'default'
      ),
      file_format=file_format,
  )
  download_config = tfds.download.DownloadConfig(manual_dir=str(manual_dir))
  if beam:
    import apache_beam as beam  # pylint: disable=g-import-not-at-top

    download_config = tfds.download.DownloadConfig(
        manual_dir=str(manual_dir),
        beam_options=beam.options.pipeline_options.PipelineOptions(
            ['--runner=DirectRunner']
        ),
    )
  builder.download_and_prepare(download_config=download_config)
  return builder


def read_all(builder: tfds.core.DatasetBuilder) -> dict[str, Stored]:
  """Every example of every split by file name, image bytes undecoded."""
  stored = {}
  for split in builder.info.splits:
    dataset = builder.as_dataset(
        split=split, decoders={'image': tfds.decode.SkipDecoding()}
    )
    for example in tfds.as_numpy(dataset):
      name = example['file_name'].decode()
      assert name not in stored, f'{name} written twice'
      stored[name] = Stored(split, int(example['label']), example['bboxes'], example['image'])
  return stored


@pytest.fixture(scope='session')
def manifest() -> dict[str, Any]:
  return json.loads((DUMMY / 'manifest.json').read_text())


@pytest.fixture(scope='session')
def built(tmp_path_factory) -> dict[str, tfds.core.DatasetBuilder]:
  """Each layout of the dummy data, built once per test session."""
  return {
      layout: build(DUMMY / layout, tmp_path_factory.mktemp(f'built_{layout}'))
      for layout in LAYOUTS
  }


@pytest.fixture(scope='session')
def examples(built) -> dict[str, dict[str, Stored]]:
  return {layout: read_all(builder) for layout, builder in built.items()}


def label_of(wnid: str) -> int:
  return metadata.wnids().index(wnid)
