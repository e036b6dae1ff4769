"""Tests for imagenet_custom.ilsvrc.val_labels: val labels checked across sources."""

from __future__ import annotations

import pytest

from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import annotations as annotations_lib
from imagenet_custom.ilsvrc import val_labels
from imagenet_custom.ilsvrc.val_labels import LabelKind
from imagenet_custom.ilsvrc.val_labels import LabelSource

TENCH = 'n01440764'
GOLDFISH = 'n01443537'
SHARK = 'n01484850'


def _annotation(*names: str) -> annotations_lib.Annotation:
  return annotations_lib.Annotation(
      100.0, 50.0, tuple(annotations_lib.RawBox(n, 1, 1, 10, 10) for n in names)
  )


def test_agreeing_sources_give_each_image_its_label():
  devkit = LabelSource('ground_truth.txt', {1: TENCH, 2: GOLDFISH}, LabelKind.DEVKIT)
  # The CSV covers only image 2 and 3; each image needs one source only.
  csv = LabelSource('LOC_val_solution.csv', {2: GOLDFISH, 3: SHARK}, LabelKind.SOLUTION_CSV)
  assert val_labels.resolve_val_labels([3, 1, 2], [devkit, csv]) == {
      1: TENCH, 2: GOLDFISH, 3: SHARK,
  }


def test_images_not_found_are_not_labelled():
  devkit = LabelSource('ground_truth.txt', {1: TENCH, 2: GOLDFISH}, LabelKind.DEVKIT)
  assert val_labels.resolve_val_labels([2], [devkit]) == {2: GOLDFISH}


def test_disagreement_names_the_images_and_both_sources():
  devkit = LabelSource('ground_truth.txt', {1: TENCH, 2: GOLDFISH, 3: SHARK}, LabelKind.DEVKIT)
  csv = LabelSource('LOC_val_solution.csv', {1: TENCH, 2: SHARK, 3: TENCH}, LabelKind.SOLUTION_CSV)
  with pytest.raises(InputError) as raised:
    val_labels.resolve_val_labels([1, 2, 3], [devkit, csv])
  message = str(raised.value)
  assert message.startswith('Val label sources disagree on 2 images:')
  assert (
      f'ILSVRC2012_val_00000002: {GOLDFISH} in ground_truth.txt,'
      f' {SHARK} in LOC_val_solution.csv'
  ) in message
  assert (
      f'ILSVRC2012_val_00000003: {SHARK} in ground_truth.txt,'
      f' {TENCH} in LOC_val_solution.csv'
  ) in message
  assert 'ILSVRC2012_val_00000001' not in message  # Both agree on it.
  assert 'remove it from the manual dir' in message


def test_disagreement_lists_at_most_ten_images():
  first = LabelSource('a', dict.fromkeys(range(1, 31), TENCH), LabelKind.DEVKIT)
  second = LabelSource('b', dict.fromkeys(range(1, 31), GOLDFISH), LabelKind.DEVKIT)
  with pytest.raises(InputError, match='disagree on 30 images') as raised:
    val_labels.resolve_val_labels(range(1, 31), [first, second])
  assert str(raised.value).count('ILSVRC2012_val_') == val_labels.MAX_LISTED


def test_unlabelled_images_are_an_error_naming_the_sources():
  devkit = LabelSource('ground_truth.txt', {1: TENCH}, LabelKind.DEVKIT)
  with pytest.raises(InputError) as raised:
    val_labels.resolve_val_labels([1, 2, 5], [devkit])
  message = str(raised.value)
  assert message.startswith(
      '2 val images have no label in any source (ground_truth.txt):'
      ' ILSVRC2012_val_00000002, ILSVRC2012_val_00000005.'
  )


def test_no_source_at_all_says_so():
  with pytest.raises(InputError, match=r'\(no label source found\)'):
    val_labels.resolve_val_labels([1], [])


def test_unknown_wnid_is_an_error():
  source = LabelSource('LOC_val_solution.csv', {1: 'n99999999'}, LabelKind.SOLUTION_CSV)
  with pytest.raises(InputError, match="val labels: 'n99999999' is not one of the 1,000"):
    val_labels.resolve_val_labels([1], [source])


def test_xml_names_that_are_not_wnids_are_ignored():
  parsed = {
      1: _annotation(TENCH, TENCH),  # Several boxes of one class.
      2: _annotation('tench', GOLDFISH),  # A class name beside the WNID.
      3: _annotation('tench'),  # No WNID at all: no label.
      4: _annotation(TENCH, GOLDFISH),  # Two WNIDs: no label.
      5: _annotation(),  # No boxes.
  }
  source = val_labels.xml_label_source(parsed)
  assert source.name == 'val box annotations (<name>)'
  assert source.labels == {1: TENCH, 2: GOLDFISH}


def test_xml_labels_take_part_in_the_agreement():
  xml = val_labels.xml_label_source({1: _annotation(GOLDFISH)})
  devkit = LabelSource('ground_truth.txt', {1: TENCH}, LabelKind.DEVKIT)
  with pytest.raises(InputError, match=r'in val box annotations \(<name>\)'):
    val_labels.resolve_val_labels([1], [devkit, xml])


def test_xml_source_is_of_the_box_xml_kind():
  source = val_labels.xml_label_source({})
  assert source.kind is LabelKind.BOX_XML
  assert source.labels == {}
