"""Shards written by the workers: TFRecord and ArrayRecord bytes as TFDS writes them."""

from __future__ import annotations

import os
import pathlib
import random
import resource

import pytest
import tensorflow as tf
from tensorflow_datasets.core import file_adapters

from imagenet_custom.build import shard_writer
from imagenet_custom.build import spill


@pytest.mark.parametrize('seed', range(5))
def test_shard_slices_cover_each_shard_range_in_bucket_order(seed):
  rng = random.Random(seed)
  lengths = [rng.choice([0, 0, 1, 3, 17]) for _ in range(200)]
  total = sum(lengths)
  shards = rng.randint(1, min(total, 9))
  boundaries = [round(total * i / shards) for i in range(1, shards + 1)]
  # Example `i` of the split is example `i - start` of its bucket.
  positions = [(b, k) for b, n in enumerate(lengths) for k in range(n)]
  start = 0
  for end, pieces in zip(boundaries, shard_writer.shard_slices(boundaries, lengths), strict=True):
    expanded = [(b, skip + k) for b, skip, take in pieces for k in range(take)]
    assert expanded == positions[start:end]
    assert all(take > 0 for _, _, take in pieces)
    start = end


@pytest.mark.parametrize('record', [b'', b'x', bytes(range(256)) * 300])
def test_tfrecord_framing_is_tensorflows(tmp_path, record):
  ours = tmp_path / 'ours'
  out = shard_writer._TfRecordFile(str(ours))  # pylint: disable=protected-access
  out.write(record)
  out.write(record + b'2')
  out.close()
  theirs = tmp_path / 'theirs'
  with tf.io.TFRecordWriter(str(theirs)) as writer:
    writer.write(record)
    writer.write(record + b'2')
  assert ours.read_bytes() == theirs.read_bytes()


def _spilled_split(tmp_path: pathlib.Path, count: int) -> tuple[spill.SpillIndex, dict[int, bytes]]:
  """A split of `count` examples spilled by two workers, half of them in place."""
  directory = tmp_path / 'spill'
  directory.mkdir()
  images = tmp_path / 'images.bin'
  images.write_bytes(b''.join(bytes([i % 256]) * 50 for i in range(count)))
  index, expected = spill.SpillIndex(), {}
  for token in ('w0', 'w1'):
    writer = spill.SpillWriter(str(directory), 'train', token)
    records: list[tuple[str, spill.Record]] = []
    for i in range(count)[token == 'w1'::2]:
      key = f'n01440764_{i}.JPEG'
      image = bytes([i % 256]) * 50
      expected[spill.hash_key('train', key)] = b'<' + image + b'>'
      record = (
          spill.InPlace(b'<', b'>', str(images), 50 * i, 50) if i % 2
          else b'<' + image + b'>'
      )
      records.append((key, record))
    for _, spilled in writer.write(records):
      index.add(spilled)
    writer.close()
  return index, expected


def _tasks(index: spill.SpillIndex, out: pathlib.Path, file_format: str, shards: int):
  boundaries = [round(index.count * i / shards) for i in range(1, shards + 1)]
  lengths = index.bucket_lengths
  return [
      shard_writer.WriteShard('train', str(out / f'shard-{n}'), file_format, tuple(
          shard_writer.BucketSlice(index.bucket_files(b), skip, take, take == lengths[b])
          for b, skip, take in pieces
      ))
      for n, pieces in enumerate(shard_writer.shard_slices(boundaries, lengths))
  ]


def test_shards_hold_the_examples_in_hash_order_and_whole_buckets_are_deleted(tmp_path):
  index, expected = _spilled_split(tmp_path, 120)
  out = tmp_path / 'out'
  out.mkdir()
  tasks = _tasks(index, out, shard_writer.TFRECORD, 3)
  written = [task(None, print) for task in tasks]
  assert [w.num_examples for w in written] == [40, 40, 40]
  assert [w.file_size for w in written] == [os.path.getsize(w.path) for w in written]
  records = [
      r.numpy() for w in written for r in tf.data.TFRecordDataset(w.path)
  ]
  assert records == [expected[h] for h in sorted(expected)]
  # Only the files of buckets split between two shards stay, for the parent.
  shared = {
      path for task in tasks for piece in task.buckets if not piece.whole
      for path, _ in piece.files
  }
  assert {path for path in index.paths() if os.path.exists(path)} == shared


def test_array_record_shards_are_tfds_adapters_bytes(tmp_path):
  index, expected = _spilled_split(tmp_path, 30)
  out = tmp_path / 'out'
  out.mkdir()
  [task] = _tasks(index, out, shard_writer.ARRAY_RECORD, 1)
  task(None, print)
  theirs = tmp_path / 'theirs.array_record'
  file_adapters.ArrayRecordFileAdapter.write_examples(
      theirs, [(h, expected[h]) for h in sorted(expected)]
  )
  assert (out / 'shard-0').read_bytes() == theirs.read_bytes()


def test_a_full_disk_is_an_error_naming_the_shard_and_its_folder(tmp_path):
  index, _ = _spilled_split(tmp_path, 60)
  out = tmp_path / 'out'
  out.mkdir()
  [task] = _tasks(index, out, shard_writer.TFRECORD, 1)
  soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
  # Python ignores SIGXFSZ: a write past the limit fails with EFBIG, as on a
  # full disk it fails with ENOSPC.
  resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
  try:
    with pytest.raises(shard_writer.ShardWriteError) as raised:
      task(None, print)
  finally:
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
  message = str(raised.value)
  assert f"shard shard-0 of split 'train' in {out}" in message
  assert 'File too large' in message and 'run the same command again' in message


def test_two_examples_with_one_key_are_an_error(tmp_path):
  directory = tmp_path / 'spill'
  directory.mkdir()
  index = spill.SpillIndex()
  for token in ('w0', 'w1'):
    writer = spill.SpillWriter(str(directory), 'train', token)
    for _, spilled in writer.write([('n01440764_1.JPEG', b'same key')]):
      index.add(spilled)
  [task] = _tasks(index, tmp_path, shard_writer.TFRECORD, 1)
  with pytest.raises(shard_writer.DuplicateKeyError, match="split 'train' have the same key"):
    task(None, print)
