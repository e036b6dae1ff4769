"""The shards are the ones TFDS's writer would make: count, lengths, file names."""

from __future__ import annotations

import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core import naming
from tensorflow_datasets.core import writer as writer_lib
from tensorflow_datasets.core.utils import shard_utils

import imagenet_custom
from imagenet_custom.tfds_glue import shard_plan
from imagenet_custom.tfds_glue import tfds_patches


@pytest.mark.parametrize('file_format', ['tfrecord', 'array_record'])
@pytest.mark.parametrize('num_examples, total_size', [
    (1, 100),
    (65, 64 << 20),
    (1_281_167 * 4 // 5, 110_000 * 1_281_167 * 4 // 5),  # Full-scale train.
    (50_000, 6_400_000_000),
    (3, 5 << 30),  # Fewer examples than the size would want shards.
    (10_000, 200 << 30),  # More than 1,024 shards.
])
def test_shards_are_those_of_tfds_writer(tmp_path, file_format, num_examples, total_size):
  builder = imagenet_custom.Builder(
      data_dir=str(tmp_path), config='default', file_format=file_format
  )
  plan = shard_plan.planner(builder, tfds.download.DownloadConfig())
  layout = plan('train', num_examples, total_size)
  template = naming.ShardedFileTemplate(
      data_dir=builder.data_path, dataset_name=builder.name, split='train',
      filetype_suffix=builder.info.file_format.file_suffix,
  )
  specs = writer_lib._get_shard_specs(  # pylint: disable=protected-access
      num_examples=num_examples, total_size=total_size,
      bucket_lengths=[num_examples], filename_template=template,
      shard_config=shard_utils.ShardConfig(),
  )
  assert layout.paths == [spec.path for spec in specs]
  ends = [spec.examples_number for spec in specs]
  assert layout.boundaries == [sum(ends[: i + 1]) for i in range(len(ends))]


def test_the_download_configs_shard_count_is_used(tmp_path):
  builder = imagenet_custom.Builder(data_dir=str(tmp_path), config='default')
  plan = shard_plan.planner(builder, tfds.download.DownloadConfig(num_shards=3))
  layout = plan('test', 10, 1000)
  assert layout.boundaries == [3, 7, 10]
  assert [p.rsplit('/', 1)[1] for p in layout.paths] == [
      f'imagenet_custom-test.tfrecord-0000{i}-of-00003' for i in range(3)
  ]


@pytest.mark.parametrize('name', ['get_shard_boundaries'])
def test_a_tfds_without_the_shard_rule_names_it(monkeypatch, name):
  monkeypatch.delattr(shard_utils, name)
  with pytest.raises(tfds_patches.TfdsIncompatibleError, match=f"'shard_plan'.*{name}"):
    shard_plan.check_compatible()


def test_other_file_formats_are_refused_with_the_choices(tmp_path):
  builder = imagenet_custom.Builder(data_dir=str(tmp_path), config='default', file_format='parquet')
  with pytest.raises(ValueError, match='tfrecord or array_record'):
    shard_plan.file_format_name(builder)
