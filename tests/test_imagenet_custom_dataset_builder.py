"""Tests of the imagenet_custom builder on the dummy data, every layout."""

from __future__ import annotations

import collections
import hashlib
import io
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest
import tensorflow_datasets as tfds

import imagenet_custom
from imagenet_custom.build import report as report_lib

from builds import build
from builds import DUMMY
from builds import label_of
from builds import LAYOUTS

# The dummy data: 41 train images in 6 classes (10, 9, 10, 8, 1, 3), 24 val
# images of which 3 are blacklisted. Validation gets round(0.2 n) per class
# with at least one image on each side: 2 + 2 + 2 + 2 + 0 + 1 = 9.
EXPECTED_SPLITS = {'train': 32, 'validation': 9, 'test': 21, 'test_blacklisted': 3}
EXPECTED_VALIDATION_PER_CLASS = {
    'n01440764': 2, 'n01530575': 2, 'n02012849': 2, 'n03126707': 2,
    'n03710637': 0, 'n03710721': 1,
}


class ArchivesLayoutTest(tfds.testing.DatasetBuilderTestCase):
  """TFDS's standard checks, official archives layout."""

  DATASET_CLASS = imagenet_custom.Builder
  EXAMPLE_DIR = str(DUMMY / 'archives')
  SPLITS = EXPECTED_SPLITS
  SKIP_CHECKSUMS = True


class KaggleLayoutTest(ArchivesLayoutTest):
  EXAMPLE_DIR = str(DUMMY / 'kaggle')


class FoldersLayoutTest(ArchivesLayoutTest):
  EXAMPLE_DIR = str(DUMMY / 'folders')


@pytest.mark.parametrize('layout', LAYOUTS)
def test_split_and_class_counts(layout, examples):
  stored = examples[layout]
  assert collections.Counter(e.split for e in stored.values()) == EXPECTED_SPLITS
  per_class = collections.Counter(
      imagenet_custom.ilsvrc.metadata.wnids()[e.label]
      for e in stored.values() if e.split == 'validation'
  )
  assert {w: per_class.get(w, 0) for w in EXPECTED_VALIDATION_PER_CLASS} == (
      EXPECTED_VALIDATION_PER_CLASS
  )


@pytest.mark.parametrize('layout', LAYOUTS)
def test_labels_boxes_and_bytes_match_the_manifest(layout, examples, manifest):
  stored = examples[layout]
  assert set(stored) == {image['file_name'] for image in manifest['images']}
  for image in manifest['images']:
    example = stored[image['file_name']]
    assert example.label == label_of(image['wnid']), image['file_name']
    expected_boxes = np.array(image['boxes'] or [], np.float32).reshape(-1, 4)
    np.testing.assert_allclose(example.bboxes, expected_boxes, atol=1e-6, err_msg=image['file_name'])
    decoded = Image.open(io.BytesIO(example.image))
    assert decoded.format == 'JPEG'
    if image['planted'] in ('RGB', 'L'):
      # Untouched: the very bytes of the input file.
      assert hashlib.sha256(example.image).hexdigest() == image['sha256']
      assert decoded.mode == image['planted']
    else:
      # CMYK and PNG-named-.JPEG are found by content and re-encoded.
      assert hashlib.sha256(example.image).hexdigest() != image['sha256']
      assert decoded.mode == 'RGB'
    assert decoded.size == (image['width'], image['height'])
    if image['split_source'] == 'val':
      expected_split = 'test_blacklisted' if image['blacklisted'] else 'test'
      assert example.split == expected_split, image['file_name']


def test_every_layout_writes_identical_examples_and_shards(examples, built):
  reference = examples['archives']
  for layout in LAYOUTS[1:]:
    other = examples[layout]
    assert other.keys() == reference.keys()
    for name, example in reference.items():
      assert other[name].split == example.split, name
      assert other[name].label == example.label, name
      assert other[name].image == example.image, name
      assert other[name].bboxes.tobytes() == example.bboxes.tobytes(), name
  shard_bytes = {
      layout: sorted(
          (p.name, p.read_bytes())
          for p in builder.data_path.iterdir() if '.tfrecord' in p.name
      )
      for layout, builder in built.items()
  }
  assert shard_bytes['kaggle'] == shard_bytes['archives']
  assert shard_bytes['folders'] == shard_bytes['archives']


