"""Tests for imagenet_custom.ilsvrc.metadata: devkit and Kaggle metadata parsers."""

from __future__ import annotations

import io
import pathlib

import numpy as np
import pytest
import scipy.io

from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import metadata

# Real ImageNet metadata, when the workplace's shared folder is beside the repo.
REAL_META = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'imagenet-meta'
needs_real_meta = pytest.mark.skipif(
    not REAL_META.exists(), reason='real ImageNet metadata not available'
)


def _map_clsloc(order: list[str]) -> str:
  return ''.join(f'{wnid} {i} name_{i}\n' for i, wnid in enumerate(order, start=1))


def test_wnids_are_the_1000_sorted_classes():
  wnids = metadata.wnids()
  assert len(wnids) == 1000
  assert list(wnids) == sorted(wnids)
  assert wnids[0] == 'n01440764'  # tench: label 0 in TFDS, Keras, torchvision.
  assert wnids[-1] == 'n15075141'  # toilet tissue: label 999.


def test_val_index_parses_names_and_stems():
  assert metadata.val_index('ILSVRC2012_val_00000001.JPEG') == 1
  assert metadata.val_index('ILSVRC2012_val_00050000') == 50000
  assert metadata.val_index('n01440764_10026.JPEG') is None
  assert metadata.val_index('ILSVRC2012_val_1.JPEG') is None


def test_map_clsloc_keeps_devkit_ids_not_sorted_indices():
  order = list(reversed(metadata.wnids()))
  synsets = metadata.parse_map_clsloc(_map_clsloc(order), 'map.txt')
  assert synsets[1].wnid == order[0] == 'n15075141'
  assert synsets[1000].wnid == 'n01440764'
  assert synsets[7].name == 'name 7'  # Underscores become spaces.


@pytest.mark.parametrize(
    'mutate, message',
    [
        # One line missing: 999 classes.
        (lambda lines: lines[:-1], 'expected 1000 classes, found 999'),
        # An ID out of range.
        (lambda lines: lines[:-1] + [lines[-1].replace(' 1000 ', ' 1001 ')], 'outside 1..1000'),
        # Two classes with one ID.
        (lambda lines: lines[:-1] + [lines[-1].replace(' 1000 ', ' 1 ')], 'ILSVRC ID 1 is given to both'),
        # A line of the wrong shape.
        (lambda lines: ['garbage'] + lines[1:], 'line 1: expected "WNID ILSVRC_ID name"'),
        # A WNID that is not an ILSVRC2012 class.
        (lambda lines: [lines[0].replace(lines[0].split()[0], 'n99999999')] + lines[1:], "'n99999999' is not one of the 1,000"),
    ],
)
def test_map_clsloc_rejects_wrong_shape(mutate, message):
  lines = _map_clsloc(list(metadata.wnids())).splitlines()
  with pytest.raises(InputError, match=message) as error:
    metadata.parse_map_clsloc('\n'.join(mutate(lines)), 'devkit/map_clsloc.txt')
  assert 'devkit/map_clsloc.txt' in str(error.value)


def test_meta_mat_keeps_only_the_1000_leaves():
  wnids = metadata.wnids()
  records = [
      (i + 1, wnid, f'words {i}, other', 0) for i, wnid in enumerate(reversed(wnids))
  ] + [(1001, 'n00001740', 'entity', 5)]
  table = np.array(
      records,
      dtype=[('ILSVRC2012_ID', 'O'), ('WNID', 'O'), ('words', 'O'), ('num_children', 'O')],
  )
  buffer = io.BytesIO()
  scipy.io.savemat(buffer, {'synsets': table})
  synsets = metadata.parse_meta_mat(buffer.getvalue(), 'meta.mat')
  assert len(synsets) == 1000
  assert synsets[1].wnid == wnids[-1]
  assert synsets[1].name == 'words 0'


def test_meta_mat_garbage_names_the_file():
  with pytest.raises(InputError, match='devkit.tar.gz:data/meta.mat: cannot read'):
    metadata.parse_meta_mat(b'not a mat file', 'devkit.tar.gz:data/meta.mat')


