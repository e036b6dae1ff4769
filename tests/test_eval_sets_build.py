"""Every evaluation set built from its fake download, alone and beside ImageNet."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from typing import Any
import zipfile

import numpy as np
import pytest
import tensorflow_datasets as tfds

from imagenet_custom import pipeline
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import eval_sets as facts
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.testing import eval_sets as fakes

import builds


@pytest.fixture(scope='module')
def downloads(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, fakes.Expected]:
  out = tmp_path_factory.mktemp('eval_downloads')
  return out, fakes.write_eval_sets(out)


@pytest.fixture(scope='module')
def eval_only(
    downloads: tuple[pathlib.Path, fakes.Expected], tmp_path_factory: pytest.TempPathFactory
) -> tfds.core.DatasetBuilder:
  """Every set, ObjectNet included, with no ImageNet beside them."""
  return builds.build(
      downloads[0], tmp_path_factory.mktemp('eval_only'), eval_sets=list(facts.SPLITS)
  )


def _examples(builder: tfds.core.DatasetBuilder, split: str) -> dict[str, dict[str, Any]]:
  dataset = builder.as_dataset(split=split, decoders={'image': tfds.decode.SkipDecoding()})
  return {e['file_name'].decode(): e for e in tfds.as_numpy(dataset)}


def test_every_set_is_a_split_of_exactly_its_images(eval_only, downloads):
  expected = downloads[1]
  assert {s: i.num_examples for s, i in eval_only.info.splits.items()} == {
      s: len(images) for s, images in expected.items()
  }
  report = eval_only.info.metadata['build_report']
  assert report['balanced'] and report['layout'] == 'eval_sets_only'
  on_disk = len(list((downloads[0] / 'objectnet-1.0' / 'images').glob('*/*.png')))
  assert report['counts']['eval/objectnet/read'] == on_disk
  unmapped = on_disk - len(expected['objectnet'])
  assert unmapped > 0 and report['counts']['eval/objectnet/unmapped_class_images'] == unmapped


@pytest.mark.parametrize('split', facts.SPLITS)
def test_labels_are_the_sorted_1000_index_of_the_class_folder(eval_only, downloads, split):
  wnids = metadata.wnids()
  stored = _examples(eval_only, split)
  expected = downloads[1][split]
  assert {name: int(e['label']) for name, e in stored.items()} == {
      name: labels[0] for name, labels in expected.items()
  }
  mapped = {name: tuple(int(x) for x in e[facts.OBJECTNET_FEATURE]) for name, e in stored.items()}
  if split == facts.OBJECTNET:
    assert mapped == expected
    assert any(len(labels) == 2 for labels in mapped.values())
  else:
    assert set(mapped.values()) == {()}
  for name, e in stored.items():
    folder = name.split('/')[0]
    if split.startswith('imagenet_v2'):
      assert int(e['label']) == int(folder)
    elif split != facts.OBJECTNET:
      assert wnids[int(e['label'])] == folder


def test_metadata_states_each_mask_and_its_source(eval_only, downloads):
  entries = eval_only.info.metadata['eval_sets']
  assert list(entries) == list(facts.SPLITS)
  a = entries['imagenet_a']
  assert tuple(a['class_mask']) == facts.class_mask(facts.class_wnids('imagenet_a'))
  assert 'eval_classes/imagenet_a.txt' in a['class_mask_source']
  assert a['images_read'] == len(downloads[1]['imagenet_a']) and a['scoring'] == 'masked_top1'
  assert a['read_from'].endswith('imagenet-a.tar')
  assert len(entries['imagenet_sketch']['class_mask']) == 1000
  objectnet = entries['objectnet']
  union = sorted({i for labels in downloads[1]['objectnet'].values() for i in labels})
  assert objectnet['class_mask'] == union
  assert objectnet['border_cropped_px'] == 1 and objectnet['objectnet_classes_mapped'] == 113
  assert 'forbids training' in objectnet['licence']


def test_images_are_found_by_content(eval_only, downloads):
  counts = eval_only.info.metadata['build_report']['counts']
  # R's CMYK JPEGs and ObjectNet's PNGs are re-encoded; grayscale kept.
  assert counts['reencoded/cmyk_reencoded'] > 0
  assert counts['reencoded/non_jpeg_reencoded'] == len(downloads[1]['objectnet'])
  for example in tfds.as_numpy(eval_only.as_dataset(split='objectnet')):
    image = example['image'].astype(int)
    assert image.shape == (8, 8, 3)  # The 10x10 fake less its 1-px border.
    assert (image[:, :, 1] > 60).all()  # No red border pixel left.
  with zipfile.ZipFile(downloads[0] / 'ImageNet-Sketch.zip') as archive:
    for name, example in list(_examples(eval_only, 'imagenet_sketch').items())[:20]:
      # Grayscale JPEGs are stored as they are, byte for byte.
      assert example['image'] == archive.read(f'sketch/{name}')


def test_tfds_load_and_the_eval_pipeline_read_every_set(eval_only):
  data_dir = str(eval_only.data_dir).split('/imagenet_custom/')[0]
  for split in facts.SPLITS:
    loaded = tfds.load('imagenet_custom/custom', split=split, data_dir=data_dir)
    assert sum(1 for _ in loaded) == eval_only.info.splits[split].num_examples
  batches = pipeline.load_eval(data_dir, 32, 16, split='imagenet_r', config='custom')
  total = sum(int(images.shape[0]) for images, _ in batches)
  assert total == eval_only.info.splits['imagenet_r'].num_examples


def _manual_dir(tmp_path: pathlib.Path, imagenet: pathlib.Path, *downloads: pathlib.Path) -> pathlib.Path:
  manual = tmp_path / 'manual'
  manual.mkdir()
  for source in [*imagenet.iterdir(), *downloads]:
    (manual / source.name).symlink_to(source)
  return manual


@pytest.mark.parametrize('layout', builds.LAYOUTS)
def test_beside_each_imagenet_layout(layout, downloads, built, tmp_path):
  root = downloads[0]
  manual = _manual_dir(
      tmp_path, builds.DUMMY / layout, root / 'imagenet-o.tar', root / 'objectnet-1.0'
  )
  builder = builds.build(manual, tmp_path / 'out')
  sizes = {s: i.num_examples for s, i in builder.info.splits.items()}
  assert sizes == {**builds.SPLIT_SIZES, 'imagenet_o': len(downloads[1]['imagenet_o'])}
  # `auto` leaves ObjectNet out (it would add a feature) and says so.
  notes = builder.info.metadata['build_report']['notes']
  assert any('ObjectNet found but not built' in note for note in notes)
  # The default config's features, and its ImageNet shards, are unchanged.
  assert builder.info.features.keys() == built[layout].info.features.keys()
  for split in builds.SPLIT_SIZES:
    assert _shards(builder, split) == _shards(built[layout], split), split


def _shards(builder: tfds.core.DatasetBuilder, split: str) -> list[bytes]:
  folder = pathlib.Path(str(builder.data_dir))
  return [p.read_bytes() for p in sorted(folder.glob(f'*-{split}.tfrecord-*'))]


def test_a_truncated_set_stops_the_build_and_writes_nothing(downloads, tmp_path):
  data = (downloads[0] / 'imagenet-a.tar').read_bytes()
  broken = tmp_path / 'broken'
  broken.mkdir()
  (broken / 'imagenet-a.tar').write_bytes(data[: len(data) // 3])
  manual = _manual_dir(tmp_path, builds.DUMMY / 'folders', broken / 'imagenet-a.tar')
  with pytest.raises(InputError, match='imagenet-a.tar: .*truncated'):
    builds.build(manual, tmp_path / 'out')
  assert not list((tmp_path / 'out').glob('**/dataset_info.json'))


def test_asking_for_a_set_not_there_is_an_error(tmp_path):
  with pytest.raises(InputError, match=r'imagenet_r \(imagenet-r.tar or imagenet-r/\)'):
    builds.build(builds.DUMMY / 'folders', tmp_path / 'out', eval_sets=['imagenet_r'])
  with pytest.raises(InputError, match="'imagenet_v2' is not an evaluation split"):
    builds.build(builds.DUMMY / 'folders', tmp_path / 'out', eval_sets='imagenet_v2')


def test_scoring_a_build_from_saved_predictions(downloads, tmp_path, capsys):
  from imagenet_custom.tools import evaluate  # pylint: disable=g-import-not-at-top

  manual = _manual_dir(tmp_path, builds.DUMMY / 'folders', downloads[0] / 'imagenet-o.tar')
  builder = builds.build(manual, tmp_path / 'out')
  file_names, logits = [], []
  for split in ('test', 'imagenet_o'):
    for name, e in _examples(builder, split).items():
      row = np.zeros(1000, np.float32)
      # In-distribution images: confident; ImageNet-O's: flat over the 200.
      row[int(e['label'])] = 10.0 if split == 'test' else 0.0
      file_names.append(name)
      logits.append(row)
  saved = tmp_path / 'predictions.npz'
  np.savez(saved, file_names=np.array(file_names), logits=np.stack(logits))
  data_dir = str(builder.data_dir).split('/imagenet_custom/')[0]
  assert evaluate.main(['--data_dir', data_dir, '--config', 'default', '--predictions', str(saved)]) == 0
  assert capsys.readouterr().out.splitlines()[-1] == 'imagenet_o: AUPR 1.0000'
  scores = evaluate.evaluate_build(builder, dict(zip(file_names, logits, strict=True)), ['imagenet_o'])
  assert scores == {'imagenet_o': 1.0}


def test_tfds_build_command_on_evaluation_sets_alone(downloads, tmp_path):
  root = downloads[0]
  manual = tmp_path / 'manual'
  manual.mkdir()
  for name in ('imagenet-a.tar', 'imagenetv2-top-images.tar.gz'):
    (manual / name).symlink_to(root / name)
  config = json.dumps({'name': 'eval', 'eval_sets': ['imagenet_a', 'imagenet_v2_top_images']})
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(builds.REPO), os.environ.get('PYTHONPATH', '')]))
  result = subprocess.run(
      [str(pathlib.Path(sys.executable).parent / 'tfds'), 'build', 'imagenet_custom',
       f'--manual_dir={manual}', f'--data_dir={tmp_path / "out"}', f'--config={config}'],
      cwd=builds.REPO, env=env, capture_output=True, text=True, timeout=600,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  expected = downloads[1]
  a = len(expected['imagenet_a'])
  assert f'evaluation set imagenet_a: read {a:,} = written {a:,} + skipped 0;' in result.stdout
  for split in ('imagenet_a', 'imagenet_v2_top_images'):
    loaded = tfds.load('imagenet_custom/eval', split=split, data_dir=str(tmp_path / 'out'))
    labels = {e['file_name'].decode(): int(e['label']) for e in tfds.as_numpy(loaded)}
    assert labels == {name: found[0] for name, found in expected[split].items()}


def test_a_bad_image_names_its_file_or_is_skipped_and_counted(downloads, tmp_path):
  fakes.extract(downloads[0] / 'imagenet-a.tar', tmp_path / 'sets')
  name, _ = next(iter(downloads[1]['imagenet_a'].items()))
  (tmp_path / 'sets' / 'imagenet-a' / name).write_bytes(b'not an image')
  manual = _manual_dir(tmp_path, builds.DUMMY / 'folders', tmp_path / 'sets' / 'imagenet-a')
  with pytest.raises(InputError, match=f'imagenet-a/{name}: not a readable image'):
    builds.build(manual, tmp_path / 'out')
  builder = builds.build(manual, tmp_path / 'out2', skip_bad_files=True)
  report = builder.info.metadata['build_report']
  assert report['counts']['eval/imagenet_a/skipped'] == 1
  assert builder.info.splits['imagenet_a'].num_examples == len(downloads[1]['imagenet_a']) - 1
  assert any(name in skipped for skipped in report['skipped_files'])
