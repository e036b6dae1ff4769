"""Tests for `imagenet_custom.layouts.kaggle`: the Kaggle tree, read in place."""

from __future__ import annotations

import shutil

import pytest

from imagenet_custom import layouts
from imagenet_custom.errors import InputError
from imagenet_custom.layouts import kaggle
from imagenet_custom.layouts.base import Sources

from builds import build
from builds import DUMMY
from builds import read_all


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


def test_sources_name_every_file_found():
  reader = layouts.find_reader(DUMMY / 'kaggle')
  root = DUMMY / 'kaggle'
  assert reader.sources() == Sources(
      train_images=str(root / kaggle.DATA_DIR / 'train'),
      val_images=str(root / kaggle.DATA_DIR / 'val'),
      train_boxes=str(root / kaggle.ANNOTATIONS_DIR / 'train'),
      val_boxes=str(root / kaggle.ANNOTATIONS_DIR / 'val'),
      devkit=str(root / kaggle.DEVKIT_DIR),
      val_solution=str(root / 'LOC_val_solution.csv'),
      synset_mapping=str(root / 'LOC_synset_mapping.txt'),
  )
  # What the pre-flight check prints, in this order.
  assert [role for role, _ in reader.sources().described()] == [
      'train images', 'val images', 'train boxes', 'val boxes',
      'val labels, blacklist, class names', 'val labels', 'class names',
  ]


def test_val_labels_come_from_the_devkit_and_the_csv():
  meta = layouts.find_reader(DUMMY / 'kaggle').val_metadata()
  assert [source.name.rsplit('/', 1)[-1] for source in meta.label_sources] == [
      'ILSVRC2015_clsloc_validation_ground_truth.txt', 'LOC_val_solution.csv'
  ]


def test_without_any_val_labels_the_error_says_what_to_add(tmp_path):
  manual = tmp_path / 'kaggle'
  shutil.copytree(DUMMY / 'kaggle', manual)
  shutil.rmtree(manual / 'ILSVRC' / 'devkit')
  (manual / 'LOC_val_solution.csv').unlink()
  with pytest.raises(InputError, match='no val labels. The Kaggle layout needs LOC_val_solution.csv'):
    layouts.find_reader(manual).val_metadata()


def test_annotations_come_from_the_xml_folders():
  reader = layouts.find_reader(DUMMY / 'kaggle')
  found = reader.train_annotations('n01440764')
  assert found and all(
      raw.origin == str(DUMMY / 'kaggle' / kaggle.ANNOTATIONS_DIR / 'train' / 'n01440764' / raw.name)
      for raw in found.values()
  )
  assert reader.annotation_counts()['n01440764'] == len(found)
  assert reader.val_annotations()[1].name == 'ILSVRC2012_val_00000001.xml'
