"""The face-blurred layout on the dummy data: counts, names, split, errors."""

from __future__ import annotations

import collections
import json
import pathlib
import shutil

import pytest
import tensorflow_datasets as tfds

from imagenet_custom import layouts
from imagenet_custom.archives import tar_gz
from imagenet_custom.build import report as report_lib
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.layouts import blurred
from imagenet_custom.testing import blurred as blurred_data
from imagenet_custom.testing import variants

from builds import build
from builds import DUMMY
from builds import read_all


@pytest.fixture(scope='module')
def written(tmp_path_factory) -> tuple[pathlib.Path, dict[str, object]]:
  out = tmp_path_factory.mktemp('blurred')
  return out, blurred_data.write_blurred(DUMMY / 'folders', out)


@pytest.fixture(scope='module')
def blurred_build(written, tmp_path_factory):
  return build(written[0], tmp_path_factory.mktemp('built_blurred'))


@pytest.fixture(scope='module')
def stored(blurred_build):
  return read_all(blurred_build)


@pytest.fixture(scope='module')
def originals(built):
  return read_all(built['folders'])


def test_generator_plants_missing_originals(written):
  _, facts = written
  assert facts['missing'] == [
      'ILSVRC2012_val_00000023.JPEG', 'ILSVRC2012_val_00000024.JPEG',
      'n01440764_14256.JPEG', 'n01530575_10325.JPEG',
  ]
  assert (facts['train'], facts['val']) == (39, 22)


def test_detected_with_original_names(written):
  reader = layouts.find_reader(written[0])
  assert reader.layout == 'blurred' and reader.face_blurred
  listing = reader.list_train_class('n01440764')
  assert len(listing.names) == 9
  assert all(name.endswith('.JPEG') for name in listing.names)
  source = next(reader.read_train_class('n01440764', listing.names[:1]))
  assert source.origin.endswith('train_blurred/n01440764/n01440764_18436.jpg')
  assert reader.missing_images() == (
      'n01440764_14256.JPEG', 'n01530575_10325.JPEG',
      'ILSVRC2012_val_00000023.JPEG', 'ILSVRC2012_val_00000024.JPEG',
  )


def test_split_counts(blurred_build):
  splits = {s: i.num_examples for s, i in blurred_build.info.splits.items()}
  assert splits == {'train': 30, 'validation': 9, 'test': 19, 'test_blacklisted': 3}


def test_images_are_the_blurred_files_with_the_original_labels(written, stored, originals):
  missing = set(written[1]['missing'])
  assert set(stored) == set(originals) - missing
  for name, example in stored.items():
    assert example.label == originals[name].label, name
    assert example.image != originals[name].image, name
  folder = written[0] / blurred.TRAIN_DIR / 'n02012849'
  assert stored['n02012849_3096.JPEG'].image == (folder / 'n02012849_3096.jpg').read_bytes()


def test_split_matches_the_originals_where_possible(stored, originals):
  by_class = collections.defaultdict(lambda: collections.defaultdict(set))
  for source, examples in (('blurred', stored), ('original', originals)):
    for name, example in examples.items():
      if example.split == 'validation':
        by_class[name.split('_')[0]][source].add(name)
  for wnid in ('n02012849', 'n03126707', 'n03710637', 'n03710721'):  # nothing missing
    assert by_class[wnid]['blurred'] == by_class[wnid]['original'], wnid
  for wnid in ('n01440764', 'n01530575'):  # one image missing: at most one moves
    assert len(by_class[wnid]['blurred'] - by_class[wnid]['original']) <= 1, wnid
  for name, example in stored.items():
    if example.split in ('test', 'test_blacklisted'):
      assert originals[name].split == example.split


def test_report_counts_missing_and_metadata_says_blurred(blurred_build, built):
  report = blurred_build.info.metadata['build_report']
  assert report['layout'] == 'blurred'
  assert report['counts'][report_lib.IMAGES_MISSING] == 4
  assert report['balanced']
  assert any('4 images of the original release are not in' in n for n in report['notes'])
  assert blurred_build.info.metadata['face_blurred'] is True
  assert built['folders'].info.metadata['face_blurred'] is False


def test_without_reference_list_only_val_is_counted(written, tmp_path):
  manual = tmp_path / 'manual'
  shutil.copytree(written[0], manual)
  (manual / blurred.TRAIN_REFERENCE).unlink()
  reader = layouts.find_reader(manual)
  assert reader.missing_images() == (
      'ILSVRC2012_val_00000023.JPEG', 'ILSVRC2012_val_00000024.JPEG',
  )
  report = build(manual, tmp_path / 'out').info.metadata['build_report']
  assert report['counts'][report_lib.IMAGES_MISSING] == 2
  assert any('were not counted: put the Kaggle download' in n for n in report['notes'])


