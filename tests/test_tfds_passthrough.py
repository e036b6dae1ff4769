"""The TFDS patch that lets pre-serialised examples through: pinned to TFDS.

If a TFDS release changes what `tfds_passthrough` relies on, these tests fail
with the patch's name, before a build could write a wrong dataset.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_serializer
from tensorflow_datasets.core import file_adapters
from tensorflow_datasets.core import naming
from tensorflow_datasets.core import writer as writer_lib
import pytest

from imagenet_custom import tfds_passthrough

FEATURES = tfds.features.FeaturesDict({'text': tfds.features.Text()})


def _write(tmp_path, examples) -> list[bytes]:
  """Writes `(key, example)` the way TFDS's plain split builder does."""
  tmp_path.mkdir(parents=True, exist_ok=True)
  writer = writer_lib.Writer(
      serializer=example_serializer.ExampleSerializer(FEATURES.get_serialized_info()),
      filename_template=naming.ShardedFileTemplate(
          data_dir=tmp_path, dataset_name='pinned', split='train',
          filetype_suffix='tfrecord',
      ),
      hash_salt='train',
      disable_shuffling=False,
      example_writer=writer_lib.ExampleWriter(file_adapters.FileFormat.TFRECORD),
  )
  for key, example in examples:
    writer.write(key, FEATURES.encode_example(example))
  writer.finalize()
  records = []
  for path in sorted(tmp_path.glob('pinned-train.tfrecord*')):
    records.extend(r.numpy() for r in tf.data.TFRecordDataset(str(path)))
  return records


def test_installed_tfds_is_compatible():
  tfds_passthrough.check_compatible()


@pytest.mark.parametrize('owner, name', [
    (example_serializer.ExampleSerializer, 'serialize_example'),
    (tfds.features.FeaturesDict, 'encode_example'),
])
def test_a_missing_internal_names_the_patch(monkeypatch, owner, name):
  monkeypatch.delattr(owner, name)
  with pytest.raises(tfds_passthrough.IncompatibleTfdsError) as error:
    tfds_passthrough.check_compatible()
  assert tfds_passthrough.PATCH_NAME in str(error.value)
  assert f'TFDS {tfds.__version__}' in str(error.value)
  assert name in str(error.value)


def test_serialized_records_reach_the_shard_byte_for_byte(tmp_path):
  records = {f'key{i}': tfds_passthrough.Serialized(b'\x0a\x00' + bytes([i])) for i in range(5)}
  with tfds_passthrough.passthrough():
    written = _write(tmp_path, records.items())
  assert sorted(written) == sorted(records.values())


def test_other_examples_are_still_encoded_by_tfds(tmp_path):
  with tfds_passthrough.passthrough():
    inside = _write(tmp_path / 'inside', [('a', {'text': 'hello'})])
  outside = _write(tmp_path / 'outside', [('a', {'text': 'hello'})])
  assert inside == outside
  parsed = tf.train.Example.FromString(inside[0])
  assert parsed.features.feature['text'].bytes_list.value == [b'hello']


def test_the_patch_is_undone_on_exit():
  encode = tfds.features.FeaturesDict.encode_example
  serialize = example_serializer.ExampleSerializer.serialize_example
  with pytest.raises(RuntimeError):
    with tfds_passthrough.passthrough():
      raise RuntimeError('a failed build')
  assert tfds.features.FeaturesDict.encode_example is encode
  assert example_serializer.ExampleSerializer.serialize_example is serialize
