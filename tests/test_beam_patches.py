"""Beam engines beyond the DirectRunner build the same dataset as the plain build.

Dask: `imagenet_custom.build.beam_patches.DaskRunner` on a local `dask.distributed`
cluster (worker processes). FnApiRunner: Beam's portable engine with two SDK
worker processes (`direct_running_mode=multi_processing`).
"""

from __future__ import annotations

from collections.abc import Iterator
import pathlib
from typing import Any

import apache_beam as beam
from apache_beam.testing import util as beam_testing
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import imagenet_custom
from imagenet_custom.build import beam_patches

from builds import build
from builds import DUMMY
from builds import read_all

FNAPI_MULTIPROCESS = [
    '--runner=FnApiRunner', '--direct_num_workers=2', '--direct_running_mode=multi_processing',
]


def shard_records(builder: tfds.core.DatasetBuilder, split: str) -> list[bytes]:
  """A split's records in file order, re-serialised with sorted feature maps."""
  records = []
  for path in sorted(pathlib.Path(builder.data_dir).glob(f'*-{split}.tfrecord-*')):
    for record in tf.data.TFRecordDataset(str(path)):
      example = tf.train.Example.FromString(record.numpy())
      records.append(example.SerializeToString(deterministic=True))
  return records


def build_on(runner_args: list[str], data_dir: pathlib.Path) -> tfds.core.DatasetBuilder:
  """Builds the dummy archives with Beam on the runner `runner_args` names."""
  builder = imagenet_custom.Builder(data_dir=str(data_dir))
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(
          manual_dir=str(DUMMY / 'archives'),
          beam_options=beam.options.pipeline_options.PipelineOptions(runner_args),
      )
  )
  return builder


@pytest.fixture(scope='module')
def dask_cluster() -> Iterator[str]:
  """A local `dask.distributed` cluster of two worker processes; its address."""
  import dask.distributed  # pylint: disable=g-import-not-at-top

  with dask.distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
    yield cluster.scheduler_address


@pytest.fixture(scope='module')
def runners(dask_cluster) -> dict[str, list[str]]:
  return {
      'dask': [
          '--runner=imagenet_custom.build.beam_patches.DaskRunner',
          f'--dask_client_address={dask_cluster}',
      ],
      'fnapi_multiprocess': FNAPI_MULTIPROCESS,
  }


@pytest.fixture(scope='module')
def plain(tmp_path_factory) -> tfds.core.DatasetBuilder:
  return build(DUMMY / 'archives', tmp_path_factory.mktemp('plain'))


@pytest.mark.parametrize('runner', ['dask', 'fnapi_multiprocess'])
def test_runner_writes_the_plain_builds_examples(runner, runners, plain, tmp_path):
  builder = build_on(runners[runner], tmp_path)
  expected = read_all(plain)
  written = read_all(builder)
  assert written.keys() == expected.keys()
  for name, example in expected.items():
    other = written[name]
    assert (other.split, other.label, other.image) == (example.split, example.label, example.image), name
    assert other.bboxes.tobytes() == example.bboxes.tobytes(), name
  assert {s: i.num_examples for s, i in builder.info.splits.items()} == {
      s: i.num_examples for s, i in plain.info.splits.items()
  }
  # Same records in the same shards and order; only the feature map's byte
  # order may differ (Beam workers serialise without tfds_patches.deterministic_serialization).
  for split in plain.info.splits:
    assert shard_records(builder, split) == shard_records(plain, split), split
  # The workers' counts come back as metrics: the same report as the plain build.
  report: dict[str, Any] = builder.info.metadata['build_report']
  assert report['balanced'] is True
  assert report['counts'] == plain.info.metadata['build_report']['counts']
  assert report['counts']['train_images_read'] == 41


def test_beam_internals_are_the_ones_the_patch_was_written_for():
  beam_patches.check_beam_internals()


def test_changed_beam_fails_naming_the_patch(monkeypatch):
  monkeypatch.setattr(beam_patches, 'BEAM_VERSION', '0.0.0')
  with pytest.raises(beam_patches.BeamInternalsChanged, match=r'imagenet_custom\.build\.beam_patches\.DaskRunner was written against apache-beam 0\.0\.0: apache-beam is 2\.77\.0'):
    beam_patches.check_beam_internals()


def test_top_per_bundle_survives_finish_bundle(runners):
  """Beam's own DaskRunner drops finish_bundle outputs: Top.Largest(1) is []."""
  options = beam.options.pipeline_options.PipelineOptions(runners['dask'])
  with beam.Pipeline(options=options) as pipeline:
    numbers = pipeline | beam.Create(list(range(20)))
    largest = numbers | beam.combiners.Top.Largest(1)
    checked = numbers | beam.Map(
        lambda n, top: (n, top), top=beam.pvalue.AsSingleton(largest)
    )
    beam_testing.assert_that(
        checked, beam_testing.equal_to([(n, [19]) for n in range(20)])
    )
