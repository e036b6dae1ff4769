"""Tests for `imagenet_custom.layouts.folders`: class folders, read in place."""

from __future__ import annotations

import shutil

import pytest

from imagenet_custom import layouts
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc.val_labels import LabelKind

from builds import build
from builds import DUMMY
from builds import read_all


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


def test_val_class_folders_are_a_label_source_beside_the_devkit():
  meta = layouts.find_reader(DUMMY / 'folders').val_metadata()
  [folders_source, devkit_source] = meta.label_sources
  assert folders_source.name == 'val/<wnid>/ class folders'
  assert (folders_source.kind, devkit_source.kind) == (LabelKind.CLASS_FOLDERS, LabelKind.DEVKIT)
  assert folders_source.labels == devkit_source.labels
  assert devkit_source.name.startswith(str(DUMMY / 'folders' / 'ILSVRC2012_devkit_t12.tar.gz:'))
  assert meta.blacklist is not None and len(meta.blacklist) == 3


def test_val_images_in_class_folders_are_listed_by_name(manifest):
  reader = layouts.find_reader(DUMMY / 'folders')
  listing = reader.list_val()
  val = {i['file_name']: i['wnid'] for i in manifest['images'] if i['split_source'] == 'val'}
  assert listing.names == tuple(sorted(val))
  junk = [j.rsplit('/', 1)[1] for j in manifest['junk_files'] if j.startswith('folders/val/')]
  assert sorted(listing.junk) == sorted(junk) == ['.DS_Store', 'Thumbs.db']
  [source] = reader.read_val({'ILSVRC2012_val_00000001.JPEG'})
  assert source.origin == str(
      DUMMY / 'folders' / 'val' / val['ILSVRC2012_val_00000001.JPEG'] / 'ILSVRC2012_val_00000001.JPEG'
  )


def test_flat_val_without_labels_says_what_to_add(tmp_path):
  manual = tmp_path / 'folders'
  (manual / 'val').mkdir(parents=True)
  shutil.copytree(DUMMY / 'folders' / 'train', manual / 'train')
  (manual / 'val' / 'ILSVRC2012_val_00000001.JPEG').write_bytes(b'')
  with pytest.raises(InputError, match='val: no val labels. Sort val images into val/<wnid>/'):
    layouts.find_reader(manual).val_metadata()
