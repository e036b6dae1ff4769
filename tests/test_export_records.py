"""Tests of the export's TFRecord reader and writer and its Example decoder, against TensorFlow."""

from __future__ import annotations

import io
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from imagenet_custom.tools.export import records


def _example(**features: tf.train.Feature) -> bytes:
  return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def test_records_written_here_are_read_by_tensorflow(tmp_path: pathlib.Path):
  path = tmp_path / 'records'
  with open(path, 'wb') as stream:
    sizes = [records.write_record(stream, data) for data in (b'abc', b'', b'\x00' * 1000)]
  assert sizes == [19, 16, 1016]
  assert [r.numpy() for r in tf.data.TFRecordDataset(str(path))] == [b'abc', b'', b'\x00' * 1000]


def test_records_written_by_tensorflow_are_read_here_from_any_start(tmp_path: pathlib.Path):
  path = tmp_path / 'records'
  with tf.io.TFRecordWriter(str(path)) as writer:
    for index in range(5):
      writer.write(bytes([index]) * index)
  assert list(records.iter_tfrecord(str(path))) == [bytes([i]) * i for i in range(5)]
  assert list(records.iter_tfrecord(str(path), 2, 4)) == [b'\x02\x02', b'\x03\x03\x03']


@pytest.mark.parametrize('position, error', [(3, 'bad length checksum'), (14, 'bad data checksum'), (-2, 'bad data checksum')])
def test_a_corrupt_record_is_named(tmp_path: pathlib.Path, position: int, error: str):
  path = tmp_path / 'records'
  with tf.io.TFRecordWriter(str(path)) as writer:
    writer.write(b'payload')
  data = bytearray(path.read_bytes())
  data[position] ^= 0x01
  path.write_bytes(bytes(data))
  with pytest.raises(records.CorruptShardError, match=f'{path}: record 0 has a {error}'):
    list(records.iter_tfrecord(str(path)))


def test_a_truncated_file_is_an_error(tmp_path: pathlib.Path):
  path = tmp_path / 'records'
  stream = io.BytesIO()
  records.write_record(stream, b'payload')
  path.write_bytes(stream.getvalue()[:-1])
  with pytest.raises(records.CorruptShardError, match='truncated'):
    list(records.iter_tfrecord(str(path)))


def test_examples_decode_as_tensorflow_encodes_them():
  data = _example(
      image=tf.train.Feature(bytes_list=tf.train.BytesList(value=[b'\xff\xd8jpeg'])),
      file_name=tf.train.Feature(bytes_list=tf.train.BytesList(value=[b'n01440764_1.JPEG'])),
      label=tf.train.Feature(int64_list=tf.train.Int64List(value=[999])),
      bboxes=tf.train.Feature(float_list=tf.train.FloatList(value=[0.1, 0.2, 0.3, 0.4, 0.0, 0.5, 1.0, 0.75])),
      negative=tf.train.Feature(int64_list=tf.train.Int64List(value=[-3, 2**40])),
  )
  features = records.parse_example(data)
  assert features['negative'] == [-3, 2**40]
  stored = records.decode_stored(data, 'shard record 0')
  assert (stored.file_name, stored.label, stored.image) == ('n01440764_1.JPEG', 999, b'\xff\xd8jpeg')
  np.testing.assert_array_equal(
      stored.bboxes, np.array([[0.1, 0.2, 0.3, 0.4], [0.0, 0.5, 1.0, 0.75]], np.float32)
  )


def test_an_example_without_boxes_has_none_and_one_without_an_image_is_named():
  empty_boxes = _example(
      image=tf.train.Feature(bytes_list=tf.train.BytesList(value=[b'x'])),
      file_name=tf.train.Feature(bytes_list=tf.train.BytesList(value=[b'a.JPEG'])),
      label=tf.train.Feature(int64_list=tf.train.Int64List(value=[0])),
      bboxes=tf.train.Feature(float_list=tf.train.FloatList(value=[])),
  )
  assert records.decode_stored(empty_boxes, 's').bboxes.shape == (0, 4)
  no_image = _example(label=tf.train.Feature(int64_list=tf.train.Int64List(value=[0])))
  with pytest.raises(ValueError, match="shard 3 record 7: the example lacks feature 'image'"):
    records.decode_stored(no_image, 'shard 3 record 7')
