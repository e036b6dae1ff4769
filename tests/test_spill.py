"""Spill files: TFDS's key hash, bucket files, in-place images, what is read back."""

import os

import pytest
from tensorflow_datasets.core import hashing

from imagenet_custom.build import spill


@pytest.mark.parametrize('key', [
    'n01440764_10026.JPEG', 'ILSVRC2012_val_00000001.JPEG', 'a\\b', 'é', '',
])
@pytest.mark.parametrize('salt', ['train', 'test_blacklisted'])
def test_hash_key_is_tfds_hash(salt, key):
  assert spill.hash_key(salt, key) == hashing.Hasher(salt).hash_key(key)


def test_buckets_hold_consecutive_hash_ranges():
  assert spill.bucket_of(0) == 0
  assert spill.bucket_of((1 << 128) - 1) == spill.NUM_BUCKETS - 1
  edges = [(b << 128) // spill.NUM_BUCKETS for b in range(1, spill.NUM_BUCKETS)]
  for bucket, edge in enumerate(edges, start=1):
    assert spill.bucket_of(edge + 1) == bucket
    assert spill.bucket_of(edge - 1) == bucket - 1


def _image_file(tmp_path, images: dict[str, bytes]) -> tuple[str, dict[str, int]]:
  """One file holding the images one after another (as an archive would)."""
  path = tmp_path / 'input.bin'
  offsets, data = {}, b'header'
  for name, image in images.items():
    offsets[name] = len(data)
    data += image
  path.write_bytes(data + b'trailer')
  return str(path), offsets


def _records(tmp_path, count: int) -> tuple[dict[str, bytes], list[tuple[str, spill.Record]]]:
  """Examples, and the records that spill them: every other one in place."""
  images = {f'n01440764_{i}.JPEG': bytes([i]) * (100 + 37 * i) for i in range(count)}
  path, offsets = _image_file(tmp_path, images)
  expected: dict[str, bytes] = {}
  records: list[tuple[str, spill.Record]] = []
  for i, (key, image) in enumerate(images.items()):
    prefix, suffix = b'<' + key.encode(), b'>' * (i % 3)
    expected[key] = prefix + image + suffix
    if i % 2:
      records.append((key, spill.InPlace(prefix, suffix, path, offsets[key], len(image))))
    else:
      records.append((key, prefix + image + suffix))
  return expected, records


def _read_back(index: spill.SpillIndex) -> list[tuple[int, bytes]]:
  """Every record taken, bucket after bucket, each sorted, images read in place."""
  reader = spill.InPlaceReader()
  try:
    return [
        item
        for bucket in range(spill.NUM_BUCKETS)
        for item in reader.examples(spill.bucket_records(index.bucket_files(bucket)))
    ]
  finally:
    reader.close()


def _spill_dir(tmp_path):
  directory = tmp_path / 'spill'
  directory.mkdir()
  return directory


def test_records_come_back_whole_in_hash_order(tmp_path):
  expected, records = _records(tmp_path, 60)
  directory = _spill_dir(tmp_path)
  index = spill.SpillIndex()
  # Two workers, each with its own files.
  for token, share in (('w0', records[::2]), ('w1', records[1::2])):
    writer = spill.SpillWriter(str(directory), 'train', token)
    for start in range(0, len(share), 7):
      for key, spilled in writer.write(share[start:start + 7]):
        assert spilled.hkey == spill.hash_key('train', key)
        assert spilled.size == len(expected[key])
        index.add(spilled)
  assert index.count == 60
  assert index.size == sum(map(len, expected.values()))
  assert sum(index.bucket_lengths) == 60
  back = list(_read_back(index))
  by_hash = sorted((spill.hash_key('train', k), v) for k, v in expected.items())
  assert back == by_hash
  # Every file written holds records taken, and the index names each.
  assert index.paths() == sorted(str(directory / name) for name in os.listdir(directory))


def test_records_nobody_took_are_never_read(tmp_path):
  expected, records = _records(tmp_path, 20)
  directory = _spill_dir(tmp_path)
  writer = spill.SpillWriter(str(directory), 'train', 'w0')
  index = spill.SpillIndex()
  taken = writer.write(records[:10])
  # A worker stopped after writing these, before the parent took them.
  writer.write(records[10:])
  for _, spilled in taken:
    index.add(spilled)
  back = dict(_read_back(index))
  assert sorted(back.values()) == sorted(expected[k] for k, _ in records[:10])


def test_a_truncated_spill_file_is_an_error_naming_it(tmp_path):
  _, records = _records(tmp_path, 4)
  directory = _spill_dir(tmp_path)
  writer = spill.SpillWriter(str(directory), 'train', 'w0')
  index = spill.SpillIndex()
  spilled = writer.write(records[:1])[0][1]
  index.add(spilled)
  with open(spilled.path, 'r+b') as f:
    f.truncate(spilled.end - 1)
  with pytest.raises(spill.SpillError, match=os.path.basename(spilled.path)):
    list(_read_back(index))


def test_an_input_changed_under_the_build_is_an_error_naming_it(tmp_path):
  _, records = _records(tmp_path, 4)
  in_place = records[1][1]
  assert isinstance(in_place, spill.InPlace)
  directory = _spill_dir(tmp_path)
  index = spill.SpillIndex()
  index.add(spill.SpillWriter(str(directory), 'train', 'w0').write([records[1]])[0][1])
  os.truncate(in_place.path, in_place.offset + 10)
  with pytest.raises(spill.SpillError, match='input.bin.*the input changed'):
    list(_read_back(index))


def test_in_place_images_are_read_from_many_files(tmp_path):
  # A folder layout: each image is a file of its own, more than are kept open.
  directory = _spill_dir(tmp_path)
  writer = spill.SpillWriter(str(directory), 'test', 'w0')
  index = spill.SpillIndex()
  expected = {}
  for i in range(300):
    path = tmp_path / f'ILSVRC2012_val_{i:08d}.JPEG'
    path.write_bytes(b'img%d' % i)
    key = path.name
    expected[spill.hash_key('test', key)] = b'[' + b'img%d' % i + b']'
    record = spill.InPlace(b'[', b']', str(path), 0, len(b'img%d' % i))
    for _, spilled in writer.write([(key, record)]):
      index.add(spilled)
  assert dict(_read_back(index)) == expected


@pytest.mark.parametrize('allowed', [0, 3, spill.NUM_BUCKETS])
def test_files_kept_open_or_not_hold_the_same_records(tmp_path, monkeypatch, allowed):
  # A low limit on open files makes the writer open the other files per write.
  monkeypatch.setattr(spill, '_open_files_allowed', lambda: allowed)
  expected, records = _records(tmp_path, 40)
  directory = _spill_dir(tmp_path)
  writer = spill.SpillWriter(str(directory), 'train', 'w0')
  index = spill.SpillIndex()
  for start in range(0, 40, 9):
    for _, spilled in writer.write(records[start:start + 9]):
      index.add(spilled)
    writer.close()  # Closing between batches: the next write reopens.
  back = list(_read_back(index))
  assert back == sorted((spill.hash_key('train', k), v) for k, v in expected.items())
