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


def _canonical_example(boxes: list[float]) -> bytes:
  return _example(
      bboxes=tf.train.Feature(float_list=tf.train.FloatList(value=boxes)),
      file_name=tf.train.Feature(bytes_list=tf.train.BytesList(value=['n0_ü.JPEG'.encode()])),
      image=tf.train.Feature(bytes_list=tf.train.BytesList(value=[b'\xff\xd8' + bytes(range(256)) * 600])),
      label=tf.train.Feature(int64_list=tf.train.Int64List(value=[517])),
  )


def test_tensorflows_encoding_is_read_in_one_pass_without_the_general_parser(monkeypatch: pytest.MonkeyPatch):
  examples = [_canonical_example([]), _canonical_example([0.1, 0.2, 0.3, 0.4] * 3)]
  expected = [records.decode_stored(data, 's') for data in examples]

  def refuse(data: bytes) -> None:
    raise AssertionError('the general parser was called')

  monkeypatch.setattr(records, 'parse_example', refuse)
  for data, want in zip(examples, expected, strict=True):
    got = records.decode_stored(data, 's')
    assert (got.file_name, got.label, got.image) == ('n0_ü.JPEG', 517, want.image)
    assert len(got.image) == 2 + 256 * 600
    np.testing.assert_array_equal(got.bboxes, want.bboxes)
  assert records.decode_stored(examples[1], 's').bboxes.shape == (3, 4)


def _entry(key: bytes, feature: bytes) -> bytes:
  entry = b'\x0a' + bytes([len(key)]) + key + b'\x12' + bytes([len(feature)]) + feature
  return b'\x0a' + bytes([len(entry)]) + entry


def _message(*entries: bytes) -> bytes:
  features = b''.join(entries)
  return b'\x0a' + bytes([len(features)]) + features


_IMAGE = _entry(b'image', b'\x0a\x04\x0a\x02\xff\xd8')
_NAME = _entry(b'file_name', b'\x0a\x08\x0a\x06a.JPEG')
_LABEL = _entry(b'label', b'\x1a\x03\x0a\x01\x07')


@pytest.mark.parametrize('data', [
    # Floats unpacked: one field per value.
    _message(_entry(b'bboxes', b'\x12\x14' + b''.join(b'\x0d' + np.float32(v).tobytes() for v in (0.1, 0.2, 0.3, 0.4))),
             _NAME, _IMAGE, _LABEL),
    # An entry's value before its key.
    _message(_entry(b'bboxes', b'\x12\x00'), _NAME, _IMAGE, b"\x0a\x0e\x12\x05\x1a\x03\x0a\x01\x07\x0a\x05label"),
    # The label unpacked.
    _message(_entry(b'bboxes', b'\x12\x00'), _NAME, _IMAGE, _entry(b'label', b'\x1a\x02\x08\x07')),
], ids=['floats_unpacked', 'value_before_key', 'label_unpacked'])
def test_other_valid_encodings_are_left_to_the_general_parser(data: bytes):
  assert records._stored_canonical(data) is None  # pylint: disable=protected-access
  stored = records.decode_stored(data, 's')
  assert (stored.file_name, stored.label, stored.image) == ('a.JPEG', 7, b'\xff\xd8')
  if stored.bboxes.size:
    np.testing.assert_array_equal(stored.bboxes, np.array([[0.1, 0.2, 0.3, 0.4]], np.float32))


def test_record_buffers_are_the_record_of_the_joined_parts():
  parts = [(b'head', b'\x00' * 70_000, b'tail'), (b'', b'x', b''), (b'only',)]
  for record in parts:
    joined = io.BytesIO()
    records.write_record(joined, b''.join(record))
    buffers = records.record_buffers(record)
    assert b''.join(buffers) == joined.getvalue()
    assert any(buffer is record[0] for buffer in buffers)
