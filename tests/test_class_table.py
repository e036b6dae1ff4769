"""Tests of the shipped class table, against the real devkit files where present."""

from __future__ import annotations

import pathlib

import pytest

from imagenet_custom.ilsvrc import class_table
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.tools import labels

from builds import REPO

# The real ImageNet metadata files (see their README), beside the checkout or
# beside the folder of worktrees.
_META_CANDIDATES = (REPO.parent / 'shared' / 'imagenet-meta', REPO.parents[1] / 'shared' / 'imagenet-meta')


def _meta_file(name: str) -> pathlib.Path:
  for folder in _META_CANDIDATES:
    if (folder / name).exists():
      return folder / name
  pytest.skip(f'{name} of the real ImageNet metadata is not beside the checkout ({_META_CANDIDATES[0]})')


def test_the_table_lists_the_1000_classes_in_label_order():
  rows = class_table.class_table()
  assert tuple(row.wnid for row in rows) == metadata.wnids()
  assert rows[0] == class_table.ClassFacts('n01440764', 449, 'tench, Tinca tinca')
  assert class_table.ilsvrc_ids()['n02119789'] == 1
  assert class_table.names()['n02119789'] == 'kit fox, Vulpes macrotis'


def test_the_names_that_repeat_stay_two_classes():
  names = class_table.names()
  assert names['n02012849'] == names['n03126707'] == 'crane'
  assert names['n03710637'].split(',')[0] == names['n03710721'].split(',')[0] == 'maillot'


def test_the_ids_equal_the_2015_devkits_map_clsloc():
  path = _meta_file('map_clsloc.txt')
  synsets = metadata.parse_map_clsloc(path.read_text(), str(path))
  assert class_table.ilsvrc_ids() == {s.wnid: s.ilsvrc_id for s in synsets.values()}


def test_the_names_equal_kaggles_synset_mapping():
  path = _meta_file('LOC_synset_mapping.txt')
  mapping = dict(line.split(' ', 1) for line in path.read_text().splitlines())
  assert class_table.names() == mapping


def test_the_names_equal_inceptions_metadata_file():
  path = _meta_file('imagenet_metadata.txt')
  words = dict(line.split('\t', 1) for line in path.read_text().splitlines())
  assert class_table.names() == {wnid: words[wnid] for wnid in metadata.wnids()}


@pytest.mark.parametrize(
    'text, error',
    [
        ('wnid\tid\tname\n', 'expected the header'),  # Wrong header.
        ('wnid\tilsvrc2012_id\tname\nn01440764\tx\ttench\n', 'expected WNID, ID, name'),  # ID not a number.
        ('wnid\tilsvrc2012_id\tname\nn01440764\t449\n', 'expected WNID, ID, name'),  # Cell missing.
    ],
)
def test_a_malformed_table_names_its_line(text: str, error: str):
  with pytest.raises(ValueError, match=error):
    class_table.parse_class_table(text, 'table.tsv')


def test_labels_without_a_devkit_prints_the_shipped_ids_and_names(capsys: pytest.CaptureFixture[str]):
  labels.main([])
  out = capsys.readouterr()
  kit_fox = [line for line in out.out.splitlines() if ',n02119789,' in line]
  assert kit_fox == ['278,n02119789,1,279,"kit fox, Vulpes macrotis"']
  assert 'shipped' in out.err
