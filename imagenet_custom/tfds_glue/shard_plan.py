"""A split's shards by TFDS's own rule, and its `SplitInfo` once written.

The workers write the shards (`build.shard_writer`); what they write is
decided here with TFDS's functions, so that the dataset is the one TFDS's
writer would make: the shard count (`ShardConfig.get_number_shards`, with the
download config's shard options), the examples per shard
(`shard_utils.get_shard_boundaries`) and the file names (the builder's
`ShardedFileTemplate`). TFDS 4.9.10's `writer.Writer.finalize` decides them
with the same calls; `check_compatible` checks that they are still there.
"""

from __future__ import annotations

import os

import tensorflow_datasets as tfds
from tensorflow_datasets.core.utils import shard_utils

from imagenet_custom.build import shard_writer
from imagenet_custom.build import split_engine
from imagenet_custom.tfds_glue import tfds_patches

# What the plan relies on, for `check_compatible`.
_RELIED_ON = 'shard_plan'


def check_compatible() -> None:
  """Checks that TFDS still decides shards with the functions used here.

  Raises:
    tfds_patches.TfdsIncompatibleError: one is gone.
  """
  config = getattr(shard_utils, 'ShardConfig', None)
  if not callable(getattr(config, 'get_number_shards', None)):
    raise tfds_patches.TfdsIncompatibleError(
        _RELIED_ON, 'shard_utils.ShardConfig.get_number_shards, which is gone'
    )
  if not callable(getattr(shard_utils, 'get_shard_boundaries', None)):
    raise tfds_patches.TfdsIncompatibleError(
        _RELIED_ON, 'shard_utils.get_shard_boundaries, which is gone'
    )


def file_format_name(builder: tfds.core.DatasetBuilder) -> str:
  """The workers' name of the builder's file format.

  Raises:
    ValueError: a format the workers cannot write.
  """
  name = builder.info.file_format.value
  if name not in (shard_writer.TFRECORD, shard_writer.ARRAY_RECORD):
    raise ValueError(
        f'imagenet_custom writes {shard_writer.TFRECORD} or'
        f' {shard_writer.ARRAY_RECORD} shards, not {name!r}: build with'
        ' --file_format=tfrecord or --file_format=array_record.'
    )
  return name


def planner(
    builder: tfds.core.DatasetBuilder,
    download_config: tfds.download.DownloadConfig,
) -> split_engine.ShardPlanner:
  """Decides a split's shards as TFDS's writer would, in `builder`'s directory."""
  shard_config = download_config.get_shard_config()

  def plan(split: str, num_examples: int, total_size: int) -> split_engine.ShardLayout:
    num_shards = shard_config.get_number_shards(total_size, num_examples)
    template = _template(builder, split)
    return split_engine.ShardLayout(
        [
            os.fspath(template.sharded_filepath(shard_index=i, num_shards=num_shards))
            for i in range(num_shards)
        ],
        list(shard_utils.get_shard_boundaries(num_examples, num_shards)),
    )

  return plan


def _template(builder: tfds.core.DatasetBuilder, split: str) -> tfds.core.ShardedFileTemplate:
  """The builder's file names for a split, as TFDS's builder makes them."""
  return tfds.core.ShardedFileTemplate(
      data_dir=builder.data_path,
      dataset_name=builder.name,
      split=split,
      filetype_suffix=builder.info.file_format.file_suffix,
  )


def split_dict(
    builder: tfds.core.DatasetBuilder,
    written: list[split_engine.SplitWritten],
) -> tfds.core.SplitDict:
  """The `SplitDict` to give `builder.info.set_splits` for the splits written."""
  return tfds.core.SplitDict([
      tfds.core.SplitInfo(
          name=split.name,
          shard_lengths=split.shard_lengths,
          num_bytes=split.num_bytes,
          filename_template=_template(builder, split.name),
      )
      for split in written
  ])
