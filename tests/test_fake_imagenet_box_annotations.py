"""Tests of `imagenet_custom.testing.box_annotations`: XML text and boxes."""

from __future__ import annotations

from lxml import etree
import numpy as np
import pytest

from imagenet_custom.testing import box_annotations
from imagenet_custom.testing import plan_types


def _annotation(*boxes: tuple[float, float, float, float]) -> plan_types.AnnotationPlan:
  """An annotation of a 100x50 image with `(xmin, ymin, xmax, ymax)` boxes."""
  objects = tuple(plan_types.BoxObject('n01440764', *box) for box in boxes)
  return plan_types.AnnotationPlan('n01440764', 'n01440764_7', 100, 50, objects)


def test_expected_boxes_normalise_by_the_annotation_size() -> None:
  assert box_annotations.expected_boxes(_annotation((10, 5, 60, 25))) == [
      [0.1, 0.1, 0.5, 0.6]
  ]


def test_expected_boxes_swap_reversed_corners_and_clip() -> None:
  boxes = box_annotations.expected_boxes(_annotation((60, 5, 10, 25), (50, -5, 120, 25)))
  assert boxes == [[0.1, 0.1, 0.5, 0.6], [0.0, 0.5, 0.5, 1.0]]


def test_expected_boxes_drop_a_box_entirely_outside() -> None:
  assert box_annotations.expected_boxes(_annotation((109, 0, 124, 25))) == []


@pytest.mark.parametrize(
    'value, text',
    [(12, '12'), (12.0, '12'), (12.5, '12.5'), (3.25, '3.25')],
)
def test_format_coordinate_writes_integers_without_a_point(
    value: float, text: str
) -> None:
  assert box_annotations.format_coordinate(value) == text


def test_annotation_xml_is_like_the_real_files() -> None:
  xml = box_annotations.annotation_xml(_annotation((10, 5, 60.5, 25)))
  assert not xml.startswith(b'<?xml') and xml.endswith(b'</annotation>')
  assert b'\n\t<folder>n01440764</folder>\n' in xml
  root = etree.fromstring(xml)
  assert root.findtext('size/width') == '100'
  assert root.findtext('object/bndbox/xmax') == '60.5'
  assert root.findtext('source/database') == 'ILSVRC_2012'


def test_random_box_stays_inside_and_covers_a_quarter() -> None:
  rng = np.random.default_rng(0)
  for _ in range(200):
    box = box_annotations.random_box(rng, 64, 40, 'n01440764')
    assert 0 <= box.xmin < box.xmax < 64 and 0 <= box.ymin < box.ymax < 40
    assert box.xmax - box.xmin >= 16 and box.ymax - box.ymin >= 10
