"""`testing.eval_sets`: the fakes are seeded, complete in classes, and wired into `fake_imagenet`."""

from __future__ import annotations

import pathlib

from imagenet_custom.ilsvrc import eval_sets as facts
from imagenet_custom.testing import eval_sets as fakes
from imagenet_custom.testing import fake_imagenet


def _files(root: pathlib.Path) -> dict[str, bytes]:
  return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: pathlib.Path):
  splits = ['imagenet_v2_top_images', 'imagenet_r', 'imagenet_sketch']
  first = fakes.write_eval_sets(tmp_path / 'one', 3, splits)
  assert fakes.write_eval_sets(tmp_path / 'two', 3, splits) == first
  assert _files(tmp_path / 'one') == _files(tmp_path / 'two')
  fakes.write_eval_sets(tmp_path / 'three', 4, splits)
  assert _files(tmp_path / 'three') != _files(tmp_path / 'one')
  assert sorted(p.name for p in (tmp_path / 'one').iterdir()) == [
      'ImageNet-Sketch.zip', 'imagenet-r.tar', 'imagenetv2-top-images.tar.gz'
  ]


def test_every_class_of_every_set_has_images(tmp_path: pathlib.Path):
  expected = fakes.write_eval_sets(tmp_path)
  assert set(expected) == set(facts.SPLITS)
  for eval_set in facts.EVAL_SETS:
    folders = {name.split('/')[0] for name in expected[eval_set.split]}
    mapped = 113 if eval_set.split == facts.OBJECTNET else eval_set.num_classes
    assert len(folders) == mapped, eval_set.split


def test_fake_imagenet_writes_them_when_asked(tmp_path: pathlib.Path):
  spec = fake_imagenet.dummy_spec()
  fake_imagenet.write_fake_imagenet(tmp_path / 'plain', spec)
  assert not (tmp_path / 'plain' / fakes.FOLDER).exists()
  fake_imagenet.main(['--out', str(tmp_path / 'with'), '--eval-sets', '--layouts', 'folders'])
  assert (tmp_path / 'with' / fakes.FOLDER / 'imagenet-a.tar').exists()
