"""Build variants on the dummy data: subsets, classes, ReaL labels, evaluation-only."""

from __future__ import annotations

import collections
import json
import pathlib
import shutil

import pytest
import tensorflow_datasets as tfds

from imagenet_custom.build import report as report_lib
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.testing import variants

from builds import build
from builds import DUMMY
from builds import label_of
from builds import LAYOUTS
from builds import read_all

# Dummy train classes and their image counts; validation takes 2, 2, 2, 2, 0, 1.
CLASS_SIZES = {
    'n01440764': 10, 'n01530575': 9, 'n02012849': 10, 'n03126707': 8,
    'n03710637': 1, 'n03710721': 3,
}
SUBSET_CLASSES = ('n01440764', 'n03126707', 'n03710721')  # variants.write_all's list


@pytest.fixture(scope='module')
def inputs(tmp_path_factory) -> dict[str, pathlib.Path]:
  return variants.write_all(DUMMY, tmp_path_factory.mktemp('variants'))


@pytest.fixture(scope='module')
def full(built) -> dict[str, object]:
  return read_all(built['archives'])


def _splits(stored) -> dict[str, int]:
  return dict(collections.Counter(e.split for e in stored.values()))


def _names(stored, split: str) -> set[str]:
  return {name for name, e in stored.items() if e.split == split}


def _shards(builder, splits) -> list[tuple[str, bytes]]:
  return sorted(
      (p.name, p.read_bytes())
      for p in builder.data_path.iterdir()
      if '.tfrecord' in p.name and p.name.split('-')[1].split('.')[0] in splits
  )


def test_real_labels_are_indexed_by_val_number(built, inputs, tmp_path):
  builder = build(DUMMY / 'archives', tmp_path, real_labels=str(inputs['real_json']))
  entries = json.loads(inputs['real_json'].read_text())
  wnids = metadata.wnids()
  dataset = builder.as_dataset(split='test+test_blacklisted')
  seen = empty = 0
  for example in tfds.as_numpy(dataset):
    number = metadata.val_index(example['file_name'].decode())
    real = [int(i) for i in example['real_label']]
    # Entry number - 1, not entry number: neighbouring entries always differ.
    assert real == entries[number - 1], number
    assert real != entries[number], number
    seen += 1
    empty += not real
  assert (seen, empty) == (24, 4)  # images 5, 10, 15, 20 have no ReaL label
  for split in ('train', 'validation'):
    for example in tfds.as_numpy(builder.as_dataset(split=split)):
      assert example['real_label'].size == 0
  assert builder.info.features['real_label'].feature.names == list(wnids)
  assert 'real_label' not in built['archives'].info.features
  # The labels, images and shards of the other features are those of a build
  # without ReaL: same splits and file names.
  assert _splits(read_all(builder)) == {'train': 32, 'validation': 9, 'test': 21, 'test_blacklisted': 3}


# --- subsets on the dummy data --------------------------------------------


def test_fraction_subset_build(inputs, full, tmp_path):
  builder = build(DUMMY / 'archives', tmp_path, train_subset=0.1)
  stored = read_all(builder)
  assert _splits(stored) == {'train': 6, 'validation': 9, 'test': 21, 'test_blacklisted': 3}
  # One train image per class (round(0.1 n) is 0 or 1, at least 1).
  per_class = collections.Counter(
      metadata.wnids()[e.label] for e in stored.values() if e.split == 'train'
  )
  assert per_class == dict.fromkeys(CLASS_SIZES, 1)
  assert _names(stored, 'validation') == _names(full, 'validation')
  assert _names(stored, 'train') < _names(full, 'train')
  counts = builder.info.metadata['build_report']['counts']
  assert counts[report_lib.TRAIN_NOT_IN_SUBSET] == 41 - 9 - 6
  assert builder.info.metadata['selection']['train_subset_fraction'] == 0.1


@pytest.mark.parametrize('layout', LAYOUTS)
def test_file_list_subset_build(layout, inputs, full, tmp_path):
  builder = build(DUMMY / layout, tmp_path, train_subset=str(inputs['train_list']))
  stored = read_all(builder)
  listed = set(inputs['train_list'].read_text().split())
  assert len(listed) == 11  # two per class, one from the class of one image
  assert _splits(stored) == {'train': 11, 'validation': 5, 'test': 21, 'test_blacklisted': 3}
  assert _names(stored, 'train') == listed
  assert _names(stored, 'validation') == _names(full, 'validation') - listed
  for name in listed:
    assert stored[name].label == label_of(name.split('_')[0])
  assert builder.info.metadata['build_report']['balanced'] is True