def test_val_labels_use_devkit_ids_not_indices(examples, manifest):
  # The devkit's ILSVRC IDs are a permutation: using them as label indices
  # (the classic mistake) would give other labels for these images.
  val = [i for i in manifest['images'] if i['split_source'] == 'val']
  stored = examples['archives']
  wrong_if_ids_used = sum(
      stored[i['file_name']].label != manifest['ilsvrc_ids'][i['wnid']] - 1 for i in val
  )
  assert wrong_if_ids_used == len(val)
  assert all(stored[i['file_name']].label == label_of(i['wnid']) for i in val)


@pytest.mark.parametrize('layout', LAYOUTS)
def test_class_names_keep_duplicates_distinct(layout, built):
  names = built[layout].info.metadata['class_names']
  wnids = built[layout].info.features['label'].names
  assert len(names) == len(wnids) == 1000
  assert names[wnids.index('n02012849')] == names[wnids.index('n03126707')] == 'crane'
  assert names[wnids.index('n03710637')] == 'maillot'
  assert names[wnids.index('n03710721')] == 'maillot'
  assert names[0] == 'tench'


@pytest.mark.parametrize('layout', LAYOUTS)
def test_build_report_is_stored_and_balances(layout, built, manifest):
  stored = built[layout].info.metadata['build_report']
  report = report_lib.BuildReport.from_dict(stored)
  assert stored['balanced'] is True
  assert report.layout == layout
  counts = report.counts
  assert counts[report_lib.TRAIN_READ] == 41
  assert counts[report_lib.VAL_READ] == 24
  assert counts[report_lib.BLACKLISTED] == 3
  assert counts[report_lib.REENCODED_PREFIX + 'cmyk_reencoded'] == 2
  assert counts[report_lib.REENCODED_PREFIX + 'non_jpeg_reencoded'] == 1
  assert counts[report_lib.BOXES_SWAPPED] == 1
  assert counts[report_lib.BOXES_DROPPED] == 1
  assert counts[report_lib.BOXES_CLIPPED] == 2
  assert counts[report_lib.ANNOTATIONS_WITHOUT_IMAGE] == len(manifest['orphan_annotations'])
  junk = [j for j in manifest['junk_files'] if j.startswith(layout + '/')]
  assert counts[report_lib.JUNK_IGNORED] == len(junk)
  assert report.skipped == []


def test_reading_back_without_the_package(built, tmp_path):
  data_dir = built['kaggle'].data_dir.split('/imagenet_custom/')[0]
  code = (
      'import sys\n'
      'sys.modules["imagenet_custom"] = None  # Make the package unimportable.\n'
      'import tensorflow_datasets as tfds\n'
      f'ds = tfds.load("imagenet_custom", split="test+test_blacklisted", data_dir={data_dir!r}, as_supervised=True)\n'
      'print("count", sum(1 for _ in ds))\n'
  )
  result = subprocess.run(
      [sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True, timeout=300
  )
  assert result.returncode == 0, result.stderr[-2000:]
  assert 'count 24' in result.stdout


def test_config_changes_the_split(tmp_path):
  builder = build(DUMMY / 'folders', tmp_path, validation_fraction=0.1, split_seed='my-seed')
  # round(0.1 n) for n = 10, 9, 10, 8, 1, 3, with one image on each side when n >= 2.
  assert builder.info.splits['validation'].num_examples == 1 + 1 + 1 + 1 + 0 + 1
  assert builder.info.splits['train'].num_examples == 41 - 5
  assert builder.info.metadata['split'] == {'validation_fraction': 0.1, 'split_seed': 'my-seed'}