def test_evaluation_only_from_val_blurred(written, tmp_path, blurred_build):
  manual = tmp_path / 'manual'
  shutil.copytree(written[0] / blurred.VAL_DIR, manual / blurred.VAL_DIR)
  shutil.copyfile(
      written[0] / 'ILSVRC2012_devkit_t12.tar.gz', manual / 'ILSVRC2012_devkit_t12.tar.gz'
  )
  builder = build(manual, tmp_path / 'out')
  splits = {s: i.num_examples for s, i in builder.info.splits.items()}
  assert splits == {'test': 19, 'test_blacklisted': 3}
  assert builder.info.metadata['evaluation_only'] is True
  report = builder.info.metadata['build_report']
  assert report['counts'][report_lib.IMAGES_MISSING] == 2
  assert not any('train_cls.txt' in n for n in report['notes'])


def test_second_file_for_an_image_keeps_the_jpg(written, tmp_path):
  manual = tmp_path / 'manual'
  shutil.copytree(written[0], manual)
  folder = manual / blurred.TRAIN_DIR / 'n03710721'
  first = sorted(folder.iterdir())[0]
  shutil.copyfile(DUMMY / 'folders' / 'train' / 'n03710721' / (first.stem + '.JPEG'),
                  folder / (first.stem + '.JPEG'))
  reader = layouts.find_reader(manual)
  listing = reader.list_train_class('n03710721')
  assert len(listing.names) == 3 and listing.junk == (first.stem + '.JPEG',)
  source = next(reader.read_train_class('n03710721', [first.stem + '.JPEG']))
  assert source.read() == first.read_bytes()


@pytest.mark.parametrize('archive', [blurred.TRAIN_ARCHIVE, blurred.VAL_ARCHIVE])
def test_damaged_archive_is_a_clear_error(archive, tmp_path):
  (tmp_path / archive).write_bytes(b'\x1f\x8b')
  (tmp_path / blurred.VAL_ARCHIVE).touch()
  reader = layouts.find_reader(tmp_path)
  assert reader.layout == 'blurred'
  with pytest.raises(InputError, match=f'{tmp_path / archive}: .*download {archive} again'):
    if archive == blurred.TRAIN_ARCHIVE:
      reader.train_classes()
    else:
      reader.list_val()


def test_bad_reference_list_names_the_line(written, tmp_path):
  manual = tmp_path / 'manual'
  shutil.copytree(written[0], manual)
  (manual / blurred.TRAIN_REFERENCE).write_text('n01440764/n01440764_1 1\nfoo.jpg\n')
  with pytest.raises(InputError, match=r'train_cls.txt, line 2: .foo.jpg. is not'):
    layouts.find_reader(manual).missing_images()


def test_real_labels_and_class_list_use_the_original_names(written, tmp_path):
  inputs = variants.write_all(DUMMY, tmp_path / 'variants')
  builder = build(
      written[0], tmp_path / 'out', real_labels=str(inputs['real_json']),
      classes=str(inputs['classes']),
  )
  entries = json.loads(inputs['real_json'].read_text())
  kept = {metadata.wnids().index(w) for w in ('n01440764', 'n03126707', 'n03710721')}
  seen = 0
  for example in tfds.as_numpy(builder.as_dataset(split='test+test_blacklisted')):
    number = metadata.val_index(example['file_name'].decode())
    assert [int(i) for i in example['real_label']] == entries[number - 1], number
    assert int(example['label']) in kept
    seen += 1
  # The 3 classes' val images in the originals, less those with no blurred version.
  originals = [
      p.name for w in ('n01440764', 'n03126707', 'n03710721')
      for p in (DUMMY / 'folders' / 'val' / w).iterdir() if p.name.startswith('ILSVRC')
  ]
  expected = [n for n in originals if n not in written[1]['missing']]
  assert seen == len(expected) == 12


# The face-blurred archives, read in place.


def _shards(builder) -> dict[str, bytes]:
  return {p.name: p.read_bytes() for p in builder.data_path.iterdir() if '.tfrecord' in p.name}


def _split_sizes(builder) -> dict[str, int]:
  return {s: i.num_examples for s, i in builder.info.splits.items()}


@pytest.fixture(scope='module')
def archived(tmp_path_factory) -> pathlib.Path:
  out = tmp_path_factory.mktemp('blurred_archives')
  blurred_data.write_blurred(DUMMY / 'folders', out, archives=True)
  return out


@pytest.fixture(scope='module')
def archived_build(archived, tmp_path_factory):
  return build(archived, tmp_path_factory.mktemp('built_archives'), num_workers=2)


def test_generator_writes_the_archives_only(archived, written):
  assert sorted(p.name for p in archived.iterdir()) == sorted(
      [blurred.TRAIN_ARCHIVE, blurred.VAL_ARCHIVE]
      + [p.name for p in written[0].iterdir() if p.name not in blurred.ARCHIVE_OF]
  )
  index = tar_gz.build_index(archived / blurred.TRAIN_ARCHIVE)
  # The pass leaves access points for random access into the stream.
  assert index.access_points >= 1


