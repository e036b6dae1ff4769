"""End-to-end tests of `python -m imagenet_custom.export`, read back by the real readers.

The build is the dummy `folders/` layout (default config, TFRecord); what the
exports must hold is read from it with TFDS itself.
"""

from __future__ import annotations

import filecmp
import json
import os
import pathlib
import shutil
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from imagenet_custom.build import dali_index
from imagenet_custom.build import drop_behind
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import class_table
from imagenet_custom.tools.export import cli
from imagenet_custom.tools.export import dali
from imagenet_custom.tools.export import dataset as dataset_lib
from imagenet_custom.tools.export import records

from builds import SPLIT_SIZES


def _build_dir(data_dir: pathlib.Path) -> pathlib.Path:
  return next(data_dir.glob('imagenet_custom/default/*/dataset_info.json')).parent


def _stored(data_dir: pathlib.Path) -> dict[str, dict[str, Any]]:
  """Every example of the build by file name, read with TFDS."""
  builder = tfds.builder_from_directory(str(_build_dir(data_dir)))
  stored = {}
  for split in builder.info.splits:
    dataset = builder.as_dataset(split=split, decoders={'image': tfds.decode.SkipDecoding()})
    for example in tfds.as_numpy(dataset):
      stored[example['file_name'].decode()] = {
          'split': split, 'label': int(example['label']),
          'image': example['image'], 'bboxes': example['bboxes'],
      }
  return stored


def _export(*args: str) -> None:
  cli.main(list(args) + ['--num_workers=2'])


@pytest.fixture(scope='module')
def stored(training_tfrecord_dir: pathlib.Path) -> dict[str, dict[str, Any]]:
  return _stored(training_tfrecord_dir)


