"""Tests for `imagenet_custom.layouts.devkit`: val labels, blacklist, class names."""

from __future__ import annotations

import io
import logging
import shutil
import tarfile
from typing import Any

from etils import epath
import pytest

from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc.val_labels import LabelKind
from imagenet_custom.ilsvrc.val_labels import LabelSource
from imagenet_custom.layouts import devkit

from builds import DUMMY

DEVKIT_2012 = epath.Path(DUMMY / 'archives' / devkit.DEVKIT_2012)
DEVKIT_2015 = epath.Path(DUMMY / 'kaggle' / 'ILSVRC' / 'devkit' / 'data')
KAGGLE = epath.Path(DUMMY / 'kaggle')


def _val_labels(manifest: dict[str, Any]) -> dict[int, str]:
  return {
      image['val_index']: image['wnid']
      for image in manifest['images']
      if image['split_source'] == 'val'
  }


def _blacklist(manifest: dict[str, Any]) -> frozenset[int]:
  return frozenset(
      image['val_index'] for image in manifest['images'] if image['blacklisted']
  )


def test_devkit_2012_gives_labels_blacklist_and_names(manifest):
  labels, blacklist, names = devkit.load_devkit_2012(DEVKIT_2012)
  assert labels.labels == _val_labels(manifest)
  assert labels.name.endswith(':ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt')
  assert blacklist == _blacklist(manifest)
  assert len(blacklist) == manifest['counts']['num_val_blacklisted']
  assert names == manifest['class_names']


def test_devkit_2015_agrees_with_the_2012_devkit(manifest):
  labels, blacklist, names = devkit.load_devkit_2015(DEVKIT_2015)
  assert labels.labels == _val_labels(manifest)
  assert labels.name == str(DEVKIT_2015 / devkit.GROUND_TRUTH_2015)
  assert blacklist == _blacklist(manifest)
  assert names['n01440764'] == 'tench'
  assert set(names) == set(manifest['class_names'])


def test_devkit_2012_without_a_member_names_it(tmp_path):
  broken = tmp_path / devkit.DEVKIT_2012
  with tarfile.open(DEVKIT_2012, 'r:gz') as source, tarfile.open(broken, 'w:gz') as target:
    for member in source.getmembers():
      if not member.name.endswith('blacklist.txt'):
        data = source.extractfile(member) if member.isfile() else None
        target.addfile(member, io.BytesIO(data.read()) if data else None)
  with pytest.raises(InputError, match='lacks data/ILSVRC2012_validation_blacklist.txt') as e:
    devkit.load_devkit_2012(epath.Path(broken))
  assert str(broken) in str(e.value) and 'Download' in str(e.value)


def test_devkit_2015_without_a_file_names_it_and_the_alternative(tmp_path):
  data_dir = tmp_path / 'data'
  shutil.copytree(DEVKIT_2015, data_dir)
  (data_dir / devkit.MAP_CLSLOC).unlink()
  with pytest.raises(InputError, match=f'lacks {devkit.MAP_CLSLOC}') as e:
    devkit.load_devkit_2015(epath.Path(data_dir))
  assert devkit.LOC_VAL_SOLUTION in str(e.value)


def test_kaggle_csvs_give_labels_and_names(manifest):
  sources, names = devkit.load_kaggle_csvs(KAGGLE)
  [solution] = sources
  assert solution.name == str(KAGGLE / devkit.LOC_VAL_SOLUTION)
  assert solution.labels == _val_labels(manifest)
  assert names is not None and names['n01440764'] == 'tench'
  assert devkit.load_kaggle_csvs(epath.Path('/nonexistent')) == ([], None)


def test_val_metadata_orders_sources_and_prefers_the_csv_names():
  found = devkit.load_devkit_2015(DEVKIT_2015)
  own = LabelSource('val folders', {1: 'n02012849'}, LabelKind.CLASS_FOLDERS)
  meta = devkit.val_metadata_with_csvs(KAGGLE, found, 'the devkit', own_sources=[own])
  assert [s.name for s in meta.label_sources] == [
      'val folders', found[0].name, str(KAGGLE / devkit.LOC_VAL_SOLUTION)
  ]
  assert meta.blacklist == found[1]
  assert meta.class_names == devkit.load_synset_mapping(KAGGLE / devkit.LOC_SYNSET_MAPPING)


def test_val_metadata_without_a_devkit_has_no_blacklist_and_warns(caplog):
  with caplog.at_level(logging.WARNING):
    meta = devkit.val_metadata_with_csvs(KAGGLE, None, 'ILSVRC2012_devkit_t12.tar.gz in X')
  assert meta.blacklist is None
  assert [s.name for s in meta.label_sources] == [str(KAGGLE / devkit.LOC_VAL_SOLUTION)]
  assert 'No ILSVRC2012_devkit_t12.tar.gz in X: no blacklist applies' in caplog.text
