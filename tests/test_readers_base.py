"""Tests for `imagenet_custom.layouts.base`: junk names and the Reader contract.

The contract tests run every reader of the registry over its dummy layout: the
same input in three layouts must list and read the same images.
"""

from __future__ import annotations

import hashlib
import pickle

import pytest

from imagenet_custom import layouts
from imagenet_custom.archives.base import is_junk
from imagenet_custom.layouts.base import Reader
from imagenet_custom.layouts.base import Sources

from builds import DUMMY
from builds import LAYOUTS


@pytest.mark.parametrize(
    'name, junk',
    [('.DS_Store', True), ('Thumbs.db', True), ('desktop.ini', True), ('._n01440764_1.JPEG', True),
     ('dir/._x.JPEG', True), ('dir/__MACOSX', True), ('n01440764_1.JPEG', False),
     ('ILSVRC2012_val_00000001.JPEG', False), ('dir/Thumbs.db.JPEG', False)],
)
def test_junk_names(name, junk):
  assert is_junk(name) is junk


def test_every_registered_reader_names_its_layout_and_help():
  for reader_type in layouts.READERS:
    assert issubclass(reader_type, Reader)
    assert reader_type.layout and reader_type.help_text
    assert not getattr(reader_type, '__abstractmethods__', None), reader_type


@pytest.mark.parametrize('layout', LAYOUTS)
def test_each_reader_lists_the_manifest_train_images(layout, manifest):
  reader = layouts.find_reader(DUMMY / layout)
  assert repr(reader) == f'{type(reader).__name__}({str(DUMMY / layout)!r})'
  per_class = manifest['counts']['train_images_per_class']
  assert sorted(reader.train_classes().names) == sorted(per_class)
  for wnid, count in per_class.items():
    listing = reader.list_train_class(wnid)
    assert len(listing.names) == count, wnid
    assert all(is_junk(j) for j in listing.junk)


@pytest.mark.parametrize('layout', LAYOUTS)
def test_each_reader_reads_the_manifest_bytes(layout, manifest):
  reader = pickle.loads(pickle.dumps(layouts.find_reader(DUMMY / layout)))
  digests = {image['file_name']: image['sha256'] for image in manifest['images']}
  read = {}
  for wnid in reader.train_classes().names:
    names = reader.list_train_class(wnid).names
    read.update({s.name: s.read() for s in reader.read_train_class(wnid, set(names))})
  val_names = reader.list_val().names
  read.update({s.name: s.read() for s in reader.read_val(set(val_names))})
  assert {name: hashlib.sha256(data).hexdigest() for name, data in read.items()} == digests


@pytest.mark.parametrize('layout', LAYOUTS)
def test_each_reader_gives_the_same_val_metadata_and_annotations(layout, manifest):
  reader = layouts.find_reader(DUMMY / layout)
  meta = reader.val_metadata()
  expected = {
      image['val_index']: image['wnid']
      for image in manifest['images'] if image['split_source'] == 'val'
  }
  assert meta.label_sources
  for source in meta.label_sources:
    assert source.labels == expected, source.name
  assert meta.blacklist == {
      image['val_index'] for image in manifest['images'] if image['blacklisted']
  }
  assert sorted(reader.val_annotations()) == sorted(expected)
  counts = reader.annotation_counts()
  assert sum(counts.values()) == manifest['counts']['num_train_annotations']
  assert set(counts) <= set(manifest['counts']['train_images_per_class'])


@pytest.mark.parametrize('layout', LAYOUTS)
def test_each_reader_gives_the_devkit_facts_of_its_own_files(layout, manifest):
  reader = layouts.find_reader(DUMMY / layout)
  facts = reader.devkit_facts()
  assert facts.ilsvrc_ids == manifest['ilsvrc_ids']
  assert facts.names['n01440764'] == 'tench'
  sources = reader.sources()
  # The ID table read is the layout's devkit (an archive, or a folder holding map_clsloc.txt).
  assert sources.devkit is not None and facts.sources[0].startswith(sources.devkit)


@pytest.mark.parametrize('layout', LAYOUTS)
def test_sources_are_typed_and_described_in_field_order(layout):
  sources = layouts.find_reader(DUMMY / layout).sources()
  assert sources.train_images is not None and sources.val_images is not None
  described = dict(sources.described())
  assert described['train images'] == sources.train_images
  assert described['val images'] == sources.val_images
  assert list(described)[:2] == ['train images', 'val images']


def test_sources_of_a_renamed_field_fail_loudly(tmp_path):
  (tmp_path / 'train').mkdir()
  found = Sources.existing(train_images=tmp_path / 'train', val_images=tmp_path / 'absent')
  assert found == Sources(train_images=str(tmp_path / 'train'))
  with pytest.raises(TypeError, match='train_image'):
    Sources.existing(train_image=tmp_path / 'train')