def test_file_list_naming_a_missing_image_fails(tmp_path):
  listing = tmp_path / 'list.txt'
  listing.write_text('n01440764_14256.JPEG\nn01440764_99999.JPEG\n')
  with pytest.raises(InputError, match=r'list.txt: 1 listed images are missing from .*n01440764: n01440764_99999.JPEG'):
    build(DUMMY / 'folders', tmp_path / 'out', train_subset=str(listing))


def test_file_list_naming_a_missing_class_fails(tmp_path):
  listing = tmp_path / 'list.txt'
  listing.write_text('n01440764_14256.JPEG\nn01443537_1.JPEG\n')
  with pytest.raises(InputError, match=r'1 listed images are missing from the input .*n01443537_1.JPEG'):
    build(DUMMY / 'kaggle', tmp_path / 'out', train_subset=str(listing))


def test_classes_keep_the_1000_way_labels(inputs, full, tmp_path):
  builder = build(DUMMY / 'kaggle', tmp_path, classes=str(inputs['classes']))
  stored = read_all(builder)
  assert _splits(stored) == {'train': 16, 'validation': 5, 'test': 10, 'test_blacklisted': 3}
  kept = {name for name, e in full.items() if metadata.wnids()[e.label] in SUBSET_CLASSES}
  assert set(stored) == kept
  assert all(stored[name].label == full[name].label for name in stored)
  assert builder.info.features['label'].num_classes == 1000
  counts = builder.info.metadata['build_report']['counts']
  assert counts[report_lib.VAL_OUTSIDE_CLASSES] == 11
  assert counts[report_lib.TRAIN_READ] == 21


def test_classes_relabelled_with_real_labels(inputs, full, tmp_path):
  builder = build(
      DUMMY / 'folders', tmp_path, classes=str(inputs['classes']), relabel=True,
      real_labels=str(inputs['real_json']),
  )
  stored = read_all(builder)
  assert _splits(stored) == {'train': 16, 'validation': 5, 'test': 10, 'test_blacklisted': 3}
  assert builder.info.features['label'].names == list(SUBSET_CLASSES)
  for name, example in stored.items():
    assert example.label == SUBSET_CLASSES.index(metadata.wnids()[full[name].label])
  assert builder.info.metadata['selection']['label_of_wnid'] == {
      'n01440764': 0, 'n03126707': 1, 'n03710721': 2,
  }
  entries = json.loads(inputs['real_json'].read_text())
  for example in tfds.as_numpy(builder.as_dataset(split='test+test_blacklisted')):
    number = metadata.val_index(example['file_name'].decode())
    expected = [
        SUBSET_CLASSES.index(metadata.wnids()[i])
        for i in entries[number - 1] if metadata.wnids()[i] in SUBSET_CLASSES
    ]
    assert [int(i) for i in example['real_label']] == expected


def test_classes_without_train_images_fail(tmp_path):
  classes = tmp_path / 'c.txt'
  classes.write_text('n01443537\n')
  with pytest.raises(InputError, match='none of its classes has train images'):
    build(DUMMY / 'archives', tmp_path / 'out', classes=str(classes))


# --- evaluation-only -------------------------------------------------------


@pytest.mark.parametrize('layout', LAYOUTS)
def test_evaluation_only_build(layout, inputs, built):
  builder = build(inputs[f'eval_only_{layout}'], inputs[f'eval_only_{layout}'].parent / f'out_{layout}')
  stored = read_all(builder)
  assert _splits(stored) == {'test': 21, 'test_blacklisted': 3}
  assert set(builder.info.splits) == {'test', 'test_blacklisted'}
  assert builder.info.metadata['evaluation_only'] is True
  assert built[layout].info.metadata['evaluation_only'] is False
  report = builder.info.metadata['build_report']
  assert report['balanced'] is True
  assert report['notes'] == [
      f'evaluation-only build: no train images in {inputs[f"eval_only_{layout}"]},'
      ' so train and validation were not built; test and test_blacklisted were.'
  ]
  # The later full build writes the very same test shards.
  assert _shards(builder, ('test', 'test_blacklisted')) == _shards(
      built[layout], ('test', 'test_blacklisted')
  )
  assert len(_shards(builder, ('test', 'test_blacklisted'))) >= 2


