"""Tests of `imagenet_custom.testing.manifest`, built from a plan (no images)."""

from __future__ import annotations

import pathlib

from imagenet_custom.testing import manifest as manifest_lib
from imagenet_custom.testing import planning
from imagenet_custom.testing import spec as spec_lib


def _manifest() -> manifest_lib.Manifest:
  """The dummy preset's manifest, with placeholder bytes for each image."""
  plan = planning.plan_dataset(spec_lib.dummy_spec())
  records = [
      manifest_lib.image_record(image, image.file_name.encode())
      for image in plan.train + plan.val
  ]
  return manifest_lib.build_manifest(plan, records)


def test_save_then_load_gives_the_same_manifest(tmp_path: pathlib.Path) -> None:
  manifest = _manifest()
  manifest_lib.save_manifest(manifest, tmp_path / 'manifest.json')
  assert manifest_lib.load_manifest(tmp_path) == manifest
  assert manifest_lib.load_manifest(tmp_path / 'manifest.json') == manifest


def test_counts_and_junk_locations() -> None:
  manifest = _manifest()
  counts = manifest.counts
  assert counts['num_train_images'] == 41 and counts['num_val_images'] == 24
  assert counts['num_val_blacklisted'] == 3
  assert counts['num_val_annotations'] == 24
  assert counts['num_train_annotations'] == counts['num_train_annotated_images'] + 1
  members = [j for j in manifest.junk_files if ':' in j]
  assert [m.split(':')[0] for m in members] == [
      'archives/ILSVRC2012_img_train.tar', 'archives/ILSVRC2012_img_val.tar'
  ]
  assert members[0].split(':')[1].endswith('.tar')
  assert manifest.quirks['junk_file'] == manifest.junk_files


def test_image_record_has_expected_boxes_only_when_annotated() -> None:
  manifest = _manifest()
  train = [i for i in manifest.images if i.split_source == 'train']
  assert any(i.boxes is None for i in train)
  assert all(i.boxes is not None for i in manifest.images if i.split_source == 'val')
