"""Tests for imagenet_custom.tfds_patches, and that TFDS still fits them.

When a TFDS release changes an internal that a patch replaces, the first test
fails with the patch's name and the installed TFDS version.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow_datasets as tfds
import tensorflow as tf
from tensorflow_datasets.core import example_serializer
from tensorflow_datasets.core import file_adapters
from tensorflow_datasets.core import naming
from tensorflow_datasets.core import shuffle
from tensorflow_datasets.core import writer as writer_lib

from imagenet_custom import tfds_patches


def test_installed_tfds_has_what_every_patch_relies_on():
  for patch, check in tfds_patches.CHECKS.items():
    try:
      check()
    except tfds_patches.TfdsIncompatibleError as e:
      pytest.fail(f'TFDS {tfds.__version__} breaks patch {patch!r}: {e}')
  tfds_patches.check_compatible()


def test_every_patch_has_a_check():
  assert set(tfds_patches.CHECKS) == {
      tfds_patches.DETERMINISTIC_SERIALIZATION,
      tfds_patches.BOUNDED_SHUFFLE_BUFFER,
      tfds_patches.SERIALIZED_PASSTHROUGH,
      tfds_patches.RELEASED_BUCKET_WRITES,
  }


def _assert_names_patch_and_version(error: Exception, patch: str) -> None:
  message = str(error)
  assert f'patch {patch!r}' in message
  assert f'TFDS {tfds.__version__}' in message
  assert f'written for TFDS {tfds_patches.WRITTEN_FOR_TFDS}' in message


def test_missing_get_tf_example_names_the_serialization_patch(monkeypatch):
  monkeypatch.delattr(example_serializer.ExampleSerializer, 'get_tf_example')
  with pytest.raises(tfds_patches.TfdsIncompatibleError) as raised:
    tfds_patches.check_compatible()
  _assert_names_patch_and_version(raised.value, 'deterministic_serialization')
  assert 'ExampleSerializer.get_tf_example' in str(raised.value)


def test_changed_serialize_signature_names_the_serialization_patch(monkeypatch):
  def serialize_example(self, values):
    del self, values

  monkeypatch.setattr(
      example_serializer.ExampleSerializer, 'serialize_example', serialize_example
  )
  with pytest.raises(tfds_patches.TfdsIncompatibleError) as raised:
    tfds_patches.check_compatible()
  _assert_names_patch_and_version(raised.value, 'deterministic_serialization')
  assert 'now takes (self, values)' in str(raised.value)


def test_missing_buffer_size_names_the_shuffle_patch(monkeypatch):
  monkeypatch.delattr(shuffle, 'MAX_MEM_BUFFER_SIZE')
  with pytest.raises(tfds_patches.TfdsIncompatibleError) as raised:
    tfds_patches.check_compatible()
  _assert_names_patch_and_version(raised.value, 'bounded_shuffle_buffer')


def test_shuffler_not_reading_the_buffer_size_names_the_shuffle_patch(monkeypatch):
  class Shuffler:
    def add(self, key, data):
      del key, data

  monkeypatch.setattr(shuffle, 'Shuffler', Shuffler)
  with pytest.raises(tfds_patches.TfdsIncompatibleError) as raised:
    tfds_patches.check_compatible()
  _assert_names_patch_and_version(raised.value, 'bounded_shuffle_buffer')
  assert 'Shuffler reading MAX_MEM_BUFFER_SIZE' in str(raised.value)


def _serializer() -> example_serializer.ExampleSerializer:
  features = tfds.features.FeaturesDict({
      'label': tfds.features.ClassLabel(num_classes=3),
      'file_name': tfds.features.Text(),
      'score': tfds.features.Tensor(shape=(2,), dtype=np.float32),
  })
  return example_serializer.ExampleSerializer(features.get_serialized_info())


def test_deterministic_serialization_sorts_the_feature_map_and_restores():
  serializer = _serializer()
  example = {'label': 2, 'file_name': 'a.JPEG', 'score': np.array([1, 2], np.float32)}
  original = example_serializer.ExampleSerializer.serialize_example
  with tfds_patches.deterministic_serialization():
    written = serializer.serialize_example(example=example)
  assert example_serializer.ExampleSerializer.serialize_example is original
  expected = serializer.get_tf_example(example)
  assert written == expected.SerializeToString(deterministic=True)
  # The same proto as TFDS's own serialisation, only the byte order fixed.
  assert type(expected).FromString(written) == type(expected).FromString(
      serializer.serialize_example(example)
  )


def test_bounded_shuffle_buffer_sets_the_limit_and_restores():
  original = shuffle.MAX_MEM_BUFFER_SIZE
  with tfds_patches.bounded_shuffle_buffer(12345):
    assert shuffle.MAX_MEM_BUFFER_SIZE == 12345
  assert shuffle.MAX_MEM_BUFFER_SIZE == original
  with tfds_patches.bounded_shuffle_buffer():
    assert shuffle.MAX_MEM_BUFFER_SIZE == tfds_patches.SHUFFLE_BUFFER_BYTES == 200 << 20
  assert shuffle.MAX_MEM_BUFFER_SIZE == original


def test_bounded_buffer_makes_the_shuffler_spill(tmp_path):
  # The patch works only if the shuffler reads the module global when adding.
  with tfds_patches.bounded_shuffle_buffer(100):
    shuffler = shuffle.Shuffler(tmp_path, hash_salt='x')
    for key in range(5):
      shuffler.add(key, b'x' * 40)
    in_memory = shuffler._in_memory  # pylint: disable=protected-access
  assert not in_memory
  assert sorted(data for _, data in shuffler) == [b'x' * 40] * 5


# serialized_passthrough: a record serialised by a worker reaches the shard.

_TEXT = tfds.features.FeaturesDict({'text': tfds.features.Text()})


def _write(tmp_path, examples) -> list[bytes]:
  """Writes `(key, example)` the way TFDS's plain split builder does."""
  tmp_path.mkdir(parents=True, exist_ok=True)
  writer = writer_lib.Writer(
      serializer=example_serializer.ExampleSerializer(_TEXT.get_serialized_info()),
      filename_template=naming.ShardedFileTemplate(
          data_dir=tmp_path, dataset_name='pinned', split='train',
          filetype_suffix='tfrecord',
      ),
      hash_salt='train',
      disable_shuffling=False,
      example_writer=writer_lib.ExampleWriter(file_adapters.FileFormat.TFRECORD),
  )
  for key, example in examples:
    writer.write(key, _TEXT.encode_example(example))
  writer.finalize()
  records = []
  for path in sorted(tmp_path.glob('pinned-train.tfrecord*')):
    records.extend(r.numpy() for r in tf.data.TFRecordDataset(str(path)))
  return records


