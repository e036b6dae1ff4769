"""Helpers shared by the tests: building the dummy data and reading it back.

Tests import these by name (`from builds import DUMMY, build`); the fixtures
that use them, built once per session, are in `conftest.py`.
"""

from __future__ import annotations

import pathlib
from typing import Any, NamedTuple

import tensorflow_datasets as tfds

import imagenet_custom
from imagenet_custom.ilsvrc import metadata

REPO = pathlib.Path(__file__).resolve().parents[1]
DUMMY = REPO / 'dummy_data'
LAYOUTS = ('archives', 'kaggle', 'folders')
# The dummy data's `folders/` layout: 41 train images in 6 separable classes,
# boxes on about half, grayscale and CMYK JPEGs among them.
DUMMY_FOLDERS = DUMMY / 'folders'
# Split sizes of the dummy data with the default 80/20 split.
SPLIT_SIZES = {'train': 32, 'validation': 9, 'test': 21, 'test_blacklisted': 3}
NUM_DUMMY_CLASSES = 6


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
  """Builds imagenet_custom in-process and returns the builder.

  Args:
    manual_dir: the input, one layout of ImageNet.
    data_dir: where the dataset is written.
    file_format: `tfrecord` (None, the default) or `array_record`.
    beam: build with Beam's DirectRunner instead of the plain build.
    **config: fields of `ImagenetCustomConfig`; none builds the `default` config.

  Returns:
    The builder, prepared.
  """
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
    import apache_beam  # pylint: disable=g-import-not-at-top

    download_config = tfds.download.DownloadConfig(
        manual_dir=str(manual_dir),
        beam_options=apache_beam.options.pipeline_options.PipelineOptions(
            ['--runner=DirectRunner']
        ),
    )
  builder.download_and_prepare(download_config=download_config)
  return builder


def read_all(builder: tfds.core.DatasetBuilder) -> dict[str, Stored]:
  """Every example of every split by file name, image bytes undecoded.

  Args:
    builder: a prepared builder.

  Returns:
    The examples by file name.
  """
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


def label_of(wnid: str) -> int:
  """The label index of a WNID (its position among the sorted 1,000)."""
  return metadata.wnids().index(wnid)


def build_training_data(base_dir: pathlib.Path, file_format: str) -> pathlib.Path:
  """Builds the dummy `folders/` layout in `file_format` under `base_dir`.

  The data dir is fixed by `base_dir` and `file_format`, and TFDS reuses a
  dataset that is already there, so calling this again with the same
  arguments returns at once with the same build.

  Args:
    base_dir: the test session's temp dir.
    file_format: `tfrecord` or `array_record`.

  Returns:
    The `data_dir` to pass to `tfds.load` / `tfds.data_source`.
  """
  data_dir = base_dir / f'training_{file_format}'
  builder = tfds.builder(
      'imagenet_custom', data_dir=str(data_dir), file_format=file_format
  )
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=str(DUMMY_FOLDERS))
  )
  return data_dir
