"""Tests of the DALI index writer (`tfrecord2idx`'s format)."""

from __future__ import annotations

import pathlib

import pytest
import tensorflow as tf

from imagenet_custom.build import dali_index

import builds


def _write(path: pathlib.Path, records: list[bytes]) -> None:
  with tf.io.TFRecordWriter(str(path)) as writer:
    for record in records:
      writer.write(record)


def test_one_line_per_record_offset_and_whole_size(tmp_path: pathlib.Path):
  path = tmp_path / 'records'
  _write(path, [b'x' * 10, b'', b'y' * 300])
  # 8-byte length + 4-byte CRC + data + 4-byte CRC.
  assert dali_index.index_text(str(path)) == '0 26\n26 16\n42 316\n'
  assert dali_index.write_index(str(path)) == str(path) + '.idx'
  assert (tmp_path / 'records.idx').read_bytes() == b'0 26\n26 16\n42 316\n'


def test_an_empty_file_has_an_empty_index(tmp_path: pathlib.Path):
  path = tmp_path / 'records'
  _write(path, [])
  assert dali_index.index_text(str(path)) == ''


@pytest.mark.parametrize('cut', [3, 20])  # Inside the last record's data; inside its length field.
def test_a_truncated_file_is_an_error(tmp_path: pathlib.Path, cut: int):
  path = tmp_path / 'records'
  _write(path, [b'x' * 10, b'z' * 10])
  path.write_bytes(path.read_bytes()[:-cut])
  with pytest.raises(ValueError, match='truncated|past the end of the file'):
    dali_index.index_text(str(path))


def test_the_build_writes_an_index_beside_every_shard_when_asked(tmp_path: pathlib.Path):
  builder = builds.build(builds.DUMMY_FOLDERS, tmp_path, dali_index=True)
  folder = pathlib.Path(builder.data_dir)
  shards = sorted(p for p in folder.glob('*.tfrecord-*') if p.suffix != '.idx')
  assert len(shards) == len(builds.SPLIT_SIZES)
  for shard in shards:
    index = (folder / (shard.name + '.idx')).read_text()
    offsets = [int(line.split()[0]) for line in index.splitlines()]
    sizes = [16 + len(r.numpy()) for r in tf.data.TFRecordDataset(str(shard))]
    assert index == dali_index.index_text(str(shard))
    assert offsets == [sum(sizes[:i]) for i in range(len(sizes))]
  # The dataset reads as without the indexes.
  assert builder.info.splits['train'].num_examples == builds.SPLIT_SIZES['train']