@pytest.mark.parametrize('owner, name', [
    (example_serializer.ExampleSerializer, 'serialize_example'),
    (tfds.features.FeaturesDict, 'encode_example'),
])
def test_a_missing_internal_names_the_passthrough_patch(monkeypatch, owner, name):
  monkeypatch.delattr(owner, name)
  with pytest.raises(tfds_patches.TfdsIncompatibleError) as error:
    tfds_patches.check_compatible()
  assert name in str(error.value)
  _assert_names_patch_and_version(error.value, tfds_patches.SERIALIZED_PASSTHROUGH)


def test_serialized_records_reach_the_shard_byte_for_byte(tmp_path):
  records = {f'key{i}': b'\x0a\x00' + bytes([i]) for i in range(5)}
  with tfds_patches.serialized_passthrough():
    written = _write(
        tmp_path, [(k, tfds_patches.Serialized(v)) for k, v in records.items()]
    )
  assert sorted(written) == sorted(records.values())


def test_other_examples_are_still_encoded_by_tfds(tmp_path):
  with tfds_patches.serialized_passthrough():
    inside = _write(tmp_path / 'inside', [('a', {'text': 'hello'})])
  outside = _write(tmp_path / 'outside', [('a', {'text': 'hello'})])
  assert inside == outside
  parsed = tf.train.Example.FromString(inside[0])
  assert parsed.features.feature['text'].bytes_list.value == [b'hello']


def test_the_passthrough_is_undone_on_exit():
  encode = tfds.features.FeaturesDict.encode_example
  serialize = example_serializer.ExampleSerializer.serialize_example
  with pytest.raises(RuntimeError):
    with tfds_patches.serialized_passthrough():
      raise RuntimeError('a failed build')
  assert tfds.features.FeaturesDict.encode_example is encode
  assert example_serializer.ExampleSerializer.serialize_example is serialize


# released_bucket_writes: spill files TFDS reads back as its own.


def _spilled(tmp_path, records: dict[str, bytes]) -> list[tuple[int, bytes]]:
  with tfds_patches.bounded_shuffle_buffer(10):
    shuffler = shuffle.Shuffler(tmp_path, hash_salt='split')
    for key, data in records.items():
      shuffler.add(key, data)
    assert not shuffler._in_memory  # pylint: disable=protected-access
  return list(shuffler)


def test_bucket_files_written_by_python_read_back_as_tfds_wrote_them(tmp_path):
  records = {f'n01440764_{i}.JPEG': bytes([i % 256]) * (i * 997 % 70_000) for i in range(300)}
  with tfds_patches.released_bucket_writes():
    patched = _spilled(tmp_path / 'patched', records)
  tfds_own = _spilled(tmp_path / 'tfds', records)
  assert patched == tfds_own
  assert len(patched) == 300
  assert sorted(data for _, data in patched) == sorted(records.values())


def test_bucket_add_is_restored():
  original = shuffle._Bucket.add  # pylint: disable=protected-access
  with tfds_patches.released_bucket_writes():
    assert shuffle._Bucket.add is not original  # pylint: disable=protected-access
  assert shuffle._Bucket.add is original  # pylint: disable=protected-access


def test_changed_bucket_format_names_the_bucket_patch(monkeypatch):
  monkeypatch.setattr(shuffle, 'HKEY_SIZE_BYTES', 32)
  with pytest.raises(tfds_patches.TfdsIncompatibleError) as error:
    tfds_patches.check_compatible()
  _assert_names_patch_and_version(error.value, tfds_patches.RELEASED_BUCKET_WRITES)


def test_missing_bucket_names_the_bucket_patch(monkeypatch):
  monkeypatch.delattr(shuffle, '_Bucket')
  with pytest.raises(tfds_patches.TfdsIncompatibleError) as error:
    tfds_patches.check_compatible()
  _assert_names_patch_and_version(error.value, tfds_patches.RELEASED_BUCKET_WRITES)