@pytest.mark.parametrize(
    'layout, files, expected',
    [
        # The official val tar and the devkit: labels and blacklist, no boxes.
        ('archives', ('ILSVRC2012_img_val.tar', 'ILSVRC2012_devkit_t12.tar.gz'),
         {'test': 21, 'test_blacklisted': 3}),
        # Kaggle's val tree and CSV only: no devkit, so no blacklist.
        ('kaggle', ('ILSVRC/Data/CLS-LOC/val', 'LOC_val_solution.csv'), {'test': 24}),
        # A val folder and the devkit.
        ('folders', ('val', 'ILSVRC2012_devkit_t12.tar.gz'), {'test': 21, 'test_blacklisted': 3}),
    ],
)
def test_evaluation_only_from_the_least_input(layout, files, expected, full, tmp_path):
  manual = tmp_path / 'manual'
  for relative in files:
    source, target = DUMMY / layout / relative, manual / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
      shutil.copytree(source, target)
    else:
      shutil.copy2(source, target)
  stored = read_all(build(manual, tmp_path / 'out'))
  assert _splits(stored) == expected
  for name, example in stored.items():
    assert example.label == full[name].label, name
    assert example.bboxes.shape == (0, 4)


def test_evaluation_only_without_val_labels_fails(tmp_path):
  (tmp_path / 'val').mkdir()
  for image in (DUMMY / 'folders' / 'val').rglob('*.JPEG'):
    (tmp_path / 'val' / image.name).write_bytes(image.read_bytes())
  with pytest.raises(InputError, match='val: no val labels'):
    build(tmp_path, tmp_path / 'out')


def test_no_train_and_no_val_names_both(tmp_path):
  (tmp_path / 'ILSVRC' / 'Data' / 'CLS-LOC').mkdir(parents=True)
  with pytest.raises(InputError, match='has no train images and no val images'):
    build(tmp_path, tmp_path / 'out')


# --- label map at build time ----------------------------------------------


@pytest.mark.parametrize('layout', LAYOUTS)
def test_label_map_is_stored(layout, built, manifest):
  table = built[layout].info.metadata['label_map']
  assert len(table) == 1000
  assert [row['wnid'] for row in table] == list(metadata.wnids())
  tench = table[0]
  assert tench == {
      'index': 0, 'wnid': 'n01440764',
      'ilsvrc2012_id': manifest['ilsvrc_ids']['n01440764'],
      'tf_slim_index': 1, 'name': 'tench',
  }
  assert all(row['ilsvrc2012_id'] == manifest['ilsvrc_ids'][row['wnid']] for row in table)
  assert [row['name'] for row in table] == built[layout].info.metadata['class_names']


# --- Beam and the tfds CLI ---------------------------------------------------


def _with_real(builder) -> dict[str, tuple]:
  found = {}
  for split in builder.info.splits:
    dataset = builder.as_dataset(split=split, decoders={'image': tfds.decode.SkipDecoding()})
    for ex in tfds.as_numpy(dataset):
      found[ex['file_name'].decode()] = (
          split, int(ex['label']), ex['image'], [int(i) for i in ex['real_label']]
      )
  return found


def test_beam_build_of_a_variant_matches_the_plain_build(inputs, tmp_path):
  config = dict(
      classes=str(inputs['classes']), relabel=True, train_subset=0.5,
      real_labels=str(inputs['real_json']),
  )
  plain = _with_real(build(DUMMY / 'archives', tmp_path / 'plain', **config))
  beam_builder = build(DUMMY / 'archives', tmp_path / 'beam', beam=True, **config)
  assert _with_real(beam_builder) == plain
  # round(0.5 n), n = 10, 8, 3, after validation's 2, 2, 1.
  assert collections.Counter(v[0] for v in plain.values()) == {
      'train': 5 + 4 + 2, 'validation': 5, 'test': 10, 'test_blacklisted': 3,
  }
  assert beam_builder.info.metadata['build_report']['balanced'] is True


def test_tfds_cli_takes_the_variant_fields_as_json(inputs, tmp_path):
  import os
  import subprocess
  import sys  # pylint: disable=g-import-not-at-top,multiple-imports

  from builds import REPO  # pylint: disable=g-import-not-at-top

  env = dict(os.environ, PYTHONPATH=str(REPO))
  config = json.dumps({
      'name': 'pct10', 'train_subset': 0.1, 'real_labels': str(inputs['real_json']),
  })
  result = subprocess.run(
      [str(pathlib.Path(sys.executable).parent / 'tfds'), 'build', 'imagenet_custom',
       f'--manual_dir={DUMMY / "kaggle"}', f'--data_dir={tmp_path}', f'--config={config}'],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'written: train 6, validation 9, test 21, test_blacklisted 3' in result.stdout
  assert 'not in train_subset 26' in result.stdout


def test_beam_evaluation_only_build(inputs, full, tmp_path):
  builder = build(inputs['eval_only_kaggle'], tmp_path, beam=True)
  stored = read_all(builder)
  assert _splits(stored) == {'test': 21, 'test_blacklisted': 3}
  for name, example in stored.items():
    assert (example.split, example.label, example.image) == (
        full[name].split, full[name].label, full[name].image
    ), name
  assert builder.info.metadata['evaluation_only'] is True
  assert builder.info.metadata['build_report']['balanced'] is True
