"""Tests for imagenet_custom.build.report: the build report balances."""

from __future__ import annotations

import json

from imagenet_custom.build import report as report_lib
from imagenet_custom.build.report import Count
from imagenet_custom.build.report import Family


def _balanced() -> report_lib.BuildReport:
  report = report_lib.BuildReport(layout='archives')
  report.add(report_lib.TRAIN_READ, 10)
  report.add(report_lib.WRITTEN_PREFIX + 'train', 7)
  report.add(report_lib.WRITTEN_PREFIX + 'validation', 2)
  report.add(report_lib.TRAIN_SKIPPED)
  report.skip('train.tar:n01.tar:n01_3.JPEG', 'JPEG does not decode')
  report.add(report_lib.VAL_READ, 5)
  report.add(report_lib.BLACKLISTED, 1)
  report.add(report_lib.WRITTEN_PREFIX + 'test', 4)
  report.add(report_lib.WRITTEN_PREFIX + 'test_blacklisted', 1)
  return report


def test_balanced_report():
  report = _balanced()
  assert report.imbalances() == []
  text = report.format()
  assert 'written: train 7, validation 2, test 4, test_blacklisted 1' in text
  assert 'train.tar:n01.tar:n01_3.JPEG: JPEG does not decode' in text
  assert 'balance: OK' in text


def test_unbalanced_report_says_what_is_missing():
  report = _balanced()
  report.add(report_lib.TRAIN_READ)
  problems = report.imbalances()
  assert problems == ['train + validation + skipped = 10, but 11 train images were read']
  assert 'balance: BROKEN' in report.format()


def test_round_trip_through_dict():
  report = _balanced()
  again = report_lib.BuildReport.from_dict(report.to_dict())
  assert again.counts == report.counts
  assert again.skipped == report.skipped
  assert report.to_dict()['balanced'] is True


def test_stored_report_names_the_counters_as_plain_strings():
  report = _balanced()
  report.add(Family.REENCODED.key('cmyk_reencoded'))
  report.add(Family.SOURCE.key('archives train'), 10)
  stored = json.loads(json.dumps(report.to_dict()))
  assert stored['counts'] == {
      'reencoded/cmyk_reencoded': 1,
      'source/archives train': 10,
      'train_images_read': 10,
      'train_images_skipped': 1,
      'val_images_blacklisted': 1,
      'val_images_read': 5,
      'written/test': 4,
      'written/test_blacklisted': 1,
      'written/train': 7,
      'written/validation': 2,
  }
  assert all(type(key) is str for key in report.to_dict()['counts'])
  assert 'read from archives train: 10' in report.format()
  assert 'images re-encoded: cmyk_reencoded 1' in report.format()


def test_counts_under_stored_names_add_to_the_enum_counters():
  # Workers and Beam metrics send counts under the stored names.
  report = report_lib.BuildReport()
  report.add(Count.TRAIN_READ, 2)
  report.merge({'train_images_read': 3, 'written/train': 5}, [])
  assert report.counts[Count.TRAIN_READ] == 5
  assert report.written('train') == 5
  assert len(report.counts) == 2


def test_module_level_names_are_the_enum_members():
  assert report_lib.TRAIN_READ is Count.TRAIN_READ
  assert report_lib.IMAGES_MISSING is Count.IMAGES_MISSING
  assert report_lib.WRITTEN_PREFIX + 'test' == Family.WRITTEN.key('test') == 'written/test'


def test_counters_print_as_their_stored_names():
  # Beam metric names and messages see the stored name, on every Python.
  assert str(Count.TRAIN_READ) == f'{Count.TRAIN_READ}' == 'train_images_read'
  assert f'{Family.WRITTEN:>10}' == '  written/'
