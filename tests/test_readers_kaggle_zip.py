"""The Kaggle zip read in place: same shards as the extracted tree, clear errors."""

from __future__ import annotations

import os
import pathlib
import pickle
import threading
import zipfile

import pytest

from imagenet_custom import layouts
from imagenet_custom.archives import zip_tree
from imagenet_custom.archives.zip_tree import ZipTree
from imagenet_custom.errors import InputError
from imagenet_custom.layouts import kaggle_zip
from imagenet_custom.testing import kaggle_zip as kaggle_zip_data
from imagenet_custom.testing import variants
from imagenet_custom.tools import labels

from builds import build
from builds import DUMMY
from builds import read_all


def _shards(builder) -> dict[str, bytes]:
  return {
      p.name: p.read_bytes()
      for p in builder.data_path.iterdir()
      if '.tfrecord' in p.name
  }


@pytest.fixture(scope='module')
def zipped(tmp_path_factory) -> pathlib.Path:
  """The dummy Kaggle tree zipped: images stored, the rest deflated, zip64."""
  out = tmp_path_factory.mktemp('kaggle_zip')
  kaggle_zip_data.write_kaggle_zip(DUMMY / 'kaggle', out, 'mixed', force_zip64=True)
  return out


def test_zip_has_both_methods_and_zip64(zipped):
  with zipfile.ZipFile(zipped / kaggle_zip.KAGGLE_ZIP) as archive:
    methods = {info.compress_type for info in archive.infolist()}
    num_entries = len(archive.infolist())
    raw = (zipped / kaggle_zip.KAGGLE_ZIP).read_bytes()
  assert methods == {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
  assert num_entries == sum(1 for p in (DUMMY / 'kaggle').rglob('*') if p.is_file())
  assert raw.count(b'PK\x06\x06') == 1  # the zip64 end of central directory
  assert raw.count(b'PK\x06\x07') == 1  # its locator


def test_zip_is_detected_and_listed_like_the_tree(zipped):
  reader = layouts.find_reader(zipped)
  tree = layouts.find_reader(DUMMY / 'kaggle')
  assert reader.layout == 'kaggle_zip'
  assert reader.train_classes() == tree.train_classes()
  for wnid in tree.train_classes().names:
    assert reader.list_train_class(wnid) == tree.list_train_class(wnid)
    assert reader.train_annotations(wnid).keys() == tree.train_annotations(wnid).keys()
  assert reader.list_val() == tree.list_val()
  assert reader.annotation_counts() == tree.annotation_counts()
  assert reader.val_metadata().blacklist == tree.val_metadata().blacklist
  assert [role for role, _ in reader.sources().described()] == [
      role for role, _ in tree.sources().described()
  ]
  assert reader.sources().val_solution == (
      f'{zipped / kaggle_zip.KAGGLE_ZIP}:LOC_val_solution.csv'
  )


def test_zip_reader_pickles_and_reads_from_threads(zipped):
  reader = pickle.loads(pickle.dumps(layouts.find_reader(zipped)))
  tree = layouts.find_reader(DUMMY / 'kaggle')
  names = tree.list_val().names
  expected = {s.name: s.read() for s in tree.read_val(names)}
  got: dict[str, bytes] = {}
  sources = list(reader.read_val(names))

  def read(part) -> None:
    for source in part:
      got[source.name] = source.read()

  threads = [threading.Thread(target=read, args=(sources[i::4],)) for i in range(4)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert got == expected and len(got) == 24


@pytest.mark.parametrize('compression, zip64', [('mixed', True), ('deflated', False)])
def test_zip_build_is_byte_identical_to_the_tree(compression, zip64, built, tmp_path):
  manual = tmp_path / 'manual'
  kaggle_zip_data.write_kaggle_zip(DUMMY / 'kaggle', manual, compression, zip64)
  builder = build(manual, tmp_path / 'out', num_workers=2)
  assert _shards(builder) == _shards(built['kaggle'])
  assert len(_shards(builder)) >= 4
  stored = read_all(builder)
  splits = {}
  for example in stored.values():
    splits[example.split] = splits.get(example.split, 0) + 1
  assert splits == {
      split: info.num_examples for split, info in built['kaggle'].info.splits.items()
  }
  report = builder.info.metadata['build_report']
  assert report['layout'] == 'kaggle_zip'
  assert report['counts']['source/kaggle_zip train'] == report['counts']['train_images_read']


def test_zip_label_map_reads_the_devkit_inside(zipped):
  facts = labels.read_devkit_facts(zipped)
  tree_facts = labels.read_devkit_facts(DUMMY / 'kaggle')
  assert facts.ilsvrc_ids == tree_facts.ilsvrc_ids and facts.ilsvrc_ids
  assert facts.names == tree_facts.names


def test_damaged_zip_is_a_clear_error(tmp_path):
  (tmp_path / kaggle_zip.KAGGLE_ZIP).write_bytes(b'PK\x03\x04 not really a zip')
  with pytest.raises(InputError, match='cannot read the zip central directory'):
    layouts.find_reader(tmp_path)


def test_zip_without_val_images_names_what_is_missing(tmp_path):
  with zipfile.ZipFile(tmp_path / kaggle_zip.KAGGLE_ZIP, 'w') as archive:
    archive.writestr('LOC_val_solution.csv', 'ImageId,PredictionString\n')
  with pytest.raises(InputError, match="'kaggle_zip' layout but has no train images and no val images"):
    layouts.find_reader(tmp_path)


def test_zip_tree_paths():
  tree = ZipTree('/data/x.zip') / 'ILSVRC' / 'Data'
  assert (str(tree), tree.name, tree.inner) == ('/data/x.zip:ILSVRC/Data', 'Data', 'ILSVRC/Data')
  assert pickle.loads(pickle.dumps(tree)) == tree


def test_forked_child_opens_its_own_copy(zipped):
  entry = ZipTree(zipped / kaggle_zip.KAGGLE_ZIP) / 'LOC_val_solution.csv'
  expected = entry.read_bytes()  # The parent's index is built and its file open.
  read_end, write_end = os.pipe()
  pid = os.fork()
  if pid == 0:  # The child reads through its own handle, not the parent's position.
    os.close(read_end)
    ok = entry.read_bytes() == expected and (os.getpid(), entry.archive) in zip_tree._indexes
    os.write(write_end, b'1' if ok else b'0')
    os._exit(0)
  os.close(write_end)
  os.waitpid(pid, 0)
  assert os.read(read_end, 1) == b'1'
  assert entry.read_bytes() == expected


def test_evaluation_only_zip_gives_the_full_builds_test_shards(built, tmp_path):
  val_only = variants.evaluation_only_copy(DUMMY / 'kaggle', 'kaggle', tmp_path / 'val_only')
  manual = tmp_path / 'manual'
  kaggle_zip_data.write_kaggle_zip(val_only, manual)
  builder = build(manual, tmp_path / 'out')
  assert set(builder.info.splits) == {'test', 'test_blacklisted'}
  assert builder.info.metadata['evaluation_only'] is True
  test_shards = {n: b for n, b in _shards(builder).items() if '-test' in n}
  assert test_shards and test_shards == {
      n: b for n, b in _shards(built['kaggle']).items() if '-test' in n
  }
  assert {s: i.num_examples for s, i in builder.info.splits.items()} == {
      'test': 21, 'test_blacklisted': 3,
  }


def test_zip_entries_have_no_span(zipped):
  # Entries inside the zip are not files of their own: a build copies them.
  reader = layouts.find_reader(zipped)
  wnid = reader.train_classes().names[0]
  sources = list(reader.read_train_class(wnid, reader.list_train_class(wnid).names))
  assert sources and all(source.span is None for source in sources)