def test_ground_truth_maps_ids_through_the_devkit():
  order = list(reversed(metadata.wnids()))
  synsets = metadata.parse_map_clsloc(_map_clsloc(order), 'map')
  labels = metadata.parse_ground_truth('1\n1000\n2\n', 'gt', synsets)
  assert labels == {1: 'n15075141', 2: 'n01440764', 3: order[1]}


def test_ground_truth_rejects_unknown_ids():
  synsets = metadata.parse_map_clsloc(_map_clsloc(list(metadata.wnids())), 'map')
  with pytest.raises(InputError, match=r'gt.txt, line 2: .1001. is not an ILSVRC class ID'):
    metadata.parse_ground_truth('5\n1001\n', 'gt.txt', synsets)


def test_blacklist_rejects_out_of_range_numbers():
  assert metadata.parse_blacklist('3\n1\n', 'bl') == frozenset({1, 3})
  with pytest.raises(InputError, match='bl.txt, line 2: .50001. is not a val image number'):
    metadata.parse_blacklist('3\n50001\n', 'bl.txt')


def test_loc_solution_and_val_labels():
  text = (
      'ImageId,PredictionString\n'
      'ILSVRC2012_val_00000002,n01440764 1 2 30 40 n01440764 5 5 9 9 \n'
      'ILSVRC2012_val_00000001,n01443537 0 0 10.5 10 \n'
  )
  objects = metadata.parse_loc_solution(text, 'LOC_val_solution.csv')
  assert objects['ILSVRC2012_val_00000001'] == [('n01443537', 0.0, 0.0, 10.5, 10.0)]
  assert metadata.val_labels_from_solution(objects, 'csv') == {
      1: 'n01443537',
      2: 'n01440764',
  }


def test_loc_solution_rejects_mixed_classes_and_bad_header():
  mixed = 'ImageId,PredictionString\nILSVRC2012_val_00000001,n01440764 1 2 3 4 n01443537 1 2 3 4\n'
  objects = metadata.parse_loc_solution(mixed, 'csv')
  with pytest.raises(InputError, match='does not name one val image of one class'):
    metadata.val_labels_from_solution(objects, 'csv')
  with pytest.raises(InputError, match='expected the header'):
    metadata.parse_loc_solution('a,b\n', 'csv')


def test_synset_mapping_first_name():
  text = ''.join(f'{w} name {i}, other\n' for i, w in enumerate(metadata.wnids()))
  names = metadata.parse_synset_mapping(text, 'LOC_synset_mapping.txt')
  assert names['n01440764'] == 'name 0'
  with pytest.raises(InputError, match='expected 1000 classes, found 999'):
    metadata.parse_synset_mapping(''.join(text.splitlines(True)[1:]), 'm')


@needs_real_meta
def test_real_devkit_files_agree_with_kaggle_csv():
  synsets = metadata.parse_map_clsloc(
      (REAL_META / 'map_clsloc.txt').read_text(), 'map_clsloc.txt'
  )
  assert synsets[1].wnid == 'n02119789' and synsets[1].name == 'kit fox'
  names = [s.name for s in synsets.values()]
  assert names.count('crane') == 2 and names.count('maillot') == 2
  labels = metadata.parse_ground_truth(
      (REAL_META / 'ILSVRC2012_validation_ground_truth.txt').read_text(), 'gt', synsets
  )
  assert len(labels) == 50000
  objects = metadata.parse_loc_solution(
      (REAL_META / 'LOC_val_solution.csv').read_text(), 'LOC_val_solution.csv'
  )
  assert metadata.val_labels_from_solution(objects, 'csv') == labels
  blacklist = metadata.parse_blacklist(
      (REAL_META / 'ILSVRC2014_clsloc_validation_blacklist.txt').read_text(), 'bl'
  )
  assert len(blacklist) == 1762
  assert len(labels.keys() - blacklist) == 48238
  mapping = metadata.parse_synset_mapping(
      (REAL_META / 'LOC_synset_mapping.txt').read_text(), 'LOC_synset_mapping.txt'
  )
  assert list(mapping) == list(metadata.wnids())
