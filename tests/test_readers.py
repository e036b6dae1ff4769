"""Tests for the input readers: detection, listing, reading in place."""

from __future__ import annotations

import io
import os
import shutil
from unittest import mock

import pytest

from imagenet_custom import readers
from imagenet_custom import tario
from imagenet_custom.readers import archives
from imagenet_custom.readers.base import is_junk
from conftest import DUMMY, build, read_all


@pytest.mark.parametrize(
    'layout, reader_type',
    [
        ('archives', archives.ArchiveReader),
        ('kaggle', readers.kaggle.KaggleReader),
        ('folders', readers.folders.FolderReader),
    ],
)
def test_layouts_are_detected(layout, reader_type):
  reader = readers.find_reader(DUMMY / layout)
  assert type(reader) is reader_type
  assert reader.layout == layout
  assert len(reader.train_classes().names) == 6


def test_several_layouts_need_a_choice(tmp_path):
  shutil.copytree(DUMMY / 'archives', tmp_path, dirs_exist_ok=True)
  shutil.copytree(DUMMY / 'kaggle', tmp_path, dirs_exist_ok=True)
  with pytest.raises(readers.InputError, match='holds several layouts .archives, kaggle.'):
    readers.find_reader(tmp_path)
  assert readers.find_reader(tmp_path, layout='kaggle').layout == 'kaggle'


def test_incomplete_layout_says_what_is_missing(tmp_path):
  shutil.copy(DUMMY / 'archives' / archives.TRAIN_TAR, tmp_path)
  with pytest.raises(readers.InputError, match="'archives' layout but has no val images"):
    readers.find_reader(tmp_path)


@pytest.mark.parametrize(
    'name, junk',
    [('.DS_Store', True), ('Thumbs.db', True), ('._n01440764_1.JPEG', True),
     ('dir/._x.JPEG', True), ('n01440764_1.JPEG', False), ('ILSVRC2012_val_00000001.JPEG', False)],
)
def test_junk_names(name, junk):
  assert is_junk(name) is junk


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
  reader = readers.find_reader(DUMMY / 'archives')
  wnid = 'n01440764'
  listing = reader.list_train_class(wnid)
  wanted = set(listing.names[:2])
  read = {}
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
  assert all(o.startswith(f'{archives.TRAIN_TAR}:{wnid}.tar:') for o in read)


def test_reader_pickles_without_open_files():
  import pickle  # pylint: disable=g-import-not-at-top

  reader = readers.find_reader(DUMMY / 'archives')
  reader.train_classes()
  clone = pickle.loads(pickle.dumps(reader))
  assert clone.train_classes() == reader.train_classes()
  name = reader.list_train_class('n03710721').names[0]
  [original] = reader.read_train_class('n03710721', {name})
  [copied] = clone.read_train_class('n03710721', {name})
  assert copied.origin == original.origin
  assert copied.read() == original.read()


def test_flat_val_folder_gives_the_same_examples(tmp_path, examples):
  manual = tmp_path / 'flat'
  shutil.copytree(DUMMY / 'folders', manual)
  val = manual / 'val'
  for class_dir in [p for p in val.iterdir() if p.is_dir()]:
    for image in class_dir.iterdir():
      image.rename(val / image.name)
    class_dir.rmdir()
  builder = build(manual, tmp_path / 'out')
  flat = read_all(builder)
  for name, example in examples['folders'].items():
    assert (flat[name].split, flat[name].label, flat[name].image) == (
        example.split, example.label, example.image
    ), name


def test_kaggle_without_devkit_uses_the_csv_and_warns(tmp_path, examples):
  manual = tmp_path / 'kaggle'
  shutil.copytree(DUMMY / 'kaggle', manual)
  shutil.rmtree(manual / 'ILSVRC' / 'devkit')
  builder = build(manual, tmp_path / 'out')
  stored = read_all(builder)
  # No blacklist: all 24 val images in test, with the same labels.
  assert builder.info.splits['test'].num_examples == 24
  assert 'test_blacklisted' not in builder.info.splits
  for name, example in examples['kaggle'].items():
    assert stored[name].label == example.label


def test_registry_builds_layouts_and_help():
  assert readers.LAYOUTS == ('archives', 'kaggle', 'kaggle_zip', 'folders', 'blurred')
  assert tuple(r.layout for r in readers.READERS) == readers.LAYOUTS
  for number, reader_type in enumerate(readers.READERS, start=1):
    assert f'\n{number}. {reader_type.help_text}\n' in readers.LAYOUT_HELP


@pytest.mark.parametrize('layout', ['archives', 'kaggle', 'folders'])
def test_each_dummy_layout_is_detected_by_its_reader_only(layout):
  assert readers.detect_layouts(DUMMY / layout) == [layout]
  assert [r.layout for r in readers.READERS if r.detect(DUMMY / layout)] == [layout]


def test_a_layout_added_to_the_registry_is_found(tmp_path, monkeypatch):
  class MarkerReader(readers.folders.FolderReader):
    layout = 'marker'
    help_text = 'marker (a folder holding MARKER)'

    @classmethod
    def detect(cls, root):
      return (root / 'MARKER').exists()

  shutil.copytree(DUMMY / 'folders', tmp_path, dirs_exist_ok=True)
  (tmp_path / 'MARKER').touch()
  monkeypatch.setattr(readers, 'READERS', readers.READERS + (MarkerReader,))
  with pytest.raises(readers.InputError, match=r'several layouts \(folders, marker\)'):
    readers.find_reader(tmp_path)
  assert type(readers.find_reader(tmp_path, layout='marker')) is MarkerReader
  with pytest.raises(readers.InputError, match='choose one of archives, kaggle, kaggle_zip, folders, blurred, marker'):
    readers.find_reader(tmp_path, layout='other')


def test_archive_class_reads_without_listing_first():
  wnid = 'n01440764'
  lister = readers.find_reader(DUMMY / 'archives')
  names = lister.list_train_class(wnid).names
  expected = {s.name: s.read() for s in lister.read_train_class(wnid, set(names))}
  fresh = readers.find_reader(DUMMY / 'archives')
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
  import concurrent.futures  # pylint: disable=g-import-not-at-top

  wnid = 'n01530575'
  reader = readers.find_reader(DUMMY / 'archives')
  names = set(reader.list_train_class(wnid).names)
  with concurrent.futures.ThreadPoolExecutor(1) as pool:
    read = pool.submit(
        lambda: {s.name: s.read() for s in reader.read_train_class(wnid, names)}
    ).result()
  assert set(read) == names
  assert read == {s.name: s.read() for s in reader.read_train_class(wnid, names)}