@pytest.fixture(scope='module')
def folders_out(training_tfrecord_dir: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
  out = tmp_path_factory.mktemp('folders') / 'out'
  _export('folders', f'--data_dir={training_tfrecord_dir}', f'--out={out}')
  return out


@pytest.fixture(scope='module')
def inception_out(training_tfrecord_dir: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
  out = tmp_path_factory.mktemp('inception') / 'out'
  _export(
      'inception', f'--data_dir={training_tfrecord_dir}', f'--out={out}',
      '--train_shards=4', '--validation_shards=3', '--dali_index',
  )
  return out


def test_folders_hold_every_image_as_stored(folders_out: pathlib.Path, stored: dict[str, Any]):
  written = {}
  for path in folders_out.glob('*/n*/*'):
    split, wnid, name = path.relative_to(folders_out).parts
    written[name] = (split, wnid, path.read_bytes())
  assert set(written) == set(stored)
  wnids = (folders_out / 'synsets.txt').read_text().split()
  for name, (split, wnid, data) in written.items():
    assert (split, wnids.index(wnid), data) == (stored[name]['split'], stored[name]['label'], stored[name]['image'])
  report = json.loads((folders_out / 'export_report.json').read_text())
  assert {split: counts['images'] for split, counts in report['splits'].items()} == SPLIT_SIZES


def test_keras_reads_the_folders_with_the_builds_labels(folders_out: pathlib.Path, stored: dict[str, Any]):
  import keras  # pylint: disable=g-import-not-at-top

  for split, size in SPLIT_SIZES.items():
    dataset = keras.utils.image_dataset_from_directory(
        str(folders_out / split), labels='inferred', label_mode='int', shuffle=False,
        batch_size=8, image_size=(32, 32),
    )
    labels = np.concatenate([batch_labels.numpy() for _, batch_labels in dataset])
    names = [os.path.basename(path) for path in dataset.file_paths]
    assert len(names) == size
    assert dict(zip(names, labels.tolist(), strict=True)) == {n: stored[n]['label'] for n in names}
    assert all(stored[n]['split'] == split for n in names)


# Run apart: torchvision segfaults when imported into a process that has imported
# TensorFlow (torch 2.14.1, torchvision 0.29.1, TensorFlow 2.21), as PyTorch training code never does.
_IMAGE_FOLDER = """
import json, os, sys
from torchvision import datasets
out = {}
for split in sys.argv[2:]:
  folder = datasets.ImageFolder(os.path.join(sys.argv[1], split), allow_empty=True)
  image, label = folder[0]
  out[split] = {'samples': {os.path.basename(p): l for p, l in folder.samples},
                'first': [os.path.basename(folder.samples[0][0]), label, image.mode]}
print(json.dumps(out))
"""


def test_torchvision_imagefolder_reads_the_folders_with_the_builds_labels(
    folders_out: pathlib.Path, stored: dict[str, Any]
):
  # torchvision is in requirements-examples.lock (scripts/test.sh installs it): never skipped.
  result = subprocess.run(
      [sys.executable, '-c', _IMAGE_FOLDER, str(folders_out), *SPLIT_SIZES],
      capture_output=True, text=True, check=False, timeout=600,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  read = json.loads(result.stdout)
  for split in SPLIT_SIZES:
    assert read[split]['samples'] == {
        name: s['label'] for name, s in stored.items() if s['split'] == split
    }
    name, label, mode = read[split]['first']  # ImageFolder's own loader decoded the bytes.
    assert (label, mode) == (stored[name]['label'], 'RGB')


def test_the_map_files_give_each_image_its_label(folders_out: pathlib.Path, stored: dict[str, Any]):
  for split in SPLIT_SIZES:
    lines = (folders_out / f'{split}_map.txt').read_text().splitlines()
    entries = dict(line.split(' ') for line in lines)
    assert len(entries) == len(lines) == SPLIT_SIZES[split]
    for relative, label in entries.items():
      assert (folders_out / split / relative).exists()
      assert int(label) == stored[relative.split('/')[1]]['label']
  words = (folders_out / 'synset_words.txt').read_text().splitlines()
  assert words[0] == 'n01440764 tench, Tinca tinca'


_INCEPTION_FEATURES = {
    'image/encoded': tf.io.FixedLenFeature([], tf.string),
    'image/format': tf.io.FixedLenFeature([], tf.string),
    'image/class/label': tf.io.FixedLenFeature([], tf.int64),
    'image/class/synset': tf.io.FixedLenFeature([], tf.string),
    'image/class/text': tf.io.FixedLenFeature([], tf.string),
    'image/height': tf.io.FixedLenFeature([], tf.int64),
    'image/width': tf.io.FixedLenFeature([], tf.int64),
    'image/colorspace': tf.io.FixedLenFeature([], tf.string),
    'image/channels': tf.io.FixedLenFeature([], tf.int64),
    'image/filename': tf.io.FixedLenFeature([], tf.string),
    'image/object/bbox/xmin': tf.io.VarLenFeature(tf.float32),
    'image/object/bbox/ymin': tf.io.VarLenFeature(tf.float32),
    'image/object/bbox/xmax': tf.io.VarLenFeature(tf.float32),
    'image/object/bbox/ymax': tf.io.VarLenFeature(tf.float32),
    'image/object/bbox/label': tf.io.VarLenFeature(tf.int64),
}


def _inception_examples(out: pathlib.Path, pattern: str) -> list[tuple[str, dict[str, Any]]]:
  parsed = []
  for shard in sorted(out.glob(pattern)):
    if shard.suffix == '.idx':
      continue
    for record in tf.data.TFRecordDataset(str(shard)):
      keys = set(tf.train.Example.FromString(record.numpy()).features.feature)
      assert keys == set(_INCEPTION_FEATURES)
      example = tf.io.parse_single_example(record, _INCEPTION_FEATURES)
      parsed.append((shard.name, {
          k: tf.sparse.to_dense(v).numpy() if isinstance(v, tf.SparseTensor) else v.numpy()
          for k, v in example.items()
      }))
  return parsed


def test_inception_examples_have_its_keys_types_and_values(inception_out: pathlib.Path, stored: dict[str, Any]):
  synsets = (inception_out / 'synsets.txt').read_text().split()
  names = class_table.names()
  for output, split in (('train', 'train'), ('validation', 'test')):
    examples = _inception_examples(inception_out, f'{output}-*')
    assert sorted(e['image/filename'].decode() for _, e in examples) == sorted(
        n for n, s in stored.items() if s['split'] == split
    )
    for _, example in examples:
      expected = stored[example['image/filename'].decode()]
      label = expected['label'] + 1
      assert example['image/class/label'] == label
      assert example['image/class/synset'].decode() == synsets[expected['label']]
      assert example['image/class/text'].decode() == names[synsets[expected['label']]]
      assert example['image/encoded'] == expected['image']
      height, width = tf.io.decode_jpeg(expected['image']).shape[:2]
      assert (example['image/height'], example['image/width']) == (height, width)
      assert (example['image/format'], example['image/colorspace'], example['image/channels']) == (b'JPEG', b'RGB', 3)
      boxes = expected['bboxes']
      np.testing.assert_array_equal(example['image/object/bbox/ymin'], boxes[:, 0])
      np.testing.assert_array_equal(example['image/object/bbox/xmin'], boxes[:, 1])
      np.testing.assert_array_equal(example['image/object/bbox/ymax'], boxes[:, 2])
      np.testing.assert_array_equal(example['image/object/bbox/xmax'], boxes[:, 3])
      assert example['image/object/bbox/label'].tolist() == [label] * len(boxes)
  assert any(len(s['bboxes']) for s in stored.values())


def test_inception_shards_are_named_and_filled_as_the_script_does(inception_out: pathlib.Path):
  names = sorted(p.name for p in inception_out.glob('*-of-*') if p.suffix != '.idx')
  assert names == [f'train-{i:05d}-of-00004' for i in range(4)] + [f'validation-{i:05d}-of-00003' for i in range(3)]
  sizes = [len(_inception_examples(inception_out, f'train-{i:05d}-*')) for i in range(4)]
  total = SPLIT_SIZES['train']
  assert sizes == [(i + 1) * total // 4 - i * total // 4 for i in range(4)]
  metadata_lines = (inception_out / 'imagenet_metadata.txt').read_text().splitlines()
  assert metadata_lines[0] == 'n01440764\ttench, Tinca tinca'


def test_inception_split_flags_choose_the_splits(training_tfrecord_dir: pathlib.Path, tmp_path: pathlib.Path):
  out = tmp_path / 'out'
  _export(
      'inception', f'--data_dir={training_tfrecord_dir}', f'--out={out}', '--train_shards=1',
      '--validation_shards=1', '--train_splits=train,validation', '--validation_splits=test,test_blacklisted',
  )
  assert len(_inception_examples(out, 'train-*')) == SPLIT_SIZES['train'] + SPLIT_SIZES['validation']
  assert len(_inception_examples(out, 'validation-*')) == SPLIT_SIZES['test'] + SPLIT_SIZES['test_blacklisted']
  with pytest.raises(SystemExit, match='--train_splits names'):
    _export('inception', f'--data_dir={training_tfrecord_dir}', f'--out={tmp_path / "x"}', '--train_splits=nope')
  assert not (tmp_path / 'x').exists()


def test_a_rerun_writes_the_same_bytes(training_tfrecord_dir: pathlib.Path, tmp_path: pathlib.Path):
  for export_format in ('folders', 'inception', 'webdataset'):
    outs = [tmp_path / f'{export_format}{run}' for run in range(2)]
    flags = ['--validation_shards=2'] if export_format == 'inception' else []
    for out in outs:
      _export(export_format, f'--data_dir={training_tfrecord_dir}', f'--out={out}', *flags)
    comparison = filecmp.dircmp(outs[0], outs[1])
    files = [p.relative_to(outs[0]) for p in outs[0].rglob('*') if p.is_file()]
    assert files and not comparison.left_only and not comparison.right_only
    for relative in files:
      assert (outs[0] / relative).read_bytes() == (outs[1] / relative).read_bytes(), relative


def test_an_export_that_fails_leaves_no_output(training_tfrecord_dir: pathlib.Path, tmp_path: pathlib.Path):
  broken = tmp_path / 'broken'
  shutil.copytree(_build_dir(training_tfrecord_dir), broken)
  shard = next(broken.glob('*-train.tfrecord-*'))
  data = bytearray(shard.read_bytes())
  data[len(data) // 2] ^= 0xFF
  shard.write_bytes(bytes(data))
  out = tmp_path / 'out'
  with pytest.raises(records.CorruptShardError, match='checksum'):
    _export('folders', f'--data_dir={broken}', f'--out={out}')
  assert not out.exists() and not (tmp_path / 'out.partial').exists()


def test_an_export_never_writes_over_a_folder(training_tfrecord_dir: pathlib.Path, tmp_path: pathlib.Path):
  (tmp_path / 'out').mkdir()
  with pytest.raises(SystemExit, match='exists already'):
    _export('dali', f'--data_dir={training_tfrecord_dir}', f'--out={tmp_path / "out"}')
  (tmp_path / 'other.partial').mkdir()
  with pytest.raises(SystemExit, match='not made by an export'):
    _export('dali', f'--data_dir={training_tfrecord_dir}', f'--out={tmp_path / "other"}')


def test_folders_stop_before_writing_without_the_space(
    training_tfrecord_dir: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
):
  usage = shutil.disk_usage(tmp_path)
  monkeypatch.setattr(shutil, 'disk_usage', lambda path: usage._replace(free=1000))
  with pytest.raises(SystemExit, match='needs .* GB, but .* has 0.00 GB free'):
    _export('folders', f'--data_dir={training_tfrecord_dir}', f'--out={tmp_path / "out"}')
  assert not list(tmp_path.iterdir())


def test_webdataset_reads_every_sample_back(training_tfrecord_dir: pathlib.Path, tmp_path: pathlib.Path, stored: dict[str, Any]):
  import webdataset  # pylint: disable=g-import-not-at-top
  import wids  # pylint: disable=g-import-not-at-top

  out = tmp_path / 'out'
  _export('webdataset', f'--data_dir={training_tfrecord_dir}', f'--out={out}', '--samples_per_shard=10')
  for split, size in SPLIT_SIZES.items():
    shards = sorted(str(p) for p in out.glob(f'{split}-*.tar'))
    assert len(shards) == -(-size // 10)
    samples = list(webdataset.WebDataset(shards, shardshuffle=False, empty_check=False))
    assert len(samples) == size
    for sample in samples:
      meta = json.loads(sample['json'])
      expected = stored[meta['file_name']]
      assert sample['__key__'] == meta['file_name'].split('.')[0]
      assert (sample['jpg'], int(sample['cls']), meta['label']) == (expected['image'], expected['label'], expected['label'])
      np.testing.assert_array_equal(np.asarray(meta['bboxes'], np.float32).reshape(-1, 4), expected['bboxes'])
    indexed = wids.ShardListDataset(str(out / f'{split}.json'), transformations=[])
    assert len(indexed) == size
    keys = {indexed[i]['__key__'] for i in range(len(indexed))}
    assert keys == {s['__key__'] for s in samples}


@pytest.mark.parametrize('target', [40_000, 100_000])
def test_webdataset_shards_of_a_size_in_mb(
    training_tfrecord_dir: pathlib.Path, tmp_path: pathlib.Path, target: int
):
  out = tmp_path / 'out'
  _export('webdataset', f'--data_dir={training_tfrecord_dir}', f'--out={out}', f'--shard_size_mb={target / 1e6}')
  report = json.loads((out / 'export_report.json').read_text())
  for split, size in SPLIT_SIZES.items():
    per_shard = report['splits'][split]['samples_per_shard']
    tars = sorted(out.glob(f'{split}-*.tar'))
    assert len(tars) == -(-size // per_shard)
    full = [t.stat().st_size for t in tars[:-1]]
    # Each tar but the last holds `per_shard` samples and is about the size asked for.
    assert not full or 0.75 * target < sum(full) / len(full) < 1.25 * target, (split, per_shard, full)
  assert report['splits']['train']['shards'] >= 2  # train (32 samples, ~160 KB) is cut by the size.
  with pytest.raises(SystemExit, match='not both'):
    _export('webdataset', f'--data_dir={training_tfrecord_dir}', f'--out={tmp_path / "x"}',
            '--shard_size_mb=1', '--samples_per_shard=5')


def test_dali_indexes_of_the_build_and_of_an_inception_export(
    training_tfrecord_dir: pathlib.Path, inception_out: pathlib.Path, tmp_path: pathlib.Path
):
  _export('dali', f'--data_dir={training_tfrecord_dir}', f'--out={tmp_path / "built"}')
  built = dataset_lib.open_dataset(str(training_tfrecord_dir))
  for shards in built.splits.values():
    for shard in shards:
      index = (tmp_path / 'built' / (os.path.basename(shard.path) + '.idx')).read_text()
      assert index == _tfrecord2idx(shard.path)
      assert len(index.splitlines()) == shard.num_examples
  _export('dali', f'--tfrecord_dir={inception_out}', f'--out={tmp_path / "inception"}')
  for written in (tmp_path / 'inception').glob('*.idx'):
    assert written.read_text() == (inception_out / written.name).read_text()
    assert written.read_text() == _tfrecord2idx(str(inception_out / written.stem))
  assert len(list((tmp_path / 'inception').glob('*.idx'))) == 4 + 3


def test_dali_index_equals_an_independent_tfrecord2idx(
    training_tfrecord_dir: pathlib.Path, tmp_path: pathlib.Path
):
  """DALI's own tool is not on PyPI; the `tfrecord` package's tfrecord2idx writes its format."""
  for shard in dali.built_shards(dataset_lib.open_dataset(str(training_tfrecord_dir))):
    subprocess.run(
        [sys.executable, '-m', 'tfrecord.tools.tfrecord2idx', shard.path, str(tmp_path / 'idx')],
        check=True, capture_output=True,
    )
    assert dali_index.index_text(shard.path) == (tmp_path / 'idx').read_text()
    assert (tmp_path / 'idx').read_text().count('\n') == shard.num_examples


def _tfrecord2idx(path: str) -> str:
  """What DALI's `tools/tfrecord2idx` writes, computed from TensorFlow's reading of the file.

  The tool writes `<offset> <size>` per record, where a record of n bytes of
  data takes 8 + 4 + n + 4 bytes in the file (build/dali_index.py).
  """
  lines, offset = [], 0
  for record in tf.data.TFRecordDataset(path):
    size = 16 + len(record.numpy())
    lines.append(f'{offset} {size}\n')
    offset += size
  assert offset == os.path.getsize(path)
  return ''.join(lines)


def test_an_array_record_build_exports_the_same_folders(
    training_array_record_dir: pathlib.Path, folders_out: pathlib.Path, tmp_path: pathlib.Path
):
  out = tmp_path / 'out'
  _export('folders', f'--data_dir={training_array_record_dir}', f'--out={out}')
  for path in folders_out.rglob('*'):
    if path.is_file() and path.name != 'export_report.json':
      assert (out / path.relative_to(folders_out)).read_bytes() == path.read_bytes()
  with pytest.raises(InputError, match='DALI reads TFRecord'):
    dali.built_shards(dataset_lib.open_dataset(str(training_array_record_dir)))


def test_a_relabelled_subset_exports_its_own_labels(tmp_path: pathlib.Path):
  import builds  # pylint: disable=g-import-not-at-top

  classes = tmp_path / 'classes.txt'
  classes.write_text('n02012849\nn03126707\nn03710721\n')  # Both cranes, one maillot.
  builds.build(builds.DUMMY_FOLDERS, tmp_path / 'data', classes=str(classes), relabel=True)
  data_dir = tmp_path / 'data' / 'imagenet_custom' / 'custom'
  _export('folders', f'--data_dir={next(data_dir.iterdir())}', f'--out={tmp_path / "folders"}')
  _export(
      'inception', f'--data_dir={next(data_dir.iterdir())}', f'--out={tmp_path / "inception"}',
      '--train_shards=2', '--validation_shards=1',
  )
  wnids = ['n02012849', 'n03126707', 'n03710721']
  assert (tmp_path / 'folders' / 'synsets.txt').read_text().split() == wnids
  assert sorted(p.name for p in (tmp_path / 'folders' / 'train').iterdir()) == wnids
  for line in (tmp_path / 'folders' / 'train_map.txt').read_text().splitlines():
    relative, label = line.split(' ')
    assert wnids.index(relative.split('/')[0]) == int(label)
  examples = _inception_examples(tmp_path / 'inception', 'train-*')
  assert examples
  for _, example in examples:
    assert example['image/class/label'] == wnids.index(example['image/class/synset'].decode()) + 1
    assert example['image/class/text'] in (b'crane', b'maillot, tank suit')


def test_an_image_file_is_created_never_overwritten(tmp_path: pathlib.Path):
  path = tmp_path / 'n01440764_1.JPEG'
  image = bytes(range(256)) * 500
  with drop_behind.DropBehindFiles() as files:
    files.write_new(str(path), image)
    with pytest.raises(FileExistsError):
      files.write_new(str(path), b'another image of the same name')
  assert path.read_bytes() == image
