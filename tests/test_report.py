"""Tests for imagenet_custom.build.report: the build report balances."""

from __future__ import annotations

from imagenet_custom.build import report as report_lib


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
