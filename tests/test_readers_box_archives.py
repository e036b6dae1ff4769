"""Tests for `imagenet_custom.layouts.box_archives`: the official box archives."""

from __future__ import annotations

import collections
import pathlib
from typing import Any

from imagenet_custom.ilsvrc import annotations as annotations_lib
from imagenet_custom.layouts import box_archives

from builds import DUMMY

ARCHIVES = DUMMY / 'archives'


def _annotated_train_stems(manifest: dict[str, Any]) -> set[str]:
  """Stems of the train images that have an annotation, plus the orphans."""
  stems = {
      pathlib.Path(image['file_name']).stem
      for image in manifest['images']
      if image['split_source'] == 'train' and image['boxes'] is not None
  }
  return stems | set(manifest['orphan_annotations'])


def test_train_annotations_of_a_class_by_image_stem(manifest):
  wnid = 'n01440764'
  found = box_archives.train_annotations(ARCHIVES, wnid)
  expected = {s for s in _annotated_train_stems(manifest) if s.startswith(wnid + '_')}
  assert set(found) == expected
  for stem, raw in found.items():
    assert raw.name == stem + '.xml'
    assert raw.origin == f'{ARCHIVES / box_archives.BBOX_TRAIN}:{wnid}/{stem}.xml'
    assert annotations_lib.parse_annotation(raw.data, raw.origin).objects


def test_annotation_counts_cover_every_train_annotation(manifest):
  counts = box_archives.annotation_counts(ARCHIVES)
  assert sum(counts.values()) == manifest['counts']['num_train_annotations']
  expected = collections.Counter(
      stem.split('_')[0] for stem in _annotated_train_stems(manifest)
  )
  assert counts == dict(expected)
  for wnid, count in counts.items():
    assert len(box_archives.train_annotations(ARCHIVES, wnid)) == count


def test_val_annotations_by_val_number(manifest):
  found = box_archives.val_annotations(ARCHIVES)
  assert sorted(found) == list(range(1, manifest['counts']['num_val_annotations'] + 1))
  raw = found[7]
  assert raw.name == 'ILSVRC2012_val_00000007.xml'
  assert raw.origin == f'{ARCHIVES / box_archives.BBOX_VAL}:val/ILSVRC2012_val_00000007.xml'
  wnids = {image['val_index']: image['wnid'] for image in manifest['images']}
  for number, raw in found.items():
    annotation = annotations_lib.parse_annotation(raw.data, raw.origin)
    assert annotations_lib.annotation_label(annotation) == {wnids[number]}


def test_a_class_without_annotations_has_none():
  # n01443537 is one of the 1,000 classes but has no images in the dummy data.
  assert box_archives.train_annotations(ARCHIVES, 'n01443537') == {}


def test_no_archives_no_annotations(tmp_path):
  assert box_archives.train_annotations(tmp_path, 'n01440764') == {}
  assert box_archives.annotation_counts(tmp_path) == {}
  assert box_archives.val_annotations(tmp_path) == {}
