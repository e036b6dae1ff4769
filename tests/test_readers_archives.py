"""Tests for `imagenet_custom.layouts.official_archives`: the official tars, read in place."""

from __future__ import annotations

import concurrent.futures
import io
import os
import pickle
from unittest import mock

from imagenet_custom import layouts
from imagenet_custom.archives import tario
from imagenet_custom.layouts import official_archives

from builds import DUMMY


class _CountingFile(io.FileIO):
  """An unbuffered file that counts the bytes read through it."""

  total = 0

  def read(self, size=-1):
    data = super().read(size)
    _CountingFile.total += len(data)
    return data


_PREAD = os.pread


def _counting_pread(fd, size, offset):
  data = _PREAD(fd, size, offset)
  _CountingFile.total += len(data)
  return data


def _count_reads(reader, function) -> int:
  _CountingFile.total = 0
  with mock.patch.object(tario, 'open_raw', lambda path: _CountingFile(str(path))), \
       mock.patch.object(tario.os, 'pread', _counting_pread):
    reader._local = type(reader._local)()  # Fresh file handles.
    function()
  return _CountingFile.total


def test_validation_pass_reads_only_validation_images():
  reader = layouts.find_reader(DUMMY / 'archives')
  wnid = 'n01440764'
  listing = reader.list_train_class(wnid)
  wanted = set(listing.names[:2])
  read: dict[str, bytes] = {}
  count = _count_reads(
      reader,
      lambda: read.update(
          (s.origin, s.read()) for s in reader.read_train_class(wnid, wanted)
      ),
  )
  assert {origin.rsplit(':', 1)[1] for origin in read} == wanted
  data = sum(len(d) for d in read.values())
  # The wanted images plus tar headers (512 bytes each), nothing else.
  assert data <= count <= data + 512 * (len(listing.names) + len(listing.junk) + 3) * 2
  assert all(o.startswith(f'{official_archives.TRAIN_TAR}:{wnid}.tar:') for o in read)


def test_reader_pickles_without_open_files():
  reader = layouts.find_reader(DUMMY / 'archives')
  reader.train_classes()
  clone = pickle.loads(pickle.dumps(reader))
  assert clone.train_classes() == reader.train_classes()
  name = reader.list_train_class('n03710721').names[0]
  [original] = reader.read_train_class('n03710721', {name})
  [copied] = clone.read_train_class('n03710721', {name})
  assert copied.origin == original.origin
  assert copied.read() == original.read()


def test_archive_class_reads_without_listing_first():
  wnid = 'n01440764'
  lister = layouts.find_reader(DUMMY / 'archives')
  names = lister.list_train_class(wnid).names
  expected = {s.name: s.read() for s in lister.read_train_class(wnid, set(names))}
  fresh = layouts.find_reader(DUMMY / 'archives')
  # Never listed: reading lists the class itself.
  assert {s.name: s.read() for s in fresh.read_train_class(wnid, set(names))} == expected
  # Listed another class in between, and generators interleaved.
  other = 'n03710721'
  fresh.list_train_class(wnid)
  first = fresh.read_train_class(wnid, set(names))
  fresh.list_train_class(other)
  second = fresh.read_train_class(other, set(fresh.list_train_class(other).names))
  assert next(second).name.startswith(other)
  assert {s.name: s.read() for s in first} == expected


def test_archive_class_reads_in_another_thread_than_the_listing():
  wnid = 'n01530575'
  reader = layouts.find_reader(DUMMY / 'archives')
  names = set(reader.list_train_class(wnid).names)
  with concurrent.futures.ThreadPoolExecutor(1) as pool:
    read = pool.submit(
        lambda: {s.name: s.read() for s in reader.read_train_class(wnid, names)}
    ).result()
  assert set(read) == names
  assert read == {s.name: s.read() for s in reader.read_train_class(wnid, names)}
