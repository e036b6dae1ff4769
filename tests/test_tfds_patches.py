"""Tests for imagenet_custom.tfds_glue.tfds_patches, and that TFDS still fits them.

When a TFDS release changes an internal that a patch replaces, the first test
fails with the patch's name and the installed TFDS version.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_serializer
from tensorflow_datasets.core import file_adapters
from tensorflow_datasets.core import naming
from tensorflow_datasets.core import shuffle
from tensorflow_datasets.core import writer as writer_lib

from imagenet_custom.build import spill
from imagenet_custom.tfds_glue import tfds_patches


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
      tfds_patches.SERIALIZED_PASSTHROUGH,
      tfds_patches.SPILLED_SHUFFLE,
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


# serialized_passthrough: a record serialised by a worker reaches the shard.

_TEXT = tfds.features.FeaturesDict({'text': tfds.features.Text()})
_TEXT_FEATURES = example_serializer.ExampleSerializer(_TEXT.get_serialized_info())


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
    writer.write(
        key,
        example if isinstance(example, spill.Spilled) else _TEXT.encode_example(example),
    )
  writer.finalize()
  records: list[bytes] = []
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


def _spilled(
    tmp_path, records: dict[str, bytes], split: str = 'train', token: str = 'w0'
) -> list[tuple[str, spill.Spilled]]:
  """Spills records as one build worker would."""
  directory = tmp_path / 'spill'
  directory.mkdir(parents=True, exist_ok=True)
  writer = spill.SpillWriter(str(directory), split, token)
  return writer.write(list(records.items()))


def test_spilled_records_reach_the_shards_as_tfds_writes_bytes(tmp_path):
  # Enough examples for several buckets; TFDS writes the same shard bytes.
  records = {
      f'n01440764_{i}.JPEG': _TEXT_FEATURES.serialize_example({'text': f'image {i}'})
      for i in range(400)
  }
  with tfds_patches.serialized_passthrough():
    with tfds_patches.spilled_shuffle(str(tmp_path / 'build')) as spill_dir:
      spilled = spill.SpillWriter(spill_dir, 'train', 'w0').write(list(records.items()))
      written = _write(tmp_path / 'spilled', spilled)
      assert not list((tmp_path / 'build' / 'spill').iterdir())
  tfds_own = _write(tmp_path / 'tfds', [(k, {'text': tf.train.Example.FromString(v)
      .features.feature['text'].bytes_list.value[0].decode()}) for k, v in records.items()])
  assert written == tfds_own
  assert len(written) == 400


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


# spilled_shuffle: the shuffler takes spilled examples and reads them back.


def _shuffler_for(split: str) -> shuffle.Shuffler:
  return shuffle.Shuffler('/nonexistent', hash_salt=split)


def test_spilled_shuffle_replaces_the_shuffler_and_cleans_up(tmp_path):
  original = shuffle.Shuffler
  with pytest.raises(RuntimeError):
    with tfds_patches.spilled_shuffle(str(tmp_path)) as spill_dir:
      assert shuffle.Shuffler is not original
      assert spill_dir == str(tmp_path / 'spill')
      (tmp_path / 'spill' / 'left-over.spill').write_bytes(b'x')
      raise RuntimeError('a failed build')
  assert shuffle.Shuffler is original
  assert not (tmp_path / 'spill').exists()


def test_a_remote_build_dir_spills_to_a_local_temporary_dir():
  with tfds_patches.spilled_shuffle('gs://bucket/imagenet_custom') as spill_dir:
    assert '://' not in spill_dir
    assert spill.os.path.isdir(spill_dir)
  assert not spill.os.path.exists(spill_dir)


def test_a_key_hashed_differently_from_tfds_names_the_patch(tmp_path):
  (key, spilled), = _spilled(tmp_path, {'a.JPEG': b'data'}, split='test')
  with tfds_patches.spilled_shuffle(str(tmp_path)):
    shuffler = _shuffler_for('train')  # TFDS salts with another split.
    with pytest.raises(tfds_patches.TfdsIncompatibleError) as raised:
      shuffler.add(key, spilled)
  _assert_names_patch_and_version(raised.value, tfds_patches.SPILLED_SHUFFLE)
  assert "'a.JPEG'" in str(raised.value)


def test_a_duplicated_key_is_tfds_duplicate_error(tmp_path):
  # Two workers made an example of the same key.
  spilled = _spilled(tmp_path, {'a.JPEG': b'one'}, token='w0') + _spilled(
      tmp_path, {'a.JPEG': b'two'}, token='w1'
  )
  with tfds_patches.spilled_shuffle(str(tmp_path)):
    shuffler = _shuffler_for('train')
    for key, record in spilled:
      shuffler.add(key, record)
    with pytest.raises(shuffle.DuplicatedKeysError):
      list(shuffler)


def test_spilled_and_in_memory_examples_do_not_mix(tmp_path):
  (key, spilled), = _spilled(tmp_path, {'a.JPEG': b'data'})
  with tfds_patches.spilled_shuffle(str(tmp_path)):
    shuffler = _shuffler_for('train')
    shuffler.add('b.JPEG', b'bytes')
    with pytest.raises(AssertionError, match='mixed'):
      shuffler.add(key, spilled)


def test_bytes_still_go_through_tfds_shuffler(tmp_path):
  with tfds_patches.spilled_shuffle(str(tmp_path)):
    shuffler = shuffle.Shuffler(tmp_path, hash_salt='train')
    for i in range(5):
      shuffler.add(f'k{i}', bytes([i]))
    assert shuffler.num_examples == 5
    assert sorted(data for _, data in shuffler) == [bytes([i]) for i in range(5)]


@pytest.mark.parametrize('name', ['size', 'num_examples', 'bucket_lengths'])
def test_a_missing_shuffler_property_names_the_spill_patch(monkeypatch, name):
  monkeypatch.delattr(shuffle.Shuffler, name)
  with pytest.raises(tfds_patches.TfdsIncompatibleError) as raised:
    tfds_patches.check_compatible()
  _assert_names_patch_and_version(raised.value, tfds_patches.SPILLED_SHUFFLE)
  assert name in str(raised.value)


def test_a_shuffler_without_its_state_names_the_spill_patch(monkeypatch):
  def __init__(self, dirpath, hash_salt, disable_shuffling=False, ignore_duplicates=False):
    del self, dirpath, hash_salt, disable_shuffling, ignore_duplicates

  monkeypatch.setattr(shuffle.Shuffler, '__init__', __init__)
  with pytest.raises(tfds_patches.TfdsIncompatibleError) as raised:
    tfds_patches.check_compatible()
  _assert_names_patch_and_version(raised.value, tfds_patches.SPILLED_SHUFFLE)
  assert '_hasher' in str(raised.value)


def test_a_writer_not_making_shuffle_shuffler_names_the_spill_patch(monkeypatch):
  def __init__(self, *args, **kwargs):
    del self, args, kwargs

  monkeypatch.setattr(writer_lib.Writer, '__init__', __init__)
  with pytest.raises(tfds_patches.TfdsIncompatibleError) as raised:
    tfds_patches.check_compatible()
  _assert_names_patch_and_version(raised.value, tfds_patches.SPILLED_SHUFFLE)
  assert 'shuffle.Shuffler(...)' in str(raised.value)


def test_a_tfds_without_the_shuffler_fails_with_the_patch_error_not_at_import(monkeypatch):
  import importlib  # pylint: disable=g-import-not-at-top

  monkeypatch.delattr(shuffle, 'Shuffler')
  importlib.reload(tfds_patches)  # The module imports without it.
  with pytest.raises(tfds_patches.TfdsIncompatibleError) as raised:
    tfds_patches.check_compatible()
  _assert_names_patch_and_version(raised.value, tfds_patches.SPILLED_SHUFFLE)
  monkeypatch.undo()
  importlib.reload(tfds_patches)
