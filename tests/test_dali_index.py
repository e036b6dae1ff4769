"""Tests of the DALI index writer (`tfrecord2idx`'s format)."""

from __future__ import annotations

import pathlib

import pytest
import tensorflow as tf

from imagenet_custom.build import dali_index


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