def test_archives_are_listed_and_read_like_the_folders(archived, written):
  from_archives = layouts.find_reader(archived)
  from_folders = layouts.find_reader(written[0])
  assert from_archives.sources().train_images == str(archived / blurred.TRAIN_ARCHIVE)
  assert from_archives.sources().val_images == str(archived / blurred.VAL_ARCHIVE)
  assert from_archives.train_classes() == from_folders.train_classes()
  for wnid in from_folders.train_classes().names:
    listing = from_archives.list_train_class(wnid)
    assert listing == from_folders.list_train_class(wnid)
    assert {s.name: s.read() for s in from_archives.read_train_class(wnid, listing.names)} == {
        s.name: s.read() for s in from_folders.read_train_class(wnid, listing.names)
    }
  source = next(from_archives.read_train_class('n01440764', ['n01440764_18436.JPEG']))
  assert source.origin == (
      f'{archived / blurred.TRAIN_ARCHIVE}:train_blurred/n01440764/n01440764_18436.jpg'
  )
  assert source.head is not None and source.head(3) == b'\xff\xd8\xff'
  val = from_archives.list_val()
  assert sorted(val.names) == list(from_folders.list_val().names)
  assert val.junk == from_folders.list_val().junk
  # Archive order: by class folder, so a chunk of the listing is one stretch.
  assert val.names[:5] == tuple(
      f'ILSVRC2012_val_{n:08d}.JPEG' for n in (6, 9, 13, 16, 18)
  )
  assert [s.name for s in from_archives.read_val(val.names[::-1])] == list(val.names)
  assert from_archives.missing_images() == from_folders.missing_images()


def test_archives_build_is_byte_identical_to_the_folders(archived_build, blurred_build):
  assert _split_sizes(archived_build) == {
      'train': 30, 'validation': 9, 'test': 19, 'test_blacklisted': 3
  }
  assert _shards(archived_build) == _shards(blurred_build)
  report = archived_build.info.metadata['build_report']
  assert report['counts'][report_lib.IMAGES_MISSING] == 4
  assert report['counts']['source/blurred train'] == 39
  assert report['balanced']
  assert archived_build.info.metadata['face_blurred'] is True


def test_index_files_are_kept_with_tfds_downloads(archived_build):
  index_dir = archived_build.data_dir_root / 'downloads' / 'imagenet_custom' / blurred.INDEX_FOLDER
  names = sorted(p.name.split('.')[0] for p in index_dir.iterdir())
  assert names == ['train_blurred', 'val_blurred']


def test_extracted_folder_is_read_before_its_archive(archived, written, blurred_build, tmp_path):
  manual = tmp_path / 'manual'
  shutil.copytree(archived, manual)
  shutil.copytree(written[0] / blurred.TRAIN_DIR, manual / blurred.TRAIN_DIR)
  reader = layouts.find_reader(manual)
  assert reader.sources().train_images == str(manual / blurred.TRAIN_DIR)
  assert reader.sources().val_images == str(manual / blurred.VAL_ARCHIVE)
  builder = build(manual, tmp_path / 'out')
  assert _shards(builder) == _shards(blurred_build)


def test_evaluation_only_from_the_val_archive(archived, blurred_build, tmp_path):
  manual = tmp_path / 'manual'
  manual.mkdir()
  for name in (blurred.VAL_ARCHIVE, 'ILSVRC2012_devkit_t12.tar.gz', 'ILSVRC2012_bbox_val_v3.tgz'):
    shutil.copyfile(archived / name, manual / name)
  builder = build(manual, tmp_path / 'out')
  assert _split_sizes(builder) == {'test': 19, 'test_blacklisted': 3}
  test_shards = {n: b for n, b in _shards(blurred_build).items() if '-test' in n}
  assert _shards(builder) == test_shards


def test_truncated_archive_stops_with_the_archive_and_member(archived, tmp_path):
  manual = tmp_path / 'manual'
  shutil.copytree(archived, manual)
  archive = manual / blurred.TRAIN_ARCHIVE
  archive.write_bytes(archive.read_bytes()[:9000])
  with pytest.raises(
      InputError,
      match=rf'{archive}: truncated: .*\(after member train_blurred/n0\d+/n0\d+_\d+\.jpg\)'
      rf'\. The archive is incomplete or damaged: download {blurred.TRAIN_ARCHIVE} again',
  ):
    build(manual, tmp_path / 'out')


def test_archive_without_its_folder_inside_is_a_clear_error(archived, tmp_path):
  (tmp_path / 'val_blurred').mkdir()
  (tmp_path / 'val_blurred' / 'x.jpg').write_bytes(b'x')
  blurred_data.pack_folder(tmp_path / 'val_blurred', tmp_path / 'packed.tar.gz')
  manual = tmp_path / 'manual'
  manual.mkdir()
  # A train archive whose top folder is val_blurred/.
  shutil.copyfile(tmp_path / 'packed.tar.gz', manual / blurred.TRAIN_ARCHIVE)
  shutil.copyfile(archived / blurred.VAL_ARCHIVE, manual / blurred.VAL_ARCHIVE)
  with pytest.raises(InputError, match='expected the folder train_blurred/ inside .* found at its top: val_blurred'):
    layouts.find_reader(manual).train_classes()


def test_beam_build_from_the_archives_is_byte_identical(archived, blurred_build, tmp_path):
  builder = build(archived, tmp_path / 'out', beam=True)
  assert _shards(builder) == _shards(blurred_build)
