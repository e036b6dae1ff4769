"""Tests of the export command's choices, on builds described without files."""

from __future__ import annotations

import argparse

import pytest

from imagenet_custom.errors import InputError
from imagenet_custom.tools.export import cli
from imagenet_custom.tools.export import dataset as dataset_lib


def _built(*splits: str) -> dataset_lib.BuiltDataset:
  shards: dict[str, tuple[dataset_lib.Shard, ...]] = {split: (dataset_lib.Shard(f'/b/{split}-0', 5), dataset_lib.Shard(f'/b/{split}-1', 3)) for split in splits}
  return dataset_lib.BuiltDataset('/b', 'default', 'tfrecord', ('n01440764',), shards)


def _args(train: str | None = None, validation: str | None = None) -> argparse.Namespace:
  return argparse.Namespace(
      train_splits=train, validation_splits=validation, train_shards=1024, validation_shards=128
  )


def test_inception_takes_train_and_test_by_default():
  outputs = cli._inception_outputs(_args(), _built('train', 'validation', 'test', 'test_blacklisted'))
  assert outputs == {'train': (('train',), 1024), 'validation': (('test',), 128)}


def test_an_evaluation_only_build_gives_validation_shards_only():
  assert cli._inception_outputs(_args(), _built('test', 'test_blacklisted')) == {
      'validation': (('test',), 128)
  }


def test_a_split_the_build_lacks_is_an_error_naming_the_splits():
  with pytest.raises(InputError, match=r"--train_splits names \['train'\].*its splits: test"):
    cli._inception_outputs(_args(train='train'), _built('test'))


def test_segments_span_the_shards_in_order():
  built = _built('train')
  assert built.segments('train', 3, 7) == (
      dataset_lib.Segment('/b/train-0', 3, 5), dataset_lib.Segment('/b/train-1', 0, 2)
  )
  assert built.segments('train', 5, 5) == ()
  assert built.num_examples('train') == 8


def test_help_says_the_folders_export_needs_free_space(capsys: pytest.CaptureFixture[str]):
  with pytest.raises(SystemExit):
    cli.main(['--help'])
  text = ' '.join(capsys.readouterr().out.split())
  assert 'Needs as much free disk as the images: checked before anything is written' in text
  with pytest.raises(SystemExit):
    cli.main(['folders', '--help'])
  assert 'needs free disk as large as the images; checked first' in ' '.join(capsys.readouterr().out.split())
