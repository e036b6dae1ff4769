"""Tests for `imagenet_custom.tools.summary`: what a built dataset holds, as text."""

from __future__ import annotations

import sys

import pytest

from imagenet_custom.tools import summary

from builds import SPLIT_SIZES


def test_finds_the_built_version_folder(training_tfrecord_dir):
  found = summary.find_dataset_dir(str(training_tfrecord_dir))
  assert found == training_tfrecord_dir / 'imagenet_custom' / 'default' / '1.1.0'
  assert (found / 'dataset_info.json').exists()


def test_no_built_dataset_says_where_it_looked(tmp_path):
  with pytest.raises(SystemExit, match=f'No built imagenet_custom dataset under {tmp_path}'):
    summary.find_dataset_dir(str(tmp_path))


def test_summary_lists_splits_shared_names_and_the_report(training_tfrecord_dir):
  text = summary.summarize(summary.find_dataset_dir(str(training_tfrecord_dir)))
  lines = text.splitlines()
  assert lines[0].startswith('Dataset: ') and lines[0].endswith('imagenet_custom/default/1.1.0')
  for split, size in SPLIT_SIZES.items():
    assert f'  {split:17s} {size:>9,} examples in 1 shard(s)' in lines
  assert (
      '  1000 classes; names shared by two classes, kept distinct:'
      ' crane (n02012849, n03126707); maillot (n03710637, n03710721)'
  ) in lines
  assert 'imagenet_custom build report (layout: folders)' in lines
  assert '  balance: OK, every image accounted for' in lines


def test_main_prints_the_summary(training_tfrecord_dir, monkeypatch, capsys):
  monkeypatch.setattr(sys, 'argv', ['summary', '--data_dir', str(training_tfrecord_dir)])
  summary.main()
  expected = summary.summarize(summary.find_dataset_dir(str(training_tfrecord_dir)))
  assert capsys.readouterr().out == expected + '\n'
